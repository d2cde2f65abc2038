/*
 * test_server.c - the HTTP service's request handling without the network
 * (ag_server_handle): routing, keys and roles, strict decoding and the right
 * 4xx, checks and byte-identical records, batches, screening, audit search,
 * rate limits, metrics, key management, reloads that fail safe, and a
 * database that cannot be written (503, no unrecorded decision).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/server.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char dir[64];
  char db[128];
  ag_server *s;
  char checker[AG_KEYS_TOKEN_MAX], checker2[AG_KEYS_TOKEN_MAX];
  char auditor[AG_KEYS_TOKEN_MAX], admin[AG_KEYS_TOKEN_MAX];
  char bearer[4][AG_KEYS_TOKEN_MAX + 8];
  /* last answer */
  unsigned status;
  ag_buf out;
  json_t *json;
} fixture;

enum { CK, CK2, AK, ADM };

static const char *TXN = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\","
                         "\"end_user\":{\"type\":\"non_government\"},\"as_of\":\"2026-11-24\"}";

static void add_key(fixture *f, ag_keys_role role, char *tok, int slot) {
  ag_error e;
  assert_int_equal(ag_keys_add(ag_server_keys_db(f->s), role, NULL, tok, NULL, &e), AG_OK);
  snprintf(f->bearer[slot], sizeof f->bearer[slot], "Bearer %s", tok);
}

static int start(void **state, ag_server_config *cfg) {
  fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/ag_server_XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  snprintf(f->db, sizeof f->db, "%s/audit.db", f->dir);
  if (!cfg->db_path)
    cfg->db_path = f->db;
  cfg->access_log_fd = -1;
  cfg->event_log_fd = -1;
  ag_error e;
  if (ag_server_create(cfg, &f->s, &e) != AG_OK) {
    fprintf(stderr, "create: %s: %s\n", e.field, e.reason);
    return -1;
  }
  add_key(f, AG_KEYS_ROLE_CHECKER, f->checker, CK);
  add_key(f, AG_KEYS_ROLE_CHECKER, f->checker2, CK2);
  add_key(f, AG_KEYS_ROLE_AUDITOR, f->auditor, AK);
  add_key(f, AG_KEYS_ROLE_ADMIN, f->admin, ADM);
  ag_buf_init(&f->out);
  *state = f;
  return 0;
}

static int setup(void **state) {
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.no_lists = true;
  return start(state, &cfg);
}

static int teardown(void **state) {
  fixture *f = *state;
  ag_server_free(f->s);
  ag_buf_free(&f->out);
  json_decref(f->json);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

/* Sends one request; the answer is in f->status, f->out and f->json. */
static void req(fixture *f, const char *method, const char *target, int key, const char *body) {
  ag_buf_reset(&f->out);
  json_decref(f->json);
  f->json = NULL;
  ag_status st = ag_server_handle(f->s, method, target, key >= 0 ? f->bearer[key] : NULL,
                                  body ? "application/json" : NULL, body, body ? strlen(body) : 0,
                                  &f->status, &f->out);
  assert_int_equal(st, AG_OK);
  ag_buf_cstr(&f->out); /* NUL-terminated for strstr */
  f->json = json_loadb(f->out.data ? f->out.data : "", f->out.len, 0, NULL);
}

static const char *err_field(fixture *f) {
  return json_string_value(json_object_get(json_object_get(f->json, "error"), "field"));
}
static const char *err_code(fixture *f) {
  return json_string_value(json_object_get(json_object_get(f->json, "error"), "code"));
}
static const char *str(json_t *obj, const char *k) {
  return json_string_value(json_object_get(obj, k));
}

static void test_routes(void **state) {
  fixture *f = *state;
  req(f, "GET", "/healthz", -1, NULL);
  assert_int_equal(f->status, 200);
  req(f, "GET", "/readyz", -1, NULL);
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "status"), "ready");
  req(f, "GET", "/nowhere", CK, NULL);
  assert_int_equal(f->status, 404);
  assert_string_equal(err_code(f), "not_found");
  req(f, "GET", "/v1/checks", CK, NULL);
  assert_int_equal(f->status, 405);
  req(f, "PUT", "/v1/keys", ADM, "{}");
  assert_int_equal(f->status, 405);
  req(f, "GET", "/v1/checks/", AK, NULL); /* no id */
  assert_int_equal(f->status, 404);
  req(f, "HEAD", "/healthz", -1, NULL);
  assert_int_equal(f->status, 200);
}

