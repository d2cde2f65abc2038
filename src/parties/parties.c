/*
 * parties.c - the party registry and its re-screening (acegate/parties.h).
 *
 * Invariants: a party is known by its ref; an entry by its list code and
 * id (two lists may give entries the same id); party_hits holds, per
 * party, the entries (list, id and content hash) it was last found to
 * match, so a re-screening reports only hits that are new or on changed
 * content; a list change is re-screened by the one process that claims
 * it; each (party, new hit) of a change is named by one queue item, also
 * when a re-screening died midway and another finished it. The logic is
 * here once; where the tables are kept is store.h's concern.
 */
#include "acegate/parties.h"
#include "acegate/remember.h"
#include "acegate/review.h"
#include "store.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ag_parties {
  parties_store *s;
  /* every call holds it; recursive, so that ag_parties_begin can hold it
   * over the notes of a batch chunk */
  pthread_mutex_t mu;
};

/* A change claimed less than this long ago is the same list change,
 * reloaded by another replica (replicas reload within seconds of each
 * other); the same entries changing again later (a list withdrawn, then
 * published again) are re-screened anew. (How far back item_once looks is
 * not this window but the beginning of the re-screening it finishes.) */
#define CLAIM_WINDOW_MS (3600LL * 1000)

/* The key under which a full re-screening (no `before`) records its
 * beginning: no change's key (64 hex digits) is this. */
#define FULL_KEY "all"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool party_rows_add(party_rows *r, const party_row *row) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    party_row *grown = realloc(r->rows, cap * sizeof *grown);
    if (!grown)
      return false;
    r->rows = grown;
    r->cap = cap;
  }
  party_row *d = &r->rows[r->n];
  *d = (party_row){.last_screened_ms = row->last_screened_ms, .screened = row->screened};
  d->ref = strdup(row->ref ? row->ref : "");
  d->name = strdup(row->name ? row->name : "");
  d->country = strdup(row->country ? row->country : "");
  d->address = strdup(row->address ? row->address : "");
  d->source = strdup(row->source ? row->source : "");
  r->n++; /* freed with the others even when a copy failed */
  return d->ref && d->name && d->country && d->address && d->source;
}

void party_rows_free(party_rows *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->rows[i].ref);
    free(r->rows[i].name);
    free(r->rows[i].country);
    free(r->rows[i].address);
    free(r->rows[i].source);
  }
  free(r->rows);
  *r = (party_rows){.n = 0};
}

