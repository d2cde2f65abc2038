/*
 * store.c - the webhook's outbox and deliveries (store.h): a SQLite file
 * beside a log file, or two tables in the database of a PostgreSQL log,
 * where every replica keeps its items and records its attempts (named
 * apart from the log's tables; made on first use under an advisory lock of
 * their own; a role without CREATE uses them once the owner has made
 * them, docs/audit.md).
 */
#include "store.h"

#include "acegate/audit.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wh_store {
  pthread_mutex_t mu;
  sqlite3 *h; /* beside a log file, or */
  char *uri;  /* in the database of a PostgreSQL log, through pg */
  PGconn *pg; /* made again when found broken */
};

int64_t wh_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define LEASE_MS ((int64_t)AG_WEBHOOK_LEASE_S * 1000)

/* ---- SQLite ---- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS deliveries("
    " id INTEGER PRIMARY KEY, item TEXT NOT NULL, attempt INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,"
    " error TEXT NOT NULL, ms INTEGER NOT NULL, result TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox("
    " seq INTEGER PRIMARY KEY, item TEXT NOT NULL, body TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " delivered_ms INTEGER, claimed_ms INTEGER NOT NULL DEFAULT 0,"
    " claimed_by TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE delivered_ms IS NULL;"
    /* pruning reads the oldest deliveries from here, not the whole outbox */
    "CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox(delivered_ms)"
    " WHERE delivered_ms IS NOT NULL;";

/* Beside a log file; in memory for an in-memory log. */
static sqlite3 *sq_open(const char *log_path, ag_error *err) {
  char path[4200];
  if (!strcmp(log_path, ":memory:"))
    snprintf(path, sizeof path, ":memory:");
  else
    snprintf(path, sizeof path, "%s" AG_WEBHOOK_SUFFIX, log_path);
  sqlite3 *h = NULL;
  if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
      sqlite3_busy_timeout(h, 5000) != SQLITE_OK ||
      sqlite3_exec(h, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_exec(h, schema, NULL, NULL, NULL) != SQLITE_OK) {
    ag_error_set(err, AG_ERR_DB, "webhook", "the webhook's tables %s: %s", path,
                 h ? sqlite3_errmsg(h) : "cannot be opened");
    sqlite3_close(h);
    return NULL;
  }
  return h;
}

static ag_status sq_fail(wh_store *s, ag_error *err, const char *what) {
  return ag_error_set(err, AG_ERR_DB, "webhook", "the webhook's tables: %s: %s", what,
                      sqlite3_errmsg(s->h));
}

static ag_status sq_put(wh_store *s, const char *id, const char *json, size_t len, int64_t *seq,
                        ag_error *err) {
  sqlite3_stmt *q = NULL;
  bool ok = sqlite3_prepare_v2(s->h, "INSERT INTO outbox(item, body, at_ms) VALUES(?, ?, ?)", -1,
                               &q, NULL) == SQLITE_OK &&
            sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
            sqlite3_bind_text(q, 2, json, (int)len, SQLITE_STATIC) == SQLITE_OK &&
            sqlite3_bind_int64(q, 3, wh_now_ms()) == SQLITE_OK && sqlite3_step(q) == SQLITE_DONE;
  ag_status st = ok ? AG_OK : sq_fail(s, err, "write the outbox");
  sqlite3_finalize(q);
  *seq = ok ? sqlite3_last_insert_rowid(s->h) : 0;
  return st;
}

static bool pending_add(wh_pending **out, size_t *n, size_t *cap, int64_t seq, const char *id) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    wh_pending *p = realloc(*out, c * sizeof *p);
    if (!p)
      return false;
    *out = p;
    *cap = c;
  }
  (*out)[*n].seq = seq;
  snprintf((*out)[*n].id, sizeof(*out)[*n].id, "%s", id);
  (*n)++;
  return true;
}

