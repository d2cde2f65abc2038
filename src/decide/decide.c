/*
 * decide.c - the determination engine (docs/decision-model.md).
 *
 * The walk: validate -> is the rule in force (meta.tsv) -> classify the
 * item (740.22(b)(1), Note 1 to 4E001; an item acegate does not carry is
 * OUT_OF_SCOPE, outside-scope.tsv) -> restricted parties (list-meanings.tsv)
 * -> Part 746 -> Country Groups -> Country Chart (738.4) -> the 740.22(c)
 * restriction rows and their exceptions -> ENC (740.17) for the 5A004.b
 * family -> outcome. The due-diligence answers (diligence.c) are read
 * right after the restricted parties: their REVIEW applies only where
 * nothing stricter decides, and their knowledge feeds 740.22(c)(2).
 *
 * Invariants: no allocation and no I/O; every step appended carries a
 * citation; the outcome only ever gets stricter as the walk goes on
 * (NLR < LICENSE_EXCEPTION_ACE < OUT_OF_SCOPE < REVIEW < LICENSE_REQUIRED
 * < PROHIBITED).
 */
#include "acegate/decide.h"
#include "decide_int.h"

#include <stdio.h>
#include <string.h>

static const char *const outcome_names[AG_OUTCOME_COUNT] = {
    "NLR", "LICENSE_EXCEPTION_ACE", "LICENSE_REQUIRED", "PROHIBITED", "REVIEW", "OUT_OF_SCOPE"};
static const char *const step_names[AG_STEP_COUNT] = {
    "validate",   "rule_in_force", "rule_text",   "classify",     "decontrol",
    "screening",  "part_746",      "country_groups", "country_chart", "ace_restriction",
    "ace_exception", "enc",        "outcome",     "scope",        "gov",
    "due_diligence", "classification"};
static const char *const result_names[] = {"pass",    "info",    "not_applicable",
                                           "applies", "blocked", "lifted",
                                           "license_required", "no_license_required",
                                           "review",  "prohibited"};
static const char *const role_names[] = {"end_user", "consignee", "intermediate_consignee",
                                         "purchaser"};

const char *ag_outcome_name(ag_outcome o) {
  return (unsigned)o < AG_OUTCOME_COUNT ? outcome_names[o] : "?";
}
const char *ag_step_kind_name(ag_step_kind k) {
  return (unsigned)k < AG_STEP_COUNT ? step_names[k] : "?";
}
const char *ag_step_result_name(ag_step_result r) {
  return (unsigned)r <= AG_RESULT_PROHIBITED ? result_names[r] : "?";
}
const char *ag_party_role_name(ag_party_role r) {
  return (unsigned)r < AG_PARTY_COUNT ? role_names[r] : "?";
}

void ag_txn_init(ag_txn *t) {
  memset(t, 0, sizeof *t);
  t->as_of = ag_date_today();
  t->transaction = AG_TXN_EXPORT;
  t->end_user_type = AG_EU_NON_GOVERNMENT;
  t->end_use = AG_USE_NONE;
}

/* Severity order for "only ever stricter". */
static int severity(ag_outcome o) {
  switch (o) {
  case AG_OUTCOME_NLR: return 0;
  case AG_OUTCOME_LICENSE_EXCEPTION_ACE: return 1;
  case AG_OUTCOME_OUT_OF_SCOPE: return 2;
  case AG_OUTCOME_REVIEW: return 3;
  case AG_OUTCOME_LICENSE_REQUIRED: return 4;
  case AG_OUTCOME_PROHIBITED:
  case AG_OUTCOME_COUNT: break;
  }
  return 5;
}

static void step(ag_decision *d, ag_step_kind kind, ag_step_result result, const char *cite,
                 const void *row, uint32_t arg) {
  if (d->n_steps < AG_MAX_STEPS)
    d->steps[d->n_steps++] = (ag_step){kind, result, cite, row, arg};
}

static void block(ag_decision *d, const char *cite) {
  for (int i = 0; i < d->n_blocked; i++)
    if (d->blocked_by[i] == cite || strcmp(d->blocked_by[i], cite) == 0)
      return;
  if (d->n_blocked < AG_MAX_BLOCKED)
    d->blocked_by[d->n_blocked++] = cite;
  d->ace_available = false;
}

static void alternative(ag_decision *d, ag_alt_kind kind, const void *row) {
  for (int i = 0; i < d->n_alternatives; i++)
    if (d->alternatives[i].kind == kind && d->alternatives[i].row == row)
      return;
  if (d->n_alternatives < AG_MAX_ALTERNATIVES)
    d->alternatives[d->n_alternatives++] = (ag_alternative){kind, row};
}