ag_status ag_parties_open(const char *log_path, ag_parties **out, ag_error *err) {
  *out = NULL;
  ag_parties *p = calloc(1, sizeof *p);
  if (!p)
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  int mrc = pthread_mutex_init(&p->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  if (mrc != 0) {
    free(p);
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  }
  /* with a PostgreSQL log, in its database: one registry for the replicas */
  ag_status st = ag_audit_is_postgresql(log_path) ? parties_pg_open(log_path, &p->s, err)
                                                  : parties_sqlite_open(log_path, &p->s, err);
  if (st != AG_OK) {
    pthread_mutex_destroy(&p->mu);
    free(p);
    return st;
  }
  *out = p;
  return AG_OK;
}

void ag_parties_close(ag_parties *p) {
  if (!p)
    return;
  p->s->ops->close(p->s);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* ---- adding parties ---- */

static const char *jstr(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* A party's fields, checked: errors name the field. */
static ag_status party_fields(json_t *row, char country[3], ag_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(row, key, v) {
    if (!json_is_string(v))
      return ag_error_set(err, AG_ERR_INPUT, key, "must be text");
  }
  const char *name = jstr(row, "name"), *ref = jstr(row, "ref"), *cc = jstr(row, "country");
  if (!*name)
    return ag_error_set(err, AG_ERR_INPUT, "name", "is required");
  if (strlen(name) > AG_SCREEN_NAME_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "name", "is longer than %d bytes", AG_SCREEN_NAME_MAX);
  if (!*ref)
    return ag_error_set(err, AG_ERR_INPUT, "ref", "is required: the registry is keyed by ref");
  ag_status st = ag_json_check_ref(ref, strlen(ref), err);
  if (st != AG_OK)
    return st;
  if (strlen(jstr(row, "address")) > AG_PARTIES_ADDRESS_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "address", "is longer than %d bytes",
                        AG_PARTIES_ADDRESS_MAX);
  country[0] = '\0';
  if (*cc) {
    bool two = strlen(cc) == 2;
    for (int i = 0; two && i < 2; i++) {
      char c = cc[i];
      two = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      country[i] = (char)(c >= 'a' ? c - 32 : c);
    }
    if (!two)
      return ag_error_set(err, AG_ERR_INPUT, "country",
                          "\"%.20s\" is not an ISO 3166-1 alpha-2 code", cc);
    country[2] = '\0';
  }
  return AG_OK;
}

typedef struct {
  ag_parties *p;
  size_t imported, updated, rejected;
  ag_buf *errors;
  ag_status failed;
  ag_error fail_err;
} import_ctx;

static void import_row(void *ctx, long line, const char *json, size_t len, const ag_error *rerr) {
  import_ctx *c = ctx;
  if (c->failed != AG_OK)
    return;
  ag_error e;
  ag_error_clear(&e);
  json_t *row = json ? json_loadb(json, len, 0, NULL) : NULL;
  char cc[3];
  ag_status st = rerr ? rerr->status : row ? party_fields(row, cc, &e) : AG_ERR_NOMEM;
  if (rerr)
    e = *rerr;
  bool existed = false;
  if (st == AG_OK) {
    parties_store *st_ = c->p->s;
    ag_status ust = st_->ops->import_one(st_, jstr(row, "ref"), jstr(row, "name"), cc,
                                         jstr(row, "address"), &existed, &c->fail_err);
    if (ust != AG_OK)
      c->failed = ust;
    else if (existed)
      c->updated++;
    else
      c->imported++;
  } else {
    if (c->rejected++)
      ag_buf_putc(c->errors, ',');
    ag_json_encode_batch_error(line, &e, c->errors);
  }
  json_decref(row);
}

static ag_status import_locked(ag_parties *p, FILE *in, const ag_pipeline_csv_columns *cols,
                               ag_buf *out, ag_error *err) {
  ag_buf errors;
  ag_buf_init(&errors);
  import_ctx c = {.p = p, .errors = &errors, .failed = AG_OK};
  ag_status st = p->s->ops->begin(p->s, err);
  if (st == AG_OK)
    st = ag_pipeline_csv_rows(in, cols, import_row, &c, err);
  if (st == AG_OK && c.failed != AG_OK) {
    *err = c.fail_err;
    st = c.failed;
  }
  if (st == AG_OK)
    st = p->s->ops->commit(p->s, err);
  if (st != AG_OK)
    p->s->ops->rollback(p->s);
  if (st == AG_OK) {
    ag_buf_printf(out, "{\"imported\":%zu,\"updated\":%zu,\"errors\":[", c.imported, c.updated);
    ag_buf_append(out, errors.data ? errors.data : "", errors.len);
    ag_buf_puts(out, "]}");
  }
  ag_buf_free(&errors);
  return st;
}

/* ---- reading ---- */

static size_t open_items(ag_audit_db *db, const char *ref) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error e;
  size_t n = 0;
  if (db && ag_review_queue_ref(db, "open", ref, NULL, AG_AUDIT_PAGE_MAX, &b, &e) == AG_OK) {
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
  }
  ag_buf_free(&b);
  return n;
}

/* {"ref",...,"open_items"} of a party. */
static void put_party(ag_buf *out, const party_row *r, ag_audit_db *db) {
  ag_buf_puts(out, "{\"ref\":");
  ag_buf_json_cstr(out, r->ref);
  ag_buf_puts(out, ",\"name\":");
  ag_buf_json_cstr(out, r->name);
  ag_buf_puts(out, ",\"country\":");
  if (*r->country)
    ag_buf_json_cstr(out, r->country);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"address\":");
  if (*r->address)
    ag_buf_json_cstr(out, r->address);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"source\":");
  ag_buf_json_cstr(out, r->source);
  ag_buf_puts(out, ",\"last_screened\":");
  if (r->screened) {
    char t[32];
    ag_audit_format_time(r->last_screened_ms, t);
    ag_buf_json_cstr(out, t);
  } else {
    ag_buf_puts(out, "null");
  }
  ag_buf_printf(out, ",\"open_items\":%zu}", open_items(db, r->ref));
}

