/*
 * index_check.c - verify's check of the search index against the log.
 *
 * The log is the authority (15 CFR 762.6, 762.7: the records kept are the
 * records produced), and a filtered search finds the records up to the
 * index's mark through the index alone. So a row deleted from the index
 * (or a seq moved to another value) would hide a record from every search
 * by that column while the chain stays intact. Verify therefore reads the
 * index's postings and the log's search columns side by side, a range of
 * seqs at a time: every record up to the mark must sit in exactly one
 * posting per column, under the value the log holds, and the mark must name
 * a record of the log with its hash.
 */
#include "audit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Log columns in the index's column order (search.c, read_batch). */
static const char *const col_name[] = {"destination", "eccn", "outcome", "as_of"};
_Static_assert(sizeof col_name / sizeof col_name[0] == AUDIT_SEARCH_COLS,
               "index_check.c names every search column of search.c");

/* Seqs checked per pass: 4 x 4 bytes of memory each. */
#define RANGE 65536

typedef struct {
  ag_buf values;    /* NUL-terminated values of the postings read */
  int32_t *owner[AUDIT_SEARCH_COLS]; /* per seq of the range: offset in values, or -1 */
  int64_t *seqs;    /* one posting decoded */
} ranges;

static void mismatch(ag_audit_verify_report *rep, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mismatch(ag_audit_verify_report *rep, int64_t seq, const char *fmt, ...) {
  rep->problem = AG_AUDIT_INDEX_MISMATCH;
  rep->bad_seq = seq;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(rep->detail, sizeof rep->detail, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof rep->detail)
    snprintf(rep->detail + n, sizeof rep->detail - (size_t)n,
             "; delete the search index beside the log (with the log closed) to rebuild it");
}

/* Reads the postings that touch [lo, hi] into r->owner. */
static ag_status read_postings(audit_conn *c, int64_t lo, int64_t hi, ranges *r,
                               ag_audit_verify_report *rep, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h,
                         "SELECT col, value, first, n, seqs FROM search.postings"
                         " WHERE first <= ?2 AND last >= ?1",
                         -1, &s, NULL) != SQLITE_OK)
    return audit_db_error(err, c->h, "read the search index");
  sqlite3_bind_int64(s, 1, lo);
  sqlite3_bind_int64(s, 2, hi);
  ag_status st = AG_OK;
  int rc = SQLITE_DONE;
  while (rep->problem == AG_AUDIT_INTACT && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    int col = sqlite3_column_int(s, 0);
    int64_t first = sqlite3_column_int64(s, 2), n = sqlite3_column_int64(s, 3);
    if (col < 0 || col >= AUDIT_SEARCH_COLS ||
        !audit_postings_decode(sqlite3_column_blob(s, 4), (size_t)sqlite3_column_bytes(s, 4),
                               first, n, r->seqs)) {
      mismatch(rep, first, "a posting of the search index from seq %lld does not decode",
               (long long)first);
      break;
    }
    const char *v = audit_col_text(s, 1);
    size_t off = r->values.len;
    ag_buf_append(&r->values, v, strlen(v) + 1);
    if (r->values.failed || off > INT32_MAX) {
      st = ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
      break;
    }
    for (int64_t k = 0; k < n; k++) {
      int64_t seq = r->seqs[k];
      if (seq < lo || seq > hi)
        continue;
      int32_t *o = &r->owner[col][seq - lo];
      if (*o >= 0) {
        mismatch(rep, seq, "the search index holds record %lld twice under %s",
                 (long long)seq, col_name[col]);
        break;
      }
      *o = (int32_t)off;
    }
  }
  if (st == AG_OK && rep->problem == AG_AUDIT_INTACT && rc != SQLITE_DONE)
    st = audit_db_error(err, c->h, "read the search index");
  sqlite3_finalize(s);
  return st;
}

/* Compares the log's columns of [lo, hi] with what the postings said. */
static ag_status compare_range(audit_conn *c, int64_t lo, int64_t hi, ranges *r,
                               ag_audit_verify_report *rep, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h,
                         "SELECT seq, destination, eccn, outcome, as_of FROM audit_log"
                         " WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                         -1, &s, NULL) != SQLITE_OK)
    return audit_db_error(err, c->h, "verify");
  sqlite3_bind_int64(s, 1, lo);
  sqlite3_bind_int64(s, 2, hi);
  int rc = SQLITE_DONE;
  while (rep->problem == AG_AUDIT_INTACT && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(s, 0);
    for (int col = 0; col < AUDIT_SEARCH_COLS; col++) {
      int32_t o = r->owner[col][seq - lo];
      const char *v = audit_col_text(s, 1 + col);
      if (o < 0) {
        mismatch(rep, seq,
                 "record %lld is missing from the search index under %s \"%.40s\": searches "
                 "by %s would not find it",
                 (long long)seq, col_name[col], v, col_name[col]);
        break;
      }
      if (strcmp(r->values.data + o, v) != 0) {
        mismatch(rep, seq, "the search index files record %lld under %s \"%.40s\", the log says "
                           "\"%.40s\"",
                 (long long)seq, col_name[col], r->values.data + o, v);
        break;
      }
    }
  }
  ag_status st = rep->problem != AG_AUDIT_INTACT || rc == SQLITE_DONE
                     ? AG_OK
                     : audit_db_error(err, c->h, "verify");
  sqlite3_finalize(s);
  return st;
}

ag_status audit_index_check(ag_audit_db *db, audit_conn *c, ag_audit_verify_report *rep,
                            ag_error *err) {
  (void)db;
  int64_t mark = 0, span = 0;
  if (audit_search_mark(c, &mark, &span) != AG_OK || mark == 0)
    return AG_OK; /* no index (or none readable): searches scan the log */
  if (mark > rep->head_seq) {
    mismatch(rep, rep->head_seq + 1,
             "the search index holds records up to %lld but the log ends at %lld",
             (long long)mark, (long long)rep->head_seq);
    return AG_OK;
  }
  ranges r = {.seqs = malloc(4096 * sizeof *r.seqs)};
  ag_buf_init(&r.values);
  ag_status st = r.seqs ? AG_OK : ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  for (int col = 0; col < AUDIT_SEARCH_COLS && st == AG_OK; col++)
    if (!(r.owner[col] = malloc(RANGE * sizeof *r.owner[col])))
      st = ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  for (int64_t lo = 1; st == AG_OK && rep->problem == AG_AUDIT_INTACT && lo <= mark;
       lo += RANGE) {
    int64_t hi = lo + RANGE - 1 < mark ? lo + RANGE - 1 : mark;
    for (int col = 0; col < AUDIT_SEARCH_COLS; col++)
      memset(r.owner[col], 0xff, RANGE * sizeof *r.owner[col]);
    ag_buf_reset(&r.values);
    st = read_postings(c, lo, hi, &r, rep, err);
    if (st == AG_OK && rep->problem == AG_AUDIT_INTACT)
      st = compare_range(c, lo, hi, &r, rep, err);
  }
  for (int col = 0; col < AUDIT_SEARCH_COLS; col++)
    free(r.owner[col]);
  free(r.seqs);
  ag_buf_free(&r.values);
  return st;
}
