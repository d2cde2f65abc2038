/*
 * webhook.c - signed, retried delivery of new queue items, none lost: the
 * outbox and the deliveries are kept by store.c (acegate/webhook.h;
 * docs/review.md, "The webhook").
 */
#include "acegate/webhook.h"

#include "store.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

typedef struct item {
  struct item *next;
  int64_t seq; /* in the outbox; 0: not written there */
  bool again;  /* queued again from the outbox at open */
  char id[64];
  char *json; /* NULL until claimed, for an item queued again */
  size_t len;
} item;

struct ag_webhook {
  char *url;
  unsigned char secret[AG_WEBHOOK_SECRET_MAX];
  size_t secret_len;
  long backoff_ms;
  int64_t retention_ms; /* 0: no pruning */
  void (*on_prune)(void *ctx, uint64_t deleted, const ag_error *err);
  void *on_prune_ctx;
  int64_t prune_at_ms; /* the next batch is due; 0: at once */
  uint64_t pruned;     /* deleted so far in this pass */
  wh_store *store;
  char me[40]; /* this process's name on its claims */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* an item queued, or stopping */
  pthread_cond_t idle; /* the queue emptied */
  item *head, *tail;
  bool busy, stopping; /* busy: an item in hand, or the outbox being read */
  atomic_bool cut;     /* the wait is over: an attempt in flight is cut short */
};

