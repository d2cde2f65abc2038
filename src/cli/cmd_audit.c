/*
 * cmd_audit.c - `acegate audit`: verify, export, back up and read the audit
 * log of determinations (15 CFR 762: records kept five years and produced on
 * request). The work is done by libacegate (acegate/audit.h).
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/audit.h"
#include "acegate/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: acegate audit verify [--db FILE] [--anchor SEQ:HASH] [--json]\n"
    "       acegate audit verify --export FILE [--anchor SEQ:HASH]\n"
    "       acegate audit export --from TIME --to TIME [--format csv|jsonl] [--db FILE]\n"
    "       acegate audit backup --to FILE [--db FILE]\n"
    "       acegate audit migrate --from FILE --to postgresql://...\n"
    "       acegate audit get AUDIT_ID [--request] [--db FILE]\n"
    "       acegate audit search [--ref REF] [--party NAME] [--destination CC] [--eccn E]\n"
    "                            [--outcome O] [--kind K] [--from TIME] [--to TIME]\n"
    "                            [--limit N] [--newest] [--db FILE]\n"
    "\n"
    "  verify  walk the hash chain; exit 6 naming the first broken or missing record;\n"
    "          with --export, check an export file (- for stdin) the same way, offline\n"
    "  export  write every record in [--from, --to] to stdout (TIME is YYYY-MM-DD, a\n"
    "          whole day, or YYYY-MM-DDTHH:MM:SS[.mmm]Z); csv is the default format\n"
    "  backup  copy the database online to a new file, then verify the copy\n"
    "  migrate copy a log with its chain and keys into an empty one (a SQLite file\n"
    "          into PostgreSQL), then verify the copy and that it ends at the same head\n"
    "  get     print the stored decision (or with --request, the request) byte for byte\n"
    "  search  the matching records, one JSON line each, oldest first: --ref is the\n"
    "          caller reference given with the check or screening; --party finds every\n"
    "          record naming a party whose name normalises as NAME does (as screening\n"
    "          normalises: case, punctuation, legal forms, transliteration)\n"
    "\n"
    "--db defaults to $ACEGATE_DB, else $XDG_STATE_HOME/acegate/audit.db, else\n"
    "~/.local/state/acegate/audit.db. A postgresql:// or postgres:// URI names a log in\n"
    "PostgreSQL wherever a log is named.\n";

/* Library fields that correspond to a flag are shown as the flag. */
static int fail(const char *sub, const ag_error *e) {
  static const ag_cli_flag_name flags[] = {
      {"db", "--db"}, {"to", "--to"}, {"from", "--from"}, {"format", "--format"}};
  return ag_cli_fail("audit", sub, e, flags, sizeof flags / sizeof flags[0]);
}

static int usage_error(const char *sub, const char *field, const char *reason) {
  fprintf(stderr, "acegate audit %s: %s: %s\n%s", sub, field, reason, usage_text);
  return AG_EXIT_INPUT;
}

typedef struct {
  const char *db, *from, *to, *format, *anchor, *export_file, *id;
  const char *ref, *party, *destination, *eccn, *outcome, *kind, *limit;
  bool request, json, newest, db_given;
  char dbbuf[AG_CLI_PATH_MAX];
} audit_args;

enum {
  O_DB = 1,
  O_FROM = 2,
  O_TO = 4,
  O_FORMAT = 8,
  O_ANCHOR = 16,
  O_ID = 32,
  O_REQUEST = 64,
  O_JSON = 128,
  O_SEARCH = 256, /* --ref --party --destination --eccn --outcome --kind --limit --newest */
  O_EXPORT = 512
};

/* Flags with a value, as "--flag VALUE" or "--flag=VALUE", and at most one
 * positional argument. Returns an exit status, or -1 to go on. */
