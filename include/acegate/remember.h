/*
 * acegate/remember.h - remembered review decisions: a reviewer's
 * clearance (a false positive) or confirmation of party P against listed
 * entry E applies by itself to later checks and screenings of the same
 * party (its name normalised as screening normalises it, and its country)
 * against the same entry, as long as the entry's content is unchanged (its
 * digest, ag_screen_entry_hash) and the decision is younger than a maximum
 * age. A changed entry, an expired decision or a revocation brings the
 * fresh screening back.
 *
 * The table is built from the review records of the audit log when it is
 * opened (one read of the reviews, not one per check) and is told of each
 * new review (ag_remember_note); a check looks a party up in a hash table.
 * The log stays the only source: the table can always be rebuilt from it.
 *
 * Which decision applies: for one (party, entry) the latest review that
 * remembers it decides; when that one is revoked, expired or made for
 * other entry content, nothing applies and the party is screened afresh.
 *
 * Threads: one table may be shared by any number of threads; lookups take
 * a read lock, notes a write lock. ag_remember_free must not run while
 * another thread uses it.
 */
#ifndef ACEGATE_REMEMBER_H
#define ACEGATE_REMEMBER_H

#include "acegate/audit.h"
#include "acegate/common.h"
#include "acegate/decide.h"
#include "acegate/screen.h"

#define AG_REMEMBER_MAX_AGE 365 /* default: days a remembered decision applies */

typedef struct ag_remember ag_remember;

/* Reads every review record of db (NULL: an empty table). max_age_days:
 * how many days a decision applies (0: none applies, every one is
 * expired). */
ag_status ag_remember_load(ag_audit_db *db, int max_age_days, ag_remember **out, ag_error *err);
void ag_remember_free(ag_remember *r);

/* Age: a decision made on day D (UTC) applies to a check or screening made
 * as of a day before D + max age, and no longer from that day (the
 * listing's "expires"). The day is the check's as_of; a screening, which
 * has none, and the listing are made as of the table's clock: the system
 * clock, or the time set here in UTC ms (0: the system clock again). */
void ag_remember_set_now(ag_remember *r, int64_t now_ms);
int ag_remember_max_age(const ag_remember *r);

/* Adds what one review record remembers: its audit id, time and stored
 * answer (as ag_review_submit writes it: "remembered" pairs of a
 * clearance or confirmation, or the review a revocation revokes). Other
 * reviews are ignored. */
void ag_remember_note(ag_remember *r, const char *audit_id, int64_t time_ms, const char *answer,
                      size_t len);

/* The same from what ag_review_submit appended: {"audit_id":..., the
 * stored answer}, made now. */
void ag_remember_note_answer(ag_remember *r, const char *answer, size_t len);

/* Whether any decision is remembered for the party: a cheap test before
 * the entry digests are computed. country NULL or "" for none. */
bool ag_remember_knows(ag_remember *r, const char *normalized, const char *country);

/* The decision that applies on day `on` (AG_DATE_NONE: the table's clock)
 * to the party and the entry (list name as matches give it, source id)
 * whose content has digest entry_hash; AG_REMEMBERED_NONE (out->kind) when
 * none does. */
ag_remembered_kind ag_remember_find(ag_remember *r, const char *normalized, const char *country,
                                    const char *list, const char *source_id,
                                    const char *entry_hash, ag_date on, ag_remembered *out);

/* The entries a confirmation still valid on day `on` (AG_DATE_NONE: the
 * table's clock) names for the party (up to cap source ids, borrowed until
 * the next note), to find those the screening did not return at all. */
size_t ag_remember_confirmed(ag_remember *r, const char *normalized, const char *country,
                             ag_date on, const char **ids, size_t cap);

/* Appends {"items":[{"audit_id","decision","party":{"name","country"},
 * "entry":{"source_id","list","name","hash"},"reviewer","date","expires",
 * "state"}...],"next_cursor":..}: every remembered decision (decision
 * NULL, or "cleared" / "confirmed"), oldest first, limit per page (0:
 * AG_AUDIT_PAGE_DEFAULT). state is "revoked", "expired", "entry_changed"
 * (the entry now in lists has other content or is gone; not judged when
 * lists is NULL) or "active". Errors name "decision", "cursor", "limit". */
ag_status ag_remember_list(ag_remember *r, const ag_screen *lists, const char *decision,
                           const char *cursor, size_t limit, ag_buf *out, ag_error *err);

/* Applies the table (r may be NULL) to one screening result of a party
 * screened with country (NULL or "" for none), made as of day `on`
 * (AG_DATE_NONE: the table's clock): fills notes[i] for matches[i] with
 * its entry's hash and the decision that applies. */
void ag_remember_apply(ag_remember *r, const ag_screen *lists, const char *country, ag_date on,
                       const ag_screen_result *res, ag_match_note *notes);

#endif
