/*
 * cmd_review.c - `acegate review`: resolve a recorded REVIEW outcome or
 * possible match, list the queue, show one record's reviews. A thin adapter
 * over acegate/review.h; docs/review.md describes the workflow.
 */
#include "acegate/remember.h"
#include "acegate/review.h"
#include "cli.h"
#include "cli_common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: acegate review add AUDIT_ID --decision cleared|confirmed|escalated|revoked\n"
    "                          --note TEXT [--entry SOURCE_ID]... [--db FILE]\n"
    "       acegate review queue [--status open|escalated|cleared|confirmed] [--limit N]\n"
    "                            [--cursor C] [--db FILE]\n"
    "       acegate review show AUDIT_ID [--lists PATH] [--db FILE]\n"
    "       acegate review remembered [--decision cleared|confirmed] [--limit N]\n"
    "                          [--cursor C] [--remember-max-age DAYS] [--lists PATH] [--db FILE]\n"
    "  add    record a review of a check or screening in the audit log (JSON out)\n"
    "  queue  the records with that status (default open), oldest first (JSON out)\n"
    "  show   one record (its answer and request), its status and its reviews, and each\n"
    "         candidate's entry as the lists in force or PATH give it now (JSON out)\n"
    "  remembered  the clearances and confirmations later checks apply, with their state\n"
    "         against the lists in force or PATH (JSON out)\n";

#define ENTRIES_MAX AG_REVIEW_ENTRIES_MAX

typedef struct {
  const char *db, *id, *decision, *note, *status, *limit, *cursor, *max_age, *lists;
  const char *entries[ENTRIES_MAX];
  size_t n_entries;
  char dbbuf[AG_CLI_PATH_MAX];
} review_args;

static int fail(const char *sub, const ag_error *e) {
  static const ag_cli_flag_name flags[] = {
      {"db", "--db"},         {"decision", "--decision"}, {"note", "--note"},
      {"entries", "--entry"}, {"status", "--status"},     {"limit", "--limit"},
      {"cursor", "--cursor"}, {"audit_id", "AUDIT_ID"}, {"lists", "--lists"}};
  return ag_cli_fail("review", sub, e, flags, sizeof flags / sizeof flags[0]);
}

static int usage_error(const char *sub, const char *field, const char *reason) {
  fprintf(stderr, "acegate review %s: %s: %s\n%s", sub, field, reason, usage_text);
  return AG_EXIT_INPUT;
}

/* The listing in out, or why st failed. */
static int answer(const char *sub, ag_status st, ag_buf *out, const ag_error *e) {
  if (st == AG_OK)
    return ag_cli_print_line(out);
  ag_buf_free(out);
  return fail(sub, e);
}

/* The options a subcommand takes, by name; returns an exit status, or -1
 * to go on. */
static int parse(const char *sub, const char *const *opts, bool want_id, int argc, char **argv,
                 review_args *a) {
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_text, stdout);
      return AG_EXIT_OK;
    }
    if (strncmp(arg, "--", 2) != 0) {
      if (!want_id || a->id)
        return usage_error(sub, arg, a->id ? "one AUDIT_ID at a time" : "unexpected argument");
      a->id = arg;
      continue;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    bool known = false;
    for (const char *const *o = opts; *o; o++)
      known |= strlen(*o) == len && !strncmp(arg, *o, len);
    if (!known)
      return usage_error(sub, arg, "unknown option");
    const char *value;
    if (eq)
      value = eq + 1;
    else if (i + 1 < argc)
      value = argv[++i];
    else
      return usage_error(sub, arg, "needs a value");
    const char **slot = NULL;
    if (!strncmp(arg, "--entry", len)) {
      if (a->n_entries == ENTRIES_MAX)
        return usage_error(sub, "--entry", "given too many times");
      a->entries[a->n_entries++] = value;
      continue;
    }
    if (!strncmp(arg, "--db", len))
      slot = &a->db;
    else if (!strncmp(arg, "--decision", len))
      slot = &a->decision;
    else if (!strncmp(arg, "--note", len))
      slot = &a->note;
    else if (!strncmp(arg, "--status", len))
      slot = &a->status;
    else if (!strncmp(arg, "--limit", len))
      slot = &a->limit;
    else if (!strncmp(arg, "--remember-max-age", len))
      slot = &a->max_age;
    else if (!strncmp(arg, "--lists", len))
      slot = &a->lists;
    else
      slot = &a->cursor;
    if (*slot)
      return usage_error(sub, arg, "given more than once");
    *slot = value;
  }
  if (want_id && !a->id)
    return usage_error(sub, "AUDIT_ID", "required");
  ag_error e;
  if (ag_cli_db_path(a->db, false, a->dbbuf, sizeof a->dbbuf, &e) != AG_OK)
    return fail(sub, &e);
  a->db = a->dbbuf;
  return -1;
}