static void test_keys_and_roles(void **state) {
  fixture *f = *state;
  req(f, "POST", "/v1/checks", -1, TXN);
  assert_int_equal(f->status, 401);
  assert_string_equal(err_field(f), "authorization");
  ag_buf_reset(&f->out);
  unsigned status;
  assert_int_equal(
      ag_server_handle(f->s, "POST", "/v1/checks",
                       "Bearer agk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                       "application/json", TXN, strlen(TXN), &status, &f->out),
      AG_OK);
  assert_int_equal(status, 401);
  req(f, "POST", "/v1/checks", AK, TXN);
  assert_int_equal(f->status, 403);
  req(f, "POST", "/v1/screenings", AK, "{\"name\":\"x\"}");
  assert_int_equal(f->status, 403);
  req(f, "GET", "/v1/audit", CK, NULL);
  assert_int_equal(f->status, 403);
  req(f, "GET", "/v1/audit/export", CK, NULL);
  assert_int_equal(f->status, 403);
  req(f, "GET", "/v1/keys", AK, NULL);
  assert_int_equal(f->status, 403);
  req(f, "POST", "/v1/admin/reload", CK, "{}");
  assert_int_equal(f->status, 403);
  req(f, "GET", "/v1/rules", AK, NULL);
  assert_int_equal(f->status, 200);
  req(f, "GET", "/v1/rules", -1, NULL);
  assert_int_equal(f->status, 401);
  req(f, "POST", "/v1/checks", ADM, TXN); /* admin may do everything */
  assert_int_equal(f->status, 200);
}

static void test_check_and_get(void **state) {
  fixture *f = *state;
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "outcome"), "LICENSE_EXCEPTION_ACE");
  assert_non_null(str(f->json, "audit_id"));
  char id[AG_AUDIT_ID_MAX];
  snprintf(id, sizeof id, "%s", str(f->json, "audit_id"));
  assert_memory_equal(f->out.data, "{\"audit_id\":\"a-1-", 17);
  char *answer = strndup(f->out.data, f->out.len);
  size_t answer_len = f->out.len;
  char target[128];
  snprintf(target, sizeof target, "/v1/checks/%s", id);

  req(f, "GET", target, AK, NULL);
  assert_int_equal(f->status, 200);
  assert_int_equal(f->out.len, answer_len);
  assert_memory_equal(f->out.data, answer, answer_len);
  req(f, "GET", target, CK, NULL); /* the key that made it */
  assert_int_equal(f->status, 200);
  assert_memory_equal(f->out.data, answer, answer_len);
  req(f, "GET", target, CK2, NULL); /* another checker: not visible */
  assert_int_equal(f->status, 404);
  snprintf(target, sizeof target, "/v1/screenings/%s", id);
  req(f, "GET", target, AK, NULL); /* a check is not a screening */
  assert_int_equal(f->status, 404);
  req(f, "GET", "/v1/checks/a-1-000000000000", AK, NULL); /* right seq, wrong random part */
  assert_int_equal(f->status, 404);

  /* the stored request is the body as sent; the stored decision is the
   * answer without the audit id */
  ag_audit_entry *e = NULL;
  ag_error err;
  json_t *ans = json_loads(answer, 0, NULL);
  assert_int_equal(ag_audit_get(ag_server_keys_db(f->s), str(ans, "audit_id"), &e, &err), AG_OK);
  assert_int_equal(e->request_len, strlen(TXN));
  assert_memory_equal(e->request, TXN, strlen(TXN));
  assert_int_equal(e->decision_len + strlen("\"audit_id\":\"\",") + strlen(e->id), answer_len);
  assert_string_equal(e->outcome, "LICENSE_EXCEPTION_ACE");
  assert_string_equal(e->destination, "BR");
  assert_string_equal(e->eccn, "4D004");
  assert_string_equal(e->as_of, "2026-11-24");
  assert_string_equal(e->client_addr, "in-process");
  ag_audit_entry_free(e);
  json_decref(ans);
  free(answer);
}

