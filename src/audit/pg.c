/*
 * pg.c - the audit log in PostgreSQL (15 or later, through libpq), shared by
 * several replicas of the service (15 CFR 762.6: the records kept where the
 * operator keeps and replicates the rest of its data).
 *
 * The schema mirrors the SQLite one (docs/audit.md): audit_log with the
 * same columns, request and decision as bytea (the decision compressed with
 * the dictionary of audit_dict, as in SQLite: a row a fifth the size, which
 * PostgreSQL inserts in two thirds of the time; a log made before audit_dict
 * existed, or whose role cannot store the dictionary, stores decisions as
 * sent), the one-row audit_head, api_keys and audit_meta. The search columns are plain
 * columns of audit_log with an index each (destination, eccn, outcome,
 * as_of, and the request's "ref" through acegate_ref()).
 *
 * One total order across replicas: every appending transaction first locks
 * the head row (SELECT ... FOR NO KEY UPDATE), so transactions that append
 * are serialised by PostgreSQL itself; each reads the head only once it
 * holds the lock, when the previous holder has committed or rolled back
 * (READ COMMITTED takes a new snapshot per statement, and a locked row is
 * re-read at its latest committed version), numbers its records head+1,
 * head+2, ... linked from the head's hash, inserts them and moves the head
 * in the same transaction. A replica that dies mid-transaction leaves
 * nothing (its transaction is rolled back and the lock freed), so the chain
 * has no gap and no fork; seq is the primary key besides. Each replica's
 * group commit puts everything queued while the previous batch was written
 * into one such transaction.
 *
 * Durability (docs/audit.md, "Durability and outages"): the append commits
 * without waiting for the WAL flush, so the lock is held for the writing
 * only, and nothing is acknowledged before a later durable commit on the
 * flusher connection has flushed the WAL past it (pg_sync()). A server
 * restart in between fails the records not yet flushed.
 *
 * Triggers refuse UPDATE, DELETE and TRUNCATE on the log, an insert at or
 * below the head, a head moving back or to a record that is not there, and
 * any change to a key but its revocation; the role the service runs as
 * needs only SELECT and INSERT on the log (docs/audit.md gives the GRANTs).
 * A superuser can still disable them: verify recomputes every hash as for
 * SQLite, and reports disabled triggers.
 *
 * Connections: the writer (under wmu) and a small pool of readers. A
 * connection found broken is dropped and made again on next use, so the
 * service answers 503 while PostgreSQL is unreachable and recovers by
 * itself when it is back.
 */
#include "audit_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A range of commit numbers (audit_committed()) that were made on a server
 * that restarted before they were known to be flushed. */
typedef struct {
  uint64_t from, to;
} lost_range;

struct audit_pg {
  PGconn *w;      /* the writer, used with wmu held */
  bool appending; /* w is inside an append's transaction */
  /* The server's start time identifies its lifetime: a restart, even an
   * immediate shutdown that loses unflushed WAL, changes it. */
  char w_epoch[48]; /* the writer's server, set under wmu and smu */
  bool w_prepared;  /* the append statement is prepared on w */
  PGconn *f;        /* the flusher, used by the caller that is syncing */
  char f_epoch[48];
  lost_range *lost; /* under smu, never shrinks: restarts are few */
  size_t nlost;
  pthread_mutex_t rmu;
  PGconn *idle[AUDIT_POOL_MAX];
  size_t nidle;
};

/* The columns in canonical order (AUDIT_COLS), as every SELECT lists them. */
#define PG_COLS AUDIT_COLS
#define FETCH_ROWS "256"
#define INSERT_CHUNK 512 /* rows per INSERT: 16 parameters each */
#define HEAD_SQL_MAX 192 /* the statement that moves the head */

static const char *const pg_guards[] = {
    "audit_log_no_update",  "audit_log_no_delete", "audit_log_no_truncate", "audit_log_append_only",
    "audit_head_no_delete", "audit_head_forward",  "api_keys_no_delete",    "api_keys_revoke_only",
    "audit_dict_no_update", "audit_dict_no_delete"};
#define PG_NGUARDS (int)(sizeof pg_guards / sizeof pg_guards[0])
#define PG_NDICT_GUARDS 2 /* the last ones: only where audit_dict is */

/* The dictionaries decisions are compressed with, append-only as the log
 * is: a changed dictionary would change every decision read through it. */
#define DICT_SQL                                                                                   \
  "CREATE TABLE audit_dict(id bigint PRIMARY KEY, dict bytea NOT NULL);"                           \
  "CREATE TRIGGER audit_dict_no_update BEFORE UPDATE ON audit_dict"                                \
  " FOR EACH ROW EXECUTE FUNCTION acegate_refuse();"                                               \
  "CREATE TRIGGER audit_dict_no_delete BEFORE DELETE OR TRUNCATE ON audit_dict"                    \
  " FOR EACH STATEMENT EXECUTE FUNCTION acegate_refuse();"                                         \
  "REVOKE ALL ON audit_dict FROM PUBLIC;"

static const char schema_sql[] =
    "CREATE TABLE audit_meta(name text PRIMARY KEY, value text NOT NULL);"
    "INSERT INTO audit_meta VALUES ('schema', '2'), ('store', 'postgresql');"
    "CREATE TABLE audit_log("
    " seq bigint PRIMARY KEY, audit_id text NOT NULL, ts_ms bigint NOT NULL, kind text NOT NULL,"
    " key_id text NOT NULL, client_addr text NOT NULL, rules_version text NOT NULL,"
    " lists_version text NOT NULL, as_of text NOT NULL, destination text NOT NULL,"
    " eccn text NOT NULL, outcome text NOT NULL, request bytea NOT NULL,"
    " decision bytea NOT NULL, prev_hash text NOT NULL, hash text NOT NULL);"
    "CREATE TABLE audit_head(id int PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL,"
    " hash text NOT NULL);"
    "INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));"
    "CREATE TABLE api_keys(id text PRIMARY KEY, key_hash bytea NOT NULL,"
    " role text NOT NULL CHECK (role IN ('checker', 'auditor', 'reviewer', 'admin')),"
    " name text NOT NULL, created_ms bigint NOT NULL, revoked_ms bigint NOT NULL DEFAULT 0);"
    /* the caller reference inside a request (NULL when it has none or is
     * not JSON), as SQLite's json_extract(request, '$.ref') gives it. A
     * request with neither "ref" nor a \u escape (which could spell it)
     * has none: it skips the parse and the subtransaction of the EXCEPTION
     * block, which cost an append a third of its time. */
    "CREATE FUNCTION acegate_ref(r bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$"
    " BEGIN IF position('\\x2272656622'::bytea IN r) = 0"
    " AND position('\\x5c75'::bytea IN r) = 0 THEN RETURN NULL; END IF;"
    " BEGIN RETURN convert_from(r, 'UTF8')::jsonb ->> 'ref';"
    " EXCEPTION WHEN others THEN RETURN NULL; END; END $$;"
    "CREATE INDEX audit_log_ts ON audit_log(ts_ms);"
    "CREATE INDEX audit_log_destination ON audit_log(destination, seq);"
    "CREATE INDEX audit_log_eccn ON audit_log(eccn, seq);"
    "CREATE INDEX audit_log_outcome ON audit_log(outcome, seq);"
    "CREATE INDEX audit_log_as_of ON audit_log(as_of, seq);"
    /* the review records alone, read at every start and for the queue */
    "CREATE INDEX audit_log_reviews ON audit_log(seq) WHERE kind = 'review';"
    "CREATE INDEX audit_log_ref ON audit_log(acegate_ref(request), seq);"
    "CREATE FUNCTION acegate_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION '% on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME;"
    " END $$;"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION acegate_refuse();"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION acegate_refuse();"
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION acegate_refuse();"
    /* once per statement over the statement's new rows, not once per row:
     * a row trigger's query cost an append a fifth of its time. Logs made
     * before keep their row trigger of the same name and meaning. */
    "CREATE FUNCTION acegate_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE low bigint; BEGIN SELECT min(seq) INTO low FROM acegate_new_rows;"
    " IF low <= (SELECT seq FROM audit_head WHERE id = 1) THEN"
    " RAISE EXCEPTION 'insert at seq % refused: at or below the head', low; END IF;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER audit_log_append_only AFTER INSERT ON audit_log"
    " REFERENCING NEW TABLE AS acegate_new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION acegate_append_only();"
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_head"
    " FOR EACH STATEMENT EXECUTE FUNCTION acegate_refuse();"
    "CREATE FUNCTION acegate_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN IF NEW.id <> 1 OR NEW.seq <= OLD.seq OR NOT EXISTS"
    " (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash) THEN"
    " RAISE EXCEPTION 'the head may only move forward, to a record of the log'; END IF;"
    " RETURN NEW; END $$;"
    "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head"
    " FOR EACH ROW EXECUTE FUNCTION acegate_head_forward();"
    "CREATE TRIGGER api_keys_no_delete BEFORE DELETE OR TRUNCATE ON api_keys"
    " FOR EACH STATEMENT EXECUTE FUNCTION acegate_refuse();"
    "CREATE FUNCTION acegate_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN IF OLD.revoked_ms <> 0 OR NEW.revoked_ms = 0 OR NEW.id <> OLD.id"
    " OR NEW.key_hash <> OLD.key_hash OR NEW.role <> OLD.role OR NEW.name <> OLD.name"
    " OR NEW.created_ms <> OLD.created_ms THEN"
    " RAISE EXCEPTION 'a key may only be revoked'; END IF; RETURN NEW; END $$;"
    "CREATE TRIGGER api_keys_revoke_only BEFORE UPDATE ON api_keys"
    " FOR EACH ROW EXECUTE FUNCTION acegate_revoke_only();" DICT_SQL
    "REVOKE ALL ON audit_log, audit_head, api_keys, audit_meta FROM PUBLIC;";

