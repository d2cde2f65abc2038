/*
 * test_audit.c - the audit log: byte-exact round trip, the hash chain and
 * its canonical form (recomputed here independently, from docs/audit.md),
 * tamper detection by direct SQL, search, export, time parsing, and bad
 * inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Record i: a few destinations/ECCNs/outcomes, times one minute apart from
 * 2025-03-01T00:00:00Z. Bodies hold quotes, escapes, non-ASCII and a newline. */
typedef struct {
  char req[256], dec[256], eccn[16], asof[16];
  ag_audit_record r;
} rec_buf;

static const int64_t T0 = INT64_C(1740787200000); /* 2025-03-01T00:00:00Z */

static const ag_audit_record *make(rec_buf *b, int i) {
  static const char *const dest[] = {"CN", "DE", "IR", "GB"};
  static const char *const outc[] = {"authorized", "not_authorized", "needs_review"};
  snprintf(
      b->req, sizeof b->req,
      "{\"eccn\":\"4D004\",\"to\":\"%s\",\"n\":%d,\"note\":\"Gr\xc3\xbc\xc3\x9f \\\"q\\\"\\n\"}",
      dest[i % 4], i);
  snprintf(b->dec, sizeof b->dec,
           "{\"outcome\":\"%s\",\"n\":%d,\n \"why\":\"\xe2\x82\xac 740.22\"} ", outc[i % 3], i);
  snprintf(b->eccn, sizeof b->eccn, "%s", i % 2 ? "4D004" : "5A001.j");
  snprintf(b->asof, sizeof b->asof, "2025-03-%02d", 1 + i % 28);
  b->r = (ag_audit_record){.kind = i % 5 == 4 ? AG_AUDIT_SCREENING : AG_AUDIT_CHECK,
                           .time_ms = T0 + (int64_t)i * 60000,
                           .request = b->req,
                           .request_len = strlen(b->req),
                           .decision = b->dec,
                           .decision_len = strlen(b->dec),
                           .rules_version = "rules-2025-01-15",
                           .lists_version = "csl-2025-02-28",
                           .key_id = i % 3 ? "0123456789ab" : "",
                           .client_addr = "192.0.2.7",
                           .as_of = b->asof,
                           .destination = dest[i % 4],
                           .eccn = b->eccn,
                           .outcome = outc[i % 3]};
  return &b->r;
}

static void fill(ag_audit_db *db, int n, char (*ids)[AG_AUDIT_ID_MAX]) {
  for (int i = 0; i < n; i++) {
    rec_buf b;
    char id[AG_AUDIT_ID_MAX];
    ag_error e;
    assert_int_equal(ag_audit_append(db, make(&b, i), id, &e), AG_OK);
    if (ids)
      memcpy(ids[i], id, sizeof id);
  }
}

static const char drop_guards[] =
    "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    "DROP TRIGGER audit_log_append_only; DROP TRIGGER audit_head_no_delete;"
    "DROP TRIGGER audit_head_forward;";

static ag_audit_verify_report verify(ag_audit_db *db, const ag_audit_anchor *anchor) {
  ag_audit_verify_report r;
  ag_error e;
  assert_int_equal(ag_audit_verify(db, anchor, &r, &e), AG_OK);
  return r;
}

/* The canonical form, written again from the documentation. */
static void put(EVP_MD_CTX *c, const char *name, const char *p, size_t n) {
  char head[64];
  int hl = snprintf(head, sizeof head, "%s:%zu:", name, n);
  EVP_DigestUpdate(c, head, (size_t)hl);
  EVP_DigestUpdate(c, p, n);
  EVP_DigestUpdate(c, "\n", 1);
}

static void doc_hash(const ag_audit_entry *e, int64_t seq, char out[65]) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  EVP_DigestUpdate(c, "acegate-audit-v1\n", 17);
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)seq);
  put(c, "seq", num, strlen(num));
  snprintf(num, sizeof num, "%lld", (long long)e->time_ms);
  put(c, "time_ms", num, strlen(num));
  const char *kind = ag_audit_kind_name(e->kind);
  const char *names[] = {"audit_id",      "kind",  "key_id",      "client_addr", "rules_version",
                         "lists_version", "as_of", "destination", "eccn",        "outcome"};
  const char *vals[] = {
      e->id,    kind,           e->key_id, e->client_addr, e->rules_version, e->lists_version,
      e->as_of, e->destination, e->eccn,   e->outcome};
  for (int i = 0; i < 10; i++)
    put(c, names[i], vals[i], strlen(vals[i]));
  put(c, "request", e->request, e->request_len);
  put(c, "decision", e->decision, e->decision_len);
  put(c, "prev_hash", e->prev_hash, strlen(e->prev_hash));
  unsigned char d[32];
  unsigned dl;
  EVP_DigestFinal_ex(c, d, &dl);
  EVP_MD_CTX_free(c);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static ag_audit_entry *get(ag_audit_db *db, const char *id) {
  ag_audit_entry *e = NULL;
  ag_error err;
  assert_int_equal(ag_audit_get(db, id, &e, &err), AG_OK);
  return e;
}

/* ---- round trip and chain ---- */

static void test_roundtrip_byte_exact(void **state) {
  fixture *f = *state;
  rec_buf b;
  const ag_audit_record *r = make(&b, 5);
  char id[AG_AUDIT_ID_MAX];
  ag_error e;
  assert_int_equal(ag_audit_append(f->db, r, id, &e), AG_OK);
  assert_true(!strncmp(id, "a-1-", 4));
  assert_int_equal(strlen(id), 4 + 12);

  /* read through a fresh handle: the record is on disk */
  ag_audit_db *db2;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  assert_int_equal(ag_audit_open(f->path, &o, &db2, &e), AG_OK);
  ag_audit_entry *x = get(db2, id);
  assert_int_equal(x->request_len, r->request_len);
  assert_memory_equal(x->request, r->request, r->request_len);
  assert_int_equal(x->decision_len, r->decision_len);
  assert_memory_equal(x->decision, r->decision, r->decision_len);
  assert_int_equal(x->decision[x->decision_len], '\0');
  assert_int_equal(x->seq, 1);
  assert_string_equal(x->id, id);
  assert_int_equal(x->time_ms, r->time_ms);
  assert_int_equal(x->kind, AG_AUDIT_CHECK);
  assert_string_equal(x->rules_version, "rules-2025-01-15");
  assert_string_equal(x->lists_version, "csl-2025-02-28");
  assert_string_equal(x->key_id, "0123456789ab");
  assert_string_equal(x->client_addr, "192.0.2.7");
  assert_string_equal(x->as_of, "2025-03-06");
  assert_string_equal(x->destination, "DE");
  assert_string_equal(x->eccn, "4D004");
  assert_string_equal(x->outcome, "needs_review");
  assert_string_equal(x->prev_hash,
                      "0000000000000000000000000000000000000000000000000000000000000000");
  char h[65];
  doc_hash(x, x->seq, h);
  assert_string_equal(h, x->hash);
  ag_audit_entry_free(x);
  ag_audit_close(db2);
}