static bool in_force(const ag_row_meta *m, ag_date on) { return m->from <= on && on <= m->to; }

static bool deemed(ag_txn_kind k) {
  return k == AG_TXN_DEEMED_EXPORT || k == AG_TXN_DEEMED_REEXPORT;
}

static uint32_t txn_flags(const ag_txn *t) {
  return (t->police_or_judicial ? AG_FLAG_POLICE_OR_JUDICIAL : 0) |
         (t->national_csirt ? AG_FLAG_NATIONAL_CSIRT : 0) |
         (t->knows_unauthorized_use ? AG_FLAG_KNOWS_UNAUTHORIZED_USE : 0);
}

/* ---- validation: every error names the field ---- */

/* The carried paragraphs that take a "for" qualifier on date, for an error
 * message: "4D001.a, 4E001.a, ...", written into list. */
static const char *paragraphs_taking_for(const ag_rules *r, ag_date on, char *list, size_t cap) {
  size_t used = 0;
  list[0] = '\0';
  for (size_t i = 0; i < r->n_items && used < cap - 1; i++) {
    const ag_item *it = &r->items[i];
    if (!it->for_ || !in_force(&it->meta, on))
      continue;
    bool seen = false;
    for (size_t k = 0; k < i && !seen; k++)
      seen = r->items[k].for_ && in_force(&r->items[k].meta, on) &&
             !strcmp(r->items[k].paragraph, it->paragraph);
    if (!seen)
      used += (size_t)snprintf(list + used, cap - used, "%s%s", used ? ", " : "", it->paragraph);
  }
  return list;
}

