/*
 * classification_ref.c - a check that names a classification record
 * (item.classification_id, docs/classification.md) takes its ECCN and its
 * "for" qualifier from that record of the audit log.
 *
 * The record is the answer `acegate classify` / POST /v1/classifications
 * stored (kind classification). Only a `classified` result gives an ECCN;
 * one that found several paragraphs needs item.eccn to pick one of them,
 * and an item.eccn or item.for that the record does not name is refused:
 * the check never silently decides another item than the one classified.
 * The trace then cites the record (decide.c, AG_STEP_CLASSIFICATION).
 */
#include "pipeline_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIELD "item.classification_id"

static const char *str_or(const json_t *o, const char *key, const char *dflt) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? v : dflt;
}

static bool same(const char *a, const char *b) { return !strcasecmp(a ? a : "", b ? b : ""); }

/* "4D001.a for 4D004, 4D004" */
static void list_candidates(const json_t *cands, char *out, size_t cap) {
  size_t at = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(cands) && at < cap; i++) {
    const json_t *c = json_array_get(cands, i);
    const char *f = str_or(c, "for", NULL);
    int n = snprintf(out + at, cap - at, "%s%s%s%s", i ? ", " : "", str_or(c, "eccn", "?"),
                     f ? " for " : "", f ? f : "");
    at += n > 0 ? (size_t)n : 0;
  }
}

/* Counts the decisive answers by provenance. */
static void count_answers(const json_t *answers, ag_txn_classification *c) {
  for (size_t i = 0; i < json_array_size(answers); i++) {
    const json_t *a = json_array_get(answers, i);
    if (!json_is_true(json_object_get(a, "decisive")))
      continue;
    const char *p = str_or(a, "provenance", "");
    if (!strcmp(p, "verbatim"))
      c->n_verbatim++;
    else if (!strcmp(p, "summary"))
      c->n_summary++;
    else
      c->n_reconstructed++;
  }
}

static void reconstructed_items(const json_t *items, char *out, size_t cap) {
  size_t at = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(items) && at < cap; i++) {
    const char *id = json_string_value(json_array_get(items, i));
    int n = snprintf(out + at, cap - at, "%s%s", i ? ", " : "", id ? id : "?");
    at += n > 0 ? (size_t)n : 0;
  }
}

/* Picks the candidate the transaction names (or the only one). */
static ag_status pick(const char *id, const json_t *cands, ag_txn *t, const json_t **out,
                      ag_error *err) {
  char names[512];
  list_candidates(cands, names, sizeof names);
  const json_t *found = NULL;
  size_t n_eccn = 0, n_match = 0;
  for (size_t i = 0; i < json_array_size(cands); i++) {
    const json_t *c = json_array_get(cands, i);
    if (t->eccn[0] && !same(t->eccn, str_or(c, "eccn", "")))
      continue;
    n_eccn++;
    if (t->for_[0] && !same(t->for_, str_or(c, "for", "")))
      continue;
    n_match++;
    found = c;
  }
  if (t->eccn[0] && !n_eccn)
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is not what classification %s found (%s)", t->eccn, id, names);
  if (!n_match)
    return ag_error_set(err, AG_ERR_INPUT, "item.for",
                        "\"%s\" is not what classification %s found (%s)", t->for_, id, names);
  if (n_match > 1)
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "classification %s found several paragraphs (%s): give item.eccn "
                        "(and item.for) to pick one",
                        id, names);
  *out = found;
  return AG_OK;
}

ag_status pl_classification_apply(const ag_pipeline_data *d, ag_txn *t, ag_txn_classification *c,
                                  ag_error *err) {
  const char *id = t->classification_id;
  if (!d->audit)
    return ag_error_set(err, AG_ERR_INPUT, FIELD,
                        "needs the audit log the classification is recorded in (--db)");
  ag_audit_entry *e = NULL;
  ag_status st = ag_audit_get(d->audit, id, &e, err);
  if (st == AG_ERR_NOTFOUND || st == AG_ERR_INPUT)
    return ag_error_set(err, AG_ERR_INPUT, FIELD, "no record %s in the audit log", id);
  if (st != AG_OK)
    return st;
  json_t *root = NULL;
  if (e->kind != AG_AUDIT_CLASSIFICATION) {
    st = ag_error_set(err, AG_ERR_INPUT, FIELD, "%s is a %s record, not a classification", id,
                      ag_audit_kind_name(e->kind));
    goto out;
  }
  root = json_loadb(e->decision, e->decision_len, 0, NULL);
  const char *status = str_or(root, "status", "");
  const json_t *cands = json_object_get(root, "candidates");
  if (!root || !json_is_array(cands)) {
    st = ag_error_set(err, AG_ERR_INPUT, FIELD, "record %s holds no classification result", id);
    goto out;
  }
  if (strcmp(status, "classified") != 0) {
    st = ag_error_set(err, AG_ERR_INPUT, FIELD,
                      "classification %s is \"%s\", not \"classified\": it gives no ECCN", id,
                      status);
    goto out;
  }
  const json_t *chosen = NULL;
  if ((st = pick(id, cands, t, &chosen, err)) != AG_OK)
    goto out;
  const char *eccn = str_or(chosen, "eccn", ""), *for_ = str_or(chosen, "for", "");
  if (strlen(eccn) >= sizeof t->eccn || strlen(for_) >= sizeof t->for_) {
    st = ag_error_set(err, AG_ERR_INPUT, FIELD, "record %s names a paragraph too long", id);
    goto out;
  }
  /* the record's spelling: the paragraph the classification found */
  snprintf(t->eccn, sizeof t->eccn, "%s", eccn);
  snprintf(t->for_, sizeof t->for_, "%s", for_);
  *c = (ag_txn_classification){.n_candidates = (int)json_array_size(cands),
                               .reconstructed = json_is_true(json_object_get(root, "reconstructed"))};
  snprintf(c->audit_id, sizeof c->audit_id, "%s", e->id);
  snprintf(c->as_of, sizeof c->as_of, "%s", str_or(root, "as_of", ""));
  snprintf(c->questionnaire, sizeof c->questionnaire, "%s", str_or(root, "questionnaire", ""));
  snprintf(c->cite, sizeof c->cite, "%s", str_or(chosen, "cite", eccn));
  count_answers(json_object_get(root, "answers"), c);
  reconstructed_items(json_object_get(root, "reconstructed_items"), c->reconstructed_items,
                      sizeof c->reconstructed_items);
  t->classification = c;
out:
  json_decref(root);
  ag_audit_entry_free(e);
  return st;
}