/* ---- connections and errors ---- */

void ag_audit_pg_message(const PGconn *c, const PGresult *r, char *out, size_t cap) {
  const char *m = r ? PQresultErrorMessage(r) : "";
  if (!m || !*m)
    m = c ? PQerrorMessage(c) : "no connection";
  snprintf(out, cap, "%s", m);
  out[strcspn(out, "\n")] = '\0';
}

static ag_status pg_error(ag_error *err, PGconn *c, const PGresult *r, const char *what) {
  char msg[300];
  ag_audit_pg_message(c, r, msg, sizeof msg);
  return ag_error_set(err, AG_ERR_DB, "db", "PostgreSQL: %s: %s", what, msg);
}

/* Notices (a warning that the server is shutting down, say) are not
 * printed: the service's log is JSON lines, and what matters comes back as
 * the error of the call that failed. */
static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

PGconn *ag_audit_pg_connect(const char *uri, char *why, size_t cap) {
  /* the URI's own connect_timeout, if any, wins over this default */
  const char *const keys[] = {"connect_timeout", "dbname", NULL};
  const char *const vals[] = {"5", uri, NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 1);
  if (!c) {
    snprintf(why, cap, "out of memory");
    return NULL;
  }
  PGresult *r = NULL;
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    r = PQexec(c, "SET client_min_messages = warning; SET client_encoding = 'UTF8'");
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      PQclear(r);
      return c;
    }
  }
  ag_audit_pg_message(c, r, why, cap);
  PQclear(r);
  PQfinish(c);
  return NULL;
}

static ag_status pg_connect(ag_audit_db *db, PGconn **out, char epoch[48], ag_error *err) {
  char why[300];
  if (!(*out = ag_audit_pg_connect(db->path, why, sizeof why)))
    return ag_error_set(err, AG_ERR_DB, "db", "PostgreSQL: connect: %s", why);
  PGconn *c = *out;
  *out = NULL;
  /* an answer only after the commit is on the server's disk, whatever the
   * server's or the role's default */
  PGresult *r = PQexec(c, "SET synchronous_commit = on; SELECT pg_postmaster_start_time()");
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  if (!ok)
    pg_error(err, c, r, "connect");
  else if (epoch)
    snprintf(epoch, 48, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  if (!ok) {
    PQfinish(c);
    return AG_ERR_DB;
  }
  *out = c;
  return AG_OK;
}

/* A new writer connection. When it reached a server that restarted since
 * the last one, the commits not yet known to be flushed may be gone (an
 * immediate shutdown loses WAL not yet on disk): they are lost, and their
 * callers are answered with an error rather than acknowledged. Caller
 * holds wmu, so no commit is being counted. */
static void note_writer_epoch(ag_audit_db *db, const char *epoch) {
  struct audit_pg *pg = db->pg;
  pthread_mutex_lock(&db->smu);
  uint64_t last = atomic_load(&db->committed);
  if (pg->w_epoch[0] && strcmp(pg->w_epoch, epoch) != 0 && last > db->synced) {
    lost_range *l = realloc(pg->lost, (pg->nlost + 1) * sizeof *l);
    if (l) {
      pg->lost = l;
      pg->lost[pg->nlost++] = (lost_range){.from = db->synced + 1, .to = last};
    } else { /* nothing is acknowledged from now on */
      db->sync_st = AG_ERR_NOMEM;
      snprintf(db->sync_why, sizeof db->sync_why, "out of memory");
    }
  }
  snprintf(pg->w_epoch, sizeof pg->w_epoch, "%s", epoch);
  pthread_mutex_unlock(&db->smu);
}

/* The writer, connected again if it broke. Caller holds wmu. */
static ag_status writer(ag_audit_db *db, PGconn **out, ag_error *err) {
  struct audit_pg *pg = db->pg;
  if (pg->w && PQstatus(pg->w) != CONNECTION_OK) {
    PQfinish(pg->w);
    pg->w = NULL;
  }
  if (!pg->w) {
    char epoch[48];
    ag_status st = pg_connect(db, &pg->w, epoch, err);
    if (st != AG_OK)
      return st;
    note_writer_epoch(db, epoch);
    /* decisions are large enough for TOAST to compress: lz4 costs a
     * fraction of the default pglz; a server built without it keeps pglz */
    PQclear(PQexec(pg->w, "SET default_toast_compression = lz4"));
    pg->w_prepared = false;
  }
  *out = pg->w;
  return AG_OK;
}

static ag_status reader(ag_audit_db *db, PGconn **out, ag_error *err) {
  struct audit_pg *pg = db->pg;
  PGconn *c = NULL;
  pthread_mutex_lock(&pg->rmu);
  if (pg->nidle)
    c = pg->idle[--pg->nidle];
  pthread_mutex_unlock(&pg->rmu);
  if (c && PQstatus(c) == CONNECTION_OK) {
    *out = c;
    return AG_OK;
  }
  PQfinish(c);
  return pg_connect(db, out, NULL, err);
}

/* Back to the pool when it is sound and outside a transaction. A broken
 * one means the server went away: the idle ones are broken too (they only
 * learn it on their next use), so they go as well. */
static void reader_done(ag_audit_db *db, PGconn *c) {
  struct audit_pg *pg = db->pg;
  if (PQstatus(c) == CONNECTION_BAD) {
    pthread_mutex_lock(&pg->rmu);
    while (pg->nidle)
      PQfinish(pg->idle[--pg->nidle]);
    pthread_mutex_unlock(&pg->rmu);
  }
  if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_INTRANS) {
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
  }
  bool keep = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
  pthread_mutex_lock(&pg->rmu);
  if (keep && pg->nidle < AUDIT_POOL_MAX) {
    pg->idle[pg->nidle++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pg->rmu);
  PQfinish(c);
}

/* Runs sql (no parameters) expecting `want`; the result is cleared. */
static ag_status run(PGconn *c, const char *sql, ExecStatusType want, const char *what,
                     ag_error *err) {
  PGresult *r = PQexec(c, sql);
  ag_status st = PQresultStatus(r) == want ? AG_OK : pg_error(err, c, r, what);
  PQclear(r);
  return st;
}

static void rollback(PGconn *c) {
  if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
  }
}

