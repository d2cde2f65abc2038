/*
 * queue.c - the review queues (acegate/review.h): the records a person must
 * look at (open), and those a review resolved (escalated, cleared,
 * confirmed), oldest first, a page at a time.
 *
 * The open queue is served from a list kept with the log's handle
 * (ag_audit_slot_get), so the service does not read its whole log at each
 * request (a scan of 100,000 checks took 0.3 s, 6 s when their answers name
 * candidates; a log is kept five years, 15 CFR 762.6): the seqs of the
 * records that need a person and that no review has resolved, learnt by
 * reading the log once (ahead of the first request when the process calls
 * ag_review_queue_warm, as the service does as it starts; else at the
 * first request), then at each request only the records after the last
 * one read. It is derived from the log alone and kept in memory only,
 * so there is nothing besides the log to keep or to verify. Several
 * processes may append to the log (the command line beside the service,
 * replicas on one PostgreSQL log): each request first reads up to the
 * head, so whatever any of them appended is in its answer. The reviews
 * that take records out of it, and that every other queue needs, are kept
 * with the handle the same way (set.c).
 *
 * Invariants of the list (open_list.mu guards it):
 *  - its seqs rise, each once, none after `last`, each of a record
 *    review_need_queued() queues;
 *  - it holds every such record up to `last` that no review of the review
 *    set resolves, but for the reviews from the `pruned`-th on (in chain
 *    order), which the next prune() applies: records are appended, never
 *    changed, and a resolved record never opens again (its status is its
 *    latest review, and every review decides cleared, confirmed or
 *    escalated), so a seq a review resolves is dropped for good;
 *  - gen is the review set's generation it was learnt with: when the set
 *    is read anew (another log at that path), so is the list;
 *  - last_hash is record last's hash: a log that no longer holds it
 *    (another log at that path) is read again from its start;
 *  - while `warming`, only ag_review_queue_warm() changes the list (a step
 *    at a time, each under mu); a request waits for it on `warmed` rather
 *    than read the log a second time.
 */
#include "review_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- a page of the queue ---- */

static void put_parties(json_t *party, json_t *match, void *ctx) {
  (void)match;
  json_t *names = ctx;
  json_t *name = json_object_get(party, "name");
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    if (json_equal(v, name))
      return;
  }
  if (json_is_string(name))
    json_array_append(names, name);
}

static void put_review_ref(ag_buf *out, const review_ref *r) {
  char t[32];
  ag_audit_format_time(r->time_ms, t);
  ag_buf_puts(out, "{\"audit_id\":");
  ag_buf_json_cstr(out, r->id);
  ag_buf_puts(out, ",\"decision\":");
  ag_buf_json_cstr(out, r->decision);
  ag_buf_puts(out, ",\"reviewer\":");
  ag_buf_json_cstr(out, r->reviewer);
  ag_buf_puts(out, ",\"time\":");
  ag_buf_json_cstr(out, t);
  ag_buf_putc(out, '}');
}

