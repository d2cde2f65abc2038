/*
 * cmd_parties.c - `acegate parties`: the party registry (acegate/
 * parties.h): import a CSV, list, show one party, re-screen all of them.
 * A thin adapter; docs/review.md, "The party registry", describes it.
 */
#include "acegate/parties.h"
#include "acegate/remember.h"
#include "acegate/webhook.h"
#include "cli.h"
#include "cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: acegate parties import FILE.csv [--columns F=COL[,...]] [--db FILE]\n"
    "       acegate parties list [--q TEXT] [--limit N] [--cursor C] [--db FILE]\n"
    "       acegate parties show REF [--db FILE]\n"
    "       acegate parties rescreen --all [--lists PATH] [--remember-max-age DAYS]\n"
    "                                [--db FILE]\n"
    "       acegate parties deliveries [--pending] [--limit N] [--db FILE]\n"
    "  import    add or update parties from a CSV with a header row (name, country,\n"
    "            address, ref; or map them: --columns name=Company,ref=CustomerID) (JSON out)\n"
    "  list      the registry by ref; --q: parties whose ref or name holds TEXT (JSON out)\n"
    "  show      one party, its screening history and open queue items (JSON out)\n"
    "  rescreen  screen every party against all the lists in force (or PATH); a hit a\n"
    "            party did not have becomes a queue item (JSON out: the counts)\n"
    "  deliveries  the webhook's delivery attempts of new queue items, newest first;\n"
    "            --pending: the items not delivered yet, sent again when a webhook is\n"
    "            next opened (JSON out)\n";

typedef struct {
  const char *db, *arg, *columns, *q, *limit, *cursor, *lists, *max_age;
  bool all, pending;
  char dbbuf[AG_CLI_PATH_MAX];
} parties_args;

static int fail(const char *sub, const ag_error *e) {
  static const ag_cli_flag_name flags[] = {{"db", "--db"},       {"columns", "--columns"},
                                           {"limit", "--limit"}, {"cursor", "--cursor"},
                                           {"ref", "REF"},       {"lists", "--lists"}};
  return ag_cli_fail("parties", sub, e, flags, sizeof flags / sizeof flags[0]);
}

static int usage_error(const char *sub, const char *field, const char *reason) {
  fprintf(stderr, "acegate parties %s: %s: %s\n%s", sub, field, reason, usage_text);
  return AG_EXIT_INPUT;
}

/* The listing in out, or why st failed. */
static int answer(const char *sub, ag_status st, ag_buf *out, const ag_error *e) {
  if (st == AG_OK)
    return ag_cli_print_line(out);
  ag_buf_free(out);
  return fail(sub, e);
}

/* Returns an exit status, or -1 to go on. */
static int parse(const char *sub, const char *const *opts, const char *want_arg, int argc,
                 char **argv, parties_args *a) {
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_text, stdout);
      return AG_EXIT_OK;
    }
    if (strncmp(arg, "--", 2) != 0) {
      if (!want_arg || a->arg)
        return usage_error(sub, arg, a->arg ? "one at a time" : "unexpected argument");
      a->arg = arg;
      continue;
    }
    bool known = false;
    for (const char *const *o = opts; *o; o++)
      known |= !strcmp(arg, *o);
    if (!known)
      return usage_error(sub, arg, "unknown option");
    if (!strcmp(arg, "--all") || !strcmp(arg, "--pending")) {
      a->all |= !strcmp(arg, "--all");
      a->pending |= !strcmp(arg, "--pending");
      continue;
    }
    if (i + 1 >= argc)
      return usage_error(sub, arg, "needs a value");
    const char *value = argv[++i];
    const char **slot = !strcmp(arg, "--db")        ? &a->db
                        : !strcmp(arg, "--columns") ? &a->columns
                        : !strcmp(arg, "--q")       ? &a->q
                        : !strcmp(arg, "--limit")   ? &a->limit
                        : !strcmp(arg, "--cursor")  ? &a->cursor
                        : !strcmp(arg, "--lists")   ? &a->lists
                                                    : &a->max_age;
    if (*slot)
      return usage_error(sub, arg, "given more than once");
    *slot = value;
  }
  if (want_arg && !a->arg)
    return usage_error(sub, want_arg, "required");
  ag_error e;
  if (ag_cli_db_path(a->db, false, a->dbbuf, sizeof a->dbbuf, &e) != AG_OK)
    return fail(sub, &e);
  a->db = a->dbbuf;
  return -1;
}

/* The log (which must exist) and the registry beside it. */
static int open_both(const char *sub, const char *db_path, bool readonly, ag_audit_db **db,
                     ag_parties **p) {
  ag_error e;
  ag_error_clear(&e);
  ag_audit_options o = {.flags = readonly ? AG_AUDIT_OPEN_READONLY : AG_AUDIT_OPEN_EXISTING};
  if (ag_audit_open(db_path, &o, db, &e) != AG_OK)
    return fail(sub, &e);
  if (ag_parties_open(db_path, p, &e) != AG_OK) {
    ag_audit_close(*db);
    return fail(sub, &e);
  }
  return -1;
}

static int cmd_import(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--columns", NULL};
  parties_args a = {0};
  int rc = parse("import", opts, "FILE", argc, argv, &a);
  if (rc >= 0)
    return rc;
  ag_error e;
  ag_error_clear(&e);
  ag_pipeline_csv_columns cols = {.n = 0};
  if (a.columns && ag_pipeline_csv_columns_parse(a.columns, &cols, &e) != AG_OK)
    return fail("import", &e);
  FILE *in = fopen(a.arg, "rb");
  if (!in) {
    ag_pipeline_csv_columns_free(&cols);
    fprintf(stderr, "acegate parties import: %s: cannot be read\n", a.arg);
    return AG_EXIT_INPUT;
  }
  ag_audit_db *db = NULL;
  ag_parties *p = NULL;
  if ((rc = open_both("import", a.db, false, &db, &p)) >= 0) {
    fclose(in);
    ag_pipeline_csv_columns_free(&cols);
    return rc;
  }
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = ag_parties_import(p, in, a.columns ? &cols : NULL, &out, &e);
  fclose(in);
  ag_pipeline_csv_columns_free(&cols);
  ag_parties_close(p);
  ag_audit_close(db);
  return answer("import", st, &out, &e);
}

