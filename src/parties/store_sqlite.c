/*
 * store_sqlite.c - the party registry in a SQLite file beside a log file
 * ("<log>-parties"; in memory for a ":memory:" log): derived data, like
 * the search index (store.h).
 *
 * A registry made when party_hits was keyed by (ref, source_id) is
 * rebuilt on open with list_code '' for its rows: the legacy rows that
 * sq_hit carries over (store.h); one made before re-screenings' beginnings
 * were kept gets its party_rescreens.begun_ms column.
 */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  parties_store base;
  sqlite3 *h;
  sqlite3_stmt *note;        /* prepared on first use: a batch notes a party per line */
  sqlite3_stmt *carry, *hit; /* prepared on first use: a hit per party and entry */
} sqlite_store;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS parties(ref TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " country TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',"
    " source TEXT NOT NULL, last_screened_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS party_hits(ref TEXT NOT NULL, list_code TEXT NOT NULL,"
    " source_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(ref, list_code, source_id));"
    "CREATE TABLE IF NOT EXISTS party_rescreens(change TEXT PRIMARY KEY,"
    " lists_version TEXT NOT NULL, at_ms INTEGER NOT NULL, begun_ms INTEGER);";

static sqlite_store *of(parties_store *s) {
  return (sqlite_store *)s;
}

static ag_status db_error(sqlite3 *h, ag_error *err) {
  return ag_error_set(err, AG_ERR_DB, "parties", "the party registry: %s",
                      h ? sqlite3_errmsg(h) : "cannot be opened");
}

static void sq_close(parties_store *s) {
  sqlite_store *q = of(s);
  sqlite3_finalize(q->note);
  sqlite3_finalize(q->carry);
  sqlite3_finalize(q->hit);
  sqlite3_close(q->h);
  free(q);
}

static ag_status exec(parties_store *s, const char *sql, ag_error *err) {
  return sqlite3_exec(of(s)->h, sql, NULL, NULL, NULL) == SQLITE_OK ? AG_OK
                                                                    : db_error(of(s)->h, err);
}

static ag_status sq_begin(parties_store *s, ag_error *err) {
  return exec(s, "BEGIN", err);
}

static ag_status sq_commit(parties_store *s, ag_error *err) {
  return exec(s, "COMMIT", err);
}

static void sq_rollback(parties_store *s) {
  if (!sqlite3_get_autocommit(of(s)->h))
    sqlite3_exec(of(s)->h, "ROLLBACK", NULL, NULL, NULL);
}

static ag_status sq_import_one(parties_store *s, const char *ref, const char *name,
                               const char *country, const char *address, bool *existed,
                               ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *q = NULL;
  *existed = false;
  if (sqlite3_prepare_v2(h, "SELECT 1 FROM parties WHERE ref = ?", -1, &q, NULL))
    return db_error(h, err);
  sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
  *existed = sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  if (sqlite3_prepare_v2(h,
                         "INSERT INTO parties(ref, name, country, address, source) "
                         "VALUES(?1, ?2, ?3, ?4, 'import') ON CONFLICT(ref) DO UPDATE SET "
                         "name = ?2, country = ?3, address = ?4, source = 'import'",
                         -1, &q, NULL))
    return db_error(h, err);
  sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, country, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, address, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(h, err);
}

static const char note_sql[] =
    "INSERT INTO parties(ref, name, country, address, source, last_screened_ms) "
    "VALUES(?1, ?2, ?3, '', 'check', ?4) ON CONFLICT(ref) DO UPDATE SET "
    "name = CASE WHEN source = 'import' THEN name ELSE ?2 END, "
    "country = CASE WHEN source = 'import' THEN country ELSE ?3 END, "
    "address = CASE WHEN source = 'import' THEN address ELSE '' END, "
    "last_screened_ms = ?4";

static ag_status sq_note(parties_store *s, const char *ref, const char *name, const char *country,
                         int64_t now_ms, ag_error *err) {
  sqlite_store *q = of(s);
  if (!q->note && sqlite3_prepare_v3(q->h, note_sql, -1, SQLITE_PREPARE_PERSISTENT, &q->note,
                                     NULL) != SQLITE_OK)
    return db_error(q->h, err);
  sqlite3_bind_text(q->note, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(q->note, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q->note, 3, country, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q->note, 4, now_ms);
  int rc = sqlite3_step(q->note);
  ag_status st = rc == SQLITE_DONE ? AG_OK : db_error(q->h, err);
  sqlite3_reset(q->note);
  sqlite3_clear_bindings(q->note);
  return st;
}

static const char *col(sqlite3_stmt *q, int i) {
  const char *v = (const char *)sqlite3_column_text(q, i);
  return v ? v : "";
}

/* Rows of a statement selecting ref, name, country, address, source,
 * last_screened_ms (or the first three only). */
static ag_status rows_of(sqlite3 *h, sqlite3_stmt *q, int ncols, party_rows *out,
                         ag_error *err) {
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    party_row r = {.ref = (char *)col(q, 0), .name = (char *)col(q, 1),
                   .country = (char *)col(q, 2)};
    if (ncols > 3) {
      r.address = (char *)col(q, 3);
      r.source = (char *)col(q, 4);
      r.screened = sqlite3_column_type(q, 5) != SQLITE_NULL;
      r.last_screened_ms = sqlite3_column_int64(q, 5);
    }
    if (!party_rows_add(out, &r)) {
      sqlite3_finalize(q);
      return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
    }
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(h, err);
}

#define PARTY_COLS "ref, name, country, address, source, last_screened_ms"

static ag_status sq_select(parties_store *s, const char *after, const char *q, const char *only,
                           size_t limit, party_rows *out, ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *st = NULL;
  if (only) {
    if (sqlite3_prepare_v2(h, "SELECT " PARTY_COLS " FROM parties WHERE ref = ?", -1, &st, NULL))
      return db_error(h, err);
    sqlite3_bind_text(st, 1, only, -1, SQLITE_STATIC);
    return rows_of(h, st, 6, out, err);
  }
  if (sqlite3_prepare_v2(h,
                         "SELECT " PARTY_COLS " FROM parties WHERE ref > ?1 AND (?2 = '' OR "
                         "instr(lower(ref), lower(?2)) OR instr(lower(name), lower(?2))) "
                         "ORDER BY ref LIMIT ?3",
                         -1, &st, NULL))
    return db_error(h, err);
  sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, q, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
  return rows_of(h, st, 6, out, err);
}

static ag_status sq_all(parties_store *s, party_rows *out, ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *st = NULL;
  /* the address too: evidence in the re-screening */
  if (sqlite3_prepare_v2(h, "SELECT " PARTY_COLS " FROM parties ORDER BY ref", -1, &st, NULL))
    return db_error(h, err);
  return rows_of(h, st, 6, out, err);
}

/* Runs a prepared hit statement with ref, list code, entry id and hash;
 * *row: it returned one. */
static ag_status hit_step(sqlite_store *q, sqlite3_stmt *st, const char *ref, const char *list,
                          const char *sid, const char *hash, bool *row, ag_error *err) {
  sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, sid, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  while (rc == SQLITE_ROW)
    rc = sqlite3_step(st);
  ag_status status = rc == SQLITE_DONE ? AG_OK : db_error(q->h, err);
  sqlite3_reset(st);
  return status;
}

/* Two statements, atomic all the same: the first writes (or would), so
 * the transaction holds the database's write lock from then on. */
static ag_status sq_hit(parties_store *s, const char *ref, const char *list, const char *sid,
                        const char *hash, bool *fresh, ag_error *err) {
  sqlite_store *q = of(s);
  *fresh = false;
  if (!q->carry &&
      sqlite3_prepare_v2(q->h,
                         "INSERT INTO party_hits(ref, list_code, source_id, hash) "
                         "SELECT ref, ?2, source_id, hash FROM party_hits WHERE ref = ?1 AND "
                         "list_code = '' AND source_id = ?3 AND hash = ?4 "
                         "ON CONFLICT DO NOTHING",
                         -1, &q->carry, NULL) != SQLITE_OK)
    return db_error(q->h, err);
  if (!q->hit &&
      sqlite3_prepare_v2(q->h,
                         "INSERT INTO party_hits(ref, list_code, source_id, hash) "
                         "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(ref, list_code, source_id) "
                         "DO UPDATE SET hash = excluded.hash WHERE hash <> excluded.hash "
                         "RETURNING 1",
                         -1, &q->hit, NULL) != SQLITE_OK)
    return db_error(q->h, err);
  bool carried;
  ag_status st = hit_step(q, q->carry, ref, list, sid, hash, &carried, err);
  return st == AG_OK ? hit_step(q, q->hit, ref, list, sid, hash, fresh, err) : st;
}

static ag_status sq_screened(parties_store *s, const char *const *refs, size_t n, int64_t now_ms,
                             ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(h, "UPDATE parties SET last_screened_ms = ? WHERE ref = ?", -1, &q,
                         NULL))
    return db_error(h, err);
  int rc = SQLITE_DONE;
  for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, now_ms);
    sqlite3_bind_text(q, 2, refs[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(h, err);
}

/* A row never claimed has at_ms 0. */
static ag_status sq_begun(parties_store *s, const char *key, const char *lists_version,
                          int64_t now_ms, int64_t window_ms, ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(h,
                         "INSERT INTO party_rescreens(change, lists_version, at_ms, begun_ms) "
                         "VALUES(?1, ?2, 0, ?3) ON CONFLICT(change) DO UPDATE SET "
                         "lists_version = ?2, begun_ms = ?3 WHERE begun_ms IS NULL AND at_ms < ?4",
                         -1, &q, NULL))
    return db_error(h, err);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, lists_version, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, now_ms);
  sqlite3_bind_int64(q, 4, now_ms - window_ms);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(h, err);
}

