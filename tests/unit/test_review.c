/*
 * test_review.c - the review module (acegate/review.h) over an in-memory
 * log: which records are reviewable and queued, the review record and its
 * link to the record it resolves, status as the latest review, paging, and
 * errors named by field.
 */
#include "acegate/review.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A check with a possible match (REVIEW), a clean check, a screening with a
 * confident match only, a screening with a possible match. */
static const char review_check[] =
    "{\"outcome\":\"REVIEW\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Acme Grop\","
    "\"matches\":[{\"source_id\":\"E1\",\"level\":\"possible\"}]}]}";
static const char clean_check[] = "{\"outcome\":\"NLR\",\"screening\":[]}";
static const char confident_screening[] =
    "{\"name\":\"Acme Group\",\"outcome\":\"CONFIDENT_MATCH\",\"matches\":[{\"source_id\":\"E1\","
    "\"level\":\"confident\"},{\"source_id\":\"E2\",\"level\":\"confident\"}]}";
static const char possible_screening[] =
    "{\"name\":\"Acme Grp\",\"outcome\":\"POSSIBLE_MATCH\",\"matches\":[{\"source_id\":\"E1\","
    "\"level\":\"possible\"}]}";

typedef struct {
  ag_audit_db *db;
  char ids[4][AG_AUDIT_ID_MAX];
} fixture;

static void append(ag_audit_db *db, ag_audit_kind kind, const char *dec, const char *outcome,
                   char id[AG_AUDIT_ID_MAX]) {
  ag_error e;
  ag_audit_record r = {.kind = kind,
                       .request = "{\"ref\":\"R\"}",
                       .request_len = 11,
                       .decision = dec,
                       .decision_len = strlen(dec),
                       .outcome = outcome};
  assert_int_equal(ag_audit_append(db, &r, id, &e), AG_OK);
}

static int setup(void **state) {
  static fixture f;
  ag_error e;
  assert_int_equal(ag_audit_open(":memory:", NULL, &f.db, &e), AG_OK);
  append(f.db, AG_AUDIT_CHECK, review_check, "REVIEW", f.ids[0]);
  append(f.db, AG_AUDIT_CHECK, clean_check, "NLR", f.ids[1]);
  append(f.db, AG_AUDIT_SCREENING, confident_screening, "CONFIDENT_MATCH", f.ids[2]);
  append(f.db, AG_AUDIT_SCREENING, possible_screening, "POSSIBLE_MATCH", f.ids[3]);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ag_audit_close(f->db);
  return 0;
}

static json_t *queue(fixture *f, const char *status, const char *cursor, size_t limit) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_queue(f->db, status, cursor, limit, &b, &e), AG_OK);
  json_t *j = json_loadb(b.data, b.len, 0, NULL);
  assert_non_null(j);
  ag_buf_free(&b);
  return j;
}

static size_t items(json_t *q) {
  return json_array_size(json_object_get(q, "items"));
}

static const char *item_id(json_t *q, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(q, "items"), i),
                                           "audit_id"));
}

static ag_status submit(fixture *f, const char *json, char id[AG_AUDIT_ID_MAX], ag_error *e) {
  ag_buf b;
  ag_buf_init(&b);
  ag_status st = ag_review_submit(f->db, json, strlen(json), "k1", "127.0.0.1", &b, id, e);
  ag_buf_free(&b);
  return st;
}

static void review(fixture *f, const char *of, const char *decision, const char *entries,
                   char id[AG_AUDIT_ID_MAX]) {
  char json[512];
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"%s\",\"note\":\"n\"%s%s}", of,
           decision, entries ? ",\"entries\":" : "", entries ? entries : "");
  ag_error e;
  assert_int_equal(submit(f, json, id, &e), AG_OK);
}

/* REVIEW outcomes and possible matches are queued, oldest first; a clean
 * check and a confident match are not */
static void test_open_queue(void **state) {
  fixture *f = *state;
  json_t *q = queue(f, NULL, NULL, 0);
  assert_int_equal(items(q), 2);
  assert_string_equal(item_id(q, 0), f->ids[0]);
  assert_string_equal(item_id(q, 1), f->ids[3]);
  json_decref(q);
}

static void test_paging(void **state) {
  fixture *f = *state;
  json_t *q = queue(f, "open", NULL, 1);
  assert_int_equal(items(q), 1);
  assert_string_equal(item_id(q, 0), f->ids[0]);
  const char *cur = json_string_value(json_object_get(q, "next_cursor"));
  assert_non_null(cur);
  json_t *q2 = queue(f, "open", cur, 1);
  assert_int_equal(items(q2), 1);
  assert_string_equal(item_id(q2, 0), f->ids[3]);
  json_decref(q2);
  json_decref(q);
}

/* the review is a new record naming the reviewed one; status follows the
 * latest review; the reviewed record is unchanged */
