/*
 * test_review.c - the review module (acegate/review.h) over an in-memory
 * log: which records are reviewable and queued, the review record and its
 * link to the record it resolves, status as the latest review, paging, and
 * errors named by field. Over a log file open twice (a service and another
 * process appending): the open queue kept with the handle gives what a
 * scan of the log gives, page by page, after appends and reviews through
 * either handle and under concurrent requests; read ahead of the first
 * request in bounded steps (ag_review_queue_warm), it gives the same, also
 * when stopped or failed midway, and a request meanwhile waits for it. The
 * reviews kept with the handle: every queue, item and party queue it
 * answers is byte for byte what a handle that reads them afresh answers,
 * after reviews, revocations and reviews of no record appended between
 * requests by the same handle, another one and another process, also
 * under concurrent requests; it reads each review record once.
 */
#include "acegate/review.h"
#include "acegate/screen.h"

#include "../../src/review/review_int.h" /* the scan the open list must equal */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
  assert_int_equal(ag_review_get(f->db, NULL, NULL, f->ids[0], &b, &e), AG_OK);
  json_t *g = json_loadb(b.data, b.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(g, "status")), "cleared");
  /* the request as it was stored, beside the answer */
  json_t *want = json_pack("{s:s}", "ref", "R");
  assert_true(json_equal(json_object_get(g, "request"), want));
  json_decref(want);
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
  assert_int_equal(ag_review_get(f->db, NULL, NULL, f->ids[1], &b, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "audit_id");
  ag_buf_free(&b);
}

/* ---- the entries beside the candidates ---- */

#define FIX "tests/screen/fixtures"

static ag_screen *open_list(const char *path) {
  ag_screen *s = NULL;
  ag_error e;
  assert_int_equal(ag_screen_open_paths(&path, 1, &s, &e), AG_OK);
  return s;
}

/* The item as ag_review_get gives it with these lists. */
static json_t *item(fixture *f, const char *id, const ag_screen *lists, const char *unavailable) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_get(f->db, lists, unavailable, id, &b, &e), AG_OK);
  json_t *j = json_loadb(b.data, b.len, 0, NULL);
  assert_non_null(j);
  ag_buf_free(&b);
  return j;
}

static json_t *entry_item(json_t *g, size_t i) {
  return json_array_get(json_object_get(json_object_get(g, "candidate_entries"), "items"), i);
}

