/*
 * cmd_lists.c - `acegate lists`: what screening lists are in force, and
 * replacing them.
 *
 *   acegate lists [--json] [--data-dir DIR] [--lists PATH[,PATH...]]
 *   acegate lists update FILE... [--data-dir DIR] [--force] [--max-shrink PCT] [--db PATH]
 *                        [--webhook-url URL] [--webhook-secret-file FILE]
 *   acegate lists reset [--data-dir DIR]
 *   acegate lists build --out INDEX FILE...
 *   acegate lists fetch [--csl-url URL] [--ofac-url URL] [--dpl-url URL] [--mirror URL]
 *                       [--data-dir DIR] [--force] [--max-shrink PCT] [--db PATH]
 *
 * `update` parses and validates every file completely and builds the new
 * index before anything is replaced; the swap is an atomic rename, so on
 * any error the old lists stay in force. It prints what changes per source
 * and refuses (without --force) an update that drops a source or shrinks
 * one by more than --max-shrink; every update, refused or not, is recorded
 * in the audit log (acegate/pipeline.h, docs/screening.md). `build`
 * writes an index file anywhere (tools/acegate-lists.c does the same for
 * the build's bundled snapshot).
 */
#include "acegate/fetch.h"
#include "acegate/parties.h"
#include "acegate/pipeline.h"
#include "acegate/remember.h"
#include "acegate/screen.h"
#include "acegate/webhook.h"
#include "cli.h"
#include "cli_common.h"

#include <errno.h>
#include <pwd.h>
#include <strings.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(f, "usage: acegate lists [--json] [--data-dir DIR] [--lists PATH[,PATH...]]\n"
             "       acegate lists update FILE... [--data-dir DIR] [--force] [--max-shrink PCT]\n"
             "                                    [--db PATH] [--webhook-url URL]\n"
             "                                    [--webhook-secret-file FILE]\n"
             "       acegate lists reset [--data-dir DIR] [--db PATH]\n"
             "       acegate lists build --out INDEX FILE...\n"
             "       acegate lists fetch [--csl-url URL] [--ofac-url URL] [--dpl-url URL]\n"
             "                           [--mirror URL] [--fetch-timeout SECONDS]\n"
             "                           [--data-dir DIR] [--force] [--max-shrink PCT] [--db PATH]\n"
             "                           [--webhook-url URL] [--webhook-secret-file FILE]\n"
             "                           [--config PATH | --no-config]\n"
             "\n"
             "Without a subcommand, shows the screening lists in force: each list, its entry\n"
             "count, source date and SHA-256 checksum, and the index they are served from.\n"
             "\n"
             "  update  load FILE... (CSL CSV or JSON, OFAC legacy CSV with companions, BIS\n"
             "          Denied Persons List; directories too), validate them completely, index\n"
             "          them and replace the lists in force atomically; on any error the old\n"
             "          lists stay in force. It prints the entries added, removed and changed\n"
             "          per source, and refuses an update that drops a source list or shrinks\n"
             "          one by more than --max-shrink percent (default 10) unless --force is\n"
             "          given. Every update and refusal is recorded in the audit log (--db,\n"
             "          default as for check). The party registry is then re-screened; with\n"
             "          --webhook-url each new queue item is POSTed there, signed with\n"
             "          HMAC-SHA256 and the secret in --webhook-secret-file, before exit\n"
             "          (30 s at most; attempts: acegate parties deliveries).\n"
             "  reset   remove the updated lists: the built-in snapshot is in force again\n"
             "          (recorded in the audit log as an update is)\n"
             "  build   write an index of FILE... to INDEX (for packaging)\n"
             "  fetch   download the published files (the trade.gov CSL, the OFAC SDN and\n"
             "          non-SDN files, the DPL when a URL is given) with conditional requests,\n"
             "          then update from them as update does; a failed download (HTTP error,\n"
             "          truncated body, HTML page) changes nothing. --csl-url, --ofac-url (the\n"
             "          directory of SDN.CSV, ALT.CSV, ... CONS_COMMENTS.CSV) and --dpl-url\n"
             "          (none by default: the CSL carries the DPL) replace the published\n"
             "          addresses, 'none' leaves a source out; --mirror URL takes the CSL and\n"
             "          OFAC files from one directory (consolidated.csv, sdn.csv, alt.csv, ...).\n"
             "          These keys, and the webhook's, are read from acegate.conf too\n"
             "          (acegate.conf(5)).\n"
             "\n"
             "The data directory is $ACEGATE_HOME, else $XDG_DATA_HOME/acegate, else\n"
             "$HOME/.local/share/acegate. AGE is days since the list's publication date (as\n"
             "the file gives it); a list older than --max-list-age days (default 7,\n"
             "$ACEGATE_MAX_LIST_AGE) is marked stale.\n");
}

