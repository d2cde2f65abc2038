/*
 * search.c - the search index: the log's search columns (as_of,
 * destination, eccn, outcome) indexed in a database of their own beside the
 * log ("<log>-search"), brought up to date in the background.
 *
 * Why not indexes on audit_log itself: SQLite updates every index of a table
 * inside each INSERT, so four search indexes cost about 40 % of every append
 * on the writer's critical path, where each microsecond delays every
 * decision waiting for its record to be durable. Kept apart, the index is
 * updated by its own thread and connection without ever taking the log's
 * write lock, and as posting lists: each batch of up to CHUNK consecutive
 * records becomes one row per column and value, holding the seqs of the
 * records with that value (delta-coded varints). That is a few rows per
 * thousand records instead of four index entries per record, so keeping
 * the index costs about a microsecond of background CPU per record.
 *
 * The index holds only what it copied from the log; the log stays the
 * authority (15 CFR 762.6: the records themselves are what is produced):
 *  - it notes the last record it holds (seq and hash); if the log does not
 *    hold that record with that hash (the index is from another log, or the
 *    log was restored from an older copy), it is emptied and rebuilt. A
 *    missing index file is built again (a damaged one fails the searches
 *    that read it, naming it, until it is deleted with the log closed);
 *  - ag_audit_search (query.c) reads the index and the log in one snapshot,
 *    takes records up to the index's last seq through it and scans the log
 *    for the records after it, so lag never hides a record; and it applies
 *    every filter again to the record read from the log, so a damaged index
 *    can never make a search return a record that does not match.
 * Backups copy the log alone; an index is rebuilt from the copy when needed.
 */
#include "audit_int.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Records copied per transaction of the index. */
#define CHUNK 4096
/* How often the background thread looks for new records. */
#define PERIOD_MS 250
/* How long fewer than CHUNK new records wait to be indexed. */
#define FLUSH_MS 10000

static const char index_schema[] =
    "CREATE TABLE IF NOT EXISTS search_meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    /* the records of one batch (seqs first..last) whose column col holds
     * value: n seqs, delta-coded */
    "CREATE TABLE IF NOT EXISTS postings("
    " col INTEGER NOT NULL,"
    " value TEXT NOT NULL,"
    " first INTEGER NOT NULL,"
    " last INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " seqs BLOB NOT NULL,"
    " PRIMARY KEY (col, value, first)) WITHOUT ROWID;";

ag_status audit_search_init(ag_audit_db *db, ag_error *err) {
  if (db->memory)
    return AG_OK; /* nothing beside a private in-memory log: searches scan it */
  size_t n = strlen(db->path) + sizeof "-search";
  if (!(db->search_path = malloc(n)))
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  snprintf(db->search_path, n, "%s-search", db->path);
  return AG_OK;
}