/* COMMIT, and only a real commit counts: in a failed transaction PostgreSQL
 * answers COMMIT with ROLLBACK. */
static ag_status commit(PGconn *c, const char *sql, ag_error *err) {
  PGresult *r = PQexec(c, sql);
  ag_status st = AG_OK;
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    st = pg_error(err, c, r, "commit");
  else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
    st = ag_error_set(err, AG_ERR_DB, "db", "PostgreSQL: the transaction was rolled back");
  PQclear(r);
  return st;
}

/* ---- values in binary results ---- */

static int64_t get_i64(const PGresult *r, int row, int col) {
  const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
  if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
    return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return (int64_t)v;
}

static audit_bytes get_bytes(const PGresult *r, int row, int col) {
  return (audit_bytes){PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)};
}

/* Column of each field in PG_COLS order. */
static const int pg_col_of_field[F_COUNT] = {
    [F_ID] = 1,       [F_KIND] = 3,      [F_KEY_ID] = 4, [F_CLIENT] = 5, [F_RULES] = 6,
    [F_LISTS] = 7,    [F_AS_OF] = 8,     [F_DEST] = 9,   [F_ECCN] = 10,  [F_OUTCOME] = 11,
    [F_REQUEST] = 12, [F_DECISION] = 13, [F_PREV] = 14};

/* The other way: columns 3 to 14 (after seq, audit_id and ts_ms). */
static const int pg_field_of_col[15] = {
    [3] = F_KIND,     [4] = F_KEY_ID,   [5] = F_CLIENT,    [6] = F_RULES,
    [7] = F_LISTS,    [8] = F_AS_OF,    [9] = F_DEST,      [10] = F_ECCN,
    [11] = F_OUTCOME, [12] = F_REQUEST, [13] = F_DECISION, [14] = F_PREV};

/* Dictionary id from audit_dict through the connection c (ctx); NULL when
 * it is not there. Inside a transaction, a savepoint keeps a failed read
 * (the table gone) from aborting the reads around it. */
static ZSTD_DDict *pg_dict(void *ctx, unsigned id) {
  PGconn *c = ctx;
  bool in_tx = PQtransactionStatus(c) == PQTRANS_INTRANS;
  if (in_tx)
    PQclear(PQexec(c, "SAVEPOINT acegate_dict"));
  char n[16];
  snprintf(n, sizeof n, "%u", id);
  const char *vals[1] = {n};
  PGresult *r =
      PQexecParams(c, "SELECT dict FROM audit_dict WHERE id = $1", 1, NULL, vals, NULL, NULL, 1);
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  ZSTD_DDict *dd = ok && PQntuples(r) == 1
                       ? ZSTD_createDDict(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0))
                       : NULL;
  PQclear(r);
  if (in_tx)
    PQclear(
        PQexec(c, ok ? "RELEASE SAVEPOINT acegate_dict" : "ROLLBACK TO SAVEPOINT acegate_dict"));
  return dd;
}

/* Row i of a binary result of PG_COLS read on c, the decision decompressed
 * into u; the stored hash in hash. AG_ERR_DB: a frame that does not
 * decompress. */
static ag_status pg_row(ag_audit_db *db, PGconn *c, audit_unpacker *u, const PGresult *r, int i,
                        audit_row *row, char hash[AG_AUDIT_HASH_HEX], ag_error *err) {
  row->seq = get_i64(r, i, 0);
  row->time_ms = get_i64(r, i, 2);
  for (int f = 0; f < F_COUNT; f++)
    row->f[f] = get_bytes(r, i, pg_col_of_field[f]);
  audit_bytes h = get_bytes(r, i, 15);
  snprintf(hash, AG_AUDIT_HASH_HEX, "%.*s", (int)(h.n < 64 ? h.n : 64), h.p);
  return audit_unpack_with(db, pg_dict, c, u, &row->f[F_DECISION], err);
}

static PGresult *exec_bin(PGconn *c, const char *sql, int n, const char *const *vals,
                          const int *lens, const int *fmts) {
  return PQexecParams(c, sql, n, NULL, vals, lens, fmts, 1);
}

/* ---- open and close ---- */

static void pg_close(ag_audit_db *db) {
  audit_codec_close(db);
  struct audit_pg *pg = db->pg;
  if (!pg)
    return;
  PQfinish(pg->w);
  PQfinish(pg->f);
  free(pg->lost);
  for (size_t i = 0; i < pg->nidle; i++)
    PQfinish(pg->idle[i]);
  pthread_mutex_destroy(&pg->rmu);
  free(pg);
  db->pg = NULL;
}

/* True once audit_dict holds the compiled-in dictionary, inside the open's
 * transaction: stored now if it is not there, the table made for a log
 * from before it. A role that may not (no CREATE, no INSERT on audit_dict)
 * leaves it as it was, and the log stores decisions as sent. */
