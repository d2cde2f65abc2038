/*
 * pipeline.c - one request pipeline (acegate/pipeline.h): decode, screen,
 * decide, encode, and the audit record of each answer, for every front end.
 *
 * Every answer ends with the versions it was made with (rules_version,
 * lists_version) and, when the caller gave one, its reference `ref`, so a
 * stored decision names the tables and lists behind it and the business
 * record it was made for (15 CFR 762.2(a): the records of the transaction).
 */
#include "acegate/pipeline.h"
#include "pipeline_int.h"
#include "acegate/parties.h"
#include "acegate/remember.h"
#include "acegate/review.h"
#include "acegate/webhook.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ag_pipeline_worker {
  ag_arena arena;
  ag_check_scratch scratch; /* results[0] also serves screenings */
  ag_json_encoder *enc;
  ag_screen_mode mode;
  ag_txn txn;
  ag_decision d;
  ag_screening q;
  /* the stale-lists warnings, made once a day per set of lists */
  ag_buf warn;
  const ag_screen *warn_lists;
  ag_date warn_day;
  int warn_age;
  ag_classify_result cr; /* the last classification; freed on the next */
  ag_txn_classification cls; /* the record the last check took its item from */
  ag_match_note notes[AG_SCREEN_MATCHES_MAX]; /* of the last screening's matches */
};

void ag_pipeline_lists_version(const ag_screen *l, char *out, size_t cap) {
  if (!l) {
    snprintf(out, cap, "%s", "");
    return;
  }
  char newest[11] = "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  for (size_t i = 0; i < ag_screen_list_count(l); i++) {
    const ag_screen_list_info *li = ag_screen_list(l, i);
    if (li->date && strlen(li->date) == 10 && strcmp(li->date, newest) > 0)
      snprintf(newest, sizeof newest, "%s", li->date);
    if (ok)
      ok = EVP_DigestUpdate(ctx, li->code, strlen(li->code) + 1) &&
           EVP_DigestUpdate(ctx, li->sha256 ? li->sha256 : "",
                            li->sha256 ? strlen(li->sha256) + 1 : 1);
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 6;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    const ag_screen_index_info *info = ag_screen_info(l);
    snprintf(out, cap, "%s+%.12s", newest[0] ? newest : "undated",
             info && info->checksum ? info->checksum : "");
    return;
  }
  snprintf(out, cap, "%s+%02x%02x%02x%02x%02x%02x", newest[0] ? newest : "undated", md[0], md[1],
           md[2], md[3], md[4], md[5]);
}

ag_pipeline_worker *ag_pipeline_worker_new(ag_screen_mode mode) {
  ag_pipeline_worker *w = calloc(1, sizeof *w);
  if (!w)
    return NULL;
  ag_arena_init(&w->arena, 4096);
  ag_buf_init(&w->warn);
  ag_check_scratch_init(&w->scratch);
  w->mode = mode;
  if (!(w->enc = ag_json_encoder_new())) {
    ag_pipeline_worker_free(w);
    return NULL;
  }
  return w;
}

bool pl_worker_remember(ag_pipeline_worker *w) {
  return ag_check_scratch_remember(&w->scratch);
}

void ag_pipeline_worker_free(ag_pipeline_worker *w) {
  if (!w)
    return;
  ag_json_encoder_free(w->enc);
  ag_buf_free(&w->warn);
  ag_classify_result_free(&w->cr);
  ag_check_scratch_free(&w->scratch);
  ag_arena_free(&w->arena);
  free(w);
}

const ag_decision *ag_pipeline_last_decision(const ag_pipeline_worker *w) {
  return &w->d;
}

const ag_screen_result *ag_pipeline_last_screening(const ag_pipeline_worker *w,
                                                   const ag_screening **request) {
  if (request)
    *request = &w->q;
  return &w->scratch.results[0];
}