/* An item and r, its latest review (NULL: none, "open"). */
static void put_item(ag_buf *out, const ag_audit_entry *e, const review_ref *r) {
  review_put_header(out, e, r ? r->decision : "open");
  ag_buf_puts(out, ",\"destination\":");
  ag_buf_json_cstr(out, e->destination);
  ag_buf_puts(out, ",\"eccn\":");
  ag_buf_json_cstr(out, e->eccn);
  json_t *req = json_loadb(e->request, e->request_len, 0, NULL);
  const char *ref = json_string_value(json_object_get(req, "ref"));
  ag_buf_puts(out, ",\"ref\":");
  if (ref)
    ag_buf_json_cstr(out, ref);
  else
    ag_buf_puts(out, "null");
  json_decref(req);
  json_t *dec = json_loadb(e->decision, e->decision_len, 0, NULL);
  json_t *names = json_array();
  if (dec && names)
    review_each_candidate(e, dec, put_parties, names);
  char *text = names ? json_dumps(names, JSON_COMPACT) : NULL;
  ag_buf_puts(out, ",\"parties\":");
  ag_buf_puts(out, text ? text : "[]");
  free(text);
  json_decref(names);
  json_t *cause = json_object_get(dec, "cause");
  if (cause) {
    char *ct = json_dumps(cause, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ag_buf_puts(out, ",\"cause\":");
    ag_buf_puts(out, ct ? ct : "null");
    free(ct);
  }
  json_decref(dec);
  ag_buf_puts(out, ",\"latest_review\":");
  if (r)
    put_review_ref(out, r);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
}

/* Writes {"status","items","next_cursor"} for a page of entries, each with
 * its latest review (latest NULL: none has one, the open queue). */
static void put_page(ag_buf *out, const char *status, ag_audit_entry *const *entries, size_t n,
                     const char *next_cursor, const review_ref *const *latest) {
  ag_buf_puts(out, "{\"status\":");
  ag_buf_json_cstr(out, status);
  ag_buf_puts(out, ",\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (i)
      ag_buf_putc(out, ',');
    put_item(out, entries[i], latest ? latest[i] : NULL);
  }
  ag_buf_puts(out, "],\"next_cursor\":");
  if (next_cursor && next_cursor[0])
    ag_buf_json_cstr(out, next_cursor);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
}

/* ---- a scan of the log ---- */

typedef struct {
  const review_set *set; /* read-locked */
  const char *status;
} queue_filter;

static bool in_queue(void *ctx, const ag_audit_entry *e) {
  const queue_filter *f = ctx;
  /* open: only what a person must look at (and what is queued is
   * reviewable); a resolved record is listed under its status whatever
   * made it reviewable */
  if (!strcmp(f->status, "open"))
    return review_need_queued(e) && !review_latest(f->set, e->id);
  return review_need(e, NULL).reviewable && !strcmp(review_status(f->set, e->id), f->status);
}

/* The scan holds the set's read lock throughout (its answer is of one
 * set): the records of one party when ref is given, else the whole log
 * (review_queue_scan, which the tests compare with). */
static ag_status scan_with(ag_audit_db *db, review_set *set, const char *status, const char *ref,
                           const char *cursor, size_t limit, ag_buf *out, ag_error *err) {
  review_set_read(set);
  queue_filter f = {set, status};
  ag_audit_query q = {.kind = AG_AUDIT_ANY,
                      .ref = ref,
                      .match = in_queue,
                      .match_ctx = &f,
                      .cursor = cursor,
                      .limit = limit};
  ag_audit_page page;
  ag_status st = ag_audit_search(db, &q, &page, err);
  size_t n = st == AG_OK ? page.count : 0;
  const review_ref **latest = n ? malloc(n * sizeof(const review_ref *)) : NULL;
  bool room = !n || latest;
  if (st == AG_OK && room) {
    for (size_t i = 0; i < n; i++)
      latest[i] = review_latest(set, page.entries[i]->id);
    put_page(out, status, page.entries, n, page.next_cursor, latest);
  }
  review_set_done(set);
  free(latest);
  ag_audit_page_free(&page);
  if (st == AG_OK && !room)
    st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  return st;
}

ag_status review_queue_scan(ag_audit_db *db, const char *status, const char *ref,
                            const char *cursor, size_t limit, ag_buf *out, ag_error *err) {
  review_set *set;
  ag_status st = review_set_load(db, &set, err);
  if (st == AG_OK)
    st = scan_with(db, set, status, ref, cursor, limit, out, err);
  review_set_free(set);
  return st;
}

/* ---- the resolved statuses ---- */

/* A resolved status (escalated, cleared, confirmed) is that of records a
 * review names: those are found in the review set, where a scan of the log
 * would read and parse every record to find a few (11.6 s on a log of
 * 100,000 checks); whether the log holds each, and whether it is
 * reviewable, is looked up once and kept with the set, so a page reads
 * only its own records. Oldest first; the cursor is a search's ("f" and
 * the last seq in hex), so a page continues either way. */
static ag_status queue_reviewed(ag_audit_db *db, review_set *set, const char *status,
                                const char *cursor, size_t limit, ag_buf *out, ag_error *err) {
  int64_t after = 0;
  if (cursor && *cursor) {
    char *end = NULL;
    unsigned long long v = cursor[0] == 'f' ? strtoull(cursor + 1, &end, 16) : 0;
    if (!end || end == cursor + 1 || *end || v > INT64_MAX)
      return ag_error_set(err, AG_ERR_INPUT, "cursor", "not a cursor from this search");
    after = (int64_t)v;
  }
  if (limit == 0)
    limit = AG_AUDIT_PAGE_DEFAULT;
  review_item *items = NULL;
  size_t n = 0;
  ag_status st = review_set_status(set, db, status, after, &items, &n, err);
  size_t k = n > limit ? limit : n;
  ag_audit_entry **found = k ? calloc(k, sizeof(ag_audit_entry *)) : NULL;
  const review_ref **latest = k ? calloc(k, sizeof(const review_ref *)) : NULL;
  if (k && (!found || !latest)) {
    free(found);
    free(latest);
    free(items);
    return st != AG_OK ? st : ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  }
  for (size_t i = 0; i < k && st == AG_OK; i++) {
    latest[i] = &items[i].latest;
    if ((st = ag_audit_get(db, items[i].of, &found[i], err)) == AG_ERR_NOTFOUND)
      st = ag_error_set(err, AG_ERR_DB, "db", "record %s is no longer in the log", items[i].of);
  }
  if (st == AG_OK) {
    char next[AG_AUDIT_CURSOR_MAX] = "";
    if (n > limit)
      snprintf(next, sizeof next, "f%" PRIx64, (uint64_t)items[limit - 1].seq);
    put_page(out, status, found, k, next, latest);
  }
  for (size_t i = 0; found && i < k; i++)
    ag_audit_entry_free(found[i]);
  free(found);
  free(latest);
  free(items);
  return st;
}

/* ---- the open list ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t warmed; /* `warming` went false */
  bool warming;          /* ag_review_queue_warm() is reading the log */
  int64_t *seq;          /* n of them, cap allocated: 8 bytes a queued record */
  size_t n, cap;
  int64_t last; /* the last record read (0: none yet) */
  char last_hash[AG_AUDIT_HASH_HEX];
  uint64_t gen;  /* of the review set it was learnt with */
  size_t pruned; /* the reviews of the set it was pruned with */
} open_list;

