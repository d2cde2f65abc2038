/*
 * test_audit_search.c - the search index beside the log: a search returns
 * exactly the records that match, in order and page by page, whether the
 * index is missing, complete, behind the log, built in many batches, made
 * from another log or damaged; a search bounded in the records it reads
 * continues where it stopped; the log itself keeps no index on the search
 * columns (older logs lose theirs when opened to write).
 *
 * Expected results are computed here from how each record was made, never
 * from the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int64_t T0 = INT64_C(1767225600000); /* 2026-01-01T00:00:00Z */

static const char *const DEST[] = {"CN", "DE", "IR", "GB", "BR", "RU", "IN"};
static const char *const ECCN[] = {"4D004", "5A001.j", "4E001.c", "5D001.j", "4A005"};
static const char *const OUTC[] = {"LICENSE_EXCEPTION_ACE", "NLR", "LICENSE_REQUIRED",
                                   "PROHIBITED"};

/* Record i (seq i + 1). The periods differ so that values combine
 * unevenly; destination of the first `ir_only` records is IR. */
typedef struct {
  const char *dest, *eccn, *outcome;
  char as_of[16];
  ag_audit_kind kind;
  int64_t time_ms;
} spec;

static spec spec_of(int i, int ir_only) {
  spec s = {.dest = i < ir_only ? "IR" : DEST[i % 7],
            .eccn = ECCN[(i / 3) % 5],
            .outcome = OUTC[i % 11 == 0  ? 3
                            : i % 4 == 1 ? 2
                                         : i % 2],
            .kind = i % 9 == 8 ? AG_AUDIT_SCREENING : AG_AUDIT_CHECK,
            .time_ms = T0 + (int64_t)i * 60000};
  snprintf(s.as_of, sizeof s.as_of, "2026-01-%02d", 1 + (i / 40) % 28);
  return s;
}

static void append_range(ag_audit_db *db, int from, int to, int ir_only) {
  for (int i = from; i < to; i++) {
    spec s = spec_of(i, ir_only);
    char req[96];
    snprintf(req, sizeof req, "{\"n\":%d,\"destination\":\"%s\"}", i, s.dest);
    ag_audit_record r = {.kind = s.kind,
                         .time_ms = s.time_ms,
                         .request = req,
                         .request_len = strlen(req),
                         .decision = "{\"ok\":true}",
                         .decision_len = 11,
                         .as_of = s.as_of,
                         .destination = s.dest,
                         .eccn = s.eccn,
                         .outcome = s.outcome};
    char id[AG_AUDIT_ID_MAX];
    ag_error e;
    assert_int_equal(ag_audit_append(db, &r, id, &e), AG_OK);
  }
}

static bool matches(const ag_audit_query *q, const spec *s) {
  return (!q->destination || !strcmp(q->destination, s->dest)) &&
         (!q->eccn || !strcmp(q->eccn, s->eccn)) &&
         (!q->outcome || !strcmp(q->outcome, s->outcome)) &&
         (!q->as_of || !strcmp(q->as_of, s->as_of)) &&
         (q->kind == AG_AUDIT_ANY || q->kind == s->kind) &&
         (!q->from_ms || s->time_ms >= q->from_ms) && (!q->to_ms || s->time_ms < q->to_ms);
}

/* The queries each state of the index is checked with. */
static const ag_audit_query QUERIES[] = {
    {.destination = "CN"},
    {.destination = "IR"},
    {.eccn = "4E001.c"},
    {.outcome = "PROHIBITED"},
    {.outcome = "LICENSE_EXCEPTION_ACE"},
    {.as_of = "2026-01-03"},
    {.destination = "DE", .eccn = "5A001.j"},
    {.destination = "GB", .outcome = "LICENSE_REQUIRED"},
    {.eccn = "4D004", .kind = AG_AUDIT_SCREENING},
    {.destination = "BR", .from_ms = T0 + 100 * 60000, .to_ms = T0 + 250 * 60000},
    {.outcome = "NLR", .as_of = "2026-01-02", .eccn = "4A005"},
    {.destination = "XX"},
    {.from_ms = T0 + 30 * 60000, .to_ms = T0 + 45 * 60000},
};

