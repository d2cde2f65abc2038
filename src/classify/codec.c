/*
 * codec.c - the JSON of classification: answers in ({"IS1": true,
 * "J1": false, "KA": "unknown"}), the result out. Strict like the
 * transaction codec: an unknown id, a value other than true, false or
 * "unknown", a key given twice or malformed JSON is an error naming the
 * field, never skipped.
 */
#include "classify_internal.h"

#include <jansson.h>
#include <string.h>

ag_status ag_classify_answers_from_json(const ag_classify *q, ag_date as_of, const char *json,
                                        size_t len, ag_classify_answer *answers, ag_error *err) {
  memset(answers, 0, q->n_rows * sizeof *answers);
  if (!ag_utf8_valid(json, len))
    return ag_error_set(err, AG_ERR_INPUT, "answers", "not valid UTF-8");
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return ag_error_set(err, AG_ERR_INPUT, "answers", "malformed JSON at line %d, column %d: %s",
                        jerr.line, jerr.column, jerr.text);
  ag_status st = AG_OK;
  if (!json_is_object(root)) {
    st = ag_error_set(err, AG_ERR_INPUT, "answers",
                      "must be an object mapping question ids to true, false or \"unknown\"");
    goto out;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    size_t klen = strlen(key);
    if (klen == 0) {
      st = ag_error_set(err, AG_ERR_INPUT, "answers", "an empty key is not a question id");
      goto out;
    }
    int i = ag_classify_find(q, key, klen);
    if (i < 0 || q->rows[i].kind != AG_CLASSIFY_QUESTION) {
      st = ag_error_set(err, AG_ERR_INPUT, key,
                        i < 0 ? "not a question of the questionnaire"
                              : "is derived from other answers, not "
                                "answered");
      goto out;
    }
    if (!ag_classify_in_force(&q->rows[i], as_of)) {
      char d[11];
      ag_date_format(as_of, d);
      st = ag_error_set(err, AG_ERR_INPUT, key,
                        "not a question of the questionnaire in force "
                        "on %s",
                        d);
      goto out;
    }
    if (json_is_true(v))
      answers[i] = AG_ANSWER_YES;
    else if (json_is_false(v))
      answers[i] = AG_ANSWER_NO;
    else if (json_is_string(v) && !strcmp(json_string_value(v), "unknown") &&
             json_string_length(v) == 7)
      answers[i] = AG_ANSWER_UNKNOWN;
    else {
      st = ag_error_set(err, AG_ERR_INPUT, key, "must be true, false or \"unknown\"");
      goto out;
    }
  }
out:
  json_decref(root);
  return st;
}

static void put_row_ref(ag_buf *b, const ag_classify_row *r) {
  ag_buf_puts(b, "{\"eccn\":");
  ag_buf_json_cstr(b, r->id);
  ag_buf_puts(b, ",\"for\":");
  ag_buf_json_cstr(b, r->for_);
  ag_buf_putc(b, '}');
}

static void put_cited(ag_buf *b, const ag_classify_row *r) {
  ag_buf_puts(b, ",\"cite\":");
  ag_buf_json_cstr(b, r->cite);
  ag_buf_puts(b, ",\"text\":");
  ag_buf_json_cstr(b, r->cited_text);
  ag_buf_puts(b, ",\"provenance\":");
  ag_buf_json_cstr(b, ag_classify_provenance_name(r->provenance));
}

static const char *answer_json(ag_classify_answer a) {
  return a == AG_ANSWER_YES ? "true" : a == AG_ANSWER_NO ? "false" : "\"unknown\"";
}

