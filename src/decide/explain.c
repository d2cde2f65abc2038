/*
 * explain.c - the plain-English text of each trace step and alternative.
 * Rendered on demand from the step's kind, result and table row, so the
 * engine itself formats nothing. Sentences quote the table rows' own text
 * and sources, which carry the regulation's wording.
 */
#include "acegate/decide.h"

#include <stdio.h>
#include <string.h>

/* Inline so the length of a literal folds to a constant. */
static inline void put(ag_buf *b, const char *s) { ag_buf_append(b, s, strlen(s)); }

static void put_date(ag_buf *b, ag_date d) {
  char s[11];
  ag_date_format(d, s);
  ag_buf_append(b, s, 10);
}

static void put_groups(ag_buf *b, ag_groupset g) {
  bool first = true;
  for (int i = 0; i < AG_GROUP_COUNT; i++)
    if (g & (1u << i)) {
      if (!first)
        put(b, ", ");
      put(b, ag_group_name((ag_group)i));
      first = false;
    }
  if (first)
    put(b, "no Country Group");
}

static void put_dest(ag_buf *b, const ag_decision *d) {
  const ag_destination *dest = &d->rules->destinations[d->dest];
  put(b, dest->name);
  put(b, " (");
  put(b, dest->code);
  put(b, ")");
}

static void put_item(ag_buf *b, const ag_item *it) {
  put(b, it->paragraph);
  if (it->for_) {
    put(b, " (for ");
    put(b, it->for_);
    put(b, ")");
  }
}

static const char *eu_phrase(ag_end_user_type t) {
  switch (t) {
  case AG_EU_GOVERNMENT: return "a government end user";
  case AG_EU_NON_GOVERNMENT: return "a non-government end user";
  case AG_EU_FAVORABLE_TREATMENT: return "a favorable treatment cybersecurity end user";
  case AG_EU_INDIVIDUAL: return "an individual (non-government) end user";
  case AG_EU_COUNT: break;
  }
  return "an end user";
}

static const char *txn_phrase(ag_txn_kind k) {
  switch (k) {
  case AG_TXN_EXPORT: return "export";
  case AG_TXN_REEXPORT: return "reexport";
  case AG_TXN_TRANSFER: return "transfer (in-country)";
  case AG_TXN_DEEMED_EXPORT: return "deemed export";
  case AG_TXN_DEEMED_REEXPORT: return "deemed reexport";
  case AG_TXN_COUNT: break;
  }
  return "transaction";
}

static void put_status_note(ag_buf *b, const ag_row_meta *m) {
  if (m->status == AG_TEXT_RECONSTRUCTED)
    put(b, " [This row is reconstructed from summaries of 87 FR 31948, not the official text: "
           "verify before relying on it.]");
  else if (m->status == AG_TEXT_READING)
    put(b, " [The text does not say this in so many words: this row is acegate's reading of it "
           "(docs/rule-coverage.md).]");
}

static void put_source(ag_buf *b, const ag_row_meta *m) {
  put(b, " (source: ");
  put(b, m->source);
  put(b, ")");
}

