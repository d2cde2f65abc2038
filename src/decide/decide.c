/*
 * decide.c - the determination engine (docs/decision-model.md).
 *
 * The walk: validate -> is the rule in force (87 FR 1670) -> classify the
 * item (740.22(b)(1), Note 1 to 4E001) -> restricted parties (736.2(b)(4),
 * 744.11, OFAC) -> Part 746 -> Country Groups -> Country Chart (738.4) ->
 * the 740.22(c) restriction rows and their exceptions -> ENC (740.17) for
 * the 5A004.b family -> outcome.
 *
 * Invariants: no allocation and no I/O; every step appended carries a
 * citation; the outcome only ever gets stricter as the walk goes on
 * (NLR < LICENSE_EXCEPTION_ACE < REVIEW < LICENSE_REQUIRED < PROHIBITED).
 */
#include "acegate/decide.h"

#include <stdio.h>
#include <string.h>

static const char *const outcome_names[] = {"NLR", "LICENSE_EXCEPTION_ACE", "LICENSE_REQUIRED",
                                            "PROHIBITED", "REVIEW"};
static const char *const step_names[] = {
    "validate",   "rule_in_force", "rule_text",   "classify",     "decontrol",
    "screening",  "part_746",      "country_groups", "country_chart", "ace_restriction",
    "ace_exception", "enc",        "outcome"};
static const char *const result_names[] = {"pass",    "info",    "not_applicable",
                                           "applies", "blocked", "lifted",
                                           "license_required", "no_license_required",
                                           "review",  "prohibited"};
static const char *const role_names[] = {"end_user", "consignee", "intermediate_consignee",
                                         "purchaser"};

const char *ag_outcome_name(ag_outcome o) { return (unsigned)o < 5 ? outcome_names[o] : "?"; }
const char *ag_step_kind_name(ag_step_kind k) {
  return (unsigned)k <= AG_STEP_OUTCOME ? step_names[k] : "?";
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
  case AG_OUTCOME_REVIEW: return 2;
  case AG_OUTCOME_LICENSE_REQUIRED: return 3;
  case AG_OUTCOME_PROHIBITED: return 4;
  }
  return 4;
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

static ag_status validate(const ag_rules *r, const ag_txn *t, ag_decision *d, ag_error *err) {
  size_t dl = strnlen(t->destination, sizeof t->destination);
  d->dest = ag_rules_find_destination(r, t->destination, dl);
  if (d->dest < 0)
    return ag_error_set(err, AG_ERR_INPUT, "destination",
                        "\"%.*s\" is not an EAR destination (ISO 3166-1 alpha-2 such as \"CN\", "
                        "or a region such as \"UA-43\")",
                        (int)dl, t->destination);
  const ag_destination *dest = &r->destinations[d->dest];
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
                        "\"%.*s\" is not an EAR destination (ISO 3166-1 alpha-2 such as \"CN\")",
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
    if (for_ && ag_rules_find_item(r, t->eccn, NULL, on, &d->item) != AG_ITEM_MALFORMED)
      return ag_error_set(err, AG_ERR_INPUT, "item.for", "\"%s\" is not a CCL paragraph", for_);
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is not a CCL paragraph (expected an ECCN such as \"4D004\" or a "
                        "paragraph such as \"5A001.j\")",
                        t->eccn);
  case AG_ITEM_UNKNOWN_ENTRY:
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is outside the cybersecurity scope acegate carries: it covers "
                        "ECCNs 4A005, 4D001, 4D004, 4E001, 5A001, 5B001, 5D001, 5E001, 5A004, "
                        "5D002 and 5E002",
                        t->eccn);
  case AG_ITEM_NOT_ON_CCL:
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn", "\"%s\" is not on the CCL: ECCN %.5s has "
                                                        "no such paragraph",
                        t->eccn, t->eccn);
  case AG_ITEM_FOR_NOT_TAKEN:
    return ag_error_set(err, AG_ERR_INPUT, "item.for",
                        "%s takes no \"for\" qualifier (only paragraphs such as 4D001.a, 4E001.a "
                        "and 5D001.a are decided by what they are for)",
                        t->eccn);
  case AG_ITEM_Z_PARAGRAPH:
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is a .z paragraph (an item that also meets 3A090 or 4A090 "
                        "parameters): its RS licence requirement (742.6(a)(6)(iii)) and the "
                        "licence exception restrictions of 740.2(a)(9)(ii) are outside the tables "
                        "acegate carries, so it is not decided as %.5s",
                        t->eccn, t->eccn);
  case AG_ITEM_OUTSIDE_SCOPE:
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn",
                        "\"%s\" is on the CCL but outside the cybersecurity scope acegate "
                        "carries (not a 740.22(b)(1) cybersecurity item nor a neighbouring "
                        "paragraph)",
                        t->eccn);
  case AG_ITEM_NEEDS_FOR:
  case AG_ITEM_OTHER_FOR: {
    char fors[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->n_items && used < sizeof fors; i++)
      if (r->items[i].for_ && !strcmp(r->items[i].paragraph, t->eccn) &&
          in_force(&r->items[i].meta, on))
        used += (size_t)snprintf(fors + used, sizeof fors - used, "%s%s", used ? ", " : "",
                                 r->items[i].for_);
    if (found == AG_ITEM_NEEDS_FOR)
      return ag_error_set(err, AG_ERR_INPUT, "item.for",
                          "required for %s: it is a cybersecurity item only for %s; say which",
                          t->eccn, fors);
    return ag_error_set(err, AG_ERR_INPUT, "item.for",
                        "%s for %s is outside the cybersecurity scope acegate carries (it is a "
                        "cybersecurity item only for %s)",
                        t->eccn, for_, fors);
  }
  }
  return ag_error_set(err, AG_ERR_INTERNAL, "item.eccn", "unexpected lookup result");
}

