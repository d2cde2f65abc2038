/*
 * parties.c - /v1/parties: the party registry (acegate/parties.h) over
 * HTTP, and the re-screening of the registry after a reload. The parties
 * of checks made with a ref join it in the pipeline (ag_pipeline_recorded).
 */
#include "acegate/parties.h"
#include "acegate/webhook.h"
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer(srv_req *r, unsigned status, ag_status st, const ag_error *err) {
  if (st != AG_OK) {
    srv_fail(r, err);
    return;
  }
  r->status = status;
  r->content_type_out = "application/json";
}

static bool registry_ready(srv_req *r) {
  if (r->srv->parties)
    return true;
  srv_error(r, 503, "unavailable", "parties", "the party registry could not be opened");
  return false;
}

/* GET /v1/parties?q=&limit=&cursor= */
srv_next srv_h_parties(srv_req *r) {
  static const char *const allowed[] = {"q", "cursor", "limit"};
  for (size_t i = 0; i < r->nargs; i++) {
    bool known = false;
    for (size_t j = 0; j < 3; j++)
      known |= !strcmp(r->args[i].key, allowed[j]);
    for (size_t j = 0; j < i && known; j++)
      if (!strcmp(r->args[j].key, r->args[i].key)) {
        srv_error(r, 400, "invalid_input", r->args[i].key, "given more than once");
        return SRV_DONE;
      }
    if (!known) {
      srv_error(r, 400, "invalid_input", r->args[i].key, "unknown query parameter");
      return SRV_DONE;
    }
  }
  size_t limit = 0;
  const char *l = srv_arg(r, "limit");
  if (l) {
    char *end;
    long v = strtol(l, &end, 10);
    if (*end || end == l || v < 1 || v > AG_AUDIT_PAGE_MAX) {
      srv_error(r, 400, "invalid_input", "limit", "must be a number from 1 to %d",
                AG_AUDIT_PAGE_MAX);
      return SRV_DONE;
    }
    limit = (size_t)v;
  }
  if (!registry_ready(r))
    return SRV_DONE;
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  ag_status st = ag_parties_list(r->srv->parties, r->srv->db, srv_arg(r, "q"),
                                 srv_arg(r, "cursor"), limit, &r->out, &err);
  answer(r, 200, st, &err);
  return SRV_DONE;
}

/* GET /v1/parties/{ref} */
srv_next srv_h_party_get(srv_req *r) {
  if (!registry_ready(r))
    return SRV_DONE;
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  ag_status st = ag_parties_show(r->srv->parties, r->srv->db, r->param, &r->out, &err);
  answer(r, 200, st, &err);
  return SRV_DONE;
}

/* POST /v1/parties:import?columns=  (text/csv) */
srv_next srv_h_parties_import(srv_req *r) {
  for (size_t i = 0; i < r->nargs; i++)
    if (strcmp(r->args[i].key, "columns") != 0 || (i && !strcmp(r->args[0].key, "columns"))) {
      srv_error(r, 400, "invalid_input", r->args[i].key,
                strcmp(r->args[i].key, "columns") ? "unknown query parameter"
                                                  : "given more than once");
      return SRV_DONE;
    }
  if (!registry_ready(r))
    return SRV_DONE;
  ag_error err;
  ag_error_clear(&err);
  ag_pipeline_csv_columns cols = {.n = 0};
  const char *spec = srv_arg(r, "columns");
  if (spec && ag_pipeline_csv_columns_parse(spec, &cols, &err) != AG_OK) {
    srv_fail(r, &err);
    return SRV_DONE;
  }
  FILE *in = fmemopen(r->body.data ? r->body.data : "", r->body.len, "rb");
  if (!in) {
    ag_pipeline_csv_columns_free(&cols);
    srv_error(r, 503, "out_of_memory", NULL, "out of memory");
    return SRV_DONE;
  }
  ag_buf_reset(&r->out);
  ag_status st = ag_parties_import(r->srv->parties, in, spec ? &cols : NULL, &r->out, &err);
  fclose(in);
  ag_pipeline_csv_columns_free(&cols);
  answer(r, 200, st, &err);
  return SRV_DONE;
}

static void post_item(void *ctx, const char *audit_id, const char *json, size_t len) {
  ag_webhook_post(ctx, audit_id, json, len); /* queued: the delivery thread posts it */
}

void srv_parties_rescreen(ag_server *s, const srv_snapshot *before, const srv_snapshot *after,
                          const char *cause_id, const char *actor, const char *client) {
  if (!s->parties || !after->lists)
    return;
  ag_error err;
  ag_error_clear(&err);
  ag_parties_rescreen_stats stats;
  ag_parties_rescreen_options o = {.db = s->db,
                                   .data = &after->data,
                                   .before = before ? before->lists : NULL,
                                   .cause_audit_id = cause_id,
                                   .key_id = actor,
                                   .client = client,
                                   .on_item = s->webhook ? post_item : NULL,
                                   .on_item_ctx = s->webhook};
  ag_status st = ag_parties_rescreen(s->parties, &o, &stats, &err);
  if (st != AG_OK)
    srv_log_event(s, "rescreen_failed", "\"code\":\"%s\"", ag_status_name(st));
  else if (stats.skipped) /* another replica claimed this very change */
    srv_log_event(s, "rescreen_skipped",
                  "\"entries\":%llu,\"reason\":\"re-screened by another process\"",
                  (unsigned long long)stats.entries);
  else
    srv_log_event(s, "rescreened",
                  "\"parties\":%llu,\"entries\":%llu,\"items\":%llu,\"kept\":%llu,"
                  "\"seconds\":%.3f",
                  (unsigned long long)stats.parties, (unsigned long long)stats.entries,
                  (unsigned long long)stats.items, (unsigned long long)stats.kept, stats.seconds);
}