static void test_bad_input(void **state) {
  fixture *f = *state;
  static const struct {
    const char *body;
    unsigned status;
    const char *field; /* NULL: field is null */
  } cases[] = {
      {"{\"item\":", 400, NULL},
      {"", 400, NULL},
      {"[]", 400, NULL},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":7}", 400, "destination"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"x\":1}", 400, "x"},
      {"{\"item\":{\"eccn\":\"4D004\",\"y\":1},\"destination\":\"BR\"}", 400, "item.y"},
      {"{\"item\":{\"eccn\":\"4D004\"}}", 400, "destination"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"as_of\":\"2025-13-01\"}", 400,
       "as_of"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"end_user\":{\"type\":\"spy\"}}",
       400, "end_user.type"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"B\xff\"}", 400, NULL},
      {"{\"item\":{\"eccn\":\"4D004\"},\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\"}", 400,
       "item"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    req(f, "POST", "/v1/checks", CK, cases[i].body);
    assert_int_equal(f->status, cases[i].status);
    assert_non_null(f->json);
    assert_non_null(err_code(f));
    assert_non_null(json_object_get(json_object_get(f->json, "error"), "message"));
    if (cases[i].field)
      assert_string_equal(err_field(f), cases[i].field);
    else
      assert_true(json_is_null(json_object_get(json_object_get(f->json, "error"), "field")));
  }
  /* over the size limit of one transaction */
  char *big = malloc(70001);
  memset(big, ' ', 70000);
  big[70000] = '\0';
  req(f, "POST", "/v1/checks", CK, big);
  assert_int_equal(f->status, 413);
  assert_string_equal(err_code(f), "too_large");
  free(big);
  /* not JSON */
  ag_buf_reset(&f->out);
  unsigned status;
  assert_int_equal(ag_server_handle(f->s, "POST", "/v1/checks", f->bearer[CK], "text/plain", TXN,
                                    strlen(TXN), &status, &f->out),
                   AG_OK);
  assert_int_equal(status, 415);
  assert_int_equal(ag_server_handle(f->s, "POST", "/v1/checks", f->bearer[CK],
                                    "application/json; charset=utf-8", TXN, strlen(TXN), &status,
                                    &f->out),
                   AG_OK);
  assert_int_equal(status, 200);
  /* nothing rejected was recorded */
  req(f, "GET", "/v1/audit", AK, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "records")), 1);
}

static void test_batch(void **state) {
  fixture *f = *state;
  char body[1024];
  snprintf(body, sizeof body,
           "{\"transactions\":[%s,{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"QQ\"},"
           "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"type\":"
           "\"government\"}}]}",
           TXN);
  req(f, "POST", "/v1/checks:batch", CK, body);
  assert_int_equal(f->status, 200);
  json_t *res = json_object_get(f->json, "results");
  assert_int_equal(json_array_size(res), 3);
  assert_int_equal(json_integer_value(json_object_get(f->json, "decided")), 2);
  assert_string_equal(str(json_array_get(res, 0), "outcome"), "LICENSE_EXCEPTION_ACE");
  assert_string_equal(str(json_array_get(res, 2), "outcome"), "LICENSE_REQUIRED");
  json_t *e = json_object_get(json_array_get(res, 1), "error");
  assert_string_equal(str(e, "field"), "transactions[1].destination");
  /* each decided transaction has its own record, retrievable as in the batch */
  char target[128];
  snprintf(target, sizeof target, "/v1/checks/%s", str(json_array_get(res, 2), "audit_id"));
  json_t *item = json_incref(json_array_get(res, 2));
  req(f, "GET", target, AK, NULL);
  assert_int_equal(f->status, 200);
  assert_true(json_equal(f->json, item));
  json_decref(item);

  req(f, "POST", "/v1/checks:batch", CK, "{\"transactions\":[]}");
  assert_int_equal(f->status, 400);
  req(f, "POST", "/v1/checks:batch", CK, "{\"transactions\":{}}");
  assert_int_equal(f->status, 400);
  req(f, "POST", "/v1/checks:batch", CK, "{\"txns\":[]}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "txns");
  /* only rejected transactions: answered, nothing recorded */
  req(f, "POST", "/v1/checks:batch", CK, "{\"transactions\":[1,\"x\"]}");
  assert_int_equal(f->status, 200);
  assert_int_equal(json_integer_value(json_object_get(f->json, "rejected")), 2);
  req(f, "GET", "/v1/audit", AK, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "records")), 2);
}

