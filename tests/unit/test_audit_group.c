/*
 * test_audit_group.c - concurrent use of one audit handle: group commit from
 * many threads (every record durable, chain consistent, each thread's
 * records in its own order), readers alongside writers, and online backup
 * while appends go on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define PER_THREAD 250

typedef struct {
  ag_audit_db *db;
  int thread;
  int count;
  char (*ids)[AG_AUDIT_ID_MAX];
  atomic_bool *stop; /* NULL: append count records; else until set */
  atomic_int done;
  int failures;
} writer;

static void *write_loop(void *arg) {
  writer *w = arg;
  for (int i = 0; w->stop ? !atomic_load(w->stop) : i < w->count; i++) {
    char req[128], dec[128], id[AG_AUDIT_ID_MAX];
    snprintf(req, sizeof req, "{\"thread\":%d,\"i\":%d}", w->thread, i);
    snprintf(dec, sizeof dec, "{\"outcome\":\"authorized\",\"thread\":%d,\"i\":%d}", w->thread, i);
    ag_audit_record r = {.kind = AG_AUDIT_CHECK,
                         .request = req,
                         .request_len = strlen(req),
                         .decision = dec,
                         .decision_len = strlen(dec),
                         .destination = "DE",
                         .eccn = "5A001.j",
                         .outcome = "authorized"};
    ag_error e;
    if (ag_audit_append(w->db, &r, id, &e) != AG_OK) {
      fprintf(stderr, "append: %s: %s\n", e.field, e.reason);
      w->failures++;
      continue;
    }
    if (w->ids)
      memcpy(w->ids[i], id, sizeof id);
    w->done++;
  }
  return NULL;
}

static int cmp_id(const void *a, const void *b) {
  return strcmp(a, b);
}

static void run_group(ag_audit_db *db, bool expect_batching) {
  pthread_t t[THREADS];
  writer w[THREADS];
  char(*ids)[AG_AUDIT_ID_MAX] = calloc(THREADS * PER_THREAD, AG_AUDIT_ID_MAX);
  for (int i = 0; i < THREADS; i++) {
    w[i] = (writer){.db = db, .thread = i, .count = PER_THREAD, .ids = ids + i * PER_THREAD};
    pthread_create(&t[i], NULL, write_loop, &w[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
    assert_int_equal(w[i].done, PER_THREAD);
  }
  /* every acknowledged record is there, in its thread's order */
  for (int i = 0; i < THREADS; i++) {
    int64_t last = 0;
    for (int k = 0; k < PER_THREAD; k++) {
      ag_audit_entry *x;
      ag_error e;
      assert_int_equal(ag_audit_get(db, ids[i * PER_THREAD + k], &x, &e), AG_OK);
      assert_true(x->seq > last);
      last = x->seq;
      char want[128];
      snprintf(want, sizeof want, "{\"thread\":%d,\"i\":%d}", i, k);
      assert_string_equal(x->request, want);
      ag_audit_entry_free(x);
    }
  }
  qsort(ids, THREADS * PER_THREAD, AG_AUDIT_ID_MAX, cmp_id);
  for (int i = 1; i < THREADS * PER_THREAD; i++)
    assert_string_not_equal(ids[i - 1], ids[i]);
  free(ids);

  ag_audit_verify_report r;
  ag_error e;
  assert_int_equal(ag_audit_verify(db, NULL, &r, &e), AG_OK);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, THREADS * PER_THREAD);

  ag_audit_stats s;
  ag_audit_get_stats(db, &s);
  assert_int_equal(s.records, THREADS * PER_THREAD);
  assert_true(s.commits <= s.records);
  if (expect_batching)
    assert_true(s.commits < s.records);
  print_message("%llu records in %llu commits\n", (unsigned long long)s.records,
                (unsigned long long)s.commits);
}

static void test_group_commit_file(void **state) {
  fixture *f = *state;
  run_group(f->db, true);
  /* and a fresh handle sees exactly the same */
  ag_audit_db *db2;
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  assert_int_equal(ag_audit_open(f->path, &o, &db2, &e), AG_OK);
  ag_audit_verify_report r;
  assert_int_equal(ag_audit_verify(db2, NULL, &r, &e), AG_OK);
  assert_int_equal(r.records, THREADS * PER_THREAD);
  ag_audit_close(db2);
}

static void test_group_commit_memory(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &e), AG_OK);
  run_group(db, false);
  ag_audit_close(db);
}

/* Two handles on one file, as two processes would have: the chain stays
 * one chain because each batch continues from the head marker it reads
 * inside its write transaction. */
static void test_two_handles_one_file(void **state) {
  fixture *f = *state;
  ag_audit_db *db2;
  ag_error e;
  assert_int_equal(ag_audit_open(f->path, NULL, &db2, &e), AG_OK);
  pthread_t t[4];
  writer w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer){.db = i % 2 ? db2 : f->db, .thread = i, .count = 100};
    pthread_create(&t[i], NULL, write_loop, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  ag_audit_verify_report r;
  assert_int_equal(ag_audit_verify(f->db, NULL, &r, &e), AG_OK);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, 400);
  ag_audit_close(db2);
}

