/*
 * acegate/review.h - resolving REVIEW outcomes and possible matches.
 *
 * A reviewer looks at a recorded check or screening that needs a person's
 * judgement and records what they decided: "cleared" (the candidates are
 * not the party: a false positive), "confirmed" (the party is the listed
 * entry), or "escalated" (handed on, still unresolved). The review is itself
 * a record of kind "review" in the same hash-chained audit log, naming the
 * record it resolves; that record never changes (15 CFR 762.2: the records
 * of the transaction are kept as made). A record's status is its latest
 * review, or "open" when it has none.
 *
 * Reviewable records: a check whose outcome is REVIEW or whose screening
 * found a candidate, and a screening that found a candidate. The queue
 * lists the open ones that need review: REVIEW outcomes and possible
 * matches (a confident match decides by itself and is not queued, though it
 * can still be reviewed).
 *
 * The command line (`acegate review`) and the HTTP handlers (/v1/reviews)
 * only pass JSON in and print what these return. docs/review.md describes
 * the workflow.
 */
#ifndef ACEGATE_REVIEW_H
#define ACEGATE_REVIEW_H

#include "acegate/audit.h"
#include "acegate/common.h"
#include "acegate/screen.h"

#include <stddef.h>

#define AG_REVIEW_NOTE_MAX 4000 /* bytes of a review's note */
#define AG_REVIEW_ENTRIES_MAX 64

/* Records the review given as JSON:
 *   {"audit_id": ID, "decision": "cleared"|"confirmed"|"escalated",
 *    "note": TEXT, "entries": [SOURCE_ID, ...]}
 * note is required (not blank); entries is optional and each must be the
 * source_id of a candidate of the reviewed record. Errors name the field:
 * AG_ERR_INPUT for bad JSON, an unknown field, a bad decision, an empty
 * note, an unknown entry; AG_ERR_NOTFOUND ("audit_id") for an unknown
 * record; AG_ERR_INPUT ("audit_id") for a record that is not reviewable.
 * reviewer is the key id of the reviewer ("" on the command line), client
 * the peer address. On success appends the stored review with its
 * "audit_id" to out, and id_out receives the review's audit id. */
ag_status ag_review_submit(ag_audit_db *db, const char *json, size_t len, const char *reviewer,
                           const char *client, ag_buf *out, char id_out[AG_AUDIT_ID_MAX],
                           ag_error *err);

/* The queue: reviewable records whose status is status ("open" when NULL;
 * also "escalated", "cleared" or "confirmed"), oldest first, limit per page
 * (0: AG_AUDIT_PAGE_DEFAULT) after cursor (NULL or "": the first page).
 * Appends {"status":..,"items":[{"audit_id","kind","time","outcome",
 * "destination","eccn","ref","parties":[..],"status","latest_review"}...],
 * "next_cursor": ".." or null}. Errors name "status", "cursor" or "limit".
 * The open queue is kept with db while it is open (docs/review.md, "How
 * the open queue is kept"): the first call reads the log (unless
 * ag_review_queue_warm has; one in progress is waited for), later ones
 * only what was appended since, by any process. So are the reviews every
 * status needs (and ag_review_queue_ref and ag_review_get): read once,
 * then only those appended since. Safe from several threads. */
ag_status ag_review_queue(ag_audit_db *db, const char *status, const char *cursor, size_t limit,
                          ag_buf *out, ag_error *err);

/* How far ag_review_queue_warm() has read. */
typedef struct {
  int64_t head; /* the log's head when the read began: it reads up to it */
  int64_t from; /* the list held the records up to this one before */
  int64_t upto; /* it holds them up to this one now */
  size_t items; /* open items in the list */
  bool stopped; /* step asked it to stop */
} ag_review_warm;

/* Reads the log into the open queue kept with db (and its reviews into
 * the reviews kept with it), as the first ag_review_queue call would
 * (then only what was appended since), for a process that learns it
 * before its first request (`acegate serve`). It reads the reviews, then
 * the records a few thousand a step, calling step (when given) before
 * each with the progress so far; step returning false stops it (AG_OK,
 * w->stopped). Calls of ag_review_queue meanwhile wait for it to end
 * rather than read the log themselves; the list is theirs again after,
 * holding what it read: a read stopped or failed midway is continued by
 * the next call, which answers only once it has read up to the head (an
 * error otherwise, never a partial queue). Safe from any thread; two
 * calls on one db run one after the other. */
ag_status ag_review_queue_warm(ag_audit_db *db, bool (*step)(void *ctx, const ag_review_warm *w),
                               void *ctx, ag_review_warm *w, ag_error *err);

/* Looks up, once, each record a review resolves (cleared, confirmed,
 * escalated) that no call has looked up yet: whether the log holds it and
 * whether it is reviewable, as the first ag_review_queue of each of those
 * statuses would (about 0.1 ms a record), for a process that learns it
 * before that request (`acegate serve`, after ag_review_queue_warm). It is
 * kept with db as the reviews are; *learnt counts the records looked up.
 * step (when given) is called before each run of up to 1,024 look-ups
 * with that count, and returning false stops it (AG_OK). Safe beside any
 * other call on db. */
ag_status ag_review_statuses_warm(ag_audit_db *db, bool (*step)(void *ctx, size_t done), void *ctx,
                                  size_t *learnt, ag_error *err);

/* The same for the records made with one caller reference (ref NULL: any).
 * An item a re-screening after a list change made carries its "cause". */
ag_status ag_review_queue_ref(ag_audit_db *db, const char *status, const char *ref,
                              const char *cursor, size_t limit, ag_buf *out, ag_error *err);

/* Whether a record just made (its kind, outcome and stored answer) is an
 * item of the open queue: a check with outcome REVIEW or a possible match
 * no remembered decision decided, a screening with such a match, a
 * re-screening's new hit. */
bool ag_review_queued(ag_audit_kind kind, const char *outcome, const char *answer, size_t len);

/* One record and its reviews, oldest first:
 * {"audit_id","kind","time","outcome","status","record":{the stored
 * answer},"request":{the stored request, with the parties' addresses,
 * cities and identifiers} or null,"candidate_entries":{..},"reviews":
 * [{review}...]}.
 * candidate_entries sets beside each candidate of the answer the entry as
 * lists give it now, found by its list and source id (docs/review.md,
 * "The entries beside the parties"): {"looked_up", "lists_version",
 * "unavailable", "items": [{"candidate": JSON pointer into record,
 * "party", "list", "source_id", "entry_hash" (as recorded), "state":
 * "same"|"changed"|"gone"|"unrecorded"|"not_looked_up", "text", "entry":
 * ag_screen_entry_json or null}]}. lists NULL: nothing is looked up and
 * unavailable says why (NULL: "no lists were given"). The answer itself
 * is shown as recorded. AG_ERR_NOTFOUND ("audit_id") when there is no
 * such record, AG_ERR_INPUT ("audit_id") when it is not reviewable. */
ag_status ag_review_get(ag_audit_db *db, const ag_screen *lists, const char *unavailable,
                        const char *audit_id, ag_buf *out, ag_error *err);

#endif
