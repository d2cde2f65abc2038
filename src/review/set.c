/*
 * set.c - the reviews of a log (review_int.h): every review record that
 * decides (cleared, confirmed, escalated; a revocation names a review, not
 * a record), found by the record it reviews.
 *
 * Every review request needs them (a record's status is its latest
 * review; the open queue leaves out what they resolve), and a log kept
 * five years (15 CFR 762.6) can hold hundreds of thousands. So they are
 * kept with the log's handle, as the open queue is (ag_audit_slot_get,
 * queue.c): read once, then at each request only the review records
 * appended since the last one read, up to the log's head at that moment,
 * whichever process appended them. Nothing besides the log holds them.
 *
 * Invariants (rw guards all but `grow`):
 *  - refs holds, in chain order, every review record that decides up to
 *    `last`, each once; recs every record they name, each once, with its
 *    latest review; slots finds a record by the id the reviews name;
 *  - last_hash is record last's hash: a log that no longer holds it
 *    (another log at that path) is read again from its start, and `gen`
 *    grows, so that what was derived from the earlier set is dropped;
 *  - only an extension changes them, one at a time (`grow`), and only
 *    ever by adding: a review is never taken out, a record's latest
 *    review only moves to a later one;
 *  - a record's `fact` (whether the log holds it, and whether it is
 *    reviewable) is what the log said when it was looked up, and never
 *    changes once known: records are appended, never changed.
 *
 * Readers and an extension at the same time: a read-write lock, not an
 * immutable copy swapped under a mutex. The set only grows, by a few
 * reviews at a time, so a copy per extension would cost as much as the set
 * (its size, each time a review is added) where adding costs only what is
 * added. The extension reads the log without the lock, under `grow`, and
 * takes it to write only to add a page of what it read; a reader holds it
 * for a request's use of the set (a status, a record's reviews, a page),
 * which is consistent for that time, and, but for the scan of one party's
 * records (queue.c), never while it reads the log itself. The lock prefers
 * writers, so an extension is not held back by a stream of readers; no
 * one takes it twice.
 */
#include "review_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { FACT_UNKNOWN = 0, FACT_ABSENT, FACT_HELD, FACT_REVIEWABLE };

typedef struct {
  char of[AG_AUDIT_ID_MAX]; /* the record as the reviews name it */
  uint32_t latest;          /* its latest review (an index of refs) */
  atomic_uchar fact;        /* FACT_*: set by readers too, under rw held to read */
} review_rec;

struct review_set {
  pthread_mutex_t grow; /* one extension at a time, held while it reads */
  pthread_rwlock_t rw;
  review_ref *refs; /* in chain order */
  size_t nrefs, caprefs;
  review_rec *recs; /* in the order of their first review */
  size_t nrecs, caprecs;
  uint32_t *slots; /* by `of`: an index of recs + 1, 0 for none */
  size_t nslots;   /* a power of two, at most half full */
  int64_t last;    /* the last record read (0: none yet) */
  char last_hash[AG_AUDIT_HASH_HEX];
  uint64_t gen; /* times the set was read anew from the log's start */
};

int64_t review_id_seq(const char *id) {
  if (strncmp(id, "a-", 2) != 0)
    return 0;
  char *end;
  long long v = strtoll(id + 2, &end, 10);
  return end != id + 2 && *end == '-' && v > 0 ? v : 0;
}

/* ---- making and freeing ---- */

static review_set *set_make(void) {
  review_set *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  pthread_rwlockattr_t a;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  bool ok = pthread_rwlock_init(&s->rw, &a) == 0;
  pthread_rwlockattr_destroy(&a);
  if (!ok) {
    free(s);
    return NULL;
  }
  pthread_mutex_init(&s->grow, NULL);
  return s;
}

void review_set_free(review_set *s) {
  if (!s)
    return;
  pthread_rwlock_destroy(&s->rw);
  pthread_mutex_destroy(&s->grow);
  free(s->refs);
  free(s->recs);
  free(s->slots);
  free(s);
}

static void *slot_make(void) {
  return set_make();
}

static void slot_drop(void *p) {
  review_set_free(p);
}

void review_set_read(review_set *s) {
  pthread_rwlock_rdlock(&s->rw);
}

void review_set_done(review_set *s) {
  pthread_rwlock_unlock(&s->rw);
}

/* ---- finding a record ---- */

static uint64_t id_hash(const char *id) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h;
}

