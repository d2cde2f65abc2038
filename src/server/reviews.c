/*
 * reviews.c - /v1/reviews: record a review, the review queue, one record's
 * reviews. Thin adapters over acegate/review.h; the review is appended to
 * the audit log before it is acknowledged (15 CFR 762.2).
 */
#include "acegate/remember.h"
#include "acegate/review.h"
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

static void answer(srv_req *r, unsigned status, ag_status st, const ag_error *err) {
  if (st != AG_OK) {
    if (st == AG_ERR_DB || st == AG_ERR_IO)
      atomic_fetch_add_explicit(&r->srv->metrics.audit_failures, 1, memory_order_relaxed);
    srv_fail(r, err);
    return;
  }
  r->status = status;
  r->content_type_out = "application/json";
}

/* POST /v1/reviews */
srv_next srv_h_review_add(srv_req *r) {
  ag_error err;
  ag_error_clear(&err);
  char id[AG_AUDIT_ID_MAX];
  ag_buf_reset(&r->out);
  ag_status st = ag_review_submit(r->srv->db, r->body.data, r->body.len, r->key.id, r->client,
                                  &r->out, id, &err);
  /* later checks apply it from now on, without reading the log again */
  if (st == AG_OK)
    ag_remember_note_answer(r->srv->remembered, r->out.data, r->out.len);
  /* the record named in the body is a field of the request, not the resource */
  if (st == AG_ERR_NOTFOUND)
    err.status = st = AG_ERR_INPUT;
  answer(r, 201, st, &err);
  return SRV_DONE;
}

/* Refuses a query parameter not in allowed (n of them) or given twice,
 * and a limit out of range; false once the answer is set. */
static bool query_ok(srv_req *r, const char *const *allowed, size_t n, size_t *limit) {
  for (size_t i = 0; i < r->nargs; i++) {
    bool known = false;
    for (size_t j = 0; j < n; j++)
      known |= !strcmp(r->args[i].key, allowed[j]);
    if (!known) {
      srv_error(r, 400, "invalid_input", r->args[i].key, "unknown query parameter");
      return false;
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(r->args[j].key, r->args[i].key)) {
        srv_error(r, 400, "invalid_input", r->args[i].key, "given more than once");
        return false;
      }
  }
  if (r->args_overflow) {
    srv_error(r, 400, "invalid_input", NULL, "more than %d query parameters", SRV_ARGS_MAX);
    return false;
  }
  *limit = 0;
  const char *l = srv_arg(r, "limit");
  if (l) {
    char *end;
    long v = strtol(l, &end, 10);
    if (*end || end == l || v < 1 || v > AG_AUDIT_PAGE_MAX) {
      srv_error(r, 400, "invalid_input", "limit", "must be a number from 1 to %d",
                AG_AUDIT_PAGE_MAX);
      return false;
    }
    *limit = (size_t)v;
  }
  return true;
}

/* GET /v1/reviews?status=&cursor=&limit= */
srv_next srv_h_review_queue(srv_req *r) {
  static const char *const allowed[] = {"status", "cursor", "limit"};
  size_t limit;
  if (!query_ok(r, allowed, 3, &limit))
    return SRV_DONE;
  /* the read at start was stopped by the shutdown: this request would read
   * the whole log while the service drains */
  if (srv_warm_wanted(r) && atomic_load(&r->srv->warm.state) == (int)SRV_WARM_STOPPED) {
    srv_error(r, 503, "unavailable", NULL, "the service is shutting down");
    return SRV_DONE;
  }
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  ag_status st =
      ag_review_queue(r->srv->db, srv_arg(r, "status"), srv_arg(r, "cursor"), limit, &r->out, &err);
  answer(r, 200, st, &err);
  return SRV_DONE;
}

/* GET /v1/reviews/{audit_id} */
srv_next srv_h_review_get(srv_req *r) {
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  /* the lists in force for this request: the request holds its snapshot
   * until it is freed, so a reload meanwhile frees nothing it reads */
  r->snap = srv_snapshot_get(r->srv);
  ag_status st = ag_review_get(r->srv->db, r->snap->lists,
                               "the service runs without screening lists (--no-lists)", r->param,
                               &r->out, &err);
  answer(r, 200, st, &err);
  return SRV_DONE;
}

/* GET /v1/reviews/remembered?decision=&cursor=&limit= */
srv_next srv_h_review_remembered(srv_req *r) {
  static const char *const allowed[] = {"decision", "cursor", "limit"};
  size_t limit;
  if (!query_ok(r, allowed, 3, &limit))
    return SRV_DONE;
  ag_error err;
  ag_error_clear(&err);
  ag_buf_reset(&r->out);
  srv_snapshot *snap = srv_snapshot_get(r->srv);
  ag_status st = ag_remember_list(r->srv->remembered, snap->lists, srv_arg(r, "decision"),
                                  srv_arg(r, "cursor"), limit, &r->out, &err);
  srv_snapshot_put(snap);
  answer(r, 200, st, &err);
  return SRV_DONE;
}
