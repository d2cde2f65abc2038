/*
 * test_server_http.c - the service over a real socket on 127.0.0.1: header
 * lines a lenient parser would take apart (a space before the colon, a
 * space in a name, two Authorization headers) and %00 in the path are 400;
 * every answer says nosniff; and batches are decided on workers of their
 * own, so health, readiness and other keys' single checks are answered
 * while batches are held, and a key's third concurrent batch is 429.
 *
 * Nothing here asserts a duration: batches are held by a hook until the
 * test has seen what it needs, and waits are on conditions (a socket
 * timeout only keeps a broken build from hanging).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *TXN = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\","
                         "\"end_user\":{\"type\":\"non_government\"},\"as_of\":\"2026-11-24\"}";

/* Batches wait at the hook until released; `entered` counts arrivals. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered;
  bool open;
} gate;

static void gate_hook(void *ctx) {
  gate *g = ctx;
  pthread_mutex_lock(&g->mu);
  g->entered++;
  pthread_cond_broadcast(&g->cv);
  while (!g->open)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

typedef struct {
  char dir[64];
  ag_server *s;
  uint16_t port;
  char bearer[2][AG_KEYS_TOKEN_MAX + 8]; /* two checker keys */
  gate g;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  pthread_mutex_init(&f->g.mu, NULL);
  pthread_cond_init(&f->g.cv, NULL);
  snprintf(f->dir, sizeof f->dir, "/tmp/ag_http_XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  char db[128];
  snprintf(db, sizeof db, "%s/audit.db", f->dir);
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.db_path = db;
  cfg.listen = "127.0.0.1:0";
  cfg.no_lists = true;
  cfg.threads = 1; /* one HTTP thread: anything that held it would hold every answer */
  cfg.batch_workers = 2;
  cfg.batch_hook = gate_hook;
  cfg.batch_hook_ctx = &f->g;
  cfg.access_log_fd = -1;
  cfg.event_log_fd = -1;
  ag_error e;
  if (ag_server_create(&cfg, &f->s, &e) != AG_OK || ag_server_listen(f->s, &e) != AG_OK) {
    fprintf(stderr, "server: %s: %s\n", e.field, e.reason);
    return -1;
  }
  f->port = ag_server_port(f->s);
  for (int i = 0; i < 2; i++) {
    char tok[AG_KEYS_TOKEN_MAX];
    if (ag_keys_add(ag_server_keys_db(f->s), AG_KEYS_ROLE_CHECKER, NULL, tok, NULL, &e) != AG_OK)
      return -1;
    snprintf(f->bearer[i], sizeof f->bearer[i], "Bearer %s", tok);
  }
  *state = f;
  return 0;
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

static void test_batches_leave_health_and_checks_answered(void **state) {
  fixture *f = *state;
  char *body = batch_body(1000);
  call calls[2] = {{.f = f, .key = 0, .body = body}, {.f = f, .key = 0, .body = body}};
  for (int i = 0; i < 2; i++)
    pthread_create(&calls[i].t, NULL, post_batch, &calls[i]);
  /* both batches held by the two workers */
  wait_entered(&f->g, 2);

  /* meanwhile the one HTTP thread answers everything else */
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
           f->bearer[1], strlen(TXN));
  r = send_head(f, head, TXN);
  assert_int_equal(status_of(r), 200);
  assert_non_null(strstr(r, "{\"audit_id\":\"a-"));
  free(r);

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

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_malformed_headers_are_400),
      T(test_nul_in_path_is_400),
      T(test_every_answer_says_nosniff),
      T(test_batches_leave_health_and_checks_answered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