static int parse(const char *sub, int argc, char **argv, unsigned allowed, audit_args *a) {
  static const char *const names[] = {"db",    "from",        "to",   "format",  "anchor", "ref",
                                      "party", "destination", "eccn", "outcome", "kind",   "limit",
                                      "export"};
  static const unsigned bits[] = {O_DB,     O_FROM,   O_TO,     O_FORMAT, O_ANCHOR, O_SEARCH, O_SEARCH,
                                  O_SEARCH, O_SEARCH, O_SEARCH, O_SEARCH, O_SEARCH, O_EXPORT};
  const char **slots[] = {&a->db,    &a->from,        &a->to,   &a->format,  &a->anchor,
                          &a->ref,   &a->party,       &a->destination, &a->eccn, &a->outcome,
                          &a->kind,  &a->limit,       &a->export_file};
  enum { NFLAGS = sizeof names / sizeof names[0] };
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_text, stdout);
      return AG_EXIT_OK;
    }
    if (!strcmp(arg, "--request") && (allowed & O_REQUEST)) {
      a->request = true;
      continue;
    }
    if (!strcmp(arg, "--json") && (allowed & O_JSON)) {
      a->json = true;
      continue;
    }
    if (!strcmp(arg, "--newest") && (allowed & O_SEARCH)) {
      a->newest = true;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0) {
      if (a->id || !(allowed & O_ID))
        return usage_error(sub, arg, a->id ? "one AUDIT_ID at a time" : "unexpected argument");
      a->id = arg;
      continue;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int k = -1;
    for (int j = 0; j < NFLAGS; j++)
      if ((allowed & bits[j]) && strlen(names[j]) == len && !strncmp(name, names[j], len))
        k = j;
    if (k < 0)
      return usage_error(sub, arg, "unknown option");
    /* the last of two values silently winning could drop an --anchor */
    if (*slots[k]) {
      char flag[32];
      snprintf(flag, sizeof flag, "--%s", names[k]);
      return usage_error(sub, flag, "given more than once");
    }
    if (eq) {
      *slots[k] = eq + 1;
    } else {
      if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
        return usage_error(sub, arg, "needs a value");
      *slots[k] = argv[++i];
    }
  }
  a->db_given = a->db != NULL;
  ag_error e;
  if (ag_cli_db_path(a->db, false, a->dbbuf, sizeof a->dbbuf, &e) != AG_OK)
    return fail(sub, &e);
  a->db = a->dbbuf;
  return -1;
}

/* Every subcommand only reads the log: opened read-only, so nothing it
 * checks or copies can be changed or repaired by reading it. */
static int open_existing(const char *sub, const char *path, ag_audit_db **db) {
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(path, &o, db, &e) != AG_OK)
    return fail(sub, &e);
  return -1;
}

/* The report ends in the head line to keep as an anchor: losing it is an
 * error, not a success. */
static int flushed(const char *sub, int rc) {
  if (fflush(stdout) == 0)
    return rc;
  ag_error e;
  ag_error_set(&e, AG_ERR_IO, "output", "writing to stdout failed");
  return fail(sub, &e);
}

static void print_report(const ag_audit_verify_report *r, const char *what) {
  if (r->problem == AG_AUDIT_INDEX_MISMATCH) {
    /* the chain holds; what is broken is the way searches find records */
    printf("%s intact: %lld records\nhead: %lld:%s\nsearch index broken at seq %lld: %s: %s\n",
           what, (long long)r->records, (long long)r->head_seq, r->head_hash,
           (long long)r->bad_seq, ag_audit_problem_name(r->problem), r->detail);
    fprintf(stderr, "acegate audit verify: seq %lld: %s: %s\n", (long long)r->bad_seq,
            ag_audit_problem_name(r->problem), r->detail);
    return;
  }
  if (r->problem == AG_AUDIT_INTACT) {
    printf("%s intact: %lld records\nhead: %lld:%s\n", what, (long long)r->records,
           (long long)r->head_seq, r->head_hash);
    if (!r->guards_present)
      fprintf(stderr, "acegate audit verify: warning: the append-only triggers are missing; "
                      "the database was altered outside acegate\n");
    return;
  }
  printf("%s broken at seq %lld%s%s%s: %s: %s\n%lld record%s intact before it\n", what,
         (long long)r->bad_seq, *r->bad_id ? " (" : "", r->bad_id, *r->bad_id ? ")" : "",
         ag_audit_problem_name(r->problem), r->detail, (long long)r->records,
         r->records == 1 ? "" : "s");
  fprintf(stderr, "acegate audit verify: seq %lld: %s: %s\n", (long long)r->bad_seq,
          ag_audit_problem_name(r->problem), r->detail);
}