static ag_status validate(const ag_rules *r, const ag_txn *t, ag_decision *d, ag_error *err) {
  size_t dl = strnlen(t->destination, sizeof t->destination);
  d->dest = ag_rules_find_destination(r, t->destination, dl);
  if (d->dest < 0)
    return ag_error_set(err, AG_ERR_INPUT, "destination",
                        "\"%.*s\" is not an EAR destination (ISO 3166-1 alpha-2 such as \"CN\", "
                        "or a region such as \"UA-43\")",
                        (int)dl, t->destination);
  const ag_destination *dest = &r->destinations[d->dest];
  if (dest->kind == AG_DEST_UNITED_STATES)
    return ag_error_set(err, AG_ERR_INPUT, "destination",
                        "\"%s\" is the United States, which exports are made from, never a "
                        "destination; a U.S. agency or office abroad is a party whose country is "
                        "\"%s\" (end_user.country), going to the country where it is",
                        dest->code, dest->code);
  if (t->as_of >= r->rule_in_force_from && !in_force(&dest->meta, t->as_of))
    return ag_error_set(err, AG_ERR_INPUT, "destination",
                        "\"%s\" is not a separate EAR destination on the as_of date", dest->code);
  /* A deemed export or reexport goes to a person's country of nationality
   * (734.13(b); 746.6(a)(3): "the nationality of the foreign national ...
   * is what is used"), never to a region such as Crimea. */
  if (deemed(t->transaction) && strchr(dest->code, '-'))
    return ag_error_set(err, AG_ERR_INPUT, "destination",
                        "\"%s\" is a region; for a deemed export or reexport give the foreign "
                        "national's country of citizenship or permanent residence (734.13(b), "
                        "746.6(a)(3)), e.g. \"%.2s\"",
                        dest->code, dest->code);
  /* The end user's country decides 740.22(c)(1)(ii) ("a government end
   * user ... of any country listed in"), so it must be one the tables know. */
  const char *euc = t->parties[AG_PARTY_END_USER].country;
  size_t el = strnlen(euc, sizeof t->parties[AG_PARTY_END_USER].country);
  d->eu_dest = el ? ag_rules_find_destination(r, euc, el) : d->dest;
  if (d->eu_dest < 0)
    return ag_error_set(err, AG_ERR_INPUT, "end_user.country",
                        "\"%.*s\" is neither an EAR destination nor the United States (ISO "
                        "3166-1 alpha-2 such as \"CN\" or \"US\")",
                        (int)el, euc);
  /* Classify as of the date, or as of the rule's first day when the date
   * is earlier, so a bad paragraph is an error whatever the date. */
  ag_date on = t->as_of < r->rule_in_force_from ? r->rule_in_force_from : t->as_of;
  const char *for_ = t->for_[0] ? t->for_ : NULL;
  ag_item_lookup found = ag_rules_find_item(r, t->eccn, for_, on, &d->item);
  switch (found) {
  case AG_ITEM_FOUND:
    return AG_OK;
  case AG_ITEM_MALFORMED:
    if (for_ && ag_rules_find_item(r, t->eccn, NULL, on, &d->item) != AG_ITEM_MALFORMED) {
      d->item = NULL;
      return ag_error_set(err, AG_ERR_INPUT, "item.for", "\"%s\" is not a CCL paragraph", for_);
    }
    /* a designation the tables answer (EAR99) is an item, not a typo */
    if ((d->scope = ag_rules_outside_scope(r, t->eccn, on))) {
      if (!for_)
        return AG_OK;
      d->scope = NULL;
      return ag_error_set(err, AG_ERR_INPUT, "item.for", "%s takes no \"for\" qualifier",
                          t->eccn);
    }
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is not a CCL paragraph (expected an ECCN such as \"4D004\" or a "
                        "paragraph such as \"5A001.j\", or EAR99)",
                        t->eccn);
  case AG_ITEM_UNKNOWN_ENTRY:
  case AG_ITEM_OUTSIDE_SCOPE:
  case AG_ITEM_Z_PARAGRAPH:
    /* 740.22(b)(1): not a cybersecurity item (or one acegate does not hold);
     * answered, never refused, so a batch of a whole catalogue goes through */
    d->item = NULL;
    if ((d->scope = ag_rules_outside_scope(r, t->eccn, on)))
      return AG_OK;
    return ag_error_set(err, AG_ERR_RULES, "item.eccn",
                        "outside-scope.tsv has no row for \"%s\" on the date", t->eccn);
  case AG_ITEM_NOT_ON_CCL:
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn", "\"%s\" is not on the CCL: ECCN %.5s has "
                                                        "no such paragraph",
                        t->eccn, t->eccn);
  case AG_ITEM_FOR_NOT_TAKEN: {
    char taking[256];
    return ag_error_set(err, AG_ERR_INPUT, "item.for",
                        "%s takes no \"for\" qualifier (only %s are decided by what they are for)",
                        t->eccn, paragraphs_taking_for(r, on, taking, sizeof taking));
  }
  case AG_ITEM_OTHER_FOR:
    /* carried only for other items: as this one, not a cybersecurity item;
     * for a sub-paragraph outside-scope.tsv excludes (".z"), that row */
    d->item = NULL;
    d->scope = ag_rules_outside_scope(r, for_, on);
    if (!d->scope || d->scope->match[0] != '.')
      d->scope = ag_rules_outside_scope(r, t->eccn, on);
    if (d->scope)
      return AG_OK;
    return ag_error_set(err, AG_ERR_RULES, "item.eccn",
                        "outside-scope.tsv has no row for \"%s\" on the date", t->eccn);
  case AG_ITEM_NEEDS_FOR: {
    char fors[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->n_items && used < sizeof fors; i++)
      if (r->items[i].for_ && !strcmp(r->items[i].paragraph, t->eccn) &&
          in_force(&r->items[i].meta, on))
        used += (size_t)snprintf(fors + used, sizeof fors - used, "%s%s", used ? ", " : "",
                                 r->items[i].for_);
    return ag_error_set(err, AG_ERR_INPUT, "item.for",
                        "required for %s: it is a cybersecurity item only for %s; say which",
                        t->eccn, fors);
  }
  }
  return ag_error_set(err, AG_ERR_INTERNAL, "item.eccn", "unexpected lookup result");
}

/* ---- screening: only ever makes the outcome stricter ---- */

/* The screening list code of an engine list kind (docs/screening.md). */
static const char *list_code(ag_list_kind k) {
  switch (k) {
  case AG_LIST_ENTITY: return "EL";
  case AG_LIST_DENIED: return "DPL";
  case AG_LIST_SDN: return "SDN";
  case AG_LIST_UNVERIFIED: return "UVL";
  case AG_LIST_MEU: return "MEU";
  case AG_LIST_OTHER:
  case AG_LIST_NONE: break;
  }
  return "";
}

const char *ag_remembered_kind_name(ag_remembered_kind k) {
  return k == AG_REMEMBERED_CLEARED     ? "cleared"
         : k == AG_REMEMBERED_CONFIRMED ? "confirmed"
                                        : "none";
}

const ag_list_row *ag_decision_hit_meaning(const ag_decision *d, const ag_party_hit *hit) {
  if (!hit->confident || hit->remembered.kind == AG_REMEMBERED_CLEARED)
    return NULL;
  const char *code = hit->list_code ? hit->list_code : list_code(hit->list);
  return ag_rules_list_meaning(d->rules, code, hit->programs, d->txn->as_of);
}