static void *open_list_make(void) {
  open_list *q = calloc(1, sizeof *q);
  if (q) {
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->warmed, NULL);
  }
  return q;
}

static void open_list_drop(void *p) {
  open_list *q = p;
  pthread_cond_destroy(&q->warmed);
  pthread_mutex_destroy(&q->mu);
  free(q->seq);
  free(q);
}

static bool open_list_push(open_list *q, int64_t seq) {
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 256;
    int64_t *v = realloc(q->seq, cap * sizeof *v);
    if (!v)
      return false;
    q->seq = v;
    q->cap = cap;
  }
  q->seq[q->n++] = seq;
  return true;
}

typedef struct {
  int64_t upto; /* the head read before the search */
} learn_filter;

static bool learn_match(void *ctx, const ag_audit_entry *e) {
  const learn_filter *f = ctx;
  /* a record after the head is read by the next request, from its own
   * head on; what reviews resolve is left out as the page is added
   * (learn_add), not here, so that the review set is never locked while
   * the log is read */
  return e->seq <= f->upto && review_need_queued(e);
}

/* One search of the records after q->last: the open ones up to f->upto
 * into page, reading at most `scan` records (0: until a page of them
 * fills or the log ends). */
static ag_status learn_read(const open_list *q, ag_audit_db *db, learn_filter *f, size_t scan,
                            ag_audit_page *page, ag_error *err) {
  char cursor[AG_AUDIT_CURSOR_MAX];
  snprintf(cursor, sizeof cursor, "f%" PRIx64, (uint64_t)q->last);
  ag_audit_query aq = {.kind = AG_AUDIT_ANY,
                       .match = learn_match,
                       .match_ctx = f,
                       .cursor = cursor,
                       .limit = AG_AUDIT_PAGE_MAX,
                       .scan_max = scan};
  return ag_audit_search(db, &aq, page, err);
}

