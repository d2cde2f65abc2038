/*
 * store_pg.c - the party registry in the PostgreSQL database of the log
 * (store.h), through libpq: one registry for every replica on that log.
 *
 * Tables, named apart from the log's (audit_log, audit_head, api_keys,
 * audit_meta): party_registry, party_hits and party_rescreens, made on
 * first use in one transaction under an advisory lock of their own, so
 * two replicas starting together take turns. A role without CREATE uses
 * them once the owner has made them (docs/audit.md gives the GRANTs).
 * refs are compared and ordered byte by byte (COLLATE "C"), as SQLite
 * does, so the cursor of a list means the same on both. A party_hits made
 * when hits were keyed by (ref, source_id) gets its list_code column
 * under the same lock, its rows with '' (legacy rows, store.h), and a
 * party_rescreens made before re-screenings' beginnings were kept its
 * begun_ms column: changes only the tables' owner may make.
 *
 * One connection per handle, used under the registry's lock; a broken one
 * is made again on the next call outside a transaction.
 */
#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  parties_store base;
  char *uri;
  PGconn *c;
  bool in_tx;
} pg_store;

/* any constant other than the log's (pg.c): "acegate parties" */
#define SCHEMA_LOCK "7461636567617001"
#define SCREENED_CHUNK 1000 /* refs per UPDATE of last_screened_ms */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS party_registry(ref text COLLATE \"C\" PRIMARY KEY,"
    " name text NOT NULL, country text NOT NULL DEFAULT '', address text NOT NULL DEFAULT '',"
    " source text NOT NULL, last_screened_ms bigint);"
    "CREATE TABLE IF NOT EXISTS party_hits(ref text COLLATE \"C\" NOT NULL,"
    " source_id text NOT NULL, hash text NOT NULL, list_code text NOT NULL DEFAULT '',"
    " PRIMARY KEY(ref, list_code, source_id));"
    "CREATE TABLE IF NOT EXISTS party_rescreens(change text PRIMARY KEY,"
    " lists_version text NOT NULL, at_ms bigint NOT NULL, begun_ms bigint);"
    "REVOKE ALL ON party_registry, party_hits, party_rescreens FROM PUBLIC;";

static pg_store *of(parties_store *s) {
  return (pg_store *)s;
}

static ag_status pg_fail(ag_error *err, PGconn *c, const PGresult *r, const char *what) {
  char msg[300];
  ag_audit_pg_message(c, r, msg, sizeof msg);
  return ag_error_set(err, AG_ERR_DB, "parties", "the party registry in PostgreSQL: %s: %s",
                      what, msg);
}


/* The connection, made again if it broke while no transaction was open. */
static ag_status conn(pg_store *p, ag_error *err) {
  if (p->c && PQstatus(p->c) == CONNECTION_OK)
    return AG_OK;
  if (p->in_tx)
    return pg_fail(err, p->c, NULL, "the connection broke in a transaction");
  PQfinish(p->c);
  char why[300];
  if (!(p->c = ag_audit_pg_connect(p->uri, why, sizeof why)))
    return ag_error_set(err, AG_ERR_DB, "parties", "the party registry in PostgreSQL: connect: %s",
                        why);
  return AG_OK;
}

/* Runs sql with text parameters; *out (when given) keeps the result. */
static ag_status run(pg_store *p, const char *sql, int n, const char *const *vals,
                     const char *what, PGresult **out, ag_error *err) {
  if (out)
    *out = NULL;
  ag_status st = conn(p, err);
  if (st != AG_OK)
    return st;
  /* several statements (the schema) only without parameters */
  PGresult *r = n ? PQexecParams(p->c, sql, n, NULL, vals, NULL, NULL, 0) : PQexec(p->c, sql);
  ExecStatusType rs = PQresultStatus(r);
  /* a connection a server restart broke learns it on its next use: made
   * again and the statement run once more, unless a transaction was lost */
  if (rs == PGRES_FATAL_ERROR && PQstatus(p->c) == CONNECTION_BAD && !p->in_tx) {
    PQclear(r);
    if ((st = conn(p, err)) != AG_OK)
      return st;
    r = n ? PQexecParams(p->c, sql, n, NULL, vals, NULL, NULL, 0) : PQexec(p->c, sql);
    rs = PQresultStatus(r);
  }
  if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
    st = pg_fail(err, p->c, r, what);
    PQclear(r);
    return st;
  }
  if (out)
    *out = r;
  else
    PQclear(r);
  return AG_OK;
}

