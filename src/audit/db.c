/*
 * db.c - opening the audit database: schema, pragmas, the writer connection,
 * the pool of read connections, cached statements, and the canonical form
 * the hash chain is computed over.
 *
 * 15 CFR 762.6: records are kept five years; nothing here ever deletes a
 * row. Triggers refuse UPDATE and DELETE on the log as a first line of
 * defence; ag_audit_verify() does not rely on them.
 *
 * Durability: the schema is created with synchronous=FULL; appends then
 * fsync the WAL themselves after each commit (durable.c), which gives the
 * same guarantee as FULL without holding the write lock during the fsync,
 * so an acknowledged record survives power loss. AG_AUDIT_OPEN_RELAXED
 * skips that fsync: it survives a process crash but may lose the last
 * commits on power loss, which 762 record keeping does not allow.
 */
#include "audit_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char audit_genesis_hash[AG_AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* 2: audit_dict, and decisions possibly stored compressed (codec.c). A
 * version 1 log is brought to 2 when it is opened. */
#define SCHEMA_VERSION "2"

/* The review records, few among many, are read at every start (remembered
 * decisions) and for the queue: a partial index holds them alone, so those
 * reads do not scan the log, and an append of any other kind adds nothing
 * to it. Made on the next read-write open of an older log too. */
#define REVIEWS_INDEX_SQL                                                                        \
  "CREATE INDEX IF NOT EXISTS audit_log_reviews ON audit_log(seq) WHERE kind = 'review';"      \
  REF_INDEX_SQL
/* The caller reference: a party's history and open items, and every search
 * by ref, read the records of one ref, not the log (10.3 s to list 50
 * parties against a log of 100,000 checks without it). Only records whose
 * request may hold a ref are in it; the others pay one byte search. */
#define REF_INDEX_SQL                                                                            \
  "CREATE INDEX IF NOT EXISTS audit_log_ref ON audit_log(" AUDIT_REF_EXPR ", seq)"              \
  " WHERE " AUDIT_REF_MAYBE ";"

/* Everything is IF NOT EXISTS so opening an existing log is a no-op. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit_meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "INSERT OR IGNORE INTO audit_meta VALUES('schema', '" SCHEMA_VERSION "');"
    "CREATE TABLE IF NOT EXISTS audit_log("
    " seq INTEGER PRIMARY KEY,"
    " audit_id TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " key_id TEXT NOT NULL,"
    " client_addr TEXT NOT NULL,"
    " rules_version TEXT NOT NULL,"
    " lists_version TEXT NOT NULL,"
    " as_of TEXT NOT NULL,"
    " destination TEXT NOT NULL,"
    " eccn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " request BLOB NOT NULL,"
    " decision BLOB NOT NULL,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log(ts_ms);"
    REVIEWS_INDEX_SQL
    /* The head marker: the last record's seq and hash, moved forward by each
     * commit. New records continue from it, so deleting the tail of the log
     * leaves a gap the next append cannot paper over. */
    "CREATE TABLE IF NOT EXISTS audit_head("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL,"
    " hash TEXT NOT NULL);"
    "INSERT OR IGNORE INTO audit_head VALUES(1, 0,"
    " '0000000000000000000000000000000000000000000000000000000000000000');"
    /* zstd dictionaries that stored decisions were compressed with, by the
     * id each frame names; kept forever like the records */
    "CREATE TABLE IF NOT EXISTS audit_dict(id INTEGER PRIMARY KEY, dict BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS api_keys("
    " id TEXT PRIMARY KEY,"
    " key_hash BLOB NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('checker', 'auditor', 'reviewer', 'admin')),"
    " name TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

/* The reviewer role came later: a key table made before it is rebuilt with
 * the wider role check (keys are not part of the hash chain). */