static void test_time_defaults_to_now(void **state) {
  fixture *f = *state;
  rec_buf b;
  ag_audit_record r = *make(&b, 0);
  r.time_ms = 0;
  r.as_of = NULL;
  r.key_id = NULL;
  char id[AG_AUDIT_ID_MAX];
  ag_error e;
  int64_t before = (int64_t)time(NULL) * 1000;
  assert_int_equal(ag_audit_append(f->db, &r, id, &e), AG_OK);
  ag_audit_entry *x = get(f->db, id);
  assert_true(x->time_ms >= before - 1000 && x->time_ms <= before + 5000);
  assert_string_equal(x->as_of, "");
  assert_string_equal(x->key_id, "");
  ag_audit_entry_free(x);
}

static void test_chain_links_and_verify(void **state) {
  fixture *f = *state;
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 0);
  assert_true(r.guards_present);

  char ids[40][AG_AUDIT_ID_MAX];
  fill(f->db, 40, ids);
  char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
  for (int i = 0; i < 40; i++) {
    ag_audit_entry *x = get(f->db, ids[i]);
    assert_int_equal(x->seq, i + 1);
    assert_string_equal(x->prev_hash, prev);
    char h[65];
    doc_hash(x, x->seq, h);
    assert_string_equal(h, x->hash);
    memcpy(prev, x->hash, 65);
    ag_audit_entry_free(x);
  }
  r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 40);
  assert_int_equal(r.head_seq, 40);
  assert_string_equal(r.head_hash, prev);

  /* an anchor taken now still holds after more appends */
  ag_audit_anchor a = {.seq = 40};
  memcpy(a.hash, prev, 65);
  fill(f->db, 5, NULL);
  assert_int_equal(verify(f->db, &a).problem, AG_AUDIT_INTACT);
  char text[100];
  snprintf(text, sizeof text, "40:%s", prev);
  ag_audit_anchor parsed;
  assert_true(ag_audit_anchor_parse(text, &parsed));
  assert_int_equal(parsed.seq, 40);
  assert_false(ag_audit_anchor_parse("40:abc", &parsed));
  assert_false(ag_audit_anchor_parse("x:0000", &parsed));
  /* a seq past int64 is refused, not clamped to the largest one */
  snprintf(text, sizeof text, "99999999999999999999:%s", prev);
  assert_false(ag_audit_anchor_parse(text, &parsed));

  a.hash[0] = a.hash[0] == 'a' ? 'b' : 'a';
  r = verify(f->db, &a);
  assert_int_equal(r.problem, AG_AUDIT_ANCHOR_MISMATCH);
  assert_int_equal(r.bad_seq, 40);
  a.seq = 99;
  r = verify(f->db, &a);
  assert_int_equal(r.problem, AG_AUDIT_TRUNCATED);
}

