/*
 * test_audit_pg.c - how the PostgreSQL store makes appends durable
 * (docs/audit.md, "Durability and outages"): an append commits without
 * waiting for the WAL flush and is durable only once a flush on the
 * flusher connection has returned; a server restart between the two fails
 * the records not yet flushed instead of acknowledging them; appends after
 * the restart are acknowledged again. A search bounded in the records it
 * reads, and the open review queue read in such steps, as on SQLite.
 *
 * A real server: tests/cli/pg_lib.sh makes a cluster with initdb in a
 * temporary directory and runs it with pg_ctl on loopback (as nobody when
 * run as root). It is started once for the group and removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "acegate/review.h"

#include "../../src/review/review_int.h" /* the scan the open list must equal */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char uri[256], dir[256], port[16];
} server;

static server srv;

/* Runs one function of tests/cli/pg_lib.sh on the group's cluster. */
static int pg_lib(const char *fn) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "sh -c '. tests/cli/pg_lib.sh && PGD=\"$1\" && PGPORT=\"$2\" && %s' sh '%s' '%s'", fn,
           srv.dir, srv.port);
  return system(cmd);
}

static int start_server(void **state) {
  (void)state;
  FILE *p = popen("sh -c '. tests/cli/pg_lib.sh && pg_start >&2 && "
                  "printf \"%s %s %s\\n\" \"$PG_URI\" \"$PGD\" \"$PGPORT\"'",
                  "r");
  if (!p)
    return -1;
  int n = fscanf(p, "%255s %255s %15s", srv.uri, srv.dir, srv.port);
  int rc = pclose(p);
  if (n != 3 || rc != 0) {
    fprintf(stderr, "PostgreSQL could not be started (scripts/install-deps.sh installs it)\n");
    return -1;
  }
  return 0;
}

static int stop_server(void **state) {
  (void)state;
  return pg_lib("pg_cleanup");
}

static ag_audit_record record(int i, char req[64]) {
  snprintf(req, 64, "{\"i\":%d}", i);
  return (ag_audit_record){.kind = AG_AUDIT_CHECK,
                           .request = req,
                           .request_len = strlen(req),
                           .decision = "{\"outcome\":\"LICENSE_EXCEPTION_ACE\"}",
                           .decision_len = strlen("{\"outcome\":\"LICENSE_EXCEPTION_ACE\"}"),
                           .destination = "DE",
                           .eccn = "4D004",
                           .outcome = "LICENSE_EXCEPTION_ACE"};
}

/* Commits record i and returns its ticket, without waiting. */
static uint64_t commit_one(ag_audit_db *db, int i, char id[AG_AUDIT_ID_MAX]) {
  char req[64];
  ag_audit_record r = record(i, req);
  uint64_t ticket = 0;
  ag_error e;
  ag_status st = ag_audit_commit_batch(db, &r, 1, (char(*)[AG_AUDIT_ID_MAX])id, &ticket, &e);
  if (st != AG_OK)
    fprintf(stderr, "commit: %s: %s\n", e.field, e.reason);
  assert_int_equal(st, AG_OK);
  return ticket;
}

/* One value of a query, as text, into out. */
static void query(const char *text, char *out, size_t cap) {
  PGconn *c = PQconnectdb(srv.uri);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, text);
  assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
  snprintf(out, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  PQfinish(c);
}

static void sql(const char *text) {
  char ignored[8];
  query(text, ignored, sizeof ignored);
}

/* The commit itself leaves its WAL unflushed (the WAL writer's own flushes
 * put off for the test), and waiting flushes the WAL past it. */
static void test_durable_only_after_the_flush(void **state) {
  (void)state;
  sql("ALTER SYSTEM SET wal_writer_delay = '10s'");
  sql("SELECT pg_reload_conf()");
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(srv.uri, NULL, &db, &e), AG_OK);
  char id[AG_AUDIT_ID_MAX], end[64], q[160], yes[8];
  assert_int_equal(ag_audit_wait_durable(db, commit_one(db, 0, id), &e), AG_OK);
  uint64_t ticket = commit_one(db, 1, id);
  assert_true(ticket != 0);
  query("SELECT pg_current_wal_insert_lsn()", end, sizeof end);
  snprintf(q, sizeof q, "SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn", end);
  query(q, yes, sizeof yes);
  assert_string_equal(yes, "f");
  assert_int_equal(ag_audit_wait_durable(db, ticket, &e), AG_OK);
  query(q, yes, sizeof yes);
  assert_string_equal(yes, "t");
  ag_audit_close(db);
  sql("ALTER SYSTEM RESET wal_writer_delay");
  sql("SELECT pg_reload_conf()");
}

/* A record committed before an immediate shutdown and not yet flushed is
 * never acknowledged; the record committed after the restart is. */
static void test_restart_fails_unflushed_records(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(srv.uri, NULL, &db, &e), AG_OK);
  char id[AG_AUDIT_ID_MAX], id2[AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_wait_durable(db, commit_one(db, 10, id), &e), AG_OK);
  uint64_t pending = commit_one(db, 11, id);
  assert_int_equal(pg_lib("pg_stop_now && pg_restart"), 0);
  uint64_t after = commit_one(db, 12, id2);
  assert_int_equal(ag_audit_wait_durable(db, pending, &e), AG_ERR_DB);
  assert_non_null(strstr(e.reason, "restarted"));
  assert_int_equal(ag_audit_wait_durable(db, after, &e), AG_OK);
  /* and the log is one chain, whether or not the lost record survived */
  ag_audit_verify_report rep;
  assert_int_equal(ag_audit_verify(db, NULL, &rep, &e), AG_OK);
  assert_int_equal(rep.problem, AG_AUDIT_INTACT);
  ag_audit_close(db);
}

