/*
 * explain.c - the plain-English text of each trace step and alternative.
 * Rendered on demand from the step's kind, result and table row, so the
 * engine itself formats nothing. Sentences quote the table rows' own text
 * and sources, which carry the regulation's wording.
 */
#include "acegate/decide.h"
#include "decide_int.h"

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

static void put_status_note(ag_buf *b, const ag_rules *r, const ag_row_meta *m) {
  if (m->status == AG_TEXT_RECONSTRUCTED) {
    put(b, " [This row is reconstructed from summaries of ");
    put(b, r->final_rule_cite);
    put(b, ", not the official text: verify before relying on it.]");
  } else if (m->status == AG_TEXT_READING)
    put(b, " [The text does not say this in so many words: this row is acegate's reading of it "
           "(docs/rule-coverage.md).]");
}

/* The item as the transaction names it: the carried row, or the ECCN given. */
static void put_txn_item(ag_buf *b, const ag_decision *d) {
  if (d->item) {
    put_item(b, d->item);
    return;
  }
  put(b, d->txn->eccn);
  if (d->txn->for_[0]) {
    put(b, " (for ");
    put(b, d->txn->for_);
    put(b, ")");
  }
}

/* The 740.22(b)(1) list as the tables hold it on the date. */
static void put_cyber_items(ag_buf *b, const ag_rules *r, ag_date on) {
  bool first = true;
  for (size_t i = 0; i < r->n_items; i++) {
    const ag_item *it = &r->items[i];
    if (!it->cyber_item || on < it->meta.from || on > it->meta.to)
      continue;
    if (!first)
      put(b, ", ");
    first = false;
    put_item(b, it);
  }
}

static void put_source(ag_buf *b, const ag_row_meta *m) {
  put(b, " (source: ");
  put(b, m->source);
  put(b, ")");
}

