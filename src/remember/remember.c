/*
 * remember.c - remembered review decisions (acegate/remember.h): a hash
 * table from (normalised party name, country) to the clearances and
 * confirmations of that party, built from the review records of the log.
 *
 * Invariants: items are kept in chain order (a later review has a higher
 * index); each bucket chain is newest first, so the first item found for a
 * (party, entry) is its latest decision.
 */
#include "acegate/remember.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NO_ITEM SIZE_MAX
#define DAY_MS 86400000LL

typedef struct {
  char audit_id[AG_AUDIT_ID_MAX];
  ag_remembered_kind kind;
  char reviewer[AG_KEYS_ID_MAX];
  int64_t time_ms;
  char *party_name, *normalized, *country, *source_id, *list, *entry_name; /* one block */
  char hash[AG_SCREEN_ENTRY_HASH_HEX];
  bool revoked;
  uint64_t key;
  size_t next; /* the next item of the bucket (older) */
} rm_item;

struct ag_remember {
  pthread_rwlock_t lock;
  int max_age_days;
  int64_t now_ms;
  rm_item *items;
  size_t n, cap;
  size_t *buckets; /* head item of each bucket, newest first */
  size_t nbuckets; /* a power of two */
};

/* FNV-1a over name, a separator, country */
static uint64_t party_key(const char *normalized, const char *country) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)normalized; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  h = (h ^ 0x1f) * 1099511628211ULL;
  for (const unsigned char *p = (const unsigned char *)(country ? country : ""); *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h;
}

static int64_t now_of(const ag_remember *r) {
  if (r->now_ms)
    return r->now_ms;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The UTC day of a time. */
static ag_date day_of(int64_t ms) {
  return (ag_date)((ms >= 0 ? ms : ms - (DAY_MS - 1)) / DAY_MS);
}

/* The day a decision is made as of: on, or the table's clock. */
static ag_date decision_day(const ag_remember *r, ag_date on) {
  return on != AG_DATE_NONE ? on : day_of(now_of(r));
}

/* A decision made on day D applies up to the day before D + max age (the
 * "expires" date the listing shows), counted from the day the check or
 * screening is made as of; one made after that day still applies: the
 * reviewer knows it when the check is made. */
static bool expired(const ag_remember *r, const rm_item *it, ag_date on) {
  return (int64_t)on - day_of(it->time_ms) >= (int64_t)r->max_age_days;
}

static void date_of(int64_t ms, char out[11]) {
  char t[32];
  ag_audit_format_time(ms, t);
  memcpy(out, t, 10);
  out[10] = '\0';
}

static bool rehash(ag_remember *r, size_t nb) {
  size_t *b = malloc(nb * sizeof *b);
  if (!b)
    return false;
  for (size_t i = 0; i < nb; i++)
    b[i] = NO_ITEM;
  for (size_t i = 0; i < r->n; i++) { /* oldest first, so each chain ends newest first */
    size_t slot = r->items[i].key & (nb - 1);
    r->items[i].next = b[slot];
    b[slot] = i;
  }
  free(r->buckets);
  r->buckets = b;
  r->nbuckets = nb;
  return true;
}

static bool same_party(const rm_item *it, uint64_t key, const char *normalized,
                       const char *country) {
  return it->key == key && !strcmp(it->normalized, normalized) &&
         !strcmp(it->country, country ? country : "");
}

static char *dup_all(const char *const *in, char **out[], size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += strlen(in[i] ? in[i] : "") + 1;
  char *block = malloc(total), *p = block;
  if (!block)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(in[i] ? in[i] : "");
    memcpy(p, in[i] ? in[i] : "", l + 1);
    *out[i] = p;
    p += l + 1;
  }
  return block;
}

