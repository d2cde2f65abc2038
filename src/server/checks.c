/*
 * checks.c - the determinations: POST /v1/checks, POST /v1/checks:batch and
 * POST /v1/screenings.
 *
 * A check is decoded by the codec the command line uses (acegate/json.h),
 * screened and decided by ag_check(), and encoded by the same encoder. The
 * request bytes and the decision bytes are the audit record (15 CFR 762.2);
 * the answer is that decision with its audit id spliced in front
 * (srv_splice_audit_id), so GET /v1/checks/{id} can return the very same
 * bytes from the log.
 */
#include "server_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decides one transaction into item; the request and decision bytes are
 * appended to r->reqtext and r->dec. */
static void decide_item(srv_req *r, srv_worker *w, const char *text, size_t len, srv_item *it) {
  const srv_snapshot *snap = r->snap;
  ag_arena_reset(&w->arena);
  ag_txn txn;
  ag_decision d;
  ag_error_clear(&it->err);
  if (!text)
    text = "";
  ag_status st = ag_json_decode_txn(text, len, &txn, &w->arena, &it->err);
  if (st == AG_OK)
    st = ag_check(snap->rules, snap->lists, &txn, &w->scratch, &d, &it->err);
  it->st = st;
  if (st != AG_OK)
    return;
  it->req_off = r->reqtext.len;
  it->req_len = len;
  ag_buf_append(&r->reqtext, text, len);
  it->dec_off = r->dec.len;
  if (w->enc)
    ag_json_encoder_decision(w->enc, &d, &r->dec);
  else
    ag_json_encode_decision(&d, &r->dec);
  it->dec_len = r->dec.len - it->dec_off;
  ag_date_format(txn.as_of, it->as_of);
  snprintf(it->destination, sizeof it->destination, "%s", snap->rules->destinations[d.dest].code);
  snprintf(it->eccn, sizeof it->eccn, "%s", txn.eccn);
  it->outcome = ag_outcome_name(d.outcome);
  it->outcome_index = (int)d.outcome;
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
    if (w->packer && it->st == AG_OK)
      ag_audit_pack(r->srv->db, w->packer, r->dec.data + it->dec_off, it->dec_len, &r->packed,
                    &it->packed_len, &err);
  }
}

/* One audit record per decided item. Pointers into r->reqtext, r->dec and
 * r->packed are taken only now, when no buffer grows any more. */
static bool build_records(srv_req *r, ag_audit_kind kind, srv_worker *w) {
  size_t n = 0;
  for (size_t i = 0; i < r->nitems; i++)
    n += r->items[i].st == AG_OK;
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
  const srv_snapshot *snap = r->snap;
  size_t k = 0;
  for (size_t i = 0; i < r->nitems; i++) {
    srv_item *it = &r->items[i];
    if (it->st != AG_OK)
      continue;
    it->rec = k;
    r->recs[k++] = (ag_audit_record){
        .kind = kind,
        .request = r->reqtext.data + it->req_off,
        .request_len = it->req_len,
        .decision = r->dec.data + it->dec_off,
        .decision_len = it->dec_len,
        .rules_version = snap->rules->version,
        .lists_version = snap->lists_version,
        .key_id = r->key.id,
        .client_addr = r->client,
        .as_of = it->as_of,
        .destination = it->destination,
        .eccn = it->eccn,
        .outcome = it->outcome,
        .packed = it->packed_len && !r->packed.failed ? r->packed.data + it->packed_off : NULL,
        .packed_len = it->packed_len,
    };
  }
  return true;
}

static void count_decision(srv_req *r, const srv_item *it) {
  srv_metrics *m = &r->srv->metrics;
  if (r->route == R_SCREENINGS) {
    if (it->outcome_index >= 0 && it->outcome_index < 3)
      atomic_fetch_add_explicit(&m->screenings[it->outcome_index], 1, memory_order_relaxed);
  } else if (it->outcome_index >= 0 && it->outcome_index < AG_OUTCOME_COUNT) {
    atomic_fetch_add_explicit(&m->decisions[it->outcome_index], 1, memory_order_relaxed);
  }
}

