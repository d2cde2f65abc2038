/*
 * acegate/webhook.h - delivers each new review-queue item to a configured
 * URL as a signed JSON POST (docs/review.md, "The webhook").
 *
 * The body is {"event":"queue_item","id":<the item's audit id>,
 * "timestamp":<Unix seconds of this attempt>,"item":<the item as
 * recorded>}. The header X-Acegate-Signature carries
 * "sha256=<hex HMAC-SHA256 of the body with the shared secret>" and
 * X-Acegate-Timestamp repeats the body's timestamp: the timestamp is part
 * of the signed body, so a receiver that checks it against its clock
 * rejects a replayed delivery.
 *
 * Delivery never holds up the caller: an item is written to an outbox,
 * then queued, and one background thread posts the queue, retrying a
 * failed attempt (no answer, or a status other than 2xx) with exponential
 * backoff, AG_WEBHOOK_ATTEMPTS attempts at most. Every attempt is recorded
 * in a deliveries table. Both tables are beside the audit log
 * ("<log>-webhook"; in memory for a ":memory:" log), or webhook_outbox and
 * webhook_deliveries in the database of a PostgreSQL log.
 *
 * Nothing is lost: when a webhook is opened, the items of the outbox with
 * no delivered attempt (abandoned, or queued by a process that died; the
 * newest AG_WEBHOOK_RESEND_MAX) are queued again, oldest first. An item is
 * attempted only under a claim in the outbox, taken by one atomic update
 * and held AG_WEBHOOK_LEASE_S at most (more than an item's attempts take):
 * of two processes, or replicas on one PostgreSQL database, one sends it.
 * An abandoned item's claim is let go at once; that of a process killed
 * mid-delivery lapses with the lease. A delivered item is deleted from the
 * outbox once older than the retention the process is given, if any.
 *
 * Threads: ag_webhook_post may be called from any thread.
 */
#ifndef ACEGATE_WEBHOOK_H
#define ACEGATE_WEBHOOK_H

#include "acegate/common.h"

#include <stddef.h>

#define AG_WEBHOOK_SUFFIX "-webhook"
#define AG_WEBHOOK_ATTEMPTS 5         /* per item */
#define AG_WEBHOOK_BACKOFF_MS 500     /* before the 2nd attempt; doubled each time */
#define AG_WEBHOOK_TIMEOUT_S 10       /* per attempt */
#define AG_WEBHOOK_SECRET_MAX 4096    /* bytes of the secret file */
#define AG_WEBHOOK_RESEND_MAX 10000   /* pending items queued again at open */
#define AG_WEBHOOK_LEASE_S 300        /* a claim on an item, in seconds */
#define AG_WEBHOOK_RETENTION_DAYS 30  /* serve's default: delivered items kept in the outbox */
#define AG_WEBHOOK_PRUNE_BATCH 500    /* delivered items deleted per statement */
#define AG_WEBHOOK_PRUNE_EVERY_S 3600 /* between pruning passes */

typedef struct ag_webhook ag_webhook;

typedef struct {
  const char *url;          /* http:// or https:// */
  const char *secret_file;  /* the shared secret (trailing newlines dropped) */
  const char *log_path;     /* the audit log whose webhook tables are used */
  long backoff_ms;          /* 0: AG_WEBHOOK_BACKOFF_MS */
  /* days a delivered item stays in the outbox; 0: this process deletes
   * none (ag_webhook_open) */
  int retention_days;
  /* told after each pruning pass that deleted items (deleted > 0, err
   * NULL) or failed (err set), from the delivery thread; NULL: none */
  void (*on_prune)(void *ctx, uint64_t deleted, const ag_error *err);
  void *on_prune_ctx;
} ag_webhook_options;

/* Checks the URL (AG_ERR_INPUT, field "webhook-url") and that the secret
 * can be read (AG_ERR_IO, or AG_ERR_INPUT for an empty one, field
 * "webhook-secret-file"), touching nothing: to refuse a bad configuration
 * before any work. */
ag_status ag_webhook_check(const char *url, const char *secret_file, ag_error *err);

/* Checks as ag_webhook_check, opens the outbox and the deliveries table
 * and starts the delivery thread, which first queues the pending items
 * again. With retention_days, the thread also deletes from the outbox the
 * items delivered longer ago than that: at once, then every
 * AG_WEBHOOK_PRUNE_EVERY_S, AG_WEBHOOK_PRUNE_BATCH at a time with an item
 * delivered between two batches. A pending item is never deleted, however
 * old, nor any recorded attempt: the deliveries table keeps every
 * outcome, and the item itself is in the audit log. */
ag_status ag_webhook_open(const ag_webhook_options *o, ag_webhook **out, ag_error *err);

/* Writes one item to the outbox, then queues it; returns without waiting
 * for its delivery. audit_id is the item's record in the audit log (the
 * body's "id"); json is the item as recorded, that id spliced in. */
void ag_webhook_post(ag_webhook *w, const char *audit_id, const char *json, size_t len);

/* Waits at most max_seconds for the queue to empty (retries included),
 * then stops the thread, cutting an attempt in flight short (within about
 * a second); an item of this process still undelivered is recorded as
 * abandoned. Undelivered items stay pending in the outbox. Frees w. */
void ag_webhook_close(ag_webhook *w, double max_seconds);

/* Lists the recorded attempts of the log at log_path, newest first:
 * {"items":[{"id","item","attempt","at","url","status","error",
 * "ms","result"}]} with result "delivered", "failed" (retried) or
 * "abandoned". */
ag_status ag_webhook_deliveries(const char *log_path, size_t limit, ag_buf *out,
                                ag_error *err);

/* Lists the pending items of the outbox (no delivered attempt), newest
 * first: {"items":[{"id","item","at","claimed_until"}],"total":N} with
 * claimed_until null when no process holds the item; total counts them
 * all. */
ag_status ag_webhook_pending(const char *log_path, size_t limit, ag_buf *out, ag_error *err);

/* "sha256=<hex>" of body with secret into out (72 bytes). */
void ag_webhook_sign(const unsigned char *secret, size_t secret_len, const char *body,
                     size_t len, char out[72]);

#endif