/* Opens the index for writing, creating it if needed. Caller holds imu. */
static ag_status open_index(ag_audit_db *db, ag_error *err) {
  if (db->ix)
    return AG_OK;
  int rc = sqlite3_open_v2(db->search_path, &db->ix,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  ag_status st = AG_OK;
  if (rc != SQLITE_OK) {
    st = ag_error_set(err, AG_ERR_DB, "db", "cannot open the search index '%s': %s",
                      db->search_path, db->ix ? sqlite3_errmsg(db->ix) : sqlite3_errstr(rc));
  } else {
    sqlite3_busy_timeout(db->ix, db->busy_ms);
    /* derived data: WAL with NORMAL never corrupts it, and what a power
     * failure loses is copied again */
    st = audit_exec(db->ix,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                    "BEGIN IMMEDIATE",
                    err);
    if (st == AG_OK && (st = audit_exec(db->ix, index_schema, err)) == AG_OK)
      st = audit_exec(db->ix, "COMMIT", err);
    else if (st == AG_OK || !sqlite3_get_autocommit(db->ix))
      sqlite3_exec(db->ix, "ROLLBACK", NULL, NULL, NULL);
  }
  if (st != AG_OK) {
    sqlite3_close(db->ix);
    db->ix = NULL;
  }
  return st;
}

/* What the index holds: its last record (seq 0 when none) and the widest
 * seq span of one batch. */
typedef struct {
  int64_t seq, span;
  char hash[AG_AUDIT_HASH_HEX];
} index_mark;

static ag_status read_mark(sqlite3 *h, const char *schema, index_mark *m, ag_error *err) {
  memset(m, 0, sizeof *m);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT name, value FROM %s.search_meta", schema);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) {
    sqlite3_finalize(s);
    return audit_db_error(err, h, "read the search index");
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = audit_col_text(s, 0);
    if (!strcmp(name, "seq"))
      m->seq = sqlite3_column_int64(s, 1);
    else if (!strcmp(name, "span"))
      m->span = sqlite3_column_int64(s, 1);
    else if (!strcmp(name, "hash"))
      snprintf(m->hash, sizeof m->hash, "%s", audit_col_text(s, 1));
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? AG_OK : audit_db_error(err, h, "read the search index");
}

/* True if the log holds record seq with this hash. */
static ag_status log_holds(audit_conn *c, int64_t seq, const char *hash, bool *holds,
                           ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h, "SELECT hash FROM audit_log WHERE seq = ?1", -1, &s, NULL) !=
      SQLITE_OK)
    return audit_db_error(err, c->h, "read the log");
  sqlite3_bind_int64(s, 1, seq);
  int rc = sqlite3_step(s);
  *holds = rc == SQLITE_ROW && !strcmp(audit_col_text(s, 0), hash);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? AG_OK : audit_db_error(err, c->h, "read the log");
}

/* ---- a batch of records, as postings ---- */

/* One record's value in one column: value at offset off of the batch's
 * text. */
typedef struct {
  size_t off;
  int64_t seq;
} posting;

typedef struct {
  ag_buf text; /* the values, NUL-terminated */
  posting *p[AUDIT_SEARCH_COLS];
  size_t n;
  int64_t last;
  char last_hash[AG_AUDIT_HASH_HEX];
} batch;

static int by_value_then_seq(const void *a, const void *b, void *text) {
  const posting *x = a, *y = b;
  int c = strcmp((const char *)text + x->off, (const char *)text + y->off);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void put_varint(ag_buf *b, uint64_t v) {
  while (v >= 0x80) {
    ag_buf_putc(b, (char)((v & 0x7f) | 0x80));
    v >>= 7;
  }
  ag_buf_putc(b, (char)v);
}

/* Reads up to CHUNK records after `after` from the log. */
static ag_status read_batch(audit_conn *c, int64_t after, batch *bt, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h,
                         "SELECT seq, destination, eccn, outcome, as_of, hash FROM audit_log"
                         " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                         -1, &s, NULL) != SQLITE_OK)
    return audit_db_error(err, c->h, "read the log");
  sqlite3_bind_int64(s, 1, after);
  sqlite3_bind_int(s, 2, CHUNK);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && !bt->text.failed) {
    int64_t seq = sqlite3_column_int64(s, 0);
    for (int col = 0; col < AUDIT_SEARCH_COLS; col++) {
      bt->p[col][bt->n] = (posting){.off = bt->text.len, .seq = seq};
      const char *v = audit_col_text(s, 1 + col);
      ag_buf_append(&bt->text, v, strlen(v) + 1);
    }
    bt->n++;
    bt->last = seq;
    snprintf(bt->last_hash, sizeof bt->last_hash, "%s", audit_col_text(s, 5));
  }
  sqlite3_finalize(s);
  if (bt->text.failed)
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? AG_OK : audit_db_error(err, c->h, "read the log");
}

