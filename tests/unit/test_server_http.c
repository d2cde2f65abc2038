/*
 * test_server_http.c - the service over a real socket on 127.0.0.1: header
 * lines a lenient parser would take apart (a space before the colon, a
 * space in a name, two Authorization headers) and %00 in the path are 400;
 * every answer says nosniff; and batches are decided on workers of their
 * own, so health, readiness and other keys' single checks are answered
 * while batches are held, and a key's third concurrent batch is 429. The
 * open review queue is read from the log as the service starts: a request
 * for it meanwhile waits without holding an HTTP thread and is answered
 * from what the read found; a shutdown stops the read; a wait past the
 * timeout is answered 503.
 *
 * Nothing here asserts a duration: batches and the read are held by hooks
 * until the test has seen what it needs, and waits are on conditions (a
 * socket timeout only keeps a broken build from hanging; one test sleeps
 * past a one-second timeout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *TXN = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\","
                         "\"end_user\":{\"type\":\"non_government\"},\"as_of\":\"2026-11-24\"}";

/* Batches (or the steps of the open queue's read) wait at the hook until
 * released, after the first `pass` arrivals; `entered` counts arrivals. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, pass;
  bool open;
} gate;

static void gate_hook(void *ctx) {
  gate *g = ctx;
  pthread_mutex_lock(&g->mu);
  g->entered++;
  pthread_cond_broadcast(&g->cv);
  while (!g->open && g->entered > g->pass)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* The open queue of the log the warm fixtures start on: QUEUED records,
 * their ids in chain order. */
#define LOGGED 5000
#define QUEUED (LOGGED / 50)

typedef struct {
  char dir[64];
  ag_server *s;
  uint16_t port;
  char bearer[2][AG_KEYS_TOKEN_MAX + 8]; /* two checker keys */
  char reviewer[AG_KEYS_TOKEN_MAX + 8];
  gate g;
  char queued[QUEUED][AG_AUDIT_ID_MAX];
} fixture;

/* A REVIEW check (a possible match: the open queue) and a clean one. */
static const char review_answer[] =
    "{\"outcome\":\"REVIEW\",\"screening\":[{\"party\":\"end_user\",\"name\":\"Acme Grop\","
    "\"matches\":[{\"source_id\":\"E1\",\"level\":\"possible\"}]}]}";
static const char clean_answer[] = "{\"outcome\":\"NLR\",\"screening\":[]}";

/* LOGGED records, every 50th (from the 10th) a REVIEW check. */
static int make_log(fixture *f, const char *path) {
  ag_audit_db *db;
  ag_error e;
  if (ag_audit_open(path, NULL, &db, &e) != AG_OK)
    return -1;
  int rc = 0;
  size_t nq = 0;
  for (int from = 0; from < LOGGED && !rc; from += 500) {
    ag_audit_record recs[500];
    char ids[500][AG_AUDIT_ID_MAX];
    for (int j = 0; j < 500; j++) {
      bool q = (from + j) % 50 == 9;
      const char *dec = q ? review_answer : clean_answer;
      recs[j] = (ag_audit_record){.kind = AG_AUDIT_CHECK,
                                  .request = "{\"ref\":\"R\"}",
                                  .request_len = 11,
                                  .decision = dec,
                                  .decision_len = strlen(dec),
                                  .destination = "DE",
                                  .eccn = "4D004",
                                  .outcome = q ? "REVIEW" : "NLR"};
    }
    rc = ag_audit_append_batch(db, recs, 500, ids, &e) == AG_OK ? 0 : -1;
    for (int j = 0; j < 500 && !rc; j++)
      if ((from + j) % 50 == 9)
        memcpy(f->queued[nq++], ids[j], AG_AUDIT_ID_MAX);
  }
  ag_audit_close(db);
  return rc;
}

/* warm: a log of LOGGED records, whose open queue's read passes `pass`
 * steps and is then held at the gate; timeout_s 0: the default. */