static ag_status list_locked(ag_parties *p, ag_audit_db *db, const char *q, const char *cursor,
                             size_t limit, ag_buf *out, ag_error *err) {
  if (limit > AG_AUDIT_PAGE_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "limit", "at most %d", AG_AUDIT_PAGE_MAX);
  if (!limit)
    limit = AG_AUDIT_PAGE_DEFAULT;
  /* the cursor is the last ref of the previous page */
  party_rows rows = {.n = 0};
  ag_status st = p->s->ops->select(p->s, cursor ? cursor : "", q ? q : "", NULL, limit + 1,
                                   &rows, err);
  if (st != AG_OK) {
    party_rows_free(&rows);
    return st;
  }
  bool more = rows.n > limit;
  size_t n = more ? limit : rows.n;
  ag_buf_puts(out, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (i)
      ag_buf_putc(out, ',');
    put_party(out, &rows.rows[i], db);
  }
  ag_buf_puts(out, "],\"next_cursor\":");
  if (more)
    ag_buf_json_cstr(out, rows.rows[n - 1].ref);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
  party_rows_free(&rows);
  return AG_OK;
}

static ag_status show_locked(ag_parties *p, ag_audit_db *db, const char *ref, ag_buf *out,
                             ag_error *err) {
  party_rows rows = {.n = 0};
  ag_status st = p->s->ops->select(p->s, "", "", ref ? ref : "", 1, &rows, err);
  if (st == AG_OK && rows.n == 0)
    st = ag_error_set(err, AG_ERR_NOTFOUND, "ref", "no party with ref \"%.128s\"",
                      ref ? ref : "");
  if (st != AG_OK) {
    party_rows_free(&rows);
    return st;
  }
  ag_buf_puts(out, "{\"party\":");
  put_party(out, &rows.rows[0], db);
  party_rows_free(&rows);
  /* the screening history: every check and screening made with this ref */
  ag_buf_puts(out, ",\"history\":[");
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  size_t n = 0;
  do {
    ag_audit_query q = {.kind = AG_AUDIT_ANY, .ref = ref, .cursor = cursor,
                        .limit = AG_AUDIT_PAGE_MAX};
    ag_audit_page page;
    if ((st = ag_audit_search(db, &q, &page, err)) != AG_OK)
      return st;
    for (size_t i = 0; i < page.count; i++) {
      const ag_audit_entry *e = page.entries[i];
      if (e->kind != AG_AUDIT_CHECK && e->kind != AG_AUDIT_SCREENING)
        continue;
      char t[32];
      ag_audit_format_time(e->time_ms, t);
      if (n++)
        ag_buf_putc(out, ',');
      ag_buf_puts(out, "{\"audit_id\":");
      ag_buf_json_cstr(out, e->id);
      ag_buf_puts(out, ",\"kind\":");
      ag_buf_json_cstr(out, ag_audit_kind_name(e->kind));
      ag_buf_puts(out, ",\"at\":");
      ag_buf_json_cstr(out, t);
      ag_buf_puts(out, ",\"outcome\":");
      ag_buf_json_cstr(out, e->outcome);
      ag_buf_puts(out, ",\"lists_version\":");
      ag_buf_json_cstr(out, e->lists_version);
      ag_buf_putc(out, '}');
    }
    snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
    ag_audit_page_free(&page);
  } while (cursor[0]);
  ag_buf_puts(out, "],\"open\":");
  ag_buf queue;
  ag_buf_init(&queue);
  st = ag_review_queue_ref(db, "open", ref, NULL, AG_AUDIT_PAGE_MAX, &queue, err);
  json_t *j = st == AG_OK ? json_loadb(queue.data, queue.len, 0, NULL) : NULL;
  char *items = j ? json_dumps(json_object_get(j, "items"), JSON_COMPACT | JSON_PRESERVE_ORDER)
                  : NULL;
  ag_buf_puts(out, items ? items : "[]");
  free(items);
  json_decref(j);
  ag_buf_free(&queue);
  ag_buf_putc(out, '}');
  return st;
}