static const char keys_reviewer_sql[] =
    "CREATE TABLE api_keys_new("
    " id TEXT PRIMARY KEY,"
    " key_hash BLOB NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('checker', 'auditor', 'reviewer', 'admin')),"
    " name TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "INSERT INTO api_keys_new SELECT id, key_hash, role, name, created_ms, revoked_ms"
    " FROM api_keys;"
    "DROP TABLE api_keys;"
    "ALTER TABLE api_keys_new RENAME TO api_keys;";

static ag_status keys_allow_reviewer(sqlite3 *h, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(h,
                         "SELECT count(*) FROM sqlite_master WHERE name = 'api_keys'"
                         " AND sql NOT LIKE '%''reviewer''%'",
                         -1, &s, NULL) != SQLITE_OK ||
      sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    return audit_db_error(err, h, "read the key table");
  }
  bool old = sqlite3_column_int(s, 0) > 0;
  sqlite3_finalize(s);
  if (!old)
    return AG_OK;
  ag_status st = audit_exec(h, "BEGIN IMMEDIATE", err);
  if (st != AG_OK)
    return st;
  if ((st = audit_exec(h, keys_reviewer_sql, err)) != AG_OK) {
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return audit_exec(h, "COMMIT", err);
}

/* The append-only triggers, made once with the log: never again, so that a
 * trigger someone dropped stays missing for verify and the service's start
 * check to report (recreating it would erase the evidence of a tail cut
 * while it was gone). */
static const char log_triggers_sql[] =
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_log_append_only BEFORE INSERT ON audit_log"
    " WHEN NEW.seq <= (SELECT seq FROM audit_head WHERE id = 1)"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head"
    " BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END;"
    "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head"
    " WHEN NEW.seq <= OLD.seq OR NEW.id <> OLD.id"
    " BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END;";

/* audit_dict came with schema 2: its triggers are made with it. */
static const char dict_triggers_sql[] =
    "CREATE TRIGGER audit_dict_no_update BEFORE UPDATE ON audit_dict"
    " BEGIN SELECT RAISE(ABORT, 'audit_dict is append-only'); END;"
    "CREATE TRIGGER audit_dict_no_delete BEFORE DELETE ON audit_dict"
    " BEGIN SELECT RAISE(ABORT, 'audit_dict is append-only'); END;";

/* The other search columns are indexed apart (search.c); logs made before
 * that lose their indexes on these columns when opened to write. */
static const char old_indexes_sql[] = "DROP INDEX IF EXISTS audit_log_as_of;"
                                      "DROP INDEX IF EXISTS audit_log_destination;"
                                      "DROP INDEX IF EXISTS audit_log_eccn;"
                                      "DROP INDEX IF EXISTS audit_log_outcome;";

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_HEAD] = "SELECT seq, hash FROM audit_head WHERE id = 1",
    [ST_HEAD_SET] = "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
    [ST_INSERT] = "INSERT INTO audit_log(" AUDIT_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                  " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [ST_GET] = "SELECT " AUDIT_COLS " FROM audit_log WHERE seq = ?1 AND audit_id = ?2",
    [ST_GET_SEQ] = "SELECT " AUDIT_COLS " FROM audit_log WHERE seq = ?1",
    [ST_KEY_GET] = "SELECT id, key_hash, role, name, created_ms, revoked_ms FROM api_keys"
                   " WHERE id = ?1",
    [ST_KEY_ADD] = "INSERT INTO api_keys(id, key_hash, role, name, created_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_KEY_LIST] = "SELECT id, key_hash, role, name, created_ms, revoked_ms FROM api_keys"
                    " ORDER BY created_ms, id",
    [ST_KEY_REVOKE] = "UPDATE api_keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0",
};

ag_status audit_db_error(ag_error *err, sqlite3 *h, const char *what) {
  return ag_error_set(err, AG_ERR_DB, "db", "%s: %s", what, h ? sqlite3_errmsg(h) : "no database");
}

ag_status audit_exec(sqlite3 *h, const char *sql, ag_error *err) {
  char *msg = NULL;
  if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
    ag_error_set(err, AG_ERR_DB, "db", "%s", msg ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    return AG_ERR_DB;
  }
  return AG_OK;
}

