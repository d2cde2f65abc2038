/*
 * warm.c - the open review queue read from the log in the background as
 * the service starts, so that the first reviewer does not wait for it.
 *
 * The service keeps the open queue in memory (docs/review.md, "How the
 * open queue is kept"), learnt by reading the whole log once: 0.64-0.71 s
 * for 100,000 checks with party names, several seconds for a log of five
 * years (15 CFR 762.6). One thread of its own (`queue-warm`, at a lower
 * CPU priority, like the batch workers) reads it right after the start,
 * through ag_review_queue_warm(), a few thousand records a step; nothing
 * else waits for it:
 *  - GET /v1/reviews?status=open arriving meanwhile is suspended and
 *    parked here, and served by its HTTP thread once the read has ended
 *    (from the list it read; if the read failed, that request reads the
 *    log itself, as the first request always did). A request parked for
 *    longer than the service's timeout is answered 503 with Retry-After.
 *    Through ag_server_handle() the call waits inside the review module.
 *  - the other requests that read the reviews (the other statuses, an
 *    item, the parties) are parked the same way while the read takes the
 *    reviews themselves, its first part, which holds the lock they need;
 *  - checks, health, readiness and everything else never touch it;
 *    its reads use a connection of their own, and on ":memory:" (where
 *    reads hold the writer's lock) one step at a time.
 *  - at shutdown it stops before the next step, and what is parked is
 *    answered 503 like any request that arrives as the service stops. It
 *    only reads, so nothing in the log can be lost or changed by it.
 * Readiness does not wait for it: the queue is served either way (only
 * later), and checks need none of it. Its state, progress and time are in
 * /metrics (acegate_review_queue_*), its end in the event log.
 *
 * Once the open queue is served, the same thread looks up the records the
 * reviews resolve (ag_review_statuses_warm), which the first request for
 * each resolved status would otherwise do while its reviewer waits (about
 * 0.1 ms a record: a second for 8,000 cleared items). Nothing is parked
 * for it: a request meanwhile looks up what is still unknown itself, and
 * what either finds is kept once. A failure is only logged.
 */
#include "acegate/review.h"
#include "server_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Seconds a request answered 503 for a read still going is told to wait. */
#define WARM_RETRY_AFTER 5

static void set_state(srv_warm *w, srv_warm_state st) {
  atomic_store(&w->state, (int)st);
}

/* Takes the parked requests; the state moves on under the same lock, so
 * no request is parked after. */
static srv_req *take_parked(srv_warm *w, srv_warm_state st) {
  pthread_mutex_lock(&w->mu);
  srv_req *list = w->parked;
  w->parked = NULL;
  set_state(w, st);
  pthread_mutex_unlock(&w->mu);
  return list;
}

static void answer_stopping(ag_server *s, srv_req *list) {
  for (srv_req *r = list, *next; r; r = next) {
    next = r->next;
    r->next = NULL;
    srv_error(r, 503, "unavailable", NULL, "the service is shutting down");
    srv_http_resume_ready(s, r);
  }
}

/* Answers the requests parked for longer than the service's timeout. */
static void answer_overdue(ag_server *s, const ag_review_warm *p) {
  srv_warm *w = &s->warm;
  int64_t now = srv_now_ns(), limit = (int64_t)s->timeout_s * 1000000000;
  srv_req *overdue = NULL;
  pthread_mutex_lock(&w->mu);
  for (srv_req **at = &w->parked; *at;) {
    srv_req *r = *at;
    if (now - r->start_ns > limit) {
      *at = r->next;
      r->next = overdue;
      overdue = r;
    } else {
      at = &r->next;
    }
  }
  pthread_mutex_unlock(&w->mu);
  for (srv_req *r = overdue, *next; r; r = next) {
    next = r->next;
    r->next = NULL;
    r->retry_after = WARM_RETRY_AFTER;
    srv_error(r, 503, "unavailable", NULL,
              "the open review queue is still being read from the audit log (record %lld of "
              "%lld), which began as the service started; retry shortly",
              (long long)p->upto, (long long)p->head);
    srv_http_resume_ready(s, r);
  }
}

/* Before each step of the read: its progress, the requests parked too
 * long, and whether to go on. */
static bool step(void *ctx, const ag_review_warm *p) {
  ag_server *s = ctx;
  srv_warm *w = &s->warm;
  atomic_store(&w->reviews_read, true); /* read before the first step */
  atomic_store(&w->head, p->head);
  atomic_store(&w->read, p->upto - p->from);
  if (s->cfg.queue_warm_hook)
    s->cfg.queue_warm_hook(s->cfg.queue_warm_hook_ctx);
  answer_overdue(s, p);
  return !atomic_load(&w->stop);
}

/* text as a JSON string, in b: "" when it cannot be made */
static const char *quoted(ag_buf *b, const char *text) {
  ag_buf_json_cstr(b, text);
  return b->data && !b->failed ? ag_buf_cstr(b) : "\"\"";
}

static bool learn_step(void *ctx, size_t done) {
  (void)done;
  ag_server *s = ctx;
  return !atomic_load(&s->warm.stop);
}

/* The records the resolved statuses list, looked up after the open queue. */
static void learn_statuses(ag_server *s) {
  int64_t t0 = srv_now_ns();
  size_t learnt = 0;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_review_statuses_warm(s->db, learn_step, s, &learnt, &err);
  double took = (double)(srv_now_ns() - t0) * 1e-9;
  if (st != AG_OK) {
    ag_buf b;
    ag_buf_init(&b);
    srv_log_event(s, "review_statuses_read_failed",
                  "\"code\":\"%s\",\"reason\":%s,\"records\":%zu,\"retry\":\"at each request\"",
                  ag_status_name(st), quoted(&b, err.reason), learnt);
    ag_buf_free(&b);
  } else {
    srv_log_event(s, atomic_load(&s->warm.stop) ? "review_statuses_read_stopped"
                                                : "review_statuses_read",
                  "\"records\":%zu,\"seconds\":%.3f", learnt, took);
  }
}