/* ---- screening: only ever makes the outcome stricter ---- */

/* What a screening step cites when no list decides: the Entity List, the
 * Denied Persons (General Prohibition Four) and the SDN list (Appendix A to
 * 31 CFR chapter V). */
#define SCREEN_CITE "744.11; 736.2(b)(4); 31 CFR ch. V App. A"

/* An SDN match: OFAC's blocking (the SDN list is Appendix A to 31 CFR
 * chapter V) and, for designations under the programs the EAR name, a BIS
 * licence requirement too: 744.8 (E.O. 13382, [NPWMD]), 744.12 ([SDGT]),
 * 744.13 ([SDT]), 744.14 ([FTO]). *ear gets that section or NULL. */
static const char *sdn_cite(const char *programs, const char **ear) {
  static const struct {
    const char *program, *section, *cite;
  } ear_programs[] = {
      {"NPWMD", "744.8", "31 CFR ch. V App. A; 744.8"},
      {"SDGT", "744.12", "31 CFR ch. V App. A; 744.12"},
      {"SDT", "744.13", "31 CFR ch. V App. A; 744.13"},
      {"FTO", "744.14", "31 CFR ch. V App. A; 744.14"},
  };
  *ear = NULL;
  for (const char *p = programs ? programs : ""; *p;) {
    size_t n = strcspn(p, " ;,[]");
    for (size_t i = 0; n && i < sizeof ear_programs / sizeof ear_programs[0]; i++)
      if (strlen(ear_programs[i].program) == n && !memcmp(p, ear_programs[i].program, n)) {
        *ear = ear_programs[i].section;
        return ear_programs[i].cite;
      }
    p += n ? n : 1;
  }
  return "31 CFR ch. V App. A";
}

