/*
 * diligence.c - the due-diligence answers of a determination
 * (docs/due-diligence.md, due-diligence.tsv).
 *
 * Supp. No. 3 to part 732 (a)(1)-(2): a red flag is a circumstance that
 * should cause reasonable suspicion; when one is raised there is a duty to
 * inquire before going ahead. A raised flag not resolved is therefore
 * REVIEW; a resolution (the note saying how the inquiry explained it)
 * clears it. 740.22(c)(2) withholds ACE when the exporter "knows" or has
 * "reason to know" of use without the owner's authorization, "knowledge"
 * as 772.1 defines it (87 FR 31948): answers that state such use (a
 * knowledge row with its companion answer) set the same flag as
 * knows_unauthorized_use. The State Department's 2020 guidance is
 * voluntary and changes no licence requirement: its answers are recorded,
 * and REVIEW only where the company's policy says so.
 *
 * Invariant: this step never makes an outcome less strict; it only adds
 * REVIEW (applied in finish, after screening's floor) and the knowledge
 * flag the 740.22(c)(2) restriction row reads.
 */
#include "decide_int.h"


#include <string.h>

static const char *const flag_effect_names[] = {"review", "knowledge", "policy_review",
                                                "recorded", "resolved"};

const char *ag_flag_effect_name(ag_flag_effect e) {
  return (unsigned)e <= AG_FLAG_RESOLVED ? flag_effect_names[e] : "?";
}


static bool in_force_item(const ag_diligence_item *it, ag_date on) {
  return it->from <= on && on <= it->to;
}

ag_status ag_decide_dd_validate(const ag_rules *r, const ag_txn *t, ag_error *err) {
  for (int i = 0; i < t->n_dd; i++) {
    const ag_dd_answer *a = &t->dd[i];
    char field[64];
    snprintf(field, sizeof field, "due_diligence.answers.%s", a->id);
    const ag_diligence_item *row =
        r->diligence ? ag_diligence_find(r->diligence, a->id, strlen(a->id)) : NULL;
    if (!row)
      return ag_error_set(err, AG_ERR_INPUT, field,
                          "\"%s\" is not a due-diligence question (RF01-RF13, CF01-CF06, SG-...: "
                          "docs/due-diligence.md)",
                          a->id);
    if (!in_force_item(row, t->as_of)) {
      char from[11];
      ag_date_format(row->from, from);
      return ag_error_set(err, AG_ERR_INPUT, field,
                          "%s is not asked before %s (%s); the as_of date is earlier", a->id, from,
                          row->cite);
    }
    if (a->resolution && !ag_diligence_raises(row, a->answer)) {
      snprintf(field, sizeof field, "due_diligence.resolved.%s", a->id);
      return ag_error_set(err, AG_ERR_INPUT, field,
                          "the answer %s raises no flag, so there is nothing to resolve",
                          ag_dd_value_name(a->answer));
    }
  }
  return AG_OK;
}

static int answer_index(const ag_txn *t, const char *id) {
  for (int i = 0; i < t->n_dd; i++)
    if (!strcmp(t->dd[i].id, id))
      return i;
  return -1;
}

/* The companion answer that, with row's raised flag, states knowledge. */
static bool companion_states_knowledge(const ag_decision *d, const ag_txn *t,
                                       const ag_diligence_item *row) {
  if (row->effect != AG_DD_KNOWLEDGE || row->knowledge_with < 0)
    return false;
  const ag_diligence_item *with = ag_diligence_at(d->rules->diligence, (size_t)row->knowledge_with);
  int k = answer_index(t, with->id);
  return k >= 0 && t->dd[k].answer == (row->knowledge_yes ? AG_DDV_TRUE : AG_DDV_FALSE) &&
         !t->dd[k].resolution;
}

