/*
 * check.c - screens the parties of a transaction, then decides. The join
 * between the screening module and the engine: list codes become the
 * engine's list kinds, and each party keeps the matches whose meaning
 * (list-meanings.tsv: the outcome a confident match gives) is strongest.
 */
#include "acegate/check.h"
#include "acegate/remember.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A name screened before: the matches its screening gave, as party hits
 * (their strings belong to the lists), and the name as screening normalised
 * it (the key of reviewers' remembered decisions). Longer names are not
 * remembered. */
#define MEMO_NAME 120
#define MEMO_NORMALIZED 256
#define MEMO_WAYS 4    /* the slots a name may take */
#define MEMO_SETS 1024 /* a power of two: 4,096 names, about 4 MB */

typedef struct {
  const ag_screen *lists; /* NULL: empty slot */
  uint32_t used;          /* when last used: the least recent slot is taken */
  uint16_t name_len;
  char country[3];
  char name[MEMO_NAME];
  char normalized[MEMO_NORMALIZED];
  uint8_t n;
  ag_party_hit hits[AG_SCREEN_MATCHES_DEFAULT];
} memo_slot;

struct ag_check_memo {
  memo_slot slots[MEMO_SETS][MEMO_WAYS];
  uint32_t clock;
};

void ag_check_scratch_init(ag_check_scratch *s) {
  for (int i = 0; i < AG_PARTY_COUNT; i++)
    ag_screen_result_init(&s->results[i]);
  s->memo = NULL;
}

void ag_check_scratch_free(ag_check_scratch *s) {
  for (int i = 0; i < AG_PARTY_COUNT; i++)
    ag_screen_result_free(&s->results[i]);
  free(s->memo);
  s->memo = NULL;
}

bool ag_check_scratch_remember(ag_check_scratch *s) {
  if (!s->memo)
    s->memo = calloc(1, sizeof *s->memo);
  return s->memo != NULL;
}

static bool memo_holds(const memo_slot *e, const ag_screen *lists, const char *name, size_t len,
                       const char *country) {
  return e->lists == lists && e->name_len == len && !memcmp(e->name, name, len) &&
         !strcmp(e->country, country ? country : "");
}

/* The slot that holds a name and country, or the one to take for it (the
 * least recently used of its set, chosen by FNV-1a); *held says which. */
static memo_slot *memo_find(ag_check_memo *m, const ag_screen *lists, const char *name,
                            size_t len, const char *country, bool *held) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)name[i]) * 16777619u;
  for (const char *c = country ? country : ""; *c; c++)
    h = (h ^ (unsigned char)*c) * 16777619u;
  memo_slot *set = m->slots[h & (MEMO_SETS - 1)], *oldest = &set[0];
  m->clock++;
  for (int i = 0; i < MEMO_WAYS; i++) {
    if (memo_holds(&set[i], lists, name, len, country)) {
      set[i].used = m->clock;
      *held = true;
      return &set[i];
    }
    if (set[i].used < oldest->used)
      oldest = &set[i];
  }
  oldest->used = m->clock;
  *held = false;
  return oldest;
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
static int weight(const ag_rules *rules, ag_date on, const ag_party_hit *h) {
  const ag_list_row *row =
      ag_rules_list_meaning(rules, h->list_code ? h->list_code : "", h->programs, on);
  int w = 1;
  if (row)
    w = row->outcome == AG_OUTCOME_PROHIBITED         ? 5
        : row->outcome == AG_OUTCOME_LICENSE_REQUIRED ? 4
                                                      : 3;
  return h->confident ? w + 10 : w;
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

/* The screening's matches as party hits (at most max), each with the
 * content hash of its entry. */
static size_t hits_of(const ag_screen *lists, const ag_screen_result *res, size_t max,
                      ag_party_hit *out) {
  size_t n = res->count < max ? res->count : max;
  for (size_t i = 0; i < n; i++) {
    const ag_screen_match *m = &res->matches[i];
    out[i] = (ag_party_hit){
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
    };
    ag_screen_entry_hash(lists, m->entry, out[i].entry_hash);
  }
  return n;
}

static void remember(memo_slot *e, const ag_screen *lists, const char *name, size_t len,
                     const char *country, const char *normalized, const ag_party_hit *hits,
                     size_t n) {
  size_t nl = strlen(normalized);
  if (nl >= sizeof e->normalized)
    return; /* not kept: the slot stays as it was */
  e->lists = lists;
  e->name_len = (uint16_t)len;
  memcpy(e->name, name, len);
  memcpy(e->normalized, normalized, nl + 1);
  size_t cl = country ? strlen(country) : 0; /* at most 2: the caller checks */
  memcpy(e->country, country ? country : "", cl);
  e->country[cl] = '\0';
  memcpy(e->hits, hits, n * sizeof *hits);
  e->n = (uint8_t)n;
}

/* Whether a confirmed entry of the party is missing from its hits: then the
 * party is screened again down to any score, so it stays matched to that
 * entry whatever the score (docs/review.md, "Remembered decisions"). */
static bool confirmed_missing(ag_remember *rem, const char *normalized, const char *country,
                              ag_date on, const ag_party_hit *hits, size_t n_hits) {
  const char *ids[AG_MAX_HITS];
  size_t n = ag_remember_confirmed(rem, normalized, country, on, ids, AG_MAX_HITS);
  for (size_t k = 0; k < n; k++) {
    bool found = false;
    for (size_t i = 0; i < n_hits && !found; i++)
      found = !strcmp(hits[i].source_id, ids[k]);
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
    /* the party's screening: remembered, or made now. Only a name and a
     * country key the memo: a party with an address, city or identifiers
     * (evidence in its score) is screened afresh. */
    bool held = false;
    bool name_only = !(p->address && *p->address) && !(p->city && *p->city) && p->n_ids == 0;
    memo_slot *slot = scratch->memo && name_only && p->name_len <= MEMO_NAME &&
                              (!country || strlen(country) <= 2)
                          ? memo_find(scratch->memo, lists, p->name, p->name_len, country, &held)
                          : NULL;
    const ag_party_hit *found;
    const char *normalized;
    size_t nfound;
    ag_party_hit fresh[AG_SCREEN_MATCHES_MAX];
    ag_screen_request rq = {.name = p->name,
                            .len = p->name_len,
                            .country = country,
                            .address = p->address,
                            .city = p->city,
                            .ids = p->ids,
                            .n_ids = p->n_ids};
    if (held) {
      found = slot->hits;
      nfound = slot->n;
      normalized = slot->normalized;
    } else {
      ag_error serr;
      ag_error_clear(&serr);
      ag_status st = ag_screen_query_ex(lists, &rq, &scratch->results[r], &serr);
      if (st) {
        /* Name the transaction field rather than the screening API's: the
         * party's country, or the destination it defaulted to; the party's
         * address, city or identifier. */
        const char *field = fields[r];
        char path[96];
        if (!strcmp(serr.field, "country"))
          field = p->country[0] ? country_fields[r] : "destination";
        else if (!strcmp(serr.field, "address") || !strcmp(serr.field, "city") ||
                 !strncmp(serr.field, "ids", 3)) {
          snprintf(path, sizeof path, "%.40s.%.40s", ag_party_role_name((ag_party_role)r),
                   serr.field);
          field = path;
        }
        return ag_error_set(err, st, field, "%s", serr.reason);
      }
      nfound = hits_of(lists, &scratch->results[r], AG_SCREEN_MATCHES_DEFAULT, fresh);
      found = fresh;
      normalized = scratch->results[r].normalized;
      if (slot)
        remember(slot, lists, p->name, p->name_len, country, normalized, fresh, nfound);
    }
    p->screened = true;
    snprintf(p->screened_country, sizeof p->screened_country, "%s", country ? country : "");
    for (char *c = p->screened_country; *c; c++)
      if (*c >= 'a' && *c <= 'z')
        *c = (char)(*c - 32);
    const char *cc = p->screened_country[0] ? p->screened_country : NULL;
    bool known = ag_remember_knows(rem, normalized, cc);
    /* a remembered decision is aged to the day the check is made as of */
    if (known && confirmed_missing(rem, normalized, cc, txn->as_of, found, nfound)) {
      ag_error serr;
      ag_error_clear(&serr);
      rq.min_score = 0.01;
      rq.max_matches = AG_SCREEN_MATCHES_MAX;
      ag_status st = ag_screen_query_ex(lists, &rq, &scratch->results[r], &serr);
      if (st)
        return ag_error_set(err, st, fields[r], "%s", serr.reason);
      nfound = hits_of(lists, &scratch->results[r], AG_SCREEN_MATCHES_MAX, fresh);
      found = fresh;
      normalized = scratch->results[r].normalized;
    }
    int weights[AG_MAX_HITS] = {0};
    for (size_t i = 0; i < nfound; i++) {
      ag_party_hit h = found[i];
      h.remembered = (ag_remembered){.kind = AG_REMEMBERED_NONE};
      if (known)
        ag_remember_find(rem, normalized, cc, h.list_name, h.source_id, h.entry_hash,
                         txn->as_of, &h.remembered);
      if (h.score < AG_SCREEN_POSSIBLE && h.remembered.kind != AG_REMEMBERED_CONFIRMED)
        continue; /* only there because of the wider search above */
      if (h.remembered.kind == AG_REMEMBERED_CONFIRMED)
        h.confident = true;
      /* a cleared hit decides nothing: it gives way to any other */
      weighed_hit wh = {h, h.remembered.kind == AG_REMEMBERED_CLEARED
                               ? 0
                               : weight(rules, txn->as_of, &h)};
      keep_hit(p, weights, &wh);
    }
  }
  return ag_decide(rules, txn, d, err);
}