/* The answer for a single check or screening. */
static void finish_one(srv_req *r) {
  srv_item *it = &r->items[0];
  ag_buf_reset(&r->out);
  srv_splice_audit_id(&r->out, r->ids[it->rec], r->dec.data + it->dec_off, it->dec_len);
  r->status = 200;
  r->content_type_out = "application/json";
  count_decision(r, it);
}

static srv_next no_memory(srv_req *r) {
  srv_error(r, 503, "out_of_memory", NULL, "out of memory");
  return SRV_DONE;
}

srv_next srv_h_check(srv_req *r) {
  ag_server *s = r->srv;
  r->snap = srv_snapshot_get(s);
  r->items = &r->one;
  r->nitems = 1;
  srv_worker *w = srv_worker_get(s);
  if (!w)
    return no_memory(r);
  decide_item(r, w, r->body.data, r->body.len, &r->one);
  bool built = r->one.st == AG_OK && !r->reqtext.failed && !r->dec.failed &&
               build_records(r, AG_AUDIT_CHECK, w);
  srv_worker_put(s, w);
  if (r->one.st != AG_OK) {
    srv_fail(r, &r->one.err);
    return SRV_DONE;
  }
  if (!built)
    return no_memory(r);
  r->finish = finish_one;
  return SRV_AUDIT;
}

/* ---- batch ---- */

static void finish_batch(srv_req *r) {
  ag_buf_reset(&r->out);
  size_t decided = 0;
  ag_buf_puts(&r->out, "{\"results\":[");
  for (size_t i = 0; i < r->nitems; i++) {
    srv_item *it = &r->items[i];
    if (i)
      ag_buf_putc(&r->out, ',');
    if (it->st == AG_OK) {
      srv_splice_audit_id(&r->out, r->ids[it->rec], r->dec.data + it->dec_off, it->dec_len);
      count_decision(r, it);
      decided++;
    } else {
      ag_json_encode_error(&it->err, &r->out);
    }
  }
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
  if (!json_is_object(root)) {
    srv_error(r, 400, "invalid_input", NULL,
              "the batch must be a JSON object {\"transactions\": [...]}");
    goto out;
  }
  json_object_foreach(root, key, v) {
    if (strcmp(key, "transactions") != 0) {
      srv_error(r, 400, "invalid_input", key, "unknown field");
      goto out;
    }
    list = v;
  }
  if (!json_is_array(list)) {
    srv_error(r, 400, "invalid_input", "transactions",
              list ? "must be an array of transactions" : "is required");
    goto out;
  }
  size_t n = json_array_size(list);
  if (n == 0 || n > AG_SERVER_BATCH_MAX) {
    srv_error(r, n ? 413 : 400, n ? "too_large" : "invalid_input", "transactions",
              "holds %zu transactions; a batch holds 1 to %d", n, AG_SERVER_BATCH_MAX);
    goto out;
  }
  ag_server *s = r->srv;
  r->snap = srv_snapshot_get(s);
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
      ag_error_set(&it->err, AG_ERR_NOMEM, "", "out of memory");
      it->st = AG_ERR_NOMEM;
    } else {
      decide_item(r, w, text, strlen(text), it);
      free(text);
    }
    if (it->st != AG_OK) {
      char field[sizeof it->err.field];
      snprintf(field, sizeof field, "transactions[%zu]%s%.100s", i, it->err.field[0] ? "." : "",
               it->err.field);
      snprintf(it->err.field, sizeof it->err.field, "%s", field);
    }
  }
  bool built = !r->reqtext.failed && !r->dec.failed && build_records(r, AG_AUDIT_CHECK, w);
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

/* ---- screening ---- */

static const char *const screening_outcomes[] = {"NO_MATCH", "POSSIBLE_MATCH", "CONFIDENT_MATCH"};