static void test_batch_limit(void **state) {
  fixture *f = *state;
  const char *one = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\"}";
  size_t n = AG_SERVER_BATCH_MAX + 1;
  char *body = malloc(n * (strlen(one) + 1) + 64);
  char *p = body + sprintf(body, "{\"transactions\":[");
  for (size_t i = 0; i < n; i++)
    p += sprintf(p, "%s%s", i ? "," : "", one);
  memcpy(p, "]}", 3);
  req(f, "POST", "/v1/checks:batch", CK, body);
  assert_int_equal(f->status, 413);
  assert_string_equal(err_field(f), "transactions");
  /* exactly the limit is decided */
  p = body + sprintf(body, "{\"transactions\":[");
  for (size_t i = 0; i < n - 1; i++)
    p += sprintf(p, "%s%s", i ? "," : "", one);
  memcpy(p, "]}", 3);
  req(f, "POST", "/v1/checks:batch", CK, body);
  assert_int_equal(f->status, 200);
  assert_int_equal(json_integer_value(json_object_get(f->json, "decided")), AG_SERVER_BATCH_MAX);
  free(body);
}

static void test_audit_search(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 5; i++)
    req(f, "POST", "/v1/checks", CK, TXN);
  req(f, "POST", "/v1/checks", CK,
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"type\":\"government\"}"
      "}");
  req(f, "GET", "/v1/audit?destination=CN", AK, NULL);
  assert_int_equal(f->status, 200);
  json_t *recs = json_object_get(f->json, "records");
  assert_int_equal(json_array_size(recs), 1);
  assert_string_equal(str(json_array_get(recs, 0), "outcome"), "LICENSE_REQUIRED");
  assert_true(json_is_object(json_object_get(json_array_get(recs, 0), "request")));
  assert_true(json_is_object(json_object_get(json_array_get(recs, 0), "decision")));
  req(f, "GET", "/v1/audit?limit=4", AK, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "records")), 4);
  char target[128];
  snprintf(target, sizeof target, "/v1/audit?limit=4&cursor=%s", str(f->json, "next_cursor"));
  req(f, "GET", target, AK, NULL);
  recs = json_object_get(f->json, "records");
  assert_int_equal(json_array_size(recs), 2);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 0), "seq")), 5);
  assert_true(json_is_null(json_object_get(f->json, "next_cursor")));
  req(f, "GET", "/v1/audit?order=newest&limit=1", AK, NULL);
  recs = json_object_get(f->json, "records");
  assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 0), "seq")), 6);
  req(f, "GET", "/v1/audit?from=2999-01-01", AK, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "records")), 0);
  req(f, "GET", "/v1/audit?to=1999-01-01T00:00:00Z", AK, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "records")), 0);
  static const char *const bad[][2] = {
      {"/v1/audit?from=tomorrow", "from"}, {"/v1/audit?limit=5000", "limit"},
      {"/v1/audit?kind=any", "kind"},      {"/v1/audit?order=random", "order"},
      {"/v1/audit?cursor=%zz", "cursor"},  {"/v1/audit?page=2", "page"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    req(f, "GET", bad[i][0], AK, NULL);
    assert_int_equal(f->status, 400);
    assert_string_equal(err_field(f), bad[i][1]);
  }
  req(f, "GET", "/v1/audit/export?format=jsonl", AK, NULL);
  assert_int_equal(f->status, 200);
  size_t lines = 0;
  for (size_t i = 0; i < f->out.len; i++)
    lines += f->out.data[i] == '\n';
  assert_int_equal(lines, 6 + 1); /* the records, then the closing line */
  assert_non_null(strstr(f->out.data, "\n{\"export_end\":true,\"records\":6,\"last_seq\":6,"));
}

static int64_t test_clock(void *ctx) {
  return *(int64_t *)ctx;
}

