/*
 * test_audit_sync.c - how appends are made durable: every acknowledged
 * commit is covered by an fsync of the write-ahead log (none in relaxed or
 * in-memory logs), key changes too; a log whose write-ahead log cannot be
 * synced refuses every later append; the two-step append (commit, then
 * wait until durable) the service uses; background checkpoints keep the
 * write-ahead log bounded while records move into the database file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Record i with a decision of decision_len bytes; *dec is the caller's to
 * free. */
static ag_audit_record make_record(int i, size_t decision_len, char req[64], char **dec) {
  snprintf(req, 64, "{\"i\":%d}", i);
  *dec = malloc(decision_len + 1);
  assert_non_null(*dec);
  /* a JSON string padded to the requested size with pseudo-random letters,
   * so the record does not compress away and fills the log as its size says */
  int head = snprintf(*dec, decision_len + 1, "{\"i\":%d,\"text\":\"", i);
  uint32_t x = 2463534242u + (uint32_t)i;
  for (size_t k = (size_t)head; k < decision_len - 2; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    (*dec)[k] = (char)('a' + x % 26);
  }
  memcpy(*dec + decision_len - 2, "\"}", 3);
  return (ag_audit_record){.kind = AG_AUDIT_CHECK,
                           .request = req,
                           .request_len = strlen(req),
                           .decision = *dec,
                           .decision_len = decision_len,
                           .destination = "DE",
                           .eccn = "4D004",
                           .outcome = "LICENSE_EXCEPTION_ACE"};
}

static ag_status append_one(ag_audit_db *db, int i, size_t decision_len, char id[AG_AUDIT_ID_MAX],
                            ag_error *e) {
  char req[64], *dec;
  ag_audit_record r = make_record(i, decision_len, req, &dec);
  ag_status st = ag_audit_append(db, &r, id, e);
  free(dec);
  return st;
}

static ag_audit_stats stats(ag_audit_db *db) {
  ag_audit_stats s;
  ag_audit_get_stats(db, &s);
  return s;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* One caller at a time: no commit can share another's fsync, so there is
 * exactly one per commit, and one for each key change. */
static void test_each_commit_is_synced(void **state) {
  fixture *f = *state;
  char id[AG_AUDIT_ID_MAX];
  ag_error e;
  for (int i = 0; i < 5; i++)
    assert_int_equal(append_one(f->db, i, 200, id, &e), AG_OK);
  ag_audit_stats s = stats(f->db);
  assert_int_equal(s.commits, 5);
  assert_int_equal(s.syncs, 5);
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k;
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_CHECKER, "t", tok, &k, &e), AG_OK);
  assert_int_equal(stats(f->db).syncs, 6);
  assert_int_equal(ag_keys_revoke(f->db, k.id, NULL, &e), AG_OK);
  assert_int_equal(stats(f->db).syncs, 7);
  /* revoking again changes nothing, so there is nothing to sync */
  assert_int_equal(ag_keys_revoke(f->db, k.id, NULL, &e), AG_OK);
  assert_int_equal(stats(f->db).syncs, 7);
}

static void test_relaxed_and_memory_do_not_sync(void **state) {
  fixture *f = *state;
  char path[160], id[AG_AUDIT_ID_MAX];
  snprintf(path, sizeof path, "%s/relaxed.db", f->dir);
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_RELAXED};
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(path, &o, &db, &e), AG_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(append_one(db, i, 100, id, &e), AG_OK);
  assert_int_equal(stats(db).commits, 3);
  assert_int_equal(stats(db).syncs, 0);
  ag_audit_close(db);
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &e), AG_OK);
  assert_int_equal(append_one(db, 0, 100, id, &e), AG_OK);
  assert_int_equal(stats(db).syncs, 0);
  ag_audit_close(db);
}

typedef struct {
  ag_audit_db *db;
  int first, count;
  size_t len;
  int failures;
} appender;

static void *append_loop(void *arg) {
  appender *a = arg;
  for (int i = a->first; i < a->first + a->count; i++) {
    char id[AG_AUDIT_ID_MAX];
    ag_error e;
    if (append_one(a->db, i, a->len, id, &e) != AG_OK)
      a->failures++;
  }
  return NULL;
}

