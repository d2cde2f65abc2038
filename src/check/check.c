/*
 * check.c - screens the parties of a transaction, then decides. The join
 * between the screening module and the engine: list codes become the
 * engine's list kinds, and each party keeps the matches whose meaning
 * (list-meanings.tsv: the outcome a confident match gives) is strongest.
 */
#include "acegate/check.h"
#include "acegate/remember.h"

#include <stdio.h>
#include <string.h>

void ag_check_scratch_init(ag_check_scratch *s) {
  for (int i = 0; i < AG_PARTY_COUNT; i++)
    ag_screen_result_init(&s->results[i]);
}

void ag_check_scratch_free(ag_check_scratch *s) {
  for (int i = 0; i < AG_PARTY_COUNT; i++)
    ag_screen_result_free(&s->results[i]);
}

ag_list_kind ag_check_list_kind(const char *code) {
  static const struct {
    const char *code;
    ag_list_kind kind;
  } map[] = {{"EL", AG_LIST_ENTITY}, {"DPL", AG_LIST_DENIED}, {"SDN", AG_LIST_SDN},
             {"UVL", AG_LIST_UNVERIFIED}, {"MEU", AG_LIST_MEU}};
  if (!code)
    return AG_LIST_OTHER;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(code, map[i].code))
      return map[i].kind;
  return AG_LIST_OTHER;
}

/* Stronger list consequences first, then score: the hits the engine sees
 * are the ones that decide. A hit's consequence is the outcome the tables
 * give a confident match on its list (and programs) on the date. */
static int weight(const ag_rules *rules, ag_date on, const ag_screen_match *m, bool confident) {
  const ag_list_row *row =
      ag_rules_list_meaning(rules, m->list_code ? m->list_code : "", m->programs, on);
  int w = 1;
  if (row)
    w = row->outcome == AG_OUTCOME_PROHIBITED         ? 5
        : row->outcome == AG_OUTCOME_LICENSE_REQUIRED ? 4
                                                      : 3;
  return confident ? w + 10 : w;
}

typedef struct {
  ag_party_hit hit;
  int weight;
} weighed_hit;

static void keep_hit(ag_party *p, int *weights, const weighed_hit *h) {
  if (p->n_hits < AG_MAX_HITS) {
    weights[p->n_hits] = h->weight;
    p->hits[p->n_hits++] = h->hit;
  } else {
    int weakest = 0;
    for (int i = 1; i < p->n_hits; i++)
      if (weights[i] < weights[weakest] ||
          (weights[i] == weights[weakest] && p->hits[i].score < p->hits[weakest].score))
        weakest = i;
    if (h->weight > weights[weakest] ||
        (h->weight == weights[weakest] && h->hit.score > p->hits[weakest].score)) {
      p->hits[weakest] = h->hit;
      weights[weakest] = h->weight;
    }
  }
  /* keep strongest first */
  for (int i = p->n_hits - 1; i > 0; i--) {
    ag_party_hit *a = &p->hits[i - 1], *b = &p->hits[i];
    if (weights[i] > weights[i - 1] || (weights[i] == weights[i - 1] && b->score > a->score)) {
      ag_party_hit t = *a;
      *a = *b;
      *b = t;
      int tw = weights[i - 1];
      weights[i - 1] = weights[i];
      weights[i] = tw;
    }
  }
}

/* Whether a confirmed entry of the party is missing from res: then the
 * party is screened again down to any score, so it stays matched to that
 * entry whatever the score (docs/review.md, "Remembered decisions"). */
static bool confirmed_missing(ag_remember *rem, const char *country,
                              const ag_screen_result *res) {
  const char *ids[AG_MAX_HITS];
  size_t n = ag_remember_confirmed(rem, res->normalized, country, ids, AG_MAX_HITS);
  for (size_t k = 0; k < n; k++) {
    bool found = false;
    for (size_t i = 0; i < res->count && !found; i++)
      found = !strcmp(res->matches[i].source_id, ids[k]);
    if (!found)
      return true;
  }
  return false;
}

ag_status ag_check(const ag_rules *rules, const ag_screen *lists, ag_txn *txn,
                   ag_check_scratch *scratch, ag_decision *d, ag_error *err) {
  return ag_check_remembered(rules, lists, NULL, txn, scratch, d, err);
}

