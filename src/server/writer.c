/*
 * writer.c - the audit writer: group commit for the HTTP service.
 *
 * 15 CFR 762.2: a decision is answered only once its record is durable.
 * Waiting for an fsync on an HTTP thread would serialise the service, so a
 * request with records to write is suspended and queued here. One thread
 * takes everything queued, commits it in one transaction
 * (ag_audit_commit_batch), waits until it is on stable storage
 * (ag_audit_wait_durable: one fsync), then hands each request back through
 * its audit_done callback and, once all are handed back, calls
 * srv_handed_back() (the HTTP layer resumes the connections, waking each
 * HTTP thread once per batch: the writer knows nothing of HTTP). Requests
 * that arrive meanwhile form the next batch, so the number of fsyncs per
 * second stays bounded while throughput grows with the load. Without fsyncs (":memory:", relaxed)
 * there is nothing to wait for.
 *
 * One thread rather than a writer and a syncer overlapping the commit of
 * one batch with the fsync of the one before: on two shared cores the
 * hand-off between the two cost a wake-up per batch, and the batches the
 * overlap kept small cost a commit, an fsync and a round of wake-ups for
 * every 7 records; one thread answered 25-70 % more durable checks for
 * 15-25 % less CPU per check (docs/api.md, Performance).
 *
 * Invariant: between srv_writer_submit() and the hand-back, a request
 * belongs to the writer; after the hand-back the writer does not touch it
 * (the HTTP thread may free it at once).
 */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

static void set_result(srv_req *r, ag_status st, const ag_error *err) {
  r->audit_st = st;
  if (st != AG_OK && err)
    r->audit_err = *err;
}

/* Commits a batch of requests; on a failure that names one record (a bad
 * field rather than the database), the requests are committed one by one so
 * one bad record cannot fail the others. Returns the ticket to wait for. */
static uint64_t commit_batch(ag_server *s, srv_writer *w, srv_req *batch) {
  size_t n = 0;
  for (srv_req *r = batch; r; r = r->next)
    n += r->nrecs;
  if (n > w->cap) {
    size_t cap = n * 2;
    ag_audit_record *recs = realloc(w->recs, cap * sizeof *recs);
    if (recs)
      w->recs = recs;
    char(*ids)[AG_AUDIT_ID_MAX] = realloc(w->ids, cap * sizeof *ids);
    if (ids)
      w->ids = ids;
    if (recs && ids)
      w->cap = cap;
  }
  ag_error err;
  ag_error_clear(&err);
  ag_status st = AG_ERR_NOMEM;
  uint64_t ticket = 0;
  bool whole = n <= w->cap;
  if (whole) {
    size_t k = 0;
    for (srv_req *r = batch; r; r = r->next)
      for (size_t i = 0; i < r->nrecs; i++)
        w->recs[k++] = r->recs[i];
    st = ag_audit_commit_batch(s->db, w->recs, n, w->ids, &ticket, &err);
    whole = st == AG_OK || st == AG_ERR_DB || st == AG_ERR_NOMEM || st == AG_ERR_INTERNAL;
  }
  size_t k = 0;
  for (srv_req *r = batch; r; r = r->next) {
    if (whole) {
      if (st == AG_OK)
        memcpy(r->ids, w->ids + k, r->nrecs * sizeof *r->ids);
      k += r->nrecs;
      set_result(r, st, &err);
    } else {
      ag_error e1;
      ag_error_clear(&e1);
      uint64_t t1 = 0;
      ag_status s1 = ag_audit_commit_batch(s->db, r->recs, r->nrecs, r->ids, &t1, &e1);
      set_result(r, s1, &e1);
      if (t1 > ticket)
        ticket = t1;
    }
  }
  return ticket;
}

/* Records the outcome and resumes each request of the batch. */
static void hand_back(ag_server *s, srv_req *batch) {
  int64_t now = srv_now_ns();
  bool ok = true;
  for (srv_req *r = batch; r; r = r->next) {
    srv_hist_observe(&s->metrics.audit_write, now - r->audit_queued_ns);
    ok &= r->audit_st == AG_OK;
  }
  atomic_store(&s->audit_ok, ok);
  for (srv_req *r = batch, *next; r; r = next) {
    next = r->next; /* r is not ours once handed back */
    r->next = NULL;
    r->audit_done(r);
  }
  srv_handed_back(s);
}

void srv_handed_back(ag_server *s) {
  if (s->handed_back)
    s->handed_back(s);
}

static void *writer_main(void *arg) {
  ag_server *s = arg;
  srv_writer *w = &s->writer;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->stop)
      pthread_cond_wait(&w->cv, &w->mu);
    if (!w->head && w->stop)
      break;
    srv_req *batch = w->head;
    w->head = w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    uint64_t ticket = commit_batch(s, w, batch);
    if (ticket) { /* 0: nothing to wait for (:memory:, relaxed, or failed) */
      ag_error err;
      ag_error_clear(&err);
      ag_status st = ag_audit_wait_durable(s->db, ticket, &err);
      for (srv_req *r = batch; r; r = r->next)
        if (r->audit_st == AG_OK && st != AG_OK)
          set_result(r, st, &err);
    }
    hand_back(s, batch);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

ag_status srv_writer_start(ag_server *s, ag_error *err) {
  srv_writer *w = &s->writer;
  w->stop = false;
  if (pthread_create(&w->thread, NULL, writer_main, s) != 0)
    return ag_error_set(err, AG_ERR_INTERNAL, "writer", "cannot start the audit writer thread");
  /* named here, not by the thread itself: named before serve says it listens */
  pthread_setname_np(w->thread, "audit-writer");
  w->started = true;
  return AG_OK;
}

bool srv_writer_submit(ag_server *s, srv_req *r) {
  srv_writer *w = &s->writer;
  r->audit_queued_ns = srv_now_ns();
  r->next = NULL;
  pthread_mutex_lock(&w->mu);
  bool ok = w->started && !w->stop;
  if (ok) {
    if (w->tail)
      w->tail->next = r;
    else
      w->head = r;
    w->tail = r;
    pthread_cond_signal(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return ok;
}

void srv_writer_stop(ag_server *s) {
  srv_writer *w = &s->writer;
  pthread_mutex_lock(&w->mu);
  bool started = w->started;
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (started)
    pthread_join(w->thread, NULL);
  w->started = false;
  free(w->recs);
  free(w->ids);
  w->recs = NULL;
  w->ids = NULL;
  w->cap = 0;
}

void srv_audit_sync(ag_server *s, srv_req *r) {
  ag_error err;
  ag_error_clear(&err);
  r->audit_queued_ns = srv_now_ns();
  ag_status st = ag_audit_append_batch(s->db, r->recs, r->nrecs, r->ids, &err);
  set_result(r, st, &err);
  srv_hist_observe(&s->metrics.audit_write, srv_now_ns() - r->audit_queued_ns);
  atomic_store(&s->audit_ok, st == AG_OK);
}
