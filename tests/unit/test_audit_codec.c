/*
 * test_audit_codec.c - decisions stored compressed: a decision-sized record
 * is stored as a zstd frame a fraction of its size and reads back byte for
 * byte through get, search and export; a short one is stored as it is; the
 * dictionary is kept in the log; a tampered frame or dictionary is named by
 * verify; a version 1 log (no dictionary table) is brought to version 2; a
 * record compressed with a dictionary an earlier release shipped reads back
 * beside the ones the current dictionary compresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <sqlite3.h>
#include <zdict.h>
#include <zstd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decision shaped like the service's: reasoning steps citing 740.22. */
static char *decision_json(int i) {
  static const char *const steps[] = {
      "License Exception ACE does not authorize exports, reexports or transfers to a "
      "destination in Country Group E:1 or E:2. Does not apply to this transaction.",
      "License Exception ACE does not authorize exports to a government end user of a "
      "country in Country Group D:1, D:2, D:3, D:4 or D:5. Does not apply to this transaction.",
      "A licence is required by the Country Chart, and License Exception ACE (740.22) "
      "authorizes the transaction. Record the exception used (758.1).",
  };
  size_t cap = 8192, n = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  n += (size_t)snprintf(s + n, cap - n,
                        "{\"outcome\":\"LICENSE_EXCEPTION_ACE\",\"n\":%d,\"steps\":[", i);
  for (int k = 0; k < 12; k++)
    n += (size_t)snprintf(s + n, cap - n,
                          "%s{\"rule\":\"740.22(c)(%d)\",\"result\":\"not_applicable\","
                          "\"text\":\"%s\"}",
                          k ? "," : "", k, steps[(k + i) % 3]);
  snprintf(s + n, cap - n, "]}");
  return s;
}

static ag_audit_record record(const char *decision) {
  return (ag_audit_record){.kind = AG_AUDIT_CHECK,
                           .request = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\"}",
                           .request_len = 45,
                           .decision = decision,
                           .decision_len = strlen(decision),
                           .destination = "BR",
                           .eccn = "4D004",
                           .outcome = "LICENSE_EXCEPTION_ACE"};
}

static void append(ag_audit_db *db, const char *decision, char id[AG_AUDIT_ID_MAX]) {
  ag_audit_record r = record(decision);
  ag_error e;
  assert_int_equal(ag_audit_append(db, &r, id, &e), AG_OK);
}

static void assert_reads_back(ag_audit_db *db, const char *id, const char *decision) {
  ag_audit_entry *x = NULL;
  ag_error e;
  assert_int_equal(ag_audit_get(db, id, &x, &e), AG_OK);
  assert_int_equal(x->decision_len, strlen(decision));
  assert_memory_equal(x->decision, decision, x->decision_len);
  assert_int_equal(x->decision[x->decision_len], '\0');
  ag_audit_entry_free(x);
}

static int collect(void *ctx, const char *p, size_t n) {
  FILE *f = ctx;
  return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static void test_decision_stored_compressed(void **state) {
  fixture *f = *state;
  char *dec = decision_json(0);
  char id[AG_AUDIT_ID_MAX];
  append(f->db, dec, id);
  size_t len = strlen(dec);
  assert_true(len > 2000);
  /* a zstd frame (magic 28 B5 2F FD), a fraction of the decision's size */
  assert_int_equal(
      sql_int(f->path, "SELECT hex(substr(decision, 1, 4)) = '28B52FFD' FROM audit_log"), 1);
  int64_t stored = sql_int(f->path, "SELECT length(decision) FROM audit_log");
  print_message("decision %zu bytes, stored %lld bytes\n", len, (long long)stored);
  assert_true(stored * 5 < (int64_t)len);
  /* the log holds the dictionary the frame names */
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_dict"), 1);

  assert_reads_back(f->db, id, dec);
  ag_audit_query q = {.destination = "BR"};
  ag_audit_page page;
  ag_error e;
  assert_int_equal(ag_audit_search(f->db, &q, &page, &e), AG_OK);
  assert_int_equal(page.count, 1);
  assert_memory_equal(page.entries[0]->decision, dec, len);
  ag_audit_page_free(&page);

  char *out = NULL;
  size_t outlen = 0;
  FILE *m = open_memstream(&out, &outlen);
  assert_int_equal(ag_audit_export(f->db, 0, 0, AG_AUDIT_JSONL, collect, m, &e), AG_OK);
  fclose(m);
  /* the decision has no character JSON escapes, so it appears verbatim */
  assert_non_null(strstr(out, "License Exception ACE does not authorize exports to a government"));
  assert_non_null(
      strstr(out, "\"decision\":\"{\\\"outcome\\\":\\\"LICENSE_EXCEPTION_ACE\\\",\\\"n\\\":0"));
  free(out);

  ag_audit_verify_report r = verify_file(f->path);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 1);
  assert_true(r.guards_present);
  free(dec);
}