/* ---- re-screening ---- */

/* An entry as a list change compares it: the same list, id and content. */
typedef struct {
  const char *code, *id;
  uint8_t digest[16];
} entry_key;

static int by_key(const void *a, const void *b) {
  const entry_key *x = a, *y = b;
  int c = strcmp(x->code, y->code);
  if (!c)
    c = strcmp(x->id, y->id);
  return c ? c : memcmp(x->digest, y->digest, sizeof x->digest);
}

static entry_key key_of(const ag_screen *s, size_t i) {
  ag_screen_entry_info info;
  ag_screen_entry_get(s, i, &info);
  entry_key k = {.code = ag_screen_list(s, info.list)->code, .id = info.source_id};
  memcpy(k.digest, info.digest, sizeof k.digest);
  return k;
}

/* changed[i]: entry i of `after` is not in `before` with the same list, id
 * and content */
static uint8_t *changed_entries(const ag_screen *before, const ag_screen *after, uint64_t *n) {
  size_t na = ag_screen_entry_count(after), nb = before ? ag_screen_entry_count(before) : 0;
  uint8_t *changed = calloc(na ? na : 1, 1);
  entry_key *keys = nb ? malloc(nb * sizeof *keys) : NULL;
  if (!changed || (nb && !keys)) {
    free(changed);
    free(keys);
    return NULL;
  }
  for (size_t i = 0; i < nb; i++)
    keys[i] = key_of(before, i);
  if (nb)
    qsort(keys, nb, sizeof *keys, by_key);
  *n = 0;
  for (size_t i = 0; i < na; i++) {
    entry_key k = key_of(after, i);
    changed[i] = !nb || !bsearch(&k, keys, nb, sizeof *keys, by_key);
    *n += changed[i];
  }
  free(keys);
  return changed;
}

/* The change as a key: SHA-256 of the lists, ids and contents of the
 * entries it added or changed, in the order of the lists. Replicas that load the
 * same lists over the same earlier ones compute the same key. */
static bool change_key(const ag_screen *lists, const uint8_t *changed, char out[65]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    return false;
  }
  size_t n = ag_screen_entry_count(lists);
  for (size_t i = 0; i < n; i++) {
    if (!changed[i])
      continue;
    entry_key k = key_of(lists, i);
    EVP_DigestUpdate(md, k.code, strlen(k.code) + 1);
    EVP_DigestUpdate(md, k.id, strlen(k.id) + 1);
    EVP_DigestUpdate(md, k.digest, sizeof k.digest);
  }
  unsigned char d[32];
  unsigned int len = 0;
  bool ok = EVP_DigestFinal_ex(md, d, &len) && len == 32;
  EVP_MD_CTX_free(md);
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  out[64] = '\0';
  return ok;
}

/* One re-screening under way: what the screening of every party shares. */
typedef struct {
  ag_parties *p;
  const ag_parties_rescreen_options *o;
  ag_pipeline_worker *w;
  const uint8_t *changed;
  int64_t since_ms; /* the beginning of the re-screening it finishes: older items are not its */
  ag_screen_result sr;
  ag_parties_rescreen_stats *stats;
} rescreen_run;

/* A party's new hits: entry ids, their lists' codes and the content
 * hashes, index by index. */
typedef struct {
  json_t *ids, *lists, *hashes;
} hits;

