/*
 * cmd_screen.c - `acegate screen`: screens a name, or a stream of names,
 * against the restricted-party lists (docs/screening.md).
 *
 *   acegate screen NAME [--country CC] [--json] [--lists PATH[,PATH...]]
 *   acegate screen --batch [--json] [--threads N]   JSONL in, JSONL out
 *
 * Batch mode reads {"name": "...", "country": "CN"} lines and writes one
 * line per input, in input order, streaming: lines are read in chunks of
 * a fixed size, screened by a few threads (each with its own result
 * scratch; the lists handle is shared read-only), and written before the
 * next chunk is read, so memory does not grow with the input.
 */
#include "acegate/screen.h"
#include "cli.h"
#include "cli_common.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_CHUNK 512      /* lines screened between two writes */
#define BATCH_LINE_MAX 65536 /* a longer input line is an error line */
#define THREADS_MAX 16

static void usage(FILE *f) {
  fprintf(f,
          "usage: acegate screen NAME [OPTIONS]\n"
          "       acegate screen --batch [OPTIONS] < names.jsonl > results.jsonl\n"
          "\n"
          "Screens a party name against the restricted-party lists (Entity List, Denied\n"
          "Persons List, OFAC SDN and the other Consolidated Screening List sources) and\n"
          "prints the candidate matches, best first, with score, list, entry id, matched\n"
          "name or alias, matched words and a reason. Scores at or above %.2f are\n"
          "'confident', at or above %.2f 'possible' (docs/screening.md).\n"
          "\n"
          "options:\n"
          "  --country CC             the party's country (ISO 3166-1 alpha-2): evidence,\n"
          "                           not a filter\n"
          "  --json                   JSON output\n"
          "  --lists PATH[,PATH...]   screen against these list files or directories instead\n"
          "                           of the lists in force (format recognised from content)\n"
          "  --data-dir DIR           data directory holding an updated index (default\n"
          "                           $ACEGATE_HOME, else $XDG_DATA_HOME/acegate)\n"
          "  --max N                  at most N matches (default %d, at most %d)\n"
          "  --min-score X            report matches from score X (default %.2f)\n"
          "  --brute-force            baseline: plain Jaro-Winkler against every name\n"
          "  --batch                  read JSONL {\"name\": ..., \"country\": ...} from stdin\n"
          "  --threads N              batch worker threads (default: CPUs, at most %d)\n",
          AG_SCREEN_CONFIDENT, AG_SCREEN_POSSIBLE, AG_SCREEN_MATCHES_DEFAULT, AG_SCREEN_MATCHES_MAX,
          AG_SCREEN_POSSIBLE, THREADS_MAX);
}

/* ---- options and the lists ---- */

typedef struct {
  const char *name, *country, *data_dir;
  const char *lists[64];
  size_t nlists;
  char *lists_arg[8];
  size_t nlists_arg;
  bool json, batch, brute;
  size_t max;
  double min;
  int threads;
} opts;

static int fail(const char *cmd, const ag_error *err) {
  ag_cli_print_error(cmd, err);
  return ag_cli_exit_for(err->status);
}

/* --lists a,b --lists c: split on commas into o->lists */
static bool add_lists(opts *o, const char *arg) {
  if (o->nlists_arg >= sizeof o->lists_arg / sizeof *o->lists_arg)
    return false;
  char *copy = strdup(arg);
  if (!copy)
    return false;
  o->lists_arg[o->nlists_arg++] = copy;
  for (char *p = copy; p;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    if (*p) {
      if (o->nlists >= sizeof o->lists / sizeof *o->lists)
        return false;
      o->lists[o->nlists++] = p;
    }
    p = comma ? comma + 1 : NULL;
  }
  return true;
}

static ag_status open_lists(const char *const *paths, size_t n, const char *data_dir,
                            ag_screen **out, ag_error *err) {
  if (n)
    return ag_screen_open_paths(paths, n, out, err);
  return ag_screen_open_dir(data_dir, out, err);
}