static void result_init(ag_pipeline_result *res, ag_audit_kind kind) {
  res->kind = kind;
  res->st = AG_OK;
  ag_error_clear(&res->err);
  res->off = res->len = 0;
  res->as_of[0] = res->destination[0] = res->eccn[0] = res->ref[0] = '\0';
  res->party_name[0] = res->party_country[0] = '\0';
  res->outcome = "";
  res->outcome_index = -1;
}

/* Appends ,"warnings":[...] inside the answer object when lists older than
 * the maximum age were screened against (docs/screening.md, "Staleness"). */
static void append_warnings(const ag_pipeline_data *d, ag_pipeline_worker *w, ag_buf *out) {
  if (!d->lists || d->max_list_age_days < 0 || out->failed || !out->len ||
      out->data[out->len - 1] != '}')
    return;
  ag_date today = (ag_date)(time(NULL) / 86400);
  if (w->warn_lists != d->lists || w->warn_day != today || w->warn_age != d->max_list_age_days) {
    ag_pipeline_stale_list stale[64];
    size_t n = ag_pipeline_stale_lists(d->lists, d->max_list_age_days, today, stale, 64);
    ag_buf_reset(&w->warn);
    ag_pipeline_stale_json(stale, n < 64 ? n : 64, &w->warn);
    w->warn_lists = d->lists;
    w->warn_day = today;
    w->warn_age = d->max_list_age_days;
  }
  if (!w->warn.len)
    return;
  out->len--;
  ag_buf_puts(out, ",\"warnings\":[");
  ag_buf_append(out, w->warn.data, w->warn.len);
  ag_buf_puts(out, "]}");
}

static ag_status finish(ag_pipeline_result *res, ag_buf *out) {
  res->len = out->len - res->off;
  if (out->failed)
    res->st = ag_error_set(&res->err, AG_ERR_NOMEM, "", "out of memory");
  return res->st;
}

ag_status ag_pipeline_check(const ag_pipeline_data *d, ag_pipeline_worker *w, const char *json,
                            size_t len, ag_buf *out, ag_pipeline_result *res) {
  result_init(res, AG_AUDIT_CHECK);
  ag_arena_reset(&w->arena);
  res->st = ag_json_decode_check(json ? json : "", json ? len : 0, &w->txn, res->ref, &w->arena,
                                 &res->err);
  if (res->st == AG_OK && w->txn.classification_id[0])
    res->st = pl_classification_apply(d, &w->txn, &w->cls, &res->err);
  if (res->st == AG_OK) {
    w->txn.policy = d->policy;
    res->st = ag_check_remembered(d->rules, d->lists, d->remembered, &w->txn, &w->scratch,
                                  &w->d, &res->err);
  }
  if (res->st != AG_OK)
    return res->st;
  res->off = out->len;
  ag_json_encoder_decision(w->enc, &w->d, out);
  /* the versions and the reference go inside the decision object */
  if (!out->failed && out->len > res->off && out->data[out->len - 1] == '}') {
    out->len--;
    ag_json_append_versions(out, NULL, d->lists_version, res->ref[0] ? res->ref : NULL);
    ag_buf_putc(out, '}');
  }
  bool screened = false;
  for (int i = 0; i < AG_PARTY_COUNT; i++) {
    const ag_party *p = &w->txn.parties[i];
    if (p->screened && p->name && !res->party_name[0]) {
      size_t n = p->name_len < AG_SCREEN_NAME_MAX ? p->name_len : AG_SCREEN_NAME_MAX;
      memcpy(res->party_name, p->name, n);
      res->party_name[n] = '\0';
      snprintf(res->party_country, sizeof res->party_country, "%s", p->screened_country);
    }
    screened |= p->screened;
  }
  if (screened)
    append_warnings(d, w, out);
  ag_date_format(w->txn.as_of, res->as_of);
  snprintf(res->destination, sizeof res->destination, "%s",
           d->rules->destinations[w->d.dest].code);
  snprintf(res->eccn, sizeof res->eccn, "%s", w->txn.eccn);
  res->outcome = ag_outcome_name(w->d.outcome);
  res->outcome_index = (int)w->d.outcome;
  return finish(res, out);
}