void ag_webhook_sign(const unsigned char *secret, size_t secret_len, const char *body, size_t len,
                     char out[72]) {
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
  wh_attempt a = {.id = it->id,
                  .url = w->url,
                  .error = error,
                  .result = result,
                  .attempt = attempt,
                  .status = status,
                  .at_ms = wh_now_ms(),
                  .ms = ms};
  wh_store_record(w->store, it->seq, w->me, &a);
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
    int64_t t0 = wh_now_ms();
    long status = c ? attempt(w, c, it, error, sizeof error) : 0;
    if (!c)
      snprintf(error, sizeof error, "no HTTP client");
    bool ok = status >= 200 && status <= 299;
    bool last = n == AG_WEBHOOK_ATTEMPTS;
    record(w, it, n, status, error, wh_now_ms() - t0,
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

/* Whether this process sends the item now: under its claim in the outbox
 * (an item queued again gets its body there). When the database cannot
 * say, an item whose body is in hand is sent (a receiver ignores a second
 * delivery by id; it would not learn of a lost one) and any other stays
 * pending. */
static bool take(ag_webhook *w, item *it) {
  if (!it->seq)
    return true;
  char *body = NULL;
  size_t len = 0;
  wh_claim c = wh_store_claim(w->store, it->seq, w->me, it->json ? NULL : &body, &len);
  if (c == WH_CLAIMED && !it->json) {
    it->json = body;
    it->len = len;
  }
  return c == WH_CLAIMED || (c == WH_UNKNOWN && it->json);
}

/* Queues the outbox's pending items again, oldest first, ahead of those
 * posted since the webhook was opened. Those are queued already, and they
 * end the list: an item from their first on is this process's, or one
 * another process posted meanwhile and sends itself. */
static void requeue(ag_webhook *w) {
  wh_pending *p = NULL;
  size_t n = 0;
  ag_error e;
  if (wh_store_pending(w->store, AG_WEBHOOK_RESEND_MAX, &p, &n, &e) != AG_OK)
    n = 0; /* nothing to send again this time; the items stay pending */
  pthread_mutex_lock(&w->mu);
  int64_t posted = 0; /* the first seq posted since open */
  for (const item *q = w->head; q && !posted; q = q->next)
    posted = q->seq;
  item *first = NULL, *last = NULL;
  for (size_t i = 0; i < n && (!posted || p[i].seq < posted); i++) {
    item *it = calloc(1, sizeof *it);
    if (!it)
      break;
    it->seq = p[i].seq;
    it->again = true;
    snprintf(it->id, sizeof it->id, "%s", p[i].id);
    if (last)
      last->next = it;
    else
      first = it;
    last = it;
  }
  if (last) {
    last->next = w->head;
    if (!w->head)
      w->tail = last;
    w->head = first;
  }
  w->busy = false;
  if (!w->head)
    pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->mu);
  free(p);
}

/* Whether a pruning batch is due (under mu). */
static bool prune_due(const ag_webhook *w) {
  return w->retention_ms && !w->stopping && wh_now_ms() >= w->prune_at_ms;
}

/* One batch of delivered items older than the retention. A full batch
 * leaves more for the next, run before the next item (a backlog of old
 * items is deleted between deliveries, never ahead of them all); a pass
 * ends with a short batch or an error, and the next is due an interval on. */
static void prune(ag_webhook *w) {
  size_t n = 0;
  ag_error e;
  ag_error_clear(&e);
  int64_t now = wh_now_ms();
  ag_status st = wh_store_prune(w->store, now - w->retention_ms, AG_WEBHOOK_PRUNE_BATCH, &n, &e);
  w->pruned += n;
  if (st == AG_OK && n == AG_WEBHOOK_PRUNE_BATCH) {
    w->prune_at_ms = 0;
    return;
  }
  w->prune_at_ms = now + (int64_t)AG_WEBHOOK_PRUNE_EVERY_S * 1000;
  if (w->on_prune && (st != AG_OK || w->pruned))
    w->on_prune(w->on_prune_ctx, w->pruned, st != AG_OK ? &e : NULL);
  w->pruned = 0;
}

/* Waits for an item, stopping, or the next pruning batch (under mu). */
static void wait_work(ag_webhook *w) {
  if (!w->retention_ms) {
    pthread_cond_wait(&w->cv, &w->mu);
    return;
  }
  struct timespec until = {.tv_sec = (time_t)(w->prune_at_ms / 1000),
                           .tv_nsec = (long)(w->prune_at_ms % 1000) * 1000000L};
  pthread_cond_timedwait(&w->cv, &w->mu, &until);
}

static void *run(void *arg) {
  ag_webhook *w = arg;
  requeue(w);
  CURL *c = curl_easy_init();
  bool item_next = false; /* after a batch, an item queued goes first */
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->stopping && !prune_due(w))
      wait_work(w);
    if (prune_due(w) && !(item_next && w->head)) {
      pthread_mutex_unlock(&w->mu);
      prune(w);
      item_next = true;
      pthread_mutex_lock(&w->mu);
      continue;
    }
    item_next = false;
    item *it = w->head;
    if (!it)
      break;
    w->head = it->next;
    if (!w->head)
      w->tail = NULL;
    bool stopping = w->stopping;
    w->busy = true;
    pthread_mutex_unlock(&w->mu);
    if (!stopping) {
      if (take(w, it))
        deliver(w, c, it);
    } else if (!it->again) { /* one queued again was not this process's */
      record(w, it, 1, 0, "stopped before the first attempt", 0, "abandoned");
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
  wh_store_close(w->store);
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

/* A name for this process's claims, unlike any other's. */
static void name_process(ag_webhook *w) {
  uint64_t r = 0;
  if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
    r = (uint64_t)wh_now_ms(); /* the time then tells processes of one pid apart */
  snprintf(w->me, sizeof w->me, "%ld-%016llx", (long)getpid(), (unsigned long long)r);
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
  w->retention_ms = o->retention_days > 0 ? (int64_t)o->retention_days * 86400 * 1000 : 0;
  w->on_prune = o->on_prune;
  w->on_prune_ctx = o->on_prune_ctx;
  w->url = strdup(o->url);
  ag_status st = w->url ? read_secret(w, o->secret_file, err)
                        : ag_error_set(err, AG_ERR_NOMEM, "webhook", "out of memory");
  if (st == AG_OK)
    st = wh_store_open(o->log_path, &w->store, err);
  name_process(w);
  w->busy = true; /* until the thread has read the outbox */
  if (st == AG_OK && pthread_create(&w->thread, NULL, run, w) != 0)
    st = ag_error_set(err, AG_ERR_INTERNAL, "webhook", "cannot start the delivery thread");
  if (st != AG_OK) {
    free_handle(w);
    return st;
  }
  *out = w;
  return AG_OK;
}

void ag_webhook_post(ag_webhook *w, const char *audit_id, const char *json, size_t len) {
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
  snprintf(it->id, sizeof it->id, "%s", audit_id ? audit_id : "");
  /* written before it is queued: the item of a process that dies before
   * delivering it is sent by the next */
  ag_error e;
  if (wh_store_put(w->store, it->id, it->json, len, &it->seq, &e) != AG_OK)
    it->seq = 0; /* still sent, as long as this process runs */
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

static ag_status listing(const char *log_path, bool pending, size_t limit, ag_buf *out,
                         ag_error *err) {
  wh_store *s = NULL;
  ag_status st = wh_store_open(log_path, &s, err);
  if (st != AG_OK)
    return st;
  st = pending ? wh_store_list_pending(s, limit, out, err)
               : wh_store_list_attempts(s, limit, out, err);
  wh_store_close(s);
  return st;
}

ag_status ag_webhook_deliveries(const char *log_path, size_t limit, ag_buf *out, ag_error *err) {
  return listing(log_path, false, limit, out, err);
}

ag_status ag_webhook_pending(const char *log_path, size_t limit, ag_buf *out, ag_error *err) {
  return listing(log_path, true, limit, out, err);
}