static void test_rate_limit(void **state) {
  (void)state;
  void *st = NULL;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.no_lists = true;
  cfg.rate_limit = 1;
  cfg.rate_burst = 2;
  int64_t now = 1000000000; /* the service's clock: time moves only when told */
  cfg.clock_ns = test_clock;
  cfg.clock_ctx = &now;
  assert_int_equal(start(&st, &cfg), 0);
  fixture *f = st;
  assert_non_null(f);
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  req(f, "GET", "/v1/rules", CK, NULL);
  assert_int_equal(f->status, 200);
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 429);
  assert_string_equal(err_code(f), "rate_limited");
  req(f, "POST", "/v1/checks", CK2, TXN); /* another key has its own bucket */
  assert_int_equal(f->status, 200);
  req(f, "GET", "/healthz", -1, NULL); /* probes are not limited */
  assert_int_equal(f->status, 200);
  now += 999000000; /* not quite a second: still empty */
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 429);
  now += 1000000; /* one second since the last: one request refilled */
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 429);
  req(f, "GET", "/metrics", -1, NULL);
  assert_non_null(strstr(f->out.data, "acegate_rate_limited_total 3\n"));
  teardown(&st);
}

static void test_metrics(void **state) {
  fixture *f = *state;
  req(f, "POST", "/v1/checks", CK, TXN);
  req(f, "POST", "/v1/checks", CK, "{");
  /* an item outside 740.22(b)(1) is a decision with its own outcome, counted as such */
  req(f, "POST", "/v1/checks", CK,
      "{\"as_of\":\"2026-08-01\",\"item\":{\"eccn\":\"5A002\"},\"destination\":\"DE\"}");
  assert_int_equal(f->status, 200);
  req(f, "GET", "/metrics", -1, NULL);
  assert_int_equal(f->status, 200);
  const char *m = f->out.data;
  assert_non_null(strstr(m, "acegate_decisions_total{outcome=\"OUT_OF_SCOPE\"} 1\n"));
  assert_non_null(strstr(m, "# TYPE acegate_http_requests_total counter\n"));
  assert_non_null(
      strstr(m, "acegate_http_requests_total{method=\"POST\",route=\"/v1/checks\",status=\"200\"} 2\n"));
  assert_non_null(
      strstr(m, "acegate_http_requests_total{method=\"POST\",route=\"/v1/checks\",status=\"400\"} 1\n"));
  assert_non_null(strstr(m, "acegate_decisions_total{outcome=\"LICENSE_EXCEPTION_ACE\"} 1\n"));
  assert_non_null(strstr(m, "acegate_audit_records_total 2\n"));
  assert_non_null(strstr(m, "acegate_audit_write_seconds_count 2\n"));
  /* histogram buckets are cumulative and end at the count */
  const char *h =
      "acegate_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/checks\",status=\"200\",le=\"";
  unsigned long prev = 0;
  int buckets = 0;
  for (const char *p = strstr(m, h); p; p = strstr(p + 1, h)) {
    const char *v = strchr(p, '}') + 2;
    unsigned long n = strtoul(v, NULL, 10);
    assert_true(n >= prev);
    prev = n;
    buckets++;
  }
  assert_int_equal(buckets, 16);
  assert_int_equal(prev, 2);
  /* every line is a comment or "name{labels} value" / "name value" */
  for (const char *line = m; *line;) {
    const char *end = strchr(line, '\n');
    assert_non_null(end);
    if (*line != '#') {
      const char *sp = memchr(line, ' ', (size_t)(end - line));
      assert_non_null(sp);
      assert_true(strchr("0123456789", sp[1]) != NULL);
    }
    line = end + 1;
  }
}