static int fail(const ag_error *err) {
  ag_cli_print_error("lists", err);
  return ag_cli_exit_for(err->status);
}

static int age_of(const ag_screen_list_info *l, ag_date today) {
  ag_date d;
  return l->date[0] && ag_date_parse(l->date, strlen(l->date), &d) ? (int)(today - d) : -1;
}

static void show_text(const ag_screen *s, int max_age) {
  ag_date today = ag_date_today();
  int max = max_age ? max_age : AG_PIPELINE_MAX_LIST_AGE;
  const ag_screen_index_info *ii = ag_screen_info(s);
  printf("lists in force: %s\n", ii->origin);
  printf("index: %u entries, %u names, %u words, %.1f MB, built %s, sha256 %s\n", ii->entries,
         ii->names, ii->tokens, (double)ii->bytes / 1e6, ii->built, ii->checksum);
  printf("\n%-7s %-45s %8s %7s  %-10s %9s  %-16s  %s\n", "CODE", "LIST", "ENTRIES", "NAMES",
         "DATE", "AGE", "SHA-256", "FILES");
  size_t stale = 0;
  for (size_t i = 0; i < ag_screen_list_count(s); i++) {
    const ag_screen_list_info *l = ag_screen_list(s, i);
    int age = age_of(l, today);
    char agebuf[24];
    if (age < 0)
      snprintf(agebuf, sizeof agebuf, "unknown!");
    else
      snprintf(agebuf, sizeof agebuf, "%dd%s", age, max_age >= 0 && age > max ? "!" : "");
    stale += max_age >= 0 && (age < 0 || age > max);
    printf("%-7s %-45.45s %8u %7u  %-10s %9s  %.16s  %s\n", l->code, l->name, l->entries, l->names,
           l->date[0] ? l->date : "-", agebuf, l->sha256, l->files);
  }
  if (stale)
    printf("\n%zu list%s older than %d days (marked !): update them (acegate lists update)\n",
           stale, stale == 1 ? " is" : "s are", max);
}