/* Pages through every query, oldest first and newest first, and checks
 * that the records are exactly the matching ones of the n made, in order,
 * each once. */
static void check_all(ag_audit_db *db, int n, int ir_only) {
  for (size_t k = 0; k < sizeof QUERIES / sizeof QUERIES[0]; k++)
    for (int dir = 0; dir < 2; dir++) {
      int expect[1000], ne = 0;
      for (int i = 0; i < n; i++) {
        spec s = spec_of(i, ir_only);
        if (matches(&QUERIES[k], &s))
          expect[ne++] = i + 1;
      }
      char cursor[AG_AUDIT_CURSOR_MAX] = "";
      int got = 0;
      do {
        ag_audit_query q = QUERIES[k];
        q.limit = 7;
        q.cursor = cursor;
        q.newest_first = dir == 1;
        ag_audit_page p;
        ag_error e;
        assert_int_equal(ag_audit_search(db, &q, &p, &e), AG_OK);
        for (size_t j = 0; j < p.count; j++) {
          assert_true(got < ne);
          int64_t want = dir ? expect[ne - 1 - got] : expect[got];
          if (p.entries[j]->seq != want)
            fail_msg("query %zu dir %d: record %d is seq %lld, want %lld", k, dir, got,
                     (long long)p.entries[j]->seq, (long long)want);
          got++;
        }
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        ag_audit_page_free(&p);
      } while (*cursor);
      if (got != ne)
        fail_msg("query %zu dir %d: %d records, want %d", k, dir, got, ne);
    }
}

static char *index_path(const fixture *f) {
  static char p[160];
  snprintf(p, sizeof p, "%s-search", f->path);
  return p;
}

static void test_exact_without_index(void **state) {
  fixture *f = *state;
  append_range(f->db, 0, 300, 0);
  check_all(f->db, 300, 0); /* nothing indexed yet: the log is scanned */
  assert_int_equal(access(index_path(f), F_OK), -1);
}

static void test_exact_with_index_complete_and_behind(void **state) {
  fixture *f = *state;
  ag_error e;
  /* indexed in many batches of uneven size, so values span batches */
  for (int i = 0; i < 300; i += 37) {
    append_range(f->db, i, i + 37 < 300 ? i + 37 : 300, 0);
    assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  }
  assert_true(sql_int(index_path(f), "SELECT count(DISTINCT first) FROM postings") >= 8);
  assert_int_equal(sql_int(index_path(f), "SELECT value FROM search_meta WHERE name = 'seq'"), 300);
  check_all(f->db, 300, 0);
  /* behind the log: the later records are found by a scan */
  append_range(f->db, 300, 430, 0);
  check_all(f->db, 430, 0);
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  check_all(f->db, 430, 0);
}

static void test_index_of_another_log_is_rebuilt(void **state) {
  fixture *f = *state;
  ag_error e;
  /* another log whose first 200 records all go to IR, indexed */
  char other[160];
  snprintf(other, sizeof other, "%s/other.db", f->dir);
  ag_audit_db *odb;
  assert_int_equal(ag_audit_open(other, NULL, &odb, &e), AG_OK);
  append_range(odb, 0, 200, 200);
  assert_int_equal(ag_audit_index_update(odb, &e), AG_OK);
  ag_audit_close(odb);

  append_range(f->db, 0, 250, 0);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cp '%s-search' '%s'", other, index_path(f));
  assert_int_equal(system(cmd), 0);
  /* taken as it is, that index would hide this log's CN records 1..200 */
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  assert_int_equal(sql_int(index_path(f), "SELECT sum(n) FROM postings WHERE col = 0"), 250);
  check_all(f->db, 250, 0);
}

