/*
 * startcheck.c - what the service checks before it writes to a log, and the
 * head file beside the log that makes a replaced or emptied log visible.
 *
 * 15 CFR 762.6: records are kept five years. A service that starts on a
 * damaged log and goes on appending buries the damage under new records
 * (and on a log emptied or replaced by a new file, starts a second chain
 * that verifies by itself). So before it opens the log to write, the
 * service checks (ag_audit_check_start): SQLite's quick_check, the end of
 * the chain against the head marker, the append-only triggers, and the
 * head file.
 *
 * The head file ("<log>-head", one line "SEQ:HASH") holds the head of the
 * log as last seen by a process that wrote to it: written when such a
 * process closes the log and, while the service runs, by the search index
 * thread a few times a second. It lives outside the database, so emptying,
 * deleting or replacing the database file (with a new one or an older copy)
 * leaves it saying what the log held. It may lag the log (never run ahead
 * of it): the check is that the log still holds that record, with that
 * hash. It is written to a temporary file and renamed into place, so it is
 * whole or absent.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many records at the end of the chain the start check re-hashes. */
#define TAIL_RECORDS 1000

static void head_path(const char *log, char *out, size_t cap) {
  snprintf(out, cap, "%s" AG_AUDIT_HEAD_SUFFIX, log);
}

/* 1 read, 0 no file, -1 unreadable or malformed. */
static int head_read(const char *log, int64_t *seq, char hash[AG_AUDIT_HASH_HEX]) {
  char path[4096], line[128];
  head_path(log, path, sizeof path);
  FILE *f = fopen(path, "re");
  if (!f)
    return errno == ENOENT ? 0 : -1;
  bool ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  line[strcspn(line, "\n")] = '\0';
  ag_audit_anchor a;
  if (ok && !strncmp(line, "0:", 2) && !strcmp(line + 2, audit_genesis_hash)) {
    *seq = 0;
    memcpy(hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
    return 1;
  }
  if (!ok || !ag_audit_anchor_parse(line, &a))
    return -1;
  *seq = a.seq;
  memcpy(hash, a.hash, AG_AUDIT_HASH_HEX);
  return 1;
}

ag_status ag_audit_head_save(ag_audit_db *db, ag_error *err) {
  if (!db)
    return ag_error_set(err, AG_ERR_INPUT, "db", "missing argument");
  if (db->memory || db->readonly || db->store != &audit_sqlite_store)
    return AG_OK; /* PostgreSQL keeps its own head, and its own copies */
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s;
  int64_t seq = -1;
  char hash[AG_AUDIT_HASH_HEX] = "";
  if ((st = audit_stmt(c, ST_HEAD, &s, err)) == AG_OK) {
    if (sqlite3_step(s) == SQLITE_ROW) {
      seq = sqlite3_column_int64(s, 0);
      snprintf(hash, sizeof hash, "%s", audit_col_text(s, 1));
    } else {
      st = audit_db_error(err, c->h, "read the head marker");
    }
    sqlite3_reset(s);
  }
  audit_read_release(db, c);
  if (st != AG_OK || seq == atomic_load(&db->head_saved))
    return st;
  char path[4096], tmp[4200], line[128];
  head_path(db->path, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int n = snprintf(line, sizeof line, "%lld:%s\n", (long long)seq, hash);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0)
    ok = false;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return ag_error_set(err, AG_ERR_IO, "db", "cannot write the head file '%s': %s", path,
                        strerror(e));
  }
  atomic_store(&db->head_saved, seq);
  return AG_OK;
}

/* ---- the start check ---- */