static void screening_text(const ag_decision *d, const ag_step *s, ag_buf *b) {
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
  const ag_remembered *r = &hit->remembered;
  if (r->kind == AG_REMEMBERED_CLEARED) {
    ag_buf_printf(b,
                  ": cleared by review %s (reviewer %s, %s): a reviewer found this party is not "
                  "the listed entry, and the entry is unchanged since, so the possible match is "
                  "a resolved red flag and does not ask for review again.",
                  r->audit_id, r->reviewer[0] ? r->reviewer : "command line", r->date);
    return;
  }
  if (r->kind == AG_REMEMBERED_CONFIRMED)
    ag_buf_printf(b, " (confirmed by review %s, reviewer %s, %s: the party is this entry "
                     "whatever the score)",
                  r->audit_id, r->reviewer[0] ? r->reviewer : "command line", r->date);
  const ag_list_row *m = ag_decision_hit_meaning(d, hit);
  if (!m) {
    put(b, hit->confident ? ": the tables give this list no meaning of its own, so a person must "
                            "weigh the match before the export goes ahead."
                          : ": a possible match below the confident threshold; a person must "
                            "compare the party with the listed entry before the export goes "
                            "ahead.");
    return;
  }
  put(b, ": ");
  put(b, m->text);
  if (hit->programs && hit->programs[0]) {
    put(b, " (programs: ");
    put(b, hit->programs);
    put(b, ")");
  }
  if (hit->license_requirement && hit->license_requirement[0]) {
    put(b, "; the entry's licence requirement: ");
    put(b, hit->license_requirement);
  }
  if (hit->license_policy && hit->license_policy[0]) {
    put(b, "; licence review policy: ");
    put(b, hit->license_policy);
  }
  if (hit->federal_register_notice && hit->federal_register_notice[0]) {
    put(b, "; listed by ");
    put(b, hit->federal_register_notice);
  }
  put(b, ".");
  put_source(b, &m->meta);
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
    put_txn_item(b, d);
    put(b, " to ");
    put(b, eu_phrase(t->end_user_type));
    if (d->eu_dest != d->dest) {
      put(b, " (end user's country: ");
      put(b, r->destinations[d->eu_dest].name);
      put(b, ")");
    }
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
      put(b, "The cybersecurity rule (");
      put(b, r->interim_rule_cite);
      put(b, ") is in force: it took effect on ");
      put_date(b, r->rule_in_force_from);
      put(b, " (");
      put(b, r->rule_in_force_source);
      put(b, ").");
    } else {
      put(b, "On ");
      put_date(b, t->as_of);
      put(b, " the cybersecurity rule (");
      put(b, r->interim_rule_cite);
      put(b, ") was not yet in force; it took effect on ");
      put_date(b, r->rule_in_force_from);
      put(b, " (");
      put(b, r->rule_in_force_source);
      put(b, "). License Exception ACE did not exist; the export must be assessed under the EAR "
             "as it then stood.");
      const ag_item *it = s->row;
      if (it && it->on_ccl_from != AG_DATE_NONE && t->as_of < it->on_ccl_from) {
        put(b, " ");
        put_item(b, it);
        put(b, " had no CCL entry before ");
        put_date(b, it->on_ccl_from);
        put(b, " (");
        put(b, it->on_ccl_source);
        put(b, "), so no Country Chart requirement can be read for it on this date.");
      } else if (it)
        put(b, " The tables hold this item's CCL controls only as the rule made them, so the "
               "Country Chart requirement of the day is not read here.");
    }
    break;
  case AG_STEP_RULE_TEXT:
    if (s->arg) {
      put(b, "740.22 as amended by the final rule (");
      put(b, r->final_rule_source);
      put(b, ") applies. Its changes to the government-end-user exceptions are held as "
             "reconstructions of published summaries (see docs/rule-coverage.md).");
    } else {
      put(b, "740.22 as published in the interim final rule (");
      put(b, r->interim_rule_cite);
      put(b, ") applies, as in force from ");
      put_date(b, r->rule_in_force_from);
      put(b, " to ");
      put_date(b, r->final_rule_from - 1);
      put(b, "; acegate holds that text verbatim.");
    }
    break;
  case AG_STEP_CLASSIFICATION: {
    const ag_txn_classification *c = s->row;
    put(b, "The item is ");
    put(b, t->eccn);
    if (t->for_[0]) {
      put(b, " (for ");
      put(b, t->for_);
      put(b, ")");
    }
    put(b, " as classified in audit record ");
    put(b, c->audit_id);
    put(b, " (acegate classify, ");
    put(b, c->questionnaire);
    put(b, ", answered for ");
    put(b, c->as_of);
    put(b, ")");
    if (c->n_candidates > 1)
      ag_buf_printf(b, ", one of the %d paragraphs it found", c->n_candidates);
    ag_buf_printf(b, ". It rests on %d decisive answers: %d on verbatim text, %d on our summary, "
                     "%d on reconstructed text",
                  c->n_verbatim + c->n_summary + c->n_reconstructed, c->n_verbatim,
                  c->n_summary, c->n_reconstructed);
    if (c->reconstructed) {
      put(b, "; a reconstructed criterion decided it (");
      put(b, c->reconstructed_items);
      put(b, "): verify that text before relying on the classification.");
    } else
      put(b, "; no reconstructed criterion decided it.");
    break;
  }
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
    screening_text(d, s, b);
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
    if (s->arg) { /* before the rule: step arg 1; an item out of scope: 2 */
      if (s->result == AG_RESULT_REVIEW)
        put(b, e->partial    ? " Only part of this oblast is a covered region: confirm whether the "
                               "consignee's address lies in the area of the so-called DNR or LNR."
               : s->arg == 2 ? " It reaches items on the CCL, with exceptions of its own for some "
                               "of them; whether it reaches this item is outside these tables, so "
                               "a person must decide."
               : e->reach_reasons
                   ? " It reaches only items on the CCL controlled for the reasons it lists; how "
                     "this item was classified before the cybersecurity rule is outside these "
                     "tables."
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
    put_status_note(b, d->rules, &x->meta);
    break;
  }
  case AG_STEP_EXCEPTION: {
    const ag_exception *e = s->row;
    put(b, e->paragraph);
    put(b, ": ");
    put(b, e->text);
    put(b, ". The transaction meets it, so the restriction does not apply.");
    put_status_note(b, d->rules, &e->meta);
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
    else {
      put(b, "License Exception ENC (740.17) is not available: since ");
      put(b, r->final_rule_cite);
      put(b, " (");
      put_date(b, r->final_rule_from);
      put(b, ") it carries the same end-use restriction as ACE for these items.");
    }
    break;
  case AG_STEP_SCOPE: {
    const ag_scope_row *x = s->row;
    put_txn_item(b, d);
    if (!strcmp(x->decided_by, "740.22(b)(1)")) {
      put(b, " is not a 'cybersecurity item': 740.22(b)(1) lists only ");
      put_cyber_items(b, r, t->as_of >= r->rule_in_force_from ? t->as_of : r->rule_in_force_from);
      put(b, ", so License Exception ACE does not apply to it.");
    } else {
      put(b, " is outside what acegate decides (");
      put(b, x->decided_by);
      put(b, ").");
    }
    put(b, " It is ");
    put(b, x->text);
    put(b, ". acegate does not determine this item's licence requirement: see ");
    put(b, x->refer_to);
    put(b, ".");
    put_source(b, &x->meta);
    break;
  }
  case AG_STEP_GOV:
    put(b, "The end user is a government end user of the United States, not of a country in "
           "Country Group D:1-D:5, so 740.22(c)(1)(ii) does not reach it. 740.22(a): \"License "
           "Exception GOV (§ 740.11 of the EAR) authorizes certain exports to U.S. government "
           "agencies and personnel\"; check GOV's own terms beside License Exception ACE.");
    put_source(b, &((const ag_destination *)s->row)->meta);
    break;
  case AG_STEP_DUE_DILIGENCE:
    ag_decide_dd_step_text(d, s, b);
    break;
  case AG_STEP_COUNT:
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
    case AG_OUTCOME_OUT_OF_SCOPE:
      put(b, "Out of scope: License Exception ACE does not apply and acegate does not determine "
             "this item's licence requirement; this is not a permission to export. See ");
      put(b, d->scope ? d->scope->refer_to : "738.4");
      put(b, ".");
      break;
    case AG_OUTCOME_COUNT:
      break;
    }
    if (d->ace_reconstructed) {
      put(b, " ACE availability here depends on a reconstructed row of 740.22 as amended by ");
      put(b, r->final_rule_cite);
      put(b, ".");
    }
    if (d->red_flags_reconstructed)
      put(b, " This outcome rests on a due-diligence question whose source text is "
             "reconstructed (red_flags): verify it.");
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
    put_status_note(b, d->rules, &e->meta);
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
  case AG_ALT_GOV_US:
    put(b, "License Exception GOV (740.11) authorizes certain exports to U.S. government "
           "agencies and personnel (740.22(a)); check its own terms.");
    break;
  case AG_ALT_ADDRESS:
    put(b, "If the consignee's address is outside the covered region, the rules for Ukraine "
           "apply.");
    break;
  }
}