static void test_missing_or_damaged_index(void **state) {
  fixture *f = *state;
  ag_error e;
  append_range(f->db, 0, 120, 0);
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  check_all(f->db, 120, 0);
  /* a changed batch names the damage rather than return wrong records */
  raw_sql(index_path(f), "UPDATE postings SET seqs = x'ff' WHERE col = 0 AND value = 'CN'");
  ag_audit_query q = {.destination = "CN"};
  ag_audit_page p;
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "search index"));
  /* deleted: searches scan the log, and the next update rebuilds it */
  close_log(f);
  unlink(index_path(f));
  char side[200];
  snprintf(side, sizeof side, "%s-wal", index_path(f));
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", index_path(f));
  unlink(side);
  open_log(f);
  check_all(f->db, 120, 0);
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  assert_int_equal(sql_int(index_path(f), "SELECT sum(n) FROM postings WHERE col = 3"), 120);
  check_all(f->db, 120, 0);
}

static ag_audit_verify_report verify_log(ag_audit_db *db) {
  ag_audit_verify_report r;
  ag_error e;
  assert_int_equal(ag_audit_verify(db, NULL, &r, &e), AG_OK);
  return r;
}

/* Rows deleted from the index hide records from filtered searches (the
 * log is intact): verify names the first record hidden. Other damage
 * (a record filed under another value, or twice) is named as well. */
static void test_verify_checks_the_index(void **state) {
  fixture *f = *state;
  ag_error e;
  for (int i = 0; i < 300; i += 100) { /* several batches */
    append_range(f->db, i, i + 100, 0);
    assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  }
  assert_int_equal(verify_log(f->db).problem, AG_AUDIT_INTACT);
  /* the postings of BR in the second batch (seqs 101-200) deleted: record
   * i is BR when i % 7 == 4, so seq 103 (i = 102) is the first hidden */
  raw_sql(index_path(f), "DELETE FROM postings WHERE col = 0 AND value = 'BR' AND first > 100");
  ag_audit_query q = {.destination = "BR", .limit = 1000};
  ag_audit_page p;
  assert_int_equal(ag_audit_search(f->db, &q, &p, &e), AG_OK);
  size_t found = p.count;
  ag_audit_page_free(&p);
  assert_true(found < 43); /* 43 BR records in 300: the search misses some */
  ag_audit_verify_report r = verify_log(f->db);
  assert_int_equal(r.problem, AG_AUDIT_INDEX_MISMATCH);
  assert_int_equal(r.bad_seq, 103);
  assert_int_equal(r.records, 300); /* the log itself is whole */
  assert_non_null(strstr(r.detail, "destination"));
  print_message("%s\n", r.detail);
  /* a read-only verifier sees the same */
  close_log(f);
  ag_audit_options ro = {.flags = AG_AUDIT_OPEN_READONLY};
  ag_audit_db *rdb;
  assert_int_equal(ag_audit_open(f->path, &ro, &rdb, &e), AG_OK);
  r = verify_log(rdb);
  ag_audit_close(rdb);
  assert_int_equal(r.problem, AG_AUDIT_INDEX_MISMATCH);

  /* rebuilt: intact again; then a record filed under another value */
  unlink(index_path(f));
  char side[200];
  snprintf(side, sizeof side, "%s-wal", index_path(f));
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", index_path(f));
  unlink(side);
  open_log(f);
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  assert_int_equal(verify_log(f->db).problem, AG_AUDIT_INTACT);
  raw_sql(index_path(f), "UPDATE postings SET value = 'XX' WHERE col = 2 AND value = 'NLR'");
  r = verify_log(f->db);
  assert_int_equal(r.problem, AG_AUDIT_INDEX_MISMATCH);
  assert_int_equal(r.bad_seq, 4); /* record 3, the first NLR */
  assert_non_null(strstr(r.detail, "outcome"));
}

static void test_background_thread_catches_up(void **state) {
  fixture *f = *state;
  ag_error e;
  assert_int_equal(ag_audit_index_start(f->db, &e), AG_OK);
  append_range(f->db, 0, 150, 0);
  check_all(f->db, 150, 0); /* exact while the thread works */
  close_log(f);             /* stops the thread */
  open_log(f);
  check_all(f->db, 150, 0);
}