/* The slot of `of`: the one holding it, else the empty one it would take. */
static size_t slot_of(const review_set *s, const char *of) {
  size_t mask = s->nslots - 1, i = (size_t)id_hash(of) & mask;
  while (s->slots[i] && strcmp(s->recs[s->slots[i] - 1].of, of) != 0)
    i = (i + 1) & mask;
  return i;
}

static const review_rec *rec_find(const review_set *s, const char *of) {
  if (!s->nslots)
    return NULL;
  uint32_t k = s->slots[slot_of(s, of)];
  return k ? &s->recs[k - 1] : NULL;
}

const review_ref *review_latest(const review_set *s, const char *audit_id) {
  const review_rec *r = rec_find(s, audit_id);
  return r ? &s->refs[r->latest] : NULL;
}

const char *review_status(const review_set *s, const char *audit_id) {
  const review_ref *r = review_latest(s, audit_id);
  return r ? r->decision : "open";
}

size_t review_set_count(review_set *s, uint64_t *gen) {
  review_set_read(s);
  size_t n = s->nrefs;
  *gen = s->gen;
  review_set_done(s);
  return n;
}

/* ---- reading the log ---- */

/* Room for n more reviews of n more records, so that adding them cannot
 * fail halfway. */
static bool reserve(review_set *s, size_t n) {
  if (s->nrefs + n > UINT32_MAX - 1)
    return false;
  if (s->nrefs + n > s->caprefs) {
    size_t cap = s->caprefs ? s->caprefs : 256;
    while (cap < s->nrefs + n)
      cap *= 2;
    review_ref *v = realloc(s->refs, cap * sizeof *v);
    if (!v)
      return false;
    s->refs = v;
    s->caprefs = cap;
  }
  if (s->nrecs + n > s->caprecs) {
    size_t cap = s->caprecs ? s->caprecs : 256;
    while (cap < s->nrecs + n)
      cap *= 2;
    review_rec *v = realloc(s->recs, cap * sizeof *v);
    if (!v)
      return false;
    s->recs = v;
    s->caprecs = cap;
  }
  size_t want = s->nslots ? s->nslots : 512;
  while (want < 2 * (s->nrecs + n))
    want *= 2;
  if (want == s->nslots)
    return true;
  uint32_t *slots = calloc(want, sizeof *slots);
  if (!slots)
    return false;
  free(s->slots);
  s->slots = slots;
  s->nslots = want;
  for (size_t k = 0; k < s->nrecs; k++)
    s->slots[slot_of(s, s->recs[k].of)] = (uint32_t)k + 1;
  return true;
}

/* One review read, before it is added. */
typedef struct {
  review_ref ref;
  char of[AG_AUDIT_ID_MAX];
} review_read;

/* Adds reviews read (in chain order, after every review held); room is
 * reserved. */
static void add(review_set *s, const review_read *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t slot = slot_of(s, v[i].of);
    uint32_t k = s->slots[slot];
    review_ref *r = &s->refs[s->nrefs];
    *r = v[i].ref;
    if (k) {
      r->rec = k - 1;
      r->prev = s->recs[k - 1].latest + 1;
    } else {
      review_rec *rec = &s->recs[s->nrecs];
      memcpy(rec->of, v[i].of, sizeof rec->of);
      atomic_init(&rec->fact, FACT_UNKNOWN);
      r->rec = (uint32_t)s->nrecs;
      r->prev = 0;
      s->slots[slot] = (uint32_t)++s->nrecs;
    }
    s->recs[r->rec].latest = (uint32_t)s->nrefs++;
  }
}

/* The reviews of a page up to head into v (n of them): a review names its
 * record in "review_of" and decides cleared, confirmed or escalated (a
 * revocation, "revoked", names a review and is left out); *past when the
 * page goes beyond head. */
static void read_page(const ag_audit_page *page, int64_t head, review_read *v, size_t *n,
                      bool *past) {
  *n = 0;
  *past = false;
  for (size_t i = 0; i < page->count; i++) {
    const ag_audit_entry *e = page->entries[i];
    if (e->seq > head) {
      *past = true;
      break;
    }
    json_t *d = json_loadb(e->decision, e->decision_len, 0, NULL);
    const char *of = json_string_value(json_object_get(d, "review_of"));
    const char *dec = review_decision_name(json_string_value(json_object_get(d, "decision")));
    if (of && dec && strlen(of) < AG_AUDIT_ID_MAX) {
      review_read *r = &v[(*n)++];
      memset(r, 0, sizeof *r);
      snprintf(r->of, sizeof r->of, "%s", of);
      snprintf(r->ref.id, sizeof r->ref.id, "%s", e->id);
      snprintf(r->ref.reviewer, sizeof r->ref.reviewer, "%s", e->key_id);
      r->ref.seq = e->seq;
      r->ref.time_ms = e->time_ms;
      r->ref.decision = dec;
    }
    json_decref(d);
  }
}