/* A party confirmed to be a listed entry stays matched to it whatever the
 * score (docs/review.md): when the screening did not return a confirmed
 * entry, it runs again down to any score and keeps, besides what the first
 * run returned, only the confirmed entries. */
static ag_status screen_confirmed(const ag_pipeline_data *d, ag_pipeline_worker *w,
                                  const ag_screen_request *first, const char *cc,
                                  ag_screen_result *sr, ag_error *err) {
  const char *ids[8];
  size_t n = ag_remember_confirmed(d->remembered, sr->normalized, cc, AG_DATE_NONE, ids, 8);
  bool missing = false;
  for (size_t k = 0; k < n && !missing; k++) {
    bool found = false;
    for (size_t i = 0; i < sr->count && !found; i++)
      found = !strcmp(sr->matches[i].source_id, ids[k]);
    missing = !found;
  }
  if (!missing)
    return AG_OK;
  double min = first->min_score > 0 ? first->min_score : AG_SCREEN_POSSIBLE;
  ag_screen_request rq = *first;
  rq.min_score = 0.01;
  rq.max_matches = AG_SCREEN_MATCHES_MAX;
  ag_status st = ag_screen_query_ex(d->lists, &rq, sr, err);
  if (st != AG_OK)
    return st;
  size_t kept = 0;
  (void)w;
  for (size_t i = 0; i < sr->count; i++) {
    bool confirmed = false;
    for (size_t k = 0; k < n && !confirmed; k++)
      confirmed = !strcmp(sr->matches[i].source_id, ids[k]);
    if (sr->matches[i].score >= min || confirmed)
      sr->matches[kept++] = sr->matches[i];
  }
  sr->count = kept;
  return AG_OK;
}

ag_status ag_pipeline_screening(const ag_pipeline_data *d, ag_pipeline_worker *w,
                                const char *json, size_t len, ag_buf *out,
                                ag_pipeline_result *res) {
  result_init(res, AG_AUDIT_SCREENING);
  ag_arena_reset(&w->arena);
  res->st = ag_json_decode_screening(json ? json : "", json ? len : 0, &w->q, &w->arena,
                                     &res->err);
  if (res->st != AG_OK)
    return res->st;
  snprintf(res->ref, sizeof res->ref, "%s", w->q.ref);
  if (!d->lists)
    return res->st = ag_error_set(&res->err, AG_ERR_NOTFOUND, "lists",
                                  "no screening lists are loaded");
  ag_screen_result *sr = &w->scratch.results[0];
  ag_screen_request rq = {.name = w->q.name,
                          .len = w->q.name_len,
                          .country = w->q.country[0] ? w->q.country : NULL,
                          .min_score = w->q.min_score,
                          .max_matches = w->q.max_matches,
                          .mode = w->mode,
                          .address = w->q.address,
                          .city = w->q.city,
                          .type = w->q.type,
                          .ids = w->q.ids,
                          .n_ids = w->q.n_ids,
                          .sources = w->q.sources,
                          .types = w->q.types,
                          .countries = w->q.countries};
  if ((res->st = ag_screen_query_ex(d->lists, &rq, sr, &res->err)) != AG_OK)
    return res->st;
  char cc[sizeof w->q.country];
  for (size_t i = 0; i < sizeof cc; i++)
    cc[i] = w->q.country[i] >= 'a' && w->q.country[i] <= 'z' ? (char)(w->q.country[i] - 32)
                                                             : w->q.country[i];
  if ((res->st = screen_confirmed(d, w, &rq, cc, sr, &res->err)) != AG_OK)
    return res->st;
  /* a screening has no as_of: it is made as of now */
  ag_remember_apply(d->remembered, d->lists, cc, AG_DATE_NONE, sr, w->notes);
  res->off = out->len;
  ag_json_encode_screening_noted(&w->q, sr, w->notes, d->rules ? d->rules->version : NULL,
                                 d->lists_version, out);
  append_warnings(d, w, out);
  ag_screen_level level = ag_json_screening_level_noted(sr, w->notes);
  res->outcome = ag_json_screening_outcome(level);
  res->outcome_index = (int)level;
  return finish(res, out);
}