static int start(void **state, bool warm, int pass, unsigned timeout_s) {
  fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  pthread_mutex_init(&f->g.mu, NULL);
  pthread_cond_init(&f->g.cv, NULL);
  f->g.pass = pass;
  snprintf(f->dir, sizeof f->dir, "/tmp/ag_http_XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  char db[128];
  snprintf(db, sizeof db, "%s/audit.db", f->dir);
  if (warm && make_log(f, db) != 0)
    return -1;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.db_path = db;
  cfg.listen = "127.0.0.1:0";
  cfg.no_lists = true;
  cfg.threads = 1; /* one HTTP thread: anything that held it would hold every answer */
  cfg.batch_workers = 2;
  if (warm) {
    cfg.queue_warm_hook = gate_hook;
    cfg.queue_warm_hook_ctx = &f->g;
  } else {
    cfg.batch_hook = gate_hook;
    cfg.batch_hook_ctx = &f->g;
  }
  cfg.timeout_s = timeout_s;
  cfg.access_log_fd = -1;
  cfg.event_log_fd = -1;
  ag_error e;
  if (ag_server_create(&cfg, &f->s, &e) != AG_OK || ag_server_listen(f->s, &e) != AG_OK) {
    fprintf(stderr, "server: %s: %s\n", e.field, e.reason);
    return -1;
  }
  f->port = ag_server_port(f->s);
  char tok[AG_KEYS_TOKEN_MAX];
  for (int i = 0; i < 2; i++) {
    if (ag_keys_add(ag_server_keys_db(f->s), AG_KEYS_ROLE_CHECKER, NULL, tok, NULL, &e) != AG_OK)
      return -1;
    snprintf(f->bearer[i], sizeof f->bearer[i], "Bearer %s", tok);
  }
  if (ag_keys_add(ag_server_keys_db(f->s), AG_KEYS_ROLE_REVIEWER, NULL, tok, NULL, &e) != AG_OK)
    return -1;
  snprintf(f->reviewer, sizeof f->reviewer, "Bearer %s", tok);
  *state = f;
  return 0;
}

static int setup(void **state) {
  return start(state, false, 0, 0);
}

/* the read held before its third step (the reviews and two steps read) */
static int setup_warm(void **state) {
  return start(state, true, 3, 0);
}

/* held before it reads the reviews */
static int setup_warm_reviews(void **state) {
  return start(state, true, 0, 30);
}

/* held before it reads the reviews, and a timeout of one second */
static int setup_warm_timeout(void **state) {
  return start(state, true, 0, 1);
}

static int teardown(void **state) {
  fixture *f = *state;
  pthread_mutex_lock(&f->g.mu);
  f->g.open = true; /* nothing may stay held */
  pthread_cond_broadcast(&f->g.cv);
  pthread_mutex_unlock(&f->g.mu);
  ag_server_free(f->s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  pthread_cond_destroy(&f->g.cv);
  pthread_mutex_destroy(&f->g.mu);
  free(f);
  return rc == 0 ? 0 : -1;
}

/* Sends raw bytes on a new connection and reads until the server closes
 * it; returns what came back (malloc'd, NUL-terminated). */
static char *exchange(uint16_t port, const char *raw, size_t len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = 60}; /* only so that a broken build cannot hang */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  for (size_t off = 0; off < len;) {
    ssize_t n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
    assert_true(n > 0);
    off += (size_t)n;
  }
  size_t cap = 4096, got = 0;
  char *out = malloc(cap);
  for (;;) {
    if (got + 1024 > cap)
      out = realloc(out, cap *= 2);
    ssize_t n = recv(fd, out + got, cap - got - 1, 0);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  out[got] = '\0';
  return out;
}

static unsigned status_of(const char *resp) {
  unsigned st = 0;
  sscanf(resp, "HTTP/1.1 %u", &st);
  return st;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

/* A request with one raw header block; "Connection: close" so the answer
 * ends with the connection. */
static char *send_head(fixture *f, const char *head, const char *body) {
  char raw[1024];
  int n = snprintf(raw, sizeof raw, "%s\r\nHost: x\r\nConnection: close\r\n\r\n%s", head,
                   body ? body : "");
  return exchange(f->port, raw, (size_t)n);
}

static void test_malformed_headers_are_400(void **state) {
  fixture *f = *state;
  static const char *const bad[] = {
      /* "Content-Length " is not Content-Length to the library: the body
       * would be read as a second request */
      "POST /healthz HTTP/1.1\r\nContent-Length : 36",
      "GET /healthz HTTP/1.1\r\nX Foo: 1",
      "GET /healthz HTTP/1.1\r\nX-Foo\t: 1",
      "GET /v1/rules HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *r = send_head(f, bad[i], i == 0 ? "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n" : NULL);
    if (status_of(r) != 400)
      fail_msg("%s: %.200s", bad[i], r);
    assert_non_null(strstr(r, "\"code\":\"invalid_input\""));
    assert_int_equal(count(r, "HTTP/1.1 "), 1); /* nothing more read from it */
    free(r);
  }
  /* two Authorization headers name the field */
  char *r = send_head(f, bad[3], NULL);
  assert_non_null(strstr(r, "\"field\":\"authorization\""));
  free(r);
  /* the same requests written properly are answered */
  r = send_head(f, "GET /healthz HTTP/1.1\r\nX-Foo: 1", NULL);
  assert_int_equal(status_of(r), 200);
  free(r);
}

static void test_nul_in_path_is_400(void **state) {
  fixture *f = *state;
  char *r = send_head(f, "GET /healthz%00junk HTTP/1.1", NULL);
  assert_int_equal(status_of(r), 400);
  assert_non_null(strstr(r, "\"field\":\"path\""));
  free(r);
  /* and the connection's next request is not taken for one with a NUL */
  r = send_head(f, "GET /healthz HTTP/1.1", NULL);
  assert_int_equal(status_of(r), 200);
  free(r);
}

static void test_every_answer_says_nosniff(void **state) {
  fixture *f = *state;
  char auth[200];
  snprintf(auth, sizeof auth, "GET /v1/rules HTTP/1.1\r\nAuthorization: %s", f->bearer[0]);
  const char *heads[] = {"GET /healthz HTTP/1.1", "GET /nowhere HTTP/1.1",
                         "GET /v1/rules HTTP/1.1", auth, "GET /healthz%00 HTTP/1.1"};
  for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
    char *r = send_head(f, heads[i], NULL);
    if (!strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n"))
      fail_msg("%s: %.300s", heads[i], r);
    free(r);
  }
}

/* ---- batches ---- */

typedef struct {
  fixture *f;
  int key;
  char *body;
  char *resp;
  pthread_t t;
} call;

static void *post_batch(void *arg) {
  call *c = arg;
  size_t blen = strlen(c->body);
  char *raw = malloc(blen + 512);
  int n = sprintf(raw,
                  "POST /v1/checks:batch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Authorization: %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  c->f->bearer[c->key], blen);
  memcpy(raw + n, c->body, blen);
  c->resp = exchange(c->f->port, raw, (size_t)n + blen);
  free(raw);
  return NULL;
}

static char *batch_body(int n) {
  size_t tl = strlen(TXN);
  char *b = malloc(32 + (size_t)n * (tl + 1));
  char *p = b + sprintf(b, "{\"transactions\":[");
  for (int i = 0; i < n; i++) {
    if (i)
      *p++ = ',';
    memcpy(p, TXN, tl);
    p += tl;
  }
  strcpy(p, "]}");
  return b;
}

static void wait_entered(gate *g, int n) {
  pthread_mutex_lock(&g->mu);
  while (g->entered < n)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* Health, readiness and a check of key k are answered (200, the check
 * with its audit id) while the one HTTP thread has other work parked. */
static void assert_others_answered(fixture *f, int k) {
  char *r = send_head(f, "GET /healthz HTTP/1.1", NULL);
  assert_int_equal(status_of(r), 200);
  free(r);
  r = send_head(f, "GET /readyz HTTP/1.1", NULL);
  assert_int_equal(status_of(r), 200);
  free(r);
  char head[300];
  snprintf(head, sizeof head,
           "POST /v1/checks HTTP/1.1\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
           "Content-Length: %zu",
           f->bearer[k], strlen(TXN));
  r = send_head(f, head, TXN);
  assert_int_equal(status_of(r), 200);
  assert_non_null(strstr(r, "{\"audit_id\":\"a-"));
  free(r);
}

static void test_batches_leave_health_and_checks_answered(void **state) {
  fixture *f = *state;
  char *body = batch_body(1000);
  call calls[2] = {{.f = f, .key = 0, .body = body}, {.f = f, .key = 0, .body = body}};
  for (int i = 0; i < 2; i++)
    pthread_create(&calls[i].t, NULL, post_batch, &calls[i]);
  /* both batches held by the two workers */
  wait_entered(&f->g, 2);

  /* meanwhile the one HTTP thread answers everything else */
  assert_others_answered(f, 1);

  /* a third batch of the same key while two are pending: 429; another
   * key's batch is taken */
  call third = {.f = f, .key = 0, .body = body};
  post_batch(&third);
  assert_int_equal(status_of(third.resp), 429);
  assert_non_null(strstr(third.resp, "Retry-After: 1"));
  free(third.resp);

  pthread_mutex_lock(&f->g.mu);
  f->g.open = true;
  pthread_cond_broadcast(&f->g.cv);
  pthread_mutex_unlock(&f->g.mu);
  for (int i = 0; i < 2; i++) {
    pthread_join(calls[i].t, NULL);
    assert_int_equal(status_of(calls[i].resp), 200);
    assert_non_null(strstr(calls[i].resp, "\"decided\":1000"));
    free(calls[i].resp);
  }
  /* the key may send batches again */
  call again = {.f = f, .key = 0, .body = body};
  post_batch(&again);
  assert_int_equal(status_of(again.resp), 200);
  free(again.resp);
  free(body);
}

/* ---- the open review queue read as the service starts ---- */

static void open_gate(gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = true;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

typedef struct {
  fixture *f;
  char target[128];
  char *resp;
  pthread_t t;
  atomic_bool done;
} get_call;

static void *get_queue(void *arg) {
  get_call *c = arg;
  char raw[512];
  int n = snprintf(raw, sizeof raw,
                   "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: %s\r\n\r\n",
                   c->target, c->f->reviewer);
  c->resp = exchange(c->f->port, raw, (size_t)n);
  atomic_store(&c->done, true);
  return NULL;
}

static void start_get(get_call *c, fixture *f, const char *target) {
  c->f = f;
  snprintf(c->target, sizeof c->target, "%s", target);
  atomic_init(&c->done, false);
  assert_int_equal(pthread_create(&c->t, NULL, get_queue, c), 0);
}

static char *metrics(fixture *f) {
  return send_head(f, "GET /metrics HTTP/1.1", NULL);
}

/* Waits until n requests are in flight besides the /metrics asking. */
static void wait_inflight(fixture *f, int n) {
  char want[64];
  snprintf(want, sizeof want, "\nacegate_inflight_requests %d\n", n + 1);
  for (;;) {
    char *m = metrics(f);
    bool there = strstr(m, want) != NULL;
    free(m);
    if (there)
      return;
    usleep(10000);
  }
}

/* The audit ids of a queue answer's items, in order, and its next_cursor. */
static int ids_of(const char *resp, char ids[][AG_AUDIT_ID_MAX], int max, char *next, size_t cap) {
  int n = 0;
  for (const char *p = resp; n < max && (p = strstr(p, "{\"audit_id\":\"")); p++)
    sscanf(p + 13, "%39[^\"]", ids[n++]);
  const char *c = strstr(resp, "\"next_cursor\":");
  snprintf(next, cap, "null");
  if (c && c[14] == '"')
    snprintf(next, cap, "%.*s", (int)(strchr(c + 15, '"') - (c + 15)), c + 15);
  return n;
}

/* The page of the queue from item `from` of f->queued, limit 30. */
static void expect_page(fixture *f, const char *resp, int from) {
  assert_int_equal(status_of(resp), 200);
  char ids[64][AG_AUDIT_ID_MAX], next[40], want[40];
  int n = ids_of(resp, ids, 64, next, sizeof next);
  int left = QUEUED - from, want_n = left < 30 ? left : 30;
  assert_int_equal(n, want_n);
  for (int i = 0; i < n; i++)
    assert_string_equal(ids[i], f->queued[from + i]);
  /* the cursor of a search by seq: "f" and the last item's seq in hex */
  if (left > 30)
    snprintf(want, sizeof want, "f%llx", strtoull(f->queued[from + 29] + 2, NULL, 10));
  else
    snprintf(want, sizeof want, "null");
  assert_string_equal(next, want);
}

/* While the log is read, an open-queue request waits for the read on no
 * thread (health, readiness and checks are answered by the one HTTP
 * thread meanwhile), and is then answered from the list it read. */
static void test_queue_read_in_background(void **state) {
  fixture *f = *state;
  wait_entered(&f->g, 4); /* the reviews and two steps read, the third held */
  char *m = metrics(f);
  assert_non_null(strstr(m, "\nacegate_review_queue_state{state=\"reading\"} 1\n"));
  assert_non_null(strstr(m, "\nacegate_review_queue_read_records 2048\n"));
  assert_non_null(strstr(m, "\nacegate_review_queue_read_head 5000\n"));
  free(m);

  get_call q;
  start_get(&q, f, "/v1/reviews?status=open&limit=30");
  wait_inflight(f, 1); /* it is parked */
  assert_others_answered(f, 0); /* ready too: the read is not waited for */
  /* other statuses are not the open list's: answered at once */
  get_call esc;
  start_get(&esc, f, "/v1/reviews?status=escalated");
  pthread_join(esc.t, NULL);
  assert_int_equal(status_of(esc.resp), 200);
  free(esc.resp);
  assert_false(atomic_load(&q.done));

  open_gate(&f->g);
  pthread_join(q.t, NULL);
  expect_page(f, q.resp, 0);
  free(q.resp);
  m = metrics(f);
  assert_non_null(strstr(m, "\nacegate_review_queue_state{state=\"warm\"} 1\n"));
  assert_non_null(strstr(m, "\nacegate_review_queue_read_records 5000\n"));
  free(m);
  /* pages after it: the cursor continues the list */
  char target[128], *cursor = strstr(f->queued[29], "-") + 1;
  snprintf(target, sizeof target, "/v1/reviews?status=open&limit=30&cursor=f%llx",
           strtoull(cursor, NULL, 10));
  get_call p2;
  start_get(&p2, f, target);
  pthread_join(p2.t, NULL);
  expect_page(f, p2.resp, 30);
  free(p2.resp);
}

typedef struct {
  ag_server *s;
  bool drained;
} stopper;

static void *stop_server(void *arg) {
  stopper *st = arg;
  st->drained = ag_server_shutdown(st->s);
  return NULL;
}

/* A shutdown during the read stops it before its next step, answers the
 * request waiting for it 503, and drains. */
static void test_shutdown_during_read(void **state) {
  fixture *f = *state;
  wait_entered(&f->g, 4);
  get_call q;
  start_get(&q, f, "/v1/reviews");
  wait_inflight(f, 1);
  stopper st = {.s = f->s};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stop_server, &st), 0);
  for (;;) { /* the shutdown has begun */
    char *r = send_head(f, "GET /readyz HTTP/1.1", NULL);
    bool draining = strstr(r, "\"draining\"") != NULL;
    free(r);
    if (draining)
      break;
    usleep(10000);
  }
  open_gate(&f->g);
  pthread_join(t, NULL);
  assert_true(st.drained);
  assert_int_equal(f->g.entered, 4); /* no step after the stop */
  pthread_join(q.t, NULL);
  assert_int_equal(status_of(q.resp), 503);
  assert_non_null(strstr(q.resp, "shutting down"));
  free(q.resp);
}

/* A request that waits longer than the service's timeout is answered 503
 * with Retry-After; the read goes on, and the next request is served. */
static void test_wait_bounded_by_timeout(void **state) {
  fixture *f = *state;
  wait_entered(&f->g, 1);
  get_call q;
  start_get(&q, f, "/v1/reviews?limit=30");
  wait_inflight(f, 1);
  sleep(2); /* past its one-second timeout */
  open_gate(&f->g);
  pthread_join(q.t, NULL);
  assert_int_equal(status_of(q.resp), 503);
  assert_non_null(strstr(q.resp, "\r\nRetry-After: 5\r\n"));
  assert_non_null(strstr(q.resp, "still being read"));
  free(q.resp);
  for (;;) {
    char *m = metrics(f);
    bool warm = strstr(m, "{state=\"warm\"} 1\n") != NULL;
    free(m);
    if (warm)
      break;
    usleep(10000);
  }
  get_call again;
  start_get(&again, f, "/v1/reviews?limit=30");
  pthread_join(again.t, NULL);
  expect_page(f, again.resp, 0);
  free(again.resp);
}

/* While the read at start takes the reviews themselves, the other
 * requests that read them (another status, an item) wait for it parked, on
 * no thread: health, readiness and a check are answered meanwhile by the
 * one HTTP thread; once the read ends they are answered. */
static void test_reviews_read_parks_others(void **state) {
  fixture *f = *state;
  wait_entered(&f->g, 1); /* held before it reads the reviews */
  get_call esc, item;
  start_get(&esc, f, "/v1/reviews?status=escalated");
  wait_inflight(f, 1);
  char path[80];
  snprintf(path, sizeof path, "/v1/reviews/%s", f->queued[0]);
  start_get(&item, f, path);
  wait_inflight(f, 2);
  assert_others_answered(f, 0);
  assert_false(atomic_load(&esc.done));
  assert_false(atomic_load(&item.done));
  open_gate(&f->g);
  pthread_join(esc.t, NULL);
  pthread_join(item.t, NULL);
  assert_int_equal(status_of(esc.resp), 200);
  assert_int_equal(status_of(item.resp), 200);
  assert_non_null(strstr(item.resp, f->queued[0]));
  free(esc.resp);
  free(item.resp);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_malformed_headers_are_400),
      T(test_nul_in_path_is_400),
      T(test_every_answer_says_nosniff),
      T(test_batches_leave_health_and_checks_answered),
      cmocka_unit_test_setup_teardown(test_queue_read_in_background, setup_warm, teardown),
      cmocka_unit_test_setup_teardown(test_shutdown_during_read, setup_warm, teardown),
      cmocka_unit_test_setup_teardown(test_wait_bounded_by_timeout, setup_warm_timeout, teardown),
      cmocka_unit_test_setup_teardown(test_reviews_read_parks_others, setup_warm_reviews, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