ag_status audit_stmt(audit_conn *c, int which, sqlite3_stmt **out, ag_error *err) {
  if (!c->st[which] && sqlite3_prepare_v3(c->h, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                          &c->st[which], NULL) != SQLITE_OK)
    return audit_db_error(err, c->h, "prepare");
  sqlite3_reset(c->st[which]);
  sqlite3_clear_bindings(c->st[which]);
  *out = c->st[which];
  return AG_OK;
}

void audit_conn_close(audit_conn *c) {
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(c->st[i]);
  sqlite3_close(c->h);
  audit_unpacker_free(&c->unpack);
  memset(c, 0, sizeof *c);
}

int64_t audit_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void audit_hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ---- canonical form ---- */

static const char *const field_name[F_COUNT] = {
    [F_ID] = "audit_id",        [F_KIND] = "kind",           [F_KEY_ID] = "key_id",
    [F_CLIENT] = "client_addr", [F_RULES] = "rules_version", [F_LISTS] = "lists_version",
    [F_AS_OF] = "as_of",        [F_DEST] = "destination",    [F_ECCN] = "eccn",
    [F_OUTCOME] = "outcome",    [F_REQUEST] = "request",     [F_DECISION] = "decision",
    [F_PREV] = "prev_hash",
};

/* NAME ":" LENGTH ":" BYTES "\n", formatted by hand: this runs for every
 * field of every record inside the writer's critical section. */
static bool put_field(EVP_MD_CTX *ctx, const char *name, const char *p, size_t n) {
  char head[48], digits[24];
  size_t nl = strlen(name), dl = 0, v = n;
  do
    digits[dl++] = (char)('0' + v % 10);
  while ((v /= 10) && dl < sizeof digits);
  memcpy(head, name, nl);
  head[nl] = ':';
  for (size_t i = 0; i < dl; i++)
    head[nl + 1 + i] = digits[dl - 1 - i];
  head[nl + 1 + dl] = ':';
  return EVP_DigestUpdate(ctx, head, nl + dl + 2) && EVP_DigestUpdate(ctx, p, n) &&
         EVP_DigestUpdate(ctx, "\n", 1);
}

/*
 * The canonical form (docs/audit.md): "acegate-audit-v1\n", then for each
 * field in a fixed order NAME ":" LENGTH ":" BYTES "\n", with LENGTH the
 * decimal byte count. Length prefixes make the encoding unambiguous whatever
 * bytes a field holds, and seq is covered, so moving a record's content to
 * another position changes its hash.
 */
bool audit_row_hash_begin(const EVP_MD *md, EVP_MD_CTX *ctx, const audit_row *r) {
  static const char magic[] = "acegate-audit-v1\n";
  /* every step is checked: a hash made from part of the record would be
   * stored as if it covered all of it */
  if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, magic, sizeof magic - 1))
    return false;
  char num[32];
  int nl = snprintf(num, sizeof num, "%lld", (long long)r->seq);
  if (!put_field(ctx, "seq", num, (size_t)nl))
    return false;
  nl = snprintf(num, sizeof num, "%lld", (long long)r->time_ms);
  if (!put_field(ctx, "time_ms", num, (size_t)nl))
    return false;
  for (int i = 0; i < F_PREV; i++)
    if (!put_field(ctx, field_name[i], r->f[i].p, r->f[i].n))
      return false;
  return true;
}

bool audit_row_hash_end(EVP_MD_CTX *ctx, audit_bytes prev, char hex[AG_AUDIT_HASH_HEX]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  if (!put_field(ctx, field_name[F_PREV], prev.p, prev.n) || !EVP_DigestFinal_ex(ctx, d, &dl) ||
      dl != 32)
    return false;
  audit_hex(d, 32, hex);
  return true;
}