static const char *jstr(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static bool has_text(json_t *o, const char *key, const char *part) {
  const char *s = jstr(o, key);
  return s && strstr(s, part);
}

/* Each candidate of a check and of a screening gets the entry its list and
 * id name in the lists given: "same" while its digest is the recorded
 * entry_hash, "changed" (the entry as listed now) when one field differs,
 * "gone" when the lists have no such entry, "unrecorded" for a candidate
 * recorded without a digest, "not_looked_up" without lists; the recorded
 * answer is shown as it was stored. */
static void test_get_entries(void **state) {
  fixture *f = *state;
  /* entry 7731 is on the Entity List and on the Unverified List
   * (remember-two-lists.csv); remember-el-7731-changed.csv has the Entity
   * List one alone, its street address changed */
  ag_screen *both = open_list(FIX "/remember-two-lists.csv");
  ag_screen *changed = open_list(FIX "/remember-el-7731-changed.csv");
  size_t el = ag_screen_entry_find(both, "EL", "7731");
  size_t uvl = ag_screen_entry_find(both, "Unverified List", "7731");
  assert_true(el != SIZE_MAX && uvl != SIZE_MAX && el != uvl);
  char h_el[AG_SCREEN_ENTRY_HASH_HEX], h_uvl[AG_SCREEN_ENTRY_HASH_HEX];
  ag_screen_entry_hash(both, el, h_el);
  ag_screen_entry_hash(both, uvl, h_uvl);

  char check[1024], screening[512];
  snprintf(check, sizeof check,
           "{\"outcome\":\"REVIEW\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Zeltronic "
           "Surveillance\",\"country\":\"MT\",\"matches\":[{\"list\":\"Entity List\","
           "\"source_id\":\"7731\",\"name\":\"Zeltronic Surveillance Systems\",\"score\":0.87,"
           "\"level\":\"possible\",\"entry_hash\":\"%s\"},{\"list\":\"Unverified List\","
           "\"source_id\":\"7731\",\"name\":\"Zeltronic Surveillance Systems\",\"score\":0.87,"
           "\"level\":\"possible\",\"entry_hash\":\"%s\"}]},{\"party\":\"consignee\",\"name\":"
           "\"Zeltronic\",\"country\":null,\"matches\":[{\"list\":\"Entity List\","
           "\"source_id\":\"7731\",\"name\":\"Zeltronic Surveillance Systems\",\"score\":0.8,"
           "\"level\":\"possible\"}]}]}",
           h_el, h_uvl);
  snprintf(screening, sizeof screening,
           "{\"name\":\"Zeltronic Surveillance\",\"outcome\":\"POSSIBLE_MATCH\",\"matches\":[{"
           "\"list\":\"Entity List\",\"list_code\":\"EL\",\"source_id\":\"7731\",\"level\":"
           "\"possible\",\"entry_hash\":\"%s\"}]}",
           h_el);
  char cid[AG_AUDIT_ID_MAX], sid[AG_AUDIT_ID_MAX];
  append(f->db, AG_AUDIT_CHECK, check, "REVIEW", cid);
  append(f->db, AG_AUDIT_SCREENING, screening, "POSSIBLE_MATCH", sid);

  /* the lists the record was decided with */
  json_t *g = item(f, cid, both, NULL);
  json_t *ce = json_object_get(g, "candidate_entries");
  assert_true(json_is_true(json_object_get(ce, "looked_up")));
  assert_true(json_is_null(json_object_get(ce, "unavailable")));
  assert_int_equal(json_array_size(json_object_get(ce, "items")), 3);
  json_t *it = entry_item(g, 0);
  assert_string_equal(jstr(it, "candidate"), "/screening/0/matches/0");
  assert_string_equal(jstr(it, "party"), "end_user");
  assert_string_equal(jstr(it, "state"), "same");
  json_t *en = json_object_get(it, "entry");
  assert_string_equal(jstr(en, "list_code"), "EL");
  assert_string_equal(jstr(en, "name"), "Zeltronic Surveillance Systems");
  assert_string_equal(json_string_value(json_array_get(json_object_get(en, "addresses"), 0)),
                      "1 Harbour Road, Valletta, MT");
  assert_int_equal(json_array_size(json_object_get(en, "addresses")), 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(en, "countries"), 0)),
                      "MT");
  assert_string_equal(jstr(en, "federal_register_notice"), "89 FR 1234");
  assert_string_equal(jstr(en, "license_requirement"), "For all items subject to the EAR.");
  assert_string_equal(jstr(en, "license_policy"), "Presumption of denial.");
  assert_string_equal(jstr(en, "entry_hash"), h_el);
  /* the same id on the other list is the other list's entry */
  it = entry_item(g, 1);
  assert_string_equal(jstr(it, "candidate"), "/screening/0/matches/1");
  assert_string_equal(jstr(it, "state"), "same");
  assert_string_equal(jstr(json_object_get(it, "entry"), "list_code"), "UVL");
  /* recorded without a digest: shown as listed now, and said so */
  it = entry_item(g, 2);
  assert_string_equal(jstr(it, "candidate"), "/screening/1/matches/0");
  assert_string_equal(jstr(it, "party"), "consignee");
  assert_string_equal(jstr(it, "state"), "unrecorded");
  assert_true(json_is_null(json_object_get(it, "entry_hash")));
  assert_string_equal(jstr(json_object_get(it, "entry"), "source_id"), "7731");
  /* the answer as recorded, nothing added to it */
  json_t *rec = json_loads(check, 0, NULL);
  assert_true(json_equal(json_object_get(g, "record"), rec));
  json_decref(rec);
  json_decref(g);

  /* one field changed: the entry as listed now, marked; the Unverified
   * List entry is no longer listed */
  g = item(f, cid, changed, NULL);
  it = entry_item(g, 0);
  assert_string_equal(jstr(it, "state"), "changed");
  assert_true(has_text(it, "text", "changed since the decision"));
  assert_string_equal(jstr(it, "entry_hash"), h_el); /* as recorded */
  en = json_object_get(it, "entry");
  assert_string_equal(json_string_value(json_array_get(json_object_get(en, "addresses"), 0)),
                      "7 Harbour Road, Valletta, MT");
  assert_string_not_equal(jstr(en, "entry_hash"), h_el);
  it = entry_item(g, 1);
  assert_string_equal(jstr(it, "state"), "gone");
  assert_true(has_text(it, "text", "no longer listed"));
  assert_true(json_is_null(json_object_get(it, "entry")));
  json_decref(g);

  /* a screening's candidate, found by its list code */
  g = item(f, sid, changed, NULL);
  it = entry_item(g, 0);
  assert_string_equal(jstr(it, "candidate"), "/matches/0");
  assert_true(json_is_null(json_object_get(it, "party")));
  assert_string_equal(jstr(it, "state"), "changed");
  json_decref(g);
  g = item(f, sid, both, NULL);
  assert_string_equal(jstr(entry_item(g, 0), "state"), "same");
  json_decref(g);

  /* without lists: not looked up, saying why, for every candidate */
  g = item(f, cid, NULL, "the lists in force could not be opened: corrupt index");
  ce = json_object_get(g, "candidate_entries");
  assert_true(json_is_false(json_object_get(ce, "looked_up")));
  assert_true(json_is_null(json_object_get(ce, "lists_version")));
  assert_string_equal(jstr(ce, "unavailable"),
                      "the lists in force could not be opened: corrupt index");
  for (size_t i = 0; i < 3; i++) {
    it = entry_item(g, i);
    assert_string_equal(jstr(it, "state"), "not_looked_up");
    assert_true(has_text(it, "text", "could not be looked up: the lists in force"));
    assert_true(json_is_null(json_object_get(it, "entry")));
  }
  json_decref(g);
  ag_screen_close(both);
  ag_screen_close(changed);
}

/* a record whose request is not a JSON object still reads as valid JSON,
 * its request null */
