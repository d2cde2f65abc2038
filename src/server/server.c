/*
 * server.c - the service's life cycle: configuration, loading the data and
 * opening the audit log, reload, draining shutdown, the pool of per-thread
 * scratch, event logging, and ag_server_handle() (a request without the
 * network, for tests and fuzzing).
 */
#include "acegate/parties.h"
#include "acegate/remember.h"
#include "acegate/webhook.h"
#include "server_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ag_server_config_init(ag_server_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->access_log_fd = 2;
  cfg->event_log_fd = 2;
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

/* ---- logging ---- */

static void now_iso(char out[32]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ag_audit_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

void srv_log_event(ag_server *s, const char *event, const char *fmt, ...) {
  int fd = s->cfg.event_log_fd;
  if (fd < 0)
    return;
  ag_server_flush_log(s); /* lines in the order things happened */
  char t[32], line[1024];
  now_iso(t);
  int n = snprintf(line, sizeof line, "{\"time\":\"%s\",\"event\":\"%s\"", t, event);
  if (fmt && n > 0 && (size_t)n < sizeof line - 1) {
    line[n++] = ',';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n - 1 : n + m;
  }
  if (n < 0 || (size_t)n > sizeof line - 3)
    n = (int)sizeof line - 3;
  line[n++] = '}';
  line[n++] = '\n';
  ssize_t w = write(fd, line, (size_t)n);
  (void)w;
}

/* Escapes an error reason for an event line. */
static void json_escape(const char *in, char *out, size_t cap) {
  ag_buf b;
  ag_buf_init(&b);
  ag_buf_json_str(&b, in, strlen(in));
  snprintf(out, cap, "%s", b.data && !b.failed ? ag_buf_cstr(&b) : "\"\"");
  ag_buf_free(&b);
}

/* A pruning pass of the webhook's outbox, from its delivery thread: a
 * failure (a role without DELETE on it, say) leaves the items in place and
 * delivery going, and is logged each pass until mended. */
static void webhook_pruned(void *ctx, uint64_t deleted, const ag_error *err) {
  ag_server *s = ctx;
  if (err) {
    char reason[800];
    json_escape(err->reason, reason, sizeof reason);
    srv_log_event(s, "webhook_prune_failed", "\"reason\":%s", reason);
  } else {
    srv_log_event(s, "webhook_pruned", "\"items\":%llu", (unsigned long long)deleted);
  }
}

/* ---- scratch pool ---- */

srv_worker *srv_worker_get(ag_server *s) {
  pthread_mutex_lock(&s->pool_mu);
  srv_worker *w = s->pool;
  if (w)
    s->pool = w->next;
  pthread_mutex_unlock(&s->pool_mu);
  if (!w && (w = calloc(1, sizeof *w))) {
    w->pl = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
    w->packer = ag_audit_packer_new();
    if (!w->pl) {
      ag_audit_packer_free(w->packer);
      free(w);
      w = NULL;
    }
  }
  return w;
}

void srv_worker_put(ag_server *s, srv_worker *w) {
  pthread_mutex_lock(&s->pool_mu);
  w->next = s->pool;
  s->pool = w;
  pthread_mutex_unlock(&s->pool_mu);
}

/* ---- the log's start check ---- */

/* 15 CFR 762.6: appending to a damaged log would bury the damage under new
 * records, and appending to an emptied or replaced one would start a second
 * chain that verifies by itself. So the service refuses, unless the
 * operator says otherwise (accept_damaged_log). */
static ag_status check_log(ag_server *s, ag_audit_start_report *rep, ag_error *err) {
  ag_status st = ag_audit_check_start(s->db_path, rep, err);
  if (st != AG_OK || !rep->damaged)
    return st;
  char db[300], why[2200];
  json_escape(s->db_path, db, sizeof db);
  json_escape(rep->problems, why, sizeof why);
  srv_log_event(s, "audit_log_damaged", "\"db\":%s,\"problems\":%s,\"started\":%s", db, why,
                s->cfg.accept_damaged_log ? "true" : "false");
  if (s->cfg.accept_damaged_log)
    return AG_OK;
  return ag_error_set(err, AG_ERR_DB, "db",
                      "the audit log is damaged, so the service does not start on it: %.250s "
                      "(check it with acegate audit verify; to start anyway, which is recorded "
                      "in the log, give --accept-damaged-log)",
                      rep->problems);
}

/* Starting on a damaged log is itself a record of the log. */
static ag_status record_damaged_start(ag_server *s, const ag_audit_start_report *rep,
                                      ag_error *err) {
  ag_buf req, dec;
  ag_buf_init(&req);
  ag_buf_init(&dec);
  ag_buf_puts(&req, "{\"action\":\"start\",\"accept_damaged_log\":true,\"db\":");
  ag_buf_json_cstr(&req, s->db_path);
  ag_buf_putc(&req, '}');
  ag_buf_puts(&dec, "{\"problems\":");
  ag_buf_json_cstr(&dec, rep->problems);
  ag_buf_putc(&dec, '}');
  char id[AG_AUDIT_ID_MAX];
  ag_status st = req.failed || dec.failed
                     ? ag_error_set(err, AG_ERR_NOMEM, "", "out of memory")
                     : ag_audit_append(s->db,
                                       &(ag_audit_record){.kind = AG_AUDIT_SERVICE,
                                                          .request = req.data,
                                                          .request_len = req.len,
                                                          .decision = dec.data,
                                                          .decision_len = dec.len,
                                                          .outcome = "started_on_damaged_log"},
                                       id, err);
  if (st == AG_OK)
    srv_log_event(s, "started_on_damaged_log", "\"audit_id\":\"%s\"", id);
  ag_buf_free(&req);
  ag_buf_free(&dec);
  return st;
}

/* ---- life cycle ---- */

ag_status ag_server_create(const ag_server_config *cfg, ag_server **out, ag_error *err) {
  *out = NULL;
  char default_db[4096];
  ag_status dst = cfg->db_path ? AG_OK : ag_audit_default_path(default_db, sizeof default_db, err);
  if (dst != AG_OK)
    return dst;
  ag_server *s = calloc(1, sizeof *s);
  if (!s)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  s->cfg = *cfg;
  s->listen = strdup(cfg->listen ? cfg->listen : AG_SERVER_DEFAULT_LISTEN);
  s->db_path = strdup(cfg->db_path ? cfg->db_path : default_db);
  s->keys_db_path = dup_or_null(cfg->keys_db_path);
  s->rules_dir = dup_or_null(cfg->rules_dir);
  s->policy_path = dup_or_null(cfg->policy_path);
  s->lists_dir = dup_or_null(cfg->lists_dir);
  bool paths_ok = true;
  if (cfg->n_list_paths) {
    s->list_paths = calloc(cfg->n_list_paths, sizeof *s->list_paths);
    for (size_t i = 0; s->list_paths && i < cfg->n_list_paths; i++)
      paths_ok &= (s->list_paths[i] = strdup(cfg->list_paths[i])) != NULL;
    paths_ok &= s->list_paths != NULL;
  }
  /* the copied configuration points at our own copies */
  s->cfg.listen = s->listen;
  s->cfg.db_path = s->db_path;
  s->cfg.keys_db_path = s->keys_db_path;
  s->cfg.rules_dir = s->rules_dir;
  s->cfg.policy_path = s->policy_path;
  s->cfg.lists_dir = s->lists_dir;
  s->cfg.list_paths = (const char *const *)s->list_paths;
  s->max_body = cfg->max_body ? cfg->max_body : (size_t)AG_SERVER_DEFAULT_MAX_BODY;
  s->timeout_s = cfg->timeout_s ? cfg->timeout_s : AG_SERVER_DEFAULT_TIMEOUT;
  s->auth_ttl_ms = cfg->auth_cache_ttl_s < 0    ? 0
                   : cfg->auth_cache_ttl_s == 0 ? (int64_t)AG_SERVER_DEFAULT_AUTH_TTL * 1000
                                                : (int64_t)cfg->auth_cache_ttl_s * 1000;
  if (!s->cfg.drain_timeout_s)
    s->cfg.drain_timeout_s = AG_SERVER_DEFAULT_DRAIN;
  if (!s->cfg.max_connections)
    s->cfg.max_connections = AG_SERVER_DEFAULT_MAX_CONNECTIONS;
  pthread_mutex_init(&s->snap_mu, NULL);
  pthread_mutex_init(&s->pool_mu, NULL);
  pthread_mutex_init(&s->auth_mu, NULL);
  pthread_mutex_init(&s->drain_mu, NULL);
  pthread_mutex_init(&s->alog_mu, NULL);
  pthread_cond_init(&s->drain_cv, NULL);
  pthread_mutex_init(&s->writer.mu, NULL);
  pthread_cond_init(&s->writer.cv, NULL);
  srv_warm_init(s);
  srv_auth_init(s); /* without SHA-256, keys are checked but not cached */
  atomic_init(&s->draining, false);
  atomic_init(&s->audit_ok, true);
  if (!s->listen || !s->db_path || !paths_ok || (cfg->keys_db_path && !s->keys_db_path) ||
      (cfg->rules_dir && !s->rules_dir) || (cfg->lists_dir && !s->lists_dir) ||
      (cfg->policy_path && !s->policy_path)) {
    ag_server_free(s);
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  }
  /* a bad address is refused before anything is opened or created */
  ag_status st = srv_http_resolve(s->listen, &s->listen_addr, &s->listen_v6, err);
  if (st == AG_OK)
    st = srv_snapshot_load(&s->cfg, &s->snap, err);
  ag_audit_start_report start = {.damaged = false};
  if (st == AG_OK)
    st = check_log(s, &start, err);
  if (st == AG_OK && start.new_log) /* created only once the check has passed: 0600 */
    st = ag_audit_prepare_path(s->db_path, false, err);
  if (st == AG_OK)
    st = ag_audit_open(s->db_path, NULL, &s->db, err);
  if (st == AG_OK && start.damaged)
    st = record_damaged_start(s, &start, err);
  if (st == AG_OK)
    st = ag_audit_head_save(s->db, err);
  if (st == AG_OK) /* searches stay exact without it, only slower */
    st = ag_audit_index_start(s->db, err);
  if (st == AG_OK) /* one read of the reviews; each new one is noted as it is made */
    st = ag_remember_load(s->db,
                          cfg->remember_max_age_days == 0 ? AG_REMEMBER_MAX_AGE
                          : cfg->remember_max_age_days < 0 ? 0
                                                           : cfg->remember_max_age_days,
                          &s->remembered, err);
  if (st == AG_OK)
    s->snap->data.remembered = s->remembered;
  /* the party registry beside the log; without it the rest still serves,
   * and the log says why */
  ag_error perr;
  ag_error_clear(&perr);
  if (st == AG_OK && ag_parties_open(s->db_path, &s->parties, &perr) != AG_OK) {
    s->parties = NULL;
    char reason[800];
    json_escape(perr.reason, reason, sizeof reason);
    srv_log_event(s, "party_registry_off", "\"reason\":%s", reason);
  }
  /* the webhook is configured to be used: one that cannot be is refused */
  if (st == AG_OK && (cfg->webhook_url || cfg->webhook_secret_file)) {
    ag_webhook_options wo = {.url = cfg->webhook_url,
                             .secret_file = cfg->webhook_secret_file,
                             .log_path = s->db_path,
                             .retention_days =
                                 cfg->webhook_retention_days == 0  ? AG_WEBHOOK_RETENTION_DAYS
                                 : cfg->webhook_retention_days < 0 ? 0
                                                                   : cfg->webhook_retention_days,
                             .on_prune = webhook_pruned,
                             .on_prune_ctx = s};
    st = ag_webhook_open(&wo, &s->webhook, err);
  }
  if (st == AG_OK && s->keys_db_path) {
    ag_audit_options ko = {.flags = AG_AUDIT_OPEN_EXISTING};
    st = ag_audit_open(s->keys_db_path, &ko, &s->keys_db, err);
    if (st != AG_OK && !strcmp(err->field, "db"))
      snprintf(err->field, sizeof err->field, "keys_db");
  } else {
    s->keys_db = s->db;
  }
  if (st != AG_OK) {
    ag_server_free(s);
    return st;
  }
  *out = s;
  return AG_OK;
}

ag_status ag_server_listen(ag_server *s, ag_error *err) {
  ag_status st = srv_writer_start(s, err);
  if (st == AG_OK && (st = srv_batches_start(s, err)) != AG_OK)
    srv_writer_stop(s);
  if (st == AG_OK)
    srv_warm_start(s);
  if (st == AG_OK && (st = srv_http_start(s, err)) != AG_OK) {
    srv_warm_stop(s);
    srv_batches_stop(s);
    srv_writer_stop(s);
  }
  if (st == AG_OK) {
    srv_snapshot *snap = srv_snapshot_get(s);
    const char *colon = strrchr(s->listen, ':');
    char db[300];
    json_escape(s->db_path, db, sizeof db);
    /* no lists (--no-lists): null, as /readyz and /v1/lists say it */
    char lists[sizeof snap->lists_version + 2];
    if (snap->lists_version[0])
      snprintf(lists, sizeof lists, "\"%s\"", snap->lists_version);
    else
      snprintf(lists, sizeof lists, "null");
    srv_log_event(s, "listening",
                  "\"address\":\"%.*s:%u\",\"port\":%u,\"db\":%s,\"rules_version\":\"%s\","
                  "\"lists_version\":%s",
                  (int)(colon - s->listen), s->listen, s->port, s->port, db, snap->rules->version,
                  lists);
    srv_snapshot_put(snap);
  }
  return st;
}

uint16_t ag_server_port(const ag_server *s) {
  return s->port;
}

ag_audit_db *ag_server_keys_db(ag_server *s) {
  return s->keys_db;
}

ag_status ag_server_reload(ag_server *s, ag_error *err) {
  return ag_server_reload_by(s, "process", "", err);
}

ag_status ag_server_reload_by(ag_server *s, const char *actor, const char *client,
                              ag_error *err) {
  srv_snapshot *fresh = NULL;
  ag_error e;
  ag_error_clear(&e);
  ag_status st = srv_snapshot_load(&s->cfg, &fresh, &e);
  srv_auth_clear(s);
  /* a change of the lists in force is an audit record, written before the
   * new lists answer anything; unrecorded, the old snapshot stays */
  char reload_id[AG_AUDIT_ID_MAX] = "";
  if (!s->cfg.no_lists) {
    srv_snapshot *old = srv_snapshot_get(s);
    char *id = reload_id;
    ag_error re;
    ag_error_clear(&re);
    ag_status rst = ag_pipeline_lists_reload_record(s->db, old->lists, st ? NULL : fresh->lists,
                                                    st ? e.reason : NULL, actor, client, id, &re);
    srv_snapshot_put(old);
    if (rst != AG_OK && st == AG_OK) {
      srv_snapshot_put(fresh);
      fresh = NULL;
      e = re;
      st = rst;
    }
  }
  if (st != AG_OK) {
    atomic_fetch_add_explicit(&s->metrics.reloads_failed, 1, memory_order_relaxed);
    char field[300], reason[800];
    json_escape(e.field, field, sizeof field);
    json_escape(e.reason, reason, sizeof reason);
    srv_log_event(s, "reload_failed", "\"code\":\"%s\",\"field\":%s,\"reason\":%s,%s",
                  ag_status_name(st), field, reason, "\"kept\":\"the data in force\"");
    if (err)
      *err = e;
    return st;
  }
  fresh->data.remembered = s->remembered;
  pthread_mutex_lock(&s->snap_mu);
  srv_snapshot *old = s->snap;
  s->snap = fresh;
  pthread_mutex_unlock(&s->snap_mu);
  /* the registry against what the reload added or changed */
  if (!s->cfg.no_lists)
    srv_parties_rescreen(s, old, fresh, reload_id, actor, client);
  srv_snapshot_put(old);
  atomic_fetch_add_explicit(&s->metrics.reloads_ok, 1, memory_order_relaxed);
  srv_log_event(s, "reloaded", "\"rules_version\":\"%s\",\"lists_version\":\"%s\"",
                fresh->rules->version, fresh->lists_version);
  return AG_OK;
}

bool ag_server_shutdown(ag_server *s) {
  atomic_store(&s->draining, true);
  /* first: requests waiting for the open queue's read are answered, so
   * the drain does not wait for the read */
  srv_warm_stop(s);
  bool drained = true;
  if (s->ndaemons) {
    srv_http_quiesce(s); /* no new connections */
    srv_log_event(s, "draining", NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->cfg.drain_timeout_s;
    pthread_mutex_lock(&s->drain_mu);
    while (s->active > 0 && drained)
      drained = pthread_cond_timedwait(&s->drain_cv, &s->drain_mu, &until) != ETIMEDOUT;
    int64_t left = s->active;
    pthread_mutex_unlock(&s->drain_mu);
    if (!drained)
      srv_log_event(s, "drain_timeout", "\"requests_left\":%lld", (long long)left);
  }
  /* Whatever is queued is still decided and written; nothing is queued
   * after this. */
  srv_batches_stop(s);
  srv_writer_stop(s);
  srv_http_stop(s);
  /* export threads end once their connections are gone */
  pthread_mutex_lock(&s->drain_mu);
  while (s->exports > 0)
    pthread_cond_wait(&s->drain_cv, &s->drain_mu);
  pthread_mutex_unlock(&s->drain_mu);
  if (s->keys_db && s->keys_db != s->db)
    ag_audit_close(s->keys_db);
  ag_audit_close(s->db);
  s->db = s->keys_db = NULL;
  srv_log_event(s, "stopped", "\"drained\":%s", drained ? "true" : "false");
  ag_server_flush_log(s);
  return drained;
}

void ag_server_free(ag_server *s) {
  if (!s)
    return;
  if (s->db)
    ag_server_shutdown(s);
  srv_snapshot_put(s->snap);
  ag_remember_free(s->remembered);
  ag_webhook_close(s->webhook, SRV_WEBHOOK_DRAIN_S);
  ag_parties_close(s->parties);
  for (srv_worker *w = s->pool, *next; w; w = next) {
    next = w->next;
    ag_pipeline_worker_free(w->pl);
    ag_audit_packer_free(w->packer);
    free(w);
  }
  srv_auth_free(s);
  pthread_mutex_destroy(&s->snap_mu);
  pthread_mutex_destroy(&s->pool_mu);
  pthread_mutex_destroy(&s->auth_mu);
  pthread_mutex_destroy(&s->drain_mu);
  pthread_mutex_destroy(&s->alog_mu);
  pthread_cond_destroy(&s->drain_cv);
  pthread_mutex_destroy(&s->writer.mu);
  pthread_cond_destroy(&s->writer.cv);
  srv_warm_free(s);
  free(s->listen);
  free(s->db_path);
  free(s->keys_db_path);
  free(s->rules_dir);
  free(s->policy_path);
  free(s->lists_dir);
  for (size_t i = 0; s->list_paths && i < s->cfg.n_list_paths; i++)
    free(s->list_paths[i]);
  free(s->list_paths);
  free(s);
}

/* ---- one request without the network ---- */

ag_status ag_server_handle(ag_server *s, const char *method, const char *target,
                           const char *authorization, const char *content_type, const char *body,
                           size_t len, unsigned *status, ag_buf *out) {
  if (!s || !s->db)
    return AG_ERR_INTERNAL;
  srv_req *r = malloc(sizeof *r);
  if (!r)
    return AG_ERR_NOMEM;
  srv_req_init(r, s);
  snprintf(r->method, sizeof r->method, "%s", method ? method : "");
  const char *q = target ? strchr(target, '?') : NULL;
  r->path = target ? strndup(target, q ? (size_t)(q - target) : strlen(target)) : strdup("");
  r->authorization = dup_or_null(authorization);
  r->content_type = dup_or_null(content_type);
  snprintf(r->client, sizeof r->client, "in-process");
  ag_status st = r->path ? AG_OK : AG_ERR_NOMEM;
  if (st == AG_OK) {
    if (q)
      srv_req_parse_query(r, q + 1);
    r->have_length = true;
    r->content_length = len;
    if (srv_begin(r)) {
      if (len && !srv_body(r, body, len))
        r->body_too_large = true;
      if (srv_dispatch(r) == SRV_AUDIT) {
        srv_audit_sync(s, r);
        srv_finish(r);
      }
    }
    *status = r->status;
    ag_buf_append(out, r->out.data ? r->out.data : "", r->out.len);
    srv_metrics_request(&s->metrics, r->route, r->status, srv_now_ns() - r->start_ns);
    if (out->failed)
      st = AG_ERR_NOMEM;
  }
  srv_req_free(r);
  free(r);
  return st;
}
