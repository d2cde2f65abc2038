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

/* ---- the reviews in the log ---- */

typedef struct {
  char of[AG_AUDIT_ID_MAX]; /* the record reviewed */
  char id[AG_AUDIT_ID_MAX]; /* the review's own audit id */
  int64_t seq, time_ms;
  const char *decision; /* static: cleared, confirmed or escalated */
  char reviewer[AG_KEYS_ID_MAX];
} review_ref;

/* Every review record of the log that decides (a revocation names a
 * review, not a record), sorted by the record reviewed, then chain order.
 * v is freed with free(). */
typedef struct {
  review_ref *v;
  size_t n, cap;
} review_set;

ag_status review_set_load(ag_audit_db *db, review_set *set, ag_error *err);
/* The latest review of audit_id, or NULL while it has none. */
const review_ref *review_latest(const review_set *set, const char *audit_id);
/* Its decision, or "open". */
const char *review_status(const review_set *set, const char *audit_id);

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