/*
 * The canonical form (docs/audit.md): "acegate-audit-v1\n", then for each
 * field in a fixed order NAME ":" LENGTH ":" BYTES "\n", with LENGTH the
 * decimal byte count. Length prefixes make the encoding unambiguous whatever
 * bytes a field holds, and seq is covered, so moving a record's content to
 * another position changes its hash. The link to the record before comes
 * last, so all the rest can be hashed before that record is known
 * (ag_audit_prehash_make).
 */
bool audit_row_hash(const EVP_MD *md, EVP_MD_CTX *ctx, const audit_row *r,
                    char hex[AG_AUDIT_HASH_HEX]) {
  return audit_row_hash_begin(md, ctx, r) && audit_row_hash_end(ctx, r->f[F_PREV], hex);
}

/* Column indexes of AUDIT_COLS. */
enum {
  C_SEQ,
  C_ID,
  C_TS,
  C_KIND,
  C_KEY_ID,
  C_CLIENT,
  C_RULES,
  C_LISTS,
  C_AS_OF,
  C_DEST,
  C_ECCN,
  C_OUTCOME,
  C_REQUEST,
  C_DECISION,
  C_PREV,
  C_HASH
};

static const int col_of_field[F_COUNT] = {
    [F_ID] = C_ID,           [F_KIND] = C_KIND,       [F_KEY_ID] = C_KEY_ID,
    [F_CLIENT] = C_CLIENT,   [F_RULES] = C_RULES,     [F_LISTS] = C_LISTS,
    [F_AS_OF] = C_AS_OF,     [F_DEST] = C_DEST,       [F_ECCN] = C_ECCN,
    [F_OUTCOME] = C_OUTCOME, [F_REQUEST] = C_REQUEST, [F_DECISION] = C_DECISION,
    [F_PREV] = C_PREV,
};

static audit_bytes col_bytes(sqlite3_stmt *s, int col) {
  /* blob first, then bytes: the documented order that avoids conversions */
  const char *p = sqlite3_column_blob(s, col);
  size_t n = (size_t)sqlite3_column_bytes(s, col);
  return (audit_bytes){p ? p : "", p ? n : 0};
}

ag_status audit_row_from_stmt(ag_audit_db *db, audit_conn *c, sqlite3_stmt *s, audit_row *r,
                              const char **stored_hash, ag_error *err) {
  r->seq = sqlite3_column_int64(s, C_SEQ);
  r->time_ms = sqlite3_column_int64(s, C_TS);
  for (int i = 0; i < F_COUNT; i++)
    r->f[i] = col_bytes(s, col_of_field[i]);
  *stored_hash = audit_col_text(s, C_HASH);
  return audit_unpack(db, c->h, &c->unpack, &r->f[F_DECISION], err);
}

static ag_audit_kind kind_from_text(const char *s, size_t n) {
  if (n == 5 && !memcmp(s, "check", 5))
    return AG_AUDIT_CHECK;
  if (n == 9 && !memcmp(s, "screening", 9))
    return AG_AUDIT_SCREENING;
  if (n == 3 && !memcmp(s, "key", 3))
    return AG_AUDIT_KEY;
  if (n == 7 && !memcmp(s, "service", 7))
    return AG_AUDIT_SERVICE;
  if (n == 5 && !memcmp(s, "lists", 5))
    return AG_AUDIT_LISTS;
  if (n == 6 && !memcmp(s, "review", 6))
    return AG_AUDIT_REVIEW;
  if (n == 14 && !memcmp(s, "classification", 14))
    return AG_AUDIT_CLASSIFICATION;
  return AG_AUDIT_ANY;
}

bool ag_audit_kind_parse(const char *s, ag_audit_kind *out) {
  ag_audit_kind k = s ? kind_from_text(s, strlen(s)) : AG_AUDIT_ANY;
  if (k == AG_AUDIT_ANY)
    return false;
  *out = k;
  return true;
}