/* ---- classifications ---- */

const ag_classify_result *ag_pipeline_last_classification(const ag_pipeline_worker *w) {
  return &w->cr;
}

/* Decodes the envelope of a classification request; *answers is the
 * "answers" object. Every field error names the field. */
static ag_status decode_classification(const char *json, size_t len, json_t **root,
                                       json_t **answers, ag_date *as_of,
                                       char ref[AG_JSON_REF_BYTES + 1], ag_error *err) {
  json_error_t je;
  *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!*root)
    return ag_error_set(err, AG_ERR_INPUT, "", "malformed JSON at line %d, column %d: %s",
                        je.line, je.column, je.text);
  if (!json_is_object(*root))
    return ag_error_set(err, AG_ERR_INPUT, "",
                        "a classification is a JSON object {\"answers\": {...}}");
  const char *key;
  json_t *v;
  *answers = NULL;
  json_object_foreach(*root, key, v) {
    if (!strcmp(key, "answers")) {
      if (!json_is_object(v))
        return ag_error_set(err, AG_ERR_INPUT, "answers",
                            "must be an object mapping question ids to true, false or "
                            "\"unknown\"");
      *answers = v;
    } else if (!strcmp(key, "as_of")) {
      if (json_is_null(v))
        continue;
      if (!json_is_string(v) ||
          !ag_date_parse(json_string_value(v), json_string_length(v), as_of))
        return ag_error_set(err, AG_ERR_INPUT, "as_of", "must be a date YYYY-MM-DD");
    } else if (!strcmp(key, "ref")) {
      if (json_is_null(v))
        continue;
      if (!json_is_string(v))
        return ag_error_set(err, AG_ERR_INPUT, "ref", "must be a string");
      ag_status st = ag_json_check_ref(json_string_value(v), json_string_length(v), err);
      if (st != AG_OK)
        return st;
      snprintf(ref, AG_JSON_REF_BYTES + 1, "%s", json_string_value(v));
    } else {
      return ag_error_set(err, AG_ERR_INPUT, key, "unknown field");
    }
  }
  if (!*answers)
    return ag_error_set(err, AG_ERR_INPUT, "answers", "is required");
  return AG_OK;
}