static void test_get_request_not_json(void **state) {
  fixture *f = *state;
  ag_error e;
  ag_audit_record r = {.kind = AG_AUDIT_CHECK,
                       .request = "eccn=4D004",
                       .request_len = 10,
                       .decision = review_check,
                       .decision_len = strlen(review_check),
                       .outcome = "REVIEW"};
  char id[AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_append(f->db, &r, id, &e), AG_OK);
  ag_buf b;
  ag_buf_init(&b);
  assert_int_equal(ag_review_get(f->db, NULL, NULL, id, &b, &e), AG_OK);
  json_t *g = json_loadb(b.data, b.len, 0, NULL);
  assert_non_null(g);
  assert_true(json_is_null(json_object_get(g, "request")));
  assert_non_null(json_object_get(g, "record"));
  json_decref(g);
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

/* ---- the open queue kept with the handle, against a scan ---- */

/* A re-screening's new hit (a confident match: still queued), a check whose
 * only possible match a remembered clearance decided (not queued). */
static const char rescreen_hit[] =
    "{\"name\":\"Acme Group\",\"outcome\":\"CONFIDENT_MATCH\",\"matches\":[{\"source_id\":\"E9\","
    "\"level\":\"confident\"}],\"cause\":{\"kind\":\"list_change\",\"entries\":[\"E9\"]}}";
static const char remembered_check[] =
    "{\"outcome\":\"NLR\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Acme Grop\","
    "\"matches\":[{\"source_id\":\"E1\",\"level\":\"possible\",\"remembered\":{\"decision\":"
    "\"cleared\"}}]}]}";

/* A possible match with its entry's digest: a clearance of it is
 * remembered, and can be revoked. */
static const char hashed_check[] =
    "{\"outcome\":\"REVIEW\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Acme Grop\","
    "\"country\":\"DE\",\"matches\":[{\"source_id\":\"E1\",\"level\":\"possible\","
    "\"entry_hash\":\"h1\"}]}]}";

typedef struct {
  char dir[64], path[128];
  ag_audit_db *db;    /* the service's handle */
  ag_audit_db *other; /* another process's */
} two_handles;

static int setup_file(void **state) {
  static two_handles t;
  snprintf(t.dir, sizeof t.dir, "/tmp/ag-review-q-XXXXXX");
  if (!mkdtemp(t.dir))
    return -1;
  snprintf(t.path, sizeof t.path, "%s/audit.db", t.dir);
  ag_error e;
  if (ag_audit_open(t.path, NULL, &t.db, &e) != AG_OK ||
      ag_audit_open(t.path, NULL, &t.other, &e) != AG_OK)
    return -1;
  *state = &t;
  return 0;
}

static int teardown_file(void **state) {
  two_handles *t = *state;
  ag_audit_close(t->db);
  ag_audit_close(t->other);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* One of each kind of record; ids[k] receives the id of record k. */
static void append_mix(ag_audit_db *db, char ids[8][AG_AUDIT_ID_MAX]) {
  append(db, AG_AUDIT_CHECK, review_check, "REVIEW", ids[0]);
  append(db, AG_AUDIT_CHECK, clean_check, "NLR", ids[1]);
  append(db, AG_AUDIT_SCREENING, confident_screening, "CONFIDENT_MATCH", ids[2]);
  append(db, AG_AUDIT_SCREENING, possible_screening, "POSSIBLE_MATCH", ids[3]);
  append(db, AG_AUDIT_SCREENING, rescreen_hit, "CONFIDENT_MATCH", ids[4]);
  append(db, AG_AUDIT_CHECK, remembered_check, "NLR", ids[5]);
  append(db, AG_AUDIT_KEY, "{\"key_id\":\"k1\"}", "key_added", ids[6]);
  append(db, AG_AUDIT_CHECK, "{\"outcome\":\"REVIEW\",\"screening\":[]}", "REVIEW", ids[7]);
}

static void review_on(ag_audit_db *db, const char *of, const char *decision, const char *entries) {
  char json[512], id[AG_AUDIT_ID_MAX];
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"%s\",\"note\":\"n\"%s%s}", of,
           decision, entries ? ",\"entries\":" : "", entries ? entries : "");
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_submit(db, json, strlen(json), "k1", "", &b, id, &e), AG_OK);
  ag_buf_free(&b);
}

/* Pages through the open queue of db, limit at a time, from the list and
 * from a scan: byte for byte the same answers. Returns the items seen. */
static size_t same_as_scan(ag_audit_db *db, const char *from, size_t limit) {
  char cursor[AG_AUDIT_CURSOR_MAX];
  snprintf(cursor, sizeof cursor, "%s", from ? from : "");
  size_t seen = 0;
  do {
    ag_buf a, b;
    ag_buf_init(&a);
    ag_buf_init(&b);
    ag_error e;
    assert_int_equal(ag_review_queue(db, "open", cursor, limit, &a, &e), AG_OK);
    assert_int_equal(review_queue_scan(db, "open", NULL, cursor, limit, &b, &e), AG_OK);
    ag_buf_putc(&a, '\0');
    ag_buf_putc(&b, '\0');
    assert_string_equal(a.data, b.data);
    json_t *q = json_loads(a.data, 0, NULL);
    assert_non_null(q);
    seen += items(q);
    const char *next = json_string_value(json_object_get(q, "next_cursor"));
    snprintf(cursor, sizeof cursor, "%s", next ? next : "");
    json_decref(q);
    ag_buf_free(&a);
    ag_buf_free(&b);
  } while (cursor[0]);
  return seen;
}

static size_t same_at_every_limit(ag_audit_db *db) {
  size_t n = same_as_scan(db, NULL, 0);
  for (size_t limit = 1; limit <= 4; limit++)
    assert_int_equal(same_as_scan(db, NULL, limit), n);
  return n;
}

/* Appends a review of `of` as no acegate command would: naming seq and
 * random part given (a record that may not exist). */
static void append_review_of(ag_audit_db *db, const char *of) {
  char dec[256], id[AG_AUDIT_ID_MAX];
  snprintf(dec, sizeof dec, "{\"review_of\":\"%s\",\"decision\":\"cleared\",\"note\":\"n\"}", of);
  append(db, AG_AUDIT_REVIEW, dec, "cleared", id);
}

/* (c) the list gives what a scan gives on a log of every kind of record,
 * learnt at once, then caught up after appends and reviews through either
 * handle */
static void test_open_list_equals_scan(void **state) {
  two_handles *t = *state;
  char a[8][AG_AUDIT_ID_MAX], b[8][AG_AUDIT_ID_MAX], c[8][AG_AUDIT_ID_MAX];
  append_mix(t->db, a);
  /* queued: the REVIEW checks, the possible match, the re-screening's hit */
  assert_int_equal(same_at_every_limit(t->db), 4);
  append_mix(t->other, b);
  review_on(t->db, a[0], "escalated", NULL);  /* escalated: no longer open */
  review_on(t->other, a[3], "cleared", NULL); /* by the other process */
  review_on(t->other, b[4], "confirmed", NULL);
  review_on(t->db, a[2], "confirmed", "[\"E2\"]"); /* reviewable, never queued */
  assert_int_equal(same_at_every_limit(t->db), 5);
  /* a review naming a listed record's seq with another random part, or no
   * record at all, resolves nothing */
  char forged[AG_AUDIT_ID_MAX];
  snprintf(forged, sizeof forged, "%.*s000000000000", (int)(strrchr(b[0], '-') - b[0] + 1), b[0]);
  assert_string_not_equal(forged, b[0]);
  append_review_of(t->other, forged);
  append_review_of(t->other, "a-99999-000000000000");
  append_mix(t->other, c);
  review_on(t->other, b[7], "cleared", NULL);
  review_on(t->other, c[0], "escalated", NULL);
  review_on(t->other, c[0], "cleared", "[\"E1\"]");
  assert_int_equal(same_at_every_limit(t->db), 7);
  /* pages that start at any record, queued or not */
  for (int k = 0; k < 8; k++) {
    char cur[AG_AUDIT_CURSOR_MAX];
    snprintf(cur, sizeof cur, "f%llx", strtoull(a[k] + 2, NULL, 10));
    same_as_scan(t->db, cur, 2);
  }
  /* the same cursors refused, naming the field */
  const char *bad[] = {"F1", "f", "fg", "f-1", "f8000000000000000", "b1", "f 1"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ag_buf o;
    ag_buf_init(&o);
    ag_error e1, e2;
    assert_int_equal(ag_review_queue(t->db, "open", bad[k], 0, &o, &e1), AG_ERR_INPUT);
    assert_int_equal(review_queue_scan(t->db, "open", NULL, bad[k], 0, &o, &e2), AG_ERR_INPUT);
    assert_string_equal(e1.field, "cursor");
    assert_string_equal(e1.reason, e2.reason);
    ag_buf_free(&o);
  }
}