/* The same report as one JSON object, for scripts. */
static void print_report_json(const ag_audit_verify_report *r) {
  ag_buf b;
  ag_buf_init(&b);
  bool intact = r->problem == AG_AUDIT_INTACT;
  ag_buf_printf(&b, "{\"intact\":%s,\"records\":%lld,\"head\":\"%lld:%s\",\"problem\":",
                intact ? "true" : "false", (long long)r->records, (long long)r->head_seq,
                r->head_hash);
  ag_buf_json_cstr(&b, intact ? NULL : ag_audit_problem_name(r->problem));
  if (!intact) {
    ag_buf_printf(&b, ",\"bad_seq\":%lld,\"bad_id\":", (long long)r->bad_seq);
    ag_buf_json_cstr(&b, *r->bad_id ? r->bad_id : NULL);
    ag_buf_puts(&b, ",\"detail\":");
    ag_buf_json_cstr(&b, r->detail);
  }
  ag_buf_printf(&b, ",\"guards_present\":%s}\n", r->guards_present ? "true" : "false");
  if (!b.failed)
    fwrite(b.data, 1, b.len, stdout);
  ag_buf_free(&b);
  if (intact && !r->guards_present)
    fprintf(stderr, "acegate audit verify: warning: the append-only triggers are missing; "
                    "the database was altered outside acegate\n");
}

/* `verify --export FILE`: the file is read whole (an export is checked
 * record by record against the one before, and its end against all). */
static int verify_export(const audit_args *a, const ag_audit_anchor *anchor) {
  ag_error e;
  if (a->db_given) {
    ag_error_set(&e, AG_ERR_INPUT, "--export", "checks a file alone; --db does not go with it");
    return usage_error("verify", e.field, e.reason);
  }
  FILE *f = strcmp(a->export_file, "-") ? fopen(a->export_file, "rb") : stdin;
  if (!f) {
    ag_error_set(&e, AG_ERR_IO, "--export", "cannot open '%s': %s", a->export_file,
                 strerror(errno));
    return fail("verify", &e);
  }
  ag_buf b;
  ag_buf_init(&b);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    ag_buf_append(&b, chunk, n);
  bool read_ok = !ferror(f) && !b.failed;
  if (f != stdin)
    fclose(f);
  if (!read_ok) {
    ag_buf_free(&b);
    ag_error_set(&e, AG_ERR_IO, "--export", "cannot read '%s'", a->export_file);
    return fail("verify", &e);
  }
  ag_audit_verify_report r;
  ag_status st = ag_audit_verify_export(b.data ? b.data : "", b.len, anchor, &r, &e);
  ag_buf_free(&b);
  if (st != AG_OK)
    return fail("verify", &e);
  if (a->json)
    print_report_json(&r);
  else
    print_report(&r, "export");
  return flushed("verify", r.problem == AG_AUDIT_INTACT ? AG_EXIT_OK : AG_EXIT_VERIFY);
}

static int cmd_verify(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("verify", argc, argv, O_DB | O_ANCHOR | O_JSON | O_EXPORT, &a);
  if (rc >= 0)
    return rc;
  ag_audit_anchor anchor;
  if (a.anchor && !ag_audit_anchor_parse(a.anchor, &anchor))
    return usage_error("verify", "--anchor", "expected SEQ:HASH (64 lowercase hex digits)");
  if (a.export_file)
    return verify_export(&a, a.anchor ? &anchor : NULL);
  ag_audit_db *db;
  if ((rc = open_existing("verify", a.db, &db)) >= 0)
    return rc;
  ag_audit_verify_report r;
  ag_error e;
  ag_status st = ag_audit_verify(db, a.anchor ? &anchor : NULL, &r, &e);
  ag_audit_close(db);
  if (st != AG_OK)
    return fail("verify", &e);
  if (a.json)
    print_report_json(&r);
  else
    print_report(&r, "audit log");
  return flushed("verify", r.problem == AG_AUDIT_INTACT ? AG_EXIT_OK : AG_EXIT_VERIFY);
}