static void test_log_keeps_no_search_column_index(void **state) {
  fixture *f = *state;
  append_range(f->db, 0, 10, 0);
  close_log(f);
  /* a log made before the index moved out */
  raw_sql(f->path, "CREATE INDEX audit_log_destination ON audit_log(destination);"
                   "CREATE INDEX audit_log_outcome ON audit_log(outcome);"
                   "DROP INDEX audit_log_reviews; DROP INDEX audit_log_ref;");
  open_log(f);
  /* the search columns' indexes go; the reviews' and the caller
   * reference's partial indexes are made */
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND tbl_name = 'audit_log'"
                                    " AND name NOT IN ('audit_log_ts', 'audit_log_reviews',"
                                    " 'audit_log_ref')"),
                   0);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name = 'audit_log_reviews'"
                                    " AND sql LIKE '%WHERE kind = ''review''%'"),
                   1);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name = 'audit_log_ref'"),
                   1);
  assert_int_equal(verify_file(f->path).problem, AG_AUDIT_INTACT);
  check_all(f->db, 10, 0);
}

/* A match function that counts the records it is shown, taking every
 * third record of the query's. */
typedef struct {
  int shown;
} every_third;

static bool third(void *ctx, const ag_audit_entry *e) {
  ((every_third *)ctx)->shown++;
  return e->seq % 3 == 0;
}

/* scan_max: a call reads at most that many records (the match function
 * sees no more), a page cut short continues where the read stopped, and
 * page after page the records are exactly the matching ones, in order,
 * each once: with and without the index, in both directions. */
static void check_bounded(ag_audit_db *db, int n, const ag_audit_query *base) {
  for (int dir = 0; dir < 2; dir++) {
    int expect[1000], ne = 0;
    for (int i = 0; i < n; i++) {
      spec s = spec_of(i, 0);
      if (matches(base, &s) && (i + 1) % 3 == 0)
        expect[ne++] = i + 1;
    }
    char cursor[AG_AUDIT_CURSOR_MAX] = "";
    int got = 0, calls = 0, cut_short = 0;
    do {
      every_third m = {0};
      ag_audit_query q = *base;
      q.match = third;
      q.match_ctx = &m;
      q.limit = 4;
      q.scan_max = 11;
      q.cursor = cursor;
      q.newest_first = dir == 1;
      ag_audit_page p;
      ag_error e;
      assert_int_equal(ag_audit_search(db, &q, &p, &e), AG_OK);
      assert_true(m.shown <= 11);
      cut_short += p.count < 4 && p.next_cursor[0];
      for (size_t j = 0; j < p.count; j++) {
        assert_true(got < ne);
        assert_int_equal(p.entries[j]->seq, dir ? expect[ne - 1 - got] : expect[got]);
        got++;
      }
      snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
      ag_audit_page_free(&p);
      assert_true(++calls <= n + 1);
    } while (*cursor);
    assert_int_equal(got, ne);
    assert_true(cut_short > 0); /* the bound, not the page, ended some calls */
  }
}

static void test_scan_bound(void **state) {
  fixture *f = *state;
  ag_error e;
  append_range(f->db, 0, 200, 0);
  const ag_audit_query all = {.kind = AG_AUDIT_ANY}, cn = {.destination = "CN"};
  check_bounded(f->db, 200, &all);
  check_bounded(f->db, 200, &cn); /* scanned: nothing indexed yet */
  assert_int_equal(ag_audit_index_update(f->db, &e), AG_OK);
  append_range(f->db, 200, 260, 0); /* the index, then the records after it */
  check_bounded(f->db, 260, &cn);
  check_bounded(f->db, 260, &all);
}

static void test_memory_log_has_no_index(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &e), AG_OK);
  assert_int_equal(ag_audit_index_start(db, &e), AG_OK);
  append_range(db, 0, 90, 0);
  assert_int_equal(ag_audit_index_update(db, &e), AG_OK);
  check_all(db, 90, 0);
  ag_audit_close(db);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_exact_without_index),
      T(test_exact_with_index_complete_and_behind),
      T(test_index_of_another_log_is_rebuilt),
      T(test_missing_or_damaged_index),
      T(test_verify_checks_the_index),
      T(test_background_thread_catches_up),
      T(test_log_keeps_no_search_column_index),
      T(test_scan_bound),
      cmocka_unit_test(test_memory_log_has_no_index),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