static void screening_text(const ag_step *s, ag_buf *b) {
  const ag_party *p = s->row;
  ag_party_role role = (ag_party_role)(s->arg & 0xff);
  int h = (int)(s->arg >> 8);
  put(b, "Party ");
  put(b, ag_party_role_name(role));
  put(b, " \"");
  ag_buf_append(b, p->name, p->name_len);
  put(b, "\"");
  if (!p->screened) {
    put(b, " was not screened against the restricted-party lists (screening was turned off); "
           "the parties must be screened before the export goes ahead.");
    return;
  }
  if (p->n_hits == 0) {
    put(b, " was screened against the restricted-party lists and matched no listed entry.");
    return;
  }
  const ag_party_hit *hit = &p->hits[h];
  ag_buf_printf(b, " %s %s entry \"%s\" (id %s, score %.2f)",
                hit->confident ? "matches" : "may match", hit->list_name ? hit->list_name : "list",
                hit->matched_name ? hit->matched_name : "", hit->source_id ? hit->source_id : "-",
                hit->score);
  switch (s->result) {
  case AG_RESULT_PROHIBITED:
    if (hit->list == AG_LIST_DENIED)
      put(b, ": General Prohibition Four (736.2(b)(4)) forbids dealing with a person under a "
             "denial order, and no licence exception overcomes it (740.2(a)(1)).");
    else {
      put(b, ": the party is blocked by OFAC");
      if (hit->programs && hit->programs[0]) {
        put(b, " under program ");
        put(b, hit->programs);
      }
      put(b, "; U.S. persons may not deal with it without OFAC authorization (the SDN list is "
             "Appendix A to 31 CFR chapter V)");
      if (!strcmp(s->cite, "31 CFR ch. V App. A"))
        put(b, ".");
      else {
        put(b, ", and for this designation ");
        put(b, s->cite + strlen("31 CFR ch. V App. A; "));
        put(b, " also requires a BIS licence for items subject to the EAR.");
      }
    }
    break;
  case AG_RESULT_LICENSE_REQUIRED:
    if (hit->list == AG_LIST_MEU)
      put(b, ": 744.21 requires a licence for the items in supp. 2 to part 744 (for Russia and "
             "Belarus, all items subject to the EAR but certain food and medicine) when they are "
             "for a military end user, as a party on the Military End-User List (supp. 7 to part "
             "744) is; acegate requires a licence on such a match without checking supp. 2, and "
             "License Exception ACE does not overcome 744.21.");
    else {
      put(b, ": 744.11 requires a licence as the entry states");
      if (hit->license_requirement && hit->license_requirement[0]) {
        put(b, " (");
        put(b, hit->license_requirement);
        put(b, ")");
      }
      if (hit->license_policy && hit->license_policy[0]) {
        put(b, ", licence review policy: ");
        put(b, hit->license_policy);
      }
      if (hit->federal_register_notice && hit->federal_register_notice[0]) {
        put(b, ", listed by ");
        put(b, hit->federal_register_notice);
      }
      put(b, "; no licence exception, ACE included, overcomes it unless the entry says so.");
    }
    break;
  case AG_RESULT_BLOCKED:
    put(b, ": a party on the Unverified List suspends licence exceptions until the 744.15(b) "
           "statement is obtained.");
    break;
  default:
    put(b, ": a possible match below the confident threshold; a person must compare the "
           "party with the listed entry before the export goes ahead.");
  }
}