static void test_batch_is_consecutive(void **state) {
  fixture *f = *state;
  fill(f->db, 2, NULL);
  rec_buf b[5];
  ag_audit_record recs[5];
  for (int i = 0; i < 5; i++)
    recs[i] = *make(&b[i], i);
  char ids[5][AG_AUDIT_ID_MAX];
  ag_error e;
  assert_int_equal(ag_audit_append_batch(f->db, recs, 5, ids, &e), AG_OK);
  for (int i = 0; i < 5; i++) {
    ag_audit_entry *x = get(f->db, ids[i]);
    assert_int_equal(x->seq, 3 + i);
    ag_audit_entry_free(x);
  }
  /* one bad record: nothing is written, the field names the record */
  recs[3].as_of = "2025-02-30";
  assert_int_equal(ag_audit_append_batch(f->db, recs, 5, ids, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "records[3].as_of");
  assert_int_equal(verify(f->db, NULL).records, 7);
}

/* A hash begun ahead for the seq a record is expected at: finished by the
 * append when the record lands there (the id it was begun with kept), the
 * record hashed whole when it lands elsewhere or was changed since; either
 * way every stored hash is the canonical one verify recomputes. */
static void test_prehash_finished_or_redone(void **state) {
  fixture *f = *state;
  fill(f->db, 2, NULL);
  rec_buf b[4];
  ag_audit_record recs[4];
  ag_audit_prehash *h[4];
  ag_error e;
  for (int i = 0; i < 4; i++) {
    recs[i] = *make(&b[i], i);
    recs[i].time_ms = 0; /* the time it is begun at */
    assert_non_null(h[i] = ag_audit_prehash_new());
  }
  /* 0 and 1 expected at 3 and 4, where they land; 2 expected at 9 */
  int64_t expect[4] = {3, 4, 9, 6};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(ag_audit_prehash_make(f->db, h[i], &recs[i], expect[i], &e), AG_OK);
    recs[i].prehash = h[i];
  }
  /* 3's decision changed after its hash was begun */
  static const char other[] = "{\"outcome\":\"changed after\"}";
  recs[3].decision = other;
  recs[3].decision_len = sizeof other - 1;
  int64_t before = (int64_t)time(NULL) * 1000;
  char ids[4][AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_append_batch(f->db, recs, 4, ids, &e), AG_OK);
  /* the ids begun with where the guess held, new ones elsewhere */
  assert_string_equal(ids[0], ag_audit_prehash_id(h[0]));
  assert_string_equal(ids[1], ag_audit_prehash_id(h[1]));
  assert_string_not_equal(ids[2], ag_audit_prehash_id(h[2]));
  assert_string_not_equal(ids[3], ag_audit_prehash_id(h[3]));
  for (int i = 0; i < 4; i++) {
    ag_audit_entry *x = get(f->db, ids[i]);
    assert_int_equal(x->seq, 3 + i);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "a-%d-", 3 + i);
    assert_memory_equal(ids[i], prefix, strlen(prefix));
    assert_true(x->time_ms >= before - 60000 && x->time_ms <= before + 60000);
    ag_audit_entry_free(x);
  }
  ag_audit_entry *x = get(f->db, ids[3]);
  assert_int_equal(x->decision_len, sizeof other - 1);
  assert_memory_equal(x->decision, other, sizeof other - 1);
  ag_audit_entry_free(x);
  assert_int_equal(verify(f->db, NULL).problem, AG_AUDIT_INTACT);
  assert_int_equal(verify(f->db, NULL).records, 6);
  assert_int_equal(verify_file(f->path).problem, AG_AUDIT_INTACT);

  /* a record the append would refuse: refused when begun, naming the
   * field, and refused again by the append */
  recs[0] = *make(&b[0], 0);
  recs[0].as_of = "2025-02-30";
  assert_int_equal(ag_audit_prehash_make(f->db, h[0], &recs[0], 7, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "as_of");
  recs[0].prehash = h[0];
  assert_int_equal(ag_audit_append_batch(f->db, recs, 1, ids, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "as_of");
  assert_int_equal(verify(f->db, NULL).records, 6);
  for (int i = 0; i < 4; i++)
    ag_audit_prehash_free(h[i]);
}

/* ---- tampering ---- */

static void test_guards_refuse_update_and_delete(void **state) {
  fixture *f = *state;
  fill(f->db, 3, NULL);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  const char *bad[] = {"UPDATE audit_log SET decision = 'x' WHERE seq = 2",
                       "DELETE FROM audit_log WHERE seq = 3",
                       "INSERT INTO audit_log SELECT * FROM audit_log WHERE seq = 0",
                       "INSERT INTO audit_log(seq, audit_id, ts_ms, kind, key_id, client_addr,"
                       " rules_version, lists_version, as_of, destination, eccn, outcome, request,"
                       " decision, prev_hash, hash) VALUES(2, 'a-2-x', 0, 'check', '', '', '', '',"
                       " '', '', '', '', 'r', 'd', '', '')",
                       "UPDATE audit_head SET seq = 1",
                       "DELETE FROM audit_head"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *msg = NULL;
    int rc = sqlite3_exec(h, bad[i], NULL, NULL, &msg);
    if (i == 2) { /* selects nothing: no row, no error */
      assert_int_equal(rc, SQLITE_OK);
    } else {
      assert_int_not_equal(rc, SQLITE_OK);
      assert_non_null(msg);
    }
    sqlite3_free(msg);
  }
  sqlite3_close(h);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 3);
}

static void tamper(fixture *f, int n, const char *sql, ag_audit_problem want, int64_t bad_seq,
                   char (*ids)[AG_AUDIT_ID_MAX], bool id_known) {
  fill(f->db, n, ids);
  assert_int_equal(verify(f->db, NULL).problem, AG_AUDIT_INTACT);
  raw_sql(f->path, drop_guards);
  raw_sql(f->path, sql);
  ag_audit_verify_report r = verify(f->db, NULL);
  if (r.problem != want)
    fprintf(stderr, "got %s at %lld: %s\n", ag_audit_problem_name(r.problem), (long long)r.bad_seq,
            r.detail);
  assert_int_equal(r.problem, want);
  assert_int_equal(r.bad_seq, bad_seq);
  assert_int_equal(r.records, bad_seq - 1 - (want == AG_AUDIT_LINK_MISMATCH && bad_seq == n));
  assert_false(r.guards_present);
  assert_true(strlen(r.detail) > 10);
  if (id_known)
    assert_string_equal(r.bad_id, ids[bad_seq - 1]);
  else if (want != AG_AUDIT_INSERTED)
    assert_string_equal(r.bad_id, "");
}

static void test_tamper_edit_decision(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12,
         "UPDATE audit_log SET decision = replace(decision, 'authorized', 'AUTHORIZED')"
         " WHERE seq = 7",
         AG_AUDIT_CONTENT_CHANGED, 7, ids, true);
}

static void test_tamper_edit_search_column(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12, "UPDATE audit_log SET destination = 'FR' WHERE seq = 12", AG_AUDIT_CONTENT_CHANGED,
         12, ids, true);
}

static void test_tamper_edit_time(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12, "UPDATE audit_log SET ts_ms = ts_ms - 86400000 WHERE seq = 1",
         AG_AUDIT_CONTENT_CHANGED, 1, ids, true);
}

static void test_tamper_delete_middle(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12, "DELETE FROM audit_log WHERE seq = 5", AG_AUDIT_GAP, 5, ids, false);
}

static void test_tamper_delete_range(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12, "DELETE FROM audit_log WHERE seq BETWEEN 2 AND 4", AG_AUDIT_GAP, 2, ids, false);
}

static void test_tamper_delete_tail(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12, "DELETE FROM audit_log WHERE seq >= 11", AG_AUDIT_TRUNCATED, 11, ids, false);
  /* the next append continues after the head marker: the gap stays visible */
  fill(f->db, 1, NULL);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_GAP);
  assert_int_equal(r.bad_seq, 11);
}

static const char swap_sql[] =
    "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (3, 4);"
    "UPDATE audit_log SET (audit_id, ts_ms, kind, key_id, client_addr, rules_version,"
    " lists_version, as_of, destination, eccn, outcome, request, decision, prev_hash, hash) ="
    " (SELECT audit_id, ts_ms, kind, key_id, client_addr, rules_version, lists_version, as_of,"
    " destination, eccn, outcome, request, decision, prev_hash, hash FROM t"
    " WHERE t.seq = 7 - audit_log.seq) WHERE seq IN (3, 4);";