/* Records the screening of one party with its cause: a queue item. */
static ag_status record_item(rescreen_run *run, const party_row *r, const hits *h, ag_error *err) {
  const ag_parties_rescreen_options *o = run->o;
  json_t *req = json_pack("{s:s, s:s}", "name", r->name, "ref", r->ref);
  if (req && *r->country)
    json_object_set_new(req, "country", json_string(r->country));
  if (req && *r->address)
    json_object_set_new(req, "address", json_string(r->address));
  char *rtext = req ? json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(req);
  if (!rtext)
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  ag_buf ans;
  ag_buf_init(&ans);
  ag_pipeline_result res;
  ag_status st = ag_pipeline_screening(o->data, run->w, rtext, strlen(rtext), &ans, &res);
  if (st != AG_OK) {
    *err = res.err;
    free(rtext);
    ag_buf_free(&ans);
    return st;
  }
  /* the cause goes inside the answer object */
  char *ids = json_dumps(h->ids, JSON_COMPACT), *lists = json_dumps(h->lists, JSON_COMPACT),
       *hashes = json_dumps(h->hashes, JSON_COMPACT);
  ans.len--;
  ag_buf_puts(&ans, ",\"cause\":{\"kind\":\"list_change\",\"lists_version\":");
  ag_buf_json_cstr(&ans, o->data->lists_version ? o->data->lists_version : "");
  ag_buf_puts(&ans, ",\"entries\":");
  ag_buf_puts(&ans, ids ? ids : "[]");
  ag_buf_puts(&ans, ",\"entry_lists\":");
  ag_buf_puts(&ans, lists ? lists : "[]");
  ag_buf_puts(&ans, ",\"entry_hashes\":");
  ag_buf_puts(&ans, hashes ? hashes : "[]");
  ag_buf_puts(&ans, ",\"audit_id\":");
  if (o->cause_audit_id && *o->cause_audit_id)
    ag_buf_json_cstr(&ans, o->cause_audit_id);
  else
    ag_buf_puts(&ans, "null");
  ag_buf_puts(&ans, "}}");
  free(ids);
  free(lists);
  free(hashes);
  res.len = ans.len - res.off;
  ag_audit_record rec;
  ag_pipeline_record(o->data, &res, rtext, strlen(rtext), ans.data + res.off, o->key_id, o->client,
                     &rec);
  char id[AG_AUDIT_ID_MAX];
  st = ans.failed ? ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory")
                  : ag_audit_append(o->db, &rec, id, err);
  if (st == AG_OK) {
    run->stats->items++;
    if (o->on_item) {
      ag_buf item;
      ag_buf_init(&item);
      ag_pipeline_splice_audit_id(&item, id, ans.data + res.off, res.len);
      o->on_item(o->on_item_ctx, id, item.data, item.len);
      ag_buf_free(&item);
    }
  }
  free(rtext);
  ag_buf_free(&ans);
  return st;
}

/* "hash list id": one hit as a key of the set of those the log names. An
 * item made before causes named the lists has list NULL, "*": it names
 * the hit on that id and content whatever the list. */
static void hit_key(char *out, size_t cap, json_t *id, json_t *list, json_t *hash) {
  const char *l = list ? json_string_value(list) : "*";
  snprintf(out, cap, "%s %s %s", json_string_value(hash) ? json_string_value(hash) : "", l ? l : "",
           json_string_value(id) ? json_string_value(id) : "");
}

/* Whether `named` holds hit i of h, on its list or any. */
static bool names_hit(json_t *named, const hits *h, size_t i) {
  json_t *id = json_array_get(h->ids, i), *hash = json_array_get(h->hashes, i);
  char key[300], any[300];
  hit_key(key, sizeof key, id, json_array_get(h->lists, i), hash);
  hit_key(any, sizeof any, id, NULL, hash);
  return json_object_get(named, key) || json_object_get(named, any);
}

/* One of the party's records, if a re-screening made it: its hits go into
 * `named`, and when it names one of the new hits h, the item goes to
 * on_item again (its delivery may have died with the process that made
 * it; a receiver ignores an id it has). */