static int parse(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  ag_cli_seen seen = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    /* --lists adds paths; any other value given twice is refused */
#define NEED(flag)                                                                                 \
  if (!v) {                                                                                        \
    fprintf(stderr, "acegate screen: %s needs a value\n", flag);                                   \
    return AG_EXIT_INPUT;                                                                          \
  }                                                                                                \
  if (strcmp(flag, "--lists") && ag_cli_seen_again(&seen, flag)) {                                \
    fprintf(stderr, "acegate screen: %s: given more than once\n", flag);                           \
    return AG_EXIT_INPUT;                                                                          \
  }                                                                                                \
  i++
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return -1;
    } else if (!strcmp(a, "--json")) {
      o->json = true;
    } else if (!strcmp(a, "--batch")) {
      o->batch = true;
    } else if (!strcmp(a, "--brute-force")) {
      o->brute = true;
    } else if (!strcmp(a, "--country")) {
      NEED("--country");
      o->country = v;
    } else if (!strcmp(a, "--data-dir")) {
      NEED("--data-dir");
      o->data_dir = v;
    } else if (!strcmp(a, "--lists")) {
      NEED("--lists");
      if (!add_lists(o, v)) {
        fprintf(stderr, "acegate screen: --lists: too many paths\n");
        return AG_EXIT_INPUT;
      }
    } else if (!strcmp(a, "--max")) {
      NEED("--max");
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > AG_SCREEN_MATCHES_MAX) {
        fprintf(stderr, "acegate screen: --max: a number from 1 to %d\n", AG_SCREEN_MATCHES_MAX);
        return AG_EXIT_INPUT;
      }
      o->max = (size_t)n;
    } else if (!strcmp(a, "--min-score")) {
      NEED("--min-score");
      char *end;
      double x = strtod(v, &end);
      if (*end || !(x > 0 && x <= 1)) {
        fprintf(stderr, "acegate screen: --min-score: a number in (0, 1]\n");
        return AG_EXIT_INPUT;
      }
      o->min = x;
    } else if (!strcmp(a, "--threads")) {
      NEED("--threads");
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > THREADS_MAX) {
        fprintf(stderr, "acegate screen: --threads: a number from 1 to %d\n", THREADS_MAX);
        return AG_EXIT_INPUT;
      }
      o->threads = (int)n;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "acegate screen: unknown option '%s'\n", a);
      usage(stderr);
      return AG_EXIT_INPUT;
    } else if (!o->name) {
      o->name = a;
    } else {
      fprintf(stderr, "acegate screen: one name at a time (quote a name with spaces)\n");
      return AG_EXIT_INPUT;
    }
#undef NEED
  }
  if (o->batch && o->name) {
    fprintf(stderr, "acegate screen: --batch reads names from stdin; no NAME argument\n");
    return AG_EXIT_INPUT;
  }
  if (!o->batch && !o->name) {
    usage(stderr);
    return AG_EXIT_INPUT;
  }
  return AG_EXIT_OK;
}

/* ---- one name ---- */

static void print_text(const char *name, const char *country, const ag_screen_result *r,
                       double min) {
  printf("%s", name);
  printf("  (normalised: %s%s%s)\n", r->normalized, country ? "; country " : "",
         country ? country : "");
  if (!r->count) {
    printf("no listed party matches (reporting from score %.2f)\n", min);
    return;
  }
  for (size_t i = 0; i < r->count; i++) {
    const ag_screen_match *m = &r->matches[i];
    printf("%2zu. %.2f %-9s %s (%s)  %s\n", i + 1, (double)(long)(m->score * 100) / 100.0,
           ag_screen_level_name(m->level), m->list_name, m->list_code, m->source_id);
    printf("      matched %s: %s\n", m->name_kind, m->matched_name);
    if (strcmp(m->matched_name, m->entry_name))
      printf("      entry: %s\n", m->entry_name);
    if (m->token_count) {
      printf("      matched words:");
      for (size_t k = 0; k < m->token_count; k++) {
        const ag_screen_token_match *t = &m->tokens[k];
        printf(" %s%s%s", t->query, t->similarity >= 1.0 ? "=" : "~", t->listed);
      }
      printf("\n");
    }
    printf("      reason: %s\n", m->reason);
    if (*m->countries)
      printf("      countries: %s\n", m->countries);
    if (*m->programs)
      printf("      programs: %s\n", m->programs);
    if (*m->license_requirement)
      printf("      license requirement: %s\n", m->license_requirement);
    if (*m->license_policy)
      printf("      license policy: %s\n", m->license_policy);
    if (*m->federal_register_notice)
      printf("      federal register: %s\n", m->federal_register_notice);
  }
}

