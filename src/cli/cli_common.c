/*
 * cli_common.c - error reporting, exit codes and bounded reads for the
 * subcommands.
 */
#include "cli_common.h"

#include "acegate/webhook.h"

#include "acegate/remember.h"
#include "acegate/pipeline.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ag_cli_print_error(const char *cmd, const ag_error *err) {
  if (err->field[0])
    fprintf(stderr, "acegate %s: %s: %s\n", cmd, err->field, err->reason);
  else
    fprintf(stderr, "acegate %s: %s\n", cmd, err->reason);
}

int ag_cli_print_line(ag_buf *b) {
  ag_buf_putc(b, '\n');
  bool ok = !b->failed && fwrite(b->data, 1, b->len, stdout) == b->len;
  ag_buf_free(b);
  return ok && fflush(stdout) == 0 ? AG_EXIT_OK : AG_EXIT_IO;
}

bool ag_cli_parse_limit(const char *text, size_t *out) {
  char *end;
  long v = strtol(text, &end, 10);
  if (*end || end == text || v < 1 || v > AG_AUDIT_PAGE_MAX)
    return false;
  *out = (size_t)v;
  return true;
}

int ag_cli_exit_for(ag_status st) {
  switch (st) {
  case AG_OK: return AG_EXIT_OK;
  case AG_ERR_INPUT:
  case AG_ERR_LIMIT:
  case AG_ERR_NOTFOUND:
  case AG_ERR_AUTH:
  case AG_ERR_FORBIDDEN: return AG_EXIT_INPUT;
  case AG_ERR_RULES:
  case AG_ERR_LIST: return AG_EXIT_DATA;
  case AG_ERR_IO:
  case AG_ERR_DB: return AG_EXIT_IO;
  case AG_ERR_NOMEM:
  case AG_ERR_INTERNAL: return AG_EXIT_INTERNAL;
  }
  return AG_EXIT_INTERNAL;
}

int ag_cli_fail(const char *cmd, const char *sub, const ag_error *err,
                const ag_cli_flag_name *names, size_t n) {
  const char *field = err->field;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(field, names[i].field))
      field = names[i].flag;
  fprintf(stderr, "acegate %s %s: %s: %s\n", cmd, sub, field, err->reason);
  return ag_cli_exit_for(err->status);
}

int ag_cli_dispatch(const char *cmd, int argc, char **argv, const ag_cli_sub *subs, size_t n,
                    const char *usage) {
  if (argc < 2) {
    fputs(usage, stderr);
    return AG_EXIT_INPUT;
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    fputs(usage, stdout);
    return AG_EXIT_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (!strcmp(sub, subs[i].name))
      return subs[i].run(argc, argv);
  fprintf(stderr, "acegate %s: %s: unknown subcommand\n%s", cmd, sub, usage);
  return AG_EXIT_INPUT;
}

ag_status ag_cli_read_all(FILE *f, size_t max, char **out, size_t *len, ag_error *err) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(buf);
        return ag_error_set(err, AG_ERR_LIMIT, "", "the input is longer than %zu bytes", max);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    free(buf);
    return ag_error_set(err, AG_ERR_IO, "", "error reading the input");
  }
  if (n > max) {
    free(buf);
    return ag_error_set(err, AG_ERR_LIMIT, "", "the input is longer than %zu bytes", max);
  }
  if (n == cap) {
    char *nb = realloc(buf, n + 1);
    if (!nb) {
      free(buf);
      return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    }
    buf = nb;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return AG_OK;
}

bool ag_cli_seen_again(ag_cli_seen *seen, const char *flag) {
  for (size_t i = 0; i < seen->n; i++)
    if (!strcmp(seen->names[i], flag))
      return true;
  if (seen->n < sizeof seen->names / sizeof seen->names[0])
    seen->names[seen->n++] = flag;
  return false;
}

ag_status ag_cli_db_path(const char *given, bool create, char *out, size_t cap, ag_error *err) {
  if (given) {
    if (!*given)
      return ag_error_set(err, AG_ERR_INPUT, "db", "is empty");
    if (snprintf(out, cap, "%s", given) >= (int)cap)
      return ag_error_set(err, AG_ERR_INPUT, "db", "the path is too long");
  } else {
    ag_status st = ag_audit_default_path(out, cap, err);
    if (st != AG_OK)
      return st;
  }
  return create ? ag_audit_prepare_path(out, !given, err) : AG_OK;
}

bool ag_cli_max_list_age(const char *cmd, const char *given, int *out) {
  const char *v = given ? given : getenv("ACEGATE_MAX_LIST_AGE");
  *out = 0;
  if (!v || !*v)
    return true;
  if (!strcmp(v, "off")) {
    *out = -1;
    return true;
  }
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < 1 || n > 36500) {
    fprintf(stderr, "acegate %s: %s: days, a number from 1 to 36500, or off\n", cmd,
            given ? "--max-list-age" : "ACEGATE_MAX_LIST_AGE");
    return false;
  }
  *out = (int)n;
  return true;
}

