/*
 * request.c - one request's way through the service, independent of the
 * HTTP library: routing (404, 405 with Allow), authentication (401) and
 * roles (403), per-key rate limits (429 with Retry-After), content type
 * (415), body size (413), dispatch to the handlers, and the answer once the
 * audit records are written. Every error is the JSON object of contract v1,
 * {"error":{"code","message","field"}}.
 */
#include "server_int.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- routes ---- */

enum { AUTH_NONE = -1, AUTH_ANY = -2 };

typedef struct {
  const char *method;
  const char *path; /* ends in "/" when followed by an {id} */
  bool has_param;
  srv_route route;
  int action; /* ag_keys_action, AUTH_ANY (any valid key) or AUTH_NONE */
} route_def;

static const route_def routes[] = {
    {"GET", "/healthz", false, R_HEALTHZ, AUTH_NONE},
    {"GET", "/readyz", false, R_READYZ, AUTH_NONE},
    {"GET", "/metrics", false, R_METRICS, AUTH_NONE},
    {"POST", "/v1/checks", false, R_CHECKS, AG_KEYS_ACT_CHECK},
    {"POST", "/v1/checks:batch", false, R_CHECKS_BATCH, AG_KEYS_ACT_CHECK},
    {"GET", "/v1/checks/", true, R_CHECK_GET, AUTH_ANY},
    {"POST", "/v1/screenings", false, R_SCREENINGS, AG_KEYS_ACT_SCREEN},
    {"POST", "/v1/screenings:batch", false, R_SCREENINGS_BATCH, AG_KEYS_ACT_SCREEN},
    {"GET", "/v1/screenings/", true, R_SCREENING_GET, AUTH_ANY},
    {"GET", "/v1/audit", false, R_AUDIT, AG_KEYS_ACT_AUDIT_READ},
    {"GET", "/v1/audit/export", false, R_AUDIT_EXPORT, AG_KEYS_ACT_AUDIT_EXPORT},
    {"GET", "/v1/rules", false, R_RULES, AUTH_ANY},
    {"GET", "/v1/lists", false, R_LISTS, AUTH_ANY},
    {"POST", "/v1/lists:update", false, R_LISTS_UPDATE, AG_KEYS_ACT_ADMIN},
    {"GET", "/v1/keys", false, R_KEYS_LIST, AG_KEYS_ACT_ADMIN},
    {"POST", "/v1/keys", false, R_KEYS_ADD, AG_KEYS_ACT_ADMIN},
    {"DELETE", "/v1/keys/", true, R_KEYS_REVOKE, AG_KEYS_ACT_ADMIN},
    {"POST", "/v1/admin/reload", false, R_RELOAD, AG_KEYS_ACT_ADMIN},
    {"POST", "/v1/reviews", false, R_REVIEW_ADD, AG_KEYS_ACT_REVIEW},
    /* reviews are part of the log: whoever may read it reads them */
    {"GET", "/v1/reviews", false, R_REVIEW_QUEUE, AG_KEYS_ACT_AUDIT_READ},
    {"GET", "/v1/reviews/remembered", false, R_REVIEW_REMEMBERED, AG_KEYS_ACT_AUDIT_READ},
    {"GET", "/v1/parties", false, R_PARTIES, AG_KEYS_ACT_REVIEW},
    {"POST", "/v1/parties:import", false, R_PARTIES_IMPORT, AG_KEYS_ACT_REVIEW},
    {"GET", "/v1/parties/", true, R_PARTY_GET, AG_KEYS_ACT_REVIEW},
    {"GET", "/v1/reviews/", true, R_REVIEW_GET, AG_KEYS_ACT_AUDIT_READ},
    /* whoever may check may classify */
    {"POST", "/v1/classifications", false, R_CLASSIFICATIONS, AG_KEYS_ACT_CHECK},
    {"GET", "/v1/classifications/", true, R_CLASSIFICATION_GET, AUTH_ANY},
    {"GET", "/v1/whoami", false, R_WHOAMI, AUTH_ANY},
    {"GET", "/", false, R_WEB_INDEX, AUTH_NONE},
    {"GET", "/ui/", true, R_WEB_ASSET, AUTH_NONE},
};