static int cmd_list(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--q", "--limit", "--cursor", NULL};
  parties_args a = {0};
  int rc = parse("list", opts, NULL, argc, argv, &a);
  if (rc >= 0)
    return rc;
  size_t limit = 0;
  if (a.limit && !ag_cli_parse_limit(a.limit, &limit))
    return usage_error("list", "--limit", AG_CLI_LIMIT_RULE);
  ag_audit_db *db = NULL;
  ag_parties *p = NULL;
  if ((rc = open_both("list", a.db, true, &db, &p)) >= 0)
    return rc;
  ag_error e;
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = ag_parties_list(p, db, a.q, a.cursor, limit, &out, &e);
  ag_parties_close(p);
  ag_audit_close(db);
  return answer("list", st, &out, &e);
}

static int cmd_show(int argc, char **argv) {
  static const char *const opts[] = {"--db", NULL};
  parties_args a = {0};
  int rc = parse("show", opts, "REF", argc, argv, &a);
  if (rc >= 0)
    return rc;
  ag_audit_db *db = NULL;
  ag_parties *p = NULL;
  if ((rc = open_both("show", a.db, true, &db, &p)) >= 0)
    return rc;
  ag_error e;
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = ag_parties_show(p, db, a.arg, &out, &e);
  ag_parties_close(p);
  ag_audit_close(db);
  return answer("show", st, &out, &e);
}

static int cmd_rescreen(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--all", "--lists", "--remember-max-age", NULL};
  parties_args a = {0};
  int rc = parse("rescreen", opts, NULL, argc, argv, &a);
  if (rc >= 0)
    return rc;
  if (!a.all)
    return usage_error("rescreen", "--all", "required: after a list update the registry is "
                                            "re-screened against what changed by itself");
  int days;
  if (!ag_cli_remember_max_age("parties rescreen", a.max_age, &days))
    return AG_EXIT_INPUT;
  ag_error e;
  ag_error_clear(&e);
  ag_screen *lists = NULL;
  ag_status st = a.lists ? ag_screen_open_paths(&a.lists, 1, &lists, &e)
                         : ag_screen_open_default(&lists, &e);
  if (st != AG_OK) {
    snprintf(e.field, sizeof e.field, "--lists");
    return fail("rescreen", &e);
  }
  ag_audit_db *db = NULL;
  ag_parties *p = NULL;
  if ((rc = open_both("rescreen", a.db, false, &db, &p)) >= 0) {
    ag_screen_close(lists);
    return rc;
  }
  ag_remember *rem = ag_cli_remembered("parties rescreen", db, days);
  char version[AG_PIPELINE_LISTS_VERSION_MAX];
  ag_pipeline_lists_version(lists, version, sizeof version);
  ag_pipeline_data data = {.lists = lists, .lists_version = version, .remembered = rem,
                           .max_list_age_days = -1};
  ag_rules *rules = NULL;
  st = rem ? ag_rules_load_default(&rules, &e) : AG_ERR_IO;
  data.rules = rules;
  ag_parties_rescreen_stats stats;
  ag_parties_rescreen_options o = {.db = db, .data = &data, .before = NULL,
                                   .cause_audit_id = "", .key_id = "", .client = ""};
  if (st == AG_OK)
    st = ag_parties_rescreen(p, &o, &stats, &e);
  ag_rules_free(rules);
  ag_remember_free(rem);
  ag_parties_close(p);
  ag_audit_close(db);
  ag_screen_close(lists);
  if (st != AG_OK)
    return rem || st != AG_ERR_IO ? fail("rescreen", &e) : AG_EXIT_IO;
  printf("{\"parties\":%llu,\"entries\":%llu,\"items\":%llu,\"kept\":%llu,"
         "\"seconds\":%.3f}\n",
         (unsigned long long)stats.parties, (unsigned long long)stats.entries,
         (unsigned long long)stats.items, (unsigned long long)stats.kept, stats.seconds);
  return AG_EXIT_OK;
}

/* The webhook's delivery attempts, or its pending items (acegate/webhook.h). */
static int cmd_deliveries(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--limit", "--pending", NULL};
  parties_args a = {0};
  int rc = parse("deliveries", opts, NULL, argc, argv, &a);
  if (rc >= 0)
    return rc;
  size_t limit = AG_AUDIT_PAGE_MAX;
  if (a.limit && !ag_cli_parse_limit(a.limit, &limit))
    return usage_error("deliveries", "--limit", AG_CLI_LIMIT_RULE);
  ag_error e;
  ag_error_clear(&e);
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = a.pending ? ag_webhook_pending(a.db, limit, &out, &e)
                           : ag_webhook_deliveries(a.db, limit, &out, &e);
  return answer("deliveries", st, &out, &e);
}

int ag_cmd_parties(int argc, char **argv) {
  static const ag_cli_sub subs[] = {{"import", cmd_import},
                                    {"list", cmd_list},
                                    {"show", cmd_show},
                                    {"rescreen", cmd_rescreen},
                                    {"deliveries", cmd_deliveries}};
  return ag_cli_dispatch("parties", argc, argv, subs, sizeof subs / sizeof subs[0], usage_text);
}