static void print_json(const char *name, const char *country, const ag_screen *s,
                       const ag_screen_result *r) {
  ag_buf b;
  ag_buf_init(&b);
  ag_buf_puts(&b, "{\"query\":");
  ag_buf_json_str(&b, name, strlen(name));
  ag_buf_puts(&b, ",\"normalized\":");
  ag_buf_json_str(&b, r->normalized, strlen(r->normalized));
  ag_buf_puts(&b, ",\"country\":");
  if (country)
    ag_buf_json_str(&b, country, strlen(country));
  else
    ag_buf_puts(&b, "null");
  const ag_screen_index_info *ii = ag_screen_info(s);
  ag_buf_printf(&b, ",\"thresholds\":{\"confident\":%.2f,\"possible\":%.2f}", AG_SCREEN_CONFIDENT,
                AG_SCREEN_POSSIBLE);
  ag_buf_puts(&b, ",\"lists\":{\"origin\":");
  ag_buf_json_str(&b, ii->origin, strlen(ii->origin));
  ag_buf_puts(&b, ",\"checksum\":");
  ag_buf_json_str(&b, ii->checksum, strlen(ii->checksum));
  ag_buf_puts(&b, "},\"matches\":[");
  for (size_t i = 0; i < r->count; i++) {
    if (i)
      ag_buf_putc(&b, ',');
    ag_screen_match_json(&r->matches[i], true, &b);
  }
  ag_buf_puts(&b, "]}\n");
  if (!b.failed)
    fwrite(b.data, 1, b.len, stdout);
  ag_buf_free(&b);
}

/* ---- batch ---- */

typedef struct {
  char *line;
  size_t len, cap;
  size_t lineno;
  bool too_long;
  ag_buf out;
  bool bad;
} item;

typedef struct {
  const ag_screen *s;
  const opts *o;
  item *items;
  size_t from, to;
  ag_screen_result *res;
} job;

static void error_line(item *it, const char *query, size_t qlen, const char *field,
                       const char *reason) {
  ag_buf *b = &it->out;
  ag_buf_puts(b, "{\"query\":");
  if (query)
    ag_buf_json_str(b, query, qlen);
  else
    ag_buf_puts(b, "null");
  ag_buf_printf(b, ",\"error\":{\"line\":%zu,\"field\":", it->lineno);
  ag_buf_json_cstr(b, field);
  ag_buf_puts(b, ",\"reason\":");
  ag_buf_json_cstr(b, reason);
  ag_buf_puts(b, "}}\n");
  it->bad = true;
}