static void note_logged(rescreen_run *run, const ag_audit_entry *e, const hits *h, json_t *named) {
  json_t *d = json_loadb(e->decision, e->decision_len, 0, NULL);
  json_t *cause = json_object_get(d, "cause");
  if (strcmp(jstr(cause, "kind"), "list_change") != 0) {
    json_decref(d);
    return; /* a screening asked for */
  }
  json_t *ids = json_object_get(cause, "entries"), *hashes = json_object_get(cause, "entry_hashes");
  json_t *lists = json_object_get(cause, "entry_lists");
  json_t *mine = json_object();
  char key[300];
  for (size_t i = 0; mine && i < json_array_size(ids) && i < json_array_size(hashes); i++) {
    hit_key(key, sizeof key, json_array_get(ids, i), lists ? json_array_get(lists, i) : NULL,
            json_array_get(hashes, i));
    json_object_set(mine, key, json_true());
  }
  bool names_one = false;
  for (size_t i = 0; json_object_size(mine) && i < json_array_size(h->ids); i++)
    names_one = names_one || names_hit(mine, h, i);
  json_object_update(named, mine);
  if (names_one) {
    run->stats->kept++;
    if (run->o->on_item) {
      ag_buf item;
      ag_buf_init(&item);
      ag_pipeline_splice_audit_id(&item, e->id, e->decision, e->decision_len);
      run->o->on_item(run->o->on_item_ctx, e->id, item.data, item.len);
      ag_buf_free(&item);
    }
  }
  json_decref(mine);
  json_decref(d);
}

/* The hits that re-screenings' items already name for the party, read
 * from its own records (by ref), newest first, back to since_ms. */
static ag_status logged_hits(rescreen_run *run, const char *ref, const hits *h, json_t *named,
                             ag_error *err) {
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  bool older = false;
  do {
    ag_audit_query q = {.kind = AG_AUDIT_SCREENING,
                        .ref = ref,
                        .cursor = cursor,
                        .limit = AG_AUDIT_PAGE_MAX,
                        .newest_first = true};
    ag_audit_page page;
    ag_status st = ag_audit_search(run->o->db, &q, &page, err);
    if (st != AG_OK)
      return st;
    for (size_t i = 0; i < page.count && !older; i++) {
      older = page.entries[i]->time_ms < run->since_ms;
      if (!older)
        note_logged(run, page.entries[i], h, named);
    }
    snprintf(cursor, sizeof cursor, "%s", older ? "" : page.next_cursor);
    ag_audit_page_free(&page);
  } while (cursor[0]);
  return AG_OK;
}

/* The party's queue item for its new hits, less those that an item made
 * by a re-screening since the one being finished began (run->since_ms)
 * names already with the same content. The hits commit at the end of a
 * re-screening and its items as they are made (the log and the registry
 * cannot commit together, so the log says which items exist): after one
 * died midway, the next finds those hits new again, and their items here,
 * so none is made twice and none is lost, however long after. */
static ag_status item_once(rescreen_run *run, const party_row *r, const hits *h, ag_error *err) {
  json_t *named = json_object();
  hits left = {.ids = json_array(), .lists = json_array(), .hashes = json_array()};
  ag_status st = named && left.ids && left.lists && left.hashes
                     ? logged_hits(run, r->ref, h, named, err)
                     : ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  for (size_t i = 0; st == AG_OK && i < json_array_size(h->ids); i++) {
    if (!names_hit(named, h, i)) {
      json_array_append(left.ids, json_array_get(h->ids, i));
      json_array_append(left.lists, json_array_get(h->lists, i));
      json_array_append(left.hashes, json_array_get(h->hashes, i));
    }
  }
  if (st == AG_OK && json_array_size(left.ids))
    st = record_item(run, r, &left, err);
  json_decref(named);
  json_decref(left.ids);
  json_decref(left.lists);
  json_decref(left.hashes);
  return st;
}

/* Screens one party against the changed entries; records its new hits
 * and, when there are any, its queue item. */