/* Each hit counts as list-meanings.tsv says; a possible match, or a list
 * the table gives no meaning, is REVIEW. Only ever makes the outcome
 * stricter. */
static void screening(ag_decision *d, const ag_txn *t, ag_outcome *floor) {
  const char *lists_cite = d->rules->screening_cite;
  for (int role = 0; role < AG_PARTY_COUNT; role++) {
    const ag_party *p = &t->parties[role];
    if (!p->name)
      continue;
    if (!p->screened) {
      step(d, AG_STEP_SCREENING, AG_RESULT_INFO, lists_cite, p, (uint32_t)role);
      continue;
    }
    if (p->n_hits == 0)
      step(d, AG_STEP_SCREENING, AG_RESULT_PASS, lists_cite, p, (uint32_t)role);
    for (int h = 0; h < p->n_hits; h++) {
      const ag_party_hit *hit = &p->hits[h];
      uint32_t arg = (uint32_t)role | (uint32_t)h << 8;
      if (hit->remembered.kind == AG_REMEMBERED_CLEARED) {
        /* Supp. No. 3 to part 732: a red flag the exporter has inquired
         * into and resolved no longer stops the transaction; a reviewer
         * found this party is not this entry, and the entry is unchanged
         * since (the check applies only such clearances). */
        step(d, AG_STEP_SCREENING, AG_RESULT_PASS, AG_CITE_KYC_INQUIRE, p, arg);
        continue;
      }
      const ag_list_row *m = ag_decision_hit_meaning(d, hit);
      ag_outcome o = m ? (ag_outcome)m->outcome : AG_OUTCOME_REVIEW;
      ag_step_result res = o == AG_OUTCOME_PROHIBITED         ? AG_RESULT_PROHIBITED
                           : o == AG_OUTCOME_LICENSE_REQUIRED ? AG_RESULT_LICENSE_REQUIRED
                           : m && m->suspends_exceptions      ? AG_RESULT_BLOCKED
                                                              : AG_RESULT_REVIEW;
      step(d, AG_STEP_SCREENING, res, m ? m->cite : lists_cite, p, arg);
      if (m && m->suspends_exceptions)
        block(d, m->cite);
      if (severity(*floor) < severity(o))
        *floor = o;
    }
  }
}

/* ---- 740.22(c) and the ENC mirror: the restriction rows ---- */

static bool restriction_applies(const ag_restriction *x, const ag_txn *t, ag_groupset groups,
                                const ag_item *item, uint32_t flags) {
  return (!x->dest_groups || (groups & x->dest_groups)) &&
         (!x->end_users || (x->end_users & (1u << t->end_user_type))) &&
         (!x->transactions || (x->transactions & (1u << t->transaction))) &&
         ag_rules_item_selected(&x->items, item) && (x->flags & flags) == x->flags;
}

static bool exception_applies(const ag_exception *e, const ag_txn *t, ag_groupset groups,
                              const ag_item *item, uint32_t flags) {
  return (!e->dest_groups_also || (groups & e->dest_groups_also)) &&
         (!e->end_users || (e->end_users & (1u << t->end_user_type))) &&
         (e->end_user_flags & flags) == e->end_user_flags &&
         (!e->end_uses || (e->end_uses & (1u << t->end_use))) &&
         (!e->transactions || (e->transactions & (1u << t->transaction))) &&
         ag_rules_item_selected(&e->items, item);
}

/* Evaluates every restriction row of one exception kind; returns true if
 * the exception stays available. */
