/*
 * webhook.c - signed, retried delivery of new queue items
 * (acegate/webhook.h; docs/review.md, "The webhook").
 */
#include "acegate/webhook.h"

#include "acegate/audit.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct item {
  struct item *next;
  char id[64];
  char *json;
  size_t len;
} item;

struct ag_webhook {
  char *url;
  unsigned char secret[AG_WEBHOOK_SECRET_MAX];
  size_t secret_len;
  long backoff_ms;
  sqlite3 *h;   /* the deliveries beside a log file, or */
  char *pg_uri; /* in the database of a PostgreSQL log, through pg */
  PGconn *pg;   /* used by the delivery thread only */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* an item queued, or stopping */
  pthread_cond_t idle; /* the queue emptied */
  item *head, *tail;
  bool busy, stopping;
  atomic_bool cut; /* the wait is over: an attempt in flight is cut short */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS deliveries("
    " id INTEGER PRIMARY KEY, item TEXT NOT NULL, attempt INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,"
    " error TEXT NOT NULL, ms INTEGER NOT NULL, result TEXT NOT NULL);";

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Beside a log file; in memory for an in-memory log. */
static void db_path(const char *log_path, char *out, size_t cap) {
  if (!strcmp(log_path, ":memory:"))
    snprintf(out, cap, ":memory:");
  else
    snprintf(out, cap, "%s" AG_WEBHOOK_SUFFIX, log_path);
}

static sqlite3 *db_open(const char *log_path, ag_error *err) {
  char path[4200];
  db_path(log_path, path, sizeof path);
  sqlite3 *h = NULL;
  if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
          SQLITE_OK ||
      sqlite3_busy_timeout(h, 5000) != SQLITE_OK ||
      sqlite3_exec(h, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_exec(h, schema, NULL, NULL, NULL) != SQLITE_OK) {
    ag_error_set(err, AG_ERR_DB, "webhook", "the deliveries table %s: %s", path,
                 h ? sqlite3_errmsg(h) : "cannot be opened");
    sqlite3_close(h);
    return NULL;
  }
  return h;
}

/* ---- with a PostgreSQL log: webhook_deliveries in its database, where
 * every replica records its attempts (named apart from the log's tables;
 * made on first use under an advisory lock of its own; a role without
 * CREATE uses it once the owner has made it, docs/audit.md) ---- */

static const char pg_schema[] =
    "CREATE TABLE IF NOT EXISTS webhook_deliveries("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item text NOT NULL,"
    " attempt integer NOT NULL, at_ms bigint NOT NULL, url text NOT NULL,"
    " status bigint NOT NULL, error text NOT NULL, ms bigint NOT NULL, result text NOT NULL);"
    "REVOKE ALL ON webhook_deliveries FROM PUBLIC;";


static ag_status pg_fail(ag_error *err, PGconn *c, const PGresult *r, const char *what) {
  char msg[300];
  ag_audit_pg_message(c, r, msg, sizeof msg);
  return ag_error_set(err, AG_ERR_DB, "webhook", "the deliveries table in PostgreSQL: %s: %s",
                      what, msg);
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

/* A connection to the log's database with the table made; NULL on error. */
static PGconn *pg_open(const char *uri, ag_error *err) {
  char why[300];
  PGconn *c = ag_audit_pg_connect(uri, why, sizeof why);
  if (!c) {
    ag_error_set(err, AG_ERR_DB, "webhook", "the deliveries table in PostgreSQL: connect: %s", why);
    return NULL;
  }
  PGresult *r = PQexec(c, "SELECT to_regclass('webhook_deliveries') IS NOT NULL");
  bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              !strcmp(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  /* "acegate webhook": any constant other than the log's and the registry's */
  if (!have && !(pg_ok(c, "BEGIN", err, "make the table") &&
                 pg_ok(c, "SELECT pg_advisory_xact_lock(7461636567617002)", err, "make the table") &&
                 pg_ok(c, pg_schema, err, "make the table") &&
                 pg_ok(c, "COMMIT", err, "make the table"))) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

/* One attempt recorded. A connection found broken (a server restart is
 * learnt on the next use) is made again, and the insert tried once more. */
static void pg_record(ag_webhook *w, const char *const vals[8]) {
  for (int tries = 0; tries < 2; tries++) {
    if (w->pg && PQstatus(w->pg) != CONNECTION_OK) {
      PQfinish(w->pg);
      w->pg = NULL;
    }
    ag_error e;
    if (!w->pg && !(w->pg = pg_open(w->pg_uri, &e)))
      return;
    PGresult *r = PQexecParams(w->pg,
                               "INSERT INTO webhook_deliveries(item, attempt, at_ms, url, status, "
                               "error, ms, result) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
                               8, NULL, vals, NULL, NULL, 0);
    bool done = PQresultStatus(r) == PGRES_COMMAND_OK || PQstatus(w->pg) == CONNECTION_OK;
    PQclear(r);
    if (done)
      return;
  }
}

void ag_webhook_sign(const unsigned char *secret, size_t secret_len, const char *body,
                     size_t len, char out[72]) {
  unsigned char mac[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)body, len, mac, &n);
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256=", 7);
  for (size_t i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[mac[i] >> 4];
    out[8 + 2 * i] = hex[mac[i] & 15];
  }
  out[71] = '\0';
}

static void record(ag_webhook *w, const item *it, int attempt, long status, const char *error,
                   int64_t ms, const char *result) {
  if (w->pg_uri) {
    char n[4][24];
    snprintf(n[0], sizeof n[0], "%d", attempt);
    snprintf(n[1], sizeof n[1], "%lld", (long long)now_ms());
    snprintf(n[2], sizeof n[2], "%ld", status);
    snprintf(n[3], sizeof n[3], "%lld", (long long)ms);
    const char *const vals[8] = {it->id, n[0], n[1], w->url, n[2], error, n[3], result};
    pg_record(w, vals);
    return;
  }
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(w->h, "INSERT INTO deliveries(item, attempt, at_ms, url, status, "
                               "error, ms, result) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_text(q, 1, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, attempt);
    sqlite3_bind_int64(q, 3, now_ms());
    sqlite3_bind_text(q, 4, w->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, status);
    sqlite3_bind_text(q, 6, error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, ms);
    sqlite3_bind_text(q, 8, result, -1, SQLITE_STATIC);
    sqlite3_step(q);
  }
  sqlite3_finalize(q);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx) {
  (void)p;
  (void)ctx;
  return size * n;
}

static int progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  return atomic_load(&((ag_webhook *)ctx)->cut) ? 1 : 0; /* non-zero aborts */
}

/* One attempt: the body signed now. Returns the HTTP status (0: none). */
static long attempt(ag_webhook *w, CURL *c, const item *it, char *error, size_t cap) {
  long ts = (long)time(NULL);
  ag_buf body;
  ag_buf_init(&body);
  ag_buf_puts(&body, "{\"event\":\"queue_item\",\"id\":");
  ag_buf_json_str(&body, it->id, strlen(it->id));
  char tsbuf[32];
  snprintf(tsbuf, sizeof tsbuf, ",\"timestamp\":%ld,\"item\":", ts);
  ag_buf_puts(&body, tsbuf);
  ag_buf_append(&body, it->json, it->len);
  ag_buf_putc(&body, '}');
  if (body.failed) {
    snprintf(error, cap, "out of memory");
    ag_buf_free(&body);
    return 0;
  }
  char sig[72], sig_h[100], ts_h[64];
  ag_webhook_sign(w->secret, w->secret_len, body.data, body.len, sig);
  snprintf(sig_h, sizeof sig_h, "X-Acegate-Signature: %s", sig);
  snprintf(ts_h, sizeof ts_h, "X-Acegate-Timestamp: %ld", ts);
  struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
  hs = curl_slist_append(hs, sig_h);
  hs = curl_slist_append(hs, ts_h);
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, w->url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)AG_WEBHOOK_TIMEOUT_S);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "acegate-webhook");
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
      snprintf(error, cap, "HTTP status %ld", status);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
    snprintf(error, cap, "cut short: the wait for delivery ended");
  } else {
    snprintf(error, cap, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
  }
  curl_slist_free_all(hs);
  ag_buf_free(&body);
  return status;
}