static const char *jstr(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* Caller holds the write lock. */
static void add_pair(ag_remember *r, const char *audit_id, int64_t time_ms, ag_remembered_kind kind,
                     const char *reviewer, json_t *pair) {
  json_t *party = json_object_get(pair, "party"), *entry = json_object_get(pair, "entry");
  const char *hash = jstr(entry, "hash");
  if (!*jstr(party, "normalized") || !*jstr(entry, "source_id") ||
      strlen(hash) != AG_SCREEN_ENTRY_HASH_HEX - 1)
    return;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    rm_item *v = realloc(r->items, cap * sizeof *v);
    if (!v)
      return;
    r->items = v;
    r->cap = cap;
  }
  rm_item *it = &r->items[r->n];
  *it = (rm_item){.kind = kind, .time_ms = time_ms};
  snprintf(it->audit_id, sizeof it->audit_id, "%s", audit_id);
  snprintf(it->reviewer, sizeof it->reviewer, "%s", reviewer);
  memcpy(it->hash, hash, sizeof it->hash);
  const char *in[] = {jstr(party, "name"),      jstr(party, "normalized"), jstr(party, "country"),
                      jstr(entry, "source_id"), jstr(entry, "list"),       jstr(entry, "name")};
  char **out[] = {&it->party_name, &it->normalized, &it->country,
                  &it->source_id,  &it->list,       &it->entry_name};
  if (!dup_all(in, out, 6))
    return;
  it->key = party_key(it->normalized, it->country);
  if (r->n + 1 > r->nbuckets * 2 && !rehash(r, r->nbuckets * 4)) {
    free(it->party_name);
    return;
  }
  size_t slot = it->key & (r->nbuckets - 1);
  it->next = r->buckets[slot];
  r->buckets[slot] = r->n++;
}

void ag_remember_note(ag_remember *r, const char *audit_id, int64_t time_ms, const char *answer,
                      size_t len) {
  if (!r)
    return;
  json_t *a = json_loadb(answer, len, 0, NULL);
  if (!a)
    return;
  const char *decision = jstr(a, "decision");
  pthread_rwlock_wrlock(&r->lock);
  if (!strcmp(decision, "cleared") || !strcmp(decision, "confirmed")) {
    ag_remembered_kind kind =
        decision[1] == 'l' ? AG_REMEMBERED_CLEARED : AG_REMEMBERED_CONFIRMED;
    size_t i;
    json_t *pair;
    json_array_foreach(json_object_get(a, "remembered"), i, pair) {
      add_pair(r, audit_id, time_ms, kind, jstr(a, "reviewer"), pair);
    }
  } else if (!strcmp(decision, "revoked")) {
    const char *of = jstr(a, "review_of");
    json_t *entries = json_object_get(a, "entries");
    for (size_t i = 0; i < r->n; i++) {
      if (strcmp(r->items[i].audit_id, of) != 0)
        continue;
      bool named = json_array_size(entries) == 0;
      size_t k;
      json_t *e;
      json_array_foreach(entries, k, e) {
        named |= json_is_string(e) && !strcmp(json_string_value(e), r->items[i].source_id);
      }
      if (named)
        r->items[i].revoked = true;
    }
  }
  pthread_rwlock_unlock(&r->lock);
  json_decref(a);
}

void ag_remember_note_answer(ag_remember *r, const char *answer, size_t len) {
  if (!r)
    return;
  json_t *a = json_loadb(answer, len, 0, NULL);
  const char *id = json_string_value(json_object_get(a, "audit_id"));
  if (id)
    ag_remember_note(r, id, now_of(r), answer, len);
  json_decref(a);
}