static ag_status rescreen_party(rescreen_run *run, const party_row *r, ag_error *err) {
  const ag_parties_rescreen_options *o = run->o;
  const ag_screen *lists = o->data->lists;
  ag_screen_result *sr = &run->sr;
  /* against the entries added or changed only: none of them is crowded
   * out of the matches by an unchanged entry that scores higher, and the
   * others are not scored at all */
  /* the registry's address is evidence, as in a screening given it: the
   * item's screening (record_item) weighs it too */
  ag_screen_request req = {.name = r->name,
                           .len = strlen(r->name),
                           .country = *r->country ? r->country : NULL,
                           .address = *r->address ? r->address : NULL,
                           .entries = o->before ? run->changed : NULL};
  ag_error qerr;
  if (ag_screen_query_ex(lists, &req, sr, &qerr) != AG_OK)
    return AG_OK; /* a name the registry took that screening refuses: nothing to find */
  hits fresh = {.ids = NULL};
  ag_match_note notes[AG_SCREEN_MATCHES_MAX];
  if (sr->count)
    ag_remember_apply(o->data->remembered, lists, r->country, AG_DATE_NONE, sr, notes);
  ag_status st = AG_OK;
  parties_store *s = run->p->s;
  for (size_t i = 0; i < sr->count && st == AG_OK; i++) {
    const ag_screen_match *m = &sr->matches[i];
    if (notes[i].remembered.kind == AG_REMEMBERED_CLEARED)
      continue; /* a reviewer cleared this party against this very content */
    bool is_new = false;
    st = s->ops->hit(s, r->ref, m->list_code, m->source_id, notes[i].entry_hash, &is_new, err);
    if (st != AG_OK || !is_new)
      continue;
    if (!fresh.ids && !((fresh.ids = json_array()) && (fresh.lists = json_array()) &&
                        (fresh.hashes = json_array()))) {
      st = ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
      break;
    }
    json_array_append_new(fresh.ids, json_string(m->source_id));
    json_array_append_new(fresh.lists, json_string(m->list_code));
    json_array_append_new(fresh.hashes, json_string(notes[i].entry_hash));
  }
  if (st == AG_OK && fresh.ids)
    st = item_once(run, r, &fresh, err);
  json_decref(fresh.ids);
  json_decref(fresh.lists);
  json_decref(fresh.hashes);
  return st;
}

/* Claims the change (a list change is re-screened once, by whichever
 * process claims it first; the others, replicas reloading the same lists,
 * skip it) and screens every party: in the transaction begun, `key` the
 * change's (or FULL_KEY), its beginning recorded at begun_ms. */
static ag_status rescreen_parties(rescreen_run *run, const char *key, int64_t begun_ms,
                                  ag_error *err) {
  parties_store *s = run->p->s;
  const ag_parties_rescreen_options *o = run->o;
  const char *version = o->data->lists_version ? o->data->lists_version : "";
  ag_status st = AG_OK;
  /* The items to look for are those of the re-screenings this one
   * finishes: of the change, made since its first attempt began (the
   * beginning the registry kept; a claim, in this transaction, would not
   * survive an attempt that died), however long ago; a full re-screening
   * finishes every one unfinished. Not a time window: a resumption a day
   * later finds its items, and the same entries changing again after the
   * change was finished begin anew, so its items are not taken for theirs.
   * Only a party with new hits reads its records, back to then. */
  int64_t since = -1;
  if (o->before) {
    bool claimed = false;
    st = s->ops->claim(s, key, version, now_ms(), CLAIM_WINDOW_MS, &claimed, &since, err);
    run->stats->skipped = st == AG_OK && !claimed;
    if (st != AG_OK || !claimed)
      return st;
  } else {
    st = s->ops->finish_all(s, key, version, begun_ms, &since, err);
    if (st != AG_OK)
      return st;
  }
  /* none kept: an attempt by an earlier version, which looked back the
   * claim window */
  run->since_ms = since >= 0 ? since : begun_ms - CLAIM_WINDOW_MS;
  party_rows rows = {.n = 0};
  const char **refs = NULL;
  size_t nrefs = 0;
  st = s->ops->all(s, &rows, err);
  if (st == AG_OK && rows.n && !(refs = malloc(rows.n * sizeof *refs)))
    st = ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  for (size_t i = 0; st == AG_OK && refs && i < rows.n; i++) {
    run->stats->parties++;
    refs[nrefs++] = rows.rows[i].ref;
    st = rescreen_party(run, &rows.rows[i], err);
  }
  if (st == AG_OK && nrefs)
    st = s->ops->screened(s, refs, nrefs, now_ms(), err);
  free(refs);
  party_rows_free(&rows);
  return st;
}