void ag_decision_step_text(const ag_decision *d, int i, ag_buf *b) {
  if (i < 0 || i >= d->n_steps)
    return;
  const ag_step *s = &d->steps[i];
  const ag_txn *t = d->txn;
  const ag_rules *r = d->rules;
  switch (s->kind) {
  case AG_STEP_VALIDATE:
    put(b, t->transaction == AG_TXN_EXPORT ? "An " : "A ");
    put(b, txn_phrase(t->transaction));
    put(b, " of ");
    put_item(b, d->item);
    put(b, " to ");
    put(b, eu_phrase(t->end_user_type));
    put(b, " in ");
    put_dest(b, d);
    put(b, " on ");
    put_date(b, t->as_of);
    if (t->end_use != AG_USE_NONE) {
      put(b, ", for ");
      put(b, ag_end_use_name(t->end_use));
    }
    put(b, ".");
    if (t->transaction == AG_TXN_DEEMED_EXPORT || t->transaction == AG_TXN_DEEMED_REEXPORT)
      put(b, " A release to a foreign person is deemed an export to the person's most recent "
             "country of citizenship or permanent residency (734.13(b)).");
    break;
  case AG_STEP_RULE_IN_FORCE:
    if (s->result == AG_RESULT_PASS) {
      put(b, "The cybersecurity rule (86 FR 58205) is in force: it took effect on ");
      put_date(b, r->rule_in_force_from);
      put(b, " (");
      put(b, r->rule_in_force_source);
      put(b, ").");
    } else {
      put(b, "On ");
      put_date(b, t->as_of);
      put(b, " the cybersecurity rule (86 FR 58205) was not yet in force; it took effect on ");
      put_date(b, r->rule_in_force_from);
      put(b, " (");
      put(b, r->rule_in_force_source);
      put(b, "). License Exception ACE did not exist; the export must be assessed under the EAR "
             "as it then stood (some of these paragraphs, such as 5A001.j, were controlled "
             "before the rule).");
    }
    break;
  case AG_STEP_RULE_TEXT:
    if (s->arg) {
      put(b, "740.22 as amended by the final rule (");
      put(b, r->final_rule_source);
      put(b, ") applies. Its changes to the government-end-user exceptions are held as "
             "reconstructions of published summaries (see docs/rule-coverage.md).");
    } else
      put(b, "740.22 as published in the interim final rule (86 FR 58205) applies, as in force "
             "from 2022-03-07 to 2022-05-25; acegate holds that text verbatim.");
    break;
  case AG_STEP_CLASSIFY:
    put_item(b, d->item);
    put(b, " (");
    put(b, d->item->text);
    put(b, ")");
    if (d->item->cyber_item)
      put(b, " is a 'cybersecurity item' listed in 740.22(b)(1), so License Exception ACE may "
             "apply.");
    else {
      put(b, " is not a 'cybersecurity item': 740.22(b)(1) does not list it, so License "
             "Exception ACE is not available.");
      if (d->item->family == AG_FAMILY_FORENSIC)
        put(b, " License Exception ENC (740.17) is the exception to consider for it.");
    }
    put(b, " Reasons for control: ");
    for (int c = 0, first = 1; c < AG_COL_COUNT; c++)
      if (d->item->controls & (1u << c)) {
        if (!first)
          put(b, ", ");
        put(b, ag_column_name((ag_column)c));
        first = 0;
      }
    put(b, ".");
    put_source(b, &d->item->meta);
    break;
  case AG_STEP_DECONTROL:
    put(b, "Note 1 to 4E001: ");
    put(b, ag_end_use_name(t->end_use));
    put(b, " is excluded from control under 4E001.a and 4E001.c, so this technology is not "
           "classified there; no licence is required on that account.");
    break;
  case AG_STEP_SCREENING:
    screening_text(s, b);
    break;
  case AG_STEP_EMBARGO: {
    const ag_embargo *e = s->row;
    if (!e) {
      put(b, "No Part 746 embargo or special control covers ");
      put_dest(b, d);
      put(b, " on this date.");
      break;
    }
    put(b, e->text);
    put(b, ".");
    if (s->arg) { /* before the cybersecurity rule: step arg 1 */
      if (s->result == AG_RESULT_REVIEW)
        put(b, e->partial ? " Only part of this oblast is a covered region: confirm whether the "
                            "consignee's address lies in the area of the so-called DNR or LNR."
                          : e->reach_reasons
                              ? " It reaches only items on the CCL controlled for the reasons it "
                                "lists; how this item was classified before the cybersecurity "
                                "rule is outside these tables."
                              : " It reaches only items on the CCL; how this item was classified "
                                "before the cybersecurity rule is outside these tables.");
      else {
        put(b, " It reaches all items subject to the EAR whatever their classification, and ");
        put(b, e->exceptions_cite);
        put(b, " lists the only licence exceptions, so a licence is required.");
      }
    } else if (s->result == AG_RESULT_NOT_APPLICABLE && s->arg == 2) {
      put(b, " But it reaches only items on the CCL controlled for ");
      put(b, e->reach_reasons);
      put(b, " reasons, and this item is not controlled for any of them here.");
    } else if (s->result == AG_RESULT_NOT_APPLICABLE) {
      put(b, " But ");
      put(b, e->deemed_cite);
      put(b, " takes deemed exports and reexports out of ");
      put(b, e->section);
      put(b, ": they follow the CCL licence requirements and the exception's own terms.");
    }
    else if (s->result == AG_RESULT_REVIEW)
      put(b, " Only part of this oblast is a covered region: confirm whether the consignee's "
             "address lies in the area of the so-called DNR or LNR.");
    else {
      put(b, " ");
      put(b, e->exceptions_cite);
      put(b, " does not list License Exception ACE, so a licence is required");
      if (e->lists_enc && d->item->family == AG_FAMILY_FORENSIC)
        put(b, e->enc_any ? "; it lists ENC"
                          : "; it lists ENC only for the civil end users it names");
      put(b, ".");
    }
    if (e->numbering_current)
      put(b, " The paragraphs are cited by today's numbering of the section; the text in force on "
             "this date may number them differently (see the source).");
    put_source(b, &e->meta);
    break;
  }
  case AG_STEP_GROUPS: {
    const ag_destination *dest = &r->destinations[d->dest];
    put(b, "On ");
    put_date(b, t->as_of);
    put(b, " ");
    put(b, dest->code);
    if (dest->chart_as != d->dest) {
      put(b, " (governed by the entries for ");
      put(b, r->destinations[dest->chart_as].code);
      put(b, ", ");
      put(b, dest->meta.source);
      put(b, ")");
    }
    put(b, " is in Country Groups ");
    put_groups(b, (ag_groupset)s->arg);
    put(b, ".");
    /* D:5 held from the State Department's list: say so, in or out */
    const ag_destination *gd = &r->destinations[dest->chart_as];
    const ag_group_row *state = NULL;
    for (uint32_t k = 0; k < gd->groups_count; k++) {
      const ag_group_row *g = &r->groups[gd->groups_first + k];
      if (g->state_list && (!state || (g->meta.from <= t->as_of && t->as_of <= g->meta.to)))
        state = g;
    }
    if (state) {
      put(b, (s->arg & (1u << AG_GROUP_D5)) ? " D:5 here follows" : " It is not in D:5 on this "
                                                                    "date, following");
      put(b, " the State Department's list of arms-embargoed countries (22 CFR 126.1), which "
             "the note to D:5 makes controlling");
      put_source(b, &state->meta);
      put(b, ".");
    }
    break;
  }
  case AG_STEP_CHART: {
    const ag_chart_row *c = s->row;
    if (!c) {
      put(b, "The Country Chart has no row for this destination on this date.");
      break;
    }
    put(b, "Country Chart: ");
    for (int k = 0, first = 1; k < AG_COL_COUNT; k++) {
      if (!(d->item->controls & (1u << k)))
        continue;
      if (!first)
        put(b, "; ");
      first = 0;
      put(b, ag_column_name((ag_column)k));
      put(b, c->mark[k] == AG_MARK_X         ? ": X (licence required)"
             : c->mark[k] == AG_MARK_PART746 ? ": see part 746"
                                             : ": no X");
    }
    if (s->result == AG_RESULT_LICENSE_REQUIRED)
      put(b, ". A licence is required unless a licence exception applies.");
    else
      put(b, ". No licence is required for these reasons for control (738.4(a)(2)(ii)(B)), "
             "provided General Prohibitions Four to Ten do not apply.");
    put_source(b, &c->meta);
    break;
  }
  case AG_STEP_RESTRICTION: {
    const ag_restriction *x = s->row;
    put(b, x->paragraph);
    put(b, ": ");
    put(b, x->text);
    if (s->result == AG_RESULT_NOT_APPLICABLE)
      put(b, ". Does not apply to this transaction.");
    else if (s->result == AG_RESULT_LIFTED)
      put(b, ". Applies, but an exception in the same paragraph lifts it (next step).");
    else {
      put(b, ". Applies: ");
      if (x->dest_groups && x->groups_of_end_user) {
        put(b, "the end user is of ");
        put(b, r->destinations[d->eu_dest].code);
        put(b, ", which is in ");
        put_groups(b, d->eu_groups & x->dest_groups);
        put(b, "; ");
      } else if (x->dest_groups) {
        put(b, r->destinations[d->dest].code);
        put(b, " is in ");
        put_groups(b, d->groups & x->dest_groups);
        put(b, "; ");
      }
      if (x->end_users) {
        put(b, "the end user is ");
        put(b, eu_phrase(t->end_user_type));
        put(b, "; ");
      }
      if (x->flags & AG_FLAG_KNOWS_UNAUTHORIZED_USE)
        put(b, "the exporter knows or has reason to know of use without authorization; ");
      put(b, "no exception in the paragraph covers it.");
    }
    put_status_note(b, &x->meta);
    break;
  }
  case AG_STEP_EXCEPTION: {
    const ag_exception *e = s->row;
    put(b, e->paragraph);
    put(b, ": ");
    put(b, e->text);
    put(b, ". The transaction meets it, so the restriction does not apply.");
    put_status_note(b, &e->meta);
    break;
  }
  case AG_STEP_ENC:
    if (s->arg == 2) {
      put(b, "License Exception ENC (740.17) is not available: ");
      put(b, s->cite);
      put(b, " lists the only licence exceptions for this destination, and ENC is not among "
             "them for this end user.");
    } else if (s->arg)
      put(b, "License Exception ENC (740.17) may authorize this item; acegate does not hold "
             "ENC's classification, reporting and end-user conditions, so a person must check "
             "them.");
    else
      put(b, "License Exception ENC (740.17) is not available: since 87 FR 31948 (2022-05-26) "
             "it carries the same end-use restriction as ACE for these items.");
    break;
  case AG_STEP_OUTCOME:
    switch (d->outcome) {
    case AG_OUTCOME_NLR:
      put(b, "No licence required (NLR).");
      break;
    case AG_OUTCOME_LICENSE_EXCEPTION_ACE:
      put(b, "A licence is required by the Country Chart, and License Exception ACE (740.22) "
             "authorizes the transaction. Record the exception used (758.1).");
      break;
    case AG_OUTCOME_LICENSE_REQUIRED:
      put(b, "A licence from BIS is required.");
      break;
    case AG_OUTCOME_PROHIBITED:
      put(b, "Prohibited: do not proceed.");
      break;
    case AG_OUTCOME_REVIEW:
      put(b, "Review: a compliance officer must decide before the transaction goes ahead.");
      break;
    }
    if (d->ace_reconstructed)
      put(b, " ACE availability here depends on a reconstructed row of 740.22 as amended by "
             "87 FR 31948.");
    break;
  }
}