static void test_short_decision_stored_as_is(void **state) {
  fixture *f = *state;
  const char *dec = "{\"outcome\":\"NLR\"}";
  char id[AG_AUDIT_ID_MAX];
  append(f->db, dec, id);
  assert_int_equal(sql_int(f->path, "SELECT decision = CAST('{\"outcome\":\"NLR\"}' AS BLOB)"
                                    " FROM audit_log"),
                   1);
  assert_reads_back(f->db, id, dec);
  assert_int_equal(verify_file(f->path).problem, AG_AUDIT_INTACT);
}

/* Three records; tamper with the stored bytes of one; verify names it. */
static void tamper_named(fixture *f, const char *sql, int64_t want_seq) {
  char ids[3][AG_AUDIT_ID_MAX];
  for (int i = 0; i < 3; i++) {
    char *dec = decision_json(i);
    append(f->db, dec, ids[i]);
    free(dec);
  }
  assert_int_equal(verify_file(f->path).problem, AG_AUDIT_INTACT);
  raw_sql(f->path, sql);
  ag_audit_verify_report r = verify_file(f->path);
  assert_int_equal(r.problem, AG_AUDIT_CONTENT_CHANGED);
  assert_int_equal(r.bad_seq, want_seq);
  assert_string_equal(r.bad_id, ids[want_seq - 1]);
  assert_int_equal(r.records, want_seq - 1);
  print_message("%s\n", r.detail);
}

static void test_tampered_frame_named(void **state) {
  /* one byte of the compressed stream changed */
  tamper_named(*state,
               "DROP TRIGGER audit_log_no_update;"
               "UPDATE audit_log SET decision = substr(decision, 1, 40) || CASE WHEN"
               " substr(decision, 41, 1) = X'5A' THEN X'5B' ELSE X'5A' END ||"
               " substr(decision, 42) WHERE seq = 2",
               2);
}

static void test_frame_replaced_by_text_named(void **state) {
  tamper_named(
      *state,
      "DROP TRIGGER audit_log_no_update;"
      "UPDATE audit_log SET decision = CAST('{\"outcome\":\"NLR\"}' AS BLOB) WHERE seq = 3",
      3);
}

static void test_tampered_dictionary_named(void **state) {
  /* every record reads through the dictionary: the first one is named */
  tamper_named(*state,
               "DROP TRIGGER audit_dict_no_update;"
               "UPDATE audit_dict SET dict = zeroblob(length(dict))",
               1);
}

static void test_deleted_dictionary_named(void **state) {
  /* and verify, reading only, does not put it back */
  fixture *f = *state;
  tamper_named(f,
               "DROP TRIGGER audit_dict_no_delete;"
               "DELETE FROM audit_dict",
               1);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_dict"), 0);
}

static void test_renumbered_dictionary_named(void **state) {
  tamper_named(*state,
               "DROP TRIGGER audit_dict_no_update;"
               "UPDATE audit_dict SET id = id + 1",
               1);
}