static void test_key_management(void **state) {
  fixture *f = *state;
  req(f, "POST", "/v1/keys", ADM, "{\"role\":\"auditor\",\"name\":\"made here\"}");
  assert_int_equal(f->status, 201);
  char bearer[AG_KEYS_TOKEN_MAX + 8], id[AG_KEYS_ID_MAX];
  snprintf(bearer, sizeof bearer, "Bearer %s", str(f->json, "key"));
  snprintf(id, sizeof id, "%s", str(f->json, "id"));
  assert_string_equal(str(f->json, "role"), "auditor");
  unsigned status;
  ag_buf_reset(&f->out);
  ag_server_handle(f->s, "GET", "/v1/audit", bearer, NULL, NULL, 0, &status, &f->out);
  assert_int_equal(status, 200);
  char target[64];
  snprintf(target, sizeof target, "/v1/keys/%s", id);
  req(f, "DELETE", target, ADM, NULL);
  assert_int_equal(f->status, 200);
  ag_buf_reset(&f->out);
  ag_server_handle(f->s, "GET", "/v1/audit", bearer, NULL, NULL, 0, &status, &f->out);
  assert_int_equal(status, 401); /* cached, yet revoked at once */
  req(f, "GET", "/v1/keys", ADM, NULL);
  assert_int_equal(json_array_size(json_object_get(f->json, "keys")), 5);
  req(f, "POST", "/v1/keys", ADM, "{\"role\":\"king\"}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "role");
  req(f, "POST", "/v1/keys", ADM, "{\"role\":\"checker\",\"shoe\":1}");
  assert_int_equal(f->status, 400);
  req(f, "DELETE", "/v1/keys/ffffffffffff", ADM, NULL);
  assert_int_equal(f->status, 404);
}

static void test_reload_keeps_old_data(void **state) {
  (void)state;
  char dir[64], cmd[256];
  snprintf(dir, sizeof dir, "/tmp/ag_server_rules_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "cp data/rules/*.tsv '%s'/", dir);
  assert_int_equal(system(cmd), 0);
  void *st = NULL;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.no_lists = true;
  cfg.rules_dir = dir;
  assert_int_equal(start(&st, &cfg), 0);
  fixture *f = st;
  assert_non_null(f);
  req(f, "GET", "/v1/rules", CK, NULL);
  char *v1 = strdup(str(f->json, "version"));
  snprintf(cmd, sizeof cmd, "echo 'garbage row' >> '%s/country-chart.tsv'", dir);
  assert_int_equal(system(cmd), 0);
  ag_error e;
  assert_int_not_equal(ag_server_reload(f->s, &e), AG_OK);
  assert_non_null(strstr(e.field, "country-chart.tsv"));
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "rules_version"), v1);
  req(f, "POST", "/v1/admin/reload", ADM, "{}");
  assert_int_equal(f->status, 500);
  assert_string_equal(err_code(f), "invalid_rules");
  snprintf(cmd, sizeof cmd, "cp data/rules/country-chart.tsv '%s'/", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(ag_server_reload(f->s, &e), AG_OK);
  req(f, "POST", "/v1/admin/reload", ADM, "{}");
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "rules_version"), v1);
  req(f, "GET", "/metrics", -1, NULL);
  assert_non_null(strstr(f->out.data, "acegate_reloads_total{result=\"ok\"} 2\n"));
  assert_non_null(strstr(f->out.data, "acegate_reloads_total{result=\"failed\"} 2\n"));
  free(v1);
  teardown(&st);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* A small list in the published CSL format. */
static void write_list(const char *path) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
        "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
        "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
        "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
        "source_information_url,ids\n"
        ",Entity List (EL) - Bureau of Industry and Security,,,,\"Huawei Technologies Co., "
        "Ltd. (Huawei)\",,CN,84 FR 22963,,,,For all items subject to the EAR,Presumption of "
        "denial,,,,,,,,https://www.bis.gov,Huawei Technology,,,,,,\n",
        fp);
  fclose(fp);
}

static void test_screening(void **state) {
  (void)state;
  char dir[64], list[128];
  snprintf(dir, sizeof dir, "/tmp/ag_server_list_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(list, sizeof list, "%s/csl.csv", dir);
  write_list(list);
  const char *paths[] = {list};
  void *st = NULL;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.list_paths = paths;
  cfg.n_list_paths = 1;
  assert_int_equal(start(&st, &cfg), 0);
  fixture *f = st;
  assert_non_null(f);
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"Huawei Technologies\",\"country\":\"CN\"}");
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "outcome"), "CONFIDENT_MATCH");
  assert_non_null(str(f->json, "audit_id"));
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"\"}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "name");
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"x\",\"max_matches\":0}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "max_matches");
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"x\",\"country\":\"Chinaland\"}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "country");
  /* a check that names the party is screened and stricter */
  req(f, "POST", "/v1/checks", CK,
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"end_user\":{\"name\":\"Huawei "
      "Technologies Co Ltd\",\"country\":\"CN\"}}");
  assert_int_equal(f->status, 200);
  assert_string_equal(str(f->json, "outcome"), "LICENSE_REQUIRED");
  req(f, "GET", "/v1/lists", AK, NULL);
  assert_int_equal(f->status, 200);
  assert_true(json_is_true(json_object_get(f->json, "screening")));
  /* a broken list file on reload: rejected, the old lists stay */
  FILE *fp = fopen(list, "w");
  fputs("\"broken\n", fp);
  fclose(fp);
  ag_error e;
  assert_int_not_equal(ag_server_reload(f->s, &e), AG_OK);
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"Huawei Technologies\"}");
  assert_string_equal(str(f->json, "outcome"), "CONFIDENT_MATCH");
  teardown(&st);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* A list dated by its file name 2020-01-02 is years older than the
 * maximum age: answers carry a warning naming it and its date, /readyz
 * names it (and is 503 when configured so); every reload, failed or not,
 * is an audit record of kind "lists" naming who asked. */
