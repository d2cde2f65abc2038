/*
 * cmd_screen.c - `acegate screen`: screens a name, or a stream of names,
 * against the restricted-party lists (docs/screening.md).
 *
 *   acegate screen NAME|- [--country CC] [--ref REF] [--json] [--db PATH]
 *   acegate screen --batch [--threads N] [--db PATH]   JSONL in, JSONL out
 *
 * A thin front end over the pipeline (acegate/pipeline.h): the flags are
 * turned into the JSON request POST /v1/screenings takes, decoded, screened,
 * recorded in the audit log and answered exactly as the service does;
 * --batch streams through ag_pipeline_batch.
 */
#include "acegate/pipeline.h"
#include "acegate/remember.h"
#include "acegate/webhook.h"
#include "cli.h"
#include "cli_common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS_MAX 16 /* as ag_pipeline_batch */

static void usage(FILE *f) {
  fprintf(f,
          "usage: acegate screen NAME [OPTIONS]\n"
          "       acegate screen - [OPTIONS]            the name from stdin\n"
          "       acegate screen --batch [OPTIONS] < screenings.jsonl > results.jsonl\n"
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
          "  --address TEXT           the party's street address: evidence\n"
          "  --city TEXT              the party's city: evidence\n"
          "  --type TYPE              entity, individual, vessel or aircraft: evidence (a\n"
          "                           listed entry of another type scores lower)\n"
          "  --id ID                  an identifier of the party (registration, tax, IMO,\n"
          "                           passport number, SWIFT/BIC), repeatable: an entry\n"
          "                           listing it is at least a confident match\n"
          "  --sources CODE[,...]     screen only these lists (SDN, EL, DPL, ...)\n"
          "  --types TYPE[,...]       only entries of these types (Entity, Individual,\n"
          "                           Vessel, Aircraft; entries without a type are kept)\n"
          "  --countries CC[,...]     only entries listing one of these countries (entries\n"
          "                           without a country are kept)\n"
          "  --ref TEXT               your reference (at most 128 characters): echoed,\n"
          "                           recorded, searchable (acegate audit search --ref)\n"
          "  --json                   JSON output, as POST /v1/screenings answers\n"
          "  --db PATH                audit log the screening is recorded in (default\n"
          "                           $ACEGATE_DB, else $XDG_STATE_HOME/acegate/audit.db, else\n"
          "                           ~/.local/state/acegate/audit.db; :memory: keeps none)\n"
          "  --rules DIR              regulation tables (their version is in every result)\n"
          "  --lists PATH[,PATH...]   screen against these list files or directories instead\n"
          "                           of the lists in force (format recognised from content)\n"
          "  --data-dir DIR           data directory holding an updated index (default\n"
          "                           $ACEGATE_HOME, else $XDG_DATA_HOME/acegate)\n"
          "  --max-list-age DAYS      warn when a list is older (default 7,\n"
          "                           $ACEGATE_MAX_LIST_AGE; off: never)\n"
          "  --remember-max-age DAYS  apply a reviewer's remembered clearance or confirmation\n"
          "                           for this many days (default 365; 0: none applies)\n"
          "  --webhook-url URL        POST each new review-queue item (a possible match)\n"
          "                           there, signed with HMAC-SHA256 and the secret in\n"
          "  --webhook-secret-file FILE  FILE; waits for delivery before exit\n"
          "  --max N                  at most N matches (default %d, at most %d)\n"
          "  --min-score X            report matches from score X, in (0, 1] (default %.2f)\n"
          "  --brute-force            baseline: plain Jaro-Winkler against every name\n"
          "  --batch                  read JSONL screening requests from stdin ({\"name\",\n"
          "                           \"country\", \"ref\", \"max_matches\", \"min_score\",\n"
          "                           \"address\", \"city\", \"type\", \"ids\", \"sources\",\n"
          "                           \"types\", \"countries\"}); a rejected line is\n"
          "                           {\"line\": N, \"error\": {...}}\n"
          "  --threads N              batch worker threads (default: CPUs, at most %d)\n"
          "  --format csv|jsonl       batch input and output (default jsonl); csv: a header\n"
          "                           row (name, country, ref), one name per row, one\n"
          "                           answer row each, spreadsheet formulas neutralised\n"
          "  --columns F=COL[,...]    csv: which column gives which field, e.g.\n"
          "                           name=Company,country=Ctry,ref=CustomerID\n",
          AG_SCREEN_CONFIDENT, AG_SCREEN_POSSIBLE, AG_SCREEN_MATCHES_DEFAULT, AG_SCREEN_MATCHES_MAX,
          AG_SCREEN_POSSIBLE, THREADS_MAX);
}