/* Runs q (its parameters bound) to its end; *v: the first row's first
 * column, -1 when there is no row or it is NULL. Finalizes q. */
static ag_status step_value(sqlite3 *h, sqlite3_stmt *q, bool *row, int64_t *v, ag_error *err) {
  int rc = sqlite3_step(q);
  *row = rc == SQLITE_ROW;
  *v = *row && sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int64(q, 0) : -1;
  while (rc == SQLITE_ROW)
    rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(h, err);
}

/* begun_ms is left as it was by the upsert, so RETURNING gives it; then
 * cleared in the transaction. */
static ag_status sq_claim(parties_store *s, const char *key, const char *lists_version,
                          int64_t now_ms, int64_t window_ms, bool *claimed, int64_t *begun_ms,
                          ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *q = NULL;
  *begun_ms = -1;
  if (sqlite3_prepare_v2(h,
                         "INSERT INTO party_rescreens(change, lists_version, at_ms) "
                         "VALUES(?1, ?2, ?3) ON CONFLICT(change) DO UPDATE SET "
                         "lists_version = ?2, at_ms = ?3 WHERE at_ms < ?4 RETURNING begun_ms",
                         -1, &q, NULL))
    return db_error(h, err);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, lists_version, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, now_ms);
  sqlite3_bind_int64(q, 4, now_ms - window_ms);
  ag_status st = step_value(h, q, claimed, begun_ms, err);
  if (st != AG_OK || !*claimed)
    return st;
  if (sqlite3_prepare_v2(h, "UPDATE party_rescreens SET begun_ms = NULL WHERE change = ?", -1, &q,
                         NULL))
    return db_error(h, err);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  int64_t none;
  bool row;
  return step_value(h, q, &row, &none, err);
}