static bool dict_stored(PGconn *c) {
  const void *data;
  size_t len;
  unsigned id = audit_codec_dict_id(&data, &len);
  ag_error ignored;
  if (!id || run(c, "SAVEPOINT acegate_dict", PGRES_COMMAND_OK, "open", &ignored) != AG_OK)
    return false;
  PGresult *r = PQexec(c, "SELECT to_regclass('audit_dict') IS NOT NULL");
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  bool have = ok && !strcmp(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  if (ok && !have)
    ok = run(c, DICT_SQL, PGRES_COMMAND_OK, "open", &ignored) == AG_OK;
  char n[16];
  snprintf(n, sizeof n, "%u", id);
  const char *vals[2] = {n, data};
  const int lens[2] = {0, (int)len}, fmts[2] = {0, 1};
  if (ok) { /* looked up first: a role with SELECT alone uses what the owner stored */
    r = PQexecParams(c, "SELECT 1 FROM audit_dict WHERE id = $1", 1, NULL, vals, NULL, NULL, 0);
    ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    have = ok && PQntuples(r) == 1;
    PQclear(r);
  }
  if (ok && !have) {
    r = PQexecParams(c, "INSERT INTO audit_dict(id, dict) VALUES ($1, $2)", 2, NULL, vals, lens,
                     fmts, 0);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (run(c, ok ? "RELEASE SAVEPOINT acegate_dict" : "ROLLBACK TO SAVEPOINT acegate_dict",
          PGRES_COMMAND_OK, "open", &ignored) != AG_OK)
    return false;
  return ok;
}

ag_status audit_pg_open(ag_audit_db *db, unsigned flags, ag_error *err) {
  if (!(db->pg = calloc(1, sizeof *db->pg)))
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  pthread_mutex_init(&db->pg->rmu, NULL);
  db->durable = !(flags & (AG_AUDIT_OPEN_RELAXED | AG_AUDIT_OPEN_READONLY));
  PGconn *c;
  ag_status st = writer(db, &c, err);
  if (st != AG_OK)
    return st;
  /* one schema, made once: two replicas starting together take turns */
  if ((st = run(c, "BEGIN", PGRES_COMMAND_OK, "open", err)) != AG_OK)
    return st;
  PGresult *r = PQexec(c, "SELECT pg_advisory_xact_lock(7461636567617465),"
                          " to_regclass('audit_log') IS NOT NULL,"
                          " (SELECT value FROM audit_meta WHERE name = 'schema')");
  bool have = false;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    /* audit_meta missing makes the subquery fail: no log here */
    have = false;
    PQclear(r);
    rollback(c);
    if (run(c, "BEGIN", PGRES_COMMAND_OK, "open", err) != AG_OK)
      return AG_ERR_DB;
    r = PQexec(c, "SELECT pg_advisory_xact_lock(7461636567617465)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      st = pg_error(err, c, r, "open");
      PQclear(r);
      rollback(c);
      return st;
    }
  } else {
    have = !strcmp(PQgetvalue(r, 0, 1), "t");
    if (have && strcmp(PQgetvalue(r, 0, 2), "2") != 0) {
      st = ag_error_set(err, AG_ERR_DB, "db", "not an acegate log of schema 2");
      PQclear(r);
      rollback(c);
      return st;
    }
  }
  PQclear(r);
  if (!have && (flags & AG_AUDIT_OPEN_EXISTING)) {
    rollback(c);
    return ag_error_set(err, AG_ERR_NOTFOUND, "db", "no acegate log in this PostgreSQL database");
  }
  if (!have && (st = run(c, schema_sql, PGRES_COMMAND_OK, "make the schema", err)) != AG_OK) {
    rollback(c);
    return st;
  }
  bool packs = !db->readonly && dict_stored(c);
  if ((st = commit(c, "COMMIT", err)) != AG_OK)
    return st;
  return packs ? audit_codec_prepare(db, err) : AG_OK;
}

/* ---- appends ---- */

/* ---- rows as binary arrays: one prepared INSERT for any batch ---- */

/* The append statement, prepared on the writer connection: each column a
 * parameter holding one array of the batch's values, unnested into rows.
 * Planned once per connection, whatever the batch's size. */
#define APPEND_STMT "acegate_append"
#define APPEND_SQL                                                                                 \
  "INSERT INTO audit_log(" PG_COLS ") SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[],"    \
  " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"          \
  " $11::text[], $12::text[], $13::bytea[], $14::bytea[], $15::text[], $16::text[])"
#define APPEND_PARAMS 16

static void put_be(ag_buf *b, uint64_t v, int bytes) {
  char out[8];
  for (int i = 0; i < bytes; i++)
    out[i] = (char)(v >> (8 * (bytes - 1 - i)));
  ag_buf_append(b, out, (size_t)bytes);
}

/* An element: its length and bytes (text in UTF-8 and bytea alike), or -1
 * for a NULL. */
static void put_field(ag_buf *b, const char *p, size_t n) {
  if (!p) {
    put_be(b, 0xffffffffu, 4);
    return;
  }
  put_be(b, n, 4);
  ag_buf_append(b, p, n);
}

static void put_int8(ag_buf *b, int64_t v) {
  put_be(b, 8, 4);
  put_be(b, (uint64_t)v, 8);
}

/* The batch's columns as binary one-dimensional arrays, one after the
 * other in data; param i is data + off[i] for len[i] bytes. */
typedef struct {
  ag_buf data;
  size_t off[APPEND_PARAMS];
  int len[APPEND_PARAMS];
} append_arrays;

static void encode_arrays(append_arrays *a, const audit_row *rows,
                          const char (*hashes)[AG_AUDIT_HASH_HEX], const audit_bytes *dec,
                          size_t n) {
  ag_buf_init(&a->data);
  for (int col = 0; col < APPEND_PARAMS; col++) {
    uint32_t elem = col == 0 || col == 2     ? 20 /* int8 */
                    : col == 12 || col == 13 ? 17 /* bytea */
                                             : 25 /* text */;
    a->off[col] = a->data.len;
    put_be(&a->data, 1, 4); /* dimensions */
    put_be(&a->data, 0, 4); /* flags */
    put_be(&a->data, elem, 4);
    put_be(&a->data, n, 4); /* length */
    put_be(&a->data, 1, 4); /* lower bound */
    for (size_t i = 0; i < n; i++) {
      const audit_row *r = &rows[i];
      if (col == 0)
        put_int8(&a->data, r->seq);
      else if (col == 2)
        put_int8(&a->data, r->time_ms);
      else if (col == 15)
        put_field(&a->data, hashes[i], strlen(hashes[i]));
      else if (col == 13)
        put_field(&a->data, dec[i].p, dec[i].n);
      else {
        const audit_bytes *v = &r->f[col == 1 ? F_ID : pg_field_of_col[col]];
        put_field(&a->data, v->p, v->n);
      }
    }
    a->len[col] = (int)(a->data.len - a->off[col]);
  }
}

/* Inserts n made rows in one statement and, when head_sql is given (moving
 * the head and committing), sends it in the same round trip: libpq's
 * pipeline mode. Text sent in binary is taken as the server encoding's
 * bytes, so the database must be UTF-8 (checked by the server: invalid
 * bytes are refused). */
static ag_status insert_rows(PGconn *c, const audit_row *rows,
                             const char (*hashes)[AG_AUDIT_HASH_HEX], const audit_bytes *dec,
                             size_t n, const char *head_sql, ag_error *err) {
  append_arrays a;
  encode_arrays(&a, rows, hashes, dec, n);
  if (a.data.failed) {
    ag_buf_free(&a.data);
    return ag_error_set(err, AG_ERR_NOMEM, "records", "out of memory");
  }
  const char *vals[APPEND_PARAMS];
  int fmts[APPEND_PARAMS];
  for (int i = 0; i < APPEND_PARAMS; i++) {
    vals[i] = a.data.data + a.off[i];
    fmts[i] = 1;
  }
  ag_status st = AG_OK;
  int sent = 0;
  if (!PQenterPipelineMode(c) ||
      !PQsendQueryPrepared(c, APPEND_STMT, APPEND_PARAMS, vals, a.len, fmts, 0))
    st = pg_error(err, c, NULL, "append");
  else
    sent++;
  if (st == AG_OK && head_sql) {
    if (PQsendQueryParams(c, head_sql, 0, NULL, NULL, NULL, NULL, 0) &&
        PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
      sent += 2;
    else
      st = pg_error(err, c, NULL, "append");
  }
  if (sent && !PQpipelineSync(c) && st == AG_OK)
    st = pg_error(err, c, NULL, "append");
  ag_buf_free(&a.data);
  /* each query's result then NULL, and the sync's; an error makes the
   * server skip the rest (PGRES_PIPELINE_ABORTED) */
  for (int q = 0; q < sent; q++) {
    PGresult *r = PQgetResult(c);
    if (!r) {
      if (st == AG_OK)
        st = pg_error(err, c, NULL, "append");
      break;
    }
    if (st == AG_OK) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK)
        st = pg_error(err, c, r, "append");
      else if (q == 2 && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        st = ag_error_set(err, AG_ERR_DB, "db", "PostgreSQL: the transaction was rolled back");
    }
    PQclear(r);
    while ((r = PQgetResult(c)))
      PQclear(r);
  }
  if (sent && PQstatus(c) == CONNECTION_OK) {
    PGresult *r = PQgetResult(c); /* PGRES_PIPELINE_SYNC */
    PQclear(r);
  }
  PQexitPipelineMode(c);
  return st;
}

/* Locks the head row for this transaction and reads it. NO KEY UPDATE
 * serialises appenders as FOR UPDATE would, and lets the flusher's KEY
 * SHARE through. A deferred transaction commits without waiting for the
 * WAL flush, so the lock is held for the writing only; pg_sync() makes it
 * durable before anything is acknowledged. */
static ag_status lock_head(PGconn *c, bool deferred, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                           ag_error *err) {
  PGresult *r = PQexec(c, deferred ? "BEGIN; SET LOCAL synchronous_commit = off;"
                                     " SELECT seq, hash FROM audit_head WHERE id = 1"
                                     " FOR NO KEY UPDATE"
                                   : "BEGIN; SELECT seq, hash FROM audit_head WHERE id = 1"
                                     " FOR NO KEY UPDATE");
  ag_status st = AG_OK;
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "lock the head");
  else if (PQntuples(r) != 1)
    st = ag_error_set(err, AG_ERR_DB, "db", "the audit head marker is missing");
  else {
    *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  return st;
}

/* The statement that moves the head (seq and a hex hash are safe to put
 * in the text). */
static void head_sql(char sql[HEAD_SQL_MAX], int64_t seq, const char *hash) {
  snprintf(sql, HEAD_SQL_MAX, "UPDATE audit_head SET seq = %lld, hash = '%.64s' WHERE id = 1",
           (long long)seq, hash);
}

/* What the log stores of n rows' decisions, in dec: the frame the caller
 * made (given[i], when it has one), else one made here into store, else
 * the decision as sent (no dictionary in the log, or too short to pay).
 * Caller holds wmu. */
static ag_status stored_decisions(ag_audit_db *db, const audit_row *rows, const audit_bytes *given,
                                  size_t n, ag_buf *store, audit_bytes *dec, ag_error *err) {
  size_t off[INSERT_CHUNK];
  ag_buf_reset(store);
  for (size_t i = 0; i < n; i++) {
    off[i] = SIZE_MAX;
    if (given && given[i].n) {
      dec[i] = given[i];
      continue;
    }
    size_t len = audit_pack_append(db, rows[i].f[F_DECISION], store);
    dec[i] = rows[i].f[F_DECISION];
    if (len) {
      off[i] = store->len - len;
      dec[i].n = len;
    }
  }
  if (store->failed)
    return ag_error_set(err, AG_ERR_NOMEM, "records", "out of memory");
  for (size_t i = 0; i < n; i++) /* the buffer has stopped moving */
    if (off[i] != SIZE_MAX)
      dec[i].p = store->data + off[i];
  return AG_OK;
}

/* Rows made for a batch, inserted a chunk at a time. */
typedef struct {
  audit_row rows[INSERT_CHUNK];
  audit_bytes given[INSERT_CHUNK]; /* the caller's frame of each decision, if any */
  audit_bytes dec[INSERT_CHUNK];
  char hashes[INSERT_CHUNK][AG_AUDIT_HASH_HEX];
  char ids[INSERT_CHUNK][AG_AUDIT_ID_MAX];
  char prevs[INSERT_CHUNK][AG_AUDIT_HASH_HEX];
  size_t n;
  ag_buf packed; /* frames made by the writer */
} chunk;

/* Inserts the chunk's rows; with head_stmt (the last chunk) also moves the
 * head and commits, in the same round trip. */
static ag_status flush_chunk(ag_audit_db *db, PGconn *c, chunk *k, const char *head_stmt,
                             ag_error *err) {
  ag_status st = stored_decisions(db, k->rows, k->given, k->n, &k->packed, k->dec, err);
  if (st == AG_OK)
    st = insert_rows(c, k->rows, (const char(*)[AG_AUDIT_HASH_HEX])k->hashes, k->dec, k->n,
                     head_stmt, err);
  k->n = 0;
  return st;
}

/* The append statement on a new writer connection, once the schema is
 * there. */
static ag_status prepare_append(ag_audit_db *db, PGconn *c, ag_error *err) {
  if (db->pg->w_prepared)
    return AG_OK;
  PGresult *r = PQprepare(c, APPEND_STMT, APPEND_SQL, 0, NULL);
  ag_status st = PQresultStatus(r) == PGRES_COMMAND_OK ? AG_OK : pg_error(err, c, r, "prepare");
  PQclear(r);
  db->pg->w_prepared = st == AG_OK;
  return st;
}

/* The writer in a transaction holding the head lock. A connection that
 * broke while idle (the server restarted) is made again once: nothing of
 * this transaction was sent yet. */
static ag_status begin_append(ag_audit_db *db, bool deferred, PGconn **out, int64_t *seq,
                              char prev[AG_AUDIT_HASH_HEX], ag_error *err) {
  ag_status st = AG_OK;
  for (int attempt = 0; attempt < 2; attempt++) {
    if ((st = writer(db, out, err)) != AG_OK || (st = prepare_append(db, *out, err)) != AG_OK)
      return st;
    if ((st = lock_head(*out, deferred, seq, prev, err)) == AG_OK ||
        PQstatus(*out) != CONNECTION_BAD)
      break;
  }
  return st;
}

static ag_status pg_write_batch(ag_audit_db *db, audit_pending *batch, ag_error *err) {
  PGconn *c;
  int64_t seq = 0, first;
  char prev[AG_AUDIT_HASH_HEX] = "";
  ag_status st = begin_append(db, db->durable, &c, &seq, prev, err);
  if (st != AG_OK) {
    if (db->pg->w)
      rollback(db->pg->w);
    return st;
  }
  first = seq;
  db->pg->appending = true;
  for (audit_pending *q = batch; q; q = q->next)
    if (q->before && (st = q->before(db, q->before_ctx, err)) != AG_OK)
      goto fail;
  chunk *k = malloc(sizeof *k);
  if (!k) {
    st = ag_error_set(err, AG_ERR_NOMEM, "records", "out of memory");
    goto fail;
  }
  k->n = 0;
  ag_buf_init(&k->packed);
  audit_id_random rnd = {.used = sizeof rnd.bytes};
  for (audit_pending *q = batch; q && st == AG_OK; q = q->next)
    for (size_t i = 0; i < q->n && st == AG_OK; i++) {
      if (k->n == INSERT_CHUNK && (st = flush_chunk(db, c, k, NULL, err)) != AG_OK)
        break;
      audit_made m;
      if ((st = audit_make_row(db, &rnd, &q->recs[i], q->now_ms, ++seq, prev, &m, err)) != AG_OK)
        break;
      /* the row points into m: keep its strings in the chunk */
      size_t j = k->n++;
      memcpy(k->ids[j], m.id, AG_AUDIT_ID_MAX);
      memcpy(k->prevs[j], m.prev, AG_AUDIT_HASH_HEX);
      memcpy(k->hashes[j], m.hash, AG_AUDIT_HASH_HEX);
      k->rows[j] = m.row;
      k->given[j] = (audit_bytes){q->recs[i].packed, q->recs[i].packed ? q->recs[i].packed_len : 0};
      k->rows[j].f[F_ID] = (audit_bytes){k->ids[j], strlen(k->ids[j])};
      k->rows[j].f[F_PREV] = (audit_bytes){k->prevs[j], 64};
      memcpy(q->ids[i], m.id, AG_AUDIT_ID_MAX);
      memcpy(prev, m.hash, AG_AUDIT_HASH_HEX);
    }
  if (st == AG_OK) {
    char sql[HEAD_SQL_MAX];
    head_sql(sql, seq, prev);
    st = flush_chunk(db, c, k, sql, err);
  }
  ag_buf_free(&k->packed);
  free(k);
  if (st != AG_OK)
    goto fail;
  db->pg->appending = false;
  db->stats.commits++;
  db->stats.records += (uint64_t)(seq - first);
  return AG_OK;
fail:
  db->pg->appending = false;
  rollback(c);
  return st;
}

static ag_status pg_put_rows(ag_audit_db *db, const audit_row *rows,
                             const char (*hashes)[AG_AUDIT_HASH_HEX], size_t n, ag_error *err) {
  pthread_mutex_lock(&db->wmu);
  PGconn *c = NULL;
  int64_t seq = 0;
  char prev[AG_AUDIT_HASH_HEX] = "";
  ag_status st = begin_append(db, false, &c, &seq, prev, err);
  if (st != AG_OK) {
    c = db->pg->w;
    if (c)
      goto fail;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if (rows[i].seq != seq + 1 || rows[i].f[F_PREV].n != 64 ||
        memcmp(rows[i].f[F_PREV].p, prev, 64) != 0) {
      st = ag_error_set(err, AG_ERR_DB, "to", "record %lld does not follow the copy's head %lld",
                        (long long)rows[i].seq, (long long)seq);
      goto fail;
    }
    seq = rows[i].seq;
    memcpy(prev, hashes[i], AG_AUDIT_HASH_HEX);
  }
  char sql[HEAD_SQL_MAX];
  head_sql(sql, seq, prev);
  ag_buf store;
  ag_buf_init(&store);
  audit_bytes dec[INSERT_CHUNK];
  for (size_t at = 0; at < n && st == AG_OK; at += INSERT_CHUNK) {
    size_t m = n - at < INSERT_CHUNK ? n - at : INSERT_CHUNK;
    if ((st = stored_decisions(db, rows + at, NULL, m, &store, dec, err)) == AG_OK)
      st = insert_rows(c, rows + at, hashes + at, dec, m, at + m == n ? sql : NULL, err);
  }
  ag_buf_free(&store);
  if (st != AG_OK)
    goto fail;
  if (!n)
    rollback(c);
  goto out;
fail:
  rollback(c);
out:
  pthread_mutex_unlock(&db->wmu);
  return st;
}

/* ---- reads ---- */

static ag_status pg_head(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                         ag_error *err) {
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  *seq = 0;
  memcpy(hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  PGresult *r = PQexec(c, "SELECT seq, hash FROM audit_head WHERE id = 1");
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "read head");
  else if (PQntuples(r) == 1) {
    *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  reader_done(db, c);
  return st;
}

static ag_status pg_get(ag_audit_db *db, int64_t seq, const char *audit_id, ag_audit_entry **out,
                        ag_error *err) {
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  char s[24];
  snprintf(s, sizeof s, "%lld", (long long)seq);
  const char *vals[2] = {s, audit_id};
  PGresult *r =
      audit_id
          ? exec_bin(c, "SELECT " PG_COLS " FROM audit_log WHERE seq = $1 AND audit_id = $2", 2,
                     vals, NULL, NULL)
          : exec_bin(c, "SELECT " PG_COLS " FROM audit_log WHERE seq = $1", 1, vals, NULL, NULL);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "get");
  else if (PQntuples(r) == 0)
    st = ag_error_set(err, AG_ERR_NOTFOUND, "audit_id", "no audit record with this id");
  else {
    audit_row row;
    char hash[AG_AUDIT_HASH_HEX];
    audit_unpacker u = {0};
    if ((st = pg_row(db, c, &u, r, 0, &row, hash, err)) == AG_OK)
      st = audit_entry_from_row(&row, hash, out, err);
    audit_unpacker_free(&u);
  }
  PQclear(r);
  reader_done(db, c);
  return st;
}

/* A binary cursor over sql inside the connection's open transaction,
 * fetched FETCH_ROWS at a time. */
typedef struct {
  PGconn *c;
  PGresult *r; /* the current chunk */
  int i, n;
  bool open, end;
  audit_unpacker unpack; /* the decision of the current row */
} cursor;

static ag_status cursor_open(cursor *k, PGconn *c, const char *select, int n,
                             const char *const *vals, ag_error *err) {
  memset(k, 0, sizeof *k);
  k->c = c;
  char *sql = malloc(strlen(select) + 64);
  if (!sql)
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  sprintf(sql, "DECLARE acegate_rows BINARY NO SCROLL CURSOR FOR %s", select);
  PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
  free(sql);
  ag_status st = PQresultStatus(r) == PGRES_COMMAND_OK ? AG_OK : pg_error(err, c, r, "read");
  PQclear(r);
  k->open = st == AG_OK;
  return st;
}

/* 1 with the row in res and row, 0 at the end, -1 on failure. */
static int cursor_next(cursor *k, const PGresult **res, int *row, ag_error *err) {
  if (k->i >= k->n) {
    if (k->end)
      return 0;
    PQclear(k->r);
    k->r = PQexec(k->c, "FETCH " FETCH_ROWS " FROM acegate_rows");
    if (PQresultStatus(k->r) != PGRES_TUPLES_OK) {
      pg_error(err, k->c, k->r, "read");
      return -1;
    }
    k->n = PQntuples(k->r);
    k->i = 0;
    k->end = k->n < atoi(FETCH_ROWS);
    if (k->n == 0)
      return 0;
  }
  *res = k->r;
  *row = k->i++;
  return 1;
}

static void cursor_close(cursor *k) {
  PQclear(k->r);
  k->r = NULL;
  audit_unpacker_free(&k->unpack);
  if (k->open && PQstatus(k->c) == CONNECTION_OK && PQtransactionStatus(k->c) == PQTRANS_INTRANS) {
    PGresult *r = PQexec(k->c, "CLOSE acegate_rows");
    PQclear(r);
  }
  k->open = false;
}

/* Parameters of a search, bound as text. */
typedef struct {
  char sql[1536];
  size_t len;
  const char *vals[16];
  char nums[6][24];
  int n, nn;
} pg_sql;

static void add_clause(pg_sql *t, const char *fmt, const char *val) {
  int w;
  if (val) {
    t->vals[t->n++] = val;
    w = snprintf(t->sql + t->len, sizeof t->sql - t->len, fmt, t->n);
  } else {
    w = snprintf(t->sql + t->len, sizeof t->sql - t->len, "%s", fmt);
  }
  if (w > 0)
    t->len += (size_t)w;
}

static const char *num(pg_sql *t, int64_t v) {
  snprintf(t->nums[t->nn], sizeof t->nums[0], "%lld", (long long)v);
  return t->nums[t->nn++];
}

static ag_status pg_search(ag_audit_db *db, const ag_audit_query *q, int64_t after, bool has_cursor,
                           size_t limit, ag_audit_page *page, bool *more, int64_t *cut,
                           ag_error *err) {
  pg_sql t = {.len = 0};
  add_clause(&t, "SELECT " PG_COLS " FROM audit_log WHERE true", NULL);
  if (q->from_ms)
    add_clause(&t, " AND ts_ms >= $%d", num(&t, q->from_ms));
  if (q->to_ms)
    add_clause(&t, " AND ts_ms < $%d", num(&t, q->to_ms));
  if (q->destination)
    add_clause(&t, " AND destination = $%d", q->destination);
  if (q->eccn)
    add_clause(&t, " AND eccn = $%d", q->eccn);
  if (q->outcome)
    add_clause(&t, " AND outcome = $%d", q->outcome);
  if (q->as_of)
    add_clause(&t, " AND as_of = $%d", q->as_of);
  if (q->kind != AG_AUDIT_ANY)
    add_clause(&t, " AND kind = $%d", ag_audit_kind_name(q->kind));
  if (q->ref)
    add_clause(&t, " AND acegate_ref(request) = $%d", q->ref);
  if (has_cursor)
    add_clause(&t, q->newest_first ? " AND seq < $%d" : " AND seq > $%d", num(&t, after));
  add_clause(&t, q->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq", NULL);
  /* one more than the page holds tells if a next page exists; with a match
   * function, rows are filtered after reading */
  if (!q->match)
    add_clause(&t, " LIMIT $%d", num(&t, (int64_t)limit + 1));
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  cursor k;
  if ((st = run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, "search",
                err)) != AG_OK ||
      (st = cursor_open(&k, c, t.sql, t.n, t.vals, err)) != AG_OK) {
    reader_done(db, c);
    return st;
  }
  const PGresult *res;
  int i, got;
  size_t read = 0;
  *cut = 0;
  while ((got = cursor_next(&k, &res, &i, err)) > 0) {
    audit_row row;
    char hash[AG_AUDIT_HASH_HEX];
    if ((st = pg_row(db, c, &k.unpack, res, i, &row, hash, err)) != AG_OK)
      break;
    if (page->count == limit && !q->match) {
      *more = true;
      break;
    }
    ag_audit_entry *e;
    if ((st = audit_entry_from_row(&row, hash, &e, err)) != AG_OK)
      break;
    int64_t seq = e->seq;
    if (q->match && !q->match(q->match_ctx, e)) {
      ag_audit_entry_free(e);
    } else if (page->count == limit) {
      ag_audit_entry_free(e);
      *more = true;
      break;
    } else {
      page->entries[page->count++] = e;
    }
    /* the scan's bound (acegate/audit.h): on after this record next time */
    if (q->scan_max && ++read >= q->scan_max) {
      *cut = seq;
      *more = true;
      break;
    }
  }
  if (got < 0 && st == AG_OK)
    st = AG_ERR_DB;
  cursor_close(&k);
  reader_done(db, c);
  return st;
}

/* A read-only snapshot with the head marker read in it. */
static ag_status snapshot_head(PGconn *c, bool *known, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                               ag_error *err) {
  ag_status st =
      run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, "read", err);
  if (st != AG_OK)
    return st;
  PGresult *r = PQexec(c, "SELECT seq, hash FROM audit_head WHERE id = 1");
  *known = false;
  *seq = 0;
  memcpy(hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "read head");
  else if (PQntuples(r) == 1) {
    *known = true;
    *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  return st;
}

static ag_status pg_scan(ag_audit_db *db, int64_t from_ms, int64_t to_ms, int64_t *head_seq,
                         char head_hash[AG_AUDIT_HASH_HEX], audit_row_fn fn, void *ctx,
                         ag_error *err) {
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  bool known;
  char from[24], to[24];
  snprintf(from, sizeof from, "%lld", (long long)from_ms);
  snprintf(to, sizeof to, "%lld", (long long)(to_ms ? to_ms : INT64_MAX));
  const char *vals[2] = {from, to};
  cursor k = {.open = false};
  if ((st = snapshot_head(c, &known, head_seq, head_hash, err)) != AG_OK)
    goto done;
  /* as for SQLite: every record from the first to the last in the time
   * range, an unbroken run of the chain */
  if ((st = cursor_open(&k, c,
                        "SELECT " PG_COLS " FROM audit_log WHERE seq BETWEEN"
                        " (SELECT min(seq) FROM audit_log WHERE ts_ms >= $1 AND ts_ms < $2) AND"
                        " (SELECT max(seq) FROM audit_log WHERE ts_ms >= $1 AND ts_ms < $2)"
                        " ORDER BY seq",
                        2, vals, err)) != AG_OK)
    goto done;
  const PGresult *res;
  int i, got;
  while ((got = cursor_next(&k, &res, &i, err)) > 0) {
    audit_row row;
    char hash[AG_AUDIT_HASH_HEX];
    if ((st = pg_row(db, c, &k.unpack, res, i, &row, hash, err)) != AG_OK ||
        (st = fn(ctx, &row, hash, err)) != AG_OK)
      break;
  }
  if (got < 0 && st == AG_OK)
    st = AG_ERR_DB;
done:
  cursor_close(&k);
  reader_done(db, c);
  return st;
}

/* ---- verify ---- */

static int pg_next(audit_walk *w, audit_row *r, const char **stored, ag_status *rst, ag_error *why,
                   ag_error *err) {
  static _Thread_local char hash[AG_AUDIT_HASH_HEX];
  cursor *k = w->rows;
  const PGresult *res;
  int i, got = cursor_next(k, &res, &i, err);
  if (got <= 0)
    return got;
  *rst = pg_row(w->db, k->c, &k->unpack, res, i, r, hash, why);
  *stored = hash;
  return 1;
}

static ag_status pg_link(audit_walk *w, int64_t seq, char out[AG_AUDIT_HASH_HEX], ag_error *err) {
  PGconn *c = w->src;
  char s[24];
  snprintf(s, sizeof s, "%lld", (long long)seq);
  const char *vals[1] = {s};
  PGresult *r =
      PQexecParams(c, "SELECT prev_hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1", 1,
                   NULL, vals, NULL, NULL, 0);
  ag_status st = AG_OK;
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "verify");
  else if (PQntuples(r) == 1)
    snprintf(out, AG_AUDIT_HASH_HEX, "%s", PQgetvalue(r, 0, 0));
  else if (w->head_known && w->head_seq == seq)
    memcpy(out, w->head_hash, AG_AUDIT_HASH_HEX);
  PQclear(r);
  return st;
}