static void test_tamper_swap_rows(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  fill(f->db, 12, ids);
  raw_sql(f->path, drop_guards);
  raw_sql(f->path, swap_sql);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_REORDERED);
  assert_int_equal(r.bad_seq, 3);
  assert_string_equal(r.bad_id, ids[3]); /* the row at seq 3 holds record 4 */
  assert_int_equal(r.records, 2);
}

static void test_tamper_swap_decisions(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12,
         "CREATE TEMP TABLE t AS SELECT seq, decision FROM audit_log WHERE seq IN (8, 9);"
         "UPDATE audit_log SET decision = (SELECT decision FROM t WHERE t.seq = 17 -"
         " audit_log.seq) WHERE seq IN (8, 9);",
         AG_AUDIT_CONTENT_CHANGED, 8, ids, true);
}

static void test_tamper_edit_hash(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12,
         "UPDATE audit_log SET hash = "
         "'1111111111111111111111111111111111111111111111111111111111111111'"
         " WHERE seq = 6",
         AG_AUDIT_HASH_EDITED, 6, ids, true);
}

static void test_tamper_edit_last_hash(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  tamper(f, 12,
         "UPDATE audit_log SET hash = "
         "'1111111111111111111111111111111111111111111111111111111111111111'"
         " WHERE seq = 12",
         AG_AUDIT_HASH_EDITED, 12, ids, true);
}

static void test_tamper_insert_forged_tail(void **state) {
  fixture *f = *state;
  char ids[13][AG_AUDIT_ID_MAX];
  tamper(f, 12,
         "INSERT INTO audit_log SELECT 13, 'a-13-000000000000', ts_ms, kind, key_id, client_addr,"
         " rules_version, lists_version, as_of, destination, eccn, 'authorized', request,"
         " decision, hash, hash FROM audit_log WHERE seq = 12",
         AG_AUDIT_INSERTED, 13, ids, false);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_string_equal(r.bad_id, "a-13-000000000000");
}

static void test_tamper_insert_before_genesis(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  fill(f->db, 12, ids);
  raw_sql(f->path, drop_guards);
  raw_sql(f->path, "INSERT INTO audit_log SELECT 0, 'a-0-000000000000', ts_ms, kind, key_id,"
                   " client_addr, rules_version, lists_version, as_of, destination, eccn, outcome,"
                   " request, decision, prev_hash, hash FROM audit_log WHERE seq = 1");
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INSERTED);
  assert_int_equal(r.bad_seq, 0);
  assert_string_equal(r.bad_id, "a-0-000000000000");
}

static void test_tamper_renumber(void **state) {
  fixture *f = *state;
  char ids[12][AG_AUDIT_ID_MAX];
  fill(f->db, 12, ids);
  raw_sql(f->path, drop_guards);
  /* close the gap after a delete by renumbering the rows above it */
  raw_sql(f->path, "DELETE FROM audit_log WHERE seq = 10;"
                   "UPDATE audit_log SET seq = seq - 1 WHERE seq > 10;"
                   "UPDATE audit_head SET seq = 11");
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_REORDERED);
  assert_int_equal(r.bad_seq, 10);
  assert_string_equal(r.bad_id, ids[10]);
}

/* A record rewritten with a hash recomputed the documented way still breaks
 * the link from the next record (or from the head marker). */
static void rewrite_with_hash(fixture *f, int64_t seq) {
  ag_audit_entry *x;
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  sqlite3_stmt *s;
  assert_int_equal(
      sqlite3_prepare_v2(h, "SELECT audit_id FROM audit_log WHERE seq = ?", -1, &s, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(s, 1, seq);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  char id[AG_AUDIT_ID_MAX];
  snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  x = get(f->db, id);
  ag_audit_entry forged = *x;
  forged.outcome = "authorized";
  forged.decision = "{\"outcome\":\"authorized\"}";
  forged.decision_len = strlen(forged.decision);
  char hash[65];
  doc_hash(&forged, seq, hash);
  assert_int_equal(sqlite3_exec(h, drop_guards, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h,
                                      "UPDATE audit_log SET outcome = ?1, decision = ?2, hash = ?3"
                                      " WHERE seq = ?4",
                                      -1, &s, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(s, 1, forged.outcome, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, forged.decision, (int)forged.decision_len, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, seq);
  assert_int_equal(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  sqlite3_close(h);
  ag_audit_entry_free(x);
}

static void test_tamper_rewrite_recomputed_hash(void **state) {
  fixture *f = *state;
  fill(f->db, 12, NULL);
  rewrite_with_hash(f, 5);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_LINK_MISMATCH);
  assert_int_equal(r.bad_seq, 6);
  assert_non_null(strstr(r.detail, "record 5"));
}

static void test_tamper_rewrite_last_recomputed_hash(void **state) {
  fixture *f = *state;
  fill(f->db, 12, NULL);
  rewrite_with_hash(f, 12);
  ag_audit_verify_report r = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_LINK_MISMATCH);
  assert_int_equal(r.bad_seq, 12);
  assert_non_null(strstr(r.detail, "head marker"));
}

/* ---- search ---- */

static void test_search_filters_and_paging(void **state) {
  fixture *f = *state;
  fill(f->db, 60, NULL);
  ag_audit_page p;
  ag_error e;
  ag_audit_query q = {.destination = "CN"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 15);
  for (size_t i = 0; i < p.count; i++)
    assert_string_equal(p.entries[i]->destination, "CN");
  assert_string_equal(p.next_cursor, "");
  ag_audit_page_free(&p);

  /* from/to: records 10..19 (minute i) */
  q = (ag_audit_query){.from_ms = T0 + 10 * 60000, .to_ms = T0 + 20 * 60000};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 10);
  assert_int_equal(p.entries[0]->seq, 11);
  ag_audit_page_free(&p);

  q = (ag_audit_query){.eccn = "4D004", .outcome = "not_authorized"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 10); /* i odd and i % 3 == 1: i % 6 == 1 */
  ag_audit_page_free(&p);

  q = (ag_audit_query){.kind = AG_AUDIT_SCREENING};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 12);
  ag_audit_page_free(&p);

  q = (ag_audit_query){.as_of = "2025-03-02"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 3); /* i = 1, 29, 57 */
  ag_audit_page_free(&p);

  /* paging forward and backward visits every record once, in order */
  for (int dir = 0; dir < 2; dir++) {
    char cursor[AG_AUDIT_CURSOR_MAX] = "";
    int64_t seen = 0, last = dir ? 61 : 0;
    int pages = 0;
    do {
      q = (ag_audit_query){.limit = 7, .cursor = cursor, .newest_first = dir == 1};
      assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
      for (size_t i = 0; i < p.count; i++) {
        assert_int_equal(p.entries[i]->seq, dir ? last - 1 : last + 1);
        last = p.entries[i]->seq;
        seen++;
      }
      snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
      ag_audit_page_free(&p);
      pages++;
    } while (*cursor);
    assert_int_equal(seen, 60);
    assert_int_equal(pages, 9);
  }

  q = (ag_audit_query){.cursor = "zz"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "cursor");
  q = (ag_audit_query){.cursor = "b10", .newest_first = false};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_ERR_INPUT);
  q = (ag_audit_query){.limit = AG_AUDIT_PAGE_MAX + 1};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_ERR_LIMIT);
  assert_string_equal(e.field, "limit");
  q = (ag_audit_query){.from_ms = T0 + 5, .to_ms = T0};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_ERR_INPUT);
  /* values are bound, never pasted into SQL */
  q = (ag_audit_query){.destination = "CN' OR '1'='1"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 0);
  ag_audit_page_free(&p);
}