static int write_stdout(void *ctx, const char *data, size_t len) {
  (void)ctx;
  return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

static int cmd_export(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("export", argc, argv, O_DB | O_FROM | O_TO | O_FORMAT, &a);
  if (rc >= 0)
    return rc;
  if (!a.from)
    return usage_error("export", "--from", "required");
  if (!a.to)
    return usage_error("export", "--to", "required");
  ag_audit_format fmt = AG_AUDIT_CSV;
  if (a.format && !ag_audit_format_parse(a.format, &fmt))
    return usage_error("export", "--format", "must be csv or jsonl");
  int64_t from, to;
  ag_error e;
  if (ag_audit_parse_time(a.from, false, &from, "--from", &e) != AG_OK ||
      ag_audit_parse_time(a.to, true, &to, "--to", &e) != AG_OK)
    return fail("export", &e);
  if (from >= to)
    return usage_error("export", "--to", "the range ends before it starts");
  ag_audit_db *db;
  if ((rc = open_existing("export", a.db, &db)) >= 0)
    return rc;
  ag_status st = ag_audit_export(db, from, to, fmt, write_stdout, NULL, &e);
  ag_audit_close(db);
  if (st == AG_OK && fflush(stdout) != 0)
    st = ag_error_set(&e, AG_ERR_IO, "output", "writing to stdout failed");
  return st == AG_OK ? AG_EXIT_OK : fail("export", &e);
}

static int cmd_backup(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("backup", argc, argv, O_DB | O_TO, &a);
  if (rc >= 0)
    return rc;
  if (!a.to)
    return usage_error("backup", "--to", "required");
  ag_audit_db *db, *copy;
  if ((rc = open_existing("backup", a.db, &db)) >= 0)
    return rc;
  ag_error e;
  ag_status st = ag_audit_backup(db, a.to, &e);
  ag_audit_close(db);
  if (st != AG_OK)
    return fail("backup", &e);
  /* A backup is only worth keeping if it verifies on its own. */
  ag_audit_options ro = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(a.to, &ro, &copy, &e) != AG_OK) {
    snprintf(e.field, sizeof e.field, "to");
    return fail("backup", &e);
  }
  ag_audit_verify_report r;
  st = ag_audit_verify(copy, NULL, &r, &e);
  ag_audit_close(copy);
  if (st != AG_OK)
    return fail("backup", &e);
  printf("backup written to %s\n", a.to);
  print_report(&r, "backup");
  return flushed("backup", r.problem == AG_AUDIT_INTACT ? AG_EXIT_OK : AG_EXIT_VERIFY);
}

static int cmd_migrate(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("migrate", argc, argv, O_FROM | O_TO, &a);
  if (rc >= 0)
    return rc;
  if (!a.from)
    return usage_error("migrate", "--from", "required");
  if (!a.to)
    return usage_error("migrate", "--to", "required");
  ag_audit_db *src, *dst;
  if ((rc = open_existing("migrate", a.from, &src)) >= 0)
    return rc;
  ag_error e;
  if (ag_audit_open(a.to, NULL, &dst, &e) != AG_OK) {
    ag_audit_close(src);
    snprintf(e.field, sizeof e.field, "to");
    return fail("migrate", &e);
  }
  ag_audit_verify_report r;
  ag_status st = ag_audit_copy(src, dst, &r, &e);
  ag_audit_close(dst);
  ag_audit_close(src);
  if (st != AG_OK)
    return fail("migrate", &e);
  printf("migrated %lld records\n", (long long)r.records);
  print_report(&r, "copy");
  return flushed("migrate", r.problem == AG_AUDIT_INTACT ? AG_EXIT_OK : AG_EXIT_VERIFY);
}