static ag_status rescreen_locked(ag_parties *p, const ag_parties_rescreen_options *o,
                                 ag_parties_rescreen_stats *stats, ag_error *err) {
  *stats = (ag_parties_rescreen_stats){.parties = 0};
  const ag_screen *lists = o->data ? o->data->lists : NULL;
  if (!lists)
    return ag_error_set(err, AG_ERR_NOTFOUND, "lists", "no screening lists are loaded");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint8_t *changed = changed_entries(o->before, lists, &stats->entries);
  rescreen_run run = {.p = p,
                      .o = o,
                      .changed = changed,
                      .stats = stats,
                      .w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX)};
  ag_screen_result_init(&run.sr);
  ag_status st = AG_OK;
  char key[65] = FULL_KEY;
  if (!changed || !run.w || (o->before && !change_key(lists, changed, key)))
    st = ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  /* its beginning, committed before: it outlives a process that dies */
  int64_t begun_ms = now_ms();
  if (st == AG_OK && stats->entries)
    st = p->s->ops->begun(p->s, key, o->data->lists_version ? o->data->lists_version : "",
                          begun_ms, CLAIM_WINDOW_MS, err);
  /* the claim, the registry read and its hits in one transaction: a
   * process that dies leaves none of them, and the next one to load the
   * change re-screens it (the items made, already in the log, are found
   * there: item_once) */
  if (st == AG_OK && stats->entries && (st = p->s->ops->begin(p->s, err)) == AG_OK) {
    st = rescreen_parties(&run, key, begun_ms, err);
    if (st == AG_OK)
      st = p->s->ops->commit(p->s, err);
    if (st != AG_OK)
      p->s->ops->rollback(p->s);
  }
  ag_screen_result_free(&run.sr);
  ag_pipeline_worker_free(run.w);
  free(changed);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  return st;
}

/* ---- the public calls, each under the handle's lock ---- */

ag_status ag_parties_import(ag_parties *p, FILE *in, const ag_pipeline_csv_columns *cols,
                            ag_buf *out, ag_error *err) {
  pthread_mutex_lock(&p->mu);
  ag_status st = import_locked(p, in, cols, out, err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_note(ag_parties *p, const char *ref, const char *name, const char *country,
                          ag_error *err) {
  if (!p || !ref || !*ref || !name || !*name)
    return AG_OK;
  pthread_mutex_lock(&p->mu);
  ag_status st = p->s->ops->note(p->s, ref, name, country ? country : "", now_ms(), err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_list(ag_parties *p, ag_audit_db *db, const char *q, const char *cursor,
                          size_t limit, ag_buf *out, ag_error *err) {
  pthread_mutex_lock(&p->mu);
  ag_status st = list_locked(p, db, q, cursor, limit, out, err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_show(ag_parties *p, ag_audit_db *db, const char *ref, ag_buf *out,
                          ag_error *err) {
  pthread_mutex_lock(&p->mu);
  ag_status st = show_locked(p, db, ref, out, err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_rescreen(ag_parties *p, const ag_parties_rescreen_options *o,
                              ag_parties_rescreen_stats *stats, ag_error *err) {
  pthread_mutex_lock(&p->mu);
  ag_status st = rescreen_locked(p, o, stats, err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_begin(ag_parties *p, ag_error *err) {
  pthread_mutex_lock(&p->mu);
  ag_status st = p->s->ops->begin(p->s, err);
  if (st != AG_OK)
    pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_end(ag_parties *p, ag_error *err) {
  ag_status st = p->s->ops->commit(p->s, err);
  if (st != AG_OK)
    p->s->ops->rollback(p->s);
  pthread_mutex_unlock(&p->mu);
  return st;
}