/* Where the list stands once page is added: the last record the search
 * read (its next_cursor, which a scan bound may set past the page's last
 * entry) with its hash, or the head when it read up to it (*done). */
static ag_status learn_end(ag_audit_db *db, const ag_audit_page *page, int64_t head,
                           const char *head_hash, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                           bool *done, ag_error *err) {
  int64_t next = 0;
  if (page->next_cursor[0] && !ag_audit_cursor_parse(page->next_cursor, false, &next))
    return ag_error_set(err, AG_ERR_INTERNAL, "reviews", "a search gave a cursor it cannot read");
  /* the records after the head are not matched: the list ends at it */
  *done = !page->next_cursor[0] || next >= head;
  if (*done) {
    *seq = head;
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", head_hash);
    return AG_OK;
  }
  *seq = next;
  const ag_audit_entry *end = page->count ? page->entries[page->count - 1] : NULL;
  if (end && end->seq == next) {
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", end->hash);
    return AG_OK;
  }
  ag_audit_entry *e = NULL; /* a record the search read but did not keep */
  ag_status st = ag_audit_get_seq(db, next, &e, err);
  if (st == AG_ERR_NOTFOUND)
    st = ag_error_set(err, AG_ERR_DB, "db", "record %" PRId64 " is no longer in the log", next);
  if (st == AG_OK)
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", e->hash);
  ag_audit_entry_free(e);
  return st;
}

/* Adds the page's records that no review resolves to the list and moves
 * `last` to seq; the list and `last` move together, so a failure midway
 * leaves a list the next reader continues. A resolved record is never
 * open again; a review read after this is for prune(). */
static ag_status learn_add(open_list *q, const ag_audit_page *page, review_set *set, int64_t seq,
                           const char *hash, ag_error *err) {
  size_t had = q->n;
  bool full = false;
  review_set_read(set);
  for (size_t i = 0; i < page->count && !full; i++)
    if (!review_latest(set, page->entries[i]->id))
      full = !open_list_push(q, page->entries[i]->seq);
  review_set_done(set);
  if (full) {
    q->n = had;
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  }
  q->last = seq;
  snprintf(q->last_hash, sizeof q->last_hash, "%s", hash);
  return AG_OK;
}

/* Reads the records after q->last up to the head into the list, a search
 * page at a time. */
static ag_status learn(open_list *q, ag_audit_db *db, review_set *set, int64_t head,
                       const char *head_hash, ag_error *err) {
  learn_filter f = {head};
  for (bool done = false; !done;) {
    ag_audit_page page;
    ag_status st = learn_read(q, db, &f, 0, &page, err);
    if (st != AG_OK)
      return st;
    int64_t seq = 0;
    char hash[AG_AUDIT_HASH_HEX] = "";
    if ((st = learn_end(db, &page, head, head_hash, &seq, hash, &done, err)) == AG_OK)
      st = learn_add(q, &page, set, seq, hash, err);
    ag_audit_page_free(&page);
    if (st != AG_OK)
      return st;
  }
  return AG_OK;
}

/* Whether the log still holds record q->last as it was read. */
static ag_status holds_last(const open_list *q, ag_audit_db *db, int64_t head,
                            const char *head_hash, bool *holds, ag_error *err) {
  *holds = head >= q->last;
  if (q->last == 0 || head < q->last)
    return AG_OK;
  if (head == q->last) {
    *holds = !strcmp(head_hash, q->last_hash);
    return AG_OK;
  }
  ag_audit_entry *e = NULL;
  ag_status st = ag_audit_get_seq(db, q->last, &e, err);
  if (st == AG_ERR_NOTFOUND) {
    *holds = false;
    return AG_OK;
  }
  if (st == AG_OK)
    *holds = !strcmp(e->hash, q->last_hash);
  ag_audit_entry_free(e);
  return st;
}