static void run_appenders(ag_audit_db *db, int threads, int per_thread, size_t len) {
  pthread_t t[16];
  appender a[16];
  assert_true(threads <= 16);
  for (int i = 0; i < threads; i++) {
    a[i] = (appender){db, i * per_thread, per_thread, len, 0};
    assert_int_equal(pthread_create(&t[i], NULL, append_loop, &a[i]), 0);
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(a[i].failures, 0);
  }
}

static void assert_intact(const char *path, int64_t records) {
  ag_audit_verify_report r = verify_file(path);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, records);
}

/* Concurrent callers: never more fsyncs than commits, every record there
 * after a reopen. */
static void test_concurrent_appends_share_syncs(void **state) {
  fixture *f = *state;
  run_appenders(f->db, 16, 60, 300);
  ag_audit_stats s = stats(f->db);
  assert_int_equal(s.records, 16 * 60);
  assert_true(s.syncs >= 1);
  assert_true(s.syncs <= s.commits);
  print_message("%llu records, %llu commits, %llu fsyncs\n", (unsigned long long)s.records,
                (unsigned long long)s.commits, (unsigned long long)s.syncs);
  assert_intact(f->path, 16 * 60);
}

/* About 13 MB of records: far more than the 1000 pages that start a
 * checkpoint, so records must move into the database file, and the
 * write-ahead log must stay below the 64 MiB hard bound. */
static void test_checkpoints_bound_the_wal(void **state) {
  fixture *f = *state;
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", f->path);
  run_appenders(f->db, 8, 400, 4000);
  ag_audit_stats s = stats(f->db);
  assert_int_equal(s.records, 3200);
  assert_true(s.checkpoints >= 1);
  off_t wal_bytes = file_size(wal), db_bytes = file_size(f->path);
  print_message("database %lld bytes, write-ahead log %lld bytes, %llu checkpoints\n",
                (long long)db_bytes, (long long)wal_bytes, (unsigned long long)s.checkpoints);
  assert_true(wal_bytes < (off_t)64 << 20);
  assert_true(db_bytes >= (off_t)4 << 20);
  assert_intact(f->path, 3200);
}

/* If the write-ahead log cannot be synced (here: it was deleted under the
 * running log), the append that needed it fails rather than being
 * acknowledged, and so does every later one. */
static void test_unsyncable_wal_fails_appends(void **state) {
  fixture *f = *state;
  char wal[160], id[AG_AUDIT_ID_MAX];
  snprintf(wal, sizeof wal, "%s-wal", f->path);
  ag_error e;
  assert_int_equal(append_one(f->db, 0, 100, id, &e), AG_OK);
  assert_int_equal(unlink(wal), 0);
  assert_int_equal(append_one(f->db, 1, 100, id, &e), AG_ERR_DB);
  assert_string_equal(e.field, "db");
  assert_non_null(strstr(e.reason, "write-ahead log"));
  assert_string_equal(id, "");
  assert_int_equal(append_one(f->db, 2, 100, id, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "reopen"));
  char tok[AG_KEYS_TOKEN_MAX];
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_CHECKER, NULL, tok, NULL, &e), AG_ERR_DB);
}

/* Commits a batch of n records with ag_audit_commit_batch. */
static ag_status commit_n(ag_audit_db *db, int first, size_t n, char (*ids)[AG_AUDIT_ID_MAX],
                          uint64_t *ticket, ag_error *e) {
  ag_audit_record recs[4];
  char reqs[4][64], *decs[4];
  assert_true(n <= 4);
  for (size_t i = 0; i < n; i++)
    recs[i] = make_record(first + (int)i, 300, reqs[i], &decs[i]);
  ag_status st = ag_audit_commit_batch(db, recs, n, ids, ticket, e);
  for (size_t i = 0; i < n; i++)
    free(decs[i]);
  return st;
}

/* The two-step append: a commit is not synced until it is waited for, one
 * fsync then covers every commit made before it, and waiting again for a
 * covered commit costs nothing. */
