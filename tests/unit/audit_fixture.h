/*
 * audit_fixture.h - the cmocka fixture the audit tests share: a fresh audit
 * database (file "audit.db" in a new temporary directory) opened with the
 * default options for each test, closed and removed afterwards; and the
 * helpers they share to edit and read the file directly, to close and
 * reopen it, and to verify it afresh.
 */
#ifndef ACEGATE_TEST_AUDIT_FIXTURE_H
#define ACEGATE_TEST_AUDIT_FIXTURE_H

#include "acegate/audit.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  char dir[64];
  char path[128];
  ag_audit_db *db;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/ag_audit_XXXXXX");
  if (!mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
  ag_error e;
  if (ag_audit_open(f->path, NULL, &f->db, &e) != AG_OK) {
    fprintf(stderr, "open: %s: %s\n", e.field, e.reason);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ag_audit_close(f->db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

/* Runs SQL on the file through a connection of its own, as someone
 * editing the database directly would. */
static inline void raw_sql(const char *path, const char *sql) {
  sqlite3 *h;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fprintf(stderr, "sql: %s\n", msg);
  sqlite3_free(msg);
  sqlite3_close(h);
  assert_int_equal(rc, SQLITE_OK);
}

/* The first column of the first row of SQL run directly on the file. */
static inline int64_t sql_int(const char *path, const char *sql) {
  sqlite3 *h;
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return v;
}

/* Closes the fixture's log (files can then be changed under it) and opens
 * it again. */
static inline void close_log(fixture *f) {
  ag_audit_close(f->db);
  f->db = NULL;
}

static inline void open_log(fixture *f) {
  ag_error e;
  assert_int_equal(ag_audit_open(f->path, NULL, &f->db, &e), AG_OK);
}

/* Verifies the log at path through a read-only handle of its own, as
 * `acegate audit verify` does. */
static inline ag_audit_verify_report verify_file(const char *path) {
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_READONLY};
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(path, &o, &db, &e), AG_OK);
  ag_audit_verify_report r;
  assert_int_equal(ag_audit_verify(db, NULL, &r, &e), AG_OK);
  ag_audit_close(db);
  return r;
}

#endif