ag_status ag_remember_load(ag_audit_db *db, int max_age_days, ag_remember **out, ag_error *err) {
  *out = NULL;
  ag_remember *r = calloc(1, sizeof *r);
  if (!r || pthread_rwlock_init(&r->lock, NULL) != 0) {
    free(r);
    return ag_error_set(err, AG_ERR_NOMEM, "remembered", "out of memory");
  }
  r->max_age_days = max_age_days < 0 ? 0 : max_age_days;
  if (!rehash(r, 256)) {
    ag_remember_free(r);
    return ag_error_set(err, AG_ERR_NOMEM, "remembered", "out of memory");
  }
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  while (db) {
    ag_audit_query q = {.kind = AG_AUDIT_REVIEW, .cursor = cursor, .limit = AG_AUDIT_PAGE_MAX};
    ag_audit_page page;
    ag_status st = ag_audit_search(db, &q, &page, err);
    if (st != AG_OK) {
      ag_remember_free(r);
      return st;
    }
    for (size_t i = 0; i < page.count; i++)
      ag_remember_note(r, page.entries[i]->id, page.entries[i]->time_ms,
                       page.entries[i]->decision, page.entries[i]->decision_len);
    snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
    ag_audit_page_free(&page);
    if (!cursor[0])
      break;
  }
  *out = r;
  return AG_OK;
}

void ag_remember_free(ag_remember *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->n; i++)
    free(r->items[i].party_name);
  free(r->items);
  free(r->buckets);
  pthread_rwlock_destroy(&r->lock);
  free(r);
}

void ag_remember_set_now(ag_remember *r, int64_t now_ms) {
  if (r)
    r->now_ms = now_ms;
}

int ag_remember_max_age(const ag_remember *r) {
  return r ? r->max_age_days : AG_REMEMBER_MAX_AGE;
}

bool ag_remember_knows(ag_remember *r, const char *normalized, const char *country) {
  if (!r || !normalized)
    return false;
  uint64_t key = party_key(normalized, country);
  bool found = false;
  pthread_rwlock_rdlock(&r->lock);
  for (size_t i = r->n ? r->buckets[key & (r->nbuckets - 1)] : NO_ITEM; i != NO_ITEM && !found;
       i = r->items[i].next)
    found = same_party(&r->items[i], key, normalized, country);
  pthread_rwlock_unlock(&r->lock);
  return found;
}

static void fill(const rm_item *it, ag_remembered *out) {
  out->kind = it->kind;
  snprintf(out->audit_id, sizeof out->audit_id, "%s", it->audit_id);
  snprintf(out->reviewer, sizeof out->reviewer, "%s", it->reviewer);
  date_of(it->time_ms, out->date);
}

/* Whether item it is about the entry (list, source_id). An entry is its
 * list and its id: two lists may give entries the same id (docs/review.md,
 * "The party registry"), and a person who cleared a party against one did
 * not look at the other. An empty list on either side (a review recorded
 * before candidates named their list) stands for the id on any list. */
static bool same_entry(const rm_item *it, const char *list, const char *source_id) {
  return !strcmp(it->source_id, source_id) &&
         (!*it->list || !list || !*list || !strcmp(it->list, list));
}

/* The latest item for (party, entry), read-locked by the caller. */
static const rm_item *latest(const ag_remember *r, const char *normalized, const char *country,
                             const char *list, const char *source_id) {
  uint64_t key = party_key(normalized, country);
  for (size_t i = r->n ? r->buckets[key & (r->nbuckets - 1)] : NO_ITEM; i != NO_ITEM;
       i = r->items[i].next) {
    const rm_item *it = &r->items[i];
    if (same_party(it, key, normalized, country) && same_entry(it, list, source_id))
      return it;
  }
  return NULL;
}

ag_remembered_kind ag_remember_find(ag_remember *r, const char *normalized, const char *country,
                                    const char *list, const char *source_id,
                                    const char *entry_hash, ag_date on, ag_remembered *out) {
  memset(out, 0, sizeof *out);
  if (!r || !normalized || !source_id || !entry_hash)
    return AG_REMEMBERED_NONE;
  ag_date now = decision_day(r, on);
  pthread_rwlock_rdlock(&r->lock);
  const rm_item *it = latest(r, normalized, country, list, source_id);
  if (it && !it->revoked && !expired(r, it, now) && !strcmp(it->hash, entry_hash))
    fill(it, out);
  pthread_rwlock_unlock(&r->lock);
  return out->kind;
}