void ag_classify_result_json(const ag_classify *q, const ag_classify_result *r, ag_buf *b) {
  char d[11];
  ag_date_format(r->as_of, d);
  ag_buf_puts(b, "{\"status\":");
  ag_buf_json_cstr(b, ag_classify_status_name(r->status));
  ag_buf_printf(b, ",\"as_of\":\"%s\",\"candidates\":[", d);
  for (size_t i = 0; i < r->n_candidates; i++) {
    const ag_classify_row *row = r->candidates[i].row;
    ag_buf_puts(b, i ? ",{\"eccn\":" : "{\"eccn\":");
    ag_buf_json_cstr(b, row->id);
    ag_buf_puts(b, ",\"for\":");
    ag_buf_json_cstr(b, row->for_);
    ag_buf_printf(b, ",\"cybersecurity_item\":%s", r->candidates[i].cyber_item ? "true" : "false");
    put_cited(b, row);
    ag_buf_putc(b, '}');
  }
  ag_buf_printf(b, "],\"cybersecurity_item\":%s,\"missing\":[",
                r->cyber_item > 0    ? "true"
                : r->cyber_item == 0 ? "false"
                                     : "null");
  for (size_t i = 0; i < r->n_missing; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_buf_json_cstr(b, r->missing[i]->id);
  }
  ag_buf_puts(b, "],\"ruled_out\":[");
  for (size_t i = 0; i < r->n_reasons; i++) {
    const ag_classify_reason *why = &r->reasons[i];
    ag_buf_printf(b, "%s{\"by\":\"%s\",\"because\":[", i ? "," : "",
                  why->excluded ? "exclusion" : "unmet");
    for (size_t k = 0; k < why->n_because; k++) {
      ag_buf_puts(b, k ? ",{\"id\":" : "{\"id\":");
      ag_buf_json_cstr(b, why->because[k]->id);
      if (why->because[k]->question) {
        ag_buf_puts(b, ",\"question\":");
        ag_buf_json_cstr(b, why->because[k]->question);
      }
      put_cited(b, why->because[k]);
      ag_buf_putc(b, '}');
    }
    ag_buf_puts(b, "],\"paragraphs\":[");
    for (size_t k = 0; k < why->n_paragraphs; k++) {
      if (k)
        ag_buf_putc(b, ',');
      put_row_ref(b, why->paragraphs[k]);
    }
    ag_buf_puts(b, "]}");
  }
  ag_buf_puts(b, "],\"answers\":[");
  for (size_t i = 0; i < r->n_basis; i++) {
    const ag_classify_used *u = &r->basis[i];
    ag_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
    ag_buf_json_cstr(b, u->row->id);
    ag_buf_printf(b, ",\"answer\":%s,\"decisive\":%s,\"question\":", answer_json(u->answer),
                  u->decisive ? "true" : "false");
    ag_buf_json_cstr(b, u->row->question);
    put_cited(b, u->row);
    ag_buf_putc(b, '}');
  }
  ag_buf_printf(b, "],\"reconstructed\":%s,\"reconstructed_items\":[",
                r->reconstructed ? "true" : "false");
  bool first = true;
  for (size_t i = 0; i < r->n_basis; i++)
    if (r->basis[i].decisive && r->basis[i].row->provenance == AG_PROVENANCE_RECONSTRUCTED) {
      ag_buf_puts(b, first ? "" : ",");
      ag_buf_json_cstr(b, r->basis[i].row->id);
      first = false;
    }
  for (size_t i = 0; i < r->n_candidates; i++)
    if (r->candidates[i].row->provenance == AG_PROVENANCE_RECONSTRUCTED) {
      ag_buf_puts(b, first ? "" : ",");
      ag_buf_json_cstr(b, r->candidates[i].row->id);
      first = false;
    }
  /* the paragraphs the questionnaire tests: "not_controlled" means none of these */
  ag_buf_puts(b, "],\"covers\":[");
  first = true;
  for (size_t i = 0; i < q->n_rows; i++) {
    const ag_classify_row *row = &q->rows[i];
    if (row->kind != AG_CLASSIFY_RESULT || !ag_classify_in_force(row, r->as_of))
      continue;
    ag_buf_puts(b, first ? "" : ",");
    put_row_ref(b, row);
    first = false;
  }
  ag_buf_puts(b, "],\"questionnaire\":");
  ag_buf_json_cstr(b, q->version);
  ag_buf_putc(b, '}');
}