static const char *const route_names[R_COUNT] = {
    [R_UNMATCHED] = "unmatched",
    [R_HEALTHZ] = "/healthz",
    [R_READYZ] = "/readyz",
    [R_METRICS] = "/metrics",
    [R_CHECKS] = "/v1/checks",
    [R_CHECKS_BATCH] = "/v1/checks:batch",
    [R_SCREENINGS_BATCH] = "/v1/screenings:batch",
    [R_CHECK_GET] = "/v1/checks/{id}",
    [R_SCREENINGS] = "/v1/screenings",
    [R_SCREENING_GET] = "/v1/screenings/{id}",
    [R_AUDIT] = "/v1/audit",
    [R_AUDIT_EXPORT] = "/v1/audit/export",
    [R_RULES] = "/v1/rules",
    [R_LISTS] = "/v1/lists",
    [R_KEYS_LIST] = "/v1/keys",
    [R_KEYS_ADD] = "/v1/keys",
    [R_KEYS_REVOKE] = "/v1/keys/{id}",
    [R_RELOAD] = "/v1/admin/reload",
    [R_REVIEW_ADD] = "/v1/reviews",
    [R_REVIEW_QUEUE] = "/v1/reviews",
    [R_REVIEW_GET] = "/v1/reviews/{id}",
    [R_CLASSIFICATIONS] = "/v1/classifications",
    [R_CLASSIFICATION_GET] = "/v1/classifications/{id}",
    [R_WHOAMI] = "/v1/whoami",
    [R_WEB_INDEX] = "/",
    [R_WEB_ASSET] = "/ui/{file}",
    [R_REVIEW_REMEMBERED] = "/v1/reviews/remembered",
    [R_PARTIES] = "/v1/parties",
    [R_PARTIES_IMPORT] = "/v1/parties:import",
    [R_PARTY_GET] = "/v1/parties/{ref}",
    [R_LISTS_UPDATE] = "/v1/lists:update",
};

const char *srv_route_name(srv_route r) {
  return (unsigned)r < R_COUNT ? route_names[r] : "unmatched";
}

const char *srv_route_method(srv_route r) {
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (routes[i].route == r)
      return routes[i].method;
  return "any";
}

#define PARAM_MAX 64

/* The {id} of path under prefix, or NULL: one non-empty segment. */
static const char *path_param(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n) != 0)
    return NULL;
  const char *p = path + n;
  size_t len = strlen(p);
  if (len == 0 || len > PARAM_MAX || strchr(p, '/'))
    return NULL;
  return p;
}

static bool path_matches(const route_def *d, const char *path, const char **param) {
  if (d->has_param)
    return (*param = path_param(path, d->path)) != NULL;
  *param = NULL;
  return !strcmp(path, d->path);
}

static bool method_is(const char *have, const char *want) {
  /* HEAD is answered wherever GET is; the library drops the body. */
  return !strcmp(have, want) || (!strcmp(want, "GET") && !strcmp(have, "HEAD"));
}

/* Finds the route; on 404 or 405 answers and returns NULL. */
static const route_def *route_find(srv_req *r) {
  /* HEAD is listed wherever GET is: it is answered there */
  static const char *const allow_by_path[] = {"GET, HEAD", "POST", "GET, HEAD, POST", "DELETE"};
  const route_def *hit = NULL;
  bool path_known = false, get = false, post = false, del = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const char *param;
    if (!path_matches(&routes[i], r->path, &param))
      continue;
    path_known = true;
    get |= !strcmp(routes[i].method, "GET");
    post |= !strcmp(routes[i].method, "POST");
    del |= !strcmp(routes[i].method, "DELETE");
    if (!hit && method_is(r->method, routes[i].method)) { /* the first: exact paths come first */
      hit = &routes[i];
      r->param = param;
    }
  }
  if (hit)
    return hit;
  if (!path_known) {
    srv_error(r, 404, "not_found", NULL, "no such resource: %.200s", r->path);
    return NULL;
  }
  r->allow = del           ? allow_by_path[3]
             : get && post ? allow_by_path[2]
             : post        ? allow_by_path[1]
                           : allow_by_path[0];
  srv_error(r, 405, "method_not_allowed", NULL, "%.200s allows %s, not %.15s", r->path, r->allow,
            r->method);
  return NULL;
}