static void test_stale_lists_and_reload_records(void **state) {
  (void)state;
  char dir[64], list[128];
  snprintf(dir, sizeof dir, "/tmp/ag_server_list_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(list, sizeof list, "%s/csl-2020-01-02.csv", dir);
  write_list(list);
  const char *paths[] = {list};
  void *st = NULL;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.list_paths = paths;
  cfg.n_list_paths = 1;
  cfg.stale_lists_unready = true;
  assert_int_equal(start(&st, &cfg), 0);
  fixture *f = st;
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"Huawei Technologies\"}");
  assert_int_equal(f->status, 200);
  json_t *w = json_array_get(json_object_get(f->json, "warnings"), 0);
  assert_non_null(w);
  assert_string_equal(str(w, "code"), "lists_stale");
  assert_string_equal(str(w, "list"), "EL");
  assert_string_equal(str(w, "date"), "2020-01-02");
  assert_true(json_integer_value(json_object_get(w, "age_days")) > 7);
  /* a batch of screenings: in order, each recorded, a bad one in its place */
  req(f, "POST", "/v1/screenings:batch", CK,
      "{\"screenings\":[{\"name\":\"Huawei Technologies\",\"ref\":\"C-1\"},{\"name\":\"\"},"
      "{\"name\":\"Blue Harbor Logistics\",\"ref\":\"C-3\"}]}");
  assert_int_equal(f->status, 200);
  json_t *res = json_object_get(f->json, "results");
  assert_int_equal(json_array_size(res), 3);
  assert_string_equal(str(json_array_get(res, 0), "outcome"), "CONFIDENT_MATCH");
  assert_string_equal(str(json_array_get(res, 0), "ref"), "C-1");
  assert_non_null(str(json_array_get(res, 0), "audit_id"));
  assert_string_equal(str(json_object_get(json_array_get(res, 1), "error"), "field"),
                      "screenings[1].name");
  assert_string_equal(str(json_array_get(res, 2), "outcome"), "NO_MATCH");
  assert_string_equal(str(json_array_get(res, 2), "ref"), "C-3");
  assert_int_equal(json_integer_value(json_object_get(f->json, "rejected")), 1);
  req(f, "POST", "/v1/screenings:batch", CK, "{\"transactions\":[]}");
  assert_int_equal(f->status, 400);
  assert_string_equal(err_field(f), "transactions");
  req(f, "POST", "/v1/screenings:batch", AK, "{\"screenings\":[{\"name\":\"x\"}]}");
  assert_int_equal(f->status, 403);
  /* a check without party names used no list: no warning */
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  assert_null(json_object_get(f->json, "warnings"));
  req(f, "GET", "/readyz", -1, NULL);
  assert_int_equal(f->status, 503);
  assert_string_equal(str(f->json, "status"), "lists_stale");
  assert_string_equal(str(json_array_get(json_object_get(f->json, "stale_lists"), 0), "list"),
                      "EL");

  /* reloads are recorded, by the admin key that asked */
  req(f, "POST", "/v1/admin/reload", ADM, "{}");
  assert_int_equal(f->status, 200);
  FILE *fp = fopen(list, "w");
  fputs("\"broken\n", fp);
  fclose(fp);
  req(f, "POST", "/v1/admin/reload", ADM, "{}");
  assert_int_equal(f->status, 500);
  req(f, "GET", "/v1/audit?kind=lists", AK, NULL);
  assert_int_equal(f->status, 200);
  json_t *recs = json_object_get(f->json, "records");
  assert_int_equal(json_array_size(recs), 2);
  json_t *ok = json_array_get(recs, 0), *bad = json_array_get(recs, 1);
  assert_string_equal(str(ok, "outcome"), "lists_reloaded");
  assert_string_equal(str(bad, "outcome"), "lists_reload_failed");
  assert_string_equal(str(ok, "key_id"), str(bad, "key_id"));
  assert_true(strlen(str(ok, "key_id")) > 0);
  json_t *dec = json_object_get(ok, "decision");
  json_t *before = json_array_get(json_object_get(json_object_get(dec, "before"), "lists"), 0);
  assert_string_equal(str(before, "code"), "EL");
  assert_int_equal(json_integer_value(json_object_get(before, "entries")), 1);
  assert_int_equal(strlen(str(before, "sha256")), 64);
  assert_true(json_is_null(json_object_get(json_object_get(bad, "decision"), "after")));
  teardown(&st);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_no_lists(void **state) {
  fixture *f = *state;
  req(f, "POST", "/v1/screenings", CK, "{\"name\":\"Huawei\"}");
  assert_int_equal(f->status, 503);
  assert_string_equal(err_code(f), "lists_unavailable");
  req(f, "GET", "/v1/lists", CK, NULL);
  assert_int_equal(f->status, 200);
  assert_true(json_is_false(json_object_get(f->json, "screening")));
}

/* While another connection holds the write lock, appends fail after the
 * busy timeout: the answer is 503 and no decision is given out. */
static void test_audit_unavailable(void **state) {
  fixture *f = *state;
  sqlite3 *h;
  assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 503);
  assert_string_equal(err_code(f), "audit_unavailable");
  assert_null(json_object_get(f->json, "outcome"));
  req(f, "GET", "/readyz", -1, NULL);
  assert_int_equal(f->status, 503);
  sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(h);
  req(f, "POST", "/v1/checks", CK, TXN);
  assert_int_equal(f->status, 200);
  req(f, "GET", "/readyz", -1, NULL);
  assert_int_equal(f->status, 200);
}