static ag_status pg_verify(ag_audit_db *db, const ag_audit_anchor *anchor, int64_t from,
                           bool check_index, ag_audit_verify_report *rep, ag_error *err) {
  (void)check_index; /* the search columns are columns of the log itself */
  audit_walk w = {.db = db, .rep = rep, .next = pg_next, .link = pg_link};
  if (!(w.ctx = EVP_MD_CTX_new()))
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK) {
    EVP_MD_CTX_free(w.ctx);
    return st;
  }
  w.src = c;
  cursor k = {.open = false};
  w.rows = &k;
  if ((st = snapshot_head(c, &w.head_known, &w.head_seq, w.head_hash, err)) != AG_OK)
    goto done;
  /* the guards: present and enabled (a superuser can disable them); the
   * dictionary's where the log has audit_dict (a log from before it has
   * its decisions as sent) */
  PGresult *r = PQexec(c, "SELECT to_regclass('audit_dict') IS NOT NULL");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    st = pg_error(err, c, r, "verify");
    PQclear(r);
    goto done;
  }
  int want = !strcmp(PQgetvalue(r, 0, 0), "t") ? PG_NGUARDS : PG_NGUARDS - PG_NDICT_GUARDS;
  PQclear(r);
  char names[512];
  size_t at = 0;
  for (int i = 0; i < want && at < sizeof names; i++)
    at += (size_t)snprintf(names + at, sizeof names - at, "%c%s%s", i ? ',' : '{', pg_guards[i],
                           i + 1 < want ? "" : "}");
  const char *gv[1] = {names};
  r = PQexecParams(c,
                   "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
                   " AND tgenabled <> 'D' AND tgname = ANY($1::text[])"
                   " AND tgrelid IN ('audit_log'::regclass, 'audit_head'::regclass,"
                   " 'api_keys'::regclass, to_regclass('audit_dict'))",
                   1, NULL, gv, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    st = pg_error(err, c, r, "verify");
    PQclear(r);
    goto done;
  }
  rep->guards_present = atoi(PQgetvalue(r, 0, 0)) == want;
  PQclear(r);
  char f[24];
  snprintf(f, sizeof f, "%lld", (long long)(from > 1 ? from : INT64_MIN));
  const char *vals[1] = {f};
  if ((st = cursor_open(&k, c, "SELECT " PG_COLS " FROM audit_log WHERE seq >= $1 ORDER BY seq", 1,
                        vals, err)) != AG_OK)
    goto done;
  st = audit_walk_chain(&w, anchor, from, err);
