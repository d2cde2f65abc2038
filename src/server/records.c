/*
 * records.c - the read side and administration: stored decisions by audit id,
 * paged search and export of the audit log (15 CFR 762.7: records produced
 * on request), the versions and sources of the tables and lists in force,
 * API keys, reload, and the health, readiness and metrics endpoints.
 */
#include "server_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok_json(srv_req *r, unsigned status) {
  r->status = status;
  r->content_type_out = "application/json";
}

/* ---- GET /v1/checks/{id}, /v1/screenings/{id}, /v1/classifications/{id} ---- */

srv_next srv_h_get_record(srv_req *r) {
  ag_server *s = r->srv;
  ag_audit_kind want = r->route == R_CHECK_GET            ? AG_AUDIT_CHECK
                       : r->route == R_CLASSIFICATION_GET ? AG_AUDIT_CLASSIFICATION
                                                          : AG_AUDIT_SCREENING;
  ag_audit_entry *e = NULL;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_audit_get(s->db, r->param, &e, &err);
  if (st == AG_ERR_INPUT || st == AG_ERR_NOTFOUND) {
    srv_error(r, 404, "not_found", "audit_id", "no %s with audit id %.64s",
              ag_audit_kind_name(want), r->param);
    return SRV_DONE;
  }
  if (st != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  /* A key that may not read the whole log sees only its own records; a
   * record it may not see is reported as missing, not as forbidden. */
  bool visible = e->kind == want && (ag_keys_allows(r->key.role, AG_KEYS_ACT_AUDIT_READ) ||
                                     !strcmp(e->key_id, r->key.id));
  if (!visible) {
    srv_error(r, 404, "not_found", "audit_id", "no %s with audit id %.64s",
              ag_audit_kind_name(want), r->param);
  } else {
    ag_buf_reset(&r->out);
    ag_pipeline_splice_audit_id(&r->out, e->id, e->decision, e->decision_len);
    ok_json(r, 200);
  }
  ag_audit_entry_free(e);
  return SRV_DONE;
}

/* ---- GET /v1/audit ---- */

static bool arg_allowed(const char *key, const char *const *allowed) {
  for (; *allowed; allowed++)
    if (!strcmp(key, *allowed))
      return true;
  return false;
}

/* 400 for a query parameter the route does not know (like unknown fields). */
static bool check_args(srv_req *r, const char *const *allowed) {
  if (r->args_overflow) {
    srv_error(r, 400, "invalid_input", NULL, "more than %d query parameters", SRV_ARGS_MAX);
    return false;
  }
  for (size_t i = 0; i < r->nargs; i++) {
    if (!arg_allowed(r->args[i].key, allowed)) {
      srv_error(r, 400, "invalid_input", r->args[i].key, "unknown query parameter");
      return false;
    }
    /* a second value would otherwise be silently ignored */
    for (size_t j = 0; j < i; j++)
      if (!strcmp(r->args[i].key, r->args[j].key)) {
        srv_error(r, 400, "invalid_input", r->args[i].key, "given more than once");
        return false;
      }
  }
  return true;
}


static bool parse_time_arg(srv_req *r, const char *name, bool is_end, int64_t *ms) {
  const char *v = srv_arg(r, name);
  *ms = 0;
  if (!v || !*v)
    return true;
  ag_error err;
  ag_error_clear(&err);
  if (ag_audit_parse_time(v, is_end, ms, name, &err) != AG_OK) {
    srv_fail(r, &err);
    return false;
  }
  return true;
}

srv_next srv_h_audit(srv_req *r) {
  static const char *const allowed[] = {"from",  "to",     "destination", "eccn",  "outcome",
                                        "as_of", "kind",   "cursor",      "limit", "order",
                                        "ref",   "party",  NULL};
  if (!check_args(r, allowed))
    return SRV_DONE;
  ag_audit_query q = {0};
  if (!parse_time_arg(r, "from", false, &q.from_ms) || !parse_time_arg(r, "to", true, &q.to_ms))
    return SRV_DONE;
  q.destination = srv_arg(r, "destination");
  q.eccn = srv_arg(r, "eccn");
  q.outcome = srv_arg(r, "outcome");
  q.as_of = srv_arg(r, "as_of");
  ag_date as_of_day;
  if (q.as_of && !ag_date_parse(q.as_of, strlen(q.as_of), &as_of_day)) {
    srv_error(r, 400, "invalid_input", "as_of", "'%.40s' is not a date (YYYY-MM-DD)", q.as_of);
    return SRV_DONE;
  }
  q.ref = srv_arg(r, "ref");
  ag_error err;
  ag_error_clear(&err);
  if (q.ref && ag_json_check_ref(q.ref, strlen(q.ref), &err) != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  q.cursor = srv_arg(r, "cursor");
  const char *kind = srv_arg(r, "kind"), *limit = srv_arg(r, "limit"), *order = srv_arg(r, "order");
  if (kind && !ag_audit_kind_parse(kind, &q.kind)) {
    srv_error(r, 400, "invalid_input", "kind", "must be check, screening, key or lists");
    return SRV_DONE;
  }
  if (limit) {
    char *end;
    long v = strtol(limit, &end, 10);
    if (limit[0] < '0' || limit[0] > '9' || *end || v < 1 || v > AG_AUDIT_PAGE_MAX) {
      srv_error(r, 400, "invalid_input", "limit", "must be an integer from 1 to %d",
                AG_AUDIT_PAGE_MAX);
      return SRV_DONE;
    }
    q.limit = (size_t)v;
  }
  if (order && !strcmp(order, "newest"))
    q.newest_first = true;
  else if (order && strcmp(order, "oldest") != 0) {
    srv_error(r, 400, "invalid_input", "order", "must be oldest or newest");
    return SRV_DONE;
  }
  /* a party is found by its normalised name, as screening normalises */
  ag_pipeline_party_filter *party = NULL;
  const char *party_name = srv_arg(r, "party");
  if (party_name) {
    if (ag_pipeline_party_filter_new(party_name, &party, &err) != AG_OK) {
      srv_fail(r, &err);
      return SRV_DONE;
    }
    ag_pipeline_party_filter_apply(party, &q);
  }
  ag_audit_page page = {0};
  ag_status st = ag_audit_search(r->srv->db, &q, &page, &err);
  ag_pipeline_party_filter_free(party);
  if (st != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  ag_buf *b = &r->out;
  ag_buf_reset(b);
  ag_buf_puts(b, "{\"records\":[");
  for (size_t i = 0; i < page.count; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_audit_entry_json(b, page.entries[i]);
  }
  ag_buf_puts(b, "],\"next_cursor\":");
  ag_buf_json_cstr(b, page.next_cursor[0] ? page.next_cursor : NULL);
  ag_buf_putc(b, '}');
  ag_audit_page_free(&page);
  ok_json(r, 200);
  return SRV_DONE;
}

/* ---- GET /v1/audit/export ---- */

static int buf_write(void *ctx, const char *data, size_t len) {
  ag_buf *b = ctx;
  ag_buf_append(b, data, len);
  return b->failed ? 1 : 0;
}

srv_next srv_h_export(srv_req *r) {
  static const char *const allowed[] = {"from", "to", "format", NULL};
  if (!check_args(r, allowed))
    return SRV_DONE;
  int64_t from, to;
  if (!parse_time_arg(r, "from", false, &from) || !parse_time_arg(r, "to", true, &to))
    return SRV_DONE;
  if (from && to && from >= to) { /* as GET /v1/audit answers it */
    srv_error(r, 400, "invalid_input", "to", "the range ends before it starts");
    return SRV_DONE;
  }
  const char *f = srv_arg(r, "format");
  ag_audit_format fmt = AG_AUDIT_CSV;
  if (f && !ag_audit_format_parse(f, &fmt)) {
    srv_error(r, 400, "invalid_input", "format", "must be csv or jsonl");
    return SRV_DONE;
  }
  r->content_type_out = fmt == AG_AUDIT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r->status = 200;
  if (r->conn) {
    /* Over HTTP the export streams from its own thread through a pipe, so
     * five years of records never sit in memory. */
    r->export = srv_export_start(r->srv, from, to, fmt);
    if (!r->export)
      srv_error(r, 503, "unavailable", NULL, "cannot start the export");
    return SRV_DONE;
  }
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  if (ag_audit_export(r->srv->db, from, to, fmt, buf_write, &r->out, &err) != AG_OK)
    srv_fail(r, &err);
  return SRV_DONE;
}

/* ---- GET /v1/rules, GET /v1/lists ---- */

srv_next srv_h_rules(srv_req *r) {
  r->snap = srv_snapshot_get(r->srv);
  ag_buf_reset(&r->out);
  ag_json_encode_rules(r->snap->rules, r->snap->rules_source, &r->out);
  ok_json(r, 200);
  return SRV_DONE;
}

srv_next srv_h_lists(srv_req *r) {
  r->snap = srv_snapshot_get(r->srv);
  const ag_screen *l = r->snap->lists;
  ag_buf *b = &r->out;
  ag_buf_reset(b);
  if (!l) {
    ag_buf_puts(b, "{\"version\":null,\"screening\":false,\"lists\":[]}");
    ok_json(r, 200);
    return SRV_DONE;
  }
  const ag_screen_index_info *info = ag_screen_info(l);
  ag_buf_puts(b, "{\"version\":");
  ag_buf_json_cstr(b, r->snap->lists_version);
  ag_buf_puts(b, ",\"screening\":true,\"origin\":");
  ag_buf_json_cstr(b, info->origin);
  ag_buf_puts(b, ",\"built\":");
  ag_buf_json_cstr(b, info->built);
  ag_buf_puts(b, ",\"checksum\":");
  ag_buf_json_cstr(b, info->checksum);
  ag_buf_printf(b, ",\"entries\":%u,\"names\":%u,\"lists\":[", info->entries, info->names);
  for (size_t i = 0; i < ag_screen_list_count(l); i++) {
    const ag_screen_list_info *li = ag_screen_list(l, i);
    if (i)
      ag_buf_putc(b, ',');
    ag_buf_puts(b, "{\"code\":");
    ag_buf_json_cstr(b, li->code);
    ag_buf_puts(b, ",\"name\":");
    ag_buf_json_cstr(b, li->name);
    ag_buf_puts(b, ",\"files\":");
    ag_buf_json_cstr(b, li->files);
    ag_buf_puts(b, ",\"format\":");
    ag_buf_json_cstr(b, li->format);
    ag_buf_puts(b, ",\"date\":");
    ag_buf_json_cstr(b, li->date && *li->date ? li->date : NULL);
    ag_buf_puts(b, ",\"sha256\":");
    ag_buf_json_cstr(b, li->sha256);
    ag_buf_printf(b, ",\"entries\":%u,\"names\":%u}", li->entries, li->names);
  }
  ag_buf_puts(b, "]}");
  ok_json(r, 200);
  return SRV_DONE;
}

/* ---- keys ---- */

static void put_key(ag_buf *b, const ag_keys_info *k) {
  char t[32];
  ag_audit_format_time(k->created_ms, t);
  ag_buf_puts(b, "{\"id\":");
  ag_buf_json_cstr(b, k->id);
  ag_buf_printf(b, ",\"role\":\"%s\",\"name\":", ag_keys_role_name(k->role));
  ag_buf_json_cstr(b, k->name);
  ag_buf_printf(b, ",\"created\":\"%s\",\"revoked\":", t);
  if (k->revoked_ms) {
    ag_audit_format_time(k->revoked_ms, t);
    ag_buf_printf(b, "\"%s\"", t);
  } else {
    ag_buf_puts(b, "null");
  }
}

srv_next srv_h_keys_list(srv_req *r) {
  ag_keys_info *keys = NULL;
  size_t n = 0;
  ag_error err;
  ag_error_clear(&err);
  if (ag_keys_list(r->srv->keys_db, &keys, &n, &err) != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  ag_buf_reset(&r->out);
  ag_keys_list_json(keys, n, &r->out);
  free(keys);
  ok_json(r, 200);
  return SRV_DONE;
}

/* Records a key change made by this request's admin key in the audit log;
 * on failure answers 503 and returns false. */
static bool key_event(srv_req *r, bool revoked, const char *id, const char *role, const char *name,
                      char audit_id[AG_AUDIT_ID_MAX]) {
  ag_error err;
  ag_error_clear(&err);
  if (ag_audit_key_event(r->srv->db, revoked, id, role, name, r->key.id, r->client, audit_id,
                         &err) == AG_OK)
    return true;
  atomic_fetch_add_explicit(&r->srv->metrics.audit_failures, 1, memory_order_relaxed);
  srv_error(r, 503, "audit_unavailable", NULL,
            "the key change could not be recorded in the audit log");
  return false;
}

srv_next srv_h_keys_add(srv_req *r) {
  json_t *root = srv_load_json(r);
  if (!root)
    return SRV_DONE;
  if (!json_is_object(root)) {
    srv_error(r, 400, "invalid_input", NULL, "the body must be a JSON object {\"role\": ...}");
    json_decref(root);
    return SRV_DONE;
  }
  const char *key, *role_s = NULL, *name = NULL;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "role") && json_is_string(v))
      role_s = json_string_value(v);
    else if (!strcmp(key, "name") && json_is_string(v))
      name = json_string_value(v);
    else {
      srv_error(r, 400, "invalid_input", key,
                strcmp(key, "role") != 0 && strcmp(key, "name") != 0 ? "unknown field"
                                                                     : "must be a string");
      json_decref(root);
      return SRV_DONE;
    }
  }
  ag_keys_role role;
  if (!role_s || !ag_keys_role_parse(role_s, &role)) {
    srv_error(r, 400, "invalid_input", "role", "must be checker, auditor, reviewer or admin");
    json_decref(root);
    return SRV_DONE;
  }
  char token[AG_KEYS_TOKEN_MAX];
  ag_keys_info info;
  ag_error err;
  ag_error_clear(&err);
  char audit_id[AG_AUDIT_ID_MAX];
  bool one_db = r->srv->keys_db == r->srv->db;
  /* keys in the log's own database: the key and its record in one
   * transaction, so no crash can leave a key nobody can account for */
  ag_status st = one_db ? ag_keys_add_recorded(r->srv->db, role, name, r->key.id, r->client,
                                               token, &info, audit_id, &err)
                        : ag_keys_add(r->srv->keys_db, role, name, token, &info, &err);
  json_decref(root);
  if (st != AG_OK) {
    if (one_db && (err.status == AG_ERR_DB || err.status == AG_ERR_IO)) {
      atomic_fetch_add_explicit(&r->srv->metrics.audit_failures, 1, memory_order_relaxed);
      srv_error(r, 503, "audit_unavailable", NULL,
                "the key change could not be recorded in the audit log; no key was made");
    } else {
      srv_fail(r, &err);
    }
    return SRV_DONE;
  }
  /* keys kept apart (--keys-db): unrecorded, the key is revoked again and
   * never handed out */
  if (!one_db &&
      !key_event(r, false, info.id, ag_keys_role_name(info.role), info.name, audit_id)) {
    ag_error ignored;
    ag_keys_revoke(r->srv->keys_db, info.id, NULL, &ignored);
    return SRV_DONE;
  }
  ag_buf_reset(&r->out);
  put_key(&r->out, &info);
  ag_buf_puts(&r->out, ",\"audit_id\":");
  ag_buf_json_cstr(&r->out, audit_id);
  ag_buf_puts(&r->out, ",\"key\":");
  ag_buf_json_cstr(&r->out, token);
  ag_buf_putc(&r->out, '}');
  ok_json(r, 201);
  return SRV_DONE;
}

srv_next srv_h_keys_revoke(srv_req *r) {
  ag_error err;
  ag_error_clear(&err);
  bool revoked_now;
  if (ag_keys_revoke(r->srv->keys_db, r->param, &revoked_now, &err) != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  srv_auth_clear(r->srv); /* takes effect now, not when the cache expires */
  /* revoking it again changes nothing, so there is nothing to record */
  char audit_id[AG_AUDIT_ID_MAX] = "";
  if (revoked_now && !key_event(r, true, r->param, NULL, NULL, audit_id))
    return SRV_DONE; /* the key stays revoked: the safe side */
  ag_buf_reset(&r->out);
  ag_buf_puts(&r->out, "{\"id\":");
  ag_buf_json_cstr(&r->out, r->param);
  ag_buf_puts(&r->out, ",\"revoked\":true,\"already_revoked\":");
  ag_buf_puts(&r->out, revoked_now ? "false" : "true");
  ag_buf_puts(&r->out, ",\"audit_id\":");
  ag_buf_json_cstr(&r->out, revoked_now ? audit_id : NULL);
  ag_buf_putc(&r->out, '}');
  ok_json(r, 200);
  return SRV_DONE;
}

/* ---- reload ---- */

static void put_versions(srv_req *r) {
  srv_snapshot *snap = srv_snapshot_get(r->srv);
  ag_buf_reset(&r->out);
  ag_buf_puts(&r->out, "{\"rules_version\":");
  ag_buf_json_cstr(&r->out, snap->rules->version);
  ag_buf_puts(&r->out, ",\"lists_version\":");
  ag_buf_json_cstr(&r->out, snap->lists ? snap->lists_version : NULL);
  ag_buf_putc(&r->out, '}');
  srv_snapshot_put(snap);
}

srv_next srv_h_reload(srv_req *r) {
  /* nothing to send but an empty body or {}: anything else is a mistake */
  size_t n = r->body.len;
  const char *b = r->body.data;
  while (n && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == '\t'))
    n--;
  while (n && (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t'))
    b++, n--;
  if (n && !(n == 2 && b[0] == '{' && b[1] == '}')) {
    srv_error(r, 400, "invalid_input", NULL, "the body must be empty or {}");
    return SRV_DONE;
  }
  ag_error err;
  ag_error_clear(&err);
  if (ag_server_reload_by(r->srv, r->key.id, r->client, &err) != AG_OK) {
    srv_fail(r, &err);
    if (r->status == 400 || r->status == 404)
      r->status = 500; /* the data on disk is at fault, not the request */
    return SRV_DONE;
  }
  put_versions(r);
  ok_json(r, 200);
  return SRV_DONE;
}

/* ---- health, readiness, metrics ---- */

srv_next srv_h_health(srv_req *r) {
  ag_buf_reset(&r->out);
  ag_buf_puts(&r->out, "{\"status\":\"ok\"}");
  ok_json(r, 200);
  return SRV_DONE;
}

srv_next srv_h_ready(srv_req *r) {
  ag_server *s = r->srv;
  const char *why = atomic_load(&s->draining)    ? "draining"
                    : !atomic_load(&s->audit_ok) ? "audit_log_failing"
                                                 : NULL;
  if (why) {
    ag_buf_reset(&r->out);
    ag_buf_printf(&r->out, "{\"status\":\"%s\"}", why);
    ok_json(r, 503);
    return SRV_DONE;
  }
  put_versions(r);
  /* lists older than the maximum age: named always, unready when so
   * configured (docs/api.md) */
  srv_snapshot *snap = srv_snapshot_get(s);
  ag_pipeline_stale_list stale[64];
  size_t n = ag_pipeline_stale_lists(snap->lists, s->cfg.max_list_age_days, ag_date_today(),
                                     stale, 64);
  bool unready = n && s->cfg.stale_lists_unready;
  /* {"status":"ready", followed by the versions and the stale lists */
  ag_buf out;
  ag_buf_init(&out);
  ag_buf_puts(&out, unready ? "{\"status\":\"lists_stale\"," : "{\"status\":\"ready\",");
  ag_buf_append(&out, r->out.data + 1, r->out.len - 2);
  ag_buf_puts(&out, ",\"stale_lists\":[");
  ag_pipeline_stale_json(stale, n < 64 ? n : 64, &out);
  ag_buf_puts(&out, "]}");
  srv_snapshot_put(snap);
  ag_buf_free(&r->out);
  r->out = out;
  ok_json(r, unready ? 503 : 200);
  return SRV_DONE;
}

srv_next srv_h_metrics(srv_req *r) {
  ag_buf_reset(&r->out);
  srv_metrics_render(r->srv, &r->out);
  r->status = 200;
  r->content_type_out = "text/plain; version=0.0.4; charset=utf-8";
  return SRV_DONE;
}
