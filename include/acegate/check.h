/*
 * acegate/check.h - one whole check: screen every named party of a
 * transaction against the restricted-party lists, then decide. This is
 * what `acegate check` and `POST /v1/checks` run; the engine
 * (acegate/decide.h) stays a pure function of tables and transaction.
 *
 * Screening can only make an outcome stricter (docs/decision-model.md,
 * step 9): what a confident match on each list means is a row of
 * data/rules/list-meanings.tsv (a Denied Persons or SDN match is
 * PROHIBITED, an Entity List match needs a licence under 744.11, ...);
 * a possible match is REVIEW.
 *
 * Ownership: the caller owns the ag_check_scratch and must keep it alive
 * as long as the decision, whose party hits point into it; free it with
 * ag_check_scratch_free. It can be reused for any number of checks.
 */
#ifndef ACEGATE_CHECK_H
#define ACEGATE_CHECK_H

#include "acegate/decide.h"
#include "acegate/screen.h"

typedef struct ag_check_memo ag_check_memo;

typedef struct {
  ag_screen_result results[AG_PARTY_COUNT];
  ag_check_memo *memo; /* NULL: every party name is screened afresh */
} ag_check_scratch;

void ag_check_scratch_init(ag_check_scratch *s);
void ag_check_scratch_free(ag_check_scratch *s);
/* Remembers the screenings of the last names seen (a fixed number, so
 * memory stays constant) and answers the same name, country and lists from
 * them: in a batch of orders the same customers come back line after line.
 * The lists must not change while the scratch remembers: only for a
 * caller that holds one set of lists for the scratch's whole life (a
 * batch). Returns false when out of memory (nothing is remembered then). */
bool ag_check_scratch_remember(ag_check_scratch *s);

/* Which engine list kind a screening list code ("EL", "DPL", ...) is. */
ag_list_kind ag_check_list_kind(const char *list_code);

/*
 * Screens the named parties of txn (when lists is non-NULL) and decides.
 * A party's own country, or else the destination for the end user and
 * consignee, is the country evidence for screening. With lists NULL,
 * parties are recorded as not screened. Errors name the field
 * ("end_user.name", ...) as the decoder and the engine do.
 */
ag_status ag_check(const ag_rules *rules, const ag_screen *lists, ag_txn *txn,
                   ag_check_scratch *scratch, ag_decision *d, ag_error *err);

/* The same, applying the reviewers' remembered decisions (acegate/
 * remember.h; rem NULL: none): a hit on an entry cleared for this party
 * is kept in the answer but decides nothing, a confirmed one is a match
 * whatever its score. Every hit carries its entry's content hash. */
struct ag_remember;
ag_status ag_check_remembered(const ag_rules *rules, const ag_screen *lists,
                              struct ag_remember *rem, ag_txn *txn, ag_check_scratch *scratch,
                              ag_decision *d, ag_error *err);

#endif