static void screen_item(const job *j, item *it) {
  ag_buf_reset(&it->out);
  it->bad = false;
  if (it->too_long) {
    error_line(it, NULL, 0, "line", "longer than 65536 bytes");
    return;
  }
  json_error_t je;
  json_t *o = json_loadb(it->line, it->len, JSON_REJECT_DUPLICATES, &je);
  if (!o || !json_is_object(o)) {
    char reason[256];
    snprintf(reason, sizeof reason, "not a JSON object: %s", o ? "wrong type" : je.text);
    error_line(it, NULL, 0, "line", reason);
    json_decref(o);
    return;
  }
  /* the same strict contract as a transaction: a misspelt "country" must
   * not be screened as if it had not been given */
  const char *key;
  json_t *val;
  json_object_foreach(o, key, val) {
    if (strcmp(key, "name") && strcmp(key, "country")) {
      error_line(it, NULL, 0, key, "unknown field (expected name and country)");
      json_decref(o);
      return;
    }
  }
  json_t *jn = json_object_get(o, "name"), *jc = json_object_get(o, "country");
  if (!json_is_string(jn)) {
    error_line(it, NULL, 0, "name", "missing or not a string");
    json_decref(o);
    return;
  }
  const char *name = json_string_value(jn);
  size_t nlen = json_string_length(jn);
  const char *country = NULL;
  if (jc && !json_is_null(jc)) {
    if (!json_is_string(jc)) {
      error_line(it, name, nlen, "country", "not a string");
      json_decref(o);
      return;
    }
    country = json_string_value(jc);
  }
  ag_screen_request rq = {.name = name,
                          .len = nlen,
                          .country = country,
                          .min_score = j->o->min,
                          .max_matches = j->o->max,
                          .mode = j->o->brute ? AG_SCREEN_MODE_BRUTE_JW : AG_SCREEN_MODE_INDEX};
  ag_error err;
  ag_error_clear(&err);
  if (ag_screen_query_ex(j->s, &rq, j->res, &err) != AG_OK) {
    error_line(it, name, nlen, err.field, err.reason);
    json_decref(o);
    return;
  }
  ag_buf *b = &it->out;
  ag_buf_puts(b, "{\"query\":");
  ag_buf_json_str(b, name, nlen);
  ag_buf_puts(b, ",\"matches\":[");
  for (size_t i = 0; i < j->res->count; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_screen_match_json(&j->res->matches[i], false, b);
  }
  ag_buf_puts(b, "]}\n");
  json_decref(o);
}

static void *run_job(void *p) {
  job *j = p;
  for (size_t i = j->from; i < j->to; i++)
    screen_item(j, &j->items[i]);
  return NULL;
}

/* Reads one line (without its end) into it; false at end of input. A line
 * longer than BATCH_LINE_MAX is marked and skipped, so memory stays bound. */
static bool read_line(FILE *in, item *it) {
  it->len = 0;
  it->too_long = false;
  int c;
  bool any = false;
  while ((c = getc_unlocked(in)) != EOF) {
    any = true;
    if (c == '\n')
      break;
    if (it->len >= BATCH_LINE_MAX) {
      it->too_long = true;
      continue;
    }
    if (it->len + 1 >= it->cap) {
      size_t cap = it->cap ? it->cap * 2 : 256;
      char *p = realloc(it->line, cap);
      if (!p) {
        it->too_long = true;
        continue;
      }
      it->line = p;
      it->cap = cap;
    }
    it->line[it->len++] = (char)c;
  }
  if (it->len && it->line[it->len - 1] == '\r')
    it->len--;
  return any;
}

