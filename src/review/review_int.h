/*
 * review_int.h - what the files of the review module share: what a record
 * asks of a reviewer, the reviews read from the log, and the header every
 * answer about a record starts with. review.c records and shows reviews;
 * queue.c reads the queues.
 */
#ifndef ACEGATE_REVIEW_INT_H
#define ACEGATE_REVIEW_INT_H

#include "acegate/review.h"

#include <jansson.h>

/* cleared, confirmed, escalated: every status but "open" */
bool review_decision_known(const char *s);
/* The static name of decision s (cleared, confirmed, escalated), NULL for
 * any other. */
const char *review_decision_name(const char *s);

/* ---- what a record asks of a reviewer ---- */

typedef struct {
  bool reviewable; /* REVIEW outcome or a candidate of any level */
  bool queued;     /* REVIEW outcome or a possible match: a person must look */
} record_need;

/* What e asks; with dec_out, also its answer parsed (the caller frees it;
 * NULL when the record is no check or screening or does not parse). */
record_need review_need(const ag_audit_entry *e, json_t **dec_out);
/* review_need(e, NULL).queued, without parsing the answers that cannot be
 * queued (most of a log). */
bool review_need_queued(const ag_audit_entry *e);

/* Calls fn for every candidate of the record's answer (dec). */
void review_each_candidate(const ag_audit_entry *e, json_t *dec,
                           void (*fn)(json_t *party, json_t *match, void *ctx), void *ctx);

/* ---- the reviews in the log (set.c) ---- */

typedef struct {
  char id[AG_AUDIT_ID_MAX]; /* the review's own audit id */
  int64_t seq, time_ms;
  const char *decision; /* static: cleared, confirmed or escalated */
  char reviewer[AG_KEYS_ID_MAX];
  uint32_t rec;  /* the record it reviews, within its set */
  uint32_t prev; /* that record's review before this one, + 1 (0: none) */
} review_ref;

/* Every review record of a log that decides (a revocation names a review,
 * not a record), by the record reviewed, in chain order. */
typedef struct review_set review_set;

/* The set kept with db while it is open (docs/review.md, "How the open
 * queue is kept"), first brought up to the log's head: the first call
 * reads every review record, later ones those appended since, by any
 * process. Safe from several threads; the set is db's, never freed by the
 * caller. */
ag_status review_set_kept(ag_audit_db *db, review_set **out, ag_error *err);
/* A set of its own, read from the whole log now (what a scan of the log
 * uses, which the kept one must equal); freed by review_set_free(). */
ag_status review_set_load(ag_audit_db *db, review_set **out, ag_error *err);
void review_set_free(review_set *set);

/* The read lock, for the functions below that say so: held, the set does
 * not change. Not to be taken twice by one thread. */
void review_set_read(review_set *set);
void review_set_done(review_set *set);
/* With the read lock: the latest review of audit_id, or NULL while it has
 * none; its decision, or "open". */
const review_ref *review_latest(const review_set *set, const char *audit_id);
const char *review_status(const review_set *set, const char *audit_id);

/* The reviews of audit_id, oldest first (malloc'd into *out, n of them; 0
 * while it has none), read under the lock. */
ag_status review_set_record(review_set *set, const char *audit_id, review_ref **out, size_t *n,
                            ag_error *err);

/* A record listed under a resolved status: its seq and id, and its latest
 * review. */
typedef struct {
  int64_t seq;
  char of[AG_AUDIT_ID_MAX];
  review_ref latest;
} review_item;

/* The records whose latest review decided `status` that the log holds, are
 * reviewable and come after seq `after`, oldest first (malloc'd into
 * *out, n of them): whether the log holds a record, and whether it is
 * reviewable, is looked up once per record and kept with the set. */
ag_status review_set_status(review_set *set, ag_audit_db *db, const char *status, int64_t after,
                            review_item **out, size_t *n, ag_error *err);

/* Looks up, once, every record the reviews resolve that no call has looked
 * up yet, as the first review_set_status of each status would, and keeps
 * what it found with the set; *learnt counts them. step (when given) is
 * called before each run of up to 1,024 look-ups with the count so far,
 * and returning false stops it (AG_OK). */
ag_status review_set_learn(review_set *set, ag_audit_db *db, bool (*step)(void *ctx, size_t done),
                           void *ctx, size_t *learnt, ag_error *err);

/* The reviews read (what review_set_since reads up to) and *gen, the
 * times the set was read anew from the log's start (another log at its
 * path): what was derived from it before is then to be dropped. */
size_t review_set_count(review_set *set, uint64_t *gen);

/* A review's record, as the open queue takes it out (queue.c). */
typedef struct {
  size_t rec; /* within the set */
  char of[AG_AUDIT_ID_MAX];
  unsigned char fact; /* what is known of it: set.c */
  int64_t head;       /* the last record read when it was taken */
} review_named;

/* The records that reviews from the from-th (in chain order) name, one per
 * review, up to the reviews read now: *upto, where the next call starts.
 * Nothing, *stale, when the set is no longer of generation gen. */
ag_status review_set_since(review_set *set, size_t from, uint64_t gen, review_named **out,
                           size_t *n, size_t *upto, bool *stale, ag_error *err);
/* Whether the log holds the record r names (looked up once, then kept). */
ag_status review_set_holds(review_set *set, ag_audit_db *db, uint64_t gen, const review_named *r,
                           bool *holds, ag_error *err);

/* The seq an audit id names ("a-SEQ-RANDOM", acegate/audit.h), 0 if none. */
int64_t review_id_seq(const char *id);

/* Writes {"audit_id","kind","time","outcome","status" (unclosed). */
void review_put_header(ag_buf *out, const ag_audit_entry *e, const char *status);

/* Writes the candidate_entries object of ag_review_get for record e and
 * its parsed answer dec: each candidate's entry as lists give it now (not
 * looked up when lists is NULL, unavailable saying why). */
void review_put_entries(ag_buf *out, const ag_audit_entry *e, json_t *dec, const ag_screen *lists,
                        const char *unavailable);

/* The queue as a scan of the log finds it (what ag_review_queue_ref does
 * for one caller reference): the answer the open list of queue.c must
 * give, which the tests compare it with. */
ag_status review_queue_scan(ag_audit_db *db, const char *status, const char *ref,
                            const char *cursor, size_t limit, ag_buf *out, ag_error *err);

#endif