static ag_status sq_pending(wh_store *s, size_t max, wh_pending **out, size_t *n, ag_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(s->h,
                         "SELECT seq, item FROM (SELECT seq, item FROM outbox WHERE delivered_ms "
                         "IS NULL ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                         -1, &q, NULL) != SQLITE_OK)
    return sq_fail(s, err, "read the outbox");
  sqlite3_bind_int64(q, 1, (sqlite3_int64)max);
  size_t cap = 0;
  int rc;
  bool ok = true;
  while (ok && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(q, 1);
    ok = pending_add(out, n, &cap, sqlite3_column_int64(q, 0), id ? id : "");
  }
  ag_status st = !ok                 ? ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory")
                 : rc != SQLITE_DONE ? sq_fail(s, err, "read the outbox")
                                     : AG_OK;
  sqlite3_finalize(q);
  return st;
}

static wh_claim sq_claim(wh_store *s, int64_t seq, const char *me, char **body, size_t *len) {
  sqlite3_stmt *q = NULL;
  int64_t now = wh_now_ms();
  if (sqlite3_prepare_v2(s->h,
                         "UPDATE outbox SET claimed_ms = ?1, claimed_by = ?2 WHERE seq = ?3 AND "
                         "delivered_ms IS NULL AND claimed_ms < ?1 - ?4 RETURNING body",
                         -1, &q, NULL) != SQLITE_OK)
    return WH_UNKNOWN;
  sqlite3_bind_int64(q, 1, now);
  sqlite3_bind_text(q, 2, me, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, seq);
  sqlite3_bind_int64(q, 4, LEASE_MS);
  int rc = sqlite3_step(q);
  wh_claim c = rc == SQLITE_ROW ? WH_CLAIMED : rc == SQLITE_DONE ? WH_TAKEN : WH_UNKNOWN;
  if (c == WH_CLAIMED && body) {
    const char *b = (const char *)sqlite3_column_text(q, 0);
    *len = b ? (size_t)sqlite3_column_bytes(q, 0) : 0;
    *body = b ? strndup(b, *len) : NULL;
    if (!*body)
      c = WH_UNKNOWN;
  }
  while (rc == SQLITE_ROW)
    rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? c : WH_UNKNOWN;
}

static void sq_record(wh_store *s, int64_t seq, const char *me, const wh_attempt *a) {
  bool delivered = !strcmp(a->result, "delivered"), abandoned = !strcmp(a->result, "abandoned");
  if (sqlite3_exec(s->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return;
  sqlite3_stmt *q = NULL;
  bool ok = sqlite3_prepare_v2(s->h,
                               "INSERT INTO deliveries(item, attempt, at_ms, url, status, error, "
                               "ms, result) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                               -1, &q, NULL) == SQLITE_OK;
  if (ok) {
    sqlite3_bind_text(q, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, a->attempt);
    sqlite3_bind_int64(q, 3, a->at_ms);
    sqlite3_bind_text(q, 4, a->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, a->status);
    sqlite3_bind_text(q, 6, a->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, a->ms);
    sqlite3_bind_text(q, 8, a->result, -1, SQLITE_STATIC);
    ok = sqlite3_step(q) == SQLITE_DONE;
  }
  sqlite3_finalize(q);
  q = NULL;
  if (ok && seq && (delivered || abandoned)) {
    ok = sqlite3_prepare_v2(s->h,
                            delivered ? "UPDATE outbox SET delivered_ms = ?2 WHERE seq = ?1"
                                      : "UPDATE outbox SET claimed_ms = 0 WHERE seq = ?1 AND "
                                        "claimed_by = ?3",
                            -1, &q, NULL) == SQLITE_OK;
    if (ok) {
      sqlite3_bind_int64(q, 1, seq);
      if (delivered)
        sqlite3_bind_int64(q, 2, a->at_ms);
      else
        sqlite3_bind_text(q, 3, me, -1, SQLITE_STATIC);
      ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
  }
  sqlite3_exec(s->h, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
}

/* The oldest max items delivered before before_ms, by the delivered index;
 * a pending item (delivered_ms NULL) never matches. */
static ag_status sq_prune(wh_store *s, int64_t before_ms, size_t max, size_t *n, ag_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(s->h,
                         "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE "
                         "delivered_ms < ?1 ORDER BY delivered_ms LIMIT ?2)",
                         -1, &q, NULL) != SQLITE_OK)
    return sq_fail(s, err, "prune the outbox");
  sqlite3_bind_int64(q, 1, before_ms);
  sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
  bool ok = sqlite3_step(q) == SQLITE_DONE;
  sqlite3_finalize(q);
  if (!ok)
    return sq_fail(s, err, "prune the outbox");
  *n = (size_t)sqlite3_changes(s->h);
  return AG_OK;
}

/* ---- PostgreSQL ---- */

static const char pg_schema[] =
    "CREATE TABLE IF NOT EXISTS webhook_deliveries("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item text NOT NULL,"
    " attempt integer NOT NULL, at_ms bigint NOT NULL, url text NOT NULL,"
    " status bigint NOT NULL, error text NOT NULL, ms bigint NOT NULL, result text NOT NULL);"
    "REVOKE ALL ON webhook_deliveries FROM PUBLIC;"
    "CREATE TABLE IF NOT EXISTS webhook_outbox("
    " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item text NOT NULL,"
    " body text NOT NULL, at_ms bigint NOT NULL, delivered_ms bigint,"
    " claimed_ms bigint NOT NULL DEFAULT 0, claimed_by text NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox(seq)"
    " WHERE delivered_ms IS NULL;"
    "CREATE INDEX IF NOT EXISTS webhook_outbox_delivered ON webhook_outbox(delivered_ms)"
    " WHERE delivered_ms IS NOT NULL;"
    "REVOKE ALL ON webhook_outbox FROM PUBLIC;";

/* The database's clock: the replicas' claims are compared on one clock. */
#define PG_NOW "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

static ag_status pg_fail(ag_error *err, PGconn *c, const PGresult *r, const char *what) {
  char msg[300];
  ag_audit_pg_message(c, r, msg, sizeof msg);
  return ag_error_set(err, AG_ERR_DB, "webhook", "the webhook's tables in PostgreSQL: %s: %s", what,
                      msg);
}

static bool pg_ok(PGconn *c, const char *sql, ag_error *err, const char *what) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType rs = PQresultStatus(r);
  bool ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;
  if (!ok)
    pg_fail(err, c, r, what);
  PQclear(r);
  return ok;
}

/* Runs sql in one transaction under the tables' advisory lock ("acegate
 * webhook": any constant other than the log's and the registry's). */
static bool pg_make(PGconn *c, const char *sql, ag_error *err) {
  if (!pg_ok(c, "BEGIN", err, "make the tables"))
    return false;
  if (pg_ok(c, "SELECT pg_advisory_xact_lock(7461636567617002)", err, "make the tables") &&
      pg_ok(c, sql, err, "make the tables") && pg_ok(c, "COMMIT", err, "make the tables"))
    return true;
  PGresult *r = PQexec(c, "ROLLBACK");
  PQclear(r);
  return false;
}

/* A connection to the log's database with the tables made; NULL on error.
 * Tables made before the outbox was pruned get its delivered index when
 * the role may add it (their owner); without it pruning still works, by
 * reading more of the outbox. */
static PGconn *pg_connect(const char *uri, ag_error *err) {
  char why[300];
  PGconn *c = ag_audit_pg_connect(uri, why, sizeof why);
  if (!c) {
    ag_error_set(err, AG_ERR_DB, "webhook", "the webhook's tables in PostgreSQL: connect: %s", why);
    return NULL;
  }
  PGresult *r = PQexec(c, "SELECT to_regclass('webhook_deliveries') IS NOT NULL AND "
                          "to_regclass('webhook_outbox') IS NOT NULL, "
                          "to_regclass('webhook_outbox_delivered') IS NOT NULL");
  bool read = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  bool have = read && !strcmp(PQgetvalue(r, 0, 0), "t");
  bool indexed = read && !strcmp(PQgetvalue(r, 0, 1), "t");
  PQclear(r);
  if (!have && !pg_make(c, pg_schema, err)) {
    PQfinish(c);
    return NULL;
  }
  ag_error ignored;
  if (have && !indexed)
    pg_make(c,
            "CREATE INDEX IF NOT EXISTS webhook_outbox_delivered ON webhook_outbox(delivered_ms)"
            " WHERE delivered_ms IS NOT NULL",
            &ignored);
  return c;
}

/* Runs sql into *out. A connection found broken (a server restart is
 * learnt on the next use) is made again, and the statement tried once
 * more. */
static ag_status pg_run(wh_store *s, const char *sql, int n, const char *const *vals,
                        const char *what, PGresult **out, ag_error *err) {
  *out = NULL;
  for (int tries = 0;; tries++) {
    if (s->pg && PQstatus(s->pg) != CONNECTION_OK) {
      PQfinish(s->pg);
      s->pg = NULL;
    }
    if (!s->pg && !(s->pg = pg_connect(s->uri, err)))
      return err->status;
    PGresult *r = PQexecParams(s->pg, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
      *out = r;
      return AG_OK;
    }
    if (tries || PQstatus(s->pg) == CONNECTION_OK) {
      ag_status st = pg_fail(err, s->pg, r, what);
      PQclear(r);
      return st;
    }
    PQclear(r);
  }
}

static ag_status pg_put(wh_store *s, const char *id, const char *json, int64_t *seq,
                        ag_error *err) {
  char at[24];
  snprintf(at, sizeof at, "%lld", (long long)wh_now_ms());
  const char *const vals[] = {id, json, at};
  PGresult *r;
  ag_status st = pg_run(s,
                        "INSERT INTO webhook_outbox(item, body, at_ms) VALUES($1, $2, $3) "
                        "RETURNING seq",
                        3, vals, "write the outbox", &r, err);
  *seq = st == AG_OK && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
  PQclear(r);
  return st;
}

static ag_status pg_pending(wh_store *s, size_t max, wh_pending **out, size_t *n, ag_error *err) {
  char lim[24];
  snprintf(lim, sizeof lim, "%zu", max);
  const char *const vals[] = {lim};
  PGresult *r;
  ag_status st = pg_run(s,
                        "SELECT seq, item FROM (SELECT seq, item FROM webhook_outbox WHERE "
                        "delivered_ms IS NULL ORDER BY seq DESC LIMIT $1::bigint) t ORDER BY seq",
                        1, vals, "read the outbox", &r, err);
  size_t cap = 0;
  for (int i = 0; st == AG_OK && i < PQntuples(r); i++)
    if (!pending_add(out, n, &cap, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1)))
      st = ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  PQclear(r);
  return st;
}

static wh_claim pg_claim(wh_store *s, int64_t seq, const char *me, char **body, size_t *len) {
  char n[2][24];
  snprintf(n[0], sizeof n[0], "%lld", (long long)seq);
  snprintf(n[1], sizeof n[1], "%lld", (long long)LEASE_MS);
  const char *const vals[] = {n[0], me, n[1]};
  /* of two replicas updating the row, the second waits for the first and
   * then finds it claimed */
  const char *sql = body
                        ? "UPDATE webhook_outbox SET claimed_ms = " PG_NOW ", claimed_by = $2 "
                          "WHERE seq = $1::bigint AND delivered_ms IS NULL AND claimed_ms < " PG_NOW
                          " - $3::bigint RETURNING body"
                        : "UPDATE webhook_outbox SET claimed_ms = " PG_NOW ", claimed_by = $2 "
                          "WHERE seq = $1::bigint AND delivered_ms IS NULL AND claimed_ms < " PG_NOW
                          " - $3::bigint RETURNING seq";
  PGresult *r;
  ag_error e;
  if (pg_run(s, sql, 3, vals, "claim", &r, &e) != AG_OK)
    return WH_UNKNOWN;
  wh_claim c = PQntuples(r) == 1 ? WH_CLAIMED : WH_TAKEN;
  if (c == WH_CLAIMED && body) {
    *len = (size_t)PQgetlength(r, 0, 0);
    if (!(*body = strndup(PQgetvalue(r, 0, 0), *len)))
      c = WH_UNKNOWN;
  }
  PQclear(r);
  return c;
}

#define PG_INSERT_ATTEMPT                                                                          \
  "INSERT INTO webhook_deliveries(item, attempt, at_ms, url, status, error, ms, result) "          \
  "VALUES($1, $2, $3, $4, $5, $6, $7, $8)"

/* One statement: the attempt and what it does to the item commit together. */
static void pg_record(wh_store *s, int64_t seq, const char *me, const wh_attempt *a) {
  char n[5][24];
  snprintf(n[0], sizeof n[0], "%d", a->attempt);
  snprintf(n[1], sizeof n[1], "%lld", (long long)a->at_ms);
  snprintf(n[2], sizeof n[2], "%ld", a->status);
  snprintf(n[3], sizeof n[3], "%lld", (long long)a->ms);
  snprintf(n[4], sizeof n[4], "%lld", (long long)seq);
  const char *const vals[10] = {a->id,    n[0], n[1],      a->url, n[2],
                                a->error, n[3], a->result, n[4],   me};
  const char *sql = PG_INSERT_ATTEMPT;
  int nv = 8;
  if (seq && !strcmp(a->result, "delivered")) {
    sql = "WITH a AS (" PG_INSERT_ATTEMPT ") UPDATE webhook_outbox SET delivered_ms = $3::bigint "
          "WHERE seq = $9::bigint";
    nv = 9;
  } else if (seq && !strcmp(a->result, "abandoned")) {
    sql = "WITH a AS (" PG_INSERT_ATTEMPT ") UPDATE webhook_outbox SET claimed_ms = 0 "
          "WHERE seq = $9::bigint AND claimed_by = $10";
    nv = 10;
  }
  PGresult *r;
  ag_error e;
  if (pg_run(s, sql, nv, vals, "record", &r, &e) == AG_OK)
    PQclear(r);
}

static ag_status pg_prune(wh_store *s, int64_t before_ms, size_t max, size_t *n, ag_error *err) {
  char v[2][24];
  snprintf(v[0], sizeof v[0], "%lld", (long long)before_ms);
  snprintf(v[1], sizeof v[1], "%zu", max);
  const char *const vals[] = {v[0], v[1]};
  PGresult *r;
  /* of two replicas pruning together, the second waits on the rows the
   * first deletes and finds them gone */
  ag_status st = pg_run(s,
                        "DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox "
                        "WHERE delivered_ms < $1::bigint ORDER BY delivered_ms LIMIT $2::bigint)",
                        2, vals, "prune the outbox", &r, err);
  if (st == AG_OK)
    *n = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return st;
}

/* ---- the operations ---- */

ag_status wh_store_open(const char *log_path, wh_store **out, ag_error *err) {
  *out = NULL;
  wh_store *s = calloc(1, sizeof *s);
  if (!s)
    return ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  ag_status st = AG_OK;
  if (ag_audit_is_postgresql(log_path)) {
    /* the tables made (or found) now: a log the role cannot use is refused */
    if (!(s->uri = strdup(log_path)))
      st = ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
    else if (!(s->pg = pg_connect(log_path, err)))
      st = err->status;
  } else if (!(s->h = sq_open(log_path, err))) {
    st = err->status;
  }
  if (st != AG_OK) {
    wh_store_close(s);
    return st;
  }
  *out = s;
  return AG_OK;
}

void wh_store_close(wh_store *s) {
  if (!s)
    return;
  sqlite3_close(s->h);
  PQfinish(s->pg);
  free(s->uri);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

ag_status wh_store_put(wh_store *s, const char *id, const char *json, size_t len, int64_t *seq,
                       ag_error *err) {
  pthread_mutex_lock(&s->mu);
  ag_status st = s->uri ? pg_put(s, id, json, seq, err) : sq_put(s, id, json, len, seq, err);
  pthread_mutex_unlock(&s->mu);
  return st;
}

ag_status wh_store_pending(wh_store *s, size_t max, wh_pending **out, size_t *n, ag_error *err) {
  *out = NULL;
  *n = 0;
  pthread_mutex_lock(&s->mu);
  ag_status st = s->uri ? pg_pending(s, max, out, n, err) : sq_pending(s, max, out, n, err);
  pthread_mutex_unlock(&s->mu);
  if (st != AG_OK) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return st;
}

wh_claim wh_store_claim(wh_store *s, int64_t seq, const char *me, char **body, size_t *len) {
  pthread_mutex_lock(&s->mu);
  wh_claim c = s->uri ? pg_claim(s, seq, me, body, len) : sq_claim(s, seq, me, body, len);
  pthread_mutex_unlock(&s->mu);
  return c;
}

void wh_store_record(wh_store *s, int64_t seq, const char *me, const wh_attempt *a) {
  pthread_mutex_lock(&s->mu);
  if (s->uri)
    pg_record(s, seq, me, a);
  else
    sq_record(s, seq, me, a);
  pthread_mutex_unlock(&s->mu);
}

ag_status wh_store_prune(wh_store *s, int64_t before_ms, size_t max, size_t *n, ag_error *err) {
  *n = 0;
  pthread_mutex_lock(&s->mu);
  ag_status st = s->uri ? pg_prune(s, before_ms, max, n, err) : sq_prune(s, before_ms, max, n, err);
  pthread_mutex_unlock(&s->mu);
  return st;
}

/* ---- the listings ---- */

static void put_time(ag_buf *out, int64_t ms) {
  time_t at = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&at, &tm);
  char when[32];
  strftime(when, sizeof when, "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
  ag_buf_puts(out, when);
}

typedef struct {
  long long id, attempt, at_ms, status, ms;
  const char *item, *url, *error, *result;
} delivery;

static void put_delivery(ag_buf *out, bool first, const delivery *d) {
  char num[160];
  snprintf(num, sizeof num, "%s{\"id\":%lld,\"item\":", first ? "" : ",", d->id);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->item);
  snprintf(num, sizeof num, ",\"attempt\":%lld,\"at\":", d->attempt);
  ag_buf_puts(out, num);
  put_time(out, d->at_ms);
  ag_buf_puts(out, ",\"url\":");
  ag_buf_json_cstr(out, d->url);
  snprintf(num, sizeof num, ",\"status\":%lld,\"error\":", d->status);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->error);
  snprintf(num, sizeof num, ",\"ms\":%lld,\"result\":", d->ms);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->result);
  ag_buf_putc(out, '}');
}

typedef struct {
  long long id, at_ms, claimed_ms;
  const char *item;
} pending_row;

static void put_pending(ag_buf *out, bool first, const pending_row *p) {
  char num[64];
  snprintf(num, sizeof num, "%s{\"id\":%lld,\"item\":", first ? "" : ",", p->id);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, p->item);
  ag_buf_puts(out, ",\"at\":");
  put_time(out, p->at_ms);
  ag_buf_puts(out, ",\"claimed_until\":");
  if (p->claimed_ms)
    put_time(out, p->claimed_ms + LEASE_MS);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
}