static bool evaluate_restrictions(ag_decision *d, const ag_rules *r, const ag_txn *t,
                                  ag_exception_kind kind) {
  bool available = true;
  /* answers stating knowledge count as knows_unauthorized_use (740.22(c)(2)) */
  uint32_t flags = txn_flags(t) | (d->dd_knowledge ? AG_FLAG_KNOWS_UNAUTHORIZED_USE : 0);
  for (size_t i = 0; i < r->n_restrictions; i++) {
    const ag_restriction *x = &r->restrictions[i];
    if (x->exception != kind || !in_force(&x->meta, t->as_of))
      continue;
    ag_groupset groups = x->groups_of_end_user ? d->eu_groups : d->groups;
    if (!restriction_applies(x, t, groups, d->item, flags)) {
      step(d, AG_STEP_RESTRICTION, AG_RESULT_NOT_APPLICABLE, x->paragraph, x, 0);
      continue;
    }
    const ag_exception *lift = NULL;
    for (uint32_t k = 0; k < x->exceptions_count && !lift; k++) {
      const ag_exception *e = &r->exceptions[x->exceptions_first + k];
      if (in_force(&e->meta, t->as_of) && exception_applies(e, t, groups, d->item, flags))
        lift = e;
    }
    if (lift) {
      step(d, AG_STEP_RESTRICTION, AG_RESULT_LIFTED, x->paragraph, x, 0);
      step(d, AG_STEP_EXCEPTION, AG_RESULT_LIFTED, lift->paragraph, lift, 0);
      continue;
    }
    step(d, AG_STEP_RESTRICTION, AG_RESULT_BLOCKED, x->paragraph, x, 0);
    available = false;
    if (kind == AG_EXC_ACE) {
      block(d, x->paragraph);
      if (x->flags & AG_FLAG_KNOWS_UNAUTHORIZED_USE)
        alternative(d, AG_ALT_NOT_KNOWING, x);
      for (uint32_t k = 0; k < x->exceptions_count; k++) {
        const ag_exception *e = &r->exceptions[x->exceptions_first + k];
        if (!in_force(&e->meta, t->as_of))
          continue;
        /* Name only exceptions this destination, item and kind of
         * transaction could meet (none lifts (c)(1)(i)-(ii) for a deemed
         * export: 740.22(c)(1) intro). */
        if ((e->dest_groups_also && !(groups & e->dest_groups_also)) ||
            !ag_rules_item_selected(&e->items, d->item) ||
            (e->transactions && !(e->transactions & (1u << t->transaction))))
          continue;
        alternative(d, AG_ALT_EXCEPTION, e);
      }
    }
  }
  return available;
}

static const char *first_blocking_ace(const ag_decision *d) {
  for (int i = 0; i < d->n_steps; i++)
    if (d->steps[i].kind == AG_STEP_RESTRICTION && d->steps[i].result == AG_RESULT_BLOCKED)
      return d->steps[i].cite;
  return NULL;
}

static const char *lifting_exception(const ag_decision *d) {
  const char *cite = NULL;
  for (int i = 0; i < d->n_steps; i++)
    if (d->steps[i].kind == AG_STEP_EXCEPTION)
      cite = d->steps[i].cite;
  return cite;
}

/* The citation of the strongest screening finding, or NULL. */
static const char *screening_cite(const ag_decision *d) {
  const char *cite = NULL;
  for (int i = 0; i < d->n_steps; i++)
    if (d->steps[i].kind == AG_STEP_SCREENING && d->steps[i].result != AG_RESULT_PASS) {
      cite = d->steps[i].cite;
      if (d->steps[i].result != AG_RESULT_REVIEW)
        break;
    }
  return cite;
}

/* Whether a reconstructed 740.22 row decides ACE's availability: an ACE
 * exception of that kind lifted the restriction ACE would otherwise fail
 * on, or every reason ACE is blocked is a reconstructed restriction row. A
 * reconstructed row only offered as an alternative decides nothing. */
static bool reconstructed_decides(const ag_decision *d) {
  if (d->ace_available) {
    for (int i = 0; i < d->n_steps; i++) {
      const ag_step *s = &d->steps[i];
      if (s->kind != AG_STEP_EXCEPTION)
        continue;
      const ag_exception *e = s->row;
      if (e->meta.status == AG_TEXT_RECONSTRUCTED &&
          d->rules->restrictions[e->restriction].exception == AG_EXC_ACE)
        return true;
    }
    return false;
  }
  if (d->n_blocked == 0)
    return false;
  for (int b = 0; b < d->n_blocked; b++) {
    bool by_reconstructed_row = false;
    for (int i = 0; i < d->n_steps && !by_reconstructed_row; i++) {
      const ag_step *s = &d->steps[i];
      if (s->kind != AG_STEP_RESTRICTION || s->result != AG_RESULT_BLOCKED)
        continue;
      const ag_restriction *x = s->row;
      by_reconstructed_row = x->exception == AG_EXC_ACE &&
                             x->meta.status == AG_TEXT_RECONSTRUCTED &&
                             !strcmp(x->paragraph, d->blocked_by[b]);
    }
    if (!by_reconstructed_row)
      return false;
  }
  return true;
}