static void test_create_errors(void **state) {
  (void)state;
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.no_lists = true;
  cfg.access_log_fd = cfg.event_log_fd = -1;
  ag_server *s = NULL;
  ag_error e;
  cfg.db_path = "/nonexistent-dir/audit.db";
  /* the new log's file cannot be created there */
  assert_int_equal(ag_server_create(&cfg, &s, &e), AG_ERR_IO);
  assert_string_equal(e.field, "db");
  assert_null(s);
  cfg.db_path = ":memory:";
  cfg.rules_dir = "/nonexistent-dir";
  assert_int_not_equal(ag_server_create(&cfg, &s, &e), AG_OK);
  cfg.rules_dir = NULL;
  cfg.keys_db_path = "/nonexistent-dir/keys.db";
  assert_int_equal(ag_server_create(&cfg, &s, &e), AG_ERR_DB);
  assert_string_equal(e.field, "keys_db");
  cfg.keys_db_path = NULL;
  assert_int_equal(ag_server_create(&cfg, &s, &e), AG_OK);
  ag_server_free(s);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_routes),
      T(test_keys_and_roles),
      T(test_check_and_get),
      T(test_bad_input),
      T(test_batch),
      T(test_batch_limit),
      T(test_audit_search),
      cmocka_unit_test(test_rate_limit),
      T(test_metrics),
      T(test_key_management),
      cmocka_unit_test(test_reload_keeps_old_data),
      cmocka_unit_test(test_screening),
      cmocka_unit_test(test_stale_lists_and_reload_records),
      T(test_no_lists),
      T(test_audit_unavailable),
      cmocka_unit_test(test_create_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
