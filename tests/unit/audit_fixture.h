/*
 * audit_fixture.h - the cmocka fixture the audit tests share: a fresh audit
 * database (file "audit.db" in a new temporary directory) opened with the
 * default options for each test, closed and removed afterwards.
 */
#ifndef ACEGATE_TEST_AUDIT_FIXTURE_H
#define ACEGATE_TEST_AUDIT_FIXTURE_H

#include "acegate/audit.h"

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

#endif