/* ---- requests ---- */

void srv_req_init(srv_req *r, ag_server *s) {
  memset(r, 0, sizeof *r);
  r->srv = s;
  r->export = NULL;
  r->route = R_UNMATCHED;
  ag_buf_init(&r->body);
  ag_buf_init(&r->out);
  ag_buf_init(&r->dec);
  ag_buf_init(&r->packed);
  ag_buf_init(&r->reqtext);
  r->start_ns = srv_now_ns();
}

void srv_req_free(srv_req *r) {
  ag_buf_free(&r->body);
  ag_buf_free(&r->out);
  ag_buf_free(&r->dec);
  ag_buf_free(&r->packed);
  ag_buf_free(&r->reqtext);
  if (r->items != &r->one)
    free(r->items);
  if (r->recs != &r->one_rec)
    free(r->recs);
  if (r->ids != &r->one_id)
    free(r->ids);
  if (r->snap)
    srv_snapshot_put(r->snap);
  free(r->path);
  free(r->argbuf);
  free(r->authorization);
  free(r->content_type);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes %XX and '+' in place. */
static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '+') {
      *o++ = ' ';
    } else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
      *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
      s += 2;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
}

void srv_req_parse_query(srv_req *r, const char *query) {
  if (!query || !*query)
    return;
  free(r->argbuf);
  r->argbuf = strdup(query);
  if (!r->argbuf)
    return;
  char *save = NULL;
  for (char *part = strtok_r(r->argbuf, "&", &save); part; part = strtok_r(NULL, "&", &save)) {
    if (r->nargs == SRV_ARGS_MAX) {
      r->args_overflow = true;
      break;
    }
    char *eq = strchr(part, '=');
    if (eq)
      *eq = '\0';
    unescape(part);
    if (eq)
      unescape(eq + 1);
    r->args[r->nargs].key = part;
    r->args[r->nargs].value = eq ? eq + 1 : NULL;
    r->nargs++;
  }
}

const char *srv_arg(const srv_req *r, const char *key) {
  for (size_t i = 0; i < r->nargs; i++)
    if (!strcmp(r->args[i].key, key))
      return r->args[i].value ? r->args[i].value : "";
  return NULL;
}

/* ---- answers ---- */

static void put_error(ag_buf *b, const char *code, const char *field, const char *message) {
  ag_buf_puts(b, "{\"error\":{\"code\":");
  ag_buf_json_cstr(b, code);
  ag_buf_puts(b, ",\"message\":");
  ag_buf_json_cstr(b, message);
  ag_buf_puts(b, ",\"field\":");
  if (field && *field)
    ag_buf_json_cstr(b, field);
  else
    ag_buf_puts(b, "null");
  ag_buf_puts(b, "}}");
}

void srv_error(srv_req *r, unsigned status, const char *code, const char *field, const char *fmt,
               ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ag_buf_reset(&r->out);
  if (field && *field) {
    char full[sizeof msg + 160];
    snprintf(full, sizeof full, "%.150s: %s", field, msg);
    put_error(&r->out, code, field, full);
  } else {
    put_error(&r->out, code, NULL, msg);
  }
  r->status = status;
  r->content_type_out = "application/json";
}

unsigned srv_http_status(const ag_error *err) {
  switch (err->status) {
  case AG_OK: return 200;
  case AG_ERR_INPUT: return 400;
  /* a whole request over a limit is 413; one field over its limit is 400 */
  case AG_ERR_LIMIT: return err->field[0] ? 400 : 413;
  case AG_ERR_AUTH: return 401;
  case AG_ERR_FORBIDDEN: return 403;
  case AG_ERR_NOTFOUND: return 404;
  case AG_ERR_DB:
  case AG_ERR_NOMEM: return 503;
  case AG_ERR_RULES:
  case AG_ERR_LIST:
  case AG_ERR_IO:
  case AG_ERR_INTERNAL: break;
  }
  return 500;
}