static void pg_close(parties_store *s) {
  pg_store *p = of(s);
  PQfinish(p->c);
  free(p->uri);
  free(p);
}

static ag_status pg_begin(parties_store *s, ag_error *err) {
  pg_store *p = of(s);
  ag_status st = run(p, "BEGIN", 0, NULL, "begin", NULL, err);
  p->in_tx = st == AG_OK;
  return st;
}

/* COMMIT, and only a real commit counts: in a failed transaction
 * PostgreSQL answers COMMIT with ROLLBACK. */
static ag_status pg_commit(parties_store *s, ag_error *err) {
  pg_store *p = of(s);
  PGresult *r = NULL;
  ag_status st = run(p, "COMMIT", 0, NULL, "commit", &r, err);
  if (st == AG_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0)
    st = ag_error_set(err, AG_ERR_DB, "parties",
                      "the party registry in PostgreSQL: the transaction was rolled back");
  PQclear(r);
  p->in_tx = false;
  return st;
}

static void pg_rollback(parties_store *s) {
  pg_store *p = of(s);
  if (p->c && PQstatus(p->c) == CONNECTION_OK && PQtransactionStatus(p->c) != PQTRANS_IDLE)
    PQclear(PQexec(p->c, "ROLLBACK"));
  p->in_tx = false;
}

static ag_status pg_import_one(parties_store *s, const char *ref, const char *name,
                               const char *country, const char *address, bool *existed,
                               ag_error *err) {
  pg_store *p = of(s);
  PGresult *r = NULL;
  const char *v[] = {ref, name, country, address};
  ag_status st = run(p, "SELECT 1 FROM party_registry WHERE ref = $1", 1, v, "import", &r, err);
  if (st != AG_OK)
    return st;
  *existed = PQntuples(r) > 0;
  PQclear(r);
  return run(p,
             "INSERT INTO party_registry(ref, name, country, address, source) "
             "VALUES($1, $2, $3, $4, 'import') ON CONFLICT(ref) DO UPDATE SET "
             "name = EXCLUDED.name, country = EXCLUDED.country, address = EXCLUDED.address, "
             "source = 'import'",
             4, v, "import", NULL, err);
}

static ag_status pg_note(parties_store *s, const char *ref, const char *name, const char *country,
                         int64_t now_ms, ag_error *err) {
  char now[24];
  snprintf(now, sizeof now, "%lld", (long long)now_ms);
  const char *v[] = {ref, name, country, now};
  return run(of(s),
             "INSERT INTO party_registry AS p(ref, name, country, address, source, "
             "last_screened_ms) VALUES($1, $2, $3, '', 'check', $4) ON CONFLICT(ref) DO UPDATE "
             "SET name = CASE WHEN p.source = 'import' THEN p.name ELSE EXCLUDED.name END, "
             "country = CASE WHEN p.source = 'import' THEN p.country ELSE EXCLUDED.country END, "
             "address = CASE WHEN p.source = 'import' THEN p.address ELSE '' END, "
             "last_screened_ms = EXCLUDED.last_screened_ms",
             4, v, "note", NULL, err);
}

/* The rows of a result with ref, name, country[, address, source,
 * last_screened_ms]; clears it. */
static ag_status rows_of(PGresult *r, party_rows *out, ag_error *err) {
  int ncols = PQnfields(r);
  for (int i = 0; i < PQntuples(r); i++) {
    party_row row = {.ref = PQgetvalue(r, i, 0), .name = PQgetvalue(r, i, 1),
                     .country = PQgetvalue(r, i, 2)};
    if (ncols > 3) {
      row.address = PQgetvalue(r, i, 3);
      row.source = PQgetvalue(r, i, 4);
      row.screened = !PQgetisnull(r, i, 5);
      row.last_screened_ms = row.screened ? strtoll(PQgetvalue(r, i, 5), NULL, 10) : 0;
    }
    if (!party_rows_add(out, &row)) {
      PQclear(r);
      return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
    }
  }
  PQclear(r);
  return AG_OK;
}