done:
  cursor_close(&k);
  reader_done(db, c);
  EVP_MD_CTX_free(w.ctx);
  return st;
}

/* ---- keys ---- */

static void key_from(const PGresult *r, int i, ag_keys_info *k) {
  memset(k, 0, sizeof *k);
  snprintf(k->id, sizeof k->id, "%s", PQgetvalue(r, i, 0));
  ag_keys_role_parse(PQgetvalue(r, i, 2), &k->role);
  snprintf(k->name, sizeof k->name, "%s", PQgetvalue(r, i, 3));
  k->created_ms = get_i64(r, i, 4);
  k->revoked_ms = get_i64(r, i, 5);
}

static ag_status pg_key_insert(ag_audit_db *db, const ag_keys_info *k, const unsigned char hash[32],
                               bool *taken, ag_error *err) {
  *taken = false;
  PGconn *c = db->pg->w;
  ag_status st = AG_OK;
  /* inside an append the key goes in its transaction or not at all: a
   * connection made again here would commit the key without its record */
  if (!db->pg->appending && (st = writer(db, &c, err)) != AG_OK)
    return st;
  if (!c)
    return ag_error_set(err, AG_ERR_DB, "db", "PostgreSQL: the connection was lost");
  char created[24];
  snprintf(created, sizeof created, "%lld", (long long)k->created_ms);
  const char *vals[5] = {k->id, (const char *)hash, ag_keys_role_name(k->role), k->name, created};
  int lens[5] = {0, 32, 0, 0, 0}, fmts[5] = {0, 1, 0, 0, 0};
  PGresult *r = PQexecParams(c,
                             "INSERT INTO api_keys(id, key_hash, role, name, created_ms)"
                             " VALUES ($1, $2, $3, $4, $5)",
                             5, NULL, vals, lens, fmts, 0);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    *taken = code && !strcmp(code, "23505"); /* unique_violation */
    st = pg_error(err, c, r, "add key");
  }
  PQclear(r);
  return st;
}