/* Waits ms unless stopping; returns false when stopping. */
static bool pause_ms(ag_webhook *w, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->mu);
  while (!w->stopping && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
  }
  bool go = !w->stopping;
  pthread_mutex_unlock(&w->mu);
  return go;
}

/* Delivers one item: AG_WEBHOOK_ATTEMPTS attempts, backoff doubling. */
static void deliver(ag_webhook *w, CURL *c, const item *it) {
  long backoff = w->backoff_ms;
  for (int n = 1; n <= AG_WEBHOOK_ATTEMPTS; n++) {
    char error[CURL_ERROR_SIZE + 32] = "";
    int64_t t0 = now_ms();
    long status = c ? attempt(w, c, it, error, sizeof error) : 0;
    if (!c)
      snprintf(error, sizeof error, "no HTTP client");
    bool ok = status >= 200 && status <= 299;
    bool last = n == AG_WEBHOOK_ATTEMPTS;
    record(w, it, n, status, error, now_ms() - t0,
           ok ? "delivered" : last ? "abandoned" : "failed");
    if (ok || last)
      return;
    if (!pause_ms(w, backoff)) {
      record(w, it, n + 1, 0, "stopped before the next attempt", 0, "abandoned");
      return;
    }
    backoff *= 2;
  }
}