static void finish(ag_decision *d, ag_outcome outcome, const char *cite, ag_outcome floor) {
  if (severity(floor) > severity(outcome)) {
    outcome = floor;
    cite = screening_cite(d);
  }
  /* an unresolved red flag: REVIEW where nothing stricter decides */
  if (d->dd_review_cite && severity(AG_OUTCOME_REVIEW) > severity(outcome)) {
    outcome = AG_OUTCOME_REVIEW;
    cite = d->dd_review_cite;
  }
  d->outcome = outcome;
  d->decided_by = cite;
  d->ace_reconstructed = reconstructed_decides(d);
  d->red_flags_reconstructed = ag_decide_dd_reconstructed(d);
  ag_step_result res = outcome == AG_OUTCOME_NLR                     ? AG_RESULT_NO_LICENSE_REQUIRED
                       : outcome == AG_OUTCOME_LICENSE_EXCEPTION_ACE ? AG_RESULT_PASS
                       : outcome == AG_OUTCOME_REVIEW               ? AG_RESULT_REVIEW
                       : outcome == AG_OUTCOME_PROHIBITED           ? AG_RESULT_PROHIBITED
                       : outcome == AG_OUTCOME_OUT_OF_SCOPE         ? AG_RESULT_NOT_APPLICABLE
                                                                    : AG_RESULT_LICENSE_REQUIRED;
  step(d, AG_STEP_OUTCOME, res, cite, NULL, 0);
}