/* ---- options and the lists ---- */

typedef struct {
  const char *name, *country, *data_dir, *ref, *db, *rules, *max_age_arg, *format, *columns;
  const char *address, *city, *type, *sources, *types, *countries;
  const char *ids[AG_SCREEN_IDS_MAX + 1];
  size_t n_ids;
  const char *remember_arg;
  const char *hook_url, *hook_secret;
  const char *lists[64];
  size_t nlists;
  char *lists_arg[8];
  size_t nlists_arg;
  bool json, batch, brute, from_stdin;
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
  if (strcmp(flag, "--lists") && strcmp(flag, "--id") && ag_cli_seen_again(&seen, flag)) {        \
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
    } else if (!strcmp(a, "--ref")) {
      NEED("--ref");
      o->ref = v;
    } else if (!strcmp(a, "--address")) {
      NEED("--address");
      o->address = v;
    } else if (!strcmp(a, "--city")) {
      NEED("--city");
      o->city = v;
    } else if (!strcmp(a, "--type")) {
      NEED("--type");
      o->type = v;
    } else if (!strcmp(a, "--id")) {
      NEED("--id");
      if (o->n_ids >= AG_SCREEN_IDS_MAX + 1) {
        fprintf(stderr, "acegate screen: --id: at most %d identifiers\n", AG_SCREEN_IDS_MAX);
        return AG_EXIT_INPUT;
      }
      o->ids[o->n_ids++] = v;
    } else if (!strcmp(a, "--sources")) {
      NEED("--sources");
      o->sources = v;
    } else if (!strcmp(a, "--types")) {
      NEED("--types");
      o->types = v;
    } else if (!strcmp(a, "--countries")) {
      NEED("--countries");
      o->countries = v;
    } else if (!strcmp(a, "--db")) {
      NEED("--db");
      o->db = v;
    } else if (!strcmp(a, "--rules")) {
      NEED("--rules");
      o->rules = v;
    } else if (!strcmp(a, "--format")) {
      NEED("--format");
      o->format = v;
    } else if (!strcmp(a, "--columns")) {
      NEED("--columns");
      o->columns = v;
    } else if (!strcmp(a, "--max-list-age")) {
      NEED("--max-list-age");
      o->max_age_arg = v;
    } else if (!strcmp(a, "--remember-max-age")) {
      NEED("--remember-max-age");
      o->remember_arg = v;
    } else if (!strcmp(a, "--webhook-url")) {
      NEED("--webhook-url");
      o->hook_url = v;
    } else if (!strcmp(a, "--webhook-secret-file")) {
      NEED("--webhook-secret-file");
      o->hook_secret = v;
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
      if (*end || !(x > 0 && x <= 1)) { /* as the JSON contract: (0, 1] */
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
    } else if (!strcmp(a, "-") && !o->name) {
      o->from_stdin = true;
      o->name = a;
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
  if (!o->batch && (o->format || o->columns)) {
    fprintf(stderr, "acegate screen: --format and --columns are for --batch\n");
    return AG_EXIT_INPUT;
  }
  if (o->batch && o->name) {
    fprintf(stderr, "acegate screen: --batch reads names from stdin; no NAME argument\n");
    return AG_EXIT_INPUT;
  }
  if (o->batch && (o->country || o->ref || o->max || o->min || o->address || o->city || o->type ||
                   o->n_ids || o->sources || o->types || o->countries)) {
    fprintf(stderr, "acegate screen: --batch takes country, ref, max_matches, min_score, address, "
                    "city, type, ids, sources, types and countries from each line, not from "
                    "flags\n");
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

/* The flags of one screening as the JSON request the API takes, so both
 * go through the same decoder. */
static char *request_json(const opts *o, const char *name, size_t len, ag_error *err) {
  json_t *root = json_object();
  json_t *jn = json_stringn(name, len);
  if (!jn) {
    json_decref(root);
    ag_error_set(err, AG_ERR_INPUT, "name", "is not valid UTF-8");
    return NULL;
  }
  json_object_set_new(root, "name", jn);
  if (o->country) {
    json_t *jc = json_string(o->country);
    if (!jc) {
      json_decref(root);
      ag_error_set(err, AG_ERR_INPUT, "country", "is not valid UTF-8");
      return NULL;
    }
    json_object_set_new(root, "country", jc);
  }
  if (o->ref) {
    json_t *jr = json_string(o->ref);
    if (!jr) {
      json_decref(root);
      ag_error_set(err, AG_ERR_INPUT, "ref", "is not valid UTF-8");
      return NULL;
    }
    json_object_set_new(root, "ref", jr);
  }
  const char *const text_fields[][2] = {
      {"address", o->address}, {"city", o->city},   {"type", o->type},
      {"sources", o->sources}, {"types", o->types}, {"countries", o->countries}};
  for (size_t i = 0; i < sizeof text_fields / sizeof *text_fields; i++) {
    if (!text_fields[i][1])
      continue;
    json_t *jt = json_string(text_fields[i][1]);
    if (!jt) {
      json_decref(root);
      ag_error_set(err, AG_ERR_INPUT, text_fields[i][0], "is not valid UTF-8");
      return NULL;
    }
    json_object_set_new(root, text_fields[i][0], jt);
  }
  if (o->n_ids) {
    json_t *ja = json_array();
    for (size_t i = 0; i < o->n_ids; i++) {
      json_t *ji = json_string(o->ids[i]);
      if (!ji) {
        json_decref(ja);
        json_decref(root);
        ag_error_set(err, AG_ERR_INPUT, "ids", "is not valid UTF-8");
        return NULL;
      }
      json_array_append_new(ja, ji);
    }
    json_object_set_new(root, "ids", ja);
  }
  if (o->max)
    json_object_set_new(root, "max_matches", json_integer((json_int_t)o->max));
  if (o->min)
    json_object_set_new(root, "min_score", json_real(o->min));
  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!text)
    ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  return text;
}

/* The flag a request field came from. */
static void name_flag(ag_error *err) {
  static const char *const map[][2] = {
      {"country", "--country"}, {"ref", "--ref"},     {"max_matches", "--max"},
      {"min_score", "--min-score"}, {"db", "--db"}, {"name", "NAME"},
      {"address", "--address"}, {"city", "--city"}, {"type", "--type"},
      {"sources", "--sources"}, {"types", "--types"}, {"countries", "--countries"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(err->field, map[i][0])) {
      snprintf(err->field, sizeof err->field, "%s", map[i][1]);
      return;
    }
  if (!strncmp(err->field, "ids", 3)) /* ids[N]: the N+1-th --id */
    snprintf(err->field, sizeof err->field, "--id");
}

static int screen_one(const ag_pipeline_data *data, ag_audit_db *db, const opts *o) {
  ag_error err;
  ag_error_clear(&err);
  char *name = NULL;
  size_t len = 0;
  ag_status st = AG_OK;
  if (o->from_stdin) { /* as `check -`: the input, without its line end */
    if ((st = ag_cli_read_all(stdin, AG_JSON_MAX_NAME + 2, &name, &len, &err)) == AG_OK) {
      if (len && name[len - 1] == '\n')
        len--;
      if (len && name[len - 1] == '\r')
        len--;
    }
  }
  char *text = st ? NULL : request_json(o, name ? name : o->name, name ? len : strlen(o->name),
                                        &err);
  free(name);
  if (!text)
    return fail("screen", &err);
  ag_pipeline_worker *w =
      ag_pipeline_worker_new(o->brute ? AG_SCREEN_MODE_BRUTE_JW : AG_SCREEN_MODE_INDEX);
  if (!w) {
    free(text);
    ag_error_set(&err, AG_ERR_NOMEM, "", "out of memory");
    return fail("screen", &err);
  }
  ag_buf answer, b;
  ag_buf_init(&answer);
  ag_buf_init(&b);
  ag_pipeline_result res;
  memset(&res, 0, sizeof res);
  char audit_id[AG_AUDIT_ID_MAX] = "";
  if ((st = ag_pipeline_screening(data, w, text, strlen(text), &answer, &res)) != AG_OK)
    err = res.err;
  if (st == AG_OK) { /* recorded before it is shown (15 CFR 762.2) */
    ag_audit_record rec;
    ag_pipeline_record(data, &res, text, strlen(text), answer.data + res.off, "", "", &rec);
    st = ag_audit_append(db, &rec, audit_id, &err);
  }
  ag_error nerr;
  if (st == AG_OK) /* a screening adds no party: it cannot fail */
    ag_pipeline_recorded(data, &res, audit_id, answer.data + res.off, &nerr);
  int rc = AG_EXIT_OK;
  if (st != AG_OK) {
    name_flag(&err);
    rc = fail("screen", &err);
  } else if (o->json) {
    ag_pipeline_splice_audit_id(&b, audit_id, answer.data + res.off, res.len);
    ag_buf_putc(&b, '\n');
    if (!b.failed)
      fwrite(b.data, 1, b.len, stdout);
  } else {
    const ag_screening *q;
    const ag_screen_result *r = ag_pipeline_last_screening(w, &q);
    char cc[sizeof q->country];
    size_t n = strlen(q->country);
    for (size_t i = 0; i <= n; i++)
      cc[i] = q->country[i] >= 'a' && q->country[i] <= 'z' ? (char)(q->country[i] - 32)
                                                           : q->country[i];
    print_text(q->name, cc[0] ? cc : NULL, r, o->min ? o->min : AG_SCREEN_POSSIBLE);
    printf("outcome: %s\nlists: %s\n", res.outcome, data->lists_version);
    ag_cli_print_stale(stdout, data->lists, data->max_list_age_days);
    if (res.ref[0])
      printf("ref: %s\n", res.ref);
    printf("audit id: %s\n", audit_id);
  }
  if (rc == AG_EXIT_OK && fflush(stdout))
    rc = AG_EXIT_IO;
  free(text);
  ag_buf_free(&answer);
  ag_buf_free(&b);
  ag_pipeline_worker_free(w);
  return rc;
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
  ag_rules *rules = NULL;
  ag_audit_db *db = NULL;
  ag_remember *remembered = NULL;
  ag_webhook *hook = NULL;
  char lists_version[AG_PIPELINE_LISTS_VERSION_MAX] = "";
  char db_path[AG_CLI_PATH_MAX];
  ag_status st = open_lists(o.lists, o.nlists, o.data_dir, &s, &err);
  for (size_t i = 0; i < o.nlists_arg; i++)
    free(o.lists_arg[i]);
  if (st == AG_OK)
    st = o.rules ? ag_rules_load_dir(o.rules, &rules, &err) : ag_rules_load_default(&rules, &err);
  if (st == AG_OK && (st = ag_cli_db_path(o.db, true, db_path, sizeof db_path, &err)) == AG_OK)
    st = ag_audit_open(db_path, NULL, &db, &err);
  if (st != AG_OK) {
    name_flag(&err);
    rc = fail("screen", &err);
    goto out;
  }
  ag_pipeline_lists_version(s, lists_version, sizeof lists_version);
  int max_age;
  if (!ag_cli_max_list_age("screen", o.max_age_arg, &max_age)) {
    rc = AG_EXIT_INPUT;
    goto out;
  }
  int remember_days;
  if (!ag_cli_remember_max_age("screen", o.remember_arg, &remember_days)) {
    rc = AG_EXIT_INPUT;
    goto out;
  }
  if (!(remembered = ag_cli_remembered("screen", db, remember_days))) {
    rc = AG_EXIT_IO;
    goto out;
  }
  /* new queue items are posted; a bad webhook is refused before any screening */
  if ((rc = ag_cli_webhook_open("screen", o.hook_url, o.hook_secret, db_path, &hook)) !=
      AG_EXIT_OK)
    goto out;
  ag_pipeline_data data = {.rules = rules, .lists = s, .lists_version = lists_version,
                           .max_list_age_days = max_age, .remembered = remembered,
                           .webhook = hook};
  if (o.batch) {
    ag_pipeline_batch_options bo = {.kind = AG_AUDIT_SCREENING,
                                    .db = db,
                                    .threads = o.threads,
                                    .mode = o.brute ? AG_SCREEN_MODE_BRUTE_JW
                                                    : AG_SCREEN_MODE_INDEX};
    ag_pipeline_batch_stats stats;
    ag_pipeline_csv_columns cols;
    if (!ag_cli_batch_format("screen", o.format, o.columns, &cols, &bo)) {
      rc = AG_EXIT_INPUT;
      goto out;
    }
    st = ag_pipeline_batch(&data, &bo, stdin, stdout, &stats, &err);
    ag_cli_batch_done();
    ag_pipeline_csv_columns_free(&cols);
    if (st != AG_OK)
      rc = fail("screen", &err);
    else
      rc = stats.rejected ? AG_EXIT_INPUT : AG_EXIT_OK;
  } else {
    rc = screen_one(&data, db, &o);
  }
out:
  ag_webhook_close(hook, AG_CLI_WEBHOOK_WAIT_S);
  ag_remember_free(remembered);
  ag_audit_close(db);
  ag_rules_free(rules);
  ag_screen_close(s);
  return rc;
}