static void *run(void *arg) {
  ag_webhook *w = arg;
  CURL *c = curl_easy_init();
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->stopping)
      pthread_cond_wait(&w->cv, &w->mu);
    item *it = w->head;
    if (!it)
      break;
    w->head = it->next;
    if (!w->head)
      w->tail = NULL;
    if (w->stopping) {
      pthread_mutex_unlock(&w->mu);
      record(w, it, 1, 0, "stopped before the first attempt", 0, "abandoned");
    } else {
      w->busy = true;
      pthread_mutex_unlock(&w->mu);
      deliver(w, c, it);
    }
    free(it->json);
    free(it);
    pthread_mutex_lock(&w->mu);
    w->busy = false;
    if (!w->head)
      pthread_cond_broadcast(&w->idle);
  }
  pthread_mutex_unlock(&w->mu);
  curl_easy_cleanup(c);
  return NULL;
}

static ag_status read_secret(ag_webhook *w, const char *path, ag_error *err) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f)
    return ag_error_set(err, AG_ERR_IO, "webhook-secret-file", "%s: %s", path ? path : "",
                        path ? strerror(errno) : "is required with webhook-url");
  size_t n = fread(w->secret, 1, sizeof w->secret, f);
  bool more = n == sizeof w->secret && fgetc(f) != EOF;
  bool bad = ferror(f);
  fclose(f);
  if (bad)
    return ag_error_set(err, AG_ERR_IO, "webhook-secret-file", "%s: read error", path);
  if (more)
    return ag_error_set(err, AG_ERR_INPUT, "webhook-secret-file",
                        "%s: longer than %d bytes", path, AG_WEBHOOK_SECRET_MAX);
  while (n && (w->secret[n - 1] == '\n' || w->secret[n - 1] == '\r'))
    n--;
  if (!n)
    return ag_error_set(err, AG_ERR_INPUT, "webhook-secret-file", "%s: is empty", path);
  w->secret_len = n;
  return AG_OK;
}