/* Whether the log still holds record s->last as it was read. */
static ag_status holds_last(const review_set *s, ag_audit_db *db, int64_t head,
                            const char *head_hash, bool *holds, ag_error *err) {
  *holds = head >= s->last;
  if (s->last == 0 || head < s->last)
    return AG_OK;
  if (head == s->last) {
    *holds = !strcmp(head_hash, s->last_hash);
    return AG_OK;
  }
  ag_audit_entry *e = NULL;
  ag_status st = ag_audit_get_seq(db, s->last, &e, err);
  if (st == AG_ERR_NOTFOUND) {
    *holds = false;
    return AG_OK;
  }
  if (st == AG_OK)
    *holds = !strcmp(e->hash, s->last_hash);
  ag_audit_entry_free(e);
  return st;
}

/* Reads the review records after s->last up to the log's head, a search
 * page at a time, each added under the lock with `last` moved past it: a
 * failure midway keeps what was added, and the next extension reads on
 * from there. The caller holds `grow`. */
static ag_status extend(review_set *s, ag_audit_db *db, ag_error *err) {
  int64_t head;
  char head_hash[AG_AUDIT_HASH_HEX];
  bool holds;
  ag_status st = ag_audit_head(db, &head, head_hash, err);
  if (st == AG_OK)
    st = holds_last(s, db, head, head_hash, &holds, err);
  if (st != AG_OK)
    return st;
  if (!holds) {
    pthread_rwlock_wrlock(&s->rw);
    s->nrefs = s->nrecs = 0;
    if (s->slots)
      memset(s->slots, 0, s->nslots * sizeof *s->slots);
    s->last = 0;
    s->last_hash[0] = '\0';
    s->gen++;
    pthread_rwlock_unlock(&s->rw);
  }
  if (head <= s->last)
    return AG_OK;
  review_read *v = malloc(AG_AUDIT_PAGE_MAX * sizeof *v);
  if (!v)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  for (bool done = false; !done && st == AG_OK;) {
    char cursor[AG_AUDIT_CURSOR_MAX];
    snprintf(cursor, sizeof cursor, "f%" PRIx64, (uint64_t)s->last);
    ag_audit_query q = {.kind = AG_AUDIT_REVIEW, .cursor = cursor, .limit = AG_AUDIT_PAGE_MAX};
    ag_audit_page page;
    if ((st = ag_audit_search(db, &q, &page, err)) != AG_OK)
      break;
    size_t n = 0;
    bool past = false;
    read_page(&page, head, v, &n, &past);
    done = past || !page.next_cursor[0] || !page.count;
    pthread_rwlock_wrlock(&s->rw);
    bool room = reserve(s, n);
    if (room) {
      add(s, v, n);
      /* read up to the head, or to the page's last record */
      const ag_audit_entry *end = done ? NULL : page.entries[page.count - 1];
      s->last = end ? end->seq : head;
      snprintf(s->last_hash, sizeof s->last_hash, "%s", end ? end->hash : head_hash);
    }
    pthread_rwlock_unlock(&s->rw);
    ag_audit_page_free(&page);
    if (!room)
      st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  }
  free(v);
  return st;
}

ag_status review_set_kept(ag_audit_db *db, review_set **out, ag_error *err) {
  review_set *s = ag_audit_slot_get(db, AG_AUDIT_SLOT_REVIEW_SET, slot_make, slot_drop);
  *out = s;
  if (!s)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  pthread_mutex_lock(&s->grow);
  ag_status st = extend(s, db, err);
  pthread_mutex_unlock(&s->grow);
  return st;
}

ag_status review_set_load(ag_audit_db *db, review_set **out, ag_error *err) {
  *out = set_make();
  if (!*out)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  ag_status st = extend(*out, db, err);
  if (st != AG_OK) {
    review_set_free(*out);
    *out = NULL;
  }
  return st;
}

/* ---- what a request takes out of it ---- */