size_t ag_remember_confirmed(ag_remember *r, const char *normalized, const char *country,
                             ag_date on, const char **ids, size_t cap) {
  if (!r || !normalized)
    return 0;
  size_t n = 0;
  ag_date now = decision_day(r, on);
  uint64_t key = party_key(normalized, country);
  pthread_rwlock_rdlock(&r->lock);
  for (size_t i = r->n ? r->buckets[key & (r->nbuckets - 1)] : NO_ITEM; i != NO_ITEM && n < cap;
       i = r->items[i].next) {
    const rm_item *it = &r->items[i];
    if (!same_party(it, key, normalized, country))
      continue;
    const rm_item *last = latest(r, normalized, country, it->list, it->source_id);
    if (last == it && it->kind == AG_REMEMBERED_CONFIRMED && !it->revoked &&
        !expired(r, it, now))
      ids[n++] = it->source_id;
  }
  pthread_rwlock_unlock(&r->lock);
  return n;
}

void ag_remember_apply(ag_remember *r, const ag_screen *lists, const char *country, ag_date on,
                       const ag_screen_result *res, ag_match_note *notes) {
  bool known = ag_remember_knows(r, res->normalized, country);
  for (size_t i = 0; i < res->count; i++) {
    memset(&notes[i], 0, sizeof notes[i]);
    if (!lists)
      continue;
    ag_screen_entry_hash(lists, res->matches[i].entry, notes[i].entry_hash);
    if (known)
      ag_remember_find(r, res->normalized, country, res->matches[i].list_name,
                       res->matches[i].source_id, notes[i].entry_hash, on,
                       &notes[i].remembered);
  }
}

/* ---- the listing ---- */

typedef struct {
  const char *id;
  size_t index;
  uint32_t list;
} id_index;

static int by_id(const void *a, const void *b) {
  return strcmp(((const id_index *)a)->id, ((const id_index *)b)->id);
}

/* The entries of lists sorted by source id, for the entry_changed state. */
static id_index *entries_by_id(const ag_screen *lists, size_t *n) {
  *n = lists ? ag_screen_entry_count(lists) : 0;
  if (!*n)
    return NULL;
  id_index *v = malloc(*n * sizeof *v);
  if (!v) {
    *n = 0;
    return NULL;
  }
  for (size_t i = 0; i < *n; i++) {
    ag_screen_entry_info info;
    ag_screen_entry_get(lists, i, &info);
    v[i] = (id_index){info.source_id, i, info.list};
  }
  qsort(v, *n, sizeof *v, by_id);
  return v;
}

/* Whether the lists hold the item's entry (its list and id; any list for
 * an item that names none, as same_entry) with the content it was
 * reviewed with. ids: entries_by_id(). */
static bool listed_unchanged(const ag_screen *lists, const id_index *ids, size_t n_ids,
                             const rm_item *it) {
  id_index key = {it->source_id, 0, 0};
  const id_index *hit = ids ? bsearch(&key, ids, n_ids, sizeof *ids, by_id) : NULL;
  if (!hit)
    return false;
  while (hit > ids && !strcmp(hit[-1].id, it->source_id))
    hit--; /* the first entry of that id: several lists may use it */
  for (; hit < ids + n_ids && !strcmp(hit->id, it->source_id); hit++) {
    const ag_screen_list_info *l = ag_screen_list(lists, hit->list);
    if (!l || (*it->list && strcmp(l->name, it->list) != 0 && strcmp(l->code, it->list) != 0))
      continue;
    char hex[AG_SCREEN_ENTRY_HASH_HEX];
    ag_screen_entry_hash(lists, hit->index, hex);
    if (!strcmp(hex, it->hash))
      return true;
  }
  return false;
}