void ag_decide_dd_walk(ag_decision *d, const ag_txn *t) {
  const ag_diligence *dd = d->rules->diligence;
  if (!t->has_due_diligence || !dd)
    return;
  static const ag_groupset d_groups = 1u << AG_GROUP_D1 | 1u << AG_GROUP_D2 |
                                      1u << AG_GROUP_D3 | 1u << AG_GROUP_D4 | 1u << AG_GROUP_D5;
  /* first pass: which knowledge rows and their companions state knowledge */
  bool knowledge_part[AG_MAX_DD_ANSWERS] = {false};
  for (int i = 0; i < t->n_dd && i < AG_MAX_DD_ANSWERS; i++) {
    const ag_diligence_item *row = ag_diligence_find(dd, t->dd[i].id, strlen(t->dd[i].id));
    if (row && ag_diligence_raises(row, t->dd[i].answer) && !t->dd[i].resolution &&
        companion_states_knowledge(d, t, row)) {
      knowledge_part[i] = true;
      int k = answer_index(t, ag_diligence_at(dd, (size_t)row->knowledge_with)->id);
      knowledge_part[k] = true;
      d->dd_knowledge = true;
    }
  }
  /* second pass, in table order: each raised flag, its effect and step */
  for (size_t n = 0; n < ag_diligence_count(dd) && d->n_red_flags < AG_MAX_DD_ANSWERS; n++) {
    const ag_diligence_item *row = ag_diligence_at(dd, n);
    int i = answer_index(t, row->id);
    if (i < 0 || !ag_diligence_raises(row, t->dd[i].answer))
      continue;
    ag_flag_effect effect;
    if (t->dd[i].resolution)
      effect = AG_FLAG_RESOLVED;
    else if (knowledge_part[i])
      effect = AG_FLAG_KNOWLEDGE;
    else if (row->effect == AG_DD_REVIEW || row->effect == AG_DD_KNOWLEDGE ||
             row->effect == AG_DD_SCREENING)
      /* RF01 says a party resembles a listed one and the hit was not
       * cleared: a reason to inquire whatever the screen of the names given */
      effect = AG_FLAG_REVIEW;
    else if (row->effect == AG_DD_END_USER_TYPE)
      /* 740.22(c)(1)(ii) turns on "government end user ... of any country
       * listed in" D:1-D:5: an answer contradicting end_user.type there is
       * a reason to inquire; elsewhere, or when consistent, it is recorded */
      effect = t->end_user_type != AG_EU_GOVERNMENT && (d->eu_groups & d_groups)
                   ? AG_FLAG_REVIEW
                   : AG_FLAG_RECORDED;
    else
      effect = AG_FLAG_RECORDED;
    if (effect == AG_FLAG_RECORDED && ag_policy_requires_review(t->policy, row->id))
      effect = AG_FLAG_POLICY_REVIEW;
    int f = d->n_red_flags++;
    d->red_flags[f] = (ag_red_flag){row, i, effect};
    const char *cite = effect == AG_FLAG_REVIEW || effect == AG_FLAG_RESOLVED ? AG_CITE_KYC_INQUIRE
                       : effect == AG_FLAG_POLICY_REVIEW                       ? AG_CITE_POLICY
                       : effect == AG_FLAG_KNOWLEDGE                           ? "740.22(c)(2)"
                                                                               : row->cite;
    ag_step_result res = effect == AG_FLAG_REVIEW || effect == AG_FLAG_POLICY_REVIEW
                             ? AG_RESULT_REVIEW
                         : effect == AG_FLAG_KNOWLEDGE ? AG_RESULT_APPLIES
                         : effect == AG_FLAG_RESOLVED  ? AG_RESULT_PASS
                                                       : AG_RESULT_INFO;
    if (d->n_steps < AG_MAX_STEPS)
      d->steps[d->n_steps++] = (ag_step){AG_STEP_DUE_DILIGENCE, res, cite, row, (uint32_t)f};
    if (res == AG_RESULT_REVIEW && !d->dd_review_cite)
      d->dd_review_cite = cite;
  }
}

bool ag_decide_dd_reconstructed(const ag_decision *d) {
  /* REVIEW decided by the answers: every flag that makes it REVIEW is
   * reconstructed. ACE withheld by their knowledge alone: a knowledge flag is. */
  bool by_review = d->outcome == AG_OUTCOME_REVIEW && d->dd_review_cite &&
                   d->decided_by == d->dd_review_cite;
  bool by_knowledge = d->dd_knowledge && !d->txn->knows_unauthorized_use && d->decided_by &&
                      !strcmp(d->decided_by, "740.22(c)(2)");
  bool any = false, all = true;
  for (int f = 0; f < d->n_red_flags; f++) {
    const ag_red_flag *x = &d->red_flags[f];
    bool counts = by_review ? (x->effect == AG_FLAG_REVIEW || x->effect == AG_FLAG_POLICY_REVIEW)
                            : by_knowledge && x->effect == AG_FLAG_KNOWLEDGE;
    if (!counts)
      continue;
    bool rec = x->row->provenance == AG_DD_RECONSTRUCTED;
    any |= rec;
    all &= rec;
  }
  return by_review ? any && all : any;
}