static void test_dictionary_is_append_only(void **state) {
  fixture *f = *state;
  char id[AG_AUDIT_ID_MAX];
  char *dec = decision_json(0);
  append(f->db, dec, id);
  free(dec);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "DELETE FROM audit_dict", NULL, NULL, NULL), SQLITE_CONSTRAINT);
  assert_int_equal(sqlite3_exec(h, "UPDATE audit_dict SET dict = x'00'", NULL, NULL, NULL),
                   SQLITE_CONSTRAINT);
  sqlite3_close(h);
}

/* A log written before decisions were compressed: schema 1, no audit_dict,
 * decisions stored as sent. Opening it adds the table and moves it to 2;
 * old and new records read back and the chain goes on. */
/* Packed on the caller's thread: the same bytes an append stores by
 * itself, read back exactly, chain intact; a frame that is not this
 * decision's length is refused naming "packed". */
static void test_packed_by_the_caller(void **state) {
  fixture *f = *state;
  char *dec = decision_json(3);
  ag_audit_packer *pk = ag_audit_packer_new();
  assert_non_null(pk);
  ag_buf packed;
  ag_buf_init(&packed);
  size_t plen = 0;
  ag_error e;
  assert_int_equal(ag_audit_pack(f->db, pk, dec, strlen(dec), &packed, &plen, &e), AG_OK);
  assert_true(plen > 0 && plen * 5 < strlen(dec));
  assert_int_equal(packed.len, plen);

  char id1[AG_AUDIT_ID_MAX], id2[AG_AUDIT_ID_MAX];
  ag_audit_record r = record(dec);
  r.packed = packed.data;
  r.packed_len = plen;
  assert_int_equal(ag_audit_append(f->db, &r, id1, &e), AG_OK);
  append(f->db, dec, id2); /* packed by the append */
  assert_int_equal(sql_int(f->path, "SELECT count(DISTINCT decision) FROM audit_log"), 1);
  assert_reads_back(f->db, id1, dec);
  assert_int_equal(verify_file(f->path).problem, AG_AUDIT_INTACT);

  /* the frame of another decision, of another length */
  char *other = decision_json(11);
  assert_int_not_equal(strlen(other), strlen(dec));
  ag_buf_reset(&packed);
  assert_int_equal(ag_audit_pack(f->db, pk, other, strlen(other), &packed, &plen, &e), AG_OK);
  r.packed = packed.data;
  r.packed_len = plen;
  assert_int_equal(ag_audit_append(f->db, &r, id1, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "packed");
  /* short decisions are left to the append */
  ag_buf_reset(&packed);
  assert_int_equal(ag_audit_pack(f->db, pk, "{\"ok\":1}", 8, &packed, &plen, &e), AG_OK);
  assert_int_equal(plen, 0);
  assert_int_equal(packed.len, 0);
  ag_buf_free(&packed);
  ag_audit_packer_free(pk);
  free(other);
  free(dec);
}

static void test_version_1_log_is_upgraded(void **state) {
  fixture *f = *state;
  char old_id[AG_AUDIT_ID_MAX], new_id[AG_AUDIT_ID_MAX];
  const char *old_dec = "{\"outcome\":\"LICENSE_EXCEPTION_ACE\",\"n\":1}";
  append(f->db, old_dec, old_id);
  ag_audit_close(f->db);
  f->db = NULL;
  raw_sql(f->path,
          "DROP TRIGGER audit_dict_no_update; DROP TRIGGER audit_dict_no_delete;"
          "DROP TABLE audit_dict; UPDATE audit_meta SET value = '1' WHERE name = 'schema'");

  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  ag_error e;
  assert_int_equal(ag_audit_open(f->path, &o, &f->db, &e), AG_OK);
  assert_int_equal(sql_int(f->path, "SELECT value = '2' FROM audit_meta WHERE name = 'schema'"), 1);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_dict"), 1);
  char *dec = decision_json(7);
  append(f->db, dec, new_id);
  assert_reads_back(f->db, old_id, old_dec);
  assert_reads_back(f->db, new_id, dec);
  free(dec);
  ag_audit_verify_report r = verify_file(f->path);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 2);
  assert_true(r.guards_present);
}