static void test_review_record_and_status(void **state) {
  fixture *f = *state;
  ag_audit_entry *before, *after, *rv;
  ag_error e;
  assert_int_equal(ag_audit_get(f->db, f->ids[0], &before, &e), AG_OK);
  char r1[AG_AUDIT_ID_MAX], r2[AG_AUDIT_ID_MAX];
  review(f, f->ids[0], "escalated", NULL, r1);
  json_t *q = queue(f, "escalated", NULL, 0);
  assert_int_equal(items(q), 1);
  assert_string_equal(item_id(q, 0), f->ids[0]);
  json_decref(q);
  review(f, f->ids[0], "cleared", "[\"E1\"]", r2);
  q = queue(f, "escalated", NULL, 0);
  assert_int_equal(items(q), 0);
  json_decref(q);
  q = queue(f, "cleared", NULL, 0);
  assert_int_equal(items(q), 1);
  json_decref(q);
  q = queue(f, "open", NULL, 0);
  assert_int_equal(items(q), 1);
  assert_string_equal(item_id(q, 0), f->ids[3]);
  json_decref(q);

  assert_int_equal(ag_audit_get(f->db, r2, &rv, &e), AG_OK);
  assert_int_equal(rv->kind, AG_AUDIT_REVIEW);
  assert_string_equal(rv->outcome, "cleared");
  assert_string_equal(rv->key_id, "k1");
  json_t *d = json_loadb(rv->decision, rv->decision_len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(d, "review_of")), f->ids[0]);
  assert_string_equal(json_string_value(json_array_get(json_object_get(d, "entries"), 0)), "E1");
  json_decref(d);
  ag_audit_entry_free(rv);

  assert_int_equal(ag_audit_get(f->db, f->ids[0], &after, &e), AG_OK);
  assert_string_equal(before->hash, after->hash);
  assert_memory_equal(before->decision, after->decision, before->decision_len);
  ag_audit_entry_free(before);
  ag_audit_entry_free(after);

  ag_buf b;
  ag_buf_init(&b);
  assert_int_equal(ag_review_get(f->db, f->ids[0], &b, &e), AG_OK);
  json_t *g = json_loadb(b.data, b.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(g, "status")), "cleared");
  json_t *reviews = json_object_get(g, "reviews");
  assert_int_equal(json_array_size(reviews), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(reviews, 0), "audit_id")),
                      r1);
  json_decref(g);
  ag_buf_free(&b);

  ag_audit_verify_report rep;
  assert_int_equal(ag_audit_verify(f->db, NULL, &rep, &e), AG_OK);
  assert_int_equal(rep.problem, AG_AUDIT_INTACT);
}

/* a confident match is reviewable (and a candidate may be confirmed) */
static void test_confident_reviewable(void **state) {
  fixture *f = *state;
  char r[AG_AUDIT_ID_MAX];
  review(f, f->ids[2], "confirmed", "[\"E2\"]", r);
  json_t *q = queue(f, "confirmed", NULL, 0);
  assert_int_equal(items(q), 1);
  assert_string_equal(item_id(q, 0), f->ids[2]);
  json_decref(q);
}

static void expect_error(fixture *f, const char *json, ag_status want, const char *field) {
  char id[AG_AUDIT_ID_MAX];
  ag_error e;
  ag_error_clear(&e);
  assert_int_equal(submit(f, json, id, &e), want);
  assert_string_equal(e.field, field);
}

static void test_errors(void **state) {
  fixture *f = *state;
  char json[512];
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"cleared\",\"note\":\" \"}",
           f->ids[0]);
  expect_error(f, json, AG_ERR_INPUT, "note");
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"cleared\"}", f->ids[0]);
  expect_error(f, json, AG_ERR_INPUT, "note");
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"fine\",\"note\":\"n\"}",
           f->ids[0]);
  expect_error(f, json, AG_ERR_INPUT, "decision");
  snprintf(json, sizeof json,
           "{\"audit_id\":\"%s\",\"decision\":\"cleared\",\"note\":\"n\",\"entries\":[\"E2\"]}",
           f->ids[0]);
  expect_error(f, json, AG_ERR_INPUT, "entries"); /* E2 is not a candidate of that check */
  snprintf(json, sizeof json,
           "{\"audit_id\":\"%s\",\"decision\":\"cleared\",\"note\":\"n\",\"extra\":1}", f->ids[0]);
  expect_error(f, json, AG_ERR_INPUT, "extra");
  expect_error(f, "{\"audit_id\":\"a-9-000000000000\",\"decision\":\"cleared\",\"note\":\"n\"}",
               AG_ERR_NOTFOUND, "audit_id");
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"cleared\",\"note\":\"n\"}",
           f->ids[1]);
  expect_error(f, json, AG_ERR_INPUT, "audit_id"); /* a clean check is not reviewable */
  expect_error(f, "[1]", AG_ERR_INPUT, "");
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_queue(f->db, "done", NULL, 0, &b, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "status");
  assert_int_equal(ag_review_get(f->db, f->ids[1], &b, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "audit_id");
  ag_buf_free(&b);
}

/* a log made before the reviewer role accepts reviewer keys once opened */
static void test_old_key_table(void **state) {
  (void)state;
  char dir[] = "/tmp/ag-review-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/a.db", dir);
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(path, NULL, &db, &e), AG_OK);
  char tok[AG_KEYS_TOKEN_MAX];
  assert_int_equal(ag_keys_add(db, AG_KEYS_ROLE_CHECKER, "old", tok, NULL, &e), AG_OK);
  ag_audit_close(db);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(h,
                   "CREATE TABLE k2(id TEXT PRIMARY KEY, key_hash BLOB NOT NULL, role TEXT NOT "
                   "NULL CHECK (role IN ('checker', 'auditor', 'admin')), name TEXT NOT NULL,"
                   " created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0)"
                   " WITHOUT ROWID; INSERT INTO k2 SELECT * FROM api_keys; DROP TABLE api_keys;"
                   " ALTER TABLE k2 RENAME TO api_keys;",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(ag_audit_open(path, NULL, &db, &e), AG_OK);
  assert_int_equal(ag_keys_add(db, AG_KEYS_ROLE_REVIEWER, "rev", tok, NULL, &e), AG_OK);
  ag_keys_info *keys;
  size_t n;
  assert_int_equal(ag_keys_list(db, &keys, &n, &e), AG_OK);
  assert_int_equal(n, 2); /* the old key kept */
  free(keys);
  ag_audit_close(db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
      cmocka_unit_test_setup_teardown(test_review_record_and_status, setup, teardown),
      cmocka_unit_test_setup_teardown(test_confident_reviewable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test(test_old_key_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