static void *warm_main(void *arg) {
  ag_server *s = arg;
  srv_warm *w = &s->warm;
  /* below the HTTP threads, as the batch workers: under a full CPU the
   * requests go first (best effort; the nice value is per thread) */
  setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
  if (s->cfg.queue_warm_hook) /* before the reviews are read, too */
    s->cfg.queue_warm_hook(s->cfg.queue_warm_hook_ctx);
  ag_review_warm p;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_review_queue_warm(s->db, step, s, &p, &err);
  int64_t took = srv_now_ns() - atomic_load(&w->started_ns);
  atomic_store(&w->took_ns, took);
  atomic_store(&w->head, p.head);
  atomic_store(&w->read, p.upto - p.from);
  srv_warm_state end = st != AG_OK ? SRV_WARM_FAILED : p.stopped ? SRV_WARM_STOPPED : SRV_WARM_WARM;
  srv_req *list = take_parked(w, end);
  if (end == SRV_WARM_STOPPED) {
    answer_stopping(s, list);
    srv_log_event(s, "review_queue_read_stopped", "\"records\":%lld,\"of\":%lld,\"seconds\":%.3f",
                  (long long)(p.upto - p.from), (long long)(p.head - p.from), (double)took * 1e-9);
    return NULL;
  }
  if (end == SRV_WARM_FAILED) {
    /* the list keeps what was read; the next queue request reads on from
     * there (and answers an error if it fails too, never part of a queue) */
    ag_buf f, r;
    ag_buf_init(&f);
    ag_buf_init(&r);
    srv_log_event(s, "review_queue_read_failed",
                  "\"code\":\"%s\",\"field\":%s,\"reason\":%s,\"read_up_to\":%lld,\"head\":%lld,"
                  "\"retry\":\"at the next queue request\"",
                  ag_status_name(st), quoted(&f, err.field), quoted(&r, err.reason),
                  (long long)p.upto, (long long)p.head);
    ag_buf_free(&f);
    ag_buf_free(&r);
  } else {
    srv_log_event(s, "review_queue_read", "\"records\":%lld,\"items\":%zu,\"seconds\":%.3f",
                  (long long)(p.upto - p.from), p.items, (double)took * 1e-9);
  }
  /* each served by its own HTTP thread, from the list (or reading the
   * log itself after a failure) */
  for (srv_req *r = list, *next; r; r = next) {
    next = r->next;
    r->next = NULL;
    srv_http_resume_dispatch(s, r);
  }
  if (end == SRV_WARM_WARM)
    learn_statuses(s);
  return NULL;
}

void srv_warm_init(ag_server *s) {
  srv_warm *w = &s->warm;
  pthread_mutex_init(&w->mu, NULL);
  atomic_init(&w->state, (int)SRV_WARM_OFF);
  atomic_init(&w->stop, false);
  atomic_init(&w->reviews_read, false);
  atomic_init(&w->started_ns, 0);
  atomic_init(&w->took_ns, 0);
  atomic_init(&w->head, 0);
  atomic_init(&w->read, 0);
}

void srv_warm_free(ag_server *s) {
  pthread_mutex_destroy(&s->warm.mu);
}

void srv_warm_start(ag_server *s) {
  srv_warm *w = &s->warm;
  atomic_store(&w->stop, false);
  atomic_store(&w->reviews_read, false);
  atomic_store(&w->started_ns, srv_now_ns());
  /* reading before the first request can be taken, so none reads itself */
  set_state(w, SRV_WARM_READING);
  if (pthread_create(&w->thread, NULL, warm_main, s) != 0) {
    set_state(w, SRV_WARM_OFF); /* the first request reads it, as without */
    srv_log_event(s, "review_queue_read_failed",
                  "\"reason\":\"cannot start its thread\",\"retry\":\"at the next queue request\"");
    return;
  }
  pthread_setname_np(w->thread, "queue-warm"); /* before serve says it listens */
  w->started = true;
}

void srv_warm_stop(ag_server *s) {
  srv_warm *w = &s->warm;
  if (!w->started)
    return;
  atomic_store(&w->stop, true);
  pthread_join(w->thread, NULL);
  w->started = false;
}

bool srv_warm_reading(ag_server *s) {
  return atomic_load(&s->warm.state) == (int)SRV_WARM_READING;
}

bool srv_warm_park(ag_server *s, srv_req *r) {
  srv_warm *w = &s->warm;
  pthread_mutex_lock(&w->mu);
  bool reading = srv_warm_reading(s);
  if (reading) {
    r->next = w->parked;
    w->parked = r;
  }
  pthread_mutex_unlock(&w->mu);
  return reading;
}

bool srv_warm_wanted(const srv_req *r) {
  const char *status = srv_arg(r, "status");
  if (r->route == R_REVIEW_QUEUE && (!status || !strcmp(status, "open")))
    return true;
  /* the other requests that read the reviews wait, while the read takes
   * the reviews themselves first, for the lock it holds: parked too, so
   * that the HTTP thread and its other connections do not wait with them */
  bool reads_reviews = r->route == R_REVIEW_QUEUE || r->route == R_REVIEW_GET ||
                       r->route == R_PARTIES || r->route == R_PARTY_GET;
  return reads_reviews && !atomic_load(&r->srv->warm.reviews_read);
}