static json_t *open_queue(ag_audit_db *db) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_queue(db, "open", NULL, 0, &b, &e), AG_OK);
  json_t *j = json_loadb(b.data, b.len, 0, NULL);
  assert_non_null(j);
  ag_buf_free(&b);
  return j;
}

static bool lists(json_t *q, const char *id) {
  for (size_t i = 0; i < items(q); i++)
    if (!strcmp(item_id(q, i), id))
      return true;
  return false;
}

/* (a) a record another process appends is in the next answer; (b) a review
 * that resolves an item, from either process, takes it out of the next */
static void test_open_list_follows_the_log(void **state) {
  two_handles *t = *state;
  char x[AG_AUDIT_ID_MAX], y[AG_AUDIT_ID_MAX];
  append(t->db, AG_AUDIT_CHECK, review_check, "REVIEW", x);
  json_t *q = open_queue(t->db);
  assert_int_equal(items(q), 1);
  json_decref(q);
  append(t->other, AG_AUDIT_SCREENING, possible_screening, "POSSIBLE_MATCH", y);
  q = open_queue(t->db);
  assert_true(lists(q, x) && lists(q, y));
  json_decref(q);
  review_on(t->other, x, "cleared", NULL);
  q = open_queue(t->db);
  assert_int_equal(items(q), 1);
  assert_string_equal(item_id(q, 0), y);
  json_decref(q);
  review_on(t->db, y, "escalated", NULL);
  q = open_queue(t->db);
  assert_int_equal(items(q), 0);
  json_decref(q);
  /* a revoked clearance does not open its record again */
  char rid[AG_AUDIT_ID_MAX], json[256];
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  append(t->other, AG_AUDIT_CHECK, hashed_check, "REVIEW", x);
  review_on(t->other, x, "cleared", "[\"E1\"]");
  ag_audit_page page;
  ag_audit_query rq = {.kind = AG_AUDIT_REVIEW, .newest_first = true, .limit = 1};
  assert_int_equal(ag_audit_search(t->db, &rq, &page, &e), AG_OK);
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"revoked\",\"note\":\"n\"}",
           page.entries[0]->id);
  ag_audit_page_free(&page);
  assert_int_equal(ag_review_submit(t->other, json, strlen(json), "", "", &b, rid, &e), AG_OK);
  ag_buf_free(&b);
  q = open_queue(t->db);
  assert_int_equal(items(q), 0);
  json_decref(q);
  assert_int_equal(same_at_every_limit(t->db), 0);
}

/* Requests on several threads while another handle appends: each answer
 * as whole JSON, and afterwards the same as a scan. */
static void *ask_queue(void *arg) {
  ag_audit_db *db = arg;
  for (int i = 0; i < 20; i++) {
    ag_buf b;
    ag_buf_init(&b);
    ag_error e;
    json_t *q = ag_review_queue(db, "open", NULL, 3, &b, &e) == AG_OK
                    ? json_loadb(b.data, b.len, 0, NULL)
                    : NULL;
    ag_buf_free(&b);
    if (!q)
      return (void *)1;
    json_decref(q);
  }
  return NULL;
}

static void test_open_list_threads(void **state) {
  two_handles *t = *state;
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, ask_queue, t->db), 0);
  char ids[8][AG_AUDIT_ID_MAX];
  for (int i = 0; i < 10; i++)
    append_mix(t->other, ids);
  for (int i = 0; i < 4; i++) {
    void *failed;
    pthread_join(th[i], &failed);
    assert_null(failed);
  }
  assert_int_equal(same_at_every_limit(t->db), 40);
}

/* ---- the open queue read ahead of the first request ---- */

/* Appends n records in batches: record k (from 0) a REVIEW check when
 * k % 50 == 3, a possible-match screening when k % 50 == 40, else a clean
 * check; returns the queued ones appended (n / 25 or so). */
static size_t append_many(ag_audit_db *db, int n) {
  size_t queued = 0;
  for (int from = 0; from < n; from += 500) {
    ag_audit_record recs[500];
    char(*ids)[AG_AUDIT_ID_MAX] = malloc(500 * sizeof *ids);
    assert_non_null(ids);
    int m = n - from < 500 ? n - from : 500;
    for (int j = 0; j < m; j++) {
      int k = from + j;
      bool rev = k % 50 == 3, scr = k % 50 == 40;
      const char *dec = rev ? review_check : scr ? possible_screening : clean_check;
      queued += rev || scr;
      recs[j] = (ag_audit_record){.kind = scr ? AG_AUDIT_SCREENING : AG_AUDIT_CHECK,
                                  .request = "{\"ref\":\"R\"}",
                                  .request_len = 11,
                                  .decision = dec,
                                  .decision_len = strlen(dec),
                                  .outcome = rev   ? "REVIEW"
                                             : scr ? "POSSIBLE_MATCH"
                                                   : "NLR"};
    }
    ag_error e;
    assert_int_equal(ag_audit_append_batch(db, recs, (size_t)m, ids, &e), AG_OK);
    free(ids);
  }
  return queued;
}

/* Counts the steps of a read; stops it before step `stop_at` (0: never);
 * with a gate, the first `hold_at` steps pass and the next waits until
 * the gate opens. */
typedef struct {
  int steps, stop_at, hold_at;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool open;
} step_counter;