static ag_status key_get_once(ag_audit_db *db, const char *id, ag_keys_info *k,
                              unsigned char hash[32], bool *found, bool *broke, ag_error *err);

/* Every request looks its key up: a pooled connection that broke while
 * idle is retried once on a new one rather than failing the request. */
static ag_status pg_key_get(ag_audit_db *db, const char *id, ag_keys_info *k,
                            unsigned char hash[32], bool *found, ag_error *err) {
  bool broke = false;
  ag_status st = key_get_once(db, id, k, hash, found, &broke, err);
  return broke ? key_get_once(db, id, k, hash, found, &broke, err) : st;
}

static ag_status key_get_once(ag_audit_db *db, const char *id, ag_keys_info *k,
                              unsigned char hash[32], bool *found, bool *broke, ag_error *err) {
  *found = false;
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  const char *vals[1] = {id};
  PGresult *r = exec_bin(c,
                         "SELECT id, key_hash, role, name, created_ms, revoked_ms FROM api_keys"
                         " WHERE id = $1",
                         1, vals, NULL, NULL);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "authenticate"), *broke = PQstatus(c) == CONNECTION_BAD;
  else if (PQntuples(r) == 1 && PQgetlength(r, 0, 1) == 32) {
    *found = true;
    memcpy(hash, PQgetvalue(r, 0, 1), 32);
    key_from(r, 0, k);
  }
  PQclear(r);
  reader_done(db, c);
  return st;
}