bool ag_cli_remember_max_age(const char *cmd, const char *given, int *out) {
  *out = AG_REMEMBER_MAX_AGE;
  if (!given)
    return true;
  char *end;
  long n = strtol(given, &end, 10);
  if (!*given || *end || n < 0 || n > 36500) {
    fprintf(stderr, "acegate %s: --remember-max-age: days, a number from 0 to 36500\n", cmd);
    return false;
  }
  *out = (int)n;
  return true;
}

ag_remember *ag_cli_remembered(const char *cmd, ag_audit_db *db, int days) {
  ag_remember *r = NULL;
  ag_error err;
  ag_error_clear(&err);
  if (ag_remember_load(db, days, &r, &err) != AG_OK) {
    fprintf(stderr, "acegate %s: --db: the reviews could not be read: %s\n", cmd, err.reason);
    return NULL;
  }
  return r;
}

int ag_cli_webhook_open(const char *cmd, const char *url, const char *secret_file,
                        const char *db_path, ag_webhook **out) {
  *out = NULL;
  if (!url && !secret_file)
    return AG_EXIT_OK;
  ag_error err;
  ag_error_clear(&err);
  ag_webhook_options o = {.url = url, .secret_file = secret_file, .log_path = db_path};
  ag_status st = ag_webhook_open(&o, out, &err);
  if (st == AG_OK)
    return AG_EXIT_OK;
  /* named as the option: "webhook-url" is --webhook-url */
  bool option = !strncmp(err.field, "webhook-", 8);
  fprintf(stderr, "acegate %s: %s%s: %s\n", cmd, option ? "--" : "", err.field, err.reason);
  return ag_cli_exit_for(st);
}

void ag_cli_print_stale(FILE *f, const ag_screen *lists, int max_age_days) {
  ag_pipeline_stale_list stale[64];
  size_t n = ag_pipeline_stale_lists(lists, max_age_days, ag_date_today(), stale, 64);
  int max = max_age_days ? max_age_days : AG_PIPELINE_MAX_LIST_AGE;
  for (size_t i = 0; i < n && i < 64; i++) {
    if (stale[i].age_days >= 0)
      fprintf(f, "warning: %s (%s) is dated %s, %d days old (more than %d): screened against "
                 "stale lists\n",
              stale[i].name, stale[i].code, stale[i].date, stale[i].age_days, max);
    else
      fprintf(f, "warning: %s (%s) has no known date: screened against lists of unknown age\n",
              stale[i].name, stale[i].code);
  }
}

/* "12,345 done, 41,200/s, 0:07 left": redrawn in place after each chunk. */
typedef struct {
  struct timespec start;
  bool drawn;
  double drawn_at; /* seconds from the start */
} progress_state;

static void show_progress(void *ctx, const ag_pipeline_progress *p) {
  progress_state *s = ctx;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double secs = (double)(now.tv_sec - s->start.tv_sec) + (double)(now.tv_nsec - s->start.tv_nsec) / 1e9;
  bool last = p->bytes_all && p->bytes_read >= p->bytes_all;
  if (secs < 0.5 || (secs - s->drawn_at < 0.25 && !last))
    return; /* a short batch draws nothing; a long one a few times a second */
  s->drawn_at = secs;
  double rate = secs > 0 ? (double)p->lines / secs : 0;
  char left[32] = "";
  if (p->bytes_all && p->bytes_read && p->bytes_read <= p->bytes_all) {
    double rest = secs * (double)(p->bytes_all - p->bytes_read) / (double)p->bytes_read;
    snprintf(left, sizeof left, ", %d:%02d left", (int)(rest / 60), (int)rest % 60);
  }
  fprintf(stderr, "\r%llu done, %.0f/s%s   ", (unsigned long long)p->lines, rate, left);
  s->drawn = true;
}

static progress_state the_progress;

bool ag_cli_batch_format(const char *cmd, const char *format, const char *columns,
                         ag_pipeline_csv_columns *cols, ag_pipeline_batch_options *o) {
  memset(cols, 0, sizeof *cols);
  if (format && strcmp(format, "csv") && strcmp(format, "jsonl")) {
    fprintf(stderr, "acegate %s: --format: csv or jsonl\n", cmd);
    return false;
  }
  o->format = format && !strcmp(format, "csv") ? AG_PIPELINE_CSV : AG_PIPELINE_JSONL;
  if (columns) {
    if (o->format != AG_PIPELINE_CSV) {
      fprintf(stderr, "acegate %s: --columns is for --format csv\n", cmd);
      return false;
    }
    ag_error err;
    if (ag_pipeline_csv_columns_parse(columns, cols, &err) != AG_OK) {
      fprintf(stderr, "acegate %s: --columns: %s\n", cmd, err.reason);
      return false;
    }
    o->columns = cols;
  }
  /* progress only for a person watching: never into a pipe or a log */
  if (isatty(STDERR_FILENO)) {
    clock_gettime(CLOCK_MONOTONIC, &the_progress.start);
    the_progress.drawn = false;
    the_progress.drawn_at = 0;
    o->progress = show_progress;
    o->progress_ctx = &the_progress;
  }
  return true;
}

void ag_cli_batch_done(void) {
  if (the_progress.drawn)
    fputc('\n', stderr);
  the_progress.drawn = false;
}