static void free_handle(ag_webhook *w) {
  for (item *it = w->head, *next; it; it = next) {
    next = it->next;
    free(it->json);
    free(it);
  }
  sqlite3_close(w->h);
  PQfinish(w->pg);
  free(w->pg_uri);
  OPENSSL_cleanse(w->secret, sizeof w->secret);
  free(w->url);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  pthread_cond_destroy(&w->idle);
  free(w);
}

static ag_status check_url(const char *url, ag_error *err) {
  if (!url)
    return ag_error_set(err, AG_ERR_INPUT, "webhook-url", "is required with webhook-secret-file");
  if ((strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) || strlen(url) < 9)
    return ag_error_set(err, AG_ERR_INPUT, "webhook-url", "%s: not an http:// or https:// URL",
                        url);
  return AG_OK;
}

ag_status ag_webhook_check(const char *url, const char *secret_file, ag_error *err) {
  ag_status st = check_url(url, err);
  if (st != AG_OK)
    return st;
  ag_webhook *w = calloc(1, sizeof *w); /* the secret's room */
  if (!w)
    return ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  st = read_secret(w, secret_file, err);
  OPENSSL_cleanse(w->secret, sizeof w->secret);
  free(w);
  return st;
}

ag_status ag_webhook_open(const ag_webhook_options *o, ag_webhook **out, ag_error *err) {
  *out = NULL;
  ag_status cst = check_url(o->url, err);
  if (cst != AG_OK)
    return cst;
  ag_webhook *w = calloc(1, sizeof *w);
  if (!w)
    return ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  pthread_cond_init(&w->idle, NULL);
  atomic_init(&w->cut, false);
  w->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : AG_WEBHOOK_BACKOFF_MS;
  w->url = strdup(o->url);
  ag_status st = w->url ? read_secret(w, o->secret_file, err)
                        : ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  if (st == AG_OK && ag_audit_is_postgresql(o->log_path)) {
    /* the table made (or found) now: a log the role cannot use is refused */
    if (!(w->pg_uri = strdup(o->log_path)))
      st = ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
    else if (!(w->pg = pg_open(o->log_path, err)))
      st = err->status;
  } else if (st == AG_OK && !(w->h = db_open(o->log_path, err))) {
    st = err->status;
  }
  if (st == AG_OK && pthread_create(&w->thread, NULL, run, w) != 0)
    st = ag_error_set(err, AG_ERR_INTERNAL, "webhook", "cannot start the delivery thread");
  if (st != AG_OK) {
    free_handle(w);
    return st;
  }
  *out = w;
  return AG_OK;
}

void ag_webhook_post(ag_webhook *w, const char *json, size_t len) {
  if (!w)
    return;
  item *it = calloc(1, sizeof *it);
  char *copy = it ? malloc(len + 1) : NULL;
  if (!copy) {
    free(it);
    return;
  }
  memcpy(copy, json, len);
  copy[len] = 0;
  it->json = copy;
  it->len = len;
  json_t *j = json_loadb(json, len, 0, NULL);
  const char *id = json_string_value(json_object_get(j, "audit_id"));
  snprintf(it->id, sizeof it->id, "%s", id ? id : "");
  json_decref(j);
  pthread_mutex_lock(&w->mu);
  if (w->tail)
    w->tail->next = it;
  else
    w->head = it;
  w->tail = it;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void ag_webhook_close(ag_webhook *w, double max_seconds) {
  if (!w)
    return;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  long ms = max_seconds > 0 ? (long)(max_seconds * 1000) : 0;
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->mu);
  while ((w->head || w->busy) && pthread_cond_timedwait(&w->idle, &w->mu, &until) != ETIMEDOUT) {
  }
  w->stopping = true;
  atomic_store(&w->cut, true);
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  free_handle(w);
}

typedef struct {
  long long id, attempt, at_ms, status, ms;
  const char *item, *url, *error, *result;
} delivery;

