/*
 * search.c - finding records in the audit log by party name: a record
 * matches when a party it names (end_user, consignee,
 * intermediate_consignee, purchaser, or a screening's name) normalises to
 * the same words as the name searched for, as screening normalises
 * (acegate/screen.h), so "HIKVISION Digital Tech." finds "Hikvision
 * Digital Technology Co., Ltd." and the other way round.
 *
 * The names are read back from each record's request, the bytes the hash
 * chain covers, with the decoders that accepted them.
 */
#include "acegate/pipeline.h"

#include <stdlib.h>
#include <string.h>

struct ag_pipeline_party_filter {
  ag_buf want; /* the normalised name searched for */
  ag_buf got;
  ag_arena arena;
  ag_txn txn;
  ag_screening q;
};

ag_status ag_pipeline_party_filter_new(const char *name, ag_pipeline_party_filter **out,
                                       ag_error *err) {
  *out = NULL;
  ag_pipeline_party_filter *f = calloc(1, sizeof *f);
  if (!f)
    return ag_error_set(err, AG_ERR_NOMEM, "party", "out of memory");
  ag_buf_init(&f->want);
  ag_buf_init(&f->got);
  ag_arena_init(&f->arena, 4096);
  ag_status st = ag_screen_normalize(name, strlen(name), &f->want, err);
  if (st == AG_OK && (f->want.failed || f->want.len == 0))
    st = ag_error_set(err, AG_ERR_INPUT, "party", "has no words to search for");
  if (st != AG_OK) {
    if (err && !strcmp(err->field, "name"))
      snprintf(err->field, sizeof err->field, "party");
    ag_pipeline_party_filter_free(f);
    return st;
  }
  *out = f;
  return AG_OK;
}

static bool same_party(ag_pipeline_party_filter *f, const char *name, size_t len) {
  ag_buf_reset(&f->got);
  ag_error err;
  return name && ag_screen_normalize(name, len, &f->got, &err) == AG_OK && !f->got.failed &&
         f->got.len == f->want.len && !memcmp(f->got.data, f->want.data, f->want.len);
}

static bool match(void *ctx, const ag_audit_entry *e) {
  ag_pipeline_party_filter *f = ctx;
  ag_error err;
  ag_arena_reset(&f->arena);
  if (e->kind == AG_AUDIT_SCREENING)
    return ag_json_decode_screening(e->request, e->request_len, &f->q, &f->arena, &err) == AG_OK &&
           same_party(f, f->q.name, f->q.name_len);
  if (e->kind != AG_AUDIT_CHECK)
    return false;
  char ref[AG_JSON_REF_BYTES + 1];
  if (ag_json_decode_check(e->request, e->request_len, &f->txn, ref, &f->arena, &err) != AG_OK)
    return false;
  for (int r = 0; r < AG_PARTY_COUNT; r++)
    if (same_party(f, f->txn.parties[r].name, f->txn.parties[r].name_len))
      return true;
  return false;
}

void ag_pipeline_party_filter_apply(ag_pipeline_party_filter *f, ag_audit_query *q) {
  q->match = match;
  q->match_ctx = f;
}

void ag_pipeline_party_filter_free(ag_pipeline_party_filter *f) {
  if (!f)
    return;
  ag_buf_free(&f->want);
  ag_buf_free(&f->got);
  ag_arena_free(&f->arena);
  free(f);
}