#define PARTY_COLS "ref, name, country, address, source, last_screened_ms"

static ag_status pg_select(parties_store *s, const char *after, const char *q, const char *only,
                           size_t limit, party_rows *out, ag_error *err) {
  PGresult *r = NULL;
  ag_status st;
  if (only) {
    const char *v[] = {only};
    st = run(of(s), "SELECT " PARTY_COLS " FROM party_registry WHERE ref = $1", 1, v, "show", &r,
             err);
  } else {
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *v[] = {after, q, lim};
    st = run(of(s),
             "SELECT " PARTY_COLS " FROM party_registry WHERE ref > $1 AND ($2 = '' OR "
             "strpos(lower(ref), lower($2)) > 0 OR strpos(lower(name), lower($2)) > 0) "
             "ORDER BY ref LIMIT $3::bigint",
             3, v, "list", &r, err);
  }
  return st == AG_OK ? rows_of(r, out, err) : st;
}

static ag_status pg_all(parties_store *s, party_rows *out, ag_error *err) {
  PGresult *r = NULL;
  /* the address too: evidence in the re-screening */
  ag_status st = run(of(s), "SELECT " PARTY_COLS " FROM party_registry ORDER BY ref", 0, NULL,
                     "re-screen", &r, err);
  return st == AG_OK ? rows_of(r, out, err) : st;
}

/* One statement: a second transaction recording the same pair waits for
 * the first, then finds the hash it wrote and returns no row. A pair not
 * known before (`prior`, as the statement began) with the content of a
 * legacy row of that id is written, and not fresh. */
static ag_status pg_hit(parties_store *s, const char *ref, const char *list, const char *sid,
                        const char *hash, bool *fresh, ag_error *err) {
  PGresult *r = NULL;
  const char *v[] = {ref, list, sid, hash};
  ag_status st = run(of(s),
                     "WITH prior AS (SELECT 1 FROM party_hits WHERE ref = $1 AND list_code = $2 "
                     "AND source_id = $3), legacy AS (SELECT 1 FROM party_hits WHERE ref = $1 "
                     "AND list_code = '' AND source_id = $3 AND hash = $4), w AS ("
                     "INSERT INTO party_hits AS h(ref, list_code, source_id, hash) "
                     "VALUES($1, $2, $3, $4) ON CONFLICT(ref, list_code, source_id) "
                     "DO UPDATE SET hash = EXCLUDED.hash WHERE h.hash <> EXCLUDED.hash "
                     "RETURNING 1) SELECT 1 FROM w WHERE EXISTS(SELECT 1 FROM prior) OR "
                     "NOT EXISTS(SELECT 1 FROM legacy)",
                     4, v, "re-screen", &r, err);
  *fresh = st == AG_OK && PQntuples(r) > 0;
  PQclear(r);
  return st;
}

/* An array literal of refs: each element quoted, with " and \ escaped. */
static bool array_literal(ag_buf *b, const char *const *refs, size_t n) {
  ag_buf_putc(b, '{');
  for (size_t i = 0; i < n; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_buf_putc(b, '"');
    for (const char *c = refs[i]; *c; c++) {
      if (*c == '"' || *c == '\\')
        ag_buf_putc(b, '\\');
      ag_buf_putc(b, *c);
    }
    ag_buf_putc(b, '"');
  }
  ag_buf_putc(b, '}');
  ag_buf_putc(b, '\0');
  return !b->failed;
}

static ag_status pg_screened(parties_store *s, const char *const *refs, size_t n, int64_t now_ms,
                             ag_error *err) {
  char now[24];
  snprintf(now, sizeof now, "%lld", (long long)now_ms);
  ag_status st = AG_OK;
  for (size_t i = 0; i < n && st == AG_OK; i += SCREENED_CHUNK) {
    ag_buf b;
    ag_buf_init(&b);
    if (!array_literal(&b, refs + i, n - i < SCREENED_CHUNK ? n - i : SCREENED_CHUNK))
      st = ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
    else {
      const char *v[] = {now, b.data};
      st = run(of(s), "UPDATE party_registry SET last_screened_ms = $1 WHERE ref = ANY($2::text[])",
               2, v, "re-screen", NULL, err);
    }
    ag_buf_free(&b);
  }
  return st;
}