static void put_delivery(ag_buf *out, bool first, const delivery *d) {
  char num[160];
  time_t at = (time_t)(d->at_ms / 1000);
  struct tm tm;
  gmtime_r(&at, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  snprintf(num, sizeof num, "%s{\"id\":%lld,\"item\":", first ? "" : ",", d->id);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->item);
  snprintf(num, sizeof num, ",\"attempt\":%lld,\"at\":\"%s\",\"url\":", d->attempt, when);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->url);
  snprintf(num, sizeof num, ",\"status\":%lld,\"error\":", d->status);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->error);
  snprintf(num, sizeof num, ",\"ms\":%lld,\"result\":", d->ms);
  ag_buf_puts(out, num);
  ag_buf_json_cstr(out, d->result);
  ag_buf_putc(out, '}');
}

#define DELIVERY_COLS "id, item, attempt, at_ms, url, status, error, ms, result"

static ag_status pg_deliveries(const char *uri, size_t limit, ag_buf *out, ag_error *err) {
  PGconn *c = pg_open(uri, err);
  if (!c)
    return err->status;
  char lim[24];
  snprintf(lim, sizeof lim, "%zu", limit);
  const char *const vals[] = {lim};
  PGresult *r = PQexecParams(c,
                             "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
                             "ORDER BY id DESC LIMIT $1::bigint",
                             1, NULL, vals, NULL, NULL, 0);
  ag_status st = AG_OK;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    st = pg_fail(err, c, r, "list");
  } else {
    ag_buf_puts(out, "{\"items\":[");
    for (int i = 0; i < PQntuples(r); i++) {
      delivery d = {.id = strtoll(PQgetvalue(r, i, 0), NULL, 10),
                    .item = PQgetvalue(r, i, 1),
                    .attempt = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                    .at_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10),
                    .url = PQgetvalue(r, i, 4),
                    .status = strtoll(PQgetvalue(r, i, 5), NULL, 10),
                    .error = PQgetvalue(r, i, 6),
                    .ms = strtoll(PQgetvalue(r, i, 7), NULL, 10),
                    .result = PQgetvalue(r, i, 8)};
      put_delivery(out, i == 0, &d);
    }
    ag_buf_puts(out, "]}");
  }
  PQclear(r);
  PQfinish(c);
  return st;
}

static const char *text_col(sqlite3_stmt *q, int i) {
  const char *v = (const char *)sqlite3_column_text(q, i);
  return v ? v : "";
}

ag_status ag_webhook_deliveries(const char *log_path, size_t limit, ag_buf *out,
                                ag_error *err) {
  if (ag_audit_is_postgresql(log_path)) {
    ag_status st = pg_deliveries(log_path, limit, out, err);
    if (st == AG_OK && out->failed)
      st = ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
    return st;
  }
  sqlite3 *h = db_open(log_path, err);
  if (!h)
    return err->status;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(h, "SELECT " DELIVERY_COLS " FROM deliveries ORDER BY id DESC LIMIT ?",
                         -1, &q, NULL) != SQLITE_OK) {
    ag_status st = ag_error_set(err, AG_ERR_DB, "webhook", "%s", sqlite3_errmsg(h));
    sqlite3_close(h);
    return st;
  }
  sqlite3_bind_int64(q, 1, (sqlite3_int64)limit);
  ag_buf_puts(out, "{\"items\":[");
  bool first = true;
  while (sqlite3_step(q) == SQLITE_ROW) {
    delivery d = {.id = sqlite3_column_int64(q, 0),
                  .item = text_col(q, 1),
                  .attempt = sqlite3_column_int64(q, 2),
                  .at_ms = sqlite3_column_int64(q, 3),
                  .url = text_col(q, 4),
                  .status = sqlite3_column_int64(q, 5),
                  .error = text_col(q, 6),
                  .ms = sqlite3_column_int64(q, 7),
                  .result = text_col(q, 8)};
    put_delivery(out, first, &d);
    first = false;
  }
  ag_buf_puts(out, "]}");
  sqlite3_finalize(q);
  sqlite3_close(h);
  return out->failed ? ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory") : AG_OK;
}