/* A restart with nothing pending loses nothing: the next append is
 * acknowledged (the connections are made again by themselves). */
static void test_restart_with_nothing_pending(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(srv.uri, NULL, &db, &e), AG_OK);
  char id[AG_AUDIT_ID_MAX];
  assert_int_equal(ag_audit_wait_durable(db, commit_one(db, 20, id), &e), AG_OK);
  assert_int_equal(pg_lib("pg_stop_now && pg_restart"), 0);
  assert_int_equal(ag_audit_wait_durable(db, commit_one(db, 21, id), &e), AG_OK);
  ag_audit_close(db);
}

/* ---- reading in bounded steps: the search's scan bound, the open queue ---- */

static bool every_third(void *ctx, const ag_audit_entry *e) {
  (*(int *)ctx)++;
  return e->seq % 3 == 0;
}

static const char review_answer[] =
    "{\"outcome\":\"REVIEW\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Acme Grop\","
    "\"matches\":[{\"source_id\":\"E1\",\"level\":\"possible\"}]}]}";

static bool count_steps(void *ctx, const ag_review_warm *w) {
  (void)w;
  (*(int *)ctx)++;
  return true;
}

/* A search with a scan bound reads no more records than that per call and
 * continues where it stopped; the open review queue read in such steps is
 * what a scan of the log finds, as on SQLite (test_review.c). */
static void test_bounded_reads(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(srv.uri, NULL, &db, &e), AG_OK);
  int64_t base;
  char hash[AG_AUDIT_HASH_HEX];
  assert_int_equal(ag_audit_head(db, &base, hash, &e), AG_OK);
  /* 3,000 records: every 60th a REVIEW check (the queue), else a clean one */
  size_t queued = 0;
  for (int from = 0; from < 3000; from += 500) {
    ag_audit_record recs[500];
    char reqs[500][64];
    char(*ids)[AG_AUDIT_ID_MAX] = malloc(500 * sizeof *ids);
    for (int j = 0; j < 500; j++) {
      recs[j] = record(from + j, reqs[j]);
      if ((from + j) % 60 == 7) {
        recs[j].decision = review_answer;
        recs[j].decision_len = strlen(review_answer);
        recs[j].outcome = "REVIEW";
        queued++;
      }
    }
    assert_int_equal(ag_audit_append_batch(db, recs, 500, ids, &e), AG_OK);
    free(ids);
  }
  char cursor[AG_AUDIT_CURSOR_MAX];
  snprintf(cursor, sizeof cursor, "f%llx", (unsigned long long)base);
  int64_t want = base + 1;
  while (want % 3)
    want++;
  int calls = 0, cut_short = 0;
  do {
    int shown = 0;
    ag_audit_query q = {
        .match = every_third, .match_ctx = &shown, .cursor = cursor, .limit = 4, .scan_max = 11};
    ag_audit_page p;
    assert_int_equal(ag_audit_search(db, &q, &p, &e), AG_OK);
    assert_true(shown <= 11);
    cut_short += p.count < 4 && p.next_cursor[0];
    for (size_t i = 0; i < p.count; i++, want += 3)
      assert_int_equal(p.entries[i]->seq, want);
    snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
    ag_audit_page_free(&p);
    assert_true(++calls < 1000);
  } while (cursor[0]);
  /* every third record, each once, up to the last */
  assert_true(want > base + 3000 && want - 3 <= base + 3000);
  assert_true(cut_short > 0);

  int steps = 0;
  ag_review_warm w;
  assert_int_equal(ag_review_queue_warm(db, count_steps, &steps, &w, &e), AG_OK);
  assert_int_equal(w.upto, base + 3000);
  assert_int_equal(w.items, queued);
  assert_true(steps >= 3);
  for (size_t limit = 0; limit <= 20; limit += 20) {
    char page_cursor[AG_AUDIT_CURSOR_MAX] = "";
    do {
      ag_buf a, b;
      ag_buf_init(&a);
      ag_buf_init(&b);
      assert_int_equal(ag_review_queue(db, "open", page_cursor, limit, &a, &e), AG_OK);
      assert_int_equal(review_queue_scan(db, "open", NULL, page_cursor, limit, &b, &e), AG_OK);
      ag_buf_putc(&a, '\0');
      ag_buf_putc(&b, '\0');
      assert_string_equal(a.data, b.data);
      const char *next = strstr(a.data, "\"next_cursor\":\"");
      page_cursor[0] = '\0';
      if (next)
        sscanf(next + 15, "%31[^\"]", page_cursor);
      ag_buf_free(&a);
      ag_buf_free(&b);
    } while (page_cursor[0]);
  }
  ag_audit_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_durable_only_after_the_flush),
      cmocka_unit_test(test_restart_fails_unflushed_records),
      cmocka_unit_test(test_restart_with_nothing_pending),
      cmocka_unit_test(test_bounded_reads),
  };
  return cmocka_run_group_tests(tests, start_server, stop_server);
}