#define DELIVERY_COLS "id, item, attempt, at_ms, url, status, error, ms, result"
/* the count is taken before the limit: every pending item */
#define PENDING_COLS "seq, item, at_ms, claimed_ms, count(*) OVER ()"

static ag_status pg_list(wh_store *s, bool pending, size_t limit, ag_buf *out, ag_error *err) {
  char lim[24];
  snprintf(lim, sizeof lim, "%zu", limit);
  const char *const vals[] = {lim};
  PGresult *r;
  ag_status st = pg_run(s,
                        pending ? "SELECT " PENDING_COLS " FROM webhook_outbox WHERE "
                                  "delivered_ms IS NULL ORDER BY seq DESC LIMIT $1::bigint"
                                : "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
                                  "ORDER BY id DESC LIMIT $1::bigint",
                        1, vals, "list", &r, err);
  if (st != AG_OK)
    return st;
  ag_buf_puts(out, "{\"items\":[");
  long long total = 0;
  for (int i = 0; i < PQntuples(r); i++) {
#define NUM(c) strtoll(PQgetvalue(r, i, c), NULL, 10)
    if (pending) {
      pending_row p = {
          .id = NUM(0), .item = PQgetvalue(r, i, 1), .at_ms = NUM(2), .claimed_ms = NUM(3)};
      put_pending(out, i == 0, &p);
      total = NUM(4);
    } else {
      delivery d = {.id = NUM(0),
                    .item = PQgetvalue(r, i, 1),
                    .attempt = NUM(2),
                    .at_ms = NUM(3),
                    .url = PQgetvalue(r, i, 4),
                    .status = NUM(5),
                    .error = PQgetvalue(r, i, 6),
                    .ms = NUM(7),
                    .result = PQgetvalue(r, i, 8)};
      put_delivery(out, i == 0, &d);
    }
#undef NUM
  }
  char tail[48];
  snprintf(tail, sizeof tail, "],\"total\":%lld}", total);
  ag_buf_puts(out, pending ? tail : "]}");
  PQclear(r);
  return AG_OK;
}