static void test_commit_then_wait_durable(void **state) {
  fixture *f = *state;
  char ids[4][AG_AUDIT_ID_MAX], more[2][AG_AUDIT_ID_MAX];
  uint64_t t1 = 0, t2 = 0;
  ag_error e;
  assert_int_equal(commit_n(f->db, 0, 3, ids, &t1, &e), AG_OK);
  assert_true(t1 > 0);
  assert_string_not_equal(ids[0], ids[1]);
  assert_string_not_equal(ids[1], ids[2]);
  assert_int_equal(commit_n(f->db, 3, 2, more, &t2, &e), AG_OK);
  assert_true(t2 > t1);
  ag_audit_stats s = stats(f->db);
  assert_int_equal(s.commits, 2);
  assert_int_equal(s.records, 5);
  assert_int_equal(s.syncs, 0);
  /* committed records are readable before they are durable */
  ag_audit_entry *en;
  assert_int_equal(ag_audit_get(f->db, more[1], &en, &e), AG_OK);
  assert_int_equal(en->seq, 5);
  ag_audit_entry_free(en);
  assert_int_equal(ag_audit_wait_durable(f->db, t2, &e), AG_OK);
  assert_int_equal(stats(f->db).syncs, 1);
  assert_int_equal(ag_audit_wait_durable(f->db, t1, &e), AG_OK);
  assert_int_equal(stats(f->db).syncs, 1);
  assert_intact(f->path, 5);
}

/* Nothing to wait for without fsyncs; a bad record commits nothing. */
static void test_commit_batch_without_sync_and_bad_records(void **state) {
  fixture *f = *state;
  char ids[4][AG_AUDIT_ID_MAX];
  uint64_t t = 99;
  ag_error e;
  ag_audit_db *mem;
  assert_int_equal(ag_audit_open(":memory:", NULL, &mem, &e), AG_OK);
  assert_int_equal(commit_n(mem, 0, 2, ids, &t, &e), AG_OK);
  assert_int_equal(t, 0);
  assert_int_equal(ag_audit_wait_durable(mem, t, &e), AG_OK);
  assert_int_equal(stats(mem).records, 2);
  assert_int_equal(stats(mem).syncs, 0);
  ag_audit_close(mem);

  ag_audit_record recs[2];
  char reqs[2][64], *decs[2];
  for (int i = 0; i < 2; i++)
    recs[i] = make_record(i, 100, reqs[i], &decs[i]);
  recs[1].request_len = 0;
  t = 99;
  assert_int_equal(ag_audit_commit_batch(f->db, recs, 2, ids, &t, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "records[1].request");
  assert_int_equal(t, 0);
  for (int i = 0; i < 2; i++)
    free(decs[i]);
  assert_int_equal(stats(f->db).commits, 0);
}

/* A commit whose write-ahead log cannot be synced is never reported
 * durable, nor is any later one. */
static void test_unsyncable_wal_fails_wait(void **state) {
  fixture *f = *state;
  char wal[160], ids[4][AG_AUDIT_ID_MAX];
  snprintf(wal, sizeof wal, "%s-wal", f->path);
  uint64_t t = 0;
  ag_error e;
  assert_int_equal(commit_n(f->db, 0, 1, ids, &t, &e), AG_OK);
  assert_int_equal(ag_audit_wait_durable(f->db, t, &e), AG_OK);
  assert_int_equal(unlink(wal), 0);
  assert_int_equal(commit_n(f->db, 1, 1, ids, &t, &e), AG_OK);
  assert_int_equal(ag_audit_wait_durable(f->db, t, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "write-ahead log"));
  assert_int_equal(commit_n(f->db, 2, 1, ids, &t, &e), AG_OK);
  assert_int_equal(ag_audit_wait_durable(f->db, t, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "reopen"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_each_commit_is_synced),
      T(test_relaxed_and_memory_do_not_sync),
      T(test_concurrent_appends_share_syncs),
      T(test_checkpoints_bound_the_wal),
      T(test_unsyncable_wal_fails_appends),
      T(test_commit_then_wait_durable),
      T(test_commit_batch_without_sync_and_bad_records),
      T(test_unsyncable_wal_fails_wait),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