/* ---- export ---- */

static int to_buf(void *ctx, const char *data, size_t len) {
  ag_buf_append(ctx, data, len);
  return 0;
}

static int refuse(void *ctx, const char *data, size_t len) {
  (void)ctx, (void)data, (void)len;
  return -1;
}

static size_t count_lines(const char *s, size_t n, const char *eol) {
  size_t c = 0, el = strlen(eol);
  for (size_t i = 0; i + el <= n; i++)
    if (!memcmp(s + i, eol, el))
      c++;
  return c;
}

static void test_export_csv_and_jsonl(void **state) {
  fixture *f = *state;
  fill(f->db, 30, NULL);
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  int64_t from, to;
  /* minutes 0..29 of 2025-03-01; [00:05, 00:14] inclusive */
  assert_int_equal(ag_audit_parse_time("2025-03-01T00:05:00Z", false, &from, "from", &e), AG_OK);
  assert_int_equal(ag_audit_parse_time("2025-03-01T00:14:00Z", true, &to, "to", &e), AG_OK);
  assert_int_equal(ag_audit_export(f->db, from, to, AG_AUDIT_CSV, to_buf, &b, &e), AG_OK);
  const char *csv = ag_buf_cstr(&b);
  assert_true(!strncmp(csv, "seq,audit_id,time,time_ms,kind,", 31));
  /* each body holds one "\n" inside a quoted field; rows end in CRLF:
   * the header, records 6 to 15, and the closing row */
  assert_int_equal(count_lines(b.data, b.len, "\r\n"), 1 + 10 + 1);
  assert_non_null(strstr(csv, "\r\n#end,records=10,last_seq=15,last_hash="));
  assert_non_null(strstr(csv, ",head_seq=30,head_hash="));
  assert_non_null(strstr(csv, "\r\n6,a-6-"));
  assert_non_null(strstr(csv, "2025-03-01T00:14:00.000Z"));
  assert_null(strstr(csv, "2025-03-01T00:15:00.000Z"));
  assert_non_null(strstr(csv, "\"{\"\"eccn\"\":\"\"4D004\"\""));

  ag_buf_reset(&b);
  assert_int_equal(ag_audit_export(f->db, 0, 0, AG_AUDIT_JSONL, to_buf, &b, &e), AG_OK);
  const char *s = ag_buf_cstr(&b);
  int n = 0;
  char last_hash[65] = "";
  while (*s) {
    const char *nl = strchr(s, '\n');
    assert_non_null(nl);
    json_error_t je;
    json_t *j = json_loadb(s, (size_t)(nl - s), 0, &je);
    assert_non_null(j);
    if (json_object_get(j, "export_end")) { /* the closing line, last */
      assert_string_equal(nl + 1, "");
      assert_int_equal(json_integer_value(json_object_get(j, "records")), 30);
      assert_int_equal(json_integer_value(json_object_get(j, "last_seq")), 30);
      assert_int_equal(json_integer_value(json_object_get(j, "head_seq")), 30);
      assert_string_equal(json_string_value(json_object_get(j, "last_hash")), last_hash);
      assert_string_equal(json_string_value(json_object_get(j, "head_hash")), last_hash);
      json_decref(j);
      s = nl + 1;
      continue;
    }
    snprintf(last_hash, sizeof last_hash, "%s", json_string_value(json_object_get(j, "hash")));
    rec_buf rb;
    const ag_audit_record *r = make(&rb, n);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), n + 1);
    assert_string_equal(json_string_value(json_object_get(j, "request")), r->request);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), r->decision);
    assert_int_equal(json_integer_value(json_object_get(j, "time_ms")), r->time_ms);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "hash"))), 64);
    json_decref(j);
    s = nl + 1;
    n++;
  }
  assert_int_equal(n, 30);

  ag_buf_reset(&b);
  assert_int_equal(ag_audit_export(f->db, T0 + 3600000, 0, AG_AUDIT_JSONL, to_buf, &b, &e), AG_OK);
  /* nothing in range: the closing line alone, saying so */
  assert_true(!strncmp(ag_buf_cstr(&b), "{\"export_end\":true,\"records\":0,", 31));
  assert_int_equal(count_lines(b.data, b.len, "\n"), 1);
  assert_int_equal(ag_audit_export(f->db, 0, 0, AG_AUDIT_CSV, refuse, NULL, &e), AG_ERR_IO);
  assert_int_equal(ag_audit_export(f->db, 0, 0, (ag_audit_format)9, to_buf, &b, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "format");
  ag_audit_format fmt;
  assert_true(ag_audit_format_parse("jsonl", &fmt) && fmt == AG_AUDIT_JSONL);
  assert_false(ag_audit_format_parse("xml", &fmt));
  ag_buf_free(&b);
}

