/*
 * checks.c - the determinations: POST /v1/checks, POST /v1/checks:batch,
 * POST /v1/screenings and POST /v1/screenings:batch, as thin adapters over
 * the pipeline
 * (acegate/pipeline.h) the command line uses.
 *
 * The pipeline decodes, screens, decides and encodes; this file adds what
 * is HTTP's own: the batch envelopes {"transactions": [...]} and
 * {"screenings": [...]}, packing the
 * decisions for the log on the HTTP thread, and the answer, which is the
 * stored decision with its audit id spliced in front, so GET
 * /v1/checks/{id} can return the very same bytes from the log
 * (15 CFR 762.2).
 */
#include "acegate/parties.h"
#include "server_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one item through the pipeline; its request bytes are appended to
 * r->reqtext and its answer to r->dec. */
static void run_item(srv_req *r, srv_worker *w, ag_audit_kind kind, const char *text, size_t len,
                     srv_item *it) {
  /* a check's item.classification_id is looked up in the service's log */
  ag_pipeline_data data = r->snap->data;
  data.audit = r->srv->db;
  const ag_pipeline_data *d = &data;
  ag_status st =
      kind == AG_AUDIT_SCREENING        ? ag_pipeline_screening(d, w->pl, text, len, &r->dec, &it->res)
      : kind == AG_AUDIT_CLASSIFICATION ? ag_pipeline_classification(d, w->pl, text, len, &r->dec,
                                                                     &it->res)
                                        : ag_pipeline_check(d, w->pl, text, len, &r->dec, &it->res);
  if (st != AG_OK)
    return;
  it->req_off = r->reqtext.len;
  it->req_len = len;
  ag_buf_append(&r->reqtext, text ? text : "", len);
}

/* Compresses each decided item's decision for the log here, on the HTTP
 * thread, so the audit writer, which every decision waits for, need not
 * (it still does it for an item this fails for). */
static void pack_decisions(srv_req *r, srv_worker *w) {
  for (size_t i = 0; i < r->nitems; i++) {
    srv_item *it = &r->items[i];
    it->packed_off = r->packed.len;
    it->packed_len = 0;
    ag_error err;
    if (w->packer && it->res.st == AG_OK)
      ag_audit_pack(r->srv->db, w->packer, r->dec.data + it->res.off, it->res.len, &r->packed,
                    &it->packed_len, &err);
  }
}

/* One audit record per decided item. Pointers into r->reqtext, r->dec and
 * r->packed are taken only now, when no buffer grows any more. */
static bool build_records(srv_req *r, srv_worker *w) {
  size_t n = 0;
  for (size_t i = 0; i < r->nitems; i++)
    n += r->items[i].res.st == AG_OK;
  r->nrecs = n;
  if (n == 0)
    return true;
  if (n == 1) {
    r->recs = &r->one_rec;
    r->ids = &r->one_id;
  } else {
    r->recs = calloc(n, sizeof *r->recs);
    r->ids = calloc(n, sizeof *r->ids);
    if (!r->recs || !r->ids)
      return false;
  }
  pack_decisions(r, w);
  size_t k = 0;
  for (size_t i = 0; i < r->nitems; i++) {
    srv_item *it = &r->items[i];
    if (it->res.st != AG_OK)
      continue;
    it->rec = k;
    ag_audit_record *rec = &r->recs[k++];
    ag_pipeline_record(&r->snap->data, &it->res, r->reqtext.data + it->req_off, it->req_len,
                       r->dec.data + it->res.off, r->key.id, r->client, rec);
    if (it->packed_len && !r->packed.failed) {
      rec->packed = r->packed.data + it->packed_off;
      rec->packed_len = it->packed_len;
    }
  }
  return true;
}