void srv_fail(srv_req *r, const ag_error *err) {
  ag_buf_reset(&r->out);
  ag_json_encode_error(err, &r->out);
  r->status = srv_http_status(err);
  r->content_type_out = "application/json";
}

/* ---- the steps ---- */

static size_t body_limit(const ag_server *s, srv_route route, const char *method) {
  size_t lim = s->max_body;
  switch (route) {
  case R_CHECKS_BATCH:
  case R_SCREENINGS_BATCH:
  case R_PARTIES_IMPORT: return lim;
  case R_LISTS_UPDATE: return lim > SRV_LISTS_UPDATE_MAX_BODY ? lim : SRV_LISTS_UPDATE_MAX_BODY;
  case R_CHECKS:
  case R_SCREENINGS:
  case R_CLASSIFICATIONS:
  case R_KEYS_ADD:
  case R_REVIEW_ADD:
  case R_RELOAD: return lim < AG_JSON_MAX_REQUEST ? lim : AG_JSON_MAX_REQUEST;
  default: break;
  }
  /* GET, DELETE: a body is not expected; a small one is read and ignored */
  (void)method;
  return 4096;
}

/* application/json, with no parameter but charset=utf-8 (RFC 8259 8.1:
 * JSON is UTF-8; a body declared in another charset is not what it says). */
static bool json_type_ok(const char *ct) {
  if (!ct || !*ct)
    return true; /* no Content-Type: taken to be JSON */
  size_t n = strcspn(ct, "; \t,");
  if (n != 16 || strncasecmp(ct, "application/json", 16) != 0)
    return false;
  const char *p = ct + n;
  p += strspn(p, " \t");
  if (!*p)
    return true;
  if (*p != ';')
    return false;
  p++;
  p += strspn(p, " \t");
  size_t m = strcspn(p, " \t");
  bool utf8 = (m == 13 && !strncasecmp(p, "charset=utf-8", 13)) ||
              (m == 15 && !strncasecmp(p, "charset=\"utf-8\"", 15));
  return utf8 && !p[m + strspn(p + m, " \t")];
}