ag_status audit_entry_from_stmt(ag_audit_db *db, audit_conn *c, sqlite3_stmt *s,
                                ag_audit_entry **out, ag_error *err) {
  audit_row r;
  const char *stored;
  ag_status st = audit_row_from_stmt(db, c, s, &r, &stored, err);
  return st == AG_OK ? audit_entry_from_row(&r, stored, out, err) : st;
}

ag_status audit_entry_from_row(const audit_row *rp, const char *stored, ag_audit_entry **out,
                               ag_error *err) {
  const audit_row r = *rp;
  /* string fields copied after the struct, each NUL-terminated */
  static const int copied[] = {F_REQUEST, F_DECISION, F_RULES, F_LISTS, F_KEY_ID,
                               F_CLIENT,  F_AS_OF,    F_DEST,  F_ECCN,  F_OUTCOME};
  size_t total = sizeof(ag_audit_entry);
  for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
    total += r.f[copied[i]].n + 1;
  ag_audit_entry *e = malloc(total);
  if (!e)
    return ag_error_set(err, AG_ERR_NOMEM, "record", "out of memory");
  memset(e, 0, sizeof *e);
  char *p = (char *)(e + 1);
  const char *dst[sizeof copied / sizeof copied[0]];
  for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
    audit_bytes b = r.f[copied[i]];
    memcpy(p, b.p, b.n);
    p[b.n] = '\0';
    dst[i] = p;
    p += b.n + 1;
  }
  e->request = dst[0];
  e->request_len = r.f[F_REQUEST].n;
  e->decision = dst[1];
  e->decision_len = r.f[F_DECISION].n;
  e->rules_version = dst[2];
  e->lists_version = dst[3];
  e->key_id = dst[4];
  e->client_addr = dst[5];
  e->as_of = dst[6];
  e->destination = dst[7];
  e->eccn = dst[8];
  e->outcome = dst[9];
  e->seq = r.seq;
  e->time_ms = r.time_ms;
  e->kind = kind_from_text(r.f[F_KIND].p, r.f[F_KIND].n);
  snprintf(e->id, sizeof e->id, "%.*s", (int)r.f[F_ID].n, r.f[F_ID].p);
  snprintf(e->prev_hash, sizeof e->prev_hash, "%.*s", (int)r.f[F_PREV].n, r.f[F_PREV].p);
  snprintf(e->hash, sizeof e->hash, "%s", stored);
  *out = e;
  return AG_OK;
}

void ag_audit_entry_free(ag_audit_entry *e) {
  free(e);
}

const char *ag_audit_kind_name(ag_audit_kind k) {
  switch (k) {
  case AG_AUDIT_CHECK: return "check";
  case AG_AUDIT_SCREENING: return "screening";
  case AG_AUDIT_KEY: return "key";
  case AG_AUDIT_SERVICE: return "service";
  case AG_AUDIT_LISTS: return "lists";
  case AG_AUDIT_REVIEW: return "review";
  case AG_AUDIT_CLASSIFICATION: return "classification";
  case AG_AUDIT_ANY: break;
  }
  return "any";
}

/* ---- connections ---- */