/* The first row's first column of r as a number, -1 when NULL or none. */
static int64_t value_of(const PGresult *r) {
  return r && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                        : -1;
}

/* Outside a transaction. A row never claimed has at_ms 0; the row of a
 * change being claimed in another transaction is waited for. */
static ag_status pg_begun(parties_store *s, const char *key, const char *lists_version,
                          int64_t now_ms, int64_t window_ms, ag_error *err) {
  char now[24], since[24];
  snprintf(now, sizeof now, "%lld", (long long)now_ms);
  snprintf(since, sizeof since, "%lld", (long long)(now_ms - window_ms));
  const char *v[] = {key, lists_version, now, since};
  return run(of(s),
             "INSERT INTO party_rescreens AS c(change, lists_version, at_ms, begun_ms) "
             "VALUES($1, $2, 0, $3) ON CONFLICT(change) DO UPDATE SET lists_version = "
             "EXCLUDED.lists_version, begun_ms = EXCLUDED.begun_ms "
             "WHERE c.begun_ms IS NULL AND c.at_ms < $4::bigint",
             4, v, "record the re-screening's beginning", NULL, err);
}

/* begun_ms is left as it was by the upsert, so RETURNING gives it; then
 * cleared in the transaction. */
static ag_status pg_claim(parties_store *s, const char *key, const char *lists_version,
                          int64_t now_ms, int64_t window_ms, bool *claimed, int64_t *begun_ms,
                          ag_error *err) {
  char now[24], since[24];
  snprintf(now, sizeof now, "%lld", (long long)now_ms);
  snprintf(since, sizeof since, "%lld", (long long)(now_ms - window_ms));
  const char *v[] = {key, lists_version, now, since};
  PGresult *r = NULL;
  ag_status st = run(of(s),
                     "INSERT INTO party_rescreens AS c(change, lists_version, at_ms) "
                     "VALUES($1, $2, $3) ON CONFLICT(change) "
                     "DO UPDATE SET lists_version = EXCLUDED.lists_version, at_ms = "
                     "EXCLUDED.at_ms WHERE c.at_ms < $4::bigint RETURNING c.begun_ms",
                     4, v, "claim the re-screening", &r, err);
  *claimed = st == AG_OK && PQntuples(r) > 0;
  *begun_ms = *claimed ? value_of(r) : -1;
  PQclear(r);
  if (st == AG_OK && *claimed)
    st = run(of(s), "UPDATE party_rescreens SET begun_ms = NULL WHERE change = $1", 1, v,
             "claim the re-screening", NULL, err);
  return st;
}

/* Rows that another open transaction holds (a re-screening under way, its
 * own to clear) are skipped, not waited for. */
static ag_status pg_finish_all(parties_store *s, const char *key, const char *lists_version,
                               int64_t upto_ms, int64_t *begun_ms, ag_error *err) {
  char upto[24];
  snprintf(upto, sizeof upto, "%lld", (long long)upto_ms);
  const char *v[] = {upto, key, lists_version};
  PGresult *r = NULL;
  ag_status st = run(of(s), "SELECT min(begun_ms) FROM party_rescreens", 0, NULL,
                     "read the unfinished re-screenings", &r, err);
  *begun_ms = st == AG_OK ? value_of(r) : -1;
  PQclear(r);
  if (st == AG_OK)
    st = run(of(s),
             "UPDATE party_rescreens SET begun_ms = NULL WHERE change IN (SELECT change FROM "
             "party_rescreens WHERE begun_ms <= $1::bigint AND (change = $2 OR "
             "lists_version = $3) FOR UPDATE SKIP LOCKED)",
             3, v, "finish the unfinished re-screenings", NULL, err);
  return st;
}

static const parties_store_ops pg_ops = {
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .import_one = pg_import_one,
    .note = pg_note,
    .select = pg_select,
    .all = pg_all,
    .hit = pg_hit,
    .screened = pg_screened,
    .begun = pg_begun,
    .claim = pg_claim,
    .finish_all = pg_finish_all,
};

/* The three tables are there; party_hits is keyed by list, party_rescreens
 * keeps beginnings. */