/* Writes the batch as postings, and the new mark, in one transaction. */
static ag_status write_batch(ag_audit_db *db, batch *bt, int64_t span, ag_error *err) {
  sqlite3_stmt *ins = NULL, *mark = NULL;
  ag_buf seqs;
  ag_buf_init(&seqs);
  ag_status st = AG_OK;
  if (sqlite3_prepare_v2(db->ix, "INSERT OR REPLACE INTO postings VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                         -1, &ins, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db->ix,
                         "INSERT OR REPLACE INTO search_meta VALUES"
                         " ('seq', ?1), ('hash', ?2), ('span', ?3)",
                         -1, &mark, NULL) != SQLITE_OK ||
      (st = audit_exec(db->ix, "BEGIN IMMEDIATE", err)) != AG_OK) {
    st = st != AG_OK ? st : audit_db_error(err, db->ix, "update the search index");
    goto done;
  }
  for (int col = 0; col < AUDIT_SEARCH_COLS && st == AG_OK; col++) {
    posting *p = bt->p[col];
    qsort_r(p, bt->n, sizeof *p, by_value_then_seq, bt->text.data);
    for (size_t i = 0, j; i < bt->n && st == AG_OK; i = j) {
      const char *value = bt->text.data + p[i].off;
      ag_buf_reset(&seqs);
      for (j = i; j < bt->n && !strcmp(value, bt->text.data + p[j].off); j++)
        put_varint(&seqs, (uint64_t)(p[j].seq - (j > i ? p[j - 1].seq : p[i].seq)));
      if (seqs.failed) {
        st = ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
        break;
      }
      sqlite3_bind_int(ins, 1, col);
      sqlite3_bind_text(ins, 2, value, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 3, p[i].seq);
      sqlite3_bind_int64(ins, 4, p[j - 1].seq);
      sqlite3_bind_int64(ins, 5, (sqlite3_int64)(j - i));
      sqlite3_bind_blob(ins, 6, seqs.data, (int)seqs.len, SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE)
        st = audit_db_error(err, db->ix, "update the search index");
      sqlite3_reset(ins);
    }
  }
  if (st == AG_OK) {
    sqlite3_bind_int64(mark, 1, bt->last);
    sqlite3_bind_text(mark, 2, bt->last_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(mark, 3, span);
    if (sqlite3_step(mark) != SQLITE_DONE)
      st = audit_db_error(err, db->ix, "update the search index");
  }
  if (st == AG_OK)
    st = audit_exec(db->ix, "COMMIT", err);
  if (st != AG_OK)
    sqlite3_exec(db->ix, "ROLLBACK", NULL, NULL, NULL);
done:
  sqlite3_finalize(ins);
  sqlite3_finalize(mark);
  ag_buf_free(&seqs);
  return st;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Brings the index up to date. Unless `all`, a batch short of CHUNK records
 * waits until FLUSH_MS after the last one written, so a quiet log does not
 * fill the index with tiny batches (searches scan the log for the rest).
 * Caller holds imu. */
static ag_status update_locked(ag_audit_db *db, bool all, ag_error *err) {
  ag_status st = open_index(db, err);
  if (st != AG_OK)
    return st;
  audit_conn *c;
  if ((st = audit_read_acquire(db, &c, err)) != AG_OK)
    return st;
  index_mark m;
  bool holds = true;
  if ((st = read_mark(db->ix, "main", &m, err)) == AG_OK && m.seq > 0)
    st = log_holds(c, m.seq, m.hash, &holds, err);
  if (st == AG_OK && !holds) {
    /* made from another log, or this log was restored from an older copy */
    st = audit_exec(db->ix,
                    "BEGIN IMMEDIATE; DELETE FROM postings; DELETE FROM search_meta; COMMIT", err);
    if (st != AG_OK)
      sqlite3_exec(db->ix, "ROLLBACK", NULL, NULL, NULL);
    memset(&m, 0, sizeof m);
  }
  batch bt = {.n = 0};
  ag_buf_init(&bt.text);
  for (int col = 0; col < AUDIT_SEARCH_COLS && st == AG_OK; col++)
    if (!(bt.p[col] = malloc(CHUNK * sizeof *bt.p[col])))
      st = ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  while (st == AG_OK && !atomic_load(&db->ix_stop)) {
    bt.n = 0;
    ag_buf_reset(&bt.text);
    if ((st = read_batch(c, m.seq, &bt, err)) != AG_OK || bt.n == 0)
      break;
    if (bt.n < CHUNK && !all && now_ms() - db->ix_written_ms < FLUSH_MS)
      break;
    int64_t span = bt.p[0][bt.n - 1].seq - bt.p[0][0].seq;
    if (span < m.span)
      span = m.span;
    if ((st = write_batch(db, &bt, span, err)) != AG_OK)
      break;
    db->ix_written_ms = now_ms();
    m.seq = bt.last;
    m.span = span;
    if (bt.n < CHUNK)
      break;
  }
  for (int col = 0; col < AUDIT_SEARCH_COLS; col++)
    free(bt.p[col]);
  ag_buf_free(&bt.text);
  audit_read_release(db, c);
  return st;
}

ag_status ag_audit_index_update(ag_audit_db *db, ag_error *err) {
  if (!db)
    return ag_error_set(err, AG_ERR_INPUT, "db", "missing argument");
  if (!db->search_path)
    return AG_OK;
  pthread_mutex_lock(&db->imu);
  ag_status st = update_locked(db, true, err);
  pthread_mutex_unlock(&db->imu);
  return st;
}

static void *indexer_main(void *arg) {
  ag_audit_db *db = arg;
  /* derived data: copied with CPU time nothing else wants, never taking it
   * from the decisions waiting for their records (best effort) */
  struct sched_param idle = {.sched_priority = 0};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
  pthread_mutex_lock(&db->imu);
  while (!atomic_load(&db->ix_stop)) {
    ag_error err;
    ag_error_clear(&err);
    /* a failure (a locked or damaged file) is tried again next period;
     * searches scan the log for whatever the index lacks meanwhile */
    if (update_locked(db, false, &err) != AG_OK && db->ix) {
      sqlite3_close(db->ix);
      db->ix = NULL;
    }
    ag_audit_head_save(db, &err); /* the head file follows the log (startcheck.c) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += PERIOD_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (!atomic_load(&db->ix_stop))
      pthread_cond_timedwait(&db->icv, &db->imu, &until);
  }
  pthread_mutex_unlock(&db->imu);
  return NULL;
}

ag_status ag_audit_index_start(ag_audit_db *db, ag_error *err) {
  if (!db)
    return ag_error_set(err, AG_ERR_INPUT, "db", "missing argument");
  if (!db->search_path || db->ix_started)
    return AG_OK;
  if (pthread_create(&db->ix_thread, NULL, indexer_main, db) != 0)
    return ag_error_set(err, AG_ERR_INTERNAL, "db", "cannot start the search index thread");
  pthread_setname_np(db->ix_thread, "audit-index"); /* named when its opener returns */
  db->ix_started = true;
  return AG_OK;
}

void audit_search_close(ag_audit_db *db) {
  if (db->ix_started) {
    pthread_mutex_lock(&db->imu);
    atomic_store(&db->ix_stop, true);
    pthread_cond_signal(&db->icv);
    pthread_mutex_unlock(&db->imu);
    pthread_join(db->ix_thread, NULL);
    db->ix_started = false;
  }
  sqlite3_close(db->ix);
  db->ix = NULL;
  free(db->search_path);
  db->search_path = NULL;
}

/* ---- reading postings (for query.c) ---- */

ag_status audit_postings_open(audit_conn *c, int col, const char *value, int64_t lo, int64_t hi,
                              int64_t span, bool desc, audit_postings *it, ag_error *err) {
  memset(it, 0, sizeof *it);
  it->lo = lo;
  it->hi = hi;
  it->desc = desc;
  /* a batch holding a seq >= lo starts at most span before it */
  const char *sql = desc
                        ? "SELECT first, n, seqs FROM search.postings WHERE col = ?1 AND value = ?2"
                          " AND first >= ?3 AND first <= ?4 AND last >= ?5 ORDER BY first DESC"
                        : "SELECT first, n, seqs FROM search.postings WHERE col = ?1 AND value = ?2"
                          " AND first >= ?3 AND first <= ?4 AND last >= ?5 ORDER BY first ASC";
  if (sqlite3_prepare_v2(c->h, sql, -1, &it->s, NULL) != SQLITE_OK)
    return audit_db_error(err, c->h, "read the search index");
  sqlite3_bind_int(it->s, 1, col);
  sqlite3_bind_text(it->s, 2, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64(it->s, 3, lo - span);
  sqlite3_bind_int64(it->s, 4, hi);
  sqlite3_bind_int64(it->s, 5, lo);
  return AG_OK;
}

bool audit_postings_decode(const unsigned char *p, size_t len, int64_t first, int64_t n,
                           int64_t *out) {
  const unsigned char *end = p + len;
  if (n <= 0 || n > CHUNK)
    return false;
  int64_t seq = first;
  for (int64_t k = 0; k < n; k++) {
    uint64_t d = 0;
    int shift = 0;
    do {
      if (!p || p == end || shift > 56)
        return false;
      d |= (uint64_t)(*p & 0x7f) << shift;
      shift += 7;
    } while (*p++ & 0x80);
    if (d > (uint64_t)INT32_MAX || (k == 0 && d != 0))
      return false;
    seq += (int64_t)d;
    out[k] = seq;
  }
  return p == end;
}

/* Decodes the current posting row into it->seqs. */
static bool decode(audit_postings *it) {
  int64_t n = sqlite3_column_int64(it->s, 1);
  if (n <= 0 || n > CHUNK)
    return false;
  if ((size_t)n > it->cap) {
    int64_t *seqs = realloc(it->seqs, (size_t)n * sizeof *seqs);
    if (!seqs)
      return false;
    it->seqs = seqs;
    it->cap = (size_t)n;
  }
  if (!audit_postings_decode(sqlite3_column_blob(it->s, 2),
                             (size_t)sqlite3_column_bytes(it->s, 2),
                             sqlite3_column_int64(it->s, 0), n, it->seqs))
    return false;
  it->n = (size_t)n;
  it->i = 0;
  return true;
}

int audit_postings_next(audit_postings *it, audit_conn *c, int64_t *seq, ag_error *err) {
  for (;;) {
    while (it->i < it->n) {
      int64_t v = it->seqs[it->desc ? it->n - 1 - it->i : it->i];
      it->i++;
      if (v >= it->lo && v <= it->hi) {
        *seq = v;
        return 1;
      }
    }
    int rc = sqlite3_step(it->s);
    if (rc == SQLITE_DONE)
      return 0;
    if (rc != SQLITE_ROW) {
      audit_db_error(err, c->h, "read the search index");
      return -1;
    }
    if (!decode(it)) {
      ag_error_set(err, AG_ERR_DB, "db",
                   "the search index beside the log is damaged; stop the service and delete "
                   "it to have it rebuilt");
      return -1;
    }
  }
}

void audit_postings_close(audit_postings *it) {
  sqlite3_finalize(it->s);
  free(it->seqs);
  memset(it, 0, sizeof *it);
}

ag_status audit_search_mark(audit_conn *c, int64_t *seq, int64_t *span) {
  index_mark m;
  ag_error e;
  ag_status st = read_mark(c->h, "search", &m, &e);
  *seq = st == AG_OK ? m.seq : 0;
  *span = st == AG_OK ? m.span : 0;
  return st;
}
