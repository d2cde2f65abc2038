/*
 * decide_int.h - the due-diligence step of the walk (diligence.c), shared
 * with decide.c and explain.c.
 */
#ifndef ACEGATE_DECIDE_INT_H
#define ACEGATE_DECIDE_INT_H

#include "acegate/decide.h"

/* The cites of the due-diligence steps. */
#define AG_CITE_KYC_INQUIRE "Supp. No. 3 to part 732(a)(2)"
#define AG_CITE_POLICY "due-diligence policy"

/* Checks every answer against due-diligence.tsv: a known id, in force on
 * the date, a resolution only for an answer that raises the flag. */
ag_status ag_decide_dd_validate(const ag_rules *r, const ag_txn *t, ag_error *err);
/* Records every raised flag (red_flags), its step, d->dd_knowledge, and
 * d->dd_review_cite when a flag makes the outcome REVIEW. */
void ag_decide_dd_walk(ag_decision *d, const ag_txn *t);
/* Whether the outcome rests on a reconstructed question (after finish). */
bool ag_decide_dd_reconstructed(const ag_decision *d);
void ag_decide_dd_step_text(const ag_decision *d, const ag_step *s, ag_buf *b);

#endif