bool srv_begin(srv_req *r) {
  ag_server *s = r->srv;
  const route_def *d = route_find(r);
  if (!d)
    return false;
  r->route = d->route;
  if (d->action != AUTH_NONE) {
    ag_error err;
    ag_error_clear(&err);
    if (!r->authorization || !*r->authorization) {
      atomic_fetch_add_explicit(&s->metrics.auth_failures, 1, memory_order_relaxed);
      srv_error(r, 401, "unauthorized", "authorization",
                "an API key is required: send Authorization: Bearer KEY");
      return false;
    }
    if (strncasecmp(r->authorization, "Bearer ", 7) != 0) {
      atomic_fetch_add_explicit(&s->metrics.auth_failures, 1, memory_order_relaxed);
      srv_error(r, 401, "unauthorized", "authorization",
                "the Bearer scheme is required: send Authorization: Bearer KEY");
      return false;
    }
    ag_status st = srv_auth(s, r->authorization, &r->key, &err);
    if (st != AG_OK) {
      if (st == AG_ERR_AUTH)
        atomic_fetch_add_explicit(&s->metrics.auth_failures, 1, memory_order_relaxed);
      srv_fail(r, &err);
      return false;
    }
    r->authed = true;
    /* Reading a stored record by id: the role that made it, or an auditor. */
    int action = d->action;
    if (d->route == R_CHECK_GET || d->route == R_CLASSIFICATION_GET)
      action = ag_keys_allows(r->key.role, AG_KEYS_ACT_AUDIT_READ) ? AG_KEYS_ACT_AUDIT_READ
                                                                   : AG_KEYS_ACT_CHECK;
    else if (d->route == R_SCREENING_GET)
      action = ag_keys_allows(r->key.role, AG_KEYS_ACT_AUDIT_READ) ? AG_KEYS_ACT_AUDIT_READ
                                                                   : AG_KEYS_ACT_SCREEN;
    if (action != AUTH_ANY && ag_keys_require(&r->key, (ag_keys_action)action, &err) != AG_OK) {
      srv_fail(r, &err);
      return false;
    }
    unsigned retry;
    if (!srv_rate_take(s, r->key.id, &retry)) {
      atomic_fetch_add_explicit(&s->metrics.rate_limited, 1, memory_order_relaxed);
      r->retry_after = retry;
      srv_error(r, 429, "rate_limited", NULL,
                "more than %g requests per second for this API key; retry after %u s",
                s->cfg.rate_limit, retry);
      return false;
    }
  }
  if (r->args_nul) {
    srv_error(r, 400, "invalid_input", NULL, "a query parameter holds %%00 (NUL)");
    return false;
  }
  /* only the audit routes take query parameters; any other is a mistake
   * the caller should hear about, not a silently ignored option */
  if (r->route != R_AUDIT && r->route != R_AUDIT_EXPORT && r->route != R_REVIEW_QUEUE &&
      r->route != R_REVIEW_REMEMBERED && r->route != R_PARTIES && r->route != R_PARTIES_IMPORT &&
      r->route != R_LISTS_UPDATE && (r->nargs || r->args_overflow)) {
    srv_error(r, 400, "invalid_input", r->nargs ? r->args[0].key : NULL,
              "unknown query parameter: %s takes none", srv_route_name(r->route));
    return false;
  }
  r->body_limit = body_limit(s, r->route, r->method);
  if (r->route == R_PARTIES_IMPORT) {
    if (!r->content_type || strncasecmp(r->content_type, "text/csv", 8) != 0) {
      srv_error(r, 415, "unsupported_media_type", "content-type",
                "the body must be text/csv, not %.80s",
                r->content_type ? r->content_type : "none given");
      return false;
    }
  } else if (r->route == R_LISTS_UPDATE) {
    if (!srv_lists_upload_ext(r->content_type)) {
      srv_error(r, 415, "unsupported_media_type", "content-type",
                "the list file must be sent as text/csv (CSL CSV) or application/json (CSL "
                "JSON), not %.80s",
                r->content_type ? r->content_type : "none given");
      return false;
    }
  } else if (!strcmp(r->method, "POST") && !json_type_ok(r->content_type)) {
    srv_error(r, 415, "unsupported_media_type", "content-type",
              "the body must be application/json, not %.80s", r->content_type);
    return false;
  }
  if (r->have_length && r->content_length > r->body_limit) {
    srv_error(r, 413, "too_large", NULL, "the body is %llu bytes; the limit for %s is %zu",
              (unsigned long long)r->content_length, srv_route_name(r->route), r->body_limit);
    return false;
  }
  return true;
}

json_t *srv_load_json(srv_req *r) {
  json_error_t jerr;
  json_t *root =
      json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &jerr);
  if (root)
    return root;
  /* the library's own wording is not for callers: say what is wrong */
  const char *why = jerr.text;
  switch (json_error_code(&jerr)) {
  case json_error_invalid_utf8: why = "invalid UTF-8"; break;
  case json_error_null_character: why = "a string holds \\u0000, which is not allowed"; break;
  case json_error_duplicate_key: why = "a key appears twice in one object"; break;
  default: break;
  }
  srv_error(r, 400, "invalid_input", NULL, "malformed JSON at line %d, column %d: %s", jerr.line,
            jerr.column, why);
  return NULL;
}

bool srv_body(srv_req *r, const char *data, size_t n) {
  r->body_seen += n;
  if (!r->body_too_large && r->body.len + n > r->body_limit) {
    r->body_too_large = true;
    ag_buf_free(&r->body);
  }
  /* Read on and discard, so the 413 can be sent once the body ends (the
   * library cannot answer in the middle of one): a chunked body has no
   * length to refuse it by up front. Past 64 MiB more the connection is cut. */
  if (r->body_too_large)
    return r->body_seen <= (uint64_t)r->body_limit * 4 + ((uint64_t)64 << 20);
  ag_buf_append(&r->body, data, n);
  return true;
}