#define HAVE_TABLES                                                                                \
  "to_regclass('party_registry') IS NOT NULL AND to_regclass('party_hits') IS NOT NULL "           \
  "AND to_regclass('party_rescreens') IS NOT NULL"
#define KEYED_BY_LIST                                                                              \
  "EXISTS(SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('party_hits') AND "              \
  "attname = 'list_code' AND NOT attisdropped)"
#define KEEPS_BEGUN                                                                                \
  "EXISTS(SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('party_rescreens') AND "         \
  "attname = 'begun_ms' AND NOT attisdropped)"
/* party_hits as it was made before hits were kept per list */
static const char rekey_sql[] =
    "ALTER TABLE party_hits ADD COLUMN list_code text NOT NULL DEFAULT '',"
    " DROP CONSTRAINT party_hits_pkey, ADD PRIMARY KEY(ref, list_code, source_id)";
/* party_rescreens as it was made before re-screenings' beginnings were kept */
static const char begun_sql[] = "ALTER TABLE party_rescreens ADD COLUMN begun_ms bigint";

/* *yes: the one-value query answered true. */
static ag_status ask(pg_store *p, const char *sql, bool *yes, ag_error *err) {
  PGresult *r = NULL;
  ag_status st = run(p, sql, 0, NULL, "open", &r, err);
  *yes = st == AG_OK && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  return st;
}

/* Under the lock: the change `sql` made unless `done` answers true; its
 * failure names what the table was made before. */
static ag_status upgrade(pg_store *p, const char *done, const char *sql, const char *what,
                         const char *before, ag_error *err) {
  bool yes = false;
  ag_status st = ask(p, done, &yes, err);
  if (st != AG_OK || yes)
    return st;
  st = run(p, sql, 0, NULL, what, NULL, err);
  if (st == AG_OK)
    return AG_OK;
  char why[224];
  snprintf(why, sizeof why, "%.220s", err ? err->reason : "");
  return ag_error_set(err, AG_ERR_DB, "parties",
                      "%s; %s: open the registry once as the owner of its tables (docs/audit.md)",
                      why, before);
}

/* Under the lock: the tables made, party_hits keyed by list,
 * party_rescreens keeping beginnings. */
static ag_status make_locked(pg_store *p, ag_error *err) {
  bool have = false;
  ag_status st = ask(p, "SELECT " HAVE_TABLES, &have, err);
  if (st == AG_OK && !have)
    st = run(p, schema_sql, 0, NULL, "make the tables", NULL, err);
  if (st == AG_OK)
    st = upgrade(p, "SELECT " KEYED_BY_LIST, rekey_sql, "key party_hits by list",
                 "party_hits was made before hits were kept per list", err);
  if (st == AG_OK)
    st = upgrade(p, "SELECT " KEEPS_BEGUN, begun_sql, "add party_rescreens.begun_ms",
                 "party_rescreens was made before re-screenings' beginnings were kept", err);
  return st;
}

/* The tables, made (or changed) unless they are there as they should be:
 * a role that may not create tables opens a registry its owner made. */
static ag_status make_schema(pg_store *p, ag_error *err) {
  bool ready = false;
  ag_status st =
      ask(p, "SELECT " HAVE_TABLES " AND " KEYED_BY_LIST " AND " KEEPS_BEGUN, &ready, err);
  if (st != AG_OK || ready)
    return st;
  if ((st = pg_begin(&p->base, err)) != AG_OK)
    return st;
  st = run(p, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", 0, NULL, "open", NULL, err);
  if (st == AG_OK)
    st = make_locked(p, err);
  if (st == AG_OK)
    return pg_commit(&p->base, err);
  pg_rollback(&p->base);
  return st;
}

ag_status parties_pg_open(const char *uri, parties_store **out, ag_error *err) {
  *out = NULL;
  pg_store *p = calloc(1, sizeof *p);
  if (!p || !(p->uri = strdup(uri))) {
    free(p);
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  }
  p->base.ops = &pg_ops;
  ag_status st = make_schema(p, err);
  if (st != AG_OK) {
    pg_close(&p->base);
    return st;
  }
  *out = &p->base;
  return AG_OK;
}