ag_status ag_check_remembered(const ag_rules *rules, const ag_screen *lists, ag_remember *rem,
                              ag_txn *txn, ag_check_scratch *scratch, ag_decision *d,
                              ag_error *err) {
  static const char *const fields[AG_PARTY_COUNT] = {
      "end_user.name", "consignee.name", "intermediate_consignee.name", "purchaser.name"};
  static const char *const country_fields[AG_PARTY_COUNT] = {
      "end_user.country", "consignee.country", "intermediate_consignee.country",
      "purchaser.country"};
  for (int r = 0; r < AG_PARTY_COUNT; r++) {
    ag_party *p = &txn->parties[r];
    p->screened = false;
    p->n_hits = 0;
    p->screened_country[0] = '\0';
    if (!p->name || !lists)
      continue;
    const char *country = p->country[0] ? p->country : NULL;
    if (!country && (r == AG_PARTY_END_USER || r == AG_PARTY_CONSIGNEE) &&
        strlen(txn->destination) == 2)
      country = txn->destination;
    ag_error serr;
    ag_error_clear(&serr);
    ag_status st = ag_screen_query(lists, p->name, p->name_len, country, &scratch->results[r],
                                   &serr);
    if (st) {
      /* Name the transaction field rather than the screening API's: the
       * party's country, or the destination it defaulted to. */
      const char *field = strcmp(serr.field, "country") ? fields[r]
                          : p->country[0]                ? country_fields[r]
                                                         : "destination";
      return ag_error_set(err, st, field, "%s", serr.reason);
    }
    p->screened = true;
    snprintf(p->screened_country, sizeof p->screened_country, "%s", country ? country : "");
    for (char *c = p->screened_country; *c; c++)
      if (*c >= 'a' && *c <= 'z')
        *c = (char)(*c - 32);
    const char *cc = p->screened_country[0] ? p->screened_country : NULL;
    bool known = ag_remember_knows(rem, scratch->results[r].normalized, cc);
    if (known && confirmed_missing(rem, cc, &scratch->results[r])) {
      ag_screen_request rq = {.name = p->name, .len = p->name_len, .country = country,
                              .min_score = 0.01, .max_matches = AG_SCREEN_MATCHES_MAX};
      if ((st = ag_screen_query_ex(lists, &rq, &scratch->results[r], &serr)) != AG_OK)
        return ag_error_set(err, st, fields[r], "%s", serr.reason);
    }
    const ag_screen_result *res = &scratch->results[r];
    int weights[AG_MAX_HITS] = {0};
    for (size_t i = 0; i < res->count; i++) {
      const ag_screen_match *m = &res->matches[i];
      ag_remembered rm = {.kind = AG_REMEMBERED_NONE};
      char hash[AG_SCREEN_ENTRY_HASH_HEX] = "";
      ag_screen_entry_hash(lists, m->entry, hash);
      if (known)
        ag_remember_find(rem, res->normalized, cc, m->source_id, hash, &rm);
      if (m->score < AG_SCREEN_POSSIBLE && rm.kind != AG_REMEMBERED_CONFIRMED)
        continue; /* only there because of the wider search above */
      ag_party_hit h = {
          .list = ag_check_list_kind(m->list_code),
          .confident = m->level == AG_SCREEN_LEVEL_CONFIDENT,
          .score = m->score,
          .list_name = m->list_name,
          .list_code = m->list_code,
          .source_id = m->source_id,
          .matched_name = m->matched_name,
          .programs = m->programs,
          .license_requirement = m->license_requirement,
          .license_policy = m->license_policy,
          .federal_register_notice = m->federal_register_notice,
          .remembered = rm,
      };
      memcpy(h.entry_hash, hash, sizeof h.entry_hash);
      if (rm.kind == AG_REMEMBERED_CONFIRMED)
        h.confident = true;
      /* a cleared hit decides nothing: it gives way to any other */
      weighed_hit wh = {h, rm.kind == AG_REMEMBERED_CLEARED
                               ? 0
                               : weight(rules, txn->as_of, m, h.confident)};
      keep_hit(p, weights, &wh);
    }
  }
  return ag_decide(rules, txn, d, err);
}