ag_status ag_remember_list(ag_remember *r, const ag_screen *lists, const char *decision,
                           const char *cursor, size_t limit, ag_buf *out, ag_error *err) {
  ag_remembered_kind want = AG_REMEMBERED_NONE;
  if (decision && *decision) {
    if (!strcmp(decision, "cleared"))
      want = AG_REMEMBERED_CLEARED;
    else if (!strcmp(decision, "confirmed"))
      want = AG_REMEMBERED_CONFIRMED;
    else
      return ag_error_set(err, AG_ERR_INPUT, "decision",
                          "\"%.40s\" is not a remembered decision: cleared or confirmed",
                          decision);
  }
  if (limit > AG_AUDIT_PAGE_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "limit", "at most %d", AG_AUDIT_PAGE_MAX);
  if (!limit)
    limit = AG_AUDIT_PAGE_DEFAULT;
  size_t from = 0;
  if (cursor && *cursor) {
    char *end;
    unsigned long long v = strtoull(cursor, &end, 10);
    if (*end || cursor[0] < '0' || cursor[0] > '9')
      return ag_error_set(err, AG_ERR_INPUT, "cursor", "is not a cursor this listing gave");
    from = (size_t)v;
  }
  size_t n_ids;
  id_index *ids = entries_by_id(lists, &n_ids);
  ag_date now = decision_day(r, AG_DATE_NONE);
  ag_buf_puts(out, "{\"items\":[");
  size_t shown = 0, i;
  pthread_rwlock_rdlock(&r->lock);
  for (i = from; i < r->n && shown < limit; i++) {
    const rm_item *it = &r->items[i];
    if (want && it->kind != want)
      continue;
    const char *state = "active";
    const rm_item *last = latest(r, it->normalized, it->country, it->list, it->source_id);
    if (it->revoked || last != it)
      state = "revoked"; /* a later review of the same party and entry replaced it */
    else if (expired(r, it, now))
      state = "expired";
    else if (lists) {
      if (!listed_unchanged(lists, ids, n_ids, it))
        state = "entry_changed";
    }
    if (shown++)
      ag_buf_putc(out, ',');
    char date[11], expires[11];
    date_of(it->time_ms, date);
    ag_date_format(day_of(it->time_ms) + r->max_age_days, expires);
    ag_buf_puts(out, "{\"audit_id\":");
    ag_buf_json_cstr(out, it->audit_id);
    ag_buf_puts(out, ",\"decision\":");
    ag_buf_json_cstr(out, ag_remembered_kind_name(it->kind));
    ag_buf_puts(out, ",\"party\":{\"name\":");
    ag_buf_json_cstr(out, it->party_name);
    ag_buf_puts(out, ",\"country\":");
    if (it->country[0])
      ag_buf_json_cstr(out, it->country);
    else
      ag_buf_puts(out, "null");
    ag_buf_puts(out, "},\"entry\":{\"source_id\":");
    ag_buf_json_cstr(out, it->source_id);
    ag_buf_puts(out, ",\"list\":");
    ag_buf_json_cstr(out, it->list);
    ag_buf_puts(out, ",\"name\":");
    ag_buf_json_cstr(out, it->entry_name);
    ag_buf_puts(out, ",\"hash\":");
    ag_buf_json_cstr(out, it->hash);
    ag_buf_puts(out, "},\"reviewer\":");
    ag_buf_json_cstr(out, it->reviewer);
    ag_buf_puts(out, ",\"date\":");
    ag_buf_json_cstr(out, date);
    ag_buf_puts(out, ",\"expires\":");
    ag_buf_json_cstr(out, expires);
    ag_buf_puts(out, ",\"state\":");
    ag_buf_json_cstr(out, state);
    ag_buf_putc(out, '}');
  }
  /* the next page starts after the last item looked at */
  bool more = false;
  for (size_t k = i; k < r->n && !more; k++)
    more = !want || r->items[k].kind == want;
  pthread_rwlock_unlock(&r->lock);
  free(ids);
  ag_buf_puts(out, "],\"next_cursor\":");
  if (more)
    ag_buf_printf(out, "\"%zu\"", i);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
  return out->failed ? ag_error_set(err, AG_ERR_NOMEM, "", "out of memory") : AG_OK;
}