static ag_status sq_finish_all(parties_store *s, const char *key, const char *lists_version,
                               int64_t upto_ms, int64_t *begun_ms, ag_error *err) {
  sqlite3 *h = of(s)->h;
  sqlite3_stmt *q = NULL;
  bool row;
  if (sqlite3_prepare_v2(h, "SELECT min(begun_ms) FROM party_rescreens", -1, &q, NULL))
    return db_error(h, err);
  ag_status st = step_value(h, q, &row, begun_ms, err);
  if (st != AG_OK)
    return st;
  if (sqlite3_prepare_v2(h,
                         "UPDATE party_rescreens SET begun_ms = NULL WHERE begun_ms <= ?1 AND "
                         "(change = ?2 OR lists_version = ?3)",
                         -1, &q, NULL))
    return db_error(h, err);
  sqlite3_bind_int64(q, 1, upto_ms);
  sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, lists_version, -1, SQLITE_STATIC);
  int64_t none;
  return step_value(h, q, &row, &none, err);
}

static const parties_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .import_one = sq_import_one,
    .note = sq_note,
    .select = sq_select,
    .all = sq_all,
    .hit = sq_hit,
    .screened = sq_screened,
    .begun = sq_begun,
    .claim = sq_claim,
    .finish_all = sq_finish_all,
};