ag_status ag_decide(const ag_rules *r, const ag_txn *t, ag_decision *d, ag_error *err) {
  d->n_steps = d->n_blocked = d->n_alternatives = 0;
  d->rules = r;
  d->txn = t;
  d->item = NULL;
  d->scope = NULL;
  d->controls = 0;
  d->groups = 0;
  d->eu_groups = 0;
  d->ace_available = true;
  d->ace_reconstructed = false;
  d->chart_read = false;
  d->license_required_by_chart = false;
  d->decided_by = NULL;
  d->n_red_flags = 0;
  d->dd_knowledge = false;
  d->red_flags_reconstructed = false;
  d->dd_review_cite = NULL;
  ag_status st = validate(r, t, d, err);
  if (!st)
    st = ag_decide_dd_validate(r, t, err);
  if (st)
    return st;
  if (!d->item && !d->scope) /* validate() sets one whenever it succeeds */
    return ag_error_set(err, AG_ERR_INTERNAL, "item.eccn", "no item row");
  step(d, AG_STEP_VALIDATE, AG_RESULT_PASS, "740.22(a)", NULL, 0);
  /* where the ECCN came from: the classification record it was taken from */
  if (t->classification)
    step(d, AG_STEP_CLASSIFICATION, AG_RESULT_INFO, t->classification->cite, t->classification,
         0);
  d->controls = d->item ? d->item->controls : 0;
  ag_outcome floor = AG_OUTCOME_NLR;

  /* 740.22(a): "License Exception GOV (§ 740.11 of the EAR) authorizes
   * certain exports to U.S. government agencies and personnel". A U.S.
   * agency is the government of no D country, so (c)(1)(ii) never reaches
   * it; GOV is named beside whatever ACE answers. */
  if (t->end_user_type == AG_EU_GOVERNMENT &&
      r->destinations[d->eu_dest].kind == AG_DEST_UNITED_STATES) {
    step(d, AG_STEP_GOV, AG_RESULT_INFO, "740.22(a)", &r->destinations[d->eu_dest], 0);
    alternative(d, AG_ALT_GOV_US, NULL);
  }

  /* The cybersecurity rule applies from the date meta.tsv gives. */
  /* Country Groups and the Part 746 row on the date: both walks read them.
   * A section may take deemed exports to its nationals out of its reach
   * (746.8(a)(12)(i)): the row names the paragraph. */
  d->groups = ag_rules_groups_on(r, d->dest, t->as_of);
  d->eu_groups = d->eu_dest == d->dest ? d->groups : ag_rules_groups_on(r, d->eu_dest, t->as_of);
  const ag_embargo *emb = ag_rules_embargo_on(r, d->dest, t->as_of);
  bool emb_excluded = emb && deemed(t->transaction) && emb->deemed_excluded;

  d->cyber_rule_in_force = t->as_of >= r->rule_in_force_from;
  /* Before the rule, or for an item acegate does not carry, the chart is
   * not read (license_required_by_chart null): only what does not depend
   * on the item's classification decides. */
  if (!d->cyber_rule_in_force || d->scope) {
    const char *rule_cite = r->rule_in_force_cite;
    step(d, AG_STEP_RULE_IN_FORCE, d->cyber_rule_in_force ? AG_RESULT_PASS : AG_RESULT_REVIEW,
         rule_cite, d->item, 0);
    if (!d->cyber_rule_in_force)
      block(d, rule_cite);
    if (d->scope) {
      step(d, AG_STEP_SCOPE, AG_RESULT_NOT_APPLICABLE, d->scope->decided_by, d->scope, 0);
      block(d, d->scope->decided_by);
    }
    /* What does not depend on the item's classification still decides:
     * the restricted-party lists (736.2(b)(4), 744.11, OFAC) and an
     * embargo on all items subject to the EAR (General Prohibition Six). */
    screening(d, t, &floor);
    ag_decide_dd_walk(d, t);
    if (emb && !emb_excluded) {
      /* only a reach of all items decides without the item's classification */
      bool decides = emb->all_items && !emb->partial;
      step(d, AG_STEP_EMBARGO, decides ? AG_RESULT_LICENSE_REQUIRED : AG_RESULT_REVIEW,
           decides ? emb->exceptions_cite : emb->section, emb, d->cyber_rule_in_force ? 2 : 1);
      if (decides) {
        block(d, emb->exceptions_cite);
        finish(d, AG_OUTCOME_LICENSE_REQUIRED, emb->exceptions_cite, floor);
        return AG_OK;
      }
    }
    /* an embargo that may reach the item leaves it to a person, never out of scope */
    if (d->scope && emb && !emb_excluded)
      finish(d, AG_OUTCOME_REVIEW, emb->section, floor);
    else if (d->scope)
      finish(d, AG_OUTCOME_OUT_OF_SCOPE, d->scope->decided_by, floor);
    else
      finish(d, AG_OUTCOME_REVIEW, rule_cite, floor);
    return AG_OK;
  }
  step(d, AG_STEP_RULE_IN_FORCE, AG_RESULT_PASS, r->rule_in_force_cite, d->item, 0);
  bool final_rule = t->as_of >= r->final_rule_from;
  step(d, AG_STEP_RULE_TEXT, AG_RESULT_INFO,
       final_rule ? r->final_rule_cite : r->interim_rule_cite, NULL, final_rule);

  /* 740.22(b)(1): is the item a cybersecurity item? */
  const ag_item *item = d->item;
  step(d, AG_STEP_CLASSIFY, item->cyber_item ? AG_RESULT_PASS : AG_RESULT_BLOCKED,
       "740.22(b)(1)", item, 0);
  if (!item->cyber_item)
    block(d, "740.22(b)(1)");

  /* Restricted parties (General Prohibitions Four and Five, OFAC). */
  screening(d, t, &floor);
  /* Due diligence (Supp. No. 3 to part 732; 740.22(c)(2)). */
  ag_decide_dd_walk(d, t);

  /* Note 1 to 4E001: vulnerability disclosure and cyber incident response
   * are not controlled under 4E001.a or .c. */
  bool decontrolled = (item->decontrol_uses & (1u << t->end_use)) != 0;
  if (decontrolled) {
    step(d, AG_STEP_DECONTROL, AG_RESULT_NOT_APPLICABLE, "Note 1 to 4E001", item, 0);
    d->controls = 0;
    block(d, "Note 1 to 4E001");
  }

  /* Part 746 (General Prohibition Six). */
  bool embargoed = false, partial = false;
  if (emb) {
    if (emb_excluded) {
      step(d, AG_STEP_EMBARGO, AG_RESULT_NOT_APPLICABLE, emb->deemed_cite, emb, 0);
    } else if (!ag_rules_embargo_reaches(emb, d->controls)) {
      /* 746.3(a)(1): only CCL items controlled for the reasons it lists
       * (step arg 2); an item Note 1 to 4E001 takes out of control has none */
      step(d, AG_STEP_EMBARGO, AG_RESULT_NOT_APPLICABLE, emb->section, emb, 2);
    } else if (emb->partial) {
      step(d, AG_STEP_EMBARGO, AG_RESULT_REVIEW, emb->section, emb, 0);
      partial = true;
      alternative(d, AG_ALT_ADDRESS, emb);
    } else {
      step(d, AG_STEP_EMBARGO, AG_RESULT_LICENSE_REQUIRED, emb->exceptions_cite, emb, 0);
      block(d, emb->exceptions_cite);
      embargoed = true;
    }
  } else {
    step(d, AG_STEP_EMBARGO, AG_RESULT_NOT_APPLICABLE, "736.2(b)(6)", NULL, 0);
  }
  step(d, AG_STEP_GROUPS, AG_RESULT_INFO, "Supp. 1 to part 740", NULL, d->groups);

  if (decontrolled) {
    /* not controlled under 4E001.a/.c: no chart requirement on that account */
    d->chart_read = true;
    if (embargoed)
      finish(d, AG_OUTCOME_LICENSE_REQUIRED, emb->exceptions_cite, floor);
    else if (partial)
      finish(d, AG_OUTCOME_REVIEW, emb->section, floor);
    else
      finish(d, AG_OUTCOME_NLR, "Note 1 to 4E001", floor);
    return AG_OK;
  }

  /* Country Chart (738.4(a)(2)); EI items need a licence to every
   * destination except Canada (742.15(a)). */
  const ag_chart_row *chart = ag_rules_chart_on(r, d->dest, t->as_of);
  uint32_t x_columns = 0;
  bool points_to_746 = false;
  if (chart)
    for (int c = 0; c < AG_COL_COUNT; c++)
      if (item->controls & (1u << c)) {
        if (chart->mark[c] == AG_MARK_X)
          x_columns |= 1u << c;
        else if (chart->mark[c] == AG_MARK_PART746)
          points_to_746 = true;
      }
  d->chart_read = true;
  d->license_required_by_chart = x_columns != 0 || points_to_746 || embargoed;
  step(d, AG_STEP_CHART,
       d->license_required_by_chart ? AG_RESULT_LICENSE_REQUIRED : AG_RESULT_NO_LICENSE_REQUIRED,
       "738.4(a)(2)", chart, x_columns);

  /* Under an embargo, ENC only where its paragraph lists it for this party:
   * the row's enc_for (746.8(c)(2)(vi) names civil end users and the
   * missions of A:5/A:6 governments; 746.3(c) lists ENC for anyone). */
  bool enc_by_746 =
      !embargoed || ag_rules_embargo_enc_for(emb, t->end_user_type, d->eu_groups);

  /* License Exception ACE, or ENC for the 5A004.b family. */
  bool enc_available = false;
  if (item->cyber_item) {
    if (!evaluate_restrictions(d, r, t, AG_EXC_ACE))
      d->ace_available = false;
  } else if (item->family == AG_FAMILY_FORENSIC) {
    enc_available = evaluate_restrictions(d, r, t, AG_EXC_ENC);
    /* step arg: 1 may apply, 0 its end-use restriction, 2 Part 746 (the
     * step's row is then the Part 746 row, whose paragraph the text names) */
    if (enc_available && !enc_by_746)
      step(d, AG_STEP_ENC, AG_RESULT_BLOCKED, emb->exceptions_cite, emb, 2);
    else
      step(d, AG_STEP_ENC, enc_available ? AG_RESULT_REVIEW : AG_RESULT_BLOCKED, "740.17", item,
           enc_available);
    enc_available = enc_available && enc_by_746;
  }
  if (embargoed)
    d->ace_available = false;

  /* Outcome. */
  if (embargoed && item->family == AG_FAMILY_FORENSIC && enc_available) {
    /* the section's list keeps ENC for this party (746.3(c); 746.8(c)(2)(vi)) */
    alternative(d, AG_ALT_ENC, item);
    finish(d, AG_OUTCOME_REVIEW, emb->exceptions_cite, floor);
  } else if (embargoed) {
    alternative(d, AG_ALT_GOV_TMP, NULL);
    finish(d, AG_OUTCOME_LICENSE_REQUIRED, emb->exceptions_cite, floor);
  } else if (partial) {
    finish(d, AG_OUTCOME_REVIEW, emb->section, floor);
  } else if (!d->license_required_by_chart) {
    finish(d, AG_OUTCOME_NLR, "738.4(a)(2)", floor);
  } else if (item->cyber_item && d->ace_available) {
    const char *lift = lifting_exception(d);
    finish(d, AG_OUTCOME_LICENSE_EXCEPTION_ACE, lift ? lift : "740.22(b)(1)", floor);
  } else if (item->family == AG_FAMILY_FORENSIC) {
    if (enc_available) {
      alternative(d, AG_ALT_ENC, item);
      finish(d, AG_OUTCOME_REVIEW, "740.17", floor);
    } else {
      alternative(d, AG_ALT_GOV_TMP, NULL);
      finish(d, AG_OUTCOME_LICENSE_REQUIRED, "740.17", floor);
    }
  } else {
    alternative(d, AG_ALT_GOV_TMP, NULL);
    alternative(d, AG_ALT_CCL_EXCEPTIONS, item);
    /* ACE blocked by a 740.22(c) row, or only by a listed party (744.11 ...) */
    const char *cite = item->cyber_item ? first_blocking_ace(d) : "740.22(b)(1)";
    if (!cite)
      cite = screening_cite(d);
    finish(d, AG_OUTCOME_LICENSE_REQUIRED, cite ? cite : "740.22(c)", floor);
  }
  return AG_OK;
}
