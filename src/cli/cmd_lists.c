/*
 * cmd_lists.c - `acegate lists`: what screening lists are in force, and
 * replacing them.
 *
 *   acegate lists [--json] [--data-dir DIR] [--lists PATH[,PATH...]]
 *   acegate lists update FILE... [--data-dir DIR]
 *   acegate lists reset [--data-dir DIR]
 *   acegate lists build --out INDEX FILE...
 *
 * `update` parses and validates every file completely and builds the new
 * index before anything is replaced; the swap is an atomic rename, so on
 * any error the old lists stay in force (docs/screening.md). `build`
 * writes an index file anywhere (tools/acegate-lists.c does the same for
 * the build's bundled snapshot).
 */
#include "acegate/screen.h"
#include "cli.h"
#include "cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: acegate lists [--json] [--data-dir DIR] [--lists PATH[,PATH...]]\n"
             "       acegate lists update FILE... [--data-dir DIR]\n"
             "       acegate lists reset [--data-dir DIR]\n"
             "       acegate lists build --out INDEX FILE...\n"
             "\n"
             "Without a subcommand, shows the screening lists in force: each list, its entry\n"
             "count, source date and SHA-256 checksum, and the index they are served from.\n"
             "\n"
             "  update  load FILE... (CSL CSV or JSON, OFAC legacy CSV with companions, BIS\n"
             "          Denied Persons List; directories too), validate them completely, index\n"
             "          them and replace the lists in force atomically; on any error the old\n"
             "          lists stay in force\n"
             "  reset   remove the updated lists: the built-in snapshot is in force again\n"
             "  build   write an index of FILE... to INDEX (for packaging)\n"
             "\n"
             "The data directory is $ACEGATE_HOME, else $XDG_DATA_HOME/acegate, else\n"
             "$HOME/.local/share/acegate.\n");
}

static int fail(const ag_error *err) {
  ag_cli_print_error("lists", err);
  return ag_cli_exit_for(err->status);
}

static void show_text(const ag_screen *s) {
  const ag_screen_index_info *ii = ag_screen_info(s);
  printf("lists in force: %s\n", ii->origin);
  printf("index: %u entries, %u names, %u words, %.1f MB, built %s, sha256 %s\n", ii->entries,
         ii->names, ii->tokens, (double)ii->bytes / 1e6, ii->built, ii->checksum);
  printf("\n%-7s %-45s %8s %7s  %-10s  %-16s  %s\n", "CODE", "LIST", "ENTRIES", "NAMES", "DATE",
         "SHA-256", "FILES");
  for (size_t i = 0; i < ag_screen_list_count(s); i++) {
    const ag_screen_list_info *l = ag_screen_list(s, i);
    printf("%-7s %-45.45s %8u %7u  %-10s  %.16s  %s\n", l->code, l->name, l->entries, l->names,
           l->date[0] ? l->date : "-", l->sha256, l->files);
  }
}

static void show_json(const ag_screen *s) {
  const ag_screen_index_info *ii = ag_screen_info(s);
  ag_buf b;
  ag_buf_init(&b);
  ag_buf_puts(&b, "{\"origin\":");
  ag_buf_json_str(&b, ii->origin, strlen(ii->origin));
  ag_buf_puts(&b, ",\"built\":");
  ag_buf_json_str(&b, ii->built, strlen(ii->built));
  ag_buf_puts(&b, ",\"checksum\":");
  ag_buf_json_str(&b, ii->checksum, strlen(ii->checksum));
  ag_buf_printf(&b, ",\"entries\":%u,\"names\":%u,\"bytes\":%zu,\"lists\":[", ii->entries,
                ii->names, ii->bytes);
  for (size_t i = 0; i < ag_screen_list_count(s); i++) {
    const ag_screen_list_info *l = ag_screen_list(s, i);
    ag_buf_puts(&b, i ? ",{\"code\":" : "{\"code\":");
    ag_buf_json_str(&b, l->code, strlen(l->code));
    ag_buf_puts(&b, ",\"name\":");
    ag_buf_json_str(&b, l->name, strlen(l->name));
    ag_buf_printf(&b, ",\"entries\":%u,\"names\":%u,\"date\":", l->entries, l->names);
    if (l->date[0])
      ag_buf_json_str(&b, l->date, strlen(l->date));
    else
      ag_buf_puts(&b, "null");
    ag_buf_puts(&b, ",\"sha256\":");
    ag_buf_json_str(&b, l->sha256, strlen(l->sha256));
    ag_buf_puts(&b, ",\"format\":");
    ag_buf_json_str(&b, l->format, strlen(l->format));
    ag_buf_puts(&b, ",\"files\":");
    ag_buf_json_str(&b, l->files, strlen(l->files));
    ag_buf_putc(&b, '}');
  }
  ag_buf_puts(&b, "]}\n");
  if (!b.failed)
    fwrite(b.data, 1, b.len, stdout);
  ag_buf_free(&b);
}