static void open_list_clear(open_list *q) {
  q->n = 0;
  q->last = 0;
  q->last_hash[0] = '\0';
}

/* Empties the list when the log no longer holds its last record. */
static ag_status check_last(open_list *q, ag_audit_db *db, int64_t head, const char *head_hash,
                            ag_error *err) {
  bool holds;
  ag_status st = holds_last(q, db, head, head_hash, &holds, err);
  if (st == AG_OK && !holds)
    open_list_clear(q);
  return st;
}

/* Empties the list when the review set was read anew (another log at its
 * path) since the list was learnt with it. An empty list needs no pruning
 * by the reviews read so far: whatever it learns next, it learns with
 * them. */
static void check_set(open_list *q, review_set *set) {
  uint64_t gen;
  size_t reviews = review_set_count(set, &gen);
  if (gen != q->gen) {
    open_list_clear(q);
    q->gen = gen;
  }
  if (!q->n)
    q->pruned = reviews;
}

/* Brings the list up to the log's head. */
static ag_status catch_up(open_list *q, ag_audit_db *db, review_set *set, ag_error *err) {
  int64_t head;
  char hash[AG_AUDIT_HASH_HEX];
  ag_status st = ag_audit_head(db, &head, hash, err);
  if (st == AG_OK)
    st = check_last(q, db, head, hash, err);
  if (st != AG_OK)
    return st;
  return head > q->last ? learn(q, db, set, head, hash, err) : AG_OK;
}

