/*
 * fuzz_audit_stored.c - libFuzzer target: any bytes as the stored decision
 * of an audit record, as someone with write access to the database file
 * could leave them (a decision is normally a zstd frame, docs/audit.md).
 * Reading the record back (ag_audit_get) and walking the chain
 * (ag_audit_verify) must never crash, leak or read out of bounds; verify
 * may call the record intact only when it reads back exactly the decision
 * that was appended.
 */
#include "acegate/audit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ag_audit_db *db;
static sqlite3 *raw;
static sqlite3_stmt *overwrite;
static char dir[64], path[96], id[AG_AUDIT_ID_MAX];
static const char decision[] =
    "{\"outcome\":\"LICENSE_EXCEPTION_ACE\",\"decided_by\":\"740.22(b)(1)\",\"steps\":[{\"rule\":"
    "\"740.22(c)(1)(i)\",\"result\":\"not_applicable\",\"text\":\"740.22(c)(1)(i): License "
    "Exception ACE does not authorize exports, reexports or transfers to a destination in "
    "Country Group E:1 or E:2. Does not apply to this transaction.\"}]}";

static void cleanup(void) {
  sqlite3_finalize(overwrite);
  sqlite3_close(raw);
  ag_audit_close(db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", dir);
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/ag_fuzz_audit_XXXXXX");
  if (!mkdtemp(dir))
    abort();
  snprintf(path, sizeof path, "%s/audit.db", dir);
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_RELAXED};
  ag_error e;
  ag_audit_record r = {.kind = AG_AUDIT_CHECK,
                       .request = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\"}",
                       .request_len = 45,
                       .decision = decision,
                       .decision_len = sizeof decision - 1,
                       .destination = "DE",
                       .eccn = "4D004",
                       .outcome = "LICENSE_EXCEPTION_ACE"};
  if (ag_audit_open(path, &o, &db, &e) != AG_OK || ag_audit_append(db, &r, id, &e) != AG_OK ||
      sqlite3_open(path, &raw) != SQLITE_OK ||
      sqlite3_exec(raw, "DROP TRIGGER audit_log_no_update", NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(raw, "UPDATE audit_log SET decision = ?1 WHERE seq = 1", -1, &overwrite,
                         NULL) != SQLITE_OK)
    abort();
  atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (!db)
    setup();
  sqlite3_bind_blob(overwrite, 1, size ? (const void *)data : "", (int)size, SQLITE_TRANSIENT);
  int rc = sqlite3_step(overwrite);
  sqlite3_reset(overwrite);
  if (rc != SQLITE_DONE)
    abort();
  ag_error e;
  ag_audit_entry *x = NULL;
  if (ag_audit_get(db, id, &x, &e) == AG_OK) {
    if (x->decision_len > AG_AUDIT_BODY_MAX || x->decision[x->decision_len] != '\0')
      abort();
    ag_audit_entry_free(x);
  }
  ag_audit_verify_report rep;
  if (ag_audit_verify(db, NULL, &rep, &e) != AG_OK)
    abort(); /* a damaged record is a finding, not an error */
  if (rep.problem == AG_AUDIT_INTACT) {
    if (ag_audit_get(db, id, &x, &e) != AG_OK || x->decision_len != sizeof decision - 1 ||
        memcmp(x->decision, decision, x->decision_len) != 0)
      abort();
    ag_audit_entry_free(x);
  } else if (rep.bad_seq != 1) {
    abort();
  }
  return 0;
}