static void show_json(const ag_screen *s, int max_age) {
  const ag_screen_index_info *ii = ag_screen_info(s);
  ag_date today = ag_date_today();
  int max = max_age ? max_age : AG_PIPELINE_MAX_LIST_AGE;
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
    int age = age_of(l, today);
    if (age >= 0)
      ag_buf_printf(&b, ",\"age_days\":%d", age);
    else
      ag_buf_puts(&b, ",\"age_days\":null");
    ag_buf_printf(&b, ",\"stale\":%s",
                  max_age >= 0 && (age < 0 || age > max) ? "true" : "false");
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

/* What changes, per source: printed in every case, refused or not. */
static void print_changes(FILE *f, const ag_pipeline_lists_report *r) {
  fprintf(f, "%-7s %9s %9s %8s %8s %8s  %-10s  %s\n", "CODE", "IN FORCE", "UPDATE", "ADDED",
          "REMOVED", "CHANGED", "DATE", "");
  for (size_t i = 0; i < r->n; i++) {
    const ag_pipeline_list_change *c = &r->lists[i];
    char before[16], after[16];
    snprintf(before, sizeof before, c->before_present ? "%u" : "-", c->before);
    snprintf(after, sizeof after, c->after_present ? "%u" : "-", c->after);
    fprintf(f, "%-7s %9s %9s %8u %8u %8u  %-10s  %s\n", c->code, before, after, c->added,
            c->removed, c->changed, c->date_after[0] ? c->date_after : "-",
            !c->after_present ? "dropped" : !c->before_present ? "new" : "");
  }
}

/* Who: the account that ran the command (the command line has no API key). */
static void who(char *out, size_t cap) {
  struct passwd *pw = getpwuid(getuid());
  snprintf(out, cap, "user:%s", pw && pw->pw_name ? pw->pw_name : "?");
}

/* Re-screens the party registry beside the log against the entries the
 * update added or changed (docs/review.md, "The party registry"). */
static void post_item(void *ctx, const char *audit_id, const char *json, size_t len) {
  ag_webhook_post(ctx, audit_id, json, len);
}

static int rescreen(ag_audit_db *db, const char *db_path, const ag_screen *before,
                    const ag_screen *after, const char *cause, bool json, ag_webhook *hook) {
  ag_error err;
  ag_error_clear(&err);
  ag_parties *p = NULL;
  ag_rules *rules = NULL;
  ag_remember *rem = NULL;
  char version[AG_PIPELINE_LISTS_VERSION_MAX];
  ag_pipeline_lists_version(after, version, sizeof version);
  ag_status st = ag_parties_open(db_path, &p, &err);
  if (st == AG_OK)
    st = ag_rules_load_default(&rules, &err);
  if (st == AG_OK)
    st = ag_remember_load(db, AG_REMEMBER_MAX_AGE, &rem, &err);
  ag_parties_rescreen_stats stats = {.parties = 0};
  if (st == AG_OK) {
    ag_pipeline_data data = {.rules = rules, .lists = after, .lists_version = version,
                             .max_list_age_days = -1, .remembered = rem};
    ag_parties_rescreen_options o = {.db = db, .data = &data, .before = before,
                                     .cause_audit_id = cause, .key_id = "", .client = "",
                                     .on_item = hook ? post_item : NULL, .on_item_ctx = hook};
    st = ag_parties_rescreen(p, &o, &stats, &err);
  }
  ag_remember_free(rem);
  ag_rules_free(rules);
  ag_parties_close(p);
  if (st != AG_OK) {
    fprintf(stderr, "acegate lists update: the lists are updated, but the party registry "
                    "could not be re-screened (acegate parties rescreen --all):\n");
    return fail(&err);
  }
  if (stats.skipped) {
    fprintf(json ? stderr : stdout,
            "parties not re-screened: the %llu entries added or changed were re-screened by "
            "another process\n",
            (unsigned long long)stats.entries);
    return AG_EXIT_OK;
  }
  /* the items of an interrupted re-screening, found in the log */
  char kept[96] = "";
  if (stats.kept)
    snprintf(kept, sizeof kept, ", %llu kept from an interrupted re-screening",
             (unsigned long long)stats.kept);
  fprintf(json ? stderr : stdout,
          "parties re-screened: %llu against %llu entries added or changed: %llu new queue "
          "items%s (%.3f s)\n",
          (unsigned long long)stats.parties, (unsigned long long)stats.entries,
          (unsigned long long)stats.items, kept, stats.seconds);
  return AG_EXIT_OK;
}

/* How long `lists update` waits, before it exits, for the webhook to
 * deliver the new queue items (retries included). */
#define WEBHOOK_WAIT_S 30.0

static int update(const char *data_dir, const char *const *files, size_t nfiles, bool force,
                  double max_shrink, const char *db_arg, bool json, int max_age,
                  const char *hook_url, const char *hook_secret) {
  ag_error err;
  ag_error_clear(&err);
  char db_path[AG_CLI_PATH_MAX];
  ag_audit_db *db = NULL;
  ag_status st = ag_cli_db_path(db_arg, true, db_path, sizeof db_path, &err);
  if (!st)
    st = ag_audit_open(db_path, NULL, &db, &err);
  if (st) {
    if (!strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
    return fail(&err);
  }
  /* the webhook is checked before anything changes */
  ag_webhook *hook = NULL;
  if (hook_url || hook_secret) {
    ag_webhook_options ho = {.url = hook_url, .secret_file = hook_secret, .log_path = db_path};
    st = ag_webhook_open(&ho, &hook, &err);
    if (st) {
      ag_audit_close(db);
      size_t n = strlen(err.field);
      if (!strncmp(err.field, "webhook-", 8) && n + 3 <= sizeof err.field) {
        memmove(err.field + 2, err.field, n + 1); /* named as the option */
        memcpy(err.field, "--", 2);
      }
      return fail(&err);
    }
  }
  char actor[96];
  who(actor, sizeof actor);
  /* the lists in force before: what the registry is re-screened against
   * is what the update adds or changes */
  ag_screen *before = NULL;
  ag_error berr;
  if (ag_screen_open_dir(data_dir, &before, &berr) != AG_OK)
    before = NULL;
  ag_pipeline_lists_update_options o = {.data_dir = data_dir,
                                        .paths = files,
                                        .n = nfiles,
                                        .force = force,
                                        .max_shrink = max_shrink,
                                        .db = db,
                                        .actor = actor,
                                        .client = ""};
  ag_pipeline_lists_report rep;
  st = ag_pipeline_lists_update(&o, &rep, &err);
  int rc = AG_EXIT_OK;
  if (rep.n)
    print_changes(json ? stderr : stdout, &rep);
  if (st) {
    if (rep.result && !strcmp(rep.result, "refused"))
      fprintf(stderr,
              "acegate lists update: refused, the lists in force are unchanged: %s "
              "(check the files; --force installs them anyway)\n",
              rep.reason);
    else
      fprintf(stderr, "acegate lists update: rejected, the lists in force are unchanged\n");
    if (!rep.result || strcmp(rep.result, "refused"))
      ag_cli_print_error("lists", &err);
    rc = ag_cli_exit_for(st);
  } else {
    if (rep.reason[0])
      fprintf(stderr, "acegate lists update: forced past the guard: %s\n", rep.reason);
    ag_screen *s = NULL;
    if (ag_screen_open_index(rep.written, &s, &err)) {
      rc = fail(&err);
    } else {
      printf("updated: %s\n", rep.written);
      if (json)
        show_json(s, max_age);
      else
        show_text(s, max_age);
      rc = rescreen(db, db_path, before, s, rep.audit_id, json, hook);
      ag_screen_close(s);
    }
  }
  if (rep.audit_id[0])
    fprintf(json ? stderr : stdout, "audit id: %s\n", rep.audit_id);
  ag_pipeline_lists_report_free(&rep);
  ag_screen_close(before);
  ag_webhook_close(hook, WEBHOOK_WAIT_S);
  ag_audit_close(db);
  if (rc == AG_EXIT_OK && fflush(stdout))
    rc = AG_EXIT_IO;
  return rc;
}

/* ---- fetch ---- */

#define CSL_URL "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"
#define OFAC_URL "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"

/* The OFAC legacy files: the name each is published under, and the name it
 * is kept under (what the loaders recognise and join). */
static const char *const ofac_files[][2] = {
    {"SDN.CSV", "sdn.csv"},           {"ALT.CSV", "alt.csv"},
    {"ADD.CSV", "add.csv"},           {"SDN_COMMENTS.CSV", "sdn_comments.csv"},
    {"CONS_PRIM.CSV", "cons_prim.csv"}, {"CONS_ALT.CSV", "cons_alt.csv"},
    {"CONS_ADD.CSV", "cons_add.csv"}, {"CONS_COMMENTS.CSV", "cons_comments.csv"}};
#define N_OFAC (sizeof ofac_files / sizeof *ofac_files)

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcasecmp(s + n - k, suffix);
}

static int fetch_main(int argc, char **argv) {
  int rc = ag_cli_config_load("lists fetch", &argc, &argv);
  if (rc != AG_EXIT_OK)
    return rc;
  const char *csl = NULL, *ofac = NULL, *dpl = NULL, *mirror = NULL, *data_dir = NULL,
             *db_arg = NULL, *shrink_arg = NULL, *timeout_arg = NULL, *age_arg = NULL,
             *hook_url = NULL, *hook_secret = NULL;
  bool force = false, json = false;
  ag_cli_seen seen = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    const char *name = ag_cli_config_name(a);
    const char **slot = !strcmp(a, "--csl-url")         ? &csl
                        : !strcmp(a, "--ofac-url")      ? &ofac
                        : !strcmp(a, "--dpl-url")       ? &dpl
                        : !strcmp(a, "--mirror")        ? &mirror
                        : !strcmp(a, "--data-dir")      ? &data_dir
                        : !strcmp(a, "--db")            ? &db_arg
                        : !strcmp(a, "--max-shrink")    ? &shrink_arg
                        : !strcmp(a, "--fetch-timeout") ? &timeout_arg
                        : !strcmp(a, "--max-list-age")  ? &age_arg
                        : !strcmp(a, "--webhook-url")   ? &hook_url
                        : !strcmp(a, "--webhook-secret-file") ? &hook_secret
                                                        : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      rc = -1;
      goto out;
    } else if (!strcmp(a, "--force")) {
      force = true;
    } else if (!strcmp(a, "--json")) {
      json = true;
    } else if (slot) {
      if (!v || !*v) {
        fprintf(stderr, "acegate lists fetch: %s: needs a value\n", name);
        rc = AG_EXIT_INPUT;
        goto out;
      }
      if (ag_cli_seen_again(&seen, a)) {
        fprintf(stderr, "acegate lists fetch: %s: given more than once\n", name);
        rc = AG_EXIT_INPUT;
        goto out;
      }
      *slot = v;
      i++;
    } else {
      fprintf(stderr, "acegate lists fetch: unknown option or argument '%s'\n", name);
      rc = AG_EXIT_INPUT;
      goto out;
    }
  }
  int max_age;
  if (!ag_cli_max_list_age("lists", age_arg, &max_age)) {
    rc = AG_EXIT_INPUT;
    goto out;
  }
  double max_shrink = AG_PIPELINE_MAX_SHRINK;
  if (shrink_arg) {
    char *end;
    double pct = strtod(shrink_arg, &end);
    if (*end || !(pct >= 0 && pct <= 100)) {
      fprintf(stderr, "acegate lists fetch: %s: a percentage from 0 to 100\n",
              ag_cli_config_name("--max-shrink"));
      rc = AG_EXIT_INPUT;
      goto out;
    }
    max_shrink = pct / 100.0;
  }
  /* a webhook that cannot be used is refused before any download */
  if (hook_url || hook_secret) {
    ag_error herr;
    ag_error_clear(&herr);
    if (ag_webhook_check(hook_url, hook_secret, &herr) != AG_OK) {
      fprintf(stderr, "acegate lists fetch: %s: %s\n",
              ag_cli_config_name(!strcmp(herr.field, "webhook-url") ? "--webhook-url"
                                                                     : "--webhook-secret-file"),
              herr.reason);
      rc = ag_cli_exit_for(herr.status);
      goto out;
    }
  }
  long timeout = 300;
  if (timeout_arg) {
    char *end;
    timeout = strtol(timeout_arg, &end, 10);
    if (*end || timeout < 1 || timeout > 86400) {
      fprintf(stderr, "acegate lists fetch: --fetch-timeout: seconds from 1 to 86400\n");
      rc = AG_EXIT_INPUT;
      goto out;
    }
  }
  /* the files and their URLs */
  static char urls[AG_FETCH_FILES_MAX][2304];
  ag_fetch_file files[AG_FETCH_FILES_MAX];
  size_t n = 0;
  const char *base = mirror;
  if (base && strncmp(base, "http://", 7) && strncmp(base, "https://", 8) &&
      strncmp(base, "file://", 7)) {
    fprintf(stderr, "acegate lists fetch: --mirror: '%s' is not an http, https or file URL\n",
            base);
    rc = AG_EXIT_INPUT;
    goto out;
  }
  size_t bl = base ? strlen(base) : 0;
  const char *sep = bl && base[bl - 1] == '/' ? "" : "/";
  if (!csl)
    csl = base ? NULL : CSL_URL;
  if (csl && strcmp(csl, "none")) {
    snprintf(urls[n], sizeof urls[n], "%.2047s", csl);
    files[n] = (ag_fetch_file){.name = ends_with(csl, ".json")  ? "consolidated.json"
                                       : ends_with(csl, ".tsv") ? "consolidated.tsv"
                                                                : "consolidated.csv",
                               .url = urls[n]};
    n++;
  } else if (!csl) {
    snprintf(urls[n], sizeof urls[n], "%.2000s%sconsolidated.csv", base, sep);
    files[n] = (ag_fetch_file){.name = "consolidated.csv", .url = urls[n]};
    n++;
  }
  if (!ofac || strcmp(ofac, "none")) {
    const char *ob = ofac ? ofac : base ? base : OFAC_URL;
    size_t ol = strlen(ob);
    const char *osep = ol && ob[ol - 1] == '/' ? "" : "/";
    bool local = !ofac && base; /* a mirror keeps the local names */
    for (size_t k = 0; k < N_OFAC; k++) {
      snprintf(urls[n], sizeof urls[n], "%.2000s%s%s", ob, osep, ofac_files[k][local ? 1 : 0]);
      files[n] = (ag_fetch_file){.name = ofac_files[k][1], .url = urls[n]};
      n++;
    }
  }
  if (dpl && strcmp(dpl, "none")) {
    snprintf(urls[n], sizeof urls[n], "%.2047s", dpl);
    files[n] = (ag_fetch_file){.name = "dpl.txt", .url = urls[n]};
    n++;
  }
  if (!n) {
    fprintf(stderr, "acegate lists fetch: every source is 'none': nothing to fetch\n");
    rc = AG_EXIT_INPUT;
    goto out;
  }
  ag_error err;
  ag_error_clear(&err);
  char dir[4200], fdir[4300];
  if (data_dir)
    snprintf(dir, sizeof dir, "%s", data_dir);
  else if (ag_screen_data_dir(dir, sizeof dir, &err)) {
    rc = fail(&err);
    goto out;
  }
  if (mkdir(dir, 0755) && errno != EEXIST) {
    fprintf(stderr, "acegate lists fetch: %s: cannot create: %s\n", dir, strerror(errno));
    rc = AG_EXIT_IO;
    goto out;
  }
  snprintf(fdir, sizeof fdir, "%s/fetch", dir);
  ag_fetch_options fo = {.dir = fdir, .files = files, .n = n, .timeout_s = timeout};
  static ag_fetch_result res;
  FILE *msg = json ? stderr : stdout;
  if (ag_fetch_download(&fo, &res, &err)) {
    fprintf(stderr, "acegate lists fetch: download failed, the lists in force are unchanged\n");
    rc = fail(&err);
    goto out;
  }
  for (size_t i = 0; i < res.n; i++) {
    const ag_fetch_file_result *r = &res.files[i];
    if (r->changed)
      fprintf(msg, "fetched %s: %zu bytes%s%s\n", r->name, r->bytes,
              r->last_modified[0] ? ", last modified " : "", r->last_modified);
    else
      fprintf(msg, "not modified: %s (HTTP 304, the kept copy)\n", r->name);
  }
  if (!res.changed) {
    ag_fetch_discard(&res);
    fprintf(msg, "nothing new: the lists in force are unchanged\n");
    goto out;
  }
  const char *paths[AG_FETCH_FILES_MAX];
  for (size_t i = 0; i < res.n; i++)
    paths[i] = res.files[i].path;
  rc = update(data_dir, paths, res.n, force, max_shrink, db_arg, json, max_age, hook_url,
              hook_secret);
  if (rc == AG_EXIT_OK) {
    if (ag_fetch_commit(&res, &err))
      rc = fail(&err);
  } else {
    ag_fetch_discard(&res);
  }