static ag_status pg_key_list(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err) {
  PGconn *c;
  ag_status st = reader(db, &c, err);
  if (st != AG_OK)
    return st;
  PGresult *r = exec_bin(c,
                         "SELECT id, key_hash, role, name, created_ms, revoked_ms FROM api_keys"
                         " ORDER BY created_ms, id",
                         0, NULL, NULL, NULL);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    st = pg_error(err, c, r, "list keys");
  } else if (PQntuples(r) > 0) {
    size_t m = (size_t)PQntuples(r);
    if (!(*out = calloc(m, sizeof **out)))
      st = ag_error_set(err, AG_ERR_NOMEM, "keys", "out of memory");
    else {
      for (size_t i = 0; i < m; i++)
        key_from(r, (int)i, &(*out)[i]);
      *n = m;
    }
  }
  PQclear(r);
  reader_done(db, c);
  return st;
}

static ag_status pg_key_revoke(ag_audit_db *db, const char *id, int64_t now_ms, bool *changed,
                               bool *found, ag_error *err) {
  *changed = *found = false;
  PGconn *c;
  ag_status st = writer(db, &c, err);
  if (st != AG_OK)
    return st;
  char now[24];
  snprintf(now, sizeof now, "%lld", (long long)now_ms);
  const char *vals[2] = {id, now};
  PGresult *r = PQexecParams(c,
                             "WITH k AS (SELECT revoked_ms FROM api_keys WHERE id = $1),"
                             " u AS (UPDATE api_keys SET revoked_ms = $2::bigint"
                             " WHERE id = $1 AND revoked_ms = 0 RETURNING 1)"
                             " SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u)",
                             2, NULL, vals, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    st = pg_error(err, c, r, "revoke key");
  else {
    *found = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
    *changed = strcmp(PQgetvalue(r, 0, 1), "0") != 0;
  }
  PQclear(r);
  return st;
}

static ag_status pg_backup(ag_audit_db *db, const char *dest, ag_error *err) {
  return audit_copy_to_file(db, dest, err);
}

/* ---- durability ---- */

/* Runs on the flusher a transaction that writes WAL (a KEY SHARE lock on
 * the head row takes a transaction id and logs the lock) with
 * synchronous_commit on: its COMMIT returns once the WAL is on disk
 * through its own commit record, so every append that committed before it
 * began is durable too, if the server did not restart in between: the
 * flusher must be on the server the writer committed on (epoch). */
static ag_status flush_wal(ag_audit_db *db, const char *epoch, ag_error *err) {
  struct audit_pg *pg = db->pg;
  ag_status st = AG_OK;
  /* a flusher on a server that went away, found broken or on another
   * server lifetime, is made again once: nothing was flushed on it */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (pg->f && (PQstatus(pg->f) != CONNECTION_OK || strcmp(pg->f_epoch, epoch) != 0)) {
      PQfinish(pg->f);
      pg->f = NULL;
    }
    if (!pg->f && (st = pg_connect(db, &pg->f, pg->f_epoch, err)) != AG_OK)
      return st;
    if (strcmp(pg->f_epoch, epoch) != 0)
      st = ag_error_set(err, AG_ERR_DB, "db",
                        "PostgreSQL restarted before the records were flushed; they may be lost");
    else if ((st = run(pg->f, "SELECT 1 FROM audit_head WHERE id = 1 FOR KEY SHARE",
                       PGRES_TUPLES_OK, "flush", err)) == AG_OK ||
             PQstatus(pg->f) != CONNECTION_BAD)
      return st;
  }
  return st;
}

static bool in_lost(const struct audit_pg *pg, uint64_t n) {
  for (size_t i = 0; i < pg->nlost; i++)
    if (n >= pg->lost[i].from && n <= pg->lost[i].to)
      return true;
  return false;
}

/* As audit_sync() for SQLite: one flush serves every commit counted before
 * it began, and callers waiting at the same time share it. A failed flush
 * fails its caller only: the others try again, on a connection made anew,
 * so the store recovers by itself once PostgreSQL is back. */
static ag_status pg_sync(ag_audit_db *db, uint64_t upto, ag_error *err) {
  struct audit_pg *pg = db->pg;
  ag_status st = AG_OK;
  pthread_mutex_lock(&db->smu);
  for (;;) {
    if ((st = db->sync_st) != AG_OK) {
      ag_error_set(err, st, "db", "%s", db->sync_why);
      break;
    }
    if (in_lost(pg, upto)) {
      st = ag_error_set(err, AG_ERR_DB, "db",
                        "PostgreSQL restarted before the record was flushed; it may be lost");
      break;
    }
    if (db->synced >= upto)
      break;
    if (db->syncing) {
      pthread_cond_wait(&db->scv, &db->smu);
      continue;
    }
    uint64_t target = atomic_load(&db->committed);
    char epoch[sizeof pg->w_epoch];
    memcpy(epoch, pg->w_epoch, sizeof epoch);
    db->syncing = true;
    pthread_mutex_unlock(&db->smu);
    st = flush_wal(db, epoch, err);
    pthread_mutex_lock(&db->smu);
    db->syncing = false;
    db->syncs++;
    if (st == AG_OK && target > db->synced)
      db->synced = target;
    pthread_cond_broadcast(&db->scv);
    if (st != AG_OK)
      break;
  }
  pthread_mutex_unlock(&db->smu);
  return st;
}

const audit_store audit_pg_store = {
    .name = "postgresql",
    .close = pg_close,
    .write_batch = pg_write_batch,
    .get = pg_get,
    .search = pg_search,
    .scan = pg_scan,
    .put_rows = pg_put_rows,
    .verify = pg_verify,
    .head = pg_head,
    .backup = pg_backup,
    .key_insert = pg_key_insert,
    .key_get = pg_key_get,
    .key_list = pg_key_list,
    .key_revoke = pg_key_revoke,
    .sync = pg_sync,
};