/* party_hits keyed by (ref, source_id), as it was made before hits were
 * kept per list: rebuilt with the list code, its rows kept with list_code
 * '' (the legacy rows sq_hit carries over). */
static const char rekey_sql[] =
    "CREATE TABLE party_hits_keyed(ref TEXT NOT NULL, list_code TEXT NOT NULL,"
    " source_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(ref, list_code, source_id));"
    "INSERT INTO party_hits_keyed(ref, list_code, source_id, hash)"
    " SELECT ref, '', source_id, hash FROM party_hits;"
    "DROP TABLE party_hits;"
    "ALTER TABLE party_hits_keyed RENAME TO party_hits;";

/* A registry made before re-screenings' beginnings were kept. */
static const char begun_sql[] = "ALTER TABLE party_rescreens ADD COLUMN begun_ms INTEGER";

static bool has_column(sqlite3 *h, const char *table, const char *column) {
  sqlite3_stmt *q = NULL;
  bool has = sqlite3_prepare_v2(h, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &q,
                                NULL) == SQLITE_OK &&
             sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(q, 2, column, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  return has;
}

static bool up_to_date(sqlite3 *h) {
  return has_column(h, "party_hits", "list_code") && has_column(h, "party_rescreens", "begun_ms");
}

/* A registry made by an earlier version brought up to date, under the
 * write lock, so two processes opening the file together change it once. */
static ag_status upgrade(sqlite3 *h, ag_error *err) {
  if (up_to_date(h))
    return AG_OK;
  ag_status st =
      sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? AG_OK : db_error(h, err);
  if (st == AG_OK && !has_column(h, "party_hits", "list_code") &&
      sqlite3_exec(h, rekey_sql, NULL, NULL, NULL) != SQLITE_OK)
    st = db_error(h, err);
  if (st == AG_OK && !has_column(h, "party_rescreens", "begun_ms") &&
      sqlite3_exec(h, begun_sql, NULL, NULL, NULL) != SQLITE_OK)
    st = db_error(h, err);
  if (st == AG_OK && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    st = db_error(h, err);
  if (st != AG_OK && !sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

ag_status parties_sqlite_open(const char *log_path, parties_store **out, ag_error *err) {
  *out = NULL;
  sqlite_store *q = calloc(1, sizeof *q);
  if (!q)
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  q->base.ops = &sqlite_ops;
  char path[4200];
  if (!strcmp(log_path, ":memory:"))
    snprintf(path, sizeof path, ":memory:");
  else
    snprintf(path, sizeof path, "%s" AG_PARTIES_SUFFIX, log_path);
  if (sqlite3_open_v2(path, &q->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
          SQLITE_OK ||
      sqlite3_busy_timeout(q->h, 5000) != SQLITE_OK ||
      /* derived data: a crash may lose the last notes, never corrupt */
      sqlite3_exec(q->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                   NULL) != SQLITE_OK ||
      sqlite3_exec(q->h, schema, NULL, NULL, NULL) != SQLITE_OK) {
    ag_status st = db_error(q->h, err);
    sq_close(&q->base);
    return st;
  }
  ag_status st = upgrade(q->h, err);
  if (st != AG_OK) {
    sq_close(&q->base);
    return st;
  }
  *out = &q->base;
  return AG_OK;
}