static int by_seq(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Drops the records that the reviews read since the last prune resolve
 * (those read before were applied then, or were read before the records
 * they resolve were learnt, which left them out). A review names a record
 * by audit id and the list holds seqs: a review naming a listed seq
 * resolves it when the log holds that very id (looked up once, kept with
 * the set). *stale when the set was read anew meanwhile: the list is
 * then to be learnt again. */
static ag_status prune(open_list *q, ag_audit_db *db, review_set *set, bool *stale, ag_error *err) {
  review_named *r;
  size_t nr, upto;
  ag_status st = review_set_since(set, q->pruned, q->gen, &r, &nr, &upto, stale, err);
  if (st != AG_OK || *stale)
    return st;
  int64_t *drop = nr ? malloc(nr * sizeof *drop) : NULL;
  size_t nd = 0;
  if (nr && !drop)
    st = ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  for (size_t i = 0; i < nr && drop && st == AG_OK; i++) {
    int64_t seq = review_id_seq(r[i].of);
    bool holds = false;
    if (seq && q->n && bsearch(&seq, q->seq, q->n, sizeof *q->seq, by_seq) &&
        (st = review_set_holds(set, db, q->gen, &r[i], &holds, err)) == AG_OK && holds)
      drop[nd++] = seq;
  }
  if (st == AG_OK && nd) {
    qsort(drop, nd, sizeof *drop, by_seq);
    size_t kept = 0, j = 0;
    for (size_t i = 0; i < q->n; i++) {
      while (j < nd && drop[j] < q->seq[i])
        j++;
      if (j == nd || drop[j] != q->seq[i])
        q->seq[kept++] = q->seq[i];
    }
    q->n = kept;
  }
  if (st == AG_OK)
    q->pruned = upto;
  free(drop);
  free(r);
  return st;
}

/* Up to limit seqs of the list after `after` (malloc'd into *out), and
 * whether more follow. */
static ag_status page_seqs(const open_list *q, int64_t after, size_t limit, int64_t **out,
                           size_t *n, bool *more, ag_error *err) {
  size_t lo = 0, hi = q->n;
  while (lo < hi) { /* the first seq after `after` */
    size_t mid = lo + (hi - lo) / 2;
    if (q->seq[mid] <= after)
      lo = mid + 1;
    else
      hi = mid;
  }
  *n = q->n - lo < limit ? q->n - lo : limit;
  *more = lo + *n < q->n;
  if (!*n)
    return AG_OK;
  if (!(*out = malloc(*n * sizeof **out)))
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  memcpy(*out, q->seq + lo, *n * sizeof **out);
  return AG_OK;
}

/* Writes the page of the records with these seqs (none of which a review
 * resolves). */
static ag_status put_open_page(ag_audit_db *db, const int64_t *seqs, size_t n, bool more,
                               ag_buf *out, ag_error *err) {
  ag_audit_entry **entries = n ? calloc(n, sizeof(ag_audit_entry *)) : NULL;
  if (n && !entries)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  ag_status st = AG_OK;
  for (size_t i = 0; i < n && st == AG_OK; i++)
    if ((st = ag_audit_get_seq(db, seqs[i], &entries[i], err)) == AG_ERR_NOTFOUND)
      st = ag_error_set(err, AG_ERR_DB, "db",
                        "record %" PRId64 " of the open queue is no longer in the log", seqs[i]);
  if (st == AG_OK) {
    char next[AG_AUDIT_CURSOR_MAX] = "";
    if (more)
      snprintf(next, sizeof next, "f%" PRIx64, (uint64_t)seqs[n - 1]);
    put_page(out, "open", entries, n, next, NULL);
  }
  for (size_t i = 0; i < n; i++)
    ag_audit_entry_free(entries[i]);
  free(entries);
  return st;
}

/* The list brought up to the head and pruned by the reviews read; learnt
 * again when the review set was read anew meanwhile (a few times at most:
 * the log at the path keeps changing otherwise). q->mu is held. */
static ag_status bring_up(open_list *q, ag_audit_db *db, review_set *set, ag_error *err) {
  for (int tries = 0; tries < 3; tries++) {
    check_set(q, set);
    bool stale = false;
    ag_status st = catch_up(q, db, set, err);
    if (st == AG_OK)
      st = prune(q, db, set, &stale, err);
    if (st != AG_OK || !stale)
      return st;
  }
  return ag_error_set(err, AG_ERR_DB, "db", "the log changed while it was read: ask again");
}

/* The open queue from the list, brought up to the head first. The list is
 * held only while it is brought up to date and its page taken: the
 * records of the page are read after. */
static ag_status queue_open(ag_audit_db *db, const char *cursor, size_t limit, ag_buf *out,
                            ag_error *err) {
  int64_t after = 0; /* the cursors of a search by seq: a page continues a scan's */
  if (cursor && *cursor && !ag_audit_cursor_parse(cursor, false, &after))
    return ag_error_set(err, AG_ERR_INPUT, "cursor", "not a cursor from this search");
  open_list *q = ag_audit_slot_get(db, AG_AUDIT_SLOT_REVIEW_QUEUE, open_list_make, open_list_drop);
  if (!q)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  int64_t *seqs = NULL;
  size_t n = 0;
  bool more = false;
  pthread_mutex_lock(&q->mu);
  while (q->warming) /* a read in progress: its list serves */
    pthread_cond_wait(&q->warmed, &q->mu);
  /* the reviews are read once that read has ended, and right before the
   * list, so that they are as recent as the list */
  review_set *set;
  ag_status st = review_set_kept(db, &set, err);
  if (st == AG_OK)
    st = bring_up(q, db, set, err);
  if (st == AG_OK)
    st = page_seqs(q, after, limit ? limit : AG_AUDIT_PAGE_DEFAULT, &seqs, &n, &more, err);
  pthread_mutex_unlock(&q->mu);
  if (st == AG_OK)
    st = put_open_page(db, seqs, n, more, out, err);
  free(seqs);
  return st;
}

/* ---- reading the log ahead of the first request ---- */

ag_status ag_review_statuses_warm(ag_audit_db *db, bool (*step)(void *ctx, size_t done), void *ctx,
                                  size_t *learnt, ag_error *err) {
  *learnt = 0;
  review_set *set;
  ag_status st = review_set_kept(db, &set, err);
  return st == AG_OK ? review_set_learn(set, db, step, ctx, learnt, err) : st;
}

/* Records read per step of ag_review_queue_warm: 5 to 25 ms of reading
 * each (100,000 checks with party names took 0.64-0.71 s; a step's own
 * search and look-up cost about 1 % of that), so a stop is seen that soon
 * and a ":memory:" log, whose reads hold its writer's lock, lets appends
 * through between steps. */
#define WARM_STEP 1024

ag_status ag_review_queue_warm(ag_audit_db *db, bool (*step)(void *ctx, const ag_review_warm *w),
                               void *ctx, ag_review_warm *w, ag_error *err) {
  memset(w, 0, sizeof *w);
  open_list *q = ag_audit_slot_get(db, AG_AUDIT_SLOT_REVIEW_QUEUE, open_list_make, open_list_drop);
  if (!q)
    return ag_error_set(err, AG_ERR_NOMEM, "reviews", "out of memory");
  pthread_mutex_lock(&q->mu);
  while (q->warming) /* one read at a time: the other one's list serves */
    pthread_cond_wait(&q->warmed, &q->mu);
  q->warming = true;
  pthread_mutex_unlock(&q->mu);
  /* while warming no one else changes the list: it is read without mu and
   * changed under it, so a caller reading w or waiting is never held long */
  review_set *set = NULL;
  int64_t head = 0;
  char head_hash[AG_AUDIT_HASH_HEX] = "";
  ag_status st = review_set_kept(db, &set, err);
  if (st == AG_OK)
    st = ag_audit_head(db, &head, head_hash, err);
  if (st == AG_OK) {
    pthread_mutex_lock(&q->mu);
    check_set(q, set);
    st = check_last(q, db, head, head_hash, err);
    pthread_mutex_unlock(&q->mu);
  }
  if (st == AG_OK) {
    w->head = head;
    w->from = w->upto = q->last;
    w->items = q->n;
  }
  learn_filter f = {head};
  for (bool done = st != AG_OK || q->last >= head; !done;) {
    if (step && !step(ctx, w)) {
      w->stopped = true;
      break;
    }
    ag_audit_page page;
    int64_t seq = 0;
    char hash[AG_AUDIT_HASH_HEX] = "";
    if ((st = learn_read(q, db, &f, WARM_STEP, &page, err)) != AG_OK)
      break;
    if ((st = learn_end(db, &page, head, head_hash, &seq, hash, &done, err)) == AG_OK) {
      pthread_mutex_lock(&q->mu);
      st = learn_add(q, &page, set, seq, hash, err);
      w->upto = q->last;
      w->items = q->n;
      pthread_mutex_unlock(&q->mu);
    }
    ag_audit_page_free(&page);
    if (st != AG_OK)
      break;
  }
  pthread_mutex_lock(&q->mu);
  q->warming = false;
  pthread_cond_broadcast(&q->warmed);
  pthread_mutex_unlock(&q->mu);
  return st;
}

/* ---- the queues ---- */

ag_status ag_review_queue(ag_audit_db *db, const char *status, const char *cursor, size_t limit,
                          ag_buf *out, ag_error *err) {
  return ag_review_queue_ref(db, status, NULL, cursor, limit, out, err);
}

ag_status ag_review_queue_ref(ag_audit_db *db, const char *status, const char *ref,
                              const char *cursor, size_t limit, ag_buf *out, ag_error *err) {
  if (!status)
    status = "open";
  if (strcmp(status, "open") != 0 && !review_decision_known(status))
    return ag_error_set(err, AG_ERR_INPUT, "status",
                        "\"%.40s\" is not a status: open, escalated, cleared or confirmed", status);
  if (limit > AG_AUDIT_PAGE_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "limit", "at most %d", AG_AUDIT_PAGE_MAX);
  if (!ref && !strcmp(status, "open"))
    return queue_open(db, cursor, limit, out, err);
  review_set *set;
  ag_status st = review_set_kept(db, &set, err);
  if (st != AG_OK)
    return st;
  /* one party's records are read through the ref index (audit_log_ref) */
  if (ref)
    return scan_with(db, set, status, ref, cursor, limit, out, err);
  return queue_reviewed(db, set, status, cursor, limit, out, err);
}