static int cmd_add(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--decision", "--note", "--entry", NULL};
  review_args a = {0};
  int rc = parse("add", opts, true, argc, argv, &a);
  if (rc >= 0)
    return rc;
  /* the same request the HTTP API takes, so both record the same thing */
  json_t *req = json_object(), *entries = json_array();
  json_object_set_new(req, "audit_id", json_string(a.id));
  if (a.decision)
    json_object_set_new(req, "decision", json_string(a.decision));
  if (a.note)
    json_object_set_new(req, "note", json_string(a.note));
  for (size_t i = 0; i < a.n_entries; i++)
    json_array_append_new(entries, json_string(a.entries[i]));
  json_object_set_new(req, "entries", entries);
  char *text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(req);
  ag_error e;
  if (!text) { /* NULL from json_string: not UTF-8 */
    ag_error_set(&e, AG_ERR_INPUT, "", "the arguments must be valid UTF-8");
    return fail("add", &e);
  }
  ag_audit_db *db;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK) {
    free(text);
    return fail("add", &e);
  }
  ag_buf out;
  ag_buf_init(&out);
  char id[AG_AUDIT_ID_MAX];
  ag_status st = ag_review_submit(db, text, strlen(text), "", "", &out, id, &e);
  free(text);
  ag_audit_close(db);
  return answer("add", st, &out, &e);
}

static int cmd_queue(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--status", "--limit", "--cursor", NULL};
  review_args a = {0};
  int rc = parse("queue", opts, false, argc, argv, &a);
  if (rc >= 0)
    return rc;
  size_t limit = 0;
  if (a.limit && !ag_cli_parse_limit(a.limit, &limit))
    return usage_error("queue", "--limit", AG_CLI_LIMIT_RULE);
  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK)
    return fail("queue", &e);
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = ag_review_queue(db, a.status, a.cursor, limit, &out, &e);
  ag_audit_close(db);
  return answer("queue", st, &out, &e);
}

static int cmd_show(int argc, char **argv) {
  static const char *const opts[] = {"--db", "--lists", NULL};
  review_args a = {0};
  int rc = parse("show", opts, true, argc, argv, &a);
  if (rc >= 0)
    return rc;
  ag_error e;
  ag_error_clear(&e);
  /* the candidates' entries are looked up in the lists named, or those in
   * force; lists named that cannot be opened are an error, the lists in
   * force that cannot be opened only leave the entries not looked up (the
   * record is shown all the same, and says why) */
  ag_screen *lists = NULL;
  char unavailable[sizeof e.reason + 64] = "";
  if (a.lists) {
    if (ag_screen_open_paths(&a.lists, 1, &lists, &e) != AG_OK) {
      snprintf(e.field, sizeof e.field, "--lists");
      return fail("show", &e);
    }
  } else if (ag_screen_open_default(&lists, &e) != AG_OK) {
    snprintf(unavailable, sizeof unavailable, "the lists in force could not be opened: %s",
             e.reason);
    lists = NULL;
  }
  ag_audit_db *db;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK) {
    ag_screen_close(lists);
    return fail("show", &e);
  }
  ag_buf out;
  ag_buf_init(&out);
  ag_status st = ag_review_get(db, lists, unavailable, a.id, &out, &e);
  ag_audit_close(db);
  ag_screen_close(lists);
  return answer("show", st, &out, &e);
}

static int cmd_remembered(int argc, char **argv) {
  static const char *const opts[] = {"--db",   "--decision",         "--limit",
                                     "--cursor", "--remember-max-age", "--lists", NULL};
  review_args a = {0};
  int rc = parse("remembered", opts, false, argc, argv, &a);
  if (rc >= 0)
    return rc;
  size_t limit = 0;
  if (a.limit && !ag_cli_parse_limit(a.limit, &limit))
    return usage_error("remembered", "--limit", AG_CLI_LIMIT_RULE);
  int days;
  if (!ag_cli_remember_max_age("review remembered", a.max_age, &days))
    return AG_EXIT_INPUT;
  ag_error e;
  ag_error_clear(&e);
  ag_screen *lists = NULL;
  ag_status st = a.lists ? ag_screen_open_paths(&a.lists, 1, &lists, &e)
                         : ag_screen_open_default(&lists, &e);
  if (st != AG_OK) {
    snprintf(e.field, sizeof e.field, "--lists");
    return fail("remembered", &e);
  }
  ag_audit_db *db;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  if (ag_audit_open(a.db, &o, &db, &e) != AG_OK) {
    ag_screen_close(lists);
    return fail("remembered", &e);
  }
  ag_remember *rem = NULL;
  ag_buf out;
  ag_buf_init(&out);
  st = ag_remember_load(db, days, &rem, &e);
  if (st == AG_OK)
    st = ag_remember_list(rem, lists, a.decision, a.cursor, limit, &out, &e);
  ag_remember_free(rem);
  ag_audit_close(db);
  ag_screen_close(lists);
  return answer("remembered", st, &out, &e);
}

int ag_cmd_review(int argc, char **argv) {
  static const ag_cli_sub subs[] = {{"add", cmd_add},
                                    {"queue", cmd_queue},
                                    {"show", cmd_show},
                                    {"remembered", cmd_remembered}};
  return ag_cli_dispatch("review", argc, argv, subs, sizeof subs / sizeof subs[0], usage_text);
}