out:
  ag_cli_config_free();
  return rc < 0 ? AG_EXIT_OK : rc;
}

int ag_cmd_lists(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "fetch"))
    return fetch_main(argc - 1, argv + 1);
  const char *sub = NULL, *data_dir = NULL, *out = NULL, *db_arg = NULL, *shrink_arg = NULL,
             *age_arg = NULL, *hook_url = NULL, *hook_secret = NULL;
  bool json = false, force = false;
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
    } else if (!strcmp(a, "--force")) {
      force = true;
    } else if (!strcmp(a, "--data-dir") || !strcmp(a, "--out") || !strcmp(a, "--lists") ||
               !strcmp(a, "--db") || !strcmp(a, "--max-shrink") || !strcmp(a, "--max-list-age") ||
               !strcmp(a, "--webhook-url") || !strcmp(a, "--webhook-secret-file")) {
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
      if (!strcmp(a, "--data-dir"))
        data_dir = v;
      else if (!strcmp(a, "--out"))
        out = v;
      else if (!strcmp(a, "--db"))
        db_arg = v;
      else if (!strcmp(a, "--max-shrink"))
        shrink_arg = v;
      else if (!strcmp(a, "--max-list-age"))
        age_arg = v;
      else if (!strcmp(a, "--webhook-url"))
        hook_url = v;
      else if (!strcmp(a, "--webhook-secret-file"))
        hook_secret = v;
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
  int max_age;
  if (!ag_cli_max_list_age("lists", age_arg, &max_age)) {
    rc = AG_EXIT_INPUT;
    goto done;
  }
  double max_shrink = AG_PIPELINE_MAX_SHRINK;
  if (shrink_arg) {
    char *end;
    double pct = strtod(shrink_arg, &end);
    if (*end || !(pct >= 0 && pct <= 100)) {
      fprintf(stderr, "acegate lists update: --max-shrink: a percentage from 0 to 100\n");
      rc = AG_EXIT_INPUT;
      goto done;
    }
    max_shrink = pct / 100.0;
  }
  if (!sub || !strcmp(sub, "show")) {
    ag_screen *s = NULL;
    ag_status st = nfiles ? ag_screen_open_paths(files, nfiles, &s, &err)
                          : ag_screen_open_dir(data_dir, &s, &err);
    if (st) {
      rc = fail(&err);
      goto done;
    }
    if (json)
      show_json(s, max_age);
    else
      show_text(s, max_age);
    ag_screen_close(s);
  } else if (!strcmp(sub, "update")) {
    if (!nfiles) {
      fprintf(stderr, "acegate lists update: name the list files (or directories) to load\n");
      rc = AG_EXIT_INPUT;
      goto done;
    }
    rc = update(data_dir, files, nfiles, force, max_shrink, db_arg, json, max_age, hook_url,
                hook_secret);
    goto done;
  } else if (!strcmp(sub, "reset")) {
    char db_path[AG_CLI_PATH_MAX], actor[96], id[AG_AUDIT_ID_MAX];
    ag_audit_db *db = NULL;
    ag_status st = ag_cli_db_path(db_arg, true, db_path, sizeof db_path, &err);
    if (!st)
      st = ag_audit_open(db_path, NULL, &db, &err);
    who(actor, sizeof actor);
    if (!st)
      st = ag_pipeline_lists_reset(data_dir, db, actor, id, &err);
    ag_audit_close(db);
    if (st) {
      if (!strcmp(err.field, "db"))
        snprintf(err.field, sizeof err.field, "--db");
      rc = fail(&err);
      goto done;
    }
    printf("the built-in lists are in force\naudit id: %s\n", id);
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