static void problem(ag_audit_start_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(ag_audit_start_report *rep, const char *fmt, ...) {
  size_t at = strlen(rep->problems);
  if (at && at + 2 < sizeof rep->problems) {
    memcpy(rep->problems + at, "; ", 3);
    at += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep->problems + at, sizeof rep->problems - at, fmt, ap);
  va_end(ap);
  rep->damaged = true;
}

/* The first row of PRAGMA quick_check: "ok" when the file is sound. */
static ag_status quick_check(ag_audit_db *db, ag_audit_start_report *rep, ag_error *err) {
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(c->h, "PRAGMA quick_check(1)", -1, &s, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    char r[200];
    snprintf(r, sizeof r, "%s", audit_col_text(s, 0));
    for (char *p = r; *p; p++)
      if (*p == '\n')
        *p = ' ';
    if (strcmp(r, "ok") != 0)
      problem(rep, "SQLite's quick_check finds the file damaged: %s", r);
  } else {
    problem(rep, "SQLite's quick_check cannot read the file: %.200s", sqlite3_errmsg(c->h));
  }
  sqlite3_finalize(s);
  audit_read_release(db, c);
  return AG_OK;
}

/* The record at seq has this hash (a head file's). */
static ag_status holds(ag_audit_db *db, int64_t seq, const char *hash, bool *yes, ag_error *err) {
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s = NULL;
  *yes = false;
  if (sqlite3_prepare_v2(c->h, "SELECT hash FROM audit_log WHERE seq = ?1", -1, &s, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_int64(s, 1, seq);
    *yes = sqlite3_step(s) == SQLITE_ROW && !strcmp(audit_col_text(s, 0), hash);
  }
  sqlite3_finalize(s);
  audit_read_release(db, c);
  return AG_OK;
}

/* A PostgreSQL log: the end of its chain and its triggers. There is no
 * head file (the database is the operator's to replicate and restore) and
 * no file check (PostgreSQL checks its own pages). An unreachable server
 * is an error: the service does not start without its log. */
static ag_status check_start_pg(const char *uri, ag_audit_start_report *rep, ag_error *err) {
  ag_audit_db *db;
  ag_audit_options ro = {.flags = AG_AUDIT_OPEN_READONLY};
  ag_status st = ag_audit_open(uri, &ro, &db, err);
  if (st == AG_ERR_NOTFOUND) {
    rep->new_log = true;
    return AG_OK;
  }
  if (st != AG_OK)
    return st;
  ag_audit_verify_report v;
  ag_error why;
  if (audit_verify_tail(db, TAIL_RECORDS, &v, &why) != AG_OK) {
    problem(rep, "its last records cannot be read: %.300s", why.reason);
  } else {
    if (v.problem != AG_AUDIT_INTACT)
      problem(rep, "the end of the chain is broken at seq %lld: %s: %.300s", (long long)v.bad_seq,
              ag_audit_problem_name(v.problem), v.detail);
    if (!v.guards_present)
      problem(rep, "its append-only triggers are missing or disabled (the database was altered "
                   "outside acegate)");
    rep->head_seq = v.head_seq;
    memcpy(rep->head_hash, v.head_hash, AG_AUDIT_HASH_HEX);
  }
  ag_audit_close(db);
  return AG_OK;
}

ag_status ag_audit_check_start(const char *path, ag_audit_start_report *rep, ag_error *err) {
  memset(rep, 0, sizeof *rep);
  memcpy(rep->head_hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  if (!path || !*path)
    return ag_error_set(err, AG_ERR_INPUT, "db", "no database path given");
  if (!strcmp(path, ":memory:")) {
    rep->new_log = true;
    return AG_OK;
  }
  if (audit_is_pg_uri(path))
    return check_start_pg(path, rep, err);
  int64_t hseq = 0;
  char hhash[AG_AUDIT_HASH_HEX];
  int head = head_read(path, &hseq, hhash);
  if (head < 0)
    problem(rep, "the head file '%s" AG_AUDIT_HEAD_SUFFIX "' cannot be read", path);
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno != ENOENT)
      return ag_error_set(err, AG_ERR_DB, "db", "cannot open '%s': %s", path, strerror(errno));
    if (head > 0 && hseq > 0)
      problem(rep, "there is no log at '%s', but the head file beside it says it held %lld "
                   "records: the log was deleted or moved",
              path, (long long)hseq);
    rep->new_log = !rep->damaged;
    return AG_OK;
  }
  char wal[4200];
  snprintf(wal, sizeof wal, "%s-wal", path);
  struct stat wb;
  if (sb.st_size == 0 && (stat(wal, &wb) != 0 || wb.st_size == 0)) {
    if (head > 0 && hseq > 0)
      problem(rep, "'%s' is empty, but the head file beside it says the log held %lld records: "
                   "the log was truncated or replaced",
              path, (long long)hseq);
    else
      problem(rep, "'%s' is an empty file where a log is expected (remove it to start a new "
                   "log)",
              path);
    return AG_OK;
  }
  ag_audit_db *db;
  ag_audit_options ro = {.flags = AG_AUDIT_OPEN_READONLY};
  ag_error why;
  if (ag_audit_open(path, &ro, &db, &why) != AG_OK) {
    problem(rep, "it cannot be read as an audit log: %.300s", why.reason);
    return AG_OK;
  }
  ag_status st = quick_check(db, rep, err);
  ag_audit_verify_report v;
  if (st == AG_OK && !rep->damaged && (st = audit_verify_tail(db, TAIL_RECORDS, &v, &why)) != AG_OK) {
    problem(rep, "its last records cannot be read: %.300s", why.reason);
    st = AG_OK;
  } else if (st == AG_OK && !rep->damaged) {
    if (v.problem != AG_AUDIT_INTACT)
      problem(rep, "the end of the chain is broken at seq %lld: %s: %.300s", (long long)v.bad_seq,
              ag_audit_problem_name(v.problem), v.detail);
    if (!v.guards_present)
      problem(rep, "its append-only triggers are missing (the database was altered outside "
                   "acegate)");
    rep->head_seq = v.head_seq;
    memcpy(rep->head_hash, v.head_hash, AG_AUDIT_HASH_HEX);
    if (head > 0 && v.problem == AG_AUDIT_INTACT) {
      bool same = hseq == 0;
      if (hseq > v.head_seq)
        problem(rep, "the log ends at seq %lld but the head file beside it says %lld: records "
                     "were removed, or the log was replaced by an older copy",
                (long long)v.head_seq, (long long)hseq);
      else if (!same && (st = holds(db, hseq, hhash, &same, err)) == AG_OK && !same)
        problem(rep, "record %lld is not the one the head file beside it names: the log was "
                     "replaced or rewritten",
                (long long)hseq);
    }
  }
  ag_audit_close(db);
  return st;
}
