/*
 * backup.c - online copy of the audit database (15 CFR 762.6: records must
 * survive five years, so they need copies kept elsewhere).
 *
 * The copy is made with SQLite's backup API in a single step from a read
 * connection: the whole database is copied inside one read transaction, so
 * the copy is one consistent snapshot (head marker and chain agree) while
 * appends go on in WAL mode. A stepwise copy would restart on every commit
 * made by another connection and might never finish under load. The copy is
 * left in rollback-journal mode: a single file to archive.
 */
#include "audit_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void remove_copy(const char *path) {
  char side[4096];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-journal", path);
  unlink(side);
}

ag_status ag_audit_backup(ag_audit_db *db, const char *dest_path, ag_error *err) {
  if (!dest_path || !*dest_path)
    return ag_error_set(err, AG_ERR_INPUT, "to", "no backup path given");
  if (audit_is_pg_uri(dest_path))
    return ag_error_set(err, AG_ERR_INPUT, "to", "must be a file (audit migrate copies into "
                                                  "PostgreSQL)");
  return db->store->backup(db, dest_path, err);
}

ag_status audit_sqlite_backup(ag_audit_db *db, const char *dest_path, ag_error *err) {
  if (!dest_path || !*dest_path)
    return ag_error_set(err, AG_ERR_INPUT, "to", "no backup path given");
  if (!strcmp(dest_path, ":memory:"))
    return ag_error_set(err, AG_ERR_INPUT, "to", "must be a file");
  struct stat sb;
  if (stat(dest_path, &sb) == 0)
    return ag_error_set(err, AG_ERR_IO, "to", "'%s' already exists; backups never overwrite",
                        dest_path);
  if (errno != ENOENT)
    return ag_error_set(err, AG_ERR_IO, "to", "'%s': %s", dest_path, strerror(errno));

  sqlite3 *dst = NULL;
  int rc = sqlite3_open_v2(dest_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    ag_error_set(err, AG_ERR_IO, "to", "cannot create '%s': %s", dest_path,
                 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
    sqlite3_close(dst);
    return AG_ERR_IO;
  }
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK) {
    sqlite3_close(dst);
    remove_copy(dest_path);
    return st;
  }
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->h, "main");
  if (!b) {
    st = ag_error_set(err, AG_ERR_IO, "to", "backup to '%s': %s", dest_path, sqlite3_errmsg(dst));
  } else {
    /* -1: every page in one step, i.e. from one snapshot. BUSY only
     * happens when another process holds an exclusive lock; retry briefly. */
    for (int tries = 0;; tries++) {
      rc = sqlite3_backup_step(b, -1);
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries * 10 >= db->busy_ms)
        break;
      sqlite3_sleep(10);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
      st = ag_error_set(err, AG_ERR_IO, "to", "backup to '%s': %s", dest_path, sqlite3_errstr(rc));
  }
  audit_read_release(db, c);
  /* The copy is one self-contained file (rollback journal, not WAL), so it
   * can be read from read-only media without -wal and -shm files. */
  if (st == AG_OK &&
      sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
    st = ag_error_set(err, AG_ERR_IO, "to", "backup to '%s': %s", dest_path, sqlite3_errmsg(dst));
  if (st == AG_OK && sqlite3_close(dst) != SQLITE_OK)
    st = ag_error_set(err, AG_ERR_IO, "to", "closing '%s' failed", dest_path);
  else if (st != AG_OK)
    sqlite3_close(dst);
  if (st != AG_OK)
    remove_copy(dest_path);
  return st;
}