ag_status audit_conn_open(ag_audit_db *db, audit_conn *c, int flags, ag_error *err) {
  memset(c, 0, sizeof *c);
  int rc = sqlite3_open_v2(db->path, &c->h, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    ag_error_set(err, AG_ERR_DB, "db", "cannot open '%s': %s", db->path,
                 c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
    sqlite3_close(c->h);
    c->h = NULL;
    return AG_ERR_DB;
  }
  sqlite3_extended_result_codes(c->h, 1);
  sqlite3_busy_timeout(c->h, db->busy_ms);
  return AG_OK;
}

ag_status audit_read_acquire(ag_audit_db *db, audit_conn **out, ag_error *err) {
  if (db->memory) {
    pthread_mutex_lock(&db->wmu);
    *out = &db->w;
    return AG_OK;
  }
  pthread_mutex_lock(&db->rmu);
  audit_conn *c = db->nidle ? db->idle[--db->nidle] : NULL;
  pthread_mutex_unlock(&db->rmu);
  if (c) {
    *out = c;
    return AG_OK;
  }
  c = calloc(1, sizeof *c);
  if (!c)
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  ag_status st =
      audit_conn_open(db, c, db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, err);
  if (st == AG_OK)
    st = audit_exec(c->h, "PRAGMA query_only = 1", err);
  if (st != AG_OK) {
    audit_conn_close(c);
    free(c);
    return st;
  }
  *out = c;
  return AG_OK;
}

void audit_read_release(ag_audit_db *db, audit_conn *c) {
  if (db->memory) {
    pthread_mutex_unlock(&db->wmu);
    return;
  }
  /* end any read transaction a caller left open, so the pooled connection
   * does not pin an old snapshot */
  if (!sqlite3_get_autocommit(c->h))
    sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_lock(&db->rmu);
  if (db->nidle < AUDIT_POOL_MAX) {
    db->idle[db->nidle++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&db->rmu);
  if (c) {
    audit_conn_close(c);
    free(c);
  }
}

/* ---- open / close ---- */

/* *version gets 1 or 2 for an acegate log (1: to be brought to 2). */
static ag_status check_schema(sqlite3 *h, int *version, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(h, "SELECT value FROM audit_meta WHERE name = 'schema'", -1, &s, NULL) !=
      SQLITE_OK) {
    int code = sqlite3_errcode(h) & 0xff;
    ag_status st = code == SQLITE_ERROR
                       ? ag_error_set(err, AG_ERR_DB, "db", "not an acegate audit database")
                       : audit_db_error(err, h, "read schema");
    sqlite3_finalize(s);
    return st;
  }
  ag_status st = AG_OK;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(s, 0);
    if (v && !strcmp(v, SCHEMA_VERSION))
      *version = 2;
    else if (v && !strcmp(v, "1"))
      *version = 1;
    else
      st = ag_error_set(err, AG_ERR_DB, "db", "audit schema version %s is not supported (want %s)",
                        v ? v : "(null)", SCHEMA_VERSION);
  } else if (rc == SQLITE_DONE) {
    st = ag_error_set(err, AG_ERR_DB, "db", "not an acegate audit database");
  } else {
    st = audit_db_error(err, h, "read schema");
  }
  sqlite3_finalize(s);
  return st;
}

/* For a database that may be new: *is_new when it holds nothing yet, else
 * *version as check_schema gives it. */
static ag_status check_new_or_ours(sqlite3 *h, bool *is_new, int *version, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) != SQLITE_OK ||
      sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    return audit_db_error(err, h, "read schema");
  }
  *is_new = sqlite3_column_int(s, 0) == 0;
  sqlite3_finalize(s);
  return *is_new ? AG_OK : check_schema(h, version, err);
}

