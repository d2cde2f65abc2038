/*
 * webhook.c - signed, retried delivery of new queue items
 * (acegate/webhook.h; docs/review.md, "The webhook").
 */
#include "acegate/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
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
  sqlite3 *h;
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

/* Beside a log file; in memory for an in-memory log or a PostgreSQL one
 * (no file to sit beside). */
static void db_path(const char *log_path, char *out, size_t cap) {
  if (!strcmp(log_path, ":memory:") || !strncmp(log_path, "postgresql://", 13) ||
      !strncmp(log_path, "postgres://", 11))
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
  if (st == AG_OK && !(w->h = db_open(o->log_path, err)))
    st = err->status;
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

ag_status ag_webhook_deliveries(const char *log_path, size_t limit, ag_buf *out,
                                ag_error *err) {
  sqlite3 *h = db_open(log_path, err);
  if (!h)
    return err->status;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(h, "SELECT id, item, attempt, at_ms, url, status, error, ms, result "
                            "FROM deliveries ORDER BY id DESC LIMIT ?",
                         -1, &q, NULL) != SQLITE_OK) {
    ag_status st = ag_error_set(err, AG_ERR_DB, "webhook", "%s", sqlite3_errmsg(h));
    sqlite3_close(h);
    return st;
  }
  sqlite3_bind_int64(q, 1, (sqlite3_int64)limit);
  ag_buf_puts(out, "{\"items\":[");
  bool first = true;
  while (sqlite3_step(q) == SQLITE_ROW) {
    char num[160];
    time_t at = (time_t)(sqlite3_column_int64(q, 3) / 1000);
    struct tm tm;
    gmtime_r(&at, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(num, sizeof num, "%s{\"id\":%lld,\"item\":", first ? "" : ",",
             (long long)sqlite3_column_int64(q, 0));
    ag_buf_puts(out, num);
    ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 1));
    snprintf(num, sizeof num, ",\"attempt\":%d,\"at\":\"%s\",\"url\":", sqlite3_column_int(q, 2),
             when);
    ag_buf_puts(out, num);
    ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 4));
    snprintf(num, sizeof num, ",\"status\":%lld,\"error\":", (long long)sqlite3_column_int64(q, 5));
    ag_buf_puts(out, num);
    ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 6));
    snprintf(num, sizeof num, ",\"ms\":%lld,\"result\":", (long long)sqlite3_column_int64(q, 7));
    ag_buf_puts(out, num);
    ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 8));
    ag_buf_putc(out, '}');
    first = false;
  }
  ag_buf_puts(out, "]}");
  sqlite3_finalize(q);
  sqlite3_close(h);
  return out->failed ? ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory") : AG_OK;
}