ag_status ag_pipeline_classification(const ag_pipeline_data *d, ag_pipeline_worker *w,
                                     const char *json, size_t len, ag_buf *out,
                                     ag_pipeline_result *res) {
  result_init(res, AG_AUDIT_CLASSIFICATION);
  ag_classify_result_free(&w->cr);
  memset(&w->cr, 0, sizeof w->cr);
  if (!d->classify)
    return res->st = ag_error_set(&res->err, AG_ERR_NOTFOUND, "classification",
                                  "no classification questionnaire is loaded");
  json_t *root = NULL, *answers_obj = NULL;
  ag_date as_of = ag_date_today();
  ag_classify_answer *answers = NULL;
  char *answers_text = NULL;
  res->st = decode_classification(json ? json : "", json ? len : 0, &root, &answers_obj, &as_of,
                                  res->ref, &res->err);
  if (res->st == AG_OK) {
    answers = calloc(ag_classify_count(d->classify) + 1, sizeof *answers);
    answers_text = json_dumps(answers_obj, JSON_COMPACT);
    if (!answers || !answers_text)
      res->st = ag_error_set(&res->err, AG_ERR_NOMEM, "", "out of memory");
  }
  if (res->st == AG_OK && answers_text &&
      (res->st = ag_classify_answers_from_json(d->classify, as_of, answers_text,
                                               strlen(answers_text), answers, &res->err)) !=
          AG_OK &&
      res->err.field[0] && strcmp(res->err.field, "answers") != 0) {
    /* the questionnaire names the question id: give the field's full path */
    char id[sizeof res->err.field];
    snprintf(id, sizeof id, "%s", res->err.field);
    snprintf(res->err.field, sizeof res->err.field, "answers.%.*s",
             (int)(sizeof res->err.field - 9), id);
  }
  json_decref(root);
  free(answers_text);
  if (res->st == AG_OK)
    res->st = ag_classify_evaluate(d->classify, answers, as_of, &w->cr, &res->err);
  free(answers);
  if (res->st != AG_OK)
    return res->st;
  res->off = out->len;
  ag_classify_result_json(d->classify, &w->cr, out);
  if (!out->failed && out->len > res->off && out->data[out->len - 1] == '}') {
    out->len--;
    ag_buf_puts(out, ",\"rules_version\":");
    ag_buf_json_cstr(out, d->rules ? d->rules->version : "");
    if (res->ref[0]) {
      ag_buf_puts(out, ",\"ref\":");
      ag_buf_json_cstr(out, res->ref);
    }
    ag_buf_putc(out, '}');
  }
  ag_date_format(as_of, res->as_of);
  if (w->cr.n_candidates)
    snprintf(res->eccn, sizeof res->eccn, "%s", w->cr.candidates[0].row->id);
  res->outcome = ag_classify_status_name(w->cr.status);
  res->outcome_index = (int)w->cr.status;
  return finish(res, out);
}

void ag_pipeline_record(const ag_pipeline_data *d, const ag_pipeline_result *res,
                        const char *request, size_t request_len, const char *answer,
                        const char *key_id, const char *client, ag_audit_record *rec) {
  *rec = (ag_audit_record){
      .kind = res->kind,
      .request = request ? request : "",
      .request_len = request ? request_len : 0,
      .decision = answer,
      .decision_len = res->len,
      .rules_version = d->rules ? d->rules->version : "",
      .lists_version = d->lists_version ? d->lists_version : "",
      .key_id = key_id ? key_id : "",
      .client_addr = client ? client : "",
      .as_of = res->as_of,
      .destination = res->destination,
      .eccn = res->eccn,
      .outcome = res->outcome,
  };
}

void ag_pipeline_splice_audit_id(ag_buf *b, const char *id, const char *obj, size_t len) {
  ag_buf_puts(b, "{\"audit_id\":");
  ag_buf_json_cstr(b, id);
  if (len >= 2 && obj[0] == '{') {
    size_t i = 1;
    while (i < len && (obj[i] == ' ' || obj[i] == '\n' || obj[i] == '\t' || obj[i] == '\r'))
      i++;
    if (obj[i] != '}')
      ag_buf_putc(b, ',');
    ag_buf_append(b, obj + 1, len - 1);
  } else {
    ag_buf_putc(b, '}');
  }
}

ag_status ag_pipeline_recorded(const ag_pipeline_data *d, const ag_pipeline_result *res,
                               const char *audit_id, const char *answer, ag_error *err) {
  if (res->st != AG_OK || !answer)
    return AG_OK;
  /* a new queue item: the reviewers hear of it at once */
  if (d->webhook && (res->kind == AG_AUDIT_CHECK || res->kind == AG_AUDIT_SCREENING) &&
      ag_review_queued(res->kind, res->outcome, answer, res->len)) {
    ag_buf item;
    ag_buf_init(&item);
    ag_pipeline_splice_audit_id(&item, audit_id, answer, res->len);
    if (!item.failed)
      ag_webhook_post(d->webhook, audit_id, item.data, item.len);
    ag_buf_free(&item);
  }
  /* the parties seen in audited checks form the registry, keyed by ref */
  if (d->parties && res->kind == AG_AUDIT_CHECK && res->ref[0] && res->party_name[0])
    return ag_parties_note(d->parties, res->ref, res->party_name, res->party_country, err);
  return AG_OK;
}