static void screening(ag_decision *d, const ag_txn *t, ag_outcome *floor) {
  for (int role = 0; role < AG_PARTY_COUNT; role++) {
    const ag_party *p = &t->parties[role];
    if (!p->name)
      continue;
    if (!p->screened) {
      step(d, AG_STEP_SCREENING, AG_RESULT_INFO, SCREEN_CITE, p,
           (uint32_t)role);
      continue;
    }
    if (p->n_hits == 0)
      step(d, AG_STEP_SCREENING, AG_RESULT_PASS, SCREEN_CITE, p,
           (uint32_t)role);
    for (int h = 0; h < p->n_hits; h++) {
      const ag_party_hit *hit = &p->hits[h];
      uint32_t arg = (uint32_t)role | (uint32_t)h << 8;
      if (!hit->confident) {
        step(d, AG_STEP_SCREENING, AG_RESULT_REVIEW, SCREEN_CITE, p, arg);
        if (severity(*floor) < severity(AG_OUTCOME_REVIEW))
          *floor = AG_OUTCOME_REVIEW;
        continue;
      }
      switch (hit->list) {
      case AG_LIST_DENIED:
        step(d, AG_STEP_SCREENING, AG_RESULT_PROHIBITED, "736.2(b)(4)", p, arg);
        block(d, "736.2(b)(4)");
        *floor = AG_OUTCOME_PROHIBITED;
        break;
      case AG_LIST_SDN: {
        const char *ear, *cite = sdn_cite(hit->programs, &ear);
        step(d, AG_STEP_SCREENING, AG_RESULT_PROHIBITED, cite, p, arg);
        block(d, ear ? ear : "31 CFR ch. V App. A");
        *floor = AG_OUTCOME_PROHIBITED;
        break;
      }
      case AG_LIST_ENTITY:
        step(d, AG_STEP_SCREENING, AG_RESULT_LICENSE_REQUIRED, "744.11", p, arg);
        block(d, "744.11");
        if (severity(*floor) < severity(AG_OUTCOME_LICENSE_REQUIRED))
          *floor = AG_OUTCOME_LICENSE_REQUIRED;
        break;
      case AG_LIST_MEU:
        step(d, AG_STEP_SCREENING, AG_RESULT_LICENSE_REQUIRED, "744.21", p, arg);
        block(d, "744.21");
        if (severity(*floor) < severity(AG_OUTCOME_LICENSE_REQUIRED))
          *floor = AG_OUTCOME_LICENSE_REQUIRED;
        break;
      case AG_LIST_UNVERIFIED:
        step(d, AG_STEP_SCREENING, AG_RESULT_BLOCKED, "744.15", p, arg);
        block(d, "744.15");
        if (severity(*floor) < severity(AG_OUTCOME_REVIEW))
          *floor = AG_OUTCOME_REVIEW;
        break;
      case AG_LIST_OTHER:
      case AG_LIST_NONE:
        step(d, AG_STEP_SCREENING, AG_RESULT_REVIEW, SCREEN_CITE, p,
             arg);
        if (severity(*floor) < severity(AG_OUTCOME_REVIEW))
          *floor = AG_OUTCOME_REVIEW;
        break;
      }
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
  uint32_t flags = txn_flags(t);
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
      if (kind == AG_EXC_ACE && lift->meta.status == AG_TEXT_RECONSTRUCTED)
        d->ace_reconstructed = true;
      continue;
    }
    step(d, AG_STEP_RESTRICTION, AG_RESULT_BLOCKED, x->paragraph, x, 0);
    available = false;
    if (kind == AG_EXC_ACE) {
      block(d, x->paragraph);
      if (x->meta.status == AG_TEXT_RECONSTRUCTED)
        d->ace_reconstructed = true;
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
        if (e->meta.status == AG_TEXT_RECONSTRUCTED)
          d->ace_reconstructed = true;
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

static void finish(ag_decision *d, ag_outcome outcome, const char *cite, ag_outcome floor) {
  if (severity(floor) > severity(outcome)) {
    outcome = floor;
    cite = screening_cite(d);
  }
  d->outcome = outcome;
  d->decided_by = cite;
  ag_step_result res = outcome == AG_OUTCOME_NLR                     ? AG_RESULT_NO_LICENSE_REQUIRED
                       : outcome == AG_OUTCOME_LICENSE_EXCEPTION_ACE ? AG_RESULT_PASS
                       : outcome == AG_OUTCOME_REVIEW               ? AG_RESULT_REVIEW
                       : outcome == AG_OUTCOME_PROHIBITED           ? AG_RESULT_PROHIBITED
                                                                    : AG_RESULT_LICENSE_REQUIRED;
  step(d, AG_STEP_OUTCOME, res, cite, NULL, 0);
}

ag_status ag_decide(const ag_rules *r, const ag_txn *t, ag_decision *d, ag_error *err) {
  d->n_steps = d->n_blocked = d->n_alternatives = 0;
  d->rules = r;
  d->txn = t;
  d->item = NULL;
  d->controls = 0;
  d->groups = 0;
  d->eu_groups = 0;
  d->ace_available = true;
  d->ace_reconstructed = false;
  d->license_required_by_chart = false;
  d->decided_by = NULL;
  ag_status st = validate(r, t, d, err);
  if (st)
    return st;
  if (!d->item) /* validate() sets it whenever it succeeds */
    return ag_error_set(err, AG_ERR_INTERNAL, "item.eccn", "no item row");
  step(d, AG_STEP_VALIDATE, AG_RESULT_PASS, "740.22(a)", NULL, 0);
  d->controls = d->item->controls;
  ag_outcome floor = AG_OUTCOME_NLR;

  /* 87 FR 1670: the cybersecurity rule applies from 2022-03-07. */
  /* Country Groups and the Part 746 row on the date: both walks read them.
   * A section may take deemed exports to its nationals out of its reach
   * (746.8(a)(12)(i)): the row names the paragraph. */
  d->groups = ag_rules_groups_on(r, d->dest, t->as_of);
  d->eu_groups = d->eu_dest == d->dest ? d->groups : ag_rules_groups_on(r, d->eu_dest, t->as_of);
  const ag_embargo *emb = ag_rules_embargo_on(r, d->dest, t->as_of);
  bool emb_excluded = emb && deemed(t->transaction) && emb->deemed_excluded;

  d->cyber_rule_in_force = t->as_of >= r->rule_in_force_from;
  if (!d->cyber_rule_in_force) {
    step(d, AG_STEP_RULE_IN_FORCE, AG_RESULT_REVIEW, "87 FR 1670", NULL, 0);
    block(d, "87 FR 1670");
    /* What does not depend on the item's classification still decides:
     * the restricted-party lists (736.2(b)(4), 744.11, OFAC) and an
     * embargo on all items subject to the EAR (General Prohibition Six). */
    screening(d, t, &floor);
    if (emb && !emb_excluded) {
      /* only a reach of all items decides without the item's classification */
      bool decides = emb->all_items && !emb->partial;
      step(d, AG_STEP_EMBARGO, decides ? AG_RESULT_LICENSE_REQUIRED : AG_RESULT_REVIEW,
           decides ? emb->exceptions_cite : emb->section, emb, 1);
      if (decides) {
        d->license_required_by_chart = true; /* as for an embargo below */
        block(d, emb->exceptions_cite);
        finish(d, AG_OUTCOME_LICENSE_REQUIRED, emb->exceptions_cite, floor);
        return AG_OK;
      }
    }
    finish(d, AG_OUTCOME_REVIEW, "87 FR 1670", floor);
    return AG_OK;
  }
  step(d, AG_STEP_RULE_IN_FORCE, AG_RESULT_PASS, "87 FR 1670", NULL, 0);
  bool final_rule = t->as_of >= r->final_rule_from;
  step(d, AG_STEP_RULE_TEXT, AG_RESULT_INFO, final_rule ? "87 FR 31948" : "86 FR 58205", NULL,
       final_rule);

  /* 740.22(b)(1): is the item a cybersecurity item? */
  const ag_item *item = d->item;
  step(d, AG_STEP_CLASSIFY, item->cyber_item ? AG_RESULT_PASS : AG_RESULT_BLOCKED,
       "740.22(b)(1)", item, 0);
  if (!item->cyber_item)
    block(d, "740.22(b)(1)");

  /* Restricted parties (General Prohibitions Four and Five, OFAC). */
  screening(d, t, &floor);

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
