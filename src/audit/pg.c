#include "audit_int.h"
const audit_store audit_pg_store = {.name = "postgresql"};
ag_status audit_pg_open(ag_audit_db *db, unsigned flags, ag_error *err) {
  (void)db; (void)flags;
  return ag_error_set(err, AG_ERR_DB, "db", "not yet");
}
