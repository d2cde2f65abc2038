/*
 * store.h - the webhook's two tables, in a SQLite file beside a log file
 * ("<log>-webhook"; in memory for a ":memory:" log) or in the database of
 * a PostgreSQL log (webhook_outbox and webhook_deliveries), shared by the
 * replicas on it (store.c).
 *
 * The outbox holds every item posted (its audit id and body), when it was
 * delivered, and the claim of the process sending it. The deliveries hold
 * every attempt. Invariants: an item's delivered_ms is set in the
 * transaction that records its delivered attempt, so "pending" (no
 * delivered attempt) is delivered_ms IS NULL; an item is attempted only
 * under a claim younger than AG_WEBHOOK_LEASE_S, taken by one atomic
 * UPDATE, so of two processes one sends it. Only a delivered item is ever
 * deleted (wh_store_prune); the deliveries are kept.
 *
 * Threads: every call takes the store's lock; one store may be shared.
 */
#ifndef ACEGATE_WEBHOOK_STORE_H
#define ACEGATE_WEBHOOK_STORE_H

#include "acegate/webhook.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct wh_store wh_store;

/* Unix milliseconds now. */
int64_t wh_now_ms(void);

/* Opens the tables, making them when missing (in PostgreSQL under an
 * advisory lock; a role without CREATE needs them made by the owner). */
ag_status wh_store_open(const char *log_path, wh_store **out, ag_error *err);
void wh_store_close(wh_store *s);

/* Writes an item to the outbox; *seq its key. */
ag_status wh_store_put(wh_store *s, const char *id, const char *json, size_t len, int64_t *seq,
                       ag_error *err);

typedef struct {
  int64_t seq;
  char id[64];
} wh_pending;

/* The newest max items with no delivered attempt, oldest first, into
 * *out (malloc'd; the caller frees it). */
ag_status wh_store_pending(wh_store *s, size_t max, wh_pending **out, size_t *n, ag_error *err);

typedef enum {
  WH_CLAIMED, /* ours now */
  WH_TAKEN,   /* delivered, or claimed by another process within the lease */
  WH_UNKNOWN  /* the database could not say */
} wh_claim;

/* Claims item seq for the process `me`; with body, *body is the item's
 * JSON (malloc'd, NUL-terminated, its length in *len). */
wh_claim wh_store_claim(wh_store *s, int64_t seq, const char *me, char **body, size_t *len);

typedef struct {
  const char *id, *url, *error, *result; /* result: "delivered", "failed", "abandoned" */
  int attempt;
  long status;
  int64_t at_ms, ms;
} wh_attempt;

/* Records one attempt of item seq (0: not in the outbox). A delivered
 * attempt marks the item delivered and an abandoned one lets go of me's
 * claim, in the same transaction. Best effort: a failure is not reported
 * (the item stays pending and is sent again). */
void wh_store_record(wh_store *s, int64_t seq, const char *me, const wh_attempt *a);

/* Deletes from the outbox the oldest max items delivered before before_ms
 * (Unix ms), never a pending one; *n how many were deleted. */
ag_status wh_store_prune(wh_store *s, int64_t before_ms, size_t max, size_t *n, ag_error *err);

/* The listings of ag_webhook_deliveries and ag_webhook_pending. */
ag_status wh_store_list_attempts(wh_store *s, size_t limit, ag_buf *out, ag_error *err);
ag_status wh_store_list_pending(wh_store *s, size_t limit, ag_buf *out, ag_error *err);

#endif