ag_status review_set_record(review_set *s, const char *audit_id, review_ref **out, size_t *n,
                            ag_error *err) {
  *out = NULL;
  *n = 0;
  ag_status st = AG_OK;
  review_set_read(s);
  const review_rec *rec = rec_find(s, audit_id);
  size_t k = 0;
  for (uint32_t i = rec ? rec->latest + 1 : 0; i; i = s->refs[i - 1].prev)
    k++;
  if (k && !(*out = malloc(k * sizeof **out)))
    st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  if (*out) { /* the chain runs from the latest back: oldest first once turned */
    *n = k;
    for (uint32_t i = rec->latest + 1; i; i = s->refs[i - 1].prev)
      (*out)[--k] = s->refs[i - 1];
  }
  review_set_done(s);
  return st;
}

/* What the log says of record `of` now (FACT_*): FACT_UNKNOWN while the
 * log may yet hold it (not found, and its seq past head, the last record
 * read before: a later look may find it). */
static ag_status fact_of(ag_audit_db *db, const char *of, int64_t head, unsigned char *fact,
                         ag_error *err) {
  ag_audit_entry *e = NULL;
  ag_status st = ag_audit_get(db, of, &e, err);
  if (st == AG_ERR_NOTFOUND) {
    int64_t seq = review_id_seq(of);
    *fact = seq && seq > head ? FACT_UNKNOWN : FACT_ABSENT;
    return AG_OK;
  }
  if (st == AG_OK)
    *fact = review_need(e, NULL).reviewable ? FACT_REVIEWABLE : FACT_HELD;
  ag_audit_entry_free(e);
  return st;
}

/* Notes what was found of record k of generation gen, unless the set was
 * read anew meanwhile. */
static void fact_note(review_set *s, uint64_t gen, size_t k, unsigned char fact) {
  review_set_read(s);
  if (s->gen == gen && k < s->nrecs && fact != FACT_UNKNOWN)
    atomic_store_explicit(&s->recs[k].fact, fact, memory_order_relaxed);
  review_set_done(s);
}

typedef struct {
  size_t rec;
  char of[AG_AUDIT_ID_MAX];
} rec_name;

/* Records looked up between two calls of review_set_learn's step: at about
 * 0.1 ms each, a stop is seen within a tenth of a second. */
#define LEARN_STEP 1024

ag_status review_set_since(review_set *s, size_t from, uint64_t gen, review_named **out, size_t *n,
                           size_t *upto, bool *stale, ag_error *err) {
  *out = NULL;
  *n = 0;
  ag_status st = AG_OK;
  review_set_read(s);
  *stale = s->gen != gen;
  *upto = *stale ? 0 : s->nrefs;
  size_t k = *upto > from ? *upto - from : 0;
  if (k && !(*out = malloc(k * sizeof **out)))
    st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  for (size_t i = 0; *out && i < k; i++) {
    const review_ref *r = &s->refs[from + i];
    review_named *w = &(*out)[i];
    w->rec = r->rec;
    memcpy(w->of, s->recs[r->rec].of, sizeof w->of);
    w->fact = atomic_load_explicit(&s->recs[r->rec].fact, memory_order_relaxed);
    w->head = s->last;
  }
  if (*out)
    *n = k;
  review_set_done(s);
  return st;
}

ag_status review_set_holds(review_set *s, ag_audit_db *db, uint64_t gen, const review_named *r,
                           bool *holds, ag_error *err) {
  unsigned char fact = r->fact;
  ag_status st = AG_OK;
  if (fact == FACT_UNKNOWN && (st = fact_of(db, r->of, r->head, &fact, err)) == AG_OK)
    fact_note(s, gen, r->rec, fact);
  *holds = fact == FACT_HELD || fact == FACT_REVIEWABLE;
  return st;
}