static ag_status setup_writer(ag_audit_db *db, unsigned flags, ag_error *err) {
  bool existing = flags & AG_AUDIT_OPEN_EXISTING;
  int oflags = db->readonly ? SQLITE_OPEN_READONLY
                            : SQLITE_OPEN_READWRITE | (existing ? 0 : SQLITE_OPEN_CREATE);
  ag_status st = audit_conn_open(db, &db->w, oflags, err);
  if (st != AG_OK)
    return st;
  sqlite3 *h = db->w.h;
  /* A file is checked before anything changes it, so another program's
   * database is neither converted to WAL nor given our tables. */
  int version = 0;
  bool is_new = false;
  if (existing ? (st = check_schema(h, &version, err)) != AG_OK
               : (st = check_new_or_ours(h, &is_new, &version, err)) != AG_OK)
    return st;
  if (db->readonly) /* a version 1 log is read as it is: it has no frames */
    return audit_exec(h, "PRAGMA query_only = 1", err);
  if (!db->memory) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(h, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
      sqlite3_finalize(s);
      return audit_db_error(err, h, "set WAL mode");
    }
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    bool wal = mode && !strcmp(mode, "wal");
    sqlite3_finalize(s);
    if (!wal)
      return ag_error_set(err, AG_ERR_DB, "db", "cannot use WAL mode on '%s'", db->path);
  }
  /* FULL while the schema is made; audit_durable_init() then decides how
   * appends are made durable */
  st = audit_exec(h, "PRAGMA synchronous = FULL", err);
  if (st != AG_OK)
    return st;
  if (version == 2)
    return (st = audit_exec(h, old_indexes_sql, err)) != AG_OK ||
                   (st = audit_exec(h, REVIEWS_INDEX_SQL, err)) != AG_OK
               ? st
               : keys_allow_reviewer(h, err);
  if ((st = audit_exec(h, "BEGIN IMMEDIATE", err)) != AG_OK)
    return st;
  /* a new log gets every trigger; a version 1 log gains audit_dict with its
   * triggers, its records unchanged (its own triggers are left as they are:
   * missing ones are reported, not made again); any other version is left
   * as it is and refused by check_schema */
  if ((st = audit_exec(h, schema_sql, err)) != AG_OK ||
      (is_new && (st = audit_exec(h, log_triggers_sql, err)) != AG_OK) ||
      (st = audit_exec(h, dict_triggers_sql, err)) != AG_OK ||
      (st = audit_exec(h, old_indexes_sql, err)) != AG_OK ||
      (st = audit_exec(h,
                       "UPDATE audit_meta SET value = '" SCHEMA_VERSION "'"
                       " WHERE name = 'schema' AND value = '1'",
                       err)) != AG_OK ||
      (st = check_schema(h, &version, err)) != AG_OK) {
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return (st = audit_exec(h, "COMMIT", err)) != AG_OK ? st : keys_allow_reviewer(h, err);
}

static void audit_sqlite_close(ag_audit_db *db);

ag_status ag_audit_open(const char *path, const ag_audit_options *opts, ag_audit_db **out,
                        ag_error *err) {
  *out = NULL;
  if (!path || !*path)
    return ag_error_set(err, AG_ERR_INPUT, "db", "no database path given");
  if (!sqlite3_threadsafe())
    return ag_error_set(err, AG_ERR_DB, "db", "SQLite was built without thread support");
  ag_audit_db *db = calloc(1, sizeof *db);
  if (!db || !(db->path = strdup(path))) {
    free(db);
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  }
  db->memory = !strcmp(path, ":memory:");
  db->busy_ms = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
  pthread_mutex_init(&db->wmu, NULL);
  pthread_mutex_init(&db->rmu, NULL);
  pthread_mutex_init(&db->qmu, NULL);
  pthread_mutex_init(&db->smu, NULL);
  pthread_cond_init(&db->scv, NULL);
  pthread_mutex_init(&db->cmu, NULL);
  pthread_cond_init(&db->ccv, NULL);
  pthread_mutex_init(&db->zmu, NULL);
  pthread_mutex_init(&db->imu, NULL);
  pthread_cond_init(&db->icv, NULL);
  pthread_mutex_init(&db->slot_mu, NULL);
  db->wal_fd = -1;
  atomic_init(&db->head_saved, -1);
  db->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  db->wctx = EVP_MD_CTX_new();
  if (!db->sha256 || !db->wctx) {
    ag_audit_close(db);
    return ag_error_set(err, AG_ERR_INTERNAL, "db", "SHA-256 is not available");
  }
  unsigned flags = opts ? opts->flags : 0;
  if (flags & AG_AUDIT_OPEN_READONLY)
    flags |= AG_AUDIT_OPEN_EXISTING;
  db->store = &audit_sqlite_store;
  if (audit_is_pg_uri(path)) {
    db->store = &audit_pg_store;
    db->readonly = flags & AG_AUDIT_OPEN_READONLY;
    ag_status st = audit_pg_open(db, flags, err);
    if (st != AG_OK) {
      ag_audit_close(db);
      return st;
    }
    *out = db;
    return AG_OK;
  }
  if (db->memory)
    flags &= ~(unsigned)(AG_AUDIT_OPEN_EXISTING | AG_AUDIT_OPEN_READONLY); /* always empty */
  db->readonly = flags & AG_AUDIT_OPEN_READONLY;
  ag_status st = setup_writer(db, flags, err);
  if (st == AG_OK)
    st = audit_codec_open(db, err);
  if (st == AG_OK && !db->readonly)
    st = audit_durable_init(db, flags, err);
  if (st == AG_OK) /* read-only: searched and verified, never written */
    st = audit_search_init(db, err);
  if (st != AG_OK) {
    ag_audit_close(db);
    return st;
  }
  db->head_track = !db->memory && !db->readonly;
  *out = db;
  return AG_OK;
}