static bool count_step(void *ctx, const ag_review_warm *w) {
  step_counter *c = ctx;
  assert_true(w->upto <= w->head);
  pthread_mutex_lock(&c->mu);
  c->steps++;
  pthread_cond_broadcast(&c->cv);
  while (c->hold_at && c->steps > c->hold_at && !c->open)
    pthread_cond_wait(&c->cv, &c->mu);
  bool go = !c->stop_at || c->steps < c->stop_at;
  pthread_mutex_unlock(&c->mu);
  return go;
}

static step_counter counter(int stop_at, int hold_at) {
  step_counter c = {.stop_at = stop_at, .hold_at = hold_at};
  pthread_mutex_init(&c.mu, NULL);
  pthread_cond_init(&c.cv, NULL);
  return c;
}

static void counter_free(step_counter *c) {
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
}

/* Read in steps of a bounded number of records, it learns what a scan
 * finds; the requests after it read on from there. */
static void test_warm_equals_scan(void **state) {
  two_handles *t = *state;
  size_t queued = append_many(t->other, 5000);
  step_counter c = counter(0, 0);
  ag_review_warm w;
  ag_error e;
  assert_int_equal(ag_review_queue_warm(t->db, count_step, &c, &w, &e), AG_OK);
  assert_false(w.stopped);
  assert_int_equal(w.head, 5000);
  assert_int_equal(w.from, 0);
  assert_int_equal(w.upto, 5000);
  assert_int_equal(w.items, queued);
  assert_true(c.steps >= 4); /* bounded steps, not one read of it all */
  assert_int_equal(same_as_scan(t->db, NULL, 0), queued);
  assert_int_equal(same_as_scan(t->db, NULL, 37), queued);
  /* appends and reviews after it, through either handle */
  char ids[8][AG_AUDIT_ID_MAX];
  append_mix(t->other, ids);
  review_on(t->other, ids[0], "cleared", NULL);
  json_t *q = open_queue(t->db);
  review_on(t->db, item_id(q, 0), "escalated", NULL);
  json_decref(q);
  assert_int_equal(same_as_scan(t->db, NULL, 0), queued + 2);
  /* a second read finds the list up to date: no step */
  c.steps = 0;
  assert_int_equal(ag_review_queue_warm(t->db, count_step, &c, &w, &e), AG_OK);
  assert_true(c.steps <= 1);
  assert_int_equal(w.upto, w.head);
  counter_free(&c);
}

/* Stopped midway, it keeps what it read; the next request reads on from
 * there to the head and answers what a scan does. */
static void test_warm_stopped_midway(void **state) {
  two_handles *t = *state;
  size_t queued = append_many(t->other, 5000);
  step_counter c = counter(3, 0);
  ag_review_warm w;
  ag_error e;
  assert_int_equal(ag_review_queue_warm(t->db, count_step, &c, &w, &e), AG_OK);
  assert_true(w.stopped);
  assert_int_equal(c.steps, 3);
  assert_true(w.upto > 0 && w.upto < w.head);
  assert_int_equal(same_as_scan(t->db, NULL, 0), queued);
  assert_int_equal(same_as_scan(t->db, NULL, 100), queued);
  counter_free(&c);
}

