/*
 * batches.c - batches decided on workers of their own, so that health,
 * readiness and single checks stay fast while batches run.
 *
 * Each HTTP thread serves its connections one event at a time (http.c): a
 * batch of 1,000 transactions decided there held every other connection of
 * that thread (eight batches from one key made /healthz take seconds). So a
 * batch's connection is suspended once its body is read, the batch queued,
 * and decided by a batch worker (at a lower CPU priority), which then hands
 * it to the audit writer or back to its HTTP thread. An API key may have at
 * most AG_SERVER_BATCH_PER_KEY batches queued or running; one more is
 * answered 429, so one key cannot fill the queue for everyone.
 */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BATCH_WORKERS_MAX 16

typedef struct batch_item {
  srv_req *r;
  struct batch_item *next;
} batch_item;

typedef struct {
  char key_id[AG_KEYS_ID_MAX];
  int pending;
} key_count;

struct srv_batches {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  batch_item *head, *tail;
  bool stop;
  pthread_t threads[BATCH_WORKERS_MAX];
  unsigned nthreads;
  key_count *keys; /* keys with batches pending */
  size_t nkeys, keys_cap;
};

/* Caller holds mu. */
static key_count *key_slot(srv_batches *b, const char *id, bool add) {
  for (size_t i = 0; i < b->nkeys; i++)
    if (!strcmp(b->keys[i].key_id, id))
      return &b->keys[i];
  if (!add)
    return NULL;
  if (b->nkeys == b->keys_cap) {
    size_t cap = b->keys_cap ? 2 * b->keys_cap : 16;
    key_count *more = realloc(b->keys, cap * sizeof *more);
    if (!more)
      return NULL;
    b->keys = more;
    b->keys_cap = cap;
  }
  key_count *k = &b->keys[b->nkeys++];
  snprintf(k->key_id, sizeof k->key_id, "%s", id);
  k->pending = 0;
  return k;
}

static void key_done(srv_batches *b, const char *id) {
  pthread_mutex_lock(&b->mu);
  key_count *k = key_slot(b, id, false);
  if (k && --k->pending == 0)
    *k = b->keys[--b->nkeys];
  pthread_mutex_unlock(&b->mu);
}

static void *batch_main(void *arg) {
  ag_server *s = arg;
  srv_batches *b = s->batches;
  /* a lower priority than the HTTP threads: under a full CPU, single
   * checks go first (best effort; the nice value is per thread on Linux) */
  setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (!b->head && !b->stop)
      pthread_cond_wait(&b->cv, &b->mu);
    if (!b->head)
      break; /* stopping, nothing left */
    batch_item *it = b->head;
    if (!(b->head = it->next))
      b->tail = NULL;
    pthread_mutex_unlock(&b->mu);
    srv_req *r = it->r;
    free(it);
    if (s->cfg.batch_hook)
      s->cfg.batch_hook(s->cfg.batch_hook_ctx);
    char key_id[AG_KEYS_ID_MAX];
    snprintf(key_id, sizeof key_id, "%s", r->key.id);
    srv_next next = srv_dispatch(r);
    key_done(b, key_id);
    if (next != SRV_AUDIT) {
      srv_http_resume_ready(s, r);
    } else if (!srv_writer_submit(s, r)) {
      /* shutting down: answered as an audit failure, never unrecorded */
      r->audit_st = AG_ERR_DB;
      ag_error_set(&r->audit_err, AG_ERR_DB, "", "the service is shutting down");
      r->audit_done(r);
      srv_handed_back(s);
    }
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

ag_status srv_batches_start(ag_server *s, ag_error *err) {
  srv_batches *b = calloc(1, sizeof *b);
  if (!b)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  s->batches = b;
  /* half the CPUs: the rest stay for the HTTP threads and the writer */
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = s->cfg.batch_workers ? s->cfg.batch_workers : cpus > 1 ? (unsigned)cpus / 2 : 1;
  if (n > BATCH_WORKERS_MAX)
    n = BATCH_WORKERS_MAX;
  for (unsigned i = 0; i < n; i++) {
    if (pthread_create(&b->threads[i], NULL, batch_main, s) != 0) {
      srv_batches_stop(s);
      return ag_error_set(err, AG_ERR_INTERNAL, "", "cannot start the batch workers");
    }
    pthread_setname_np(b->threads[i], "http-batch"); /* before serve says it listens */
    b->nthreads++;
  }
  return AG_OK;
}

void srv_batches_stop(ag_server *s) {
  srv_batches *b = s->batches;
  if (!b)
    return;
  pthread_mutex_lock(&b->mu);
  b->stop = true; /* what is queued is still decided */
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  for (unsigned i = 0; i < b->nthreads; i++)
    pthread_join(b->threads[i], NULL);
  free(b->keys);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
  s->batches = NULL;
}

bool srv_batch_submit(ag_server *s, srv_req *r) {
  srv_batches *b = s->batches;
  batch_item *it = malloc(sizeof *it);
  pthread_mutex_lock(&b->mu);
  key_count *k = it && !b->stop ? key_slot(b, r->key.id, true) : NULL;
  if (!k || k->pending >= AG_SERVER_BATCH_PER_KEY) {
    pthread_mutex_unlock(&b->mu);
    free(it);
    if (k) {
      atomic_fetch_add_explicit(&s->metrics.rate_limited, 1, memory_order_relaxed);
      r->retry_after = 1;
      srv_error(r, 429, "rate_limited", NULL,
                "this API key has %d batches queued or running already; retry when one is "
                "answered",
                AG_SERVER_BATCH_PER_KEY);
    } else {
      srv_error(r, 503, "unavailable", NULL, "cannot queue the batch");
    }
    return false;
  }
  k->pending++;
  it->r = r;
  it->next = NULL;
  if (b->tail)
    b->tail->next = it;
  else
    b->head = it;
  b->tail = it;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return true;
}