static void count_decision(srv_req *r, const srv_item *it) {
  srv_metrics *m = &r->srv->metrics;
  int k = it->res.outcome_index;
  if (r->route == R_CLASSIFICATIONS) {
    return; /* no outcome counter: a classification is not a determination */
  } else if (r->route == R_SCREENINGS || r->route == R_SCREENINGS_BATCH) {
    if (k >= 0 && k < 3)
      atomic_fetch_add_explicit(&m->screenings[k], 1, memory_order_relaxed);
  } else if (k >= 0 && k < AG_OUTCOME_COUNT) {
    atomic_fetch_add_explicit(&m->decisions[k], 1, memory_order_relaxed);
  }
}

/* What follows a recorded item (ag_pipeline_recorded): the party of a
 * check made with a ref joins the registry, a new review-queue item is
 * posted to the webhook. */
static void after_record(srv_req *r, const ag_pipeline_data *d, const srv_item *it) {
  ag_error err;
  if (ag_pipeline_recorded(d, &it->res, r->ids[it->rec], r->dec.data + it->res.off, &err) !=
      AG_OK)
    srv_log_event(r->srv, "parties_failed",
                  "\"reason\":\"a party of a check could not be noted\"");
}

static ag_pipeline_data recorded_data(const srv_req *r) {
  ag_pipeline_data d = r->snap->data;
  d.parties = r->srv->parties;
  d.webhook = r->srv->webhook;
  return d;
}

/* The answer for a single check or screening. */
static void finish_one(srv_req *r) {
  srv_item *it = &r->items[0];
  ag_buf_reset(&r->out);
  ag_pipeline_splice_audit_id(&r->out, r->ids[it->rec], r->dec.data + it->res.off, it->res.len);
  r->status = 200;
  r->content_type_out = "application/json";
  count_decision(r, it);
  ag_pipeline_data d = recorded_data(r);
  after_record(r, &d, it);
}

static srv_next no_memory(srv_req *r) {
  srv_error(r, 503, "out_of_memory", NULL, "out of memory");
  return SRV_DONE;
}

/* A single check or screening: the body is the request. */
static srv_next single(srv_req *r, ag_audit_kind kind) {
  ag_server *s = r->srv;
  r->snap = srv_snapshot_get(s);
  if (kind == AG_AUDIT_SCREENING && !r->snap->lists) {
    srv_error(r, 503, "lists_unavailable", NULL, "the service runs without screening lists");
    return SRV_DONE;
  }
  r->items = &r->one;
  r->nitems = 1;
  srv_worker *w = srv_worker_get(s);
  if (!w)
    return no_memory(r);
  run_item(r, w, kind, r->body.data, r->body.len, &r->one);
  bool built = r->one.res.st == AG_OK && !r->reqtext.failed && !r->dec.failed &&
               build_records(r, w);
  srv_worker_put(s, w);
  if (r->one.res.st != AG_OK) {
    srv_fail(r, &r->one.res.err);
    return SRV_DONE;
  }
  if (!built)
    return no_memory(r);
  r->finish = finish_one;
  return SRV_AUDIT;
}

srv_next srv_h_check(srv_req *r) {
  return single(r, AG_AUDIT_CHECK);
}

srv_next srv_h_screening(srv_req *r) {
  return single(r, AG_AUDIT_SCREENING);
}

srv_next srv_h_classification(srv_req *r) {
  return single(r, AG_AUDIT_CLASSIFICATION);
}

/* ---- batch ---- */