static int cmd_get(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("get", argc, argv, O_DB | O_ID | O_REQUEST, &a);
  if (rc >= 0)
    return rc;
  if (!a.id)
    return usage_error("get", "AUDIT_ID", "required");
  ag_audit_db *db;
  if ((rc = open_existing("get", a.db, &db)) >= 0)
    return rc;
  ag_audit_entry *ent;
  ag_error e;
  ag_status st = ag_audit_get(db, a.id, &ent, &e);
  ag_audit_close(db);
  if (st != AG_OK)
    return fail("get", &e);
  const char *p = a.request ? ent->request : ent->decision;
  size_t n = a.request ? ent->request_len : ent->decision_len;
  bool ok = fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0;
  ag_audit_entry_free(ent);
  if (!ok) {
    ag_error_set(&e, AG_ERR_IO, "output", "writing to stdout failed");
    return fail("get", &e);
  }
  return AG_EXIT_OK;
}

static int cmd_search(int argc, char **argv) {
  audit_args a = {0};
  int rc = parse("search", argc, argv, O_DB | O_FROM | O_TO | O_SEARCH, &a);
  if (rc >= 0)
    return rc;
  ag_audit_query q = {.destination = a.destination,
                      .eccn = a.eccn,
                      .outcome = a.outcome,
                      .ref = a.ref,
                      .newest_first = a.newest};
  ag_error e;
  ag_error_clear(&e);
  if (a.kind && !ag_audit_kind_parse(a.kind, &q.kind))
    return usage_error("search", "--kind", "must be check, screening, key or lists");
  if (a.ref && ag_json_check_ref(a.ref, strlen(a.ref), &e) != AG_OK)
    return usage_error("search", "--ref", e.reason);
  long limit = -1;
  if (a.limit) {
    char *end;
    limit = strtol(a.limit, &end, 10);
    if (*end || a.limit[0] < '0' || a.limit[0] > '9' || limit < 1)
      return usage_error("search", "--limit", "must be a positive number of records");
  }
  if ((a.from && ag_audit_parse_time(a.from, false, &q.from_ms, "--from", &e) != AG_OK) ||
      (a.to && ag_audit_parse_time(a.to, true, &q.to_ms, "--to", &e) != AG_OK))
    return fail("search", &e);
  ag_pipeline_party_filter *party = NULL;
  if (a.party) {
    if (ag_pipeline_party_filter_new(a.party, &party, &e) != AG_OK) {
      snprintf(e.field, sizeof e.field, "--party");
      return fail("search", &e);
    }
    ag_pipeline_party_filter_apply(party, &q);
  }
  ag_audit_db *db;
  if ((rc = open_existing("search", a.db, &db)) >= 0) {
    ag_pipeline_party_filter_free(party);
    return rc;
  }
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  ag_status st = AG_OK;
  ag_buf b;
  ag_buf_init(&b);
  long shown = 0;
  do {
    ag_audit_page page;
    q.cursor = cursor;
    q.limit = limit > 0 && limit - shown < AG_AUDIT_PAGE_MAX ? (size_t)(limit - shown)
                                                             : AG_AUDIT_PAGE_MAX;
    if ((st = ag_audit_search(db, &q, &page, &e)) != AG_OK)
      break;
    for (size_t i = 0; i < page.count; i++) {
      ag_buf_reset(&b);
      ag_audit_entry_json(&b, page.entries[i]);
      ag_buf_putc(&b, '\n');
      if (b.failed || fwrite(b.data, 1, b.len, stdout) != b.len)
        st = ag_error_set(&e, AG_ERR_IO, "output", "writing to stdout failed");
    }
    shown += (long)page.count;
    snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
    ag_audit_page_free(&page);
  } while (st == AG_OK && cursor[0] && (limit < 0 || shown < limit));
  ag_buf_free(&b);
  ag_audit_close(db);
  ag_pipeline_party_filter_free(party);
  if (st == AG_OK && fflush(stdout) != 0)
    st = ag_error_set(&e, AG_ERR_IO, "output", "writing to stdout failed");
  return st == AG_OK ? AG_EXIT_OK : fail("search", &e);
}

int ag_cmd_audit(int argc, char **argv) {
  static const ag_cli_sub subs[] = {{"verify", cmd_verify},
                                    {"export", cmd_export},
                                    {"backup", cmd_backup},
                                    {"migrate", cmd_migrate},
                                    {"get", cmd_get},
                                    {"search", cmd_search}};
  return ag_cli_dispatch("audit", argc, argv, subs, sizeof subs / sizeof subs[0], usage_text);
}