srv_next srv_h_screening(srv_req *r) {
  ag_server *s = r->srv;
  json_t *root = srv_load_json(r);
  if (!root)
    return SRV_DONE;
  srv_next next = SRV_DONE;
  ag_screen_request q = {0};
  const char *key;
  json_t *v;
  if (!json_is_object(root)) {
    srv_error(r, 400, "invalid_input", NULL, "the screening must be a JSON object");
    goto out;
  }
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "name")) {
      if (!json_is_string(v)) {
        srv_error(r, 400, "invalid_input", "name", "must be a string");
        goto out;
      }
      q.name = json_string_value(v);
      q.len = json_string_length(v);
    } else if (!strcmp(key, "country")) {
      if (!json_is_string(v) && !json_is_null(v)) {
        srv_error(r, 400, "invalid_input", "country", "must be a string");
        goto out;
      }
      if (json_is_string(v) && json_string_length(v) == 0) {
        srv_error(r, 400, "invalid_input", "country",
                  "must not be empty (leave it out, or null, for no country)");
        goto out;
      }
      q.country = json_string_value(v);
    } else if (!strcmp(key, "max_matches")) {
      json_int_t m = json_is_integer(v) ? json_integer_value(v) : 0;
      if (m < 1 || m > AG_SCREEN_MATCHES_MAX) {
        srv_error(r, 400, "invalid_input", "max_matches", "must be an integer from 1 to %d",
                  AG_SCREEN_MATCHES_MAX);
        goto out;
      }
      q.max_matches = (size_t)m;
    } else if (!strcmp(key, "min_score")) {
      double m = json_is_number(v) ? json_number_value(v) : -1;
      if (m < AG_SCREEN_POSSIBLE || m > 1) {
        srv_error(r, 400, "invalid_input", "min_score", "must be a number from %.2f to 1",
                  AG_SCREEN_POSSIBLE);
        goto out;
      }
      q.min_score = m;
    } else {
      srv_error(r, 400, "invalid_input", key, "unknown field");
      goto out;
    }
  }
  if (!q.name) {
    srv_error(r, 400, "invalid_input", "name", "is required");
    goto out;
  }
  r->snap = srv_snapshot_get(s);
  if (!r->snap->lists) {
    srv_error(r, 503, "lists_unavailable", NULL, "the service runs without screening lists");
    goto out;
  }
  srv_worker *w = srv_worker_get(s);
  if (!w) {
    next = no_memory(r);
    goto out;
  }
  ag_screen_result *res = &w->scratch.results[0];
  srv_item *it = &r->one;
  r->items = it;
  r->nitems = 1;
  ag_error_clear(&it->err);
  it->st = ag_screen_query_ex(r->snap->lists, &q, res, &it->err);
  if (it->st != AG_OK) {
    srv_worker_put(s, w);
    srv_fail(r, &it->err);
    goto out;
  }
  ag_screen_level best = AG_SCREEN_LEVEL_NONE;
  for (size_t i = 0; i < res->count; i++)
    if (res->matches[i].level > best)
      best = res->matches[i].level;
  ag_buf *b = &r->dec;
  it->dec_off = 0;
  ag_buf_puts(b, "{\"name\":");
  ag_buf_json_str(b, q.name, q.len);
  ag_buf_puts(b, ",\"country\":");
  if (q.country)
    ag_buf_json_str(b, q.country, strlen(q.country));
  else
    ag_buf_puts(b, "null");
  ag_buf_puts(b, ",\"normalized\":");
  ag_buf_json_str(b, res->normalized ? res->normalized : "",
                  res->normalized ? strlen(res->normalized) : 0);
  ag_buf_printf(b, ",\"outcome\":\"%s\",\"matches\":[", screening_outcomes[best]);
  for (size_t i = 0; i < res->count; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_screen_match_json(&res->matches[i], true, b);
  }
  ag_buf_puts(b, "],\"lists_version\":");
  ag_buf_json_str(b, r->snap->lists_version, strlen(r->snap->lists_version));
  ag_buf_putc(b, '}');
  it->dec_len = b->len;
  it->req_off = 0;
  it->req_len = r->body.len;
  ag_buf_append(&r->reqtext, r->body.data ? r->body.data : "", r->body.len);
  it->outcome = screening_outcomes[best];
  it->outcome_index = (int)best;
  bool built = !r->reqtext.failed && !r->dec.failed && build_records(r, AG_AUDIT_SCREENING, w);
  srv_worker_put(s, w);
  if (!built) {
    next = no_memory(r);
    goto out;
  }
  r->finish = finish_one;
  next = SRV_AUDIT;
out:
  json_decref(root);
  return next;
}