static void finish_batch(srv_req *r) {
  ag_buf_reset(&r->out);
  size_t decided = 0;
  ag_pipeline_data d = recorded_data(r);
  /* the batch's parties are noted in one transaction */
  bool in_tx = d.parties && ag_parties_begin(d.parties, &(ag_error){.status = AG_OK}) == AG_OK;
  ag_buf_puts(&r->out, "{\"results\":[");
  for (size_t i = 0; i < r->nitems; i++) {
    srv_item *it = &r->items[i];
    if (i)
      ag_buf_putc(&r->out, ',');
    if (it->res.st == AG_OK) {
      ag_pipeline_splice_audit_id(&r->out, r->ids[it->rec], r->dec.data + it->res.off,
                                  it->res.len);
      count_decision(r, it);
      after_record(r, &d, it);
      decided++;
    } else {
      ag_json_encode_error(&it->res.err, &r->out);
    }
  }
  ag_error err;
  if (in_tx && ag_parties_end(d.parties, &err) != AG_OK)
    srv_log_event(r->srv, "parties_failed",
                  "\"reason\":\"the parties of a batch could not be noted\"");
  ag_buf_printf(&r->out, "],\"decided\":%zu,\"rejected\":%zu}", decided, r->nitems - decided);
  r->status = 200;
  r->content_type_out = "application/json";
}

srv_next srv_h_batch(srv_req *r) {
  json_t *root = srv_load_json(r);
  if (!root)
    return SRV_DONE;
  srv_next next = SRV_DONE;
  json_t *list = NULL;
  const char *key;
  json_t *v;
  /* one envelope per contract: {"transactions": [...]}, {"screenings": [...]} */
  ag_audit_kind kind = r->route == R_SCREENINGS_BATCH ? AG_AUDIT_SCREENING : AG_AUDIT_CHECK;
  const char *member = kind == AG_AUDIT_SCREENING ? "screenings" : "transactions";
  if (!json_is_object(root)) {
    srv_error(r, 400, "invalid_input", NULL, "the batch must be a JSON object {\"%s\": [...]}",
              member);
    goto out;
  }
  json_object_foreach(root, key, v) {
    if (strcmp(key, member) != 0) {
      srv_error(r, 400, "invalid_input", key, "unknown field");
      goto out;
    }
    list = v;
  }
  if (!json_is_array(list)) {
    srv_error(r, 400, "invalid_input", member,
              list ? "must be an array of %s" : "is required", member);
    goto out;
  }
  size_t n = json_array_size(list);
  if (n == 0 || n > AG_SERVER_BATCH_MAX) {
    srv_error(r, n ? 413 : 400, n ? "too_large" : "invalid_input", member,
              "holds %zu %s; a batch holds 1 to %d", n, member, AG_SERVER_BATCH_MAX);
    goto out;
  }
  ag_server *s = r->srv;
  r->snap = srv_snapshot_get(s);
  if (kind == AG_AUDIT_SCREENING && !r->snap->lists) {
    srv_error(r, 503, "lists_unavailable", NULL, "the service runs without screening lists");
    goto out;
  }
  r->items = calloc(n, sizeof *r->items);
  srv_worker *w = r->items ? srv_worker_get(s) : NULL;
  if (!w) {
    next = no_memory(r);
    goto out;
  }
  r->nitems = n;
  for (size_t i = 0; i < n; i++) {
    srv_item *it = &r->items[i];
    /* Each transaction is decoded from its own compact JSON text, which is
     * also what its audit record holds as the request. */
    char *text = json_dumps(json_array_get(list, i), JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
      it->res.st = ag_error_set(&it->res.err, AG_ERR_NOMEM, "", "out of memory");
    } else {
      run_item(r, w, kind, text, strlen(text), it);
      free(text);
    }
    if (it->res.st != AG_OK) {
      ag_error *e = &it->res.err;
      char field[sizeof e->field];
      snprintf(field, sizeof field, "%s[%zu]%s%.100s", member, i, e->field[0] ? "." : "",
               e->field);
      snprintf(e->field, sizeof e->field, "%s", field);
    }
  }
  bool built = !r->reqtext.failed && !r->dec.failed && build_records(r, w);
  srv_worker_put(s, w);
  if (!built) {
    next = no_memory(r);
    goto out;
  }
  r->finish = finish_batch;
  if (r->nrecs == 0) {
    finish_batch(r); /* nothing was decided, so nothing to record */
    next = SRV_DONE;
  } else {
    next = SRV_AUDIT;
  }
out:
  json_decref(root);
  return next;
}