void ag_decision_alternative_text(const ag_decision *d, int i, ag_buf *b) {
  if (i < 0 || i >= d->n_alternatives)
    return;
  const ag_alternative *a = &d->alternatives[i];
  switch (a->kind) {
  case AG_ALT_EXCEPTION: {
    const ag_exception *e = a->row;
    put(b, "ACE would be available under ");
    put(b, e->paragraph);
    put(b, " for: ");
    put(b, e->text);
    put(b, ".");
    put_status_note(b, &e->meta);
    break;
  }
  case AG_ALT_GOV_TMP:
    put(b, "Other licence exceptions may apply where ACE does not: GOV (740.11) for U.S. "
           "government agencies and personnel, TMP (740.9(a)(1)) for tools of the trade "
           "(740.22(a)); check each exception's own terms and any Part 746 limits.");
    break;
  case AG_ALT_ENC:
    put(b, "License Exception ENC (740.17) may authorize the transaction if the item meets its "
           "classification and end-user conditions.");
    break;
  case AG_ALT_NOT_KNOWING:
    put(b, "Without knowledge or reason to know of unauthorized use (740.22(c)(2)), ACE would "
           "be evaluated on its other restrictions.");
    break;
  case AG_ALT_CCL_EXCEPTIONS: {
    const ag_item *it = a->row;
    put(b, "The CCL entry for ");
    put(b, it->paragraph);
    put(b, " names other licence exceptions with their limits: ");
    put(b, it->other_exceptions);
    put(b, "; acegate does not evaluate them.");
    break;
  }
  case AG_ALT_ADDRESS:
    put(b, "If the consignee's address is outside the covered region, the rules for Ukraine "
           "apply.");
    break;
  }
}