/* An export checked offline: intact as written; every way of cutting it
 * short, removing, editing, reordering or adding a line is named. */
static ag_audit_verify_report verify_export_text(const char *data, size_t len) {
  ag_audit_verify_report r;
  ag_error e;
  if (ag_audit_verify_export(data, len, NULL, &r, &e) != AG_OK)
    fail_msg("%zu bytes: %s: %s", len, e.field, e.reason);
  return r;
}

/* Byte offset where line k (0-based) starts. */
static size_t line_start(const char *s, int k) {
  size_t at = 0;
  for (int i = 0; i < k; i++)
    at = (size_t)(strchr(s + at, '\n') - s) + 1;
  return at;
}

static void test_export_verified_offline(void **state) {
  fixture *f = *state;
  fill(f->db, 12, NULL);
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  for (int fmt = AG_AUDIT_CSV; fmt <= AG_AUDIT_JSONL; fmt++) {
    ag_buf_reset(&b);
    assert_int_equal(ag_audit_export(f->db, 0, 0, (ag_audit_format)fmt, to_buf, &b, &e), AG_OK);
    const char *x = ag_buf_cstr(&b);
    ag_audit_verify_report r = verify_export_text(x, b.len);
    assert_int_equal(r.problem, AG_AUDIT_INTACT);
    assert_int_equal(r.records, 12);
    assert_int_equal(r.head_seq, 12);
    /* cut at every byte: never intact */
    for (size_t cut = fmt == AG_AUDIT_CSV ? line_start(x, 1) : 0; cut < b.len; cut++) {
      r = verify_export_text(x, cut);
      if (r.problem == AG_AUDIT_INTACT)
        fail_msg("an export cut at byte %zu of %zu verified", cut, b.len);
    }
    /* CSV records span two lines (the bodies hold a line break) */
    int per = fmt == AG_AUDIT_CSV ? 2 : 1, first = fmt == AG_AUDIT_CSV ? 1 : 0;
    size_t l3 = line_start(x, first + 3 * per), l4 = line_start(x, first + 4 * per),
           l5 = line_start(x, first + 5 * per);
    ag_buf t;
    ag_buf_init(&t);
    /* record 4 removed */
    ag_buf_append(&t, x, l3);
    ag_buf_append(&t, x + l4, b.len - l4);
    r = verify_export_text(t.data, t.len);
    assert_int_equal(r.problem, AG_AUDIT_GAP);
    assert_int_equal(r.bad_seq, 4);
    /* records 4 and 5 swapped */
    ag_buf_reset(&t);
    ag_buf_append(&t, x, l3);
    ag_buf_append(&t, x + l4, l5 - l4);
    ag_buf_append(&t, x + l3, l4 - l3);
    ag_buf_append(&t, x + l5, b.len - l5);
    r = verify_export_text(t.data, t.len);
    assert_int_equal(r.problem, AG_AUDIT_GAP);
    /* one character of record 4 changed: its outcome */
    ag_buf_reset(&t);
    ag_buf_append(&t, x, b.len);
    char *o = strstr(t.data + l3, "authorized"); /* record 4 is authorized */
    assert_non_null(o);
    o[0] = 'N';
    r = verify_export_text(t.data, t.len);
    assert_int_equal(r.problem, AG_AUDIT_HASH_MISMATCH);
    assert_int_equal(r.bad_seq, 4);
    /* the last record and the closing line's count both removed */
    size_t last = line_start(x, first + 11 * per), end = line_start(x, first + 12 * per);
    ag_buf_reset(&t);
    ag_buf_append(&t, x, last);
    ag_buf_append(&t, x + end, b.len - end);
    r = verify_export_text(t.data, t.len);
    assert_int_equal(r.problem, AG_AUDIT_TRUNCATED);
    /* a line after the closing one */
    ag_buf_reset(&t);
    ag_buf_append(&t, x, b.len);
    ag_buf_append(&t, x + l3, l4 - l3);
    r = verify_export_text(t.data, t.len);
    assert_int_equal(r.problem, AG_AUDIT_INSERTED);
    ag_buf_free(&t);
  }
  /* a time range starting mid-chain verifies too; an anchor inside it is
   * checked */
  ag_buf_reset(&b);
  assert_int_equal(ag_audit_export(f->db, T0 + 5 * 60000, 0, AG_AUDIT_JSONL, to_buf, &b, &e),
                   AG_OK);
  ag_audit_verify_report r = verify_export_text(b.data, b.len);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 7);
  ag_audit_anchor bad = {.seq = 8};
  memset(bad.hash, 'a', 64);
  bad.hash[64] = '\0';
  assert_int_equal(ag_audit_verify_export(b.data, b.len, &bad, &r, &e), AG_OK);
  assert_int_equal(r.problem, AG_AUDIT_ANCHOR_MISMATCH);
  assert_int_equal(ag_audit_verify_export("hello\r\n", 7, NULL, &r, &e), AG_ERR_INPUT);
  ag_buf_free(&b);
}

/* A read-write open never recreates a dropped append-only trigger: the
 * missing trigger is the evidence verify reports. */
static void test_open_keeps_dropped_triggers_dropped(void **state) {
  fixture *f = *state;
  fill(f->db, 2, NULL);
  raw_sql(f->path, "DROP TRIGGER audit_log_no_delete");
  ag_audit_db *again;
  ag_error e;
  assert_int_equal(ag_audit_open(f->path, NULL, &again, &e), AG_OK);
  fill(again, 1, NULL);
  ag_audit_verify_report r = verify(again, NULL);
  ag_audit_close(again);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_false(r.guards_present);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                                    " AND name = 'audit_log_no_delete'"),
                   0);
}

/* A cursor naming the largest seq there is: nothing after it, no overflow
 * (with an index, the search goes through the postings). */