static int run_batch(const ag_screen *s, const opts *o) {
  int nt = o->threads;
  if (!nt) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    nt = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (int)cpus;
  }
  item *items = calloc(BATCH_CHUNK, sizeof *items);
  ag_screen_result res[THREADS_MAX];
  for (int t = 0; t < THREADS_MAX; t++)
    ag_screen_result_init(&res[t]);
  if (!items) {
    fprintf(stderr, "acegate screen: out of memory\n");
    return AG_EXIT_INTERNAL;
  }
  for (size_t i = 0; i < BATCH_CHUNK; i++)
    ag_buf_init(&items[i].out);
  size_t lineno = 0;
  bool any_bad = false, eof = false, write_failed = false;
  while (!eof && !write_failed) {
    size_t n = 0;
    while (n < BATCH_CHUNK) {
      if (!read_line(stdin, &items[n])) {
        eof = true;
        break;
      }
      items[n].lineno = ++lineno;
      /* a blank line is not an input */
      bool blank = !items[n].too_long;
      for (size_t k = 0; k < items[n].len && blank; k++)
        blank = items[n].line[k] == ' ' || items[n].line[k] == '\t';
      if (!blank)
        n++;
    }
    if (!n)
      break;
    int use = nt;
    if ((size_t)use > n)
      use = (int)n;
    job jobs[THREADS_MAX];
    pthread_t th[THREADS_MAX];
    bool started[THREADS_MAX] = {false};
    for (int t = 0; t < use; t++) {
      jobs[t] = (job){
          s, o, items, n * (size_t)t / (size_t)use, n * (size_t)(t + 1) / (size_t)use, &res[t]};
      if (t > 0)
        started[t] = pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0;
    }
    run_job(&jobs[0]);
    for (int t = 1; t < use; t++) {
      if (started[t])
        pthread_join(th[t], NULL);
      else
        run_job(&jobs[t]); /* no thread: do its share here */
    }
    for (size_t i = 0; i < n; i++) {
      item *it = &items[i];
      if (it->out.failed) {
        ag_buf_reset(&it->out);
        error_line(it, NULL, 0, "line", "out of memory");
      }
      any_bad |= it->bad;
      if (fwrite(it->out.data, 1, it->out.len, stdout) != it->out.len)
        write_failed = true;
    }
    if (fflush(stdout))
      write_failed = true;
  }
  for (size_t i = 0; i < BATCH_CHUNK; i++) {
    free(items[i].line);
    ag_buf_free(&items[i].out);
  }
  free(items);
  for (int t = 0; t < THREADS_MAX; t++)
    ag_screen_result_free(&res[t]);
  if (ferror(stdin)) {
    fprintf(stderr, "acegate screen: error reading stdin\n");
    return AG_EXIT_IO;
  }
  if (write_failed) {
    fprintf(stderr, "acegate screen: error writing the results\n");
    return AG_EXIT_IO;
  }
  return any_bad ? AG_EXIT_INPUT : AG_EXIT_OK;
}

int ag_cmd_screen(int argc, char **argv) {
  opts o;
  int rc = parse(argc, argv, &o);
  if (rc) {
    for (size_t i = 0; i < o.nlists_arg; i++)
      free(o.lists_arg[i]);
    return rc < 0 ? AG_EXIT_OK : rc;
  }
  ag_error err;
  ag_error_clear(&err);
  ag_screen *s = NULL;
  ag_status st = open_lists(o.lists, o.nlists, o.data_dir, &s, &err);
  for (size_t i = 0; i < o.nlists_arg; i++)
    free(o.lists_arg[i]);
  if (st)
    return fail("screen", &err);
  if (o.batch) {
    rc = run_batch(s, &o);
    ag_screen_close(s);
    return rc;
  }
  ag_screen_result r;
  ag_screen_result_init(&r);
  ag_screen_request rq = {.name = o.name,
                          .len = strlen(o.name),
                          .country = o.country,
                          .min_score = o.min,
                          .max_matches = o.max,
                          .mode = o.brute ? AG_SCREEN_MODE_BRUTE_JW : AG_SCREEN_MODE_INDEX};
  st = ag_screen_query_ex(s, &rq, &r, &err);
  if (st) {
    rc = fail("screen", &err);
  } else {
    char cc[3] = "";
    if (o.country && *o.country) {
      cc[0] = (char)(o.country[0] & ~0x20);
      cc[1] = (char)(o.country[1] & ~0x20);
    }
    if (o.json)
      print_json(o.name, cc[0] ? cc : NULL, s, &r);
    else
      print_text(o.name, cc[0] ? cc : NULL, &r, o.min ? o.min : AG_SCREEN_POSSIBLE);
    rc = fflush(stdout) ? AG_EXIT_IO : AG_EXIT_OK;
  }
  ag_screen_result_free(&r);
  ag_screen_close(s);
  return rc;
}