int ag_cmd_lists(int argc, char **argv) {
  const char *sub = NULL, *data_dir = NULL, *out = NULL;
  bool json = false;
  const char **files = calloc((size_t)argc + 1, sizeof *files);
  char *lists_copy = NULL;
  size_t nfiles = 0;
  int rc = AG_EXIT_OK;
  ag_cli_seen seen = {0};
  if (!files) {
    fprintf(stderr, "acegate lists: out of memory\n");
    return AG_EXIT_INTERNAL;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      goto done;
    } else if (!strcmp(a, "--json")) {
      json = true;
    } else if (!strcmp(a, "--data-dir") || !strcmp(a, "--out") || !strcmp(a, "--lists")) {
      if (!v) {
        fprintf(stderr, "acegate lists: %s needs a value\n", a);
        rc = AG_EXIT_INPUT;
        goto done;
      }
      if (ag_cli_seen_again(&seen, a)) {
        fprintf(stderr, "acegate lists: %s: given more than once%s\n", a,
                a[2] == 'l' ? " (separate several paths with commas)" : "");
        rc = AG_EXIT_INPUT;
        goto done;
      }
      i++;
      if (a[2] == 'd')
        data_dir = v;
      else if (a[2] == 'o')
        out = v;
      else {
        free(lists_copy);
        lists_copy = strdup(v);
        if (!lists_copy) {
          rc = AG_EXIT_INTERNAL;
          goto done;
        }
        for (char *p = lists_copy; p;) {
          char *c = strchr(p, ',');
          if (c)
            *c = '\0';
          if (*p)
            files[nfiles++] = p;
          p = c ? c + 1 : NULL;
        }
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "acegate lists: unknown option '%s'\n", a);
      usage(stderr);
      rc = AG_EXIT_INPUT;
      goto done;
    } else if (!sub && !nfiles &&
               (!strcmp(a, "update") || !strcmp(a, "reset") || !strcmp(a, "build") ||
                !strcmp(a, "show"))) {
      sub = a;
    } else if (sub && strcmp(sub, "show") && strcmp(sub, "reset")) {
      files[nfiles++] = a;
    } else {
      fprintf(stderr, "acegate lists: unexpected argument '%s'\n", a);
      usage(stderr);
      rc = AG_EXIT_INPUT;
      goto done;
    }
  }
  ag_error err;
  ag_error_clear(&err);
  if (!sub || !strcmp(sub, "show")) {
    ag_screen *s = NULL;
    ag_status st = nfiles ? ag_screen_open_paths(files, nfiles, &s, &err)
                          : ag_screen_open_dir(data_dir, &s, &err);
    if (st) {
      rc = fail(&err);
      goto done;
    }
    if (json)
      show_json(s);
    else
      show_text(s);
    ag_screen_close(s);
  } else if (!strcmp(sub, "update")) {
    if (!nfiles) {
      fprintf(stderr, "acegate lists update: name the list files (or directories) to load\n");
      rc = AG_EXIT_INPUT;
      goto done;
    }
    char path[4200];
    if (ag_screen_update(data_dir, files, nfiles, path, sizeof path, &err)) {
      fprintf(stderr, "acegate lists update: rejected, the lists in force are unchanged\n");
      rc = fail(&err);
      goto done;
    }
    ag_screen *s = NULL;
    if (ag_screen_open_index(path, &s, &err)) {
      rc = fail(&err);
      goto done;
    }
    printf("updated: %s\n", path);
    if (json)
      show_json(s);
    else
      show_text(s);
    ag_screen_close(s);
  } else if (!strcmp(sub, "reset")) {
    if (ag_screen_reset(data_dir, &err)) {
      rc = fail(&err);
      goto done;
    }
    printf("the built-in lists are in force\n");
  } else { /* build */
    if (!out || !nfiles) {
      fprintf(stderr, "acegate lists build: needs --out INDEX and list files\n");
      rc = AG_EXIT_INPUT;
      goto done;
    }
    if (ag_screen_build_index(files, nfiles, out, &err)) {
      rc = fail(&err);
      goto done;
    }
  }
  if (fflush(stdout))
    rc = AG_EXIT_IO;
done:
  free(lists_copy);
  free(files);
  return rc;
}