static void test_cursor_at_the_end_of_seqs(void **state) {
  fixture *f = *state;
  fill(f->db, 3, NULL);
  ag_error e;
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  ag_audit_page p;
  ag_audit_query q = {.destination = "CN", .cursor = "f7fffffffffffffff"};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 0);
  ag_audit_page_free(&p);
  q = (ag_audit_query){.destination = "CN", .cursor = "b7fffffffffffffff", .newest_first = true};
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 1);
  ag_audit_page_free(&p);
}

/* ---- times ---- */

static void test_parse_time(void **state) {
  (void)state;
  int64_t ms;
  ag_error e;
  assert_int_equal(ag_audit_parse_time("2025-03-01", false, &ms, "from", &e), AG_OK);
  assert_int_equal(ms, T0);
  assert_int_equal(ag_audit_parse_time("2025-03-01", true, &ms, "to", &e), AG_OK);
  assert_int_equal(ms, T0 + 86400000);
  assert_int_equal(ag_audit_parse_time("2025-03-01T01:02:03Z", false, &ms, "from", &e), AG_OK);
  assert_int_equal(ms, T0 + 3723000);
  assert_int_equal(ag_audit_parse_time("2025-03-01T01:02:03.456Z", true, &ms, "to", &e), AG_OK);
  assert_int_equal(ms, T0 + 3723457);
  const char *bad[] = {"",
                       "2025-3-1",
                       "2025-02-29",
                       "yesterday",
                       "2025-03-01T",
                       "2025-03-01T24:00:00Z",
                       "2025-03-01T01:02:03",
                       "2025-03-01 01:02:03Z",
                       "2025-03-01T01:02:03.4Z",
                       "2025-03-01T01:60:00Z",
                       "2025-03-01x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(ag_audit_parse_time(bad[i], false, &ms, "--from", &e), AG_ERR_INPUT);
    assert_string_equal(e.field, "--from");
  }
  char out[32];
  ag_audit_format_time(T0 + 3723456, out);
  assert_string_equal(out, "2025-03-01T01:02:03.456Z");
  ag_audit_format_time(0, out);
  assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

/* ---- bad inputs ---- */

static void test_bad_records(void **state) {
  fixture *f = *state;
  char id[AG_AUDIT_ID_MAX];
  ag_error e;
  rec_buf b;
  ag_audit_record r;
#define BAD(stmt, want, fld)                                                                       \
  do {                                                                                             \
    r = *make(&b, 1);                                                                              \
    stmt;                                                                                          \
    assert_int_equal(ag_audit_append(f->db, &r, id, &e), want);                                    \
    assert_string_equal(e.field, fld);                                                             \
  } while (0)
  BAD(r.kind = AG_AUDIT_ANY, AG_ERR_INPUT, "kind");
  BAD(r.kind = (ag_audit_kind)99, AG_ERR_INPUT, "kind");
  BAD(r.request = NULL, AG_ERR_INPUT, "request");
  BAD(r.decision_len = 0, AG_ERR_INPUT, "decision");
  BAD(r.request = "{\"a\":\"\xff\"}"; r.request_len = 8, AG_ERR_INPUT, "request");
  BAD(r.destination = "\xc0\xaf", AG_ERR_INPUT, "destination");
  BAD(r.as_of = "2025-13-01", AG_ERR_INPUT, "as_of");
  BAD(r.time_ms = -1, AG_ERR_INPUT, "time_ms");
  static char longs[300];
  memset(longs, 'x', sizeof longs - 1);
  BAD(r.eccn = longs, AG_ERR_LIMIT, "eccn");
  BAD(r.request_len = AG_AUDIT_BODY_MAX + 1, AG_ERR_LIMIT, "request");
#undef BAD
  assert_int_equal(verify(f->db, NULL).records, 0);

  ag_audit_entry *x;
  assert_int_equal(ag_audit_get(f->db, "a-1-000000000000", &x, &e), AG_ERR_NOTFOUND);
  assert_null(x);
  assert_string_equal(e.field, "audit_id");
  fill(f->db, 1, &id);
  char wrong[AG_AUDIT_ID_MAX];
  snprintf(wrong, sizeof wrong, "%s", id);
  wrong[strlen(wrong) - 1] ^= 1; /* right seq, wrong random part */
  assert_int_equal(ag_audit_get(f->db, wrong, &x, &e), AG_ERR_NOTFOUND);
  const char *junk[] = {
      "", "a-", "a--1-x", "1", "a-1", "b-1-000000000000", "a-99999999999999999999-x"};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    assert_int_equal(ag_audit_get(f->db, junk[i], &x, &e), AG_ERR_NOTFOUND);
}

static void test_bad_open(void **state) {
  fixture *f = *state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open("/nonexistent-dir/x/audit.db", NULL, &db, &e), AG_ERR_DB);
  assert_null(db);
  assert_string_equal(e.field, "db");
  assert_non_null(strstr(e.reason, "/nonexistent-dir/x/audit.db"));
  assert_int_equal(ag_audit_open("", NULL, &db, &e), AG_ERR_INPUT);

  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  char p[160];
  snprintf(p, sizeof p, "%s/missing.db", f->dir);
  assert_int_equal(ag_audit_open(p, &o, &db, &e), AG_ERR_DB);
  assert_int_equal(access(p, F_OK), -1); /* not created */

  snprintf(p, sizeof p, "%s/text.db", f->dir);
  FILE *fp = fopen(p, "w");
  fputs("this is not a database, just some text that is long enough to have a header\n", fp);
  fclose(fp);
  assert_int_equal(ag_audit_open(p, NULL, &db, &e), AG_ERR_DB);
  assert_int_equal(ag_audit_open(p, &o, &db, &e), AG_ERR_DB);

  snprintf(p, sizeof p, "%s/other.db", f->dir);
  raw_sql(p, "CREATE TABLE t(x)");
  assert_int_equal(ag_audit_open(p, &o, &db, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "not an acegate audit database"));
  /* nor does opening to write turn another program's database into a log */
  assert_int_equal(ag_audit_open(p, NULL, &db, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "not an acegate audit database"));
  sqlite3 *h;
  assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master", -1, &s, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 1);
  sqlite3_finalize(s);
  assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(s, 0), "delete");
  sqlite3_finalize(s);
  sqlite3_close(h);

  raw_sql(f->path, "UPDATE audit_meta SET value = '3' WHERE name = 'schema'");
  assert_int_equal(ag_audit_open(f->path, &o, &db, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "version 3"));
  /* opening to write neither accepts a newer log nor relabels it */
  assert_int_equal(ag_audit_open(f->path, NULL, &db, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "version 3"));
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(h, "SELECT value FROM audit_meta WHERE name = 'schema'", -1, &s, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(s, 0), "3");
  sqlite3_finalize(s);
  sqlite3_close(h);
}