/* Reads and writes the stored decision of record seq of the log file. */
static void *get_decision(const char *path, int64_t seq, int *len) {
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(h, "SELECT decision FROM audit_log WHERE seq = ?", -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  *len = sqlite3_column_bytes(st, 0);
  void *v = malloc((size_t)*len + 1);
  memcpy(v, sqlite3_column_blob(st, 0), (size_t)*len);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

static void put_decision(const char *path, int64_t seq, const void *v, int len) {
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  sqlite3_busy_timeout(h, 5000);
  sqlite3_exec(h, "DROP TRIGGER IF EXISTS audit_log_no_update", NULL, NULL, NULL);
  assert_int_equal(
      sqlite3_prepare_v2(h, "UPDATE audit_log SET decision = ? WHERE seq = ?", -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_blob(st, 1, v, len, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(h);
}

/* A record that cannot be read fails the read, naming the problem; the
 * next request reads on and fails too rather than answer part of the
 * queue; once the record reads again, the answer is a scan's. */
static void test_warm_read_error(void **state) {
  two_handles *t = *state;
  size_t queued = append_many(t->other, 5000);
  int len;
  void *good = get_decision(t->path, 3000, &len);
  static const unsigned char bad[] = {0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 1, 2};
  put_decision(t->path, 3000, bad, sizeof bad); /* a zstd frame that is not one */
  step_counter c = counter(0, 0);
  ag_review_warm w;
  ag_error e;
  assert_int_equal(ag_review_queue_warm(t->db, count_step, &c, &w, &e), AG_ERR_DB);
  assert_string_equal(e.field, "decision");
  assert_non_null(strstr(e.reason, "not a valid frame"));
  assert_false(w.stopped);
  assert_true(w.upto < 3000);
  ag_buf b;
  ag_buf_init(&b);
  assert_int_equal(ag_review_queue(t->db, "open", NULL, 0, &b, &e), AG_ERR_DB);
  assert_int_equal(ag_review_queue(t->db, "open", NULL, 0, &b, &e), AG_ERR_DB);
  ag_buf_free(&b);
  put_decision(t->path, 3000, good, len);
  free(good);
  assert_int_equal(same_as_scan(t->db, NULL, 0), queued);
  counter_free(&c);
}

/* A request made while the log is read waits for that read and is
 * answered from its list; the read goes on to the head. */
typedef struct {
  ag_audit_db *db;
  atomic_bool done;
  ag_status st;
  char *out;
} asker;

static void *ask_once(void *arg) {
  asker *a = arg;
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  a->st = ag_review_queue(a->db, "open", NULL, 0, &b, &e);
  ag_buf_putc(&b, '\0');
  a->out = strdup(b.data);
  ag_buf_free(&b);
  atomic_store(&a->done, true);
  return NULL;
}

typedef struct {
  ag_audit_db *db;
  step_counter *c;
  ag_review_warm w;
  ag_status st;
} warmer;

static void *warm_thread(void *arg) {
  warmer *r = arg;
  ag_error e;
  r->st = ag_review_queue_warm(r->db, count_step, r->c, &r->w, &e);
  return NULL;
}

static void test_request_waits_for_the_read(void **state) {
  two_handles *t = *state;
  size_t queued = append_many(t->other, 5000);
  step_counter c = counter(0, 2); /* two steps, then held */
  warmer r = {.db = t->db, .c = &c};
  pthread_t wt, at;
  assert_int_equal(pthread_create(&wt, NULL, warm_thread, &r), 0);
  pthread_mutex_lock(&c.mu);
  while (c.steps < 3)
    pthread_cond_wait(&c.cv, &c.mu);
  pthread_mutex_unlock(&c.mu);
  asker a = {.db = t->db};
  atomic_init(&a.done, false);
  assert_int_equal(pthread_create(&at, NULL, ask_once, &a), 0);
  usleep(100000);
  assert_false(atomic_load(&a.done)); /* waiting, not reading by itself */
  pthread_mutex_lock(&c.mu);
  c.open = true;
  pthread_cond_broadcast(&c.cv);
  pthread_mutex_unlock(&c.mu);
  pthread_join(at, NULL);
  pthread_join(wt, NULL);
  assert_int_equal(r.st, AG_OK);
  assert_int_equal(r.w.upto, 5000);
  assert_int_equal(a.st, AG_OK);
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(review_queue_scan(t->db, "open", NULL, NULL, 0, &b, &e), AG_OK);
  ag_buf_putc(&b, '\0');
  assert_string_equal(a.out, b.data);
  ag_buf_free(&b);
  free(a.out);
  assert_int_equal(same_as_scan(t->db, NULL, 0), queued);
  counter_free(&c);
}

/* ---- the reviews kept with the handle, against a cold read ---- */

/* The answer of one request, whole, with its status. */
typedef struct {
  ag_status st;
  char *text;
} answer;

static answer ask(ag_audit_db *db, const char *status, const char *ref, const char *cursor,
                  size_t limit) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  answer a = {ag_review_queue_ref(db, status, ref, cursor, limit, &b, &e), NULL};
  ag_buf_putc(&b, '\0');
  a.text = strdup(a.st == AG_OK ? b.data : e.reason);
  ag_buf_free(&b);
  return a;
}

static answer ask_item(ag_audit_db *db, const char *id) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  answer a = {ag_review_get(db, NULL, NULL, id, &b, &e), NULL};
  ag_buf_putc(&b, '\0');
  a.text = strdup(a.st == AG_OK ? b.data : e.field);
  ag_buf_free(&b);
  return a;
}

static void same_answer(answer a, answer b) {
  assert_int_equal(a.st, b.st);
  assert_string_equal(a.text, b.text);
  free(a.text);
  free(b.text);
}

/* Pages through the queue of status (of party ref, or all) from kept and
 * from a handle opened afresh on path, limit at a time, following kept's
 * cursors: byte for byte the same. Returns the items. */
static size_t same_pages(ag_audit_db *kept, ag_audit_db *cold, const char *status, const char *ref,
                         size_t limit) {
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  size_t seen = 0;
  do {
    answer a = ask(kept, status, ref, cursor, limit), b = ask(cold, status, ref, cursor, limit);
    assert_int_equal(a.st, AG_OK);
    json_t *q = json_loads(a.text, 0, NULL);
    assert_non_null(q);
    seen += items(q);
    const char *next = json_string_value(json_object_get(q, "next_cursor"));
    snprintf(cursor, sizeof cursor, "%s", next ? next : "");
    json_decref(q);
    same_answer(a, b);
  } while (cursor[0]);
  return seen;
}

/* Every queue (each status, all records and party "R"'s, at several
 * limits) and the item of every record of ids: what db answers is what a
 * handle opened afresh on path answers, which reads every review. Returns
 * the items of each status, open first. */
typedef struct {
  size_t open, escalated, cleared, confirmed;
} counts;

static counts same_as_cold(ag_audit_db *db, const char *path, char (*ids)[AG_AUDIT_ID_MAX],
                           size_t nids) {
  static const char *const statuses[] = {"open", "escalated", "cleared", "confirmed"};
  size_t n[4] = {0};
  for (size_t k = 0; k < 4; k++) {
    for (size_t limit = 0; limit <= 3; limit++) {
      ag_audit_db *cold;
      ag_error e;
      assert_int_equal(ag_audit_open(path, NULL, &cold, &e), AG_OK);
      size_t got = same_pages(db, cold, statuses[k], NULL, limit);
      assert_true(limit == 0 || got == n[k]);
      n[k] = got;
      same_pages(db, cold, statuses[k], "R", limit);
      ag_audit_close(cold);
    }
  }
  ag_audit_db *cold;
  ag_error e;
  assert_int_equal(ag_audit_open(path, NULL, &cold, &e), AG_OK);
  for (size_t i = 0; i < nids; i++)
    same_answer(ask_item(db, ids[i]), ask_item(cold, ids[i]));
  ag_audit_close(cold);
  /* the open queue is also what a scan of the log finds */
  assert_int_equal(same_as_scan(db, NULL, 0), n[0]);
  return (counts){n[0], n[1], n[2], n[3]};
}

static const char *item_status(ag_audit_db *db, const char *id, json_t **keep) {
  answer a = ask_item(db, id);
  assert_int_equal(a.st, AG_OK);
  *keep = json_loads(a.text, 0, NULL);
  free(a.text);
  assert_non_null(*keep);
  return json_string_value(json_object_get(*keep, "status"));
}

/* The latest review of db's log, by its audit id. */
static void last_review(ag_audit_db *db, char id[AG_AUDIT_ID_MAX]) {
  ag_audit_page page;
  ag_error e;
  ag_audit_query rq = {.kind = AG_AUDIT_REVIEW, .newest_first = true, .limit = 1};
  assert_int_equal(ag_audit_search(db, &rq, &page, &e), AG_OK);
  assert_int_equal(page.count, 1);
  snprintf(id, AG_AUDIT_ID_MAX, "%s", page.entries[0]->id);
  ag_audit_page_free(&page);
}

/* A review made by another process: this program run again to make it
 * (main, "--review"). */
static void review_elsewhere(const char *path, const char *of, const char *decision) {
  char *argv[] = {"test_review", "--review", (char *)path, (char *)of, (char *)decision, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, NULL), 0);
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

static int review_as_process(const char *path, const char *of, const char *decision) {
  ag_audit_db *db;
  ag_error e;
  if (ag_audit_open(path, NULL, &db, &e) != AG_OK)
    return 1;
  char json[512], id[AG_AUDIT_ID_MAX];
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"%s\",\"note\":\"n\"}", of,
           decision);
  ag_buf b;
  ag_buf_init(&b);
  ag_status st = ag_review_submit(db, json, strlen(json), "k3", "", &b, id, &e);
  ag_buf_free(&b);
  ag_audit_close(db);
  return st == AG_OK ? 0 : 1;
}

/* Reviews appended between requests, through the handle that answers,
 * another handle and another process: each answer is what a cold read
 * gives, and says what the reviews decided (the status is the latest
 * review; a revocation names a review and changes no status; a review of
 * no record, or of a record that cannot be reviewed, lists nothing). */
static void test_reviews_kept_equal_cold(void **state) {
  two_handles *t = *state;
  char ids[17][AG_AUDIT_ID_MAX];
  append_mix(t->db, ids);
  append_mix(t->other, ids + 8);
  counts c = same_as_cold(t->db, t->path, ids, 16); /* learnt at once */
  assert_int_equal(c.open, 8);
  assert_int_equal(c.escalated + c.cleared + c.confirmed, 0);

  review_on(t->db, ids[0], "escalated", NULL); /* the same handle */
  c = same_as_cold(t->db, t->path, ids, 16);
  assert_int_equal(c.open, 7);
  assert_int_equal(c.escalated, 1);

  review_on(t->other, ids[0], "cleared", "[\"E1\"]");    /* another handle */
  review_on(t->other, ids[10], "confirmed", "[\"E2\"]"); /* reviewable, never queued */
  review_elsewhere(t->path, ids[11], "escalated");       /* another process */
  c = same_as_cold(t->db, t->path, ids, 16);
  assert_int_equal(c.open, 6);
  assert_int_equal(c.escalated, 1);
  assert_int_equal(c.cleared, 1);
  assert_int_equal(c.confirmed, 1);
  json_t *g;
  assert_string_equal(item_status(t->db, ids[0], &g), "cleared");
  assert_int_equal(json_array_size(json_object_get(g, "reviews")), 2); /* both, oldest first */
  assert_string_equal(jstr(json_array_get(json_object_get(g, "reviews"), 0), "decision"),
                      "escalated");
  json_decref(g);

  /* a revoked clearance (of a candidate with its entry's digest, so that
   * it is remembered): the record stays cleared, and the revocation is no
   * review of it */
  char clearance[AG_AUDIT_ID_MAX], rid[AG_AUDIT_ID_MAX], json[256];
  append(t->other, AG_AUDIT_CHECK, hashed_check, "REVIEW", ids[16]);
  review_on(t->other, ids[16], "cleared", "[\"E1\"]");
  last_review(t->other, clearance);
  review_elsewhere(t->path, ids[12], "cleared");
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  assert_int_equal(ag_review_queue(t->db, "cleared", NULL, 0, &b, &e), AG_OK); /* read between */
  snprintf(json, sizeof json, "{\"audit_id\":\"%s\",\"decision\":\"revoked\",\"note\":\"n\"}",
           clearance);
  assert_int_equal(ag_review_submit(t->other, json, strlen(json), "", "", &b, rid, &e), AG_OK);
  ag_buf_free(&b);
  c = same_as_cold(t->db, t->path, ids, 17);
  assert_int_equal(c.cleared, 3);
  assert_string_equal(item_status(t->db, ids[16], &g), "cleared");
  assert_int_equal(json_array_size(json_object_get(g, "reviews")), 1);
  json_decref(g);

  /* reviews no acegate command makes: of a clean check (not reviewable),
   * of a record's seq with another random part, of no record; then a
   * review of a record appended after them */
  char forged[AG_AUDIT_ID_MAX];
  snprintf(forged, sizeof forged, "%.*s000000000000", (int)(strrchr(ids[15], '-') - ids[15] + 1),
           ids[15]);
  append_review_of(t->other, ids[9]);
  append_review_of(t->db, forged);
  append_review_of(t->other, "a-99999-000000000000");
  append_mix(t->other, ids + 8);
  review_on(t->other, ids[8], "confirmed", NULL);
  c = same_as_cold(t->db, t->path, ids, 17);
  assert_int_equal(c.cleared, 3); /* the clean check is not listed */
  assert_int_equal(c.confirmed, 2);
  assert_int_equal(c.open, 5 + 4 - 1);
  assert_string_equal(item_status(t->db, ids[15], &g), "open"); /* the forged id names another */
  json_decref(g);
}

/* A review record read once is not read again: a cold read of a log whose
 * old review record cannot be read fails, the handle that read it before
 * answers from what it kept, and reads on after it. */
static void test_reviews_read_once(void **state) {
  two_handles *t = *state;
  char ids[8][AG_AUDIT_ID_MAX];
  append_mix(t->other, ids);
  review_on(t->other, ids[0], "escalated", NULL);
  review_on(t->other, ids[3], "cleared", NULL);
  counts c = same_as_cold(t->db, t->path, ids, 8);
  assert_int_equal(c.cleared, 1);
  /* the first review (not the log's last record, whose hash every
   * request compares) */
  ag_audit_page page;
  ag_error e;
  ag_audit_query rq = {.kind = AG_AUDIT_REVIEW, .limit = 1};
  assert_int_equal(ag_audit_search(t->db, &rq, &page, &e), AG_OK);
  int64_t seq = page.entries[0]->seq;
  ag_audit_page_free(&page);
  int len;
  void *good = get_decision(t->path, seq, &len);
  static const unsigned char bad[] = {0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 1, 2};
  put_decision(t->path, seq, bad, sizeof bad);
  ag_buf b;
  ag_buf_init(&b);
  assert_int_equal(review_queue_scan(t->db, "open", NULL, NULL, 0, &b, &e), AG_ERR_DB);
  review_on(t->other, ids[4], "confirmed", NULL);
  ag_audit_db *cold;
  assert_int_equal(ag_audit_open(t->path, NULL, &cold, &e), AG_OK);
  const char *const statuses[] = {"open", "escalated", "cleared", "confirmed"};
  for (size_t k = 0; k < 4; k++) {
    assert_int_equal(ag_review_queue(cold, statuses[k], NULL, 0, &b, &e), AG_ERR_DB);
    ag_buf_reset(&b);
    assert_int_equal(ag_review_queue(t->db, statuses[k], NULL, 0, &b, &e), AG_OK);
    json_t *q = json_loadb(b.data, b.len, 0, NULL);
    assert_int_equal(items(q), 1); /* with the new confirmation, one of each */
    json_decref(q);
    ag_buf_reset(&b);
  }
  ag_audit_close(cold);
  ag_buf_free(&b);
  put_decision(t->path, seq, good, len);
  free(good);
  c = same_as_cold(t->db, t->path, ids, 8);
  assert_int_equal(c.confirmed, 1);
}

/* Requests of every kind on several threads while another handle appends
 * records and reviews: each answered whole, and afterwards what a cold
 * read gives. */
typedef struct {
  ag_audit_db *db;
  char (*ids)[AG_AUDIT_ID_MAX];
} asker_of_all;

static void *ask_all(void *arg) {
  asker_of_all *a = arg;
  static const char *const statuses[] = {"open", "escalated", "cleared", "confirmed"};
  for (int i = 0; i < 40; i++) {
    answer r = i % 5 == 4 ? ask_item(a->db, a->ids[i % 8])
                          : ask(a->db, statuses[i % 4], i % 3 ? NULL : "R", NULL, 2);
    json_t *j = r.st == AG_OK ? json_loads(r.text, 0, NULL) : NULL;
    bool ok = j != NULL;
    json_decref(j);
    free(r.text);
    if (!ok && !(i % 5 == 4 && r.st == AG_ERR_INPUT)) /* a record that cannot be reviewed */
      return (void *)1;
  }
  return NULL;
}

static void test_reviews_kept_threads(void **state) {
  two_handles *t = *state;
  char ids[8][AG_AUDIT_ID_MAX], more[8][AG_AUDIT_ID_MAX];
  append_mix(t->other, ids);
  asker_of_all a = {t->db, ids};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, ask_all, &a), 0);
  static const char *const decisions[] = {"escalated", "cleared", "confirmed"};
  for (int i = 0; i < 12; i++) {
    append_mix(t->other, more);
    review_on(t->other, more[i % 2 ? 0 : 3], decisions[i % 3], NULL);
    review_on(t->other, ids[i % 2 ? 0 : 3], decisions[i % 3], NULL);
  }
  for (int i = 0; i < 4; i++) {
    void *failed;
    pthread_join(th[i], &failed);
    assert_null(failed);
  }
  counts c = same_as_cold(t->db, t->path, ids, 8);
  assert_int_equal(c.escalated + c.cleared + c.confirmed, 12 + 2);
}