static inline void put(ag_buf *b, const char *s) { ag_buf_append(b, s, strlen(s)); }

void ag_decide_dd_step_text(const ag_decision *d, const ag_step *s, ag_buf *b) {
  const ag_red_flag *x = &d->red_flags[s->arg];
  const ag_diligence_item *row = x->row;
  const ag_dd_answer *a = &d->txn->dd[x->answer];
  put(b, row->id);
  put(b, " (");
  put(b, row->cite);
  put(b, ") \"");
  put(b, row->question);
  put(b, "\" answered ");
  put(b, ag_dd_value_name(a->answer));
  put(b, ", which raises the flag");
  switch (x->effect) {
  case AG_FLAG_REVIEW:
    if (row->effect == AG_DD_END_USER_TYPE)
      put(b, ": the answer says the end user is a government end user, but end_user.type says "
             "it is not, and the end user is of a country in Country Group D; 740.22(c)(1)(ii) "
             "turns on that, so the contradiction must be resolved (set end_user.type, or "
             "resolve the flag with a note).");
    else
      put(b, ". A red flag raised and not resolved: Supp. No. 3 to part 732 (a)(2) requires "
             "inquiry before going ahead, and until it is resolved the exporter may have "
             "\"reason to know\" (772.1 \"knowledge\") of an unauthorized use under "
             "740.22(c)(2), so a person must review the transaction. Resolve it with a note "
             "saying how the inquiry explained it.");
    break;
  case AG_FLAG_KNOWLEDGE: {
    const ag_diligence *dd = d->rules->diligence;
    const ag_diligence_item *with = NULL;
    if (row->effect == AG_DD_KNOWLEDGE)
      with = ag_diligence_at(dd, (size_t)row->knowledge_with);
    else
      for (int f = 0; f < d->n_red_flags && !with; f++)
        if (d->red_flags[f].effect == AG_FLAG_KNOWLEDGE &&
            d->red_flags[f].row->effect == AG_DD_KNOWLEDGE &&
            ag_diligence_at(dd, (size_t)d->red_flags[f].row->knowledge_with) == row)
          with = d->red_flags[f].row;
    put(b, "; together with ");
    put(b, with ? with->id : "its companion answer");
    put(b, " it states that the item will be used against systems without the authorization of "
           "their owner, operator or administrator: knowledge as 772.1 defines it, so "
           "740.22(c)(2) applies exactly as knows_unauthorized_use does and License Exception "
           "ACE is not available.");
    break;
  }
  case AG_FLAG_POLICY_REVIEW:
    put(b, ". A human rights consideration of the State Department's 2020 guidance, which "
           "changes no licence requirement by itself; the company policy ");
    put(b, ag_policy_name(d->txn->policy));
    put(b, " requires review when it is raised.");
    break;
  case AG_FLAG_RECORDED:
    if (row->effect == AG_DD_END_USER_TYPE)
      put(b, "; recorded: it agrees with end_user.type, or the end user is of no country in "
             "Country Group D, and 740.22(c)(1)(ii) is decided in its own step.");
    else
      put(b, "; recorded as a human rights consideration of the State Department's voluntary "
             "2020 guidance: it never changes a licence requirement by itself.");
    break;
  case AG_FLAG_RESOLVED:
    put(b, "; resolved after inquiry: \"");
    ag_buf_append(b, a->resolution, a->resolution_len);
    put(b, "\". A flag explained by the inquiry no longer stands in the way (Supp. No. 3 to "
           "part 732 (a)(2); (a)(5), whose text acegate holds only as reconstructed).");
    break;
  }
  if (row->provenance == AG_DD_RECONSTRUCTED)
    put(b, " The question rests on reconstructed text of its source: verify it.");
  else if (row->provenance == AG_DD_DRAFT_2019)
    put(b, " The question comes from the State Department's 2019 draft, which the final "
           "guidance replaced.");
}