/* A failed commit (here: another process holds the write lock past the
 * busy timeout) fails every record of the batch and leaves the chain as it
 * was; the next append continues it. */
static void test_failed_commit_leaves_chain_intact(void **state) {
  fixture *f = *state;
  fill(f->db, 3, NULL);
  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.busy_timeout_ms = 50};
  assert_int_equal(ag_audit_open(f->path, &o, &db, &e), AG_OK);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  rec_buf b[2];
  ag_audit_record recs[2] = {*make(&b[0], 0), *make(&b[1], 1)};
  char ids[2][AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_append_batch(db, recs, 2, ids, &e), AG_ERR_DB);
  assert_string_equal(e.field, "db");
  assert_string_equal(ids[0], "");
  /* readers are not blocked by the writer's lock */
  assert_int_equal(verify(db, NULL).records, 3);
  assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(ag_audit_append_batch(db, recs, 2, ids, &e), AG_OK);
  assert_true(!strncmp(ids[1], "a-5-", 4));
  ag_audit_verify_report r = verify(db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 5);
  ag_audit_stats st;
  ag_audit_get_stats(db, &st);
  assert_int_equal(st.commits, 1);
  assert_int_equal(st.records, 2);
  ag_audit_close(db);
}

static void test_backup_basic(void **state) {
  fixture *f = *state;
  fill(f->db, 25, NULL);
  char p[160];
  snprintf(p, sizeof p, "%s/copy.db", f->dir);
  ag_error e;
  assert_int_equal(ag_audit_backup(f->db, p, &e), AG_OK);
  /* one self-contained file: rollback journal (header bytes 18-19 are 1,
   * 2 would be WAL), nothing beside it */
  FILE *fp = fopen(p, "rb");
  assert_non_null(fp);
  unsigned char hdr[20];
  assert_int_equal(fread(hdr, 1, sizeof hdr, fp), sizeof hdr);
  fclose(fp);
  assert_int_equal(hdr[18], 1);
  assert_int_equal(hdr[19], 1);
  ag_audit_db *copy;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  assert_int_equal(ag_audit_open(p, &o, &copy, &e), AG_OK);
  ag_audit_verify_report r = verify(copy, NULL), src = verify(f->db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 25);
  assert_string_equal(r.head_hash, src.head_hash);
  assert_true(r.guards_present);
  /* read-only: an append is refused and nothing was created beside it */
  rec_buf b;
  char id[AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_append(copy, make(&b, 0), id, &e), AG_ERR_DB);
  ag_audit_close(copy);
  const char *sides[] = {"-wal", "-shm", "-search", "-journal"};
  for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
    char side[200];
    snprintf(side, sizeof side, "%s%s", p, sides[i]);
    assert_int_equal(access(side, F_OK), -1);
  }
  assert_int_equal(verify_file(p).records, 25);
  o.flags = AG_AUDIT_OPEN_EXISTING;
  assert_int_equal(ag_audit_open(p, &o, &copy, &e), AG_OK);
  /* the copy is a working log: appends continue its chain */
  fill(copy, 2, NULL);
  assert_int_equal(verify(copy, NULL).records, 27);
  ag_audit_close(copy);

  assert_int_equal(ag_audit_backup(f->db, p, &e), AG_ERR_IO); /* never overwrites */
  assert_string_equal(e.field, "to");
  assert_int_equal(ag_audit_backup(f->db, f->path, &e), AG_ERR_IO); /* itself exists too */
  assert_int_equal(ag_audit_backup(f->db, "/nonexistent-dir/copy.db", &e), AG_ERR_IO);
}

static void test_memory_database(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &e), AG_OK);
  char ids[10][AG_AUDIT_ID_MAX];
  fill(db, 10, ids);
  ag_audit_entry *x = get(db, ids[4]);
  assert_int_equal(x->seq, 5);
  ag_audit_entry_free(x);
  ag_audit_verify_report r = verify(db, NULL);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 10);
  ag_audit_page p;
  ag_audit_query q = {.destination = "DE"};
  assert_int_equal(ag_audit_search(db, &q, &p, &e), AG_OK);
  assert_int_equal(p.count, 3);
  ag_audit_page_free(&p);
  ag_audit_close(db);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_roundtrip_byte_exact),
      T(test_time_defaults_to_now),
      T(test_chain_links_and_verify),
      T(test_batch_is_consecutive),
      T(test_prehash_finished_or_redone),
      T(test_guards_refuse_update_and_delete),
      T(test_open_keeps_dropped_triggers_dropped),
      T(test_export_verified_offline),
      T(test_cursor_at_the_end_of_seqs),
      T(test_tamper_edit_decision),
      T(test_tamper_edit_search_column),
      T(test_tamper_edit_time),
      T(test_tamper_delete_middle),
      T(test_tamper_delete_range),
      T(test_tamper_delete_tail),
      T(test_tamper_swap_rows),
      T(test_tamper_swap_decisions),
      T(test_tamper_edit_hash),
      T(test_tamper_edit_last_hash),
      T(test_tamper_insert_forged_tail),
      T(test_tamper_insert_before_genesis),
      T(test_tamper_renumber),
      T(test_tamper_rewrite_recomputed_hash),
      T(test_tamper_rewrite_last_recomputed_hash),
      T(test_search_filters_and_paging),
      T(test_export_csv_and_jsonl),
      cmocka_unit_test(test_parse_time),
      T(test_bad_records),
      T(test_bad_open),
      T(test_failed_commit_leaves_chain_intact),
      T(test_backup_basic),
      cmocka_unit_test(test_memory_database),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