static const char *text_col(sqlite3_stmt *q, int i) {
  const char *v = (const char *)sqlite3_column_text(q, i);
  return v ? v : "";
}

static ag_status sq_list(wh_store *s, bool pending, size_t limit, ag_buf *out, ag_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(s->h,
                         pending ? "SELECT " PENDING_COLS " FROM outbox WHERE delivered_ms IS "
                                   "NULL ORDER BY seq DESC LIMIT ?"
                                 : "SELECT " DELIVERY_COLS " FROM deliveries ORDER BY id DESC "
                                   "LIMIT ?",
                         -1, &q, NULL) != SQLITE_OK)
    return sq_fail(s, err, "list");
  sqlite3_bind_int64(q, 1, (sqlite3_int64)limit);
  ag_buf_puts(out, "{\"items\":[");
  bool first = true;
  long long total = 0;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
#define NUM(c) sqlite3_column_int64(q, c)
    if (pending) {
      pending_row p = {.id = NUM(0), .item = text_col(q, 1), .at_ms = NUM(2), .claimed_ms = NUM(3)};
      put_pending(out, first, &p);
      total = NUM(4);
    } else {
      delivery d = {.id = NUM(0),
                    .item = text_col(q, 1),
                    .attempt = NUM(2),
                    .at_ms = NUM(3),
                    .url = text_col(q, 4),
                    .status = NUM(5),
                    .error = text_col(q, 6),
                    .ms = NUM(7),
                    .result = text_col(q, 8)};
      put_delivery(out, first, &d);
    }
#undef NUM
    first = false;
  }
  char tail[48];
  snprintf(tail, sizeof tail, "],\"total\":%lld}", total);
  ag_buf_puts(out, pending ? tail : "]}");
  ag_status st = rc == SQLITE_DONE ? AG_OK : sq_fail(s, err, "list");
  sqlite3_finalize(q);
  return st;
}

static ag_status list(wh_store *s, bool pending, size_t limit, ag_buf *out, ag_error *err) {
  pthread_mutex_lock(&s->mu);
  ag_status st =
      s->uri ? pg_list(s, pending, limit, out, err) : sq_list(s, pending, limit, out, err);
  pthread_mutex_unlock(&s->mu);
  if (st == AG_OK && out->failed)
    st = ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  return st;
}

ag_status wh_store_list_attempts(wh_store *s, size_t limit, ag_buf *out, ag_error *err) {
  return list(s, false, limit, out, err);
}

ag_status wh_store_list_pending(wh_store *s, size_t limit, ag_buf *out, ag_error *err) {
  return list(s, true, limit, out, err);
}