/* A dictionary other than the one compiled in, as an earlier release
 * shipped: trained here on decisions like the test's own. */
static size_t train_other_dictionary(void *dict, size_t cap) {
  enum { N = 300 };
  size_t sizes[N], total = 0;
  char *samples[N];
  for (int i = 0; i < N; i++) {
    samples[i] = decision_json(i);
    sizes[i] = strlen(samples[i]);
    total += sizes[i];
  }
  char *all = malloc(total);
  assert_non_null(all);
  for (size_t i = 0, at = 0; i < N; at += sizes[i], i++) {
    memcpy(all + at, samples[i], sizes[i]);
    free(samples[i]);
  }
  size_t n = ZDICT_trainFromBuffer(dict, cap, all, sizes, N);
  free(all);
  assert_false(ZDICT_isError(n));
  return n;
}

static unsigned stored_dict_id(const char *path, int64_t seq) {
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(h, "SELECT decision FROM audit_log WHERE seq = ?1", -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  unsigned id = ZSTD_getDictID_fromFrame(sqlite3_column_blob(st, 0),
                                         (size_t)sqlite3_column_bytes(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return id;
}

/* A release ships a new dictionary: records the earlier one compressed
 * (its dictionary in audit_dict, as that release's open stored it) still
 * read back byte for byte, new records use the new one, verify is intact. */
static void test_record_of_an_earlier_dictionary(void **state) {
  fixture *f = *state;
  static char dict[8192];
  size_t dlen = train_other_dictionary(dict, sizeof dict);
  unsigned old_id = ZDICT_getDictID(dict, dlen);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(h, "INSERT INTO audit_dict(id, dict) VALUES(?1, ?2)", -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, old_id);
  sqlite3_bind_blob(st, 2, dict, (int)dlen, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(h);

  /* the earlier release's frame, made with its dictionary */
  char *old_dec = decision_json(5);
  size_t old_len = strlen(old_dec);
  size_t bound = ZSTD_compressBound(old_len);
  char *frame = malloc(bound);
  assert_non_null(frame);
  ZSTD_CCtx *zc = ZSTD_createCCtx();
  size_t flen = ZSTD_compress_usingDict(zc, frame, bound, old_dec, old_len, dict, dlen, 1);
  ZSTD_freeCCtx(zc);
  assert_false(ZSTD_isError(flen));
  ag_audit_record r = record(old_dec);
  r.packed = frame;
  r.packed_len = flen;
  char old_rec[AG_AUDIT_ID_MAX], new_rec[AG_AUDIT_ID_MAX];
  ag_error e;
  assert_int_equal(ag_audit_append(f->db, &r, old_rec, &e), AG_OK);
  char *new_dec = decision_json(6);
  append(f->db, new_dec, new_rec);
  ag_audit_close(f->db);
  f->db = NULL;

  assert_int_equal(stored_dict_id(f->path, 1), old_id);
  unsigned new_id = stored_dict_id(f->path, 2);
  assert_int_not_equal(new_id, 0);
  assert_int_not_equal(new_id, old_id);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_dict"), 2);

  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  assert_int_equal(ag_audit_open(f->path, &o, &f->db, &e), AG_OK);
  assert_reads_back(f->db, old_rec, old_dec);
  assert_reads_back(f->db, new_rec, new_dec);
  ag_audit_verify_report vr = verify_file(f->path);
  assert_int_equal(vr.problem, AG_AUDIT_INTACT);
  assert_int_equal(vr.records, 2);
  free(frame);
  free(old_dec);
  free(new_dec);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_decision_stored_compressed), T(test_short_decision_stored_as_is),
      T(test_tampered_frame_named),       T(test_frame_replaced_by_text_named),
      T(test_tampered_dictionary_named), T(test_deleted_dictionary_named), T(test_renumbered_dictionary_named),  T(test_dictionary_is_append_only),
      T(test_record_of_an_earlier_dictionary),
      T(test_packed_by_the_caller),       T(test_version_1_log_is_upgraded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