typedef struct {
  ag_audit_db *db;
  atomic_bool *stop;
  int errors;
  atomic_int rounds;
} reader;

/* Records the writers have appended so far. */
static int written(writer *w, int n) {
  int total = 0;
  for (int i = 0; i < n; i++)
    total += atomic_load(&w[i].done);
  return total;
}

/* Waits (without a deadline: a hang is a failure the harness reports)
 * until the writers have appended at least `records` and each reader has
 * finished `rounds` searches. */
static void wait_for(writer *w, int nw, int records, reader *rd, int nr, int rounds) {
  const struct timespec tick = {.tv_nsec = 1000000};
  for (;;) {
    bool readers_done = true;
    for (int i = 0; i < nr; i++)
      readers_done &= atomic_load(&rd[i].rounds) >= rounds;
    if (readers_done && written(w, nw) >= records)
      return;
    nanosleep(&tick, NULL);
  }
}

static void *read_loop(void *arg) {
  reader *rd = arg;
  while (!atomic_load(rd->stop)) {
    ag_audit_page p;
    ag_error e;
    ag_audit_query q = {.destination = "DE", .limit = 20, .newest_first = true};
    if (ag_audit_search(rd->db, &q, &p, &e) != AG_OK) {
      rd->errors++;
      continue;
    }
    for (size_t i = 0; i < p.count; i++) {
      ag_audit_entry *x;
      if (ag_audit_get(rd->db, p.entries[i]->id, &x, &e) != AG_OK)
        rd->errors++;
      else
        ag_audit_entry_free(x);
    }
    ag_audit_page_free(&p);
    ag_audit_verify_report r;
    if (ag_audit_verify(rd->db, NULL, &r, &e) != AG_OK || r.problem != AG_AUDIT_INTACT)
      rd->errors++;
    rd->rounds++;
  }
  return NULL;
}

static void test_readers_during_writes(void **state) {
  fixture *f = *state;
  atomic_bool stop = false, wstop = false;
  pthread_t wt[4], rt[2];
  writer w[4];
  reader rd[2];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer){.db = f->db, .thread = i, .stop = &wstop};
    pthread_create(&wt[i], NULL, write_loop, &w[i]);
  }
  for (int i = 0; i < 2; i++) {
    rd[i] = (reader){.db = f->db, .stop = &stop};
    pthread_create(&rt[i], NULL, read_loop, &rd[i]);
  }
  /* the readers search while the writers append, several times over */
  wait_for(w, 4, 200, rd, 2, 5);
  atomic_store(&stop, true);
  atomic_store(&wstop, true);
  int total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(wt[i], NULL);
    assert_int_equal(w[i].failures, 0);
    total += w[i].done;
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(rt[i], NULL);
    assert_int_equal(rd[i].errors, 0);
    assert_true(atomic_load(&rd[i].rounds) >= 5);
  }
  ag_audit_verify_report r;
  ag_error e;
  assert_int_equal(ag_audit_verify(f->db, NULL, &r, &e), AG_OK);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, total);
}

static void test_backup_while_writing(void **state) {
  fixture *f = *state;
  atomic_bool stop = false;
  pthread_t t[4];
  writer w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (writer){.db = f->db, .thread = i, .stop = &stop};
    pthread_create(&t[i], NULL, write_loop, &w[i]);
  }
  int64_t last_copy = 0;
  for (int k = 0; k < 3; k++) {
    /* each copy taken once the writers are 50 records past the last */
    wait_for(w, 4, (int)last_copy + 50, NULL, 0, 0);
    char p[160];
    snprintf(p, sizeof p, "%s/copy%d.db", f->dir, k);
    ag_error e;
    assert_int_equal(ag_audit_backup(f->db, p, &e), AG_OK);
    ag_audit_db *copy;
    ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
    assert_int_equal(ag_audit_open(p, &o, &copy, &e), AG_OK);
    ag_audit_verify_report r;
    assert_int_equal(ag_audit_verify(copy, NULL, &r, &e), AG_OK);
    assert_int_equal(r.problem, AG_AUDIT_INTACT);
    assert_true(r.records > last_copy); /* writers kept going */
    last_copy = r.records;
    /* the copy's last record is the source's record at that seq */
    ag_audit_page pg;
    ag_audit_query q = {.newest_first = true, .limit = 1};
    assert_int_equal(ag_audit_search(copy, &q, &pg, &e), AG_OK);
    assert_int_equal(pg.count, 1);
    ag_audit_entry *x;
    assert_int_equal(ag_audit_get(f->db, pg.entries[0]->id, &x, &e), AG_OK);
    assert_string_equal(x->hash, r.head_hash);
    ag_audit_entry_free(x);
    ag_audit_page_free(&pg);
    ag_audit_close(copy);
  }
  atomic_store(&stop, true);
  int total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
    total += w[i].done;
  }
  assert_true(total >= last_copy);
  ag_audit_verify_report r;
  ag_error e;
  assert_int_equal(ag_audit_verify(f->db, NULL, &r, &e), AG_OK);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  assert_int_equal(r.records, total);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_group_commit_file),    cmocka_unit_test(test_group_commit_memory),
      T(test_two_handles_one_file), T(test_readers_during_writes),
      T(test_backup_while_writing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