/* Handlers (handlers.c). */
srv_next srv_h_check(srv_req *r);
srv_next srv_h_batch(srv_req *r);
srv_next srv_h_screening(srv_req *r);
srv_next srv_h_get_record(srv_req *r);
srv_next srv_h_classification(srv_req *r);
srv_next srv_h_audit(srv_req *r);
srv_next srv_h_export(srv_req *r);
srv_next srv_h_rules(srv_req *r);
srv_next srv_h_lists(srv_req *r);
srv_next srv_h_keys_list(srv_req *r);
srv_next srv_h_keys_add(srv_req *r);
srv_next srv_h_keys_revoke(srv_req *r);
srv_next srv_h_reload(srv_req *r);
srv_next srv_h_review_add(srv_req *r);
srv_next srv_h_review_queue(srv_req *r);
srv_next srv_h_review_get(srv_req *r);
srv_next srv_h_review_remembered(srv_req *r);
srv_next srv_h_parties(srv_req *r);
srv_next srv_h_parties_import(srv_req *r);
srv_next srv_h_party_get(srv_req *r);
srv_next srv_h_lists_update(srv_req *r);
srv_next srv_h_health(srv_req *r);
srv_next srv_h_ready(srv_req *r);
srv_next srv_h_metrics(srv_req *r);
srv_next srv_h_whoami(srv_req *r);
srv_next srv_h_web(srv_req *r);

srv_next srv_dispatch(srv_req *r) {
  if (r->body_too_large) {
    srv_error(r, 413, "too_large", NULL, "the body is larger than the limit for %s, %zu bytes",
              srv_route_name(r->route), r->body_limit);
    return SRV_DONE;
  }
  if (r->body.failed) {
    srv_error(r, 503, "out_of_memory", NULL, "out of memory reading the body");
    return SRV_DONE;
  }
  switch (r->route) {
  case R_HEALTHZ: return srv_h_health(r);
  case R_READYZ: return srv_h_ready(r);
  case R_METRICS: return srv_h_metrics(r);
  case R_CHECKS: return srv_h_check(r);
  case R_CHECKS_BATCH:
  case R_SCREENINGS_BATCH: return srv_h_batch(r);
  case R_SCREENINGS: return srv_h_screening(r);
  case R_CHECK_GET:
  case R_SCREENING_GET: return srv_h_get_record(r);
  case R_CLASSIFICATIONS: return srv_h_classification(r);
  case R_CLASSIFICATION_GET: return srv_h_get_record(r);
  case R_AUDIT: return srv_h_audit(r);
  case R_AUDIT_EXPORT: return srv_h_export(r);
  case R_RULES: return srv_h_rules(r);
  case R_LISTS: return srv_h_lists(r);
  case R_KEYS_LIST: return srv_h_keys_list(r);
  case R_KEYS_ADD: return srv_h_keys_add(r);
  case R_KEYS_REVOKE: return srv_h_keys_revoke(r);
  case R_RELOAD: return srv_h_reload(r);
  case R_REVIEW_ADD: return srv_h_review_add(r);
  case R_REVIEW_QUEUE: return srv_h_review_queue(r);
  case R_REVIEW_GET: return srv_h_review_get(r);
  case R_WHOAMI: return srv_h_whoami(r);
  case R_WEB_INDEX:
  case R_WEB_ASSET: return srv_h_web(r);
  case R_REVIEW_REMEMBERED: return srv_h_review_remembered(r);
  case R_PARTIES: return srv_h_parties(r);
  case R_PARTIES_IMPORT: return srv_h_parties_import(r);
  case R_PARTY_GET: return srv_h_party_get(r);
  case R_LISTS_UPDATE: return srv_h_lists_update(r);
  case R_UNMATCHED:
  case R_COUNT: break;
  }
  srv_error(r, 404, "not_found", NULL, "no such resource");
  return SRV_DONE;
}

void srv_finish(srv_req *r) {
  if (r->audit_st != AG_OK) {
    /* 762.2: a decision that is not on record is not given out. */
    atomic_fetch_add_explicit(&r->srv->metrics.audit_failures, 1, memory_order_relaxed);
    srv_error(r, 503, "audit_unavailable", NULL,
              "the audit log could not be written (%.300s); no decision was recorded or returned",
              r->audit_err.reason[0] ? r->audit_err.reason : ag_status_name(r->audit_st));
    return;
  }
  r->finish(r);
}