void ag_audit_close(ag_audit_db *db) {
  if (!db)
    return;
  for (int i = 0; i < AG_AUDIT_SLOTS; i++)
    if (db->slot[i])
      db->slot_drop[i](db->slot[i]);
  pthread_mutex_destroy(&db->slot_mu);
  (db->store ? db->store : &audit_sqlite_store)->close(db);
  EVP_MD_CTX_free(db->wctx);
  EVP_MD_free((EVP_MD *)db->sha256);
  pthread_cond_destroy(&db->ccv);
  pthread_mutex_destroy(&db->cmu);
  pthread_mutex_destroy(&db->zmu);
  pthread_cond_destroy(&db->icv);
  pthread_mutex_destroy(&db->imu);
  pthread_cond_destroy(&db->scv);
  pthread_mutex_destroy(&db->smu);
  pthread_mutex_destroy(&db->qmu);
  pthread_mutex_destroy(&db->rmu);
  pthread_mutex_destroy(&db->wmu);
  free(db->path);
  free(db);
}

/* The SQLite store's part of closing (also after a failed open). */
static void audit_sqlite_close(ag_audit_db *db) {
  audit_search_close(db); /* its thread reads through the pool */
  if (db->head_track) { /* best effort: the next writer's close tries again */
    ag_error ignored;
    ag_audit_head_save(db, &ignored);
  }
  audit_durable_close(db);
  for (size_t i = 0; i < db->nidle; i++) {
    audit_conn_close(db->idle[i]);
    free(db->idle[i]);
  }
  audit_conn_close(&db->w);
  audit_codec_close(db);
}

const audit_store audit_sqlite_store = {
    .name = "sqlite",
    .close = audit_sqlite_close,
    .write_batch = audit_sqlite_write_batch,
    .get = audit_sqlite_get,
    .search = audit_sqlite_search,
    .scan = audit_sqlite_scan,
    .put_rows = audit_sqlite_put_rows,
    .verify = audit_sqlite_verify,
    .head = audit_sqlite_head,
    .backup = audit_sqlite_backup,
    .key_insert = audit_sqlite_key_insert,
    .key_get = audit_sqlite_key_get,
    .key_list = audit_sqlite_key_list,
    .key_revoke = audit_sqlite_key_revoke,
};

void *ag_audit_slot_get(ag_audit_db *db, ag_audit_slot slot, void *(*make)(void),
                        void (*drop)(void *)) {
  if (!db || slot < 0 || slot >= AG_AUDIT_SLOTS)
    return NULL;
  pthread_mutex_lock(&db->slot_mu);
  if (!db->slot[slot] && (db->slot[slot] = make()) != NULL)
    db->slot_drop[slot] = drop;
  void *state = db->slot[slot];
  pthread_mutex_unlock(&db->slot_mu);
  return state;
}

bool audit_is_pg_uri(const char *path) {
  return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

bool ag_audit_is_postgresql(const char *path) {
  return audit_is_pg_uri(path);
}