static bool stop_at_once(void *ctx, size_t done) {
  (void)done;
  ++*(int *)ctx;
  return false;
}

/* The records the resolved statuses list, looked up ahead by a handle that
 * has not answered any of them yet (the service as it starts): each once,
 * what it finds kept, the answers those of a handle that looks them up at
 * its first request; a stop asked for at the first step looks up nothing. */
static void test_statuses_warm(void **state) {
  two_handles *t = *state;
  char ids[8][AG_AUDIT_ID_MAX];
  append_mix(t->db, ids);
  review_on(t->db, ids[0], "cleared", NULL);
  review_on(t->db, ids[3], "escalated", NULL);
  review_on(t->db, ids[7], "confirmed", NULL);
  size_t learnt = 99;
  int calls = 0;
  ag_error e;
  assert_int_equal(ag_review_statuses_warm(t->other, stop_at_once, &calls, &learnt, &e), AG_OK);
  assert_int_equal(learnt, 0);
  assert_int_equal(calls, 1);
  assert_int_equal(ag_review_statuses_warm(t->other, NULL, NULL, &learnt, &e), AG_OK);
  assert_int_equal(learnt, 3);
  assert_int_equal(ag_review_statuses_warm(t->other, NULL, NULL, &learnt, &e), AG_OK);
  assert_int_equal(learnt, 0);
  counts c = same_as_cold(t->other, t->path, ids, 8);
  assert_int_equal(c.cleared, 1);
  assert_int_equal(c.escalated, 1);
  assert_int_equal(c.confirmed, 1);
  /* a review appended since by the other handle: learnt by the next call */
  review_on(t->db, ids[2], "cleared", NULL);
  assert_int_equal(ag_review_statuses_warm(t->other, NULL, NULL, &learnt, &e), AG_OK);
  assert_int_equal(learnt, 1);
  c = same_as_cold(t->other, t->path, ids, 8);
  assert_int_equal(c.cleared, 2);
}

int main(int argc, char **argv) {
  /* another process making a review (review_elsewhere) */
  if (argc == 5 && !strcmp(argv[1], "--review"))
    return review_as_process(argv[2], argv[3], argv[4]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
      cmocka_unit_test_setup_teardown(test_review_record_and_status, setup, teardown),
      cmocka_unit_test_setup_teardown(test_confident_reviewable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_get_request_not_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_get_entries, setup, teardown),
      cmocka_unit_test(test_old_key_table),
      cmocka_unit_test_setup_teardown(test_open_list_equals_scan, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_open_list_follows_the_log, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_open_list_threads, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_warm_equals_scan, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_warm_stopped_midway, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_warm_read_error, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_request_waits_for_the_read, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_reviews_kept_equal_cold, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_reviews_read_once, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_reviews_kept_threads, setup_file, teardown_file),
      cmocka_unit_test_setup_teardown(test_statuses_warm, setup_file, teardown_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