static int item_by_seq(const void *a, const void *b) {
  const review_item *x = a, *y = b;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The records whose latest review decided `status` and whose fact is
 * unknown, into *names (n of them). */
static ag_status unknown_of(review_set *s, const char *status, rec_name **names, size_t *n,
                            int64_t *head, uint64_t *gen, ag_error *err) {
  *names = NULL;
  *n = 0;
  size_t cap = 0;
  ag_status st = AG_OK;
  review_set_read(s);
  *head = s->last;
  *gen = s->gen;
  for (size_t k = 0; k < s->nrecs && st == AG_OK; k++) {
    const review_rec *rec = &s->recs[k];
    if (strcmp(s->refs[rec->latest].decision, status) != 0 ||
        atomic_load_explicit(&rec->fact, memory_order_relaxed) != FACT_UNKNOWN)
      continue;
    if (*n == cap) {
      size_t c = cap ? cap * 2 : 64;
      rec_name *v = realloc(*names, c * sizeof *v);
      if (!v) {
        st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
        break;
      }
      *names = v;
      cap = c;
    }
    (*names)[*n].rec = k;
    memcpy((*names)[(*n)++].of, rec->of, sizeof rec->of);
  }
  review_set_done(s);
  return st;
}

/* Looks up, without the lock, each record whose latest review decided
 * `status` and that no one has looked up yet, and keeps what it finds;
 * *learnt grows by each. step (when given) comes before each run of
 * LEARN_STEP look-ups; its false stops it, and *go says so. */
static ag_status learn_status(review_set *s, ag_audit_db *db, const char *status,
                              bool (*step)(void *ctx, size_t done), void *ctx, size_t *learnt,
                              bool *go, ag_error *err) {
  rec_name *names;
  size_t nn;
  int64_t head;
  uint64_t gen;
  ag_status st = unknown_of(s, status, &names, &nn, &head, &gen, err);
  for (size_t i = 0; i < nn && st == AG_OK; i++) {
    if (i % LEARN_STEP == 0 && step && !(*go = step(ctx, *learnt)))
      break;
    unsigned char fact;
    if ((st = fact_of(db, names[i].of, head, &fact, err)) == AG_OK) {
      fact_note(s, gen, names[i].rec, fact);
      ++*learnt;
    }
  }
  free(names);
  return st;
}

ag_status review_set_learn(review_set *s, ag_audit_db *db, bool (*step)(void *ctx, size_t done),
                           void *ctx, size_t *learnt, ag_error *err) {
  *learnt = 0;
  ag_status st = AG_OK;
  bool go = true;
  static const char *const resolved[] = {"cleared", "confirmed", "escalated"};
  for (size_t k = 0; k < sizeof resolved / sizeof *resolved && go && st == AG_OK; k++)
    st = learn_status(s, db, resolved[k], step, ctx, learnt, &go, err);
  return st;
}

ag_status review_set_status(review_set *s, ag_audit_db *db, const char *status, int64_t after,
                            review_item **out, size_t *n, ag_error *err) {
  *out = NULL;
  *n = 0;
  /* the records not looked up yet are looked up first, without the lock
   * (the first request with a status looks up each of its records once) */
  size_t learnt = 0;
  bool go = true;
  ag_status st = learn_status(s, db, status, NULL, NULL, &learnt, &go, err);
  if (st != AG_OK)
    return st;
  /* then, in one hold of the lock, the records as they stand: one
   * extended meanwhile may add a few more to look up */
  size_t cap = 0;
  review_set_read(s);
  for (size_t k = 0; k < s->nrecs && st == AG_OK; k++) {
    review_rec *rec = &s->recs[k];
    const review_ref *latest = &s->refs[rec->latest];
    if (strcmp(latest->decision, status) != 0)
      continue;
    unsigned char fact = atomic_load_explicit(&rec->fact, memory_order_relaxed);
    if (fact == FACT_UNKNOWN && (st = fact_of(db, rec->of, s->last, &fact, err)) == AG_OK &&
        fact != FACT_UNKNOWN)
      atomic_store_explicit(&rec->fact, fact, memory_order_relaxed);
    /* a review of an id the log does not hold names nothing; what is
     * listed under a status is reviewable */
    int64_t seq = review_id_seq(rec->of);
    if (st != AG_OK || fact != FACT_REVIEWABLE || seq <= after)
      continue;
    if (*n == cap) {
      size_t c = cap ? cap * 2 : 64;
      review_item *v = realloc(*out, c * sizeof *v);
      if (!v) {
        st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
        break;
      }
      *out = v;
      cap = c;
    }
    review_item *it = &(*out)[(*n)++];
    it->seq = seq;
    memcpy(it->of, rec->of, sizeof it->of);
    it->latest = *latest;
  }
  review_set_done(s);
  if (st != AG_OK) {
    free(*out);
    *out = NULL;
    *n = 0;
    return st;
  }
  if (*n)
    qsort(*out, *n, sizeof **out, item_by_seq);
  return AG_OK;
}
