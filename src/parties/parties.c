/*
 * parties.c - the party registry and its re-screening (acegate/parties.h).
 *
 * Invariants: a party is known by its ref; party_hits holds, per party,
 * the entries (id and content hash) it was last found to match, so a
 * re-screening reports only hits that are new or on changed content.
 */
#include "acegate/parties.h"
#include "acegate/remember.h"
#include "acegate/review.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ag_parties {
  sqlite3 *h;
  sqlite3_stmt *note; /* note_sql, prepared on first use */
  /* every call holds it; recursive, so that ag_parties_begin can hold it
   * over the notes of a batch chunk */
  pthread_mutex_t mu;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS parties(ref TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " country TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',"
    " source TEXT NOT NULL, last_screened_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS party_hits(ref TEXT NOT NULL, source_id TEXT NOT NULL,"
    " hash TEXT NOT NULL, PRIMARY KEY(ref, source_id));";

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ag_status db_error(ag_parties *p, ag_error *err) {
  return ag_error_set(err, AG_ERR_DB, "parties", "the party registry: %s",
                      p && p->h ? sqlite3_errmsg(p->h) : "cannot be opened");
}

ag_status ag_parties_open(const char *log_path, ag_parties **out, ag_error *err) {
  *out = NULL;
  /* the registry sits beside a log file; a PostgreSQL log has none
   * (docs/review.md, Not yet) */
  if (!strncmp(log_path, "postgresql://", 13) || !strncmp(log_path, "postgres://", 11))
    return ag_error_set(err, AG_ERR_INPUT, "db",
                        "the party registry is kept beside a SQLite log only, not with a "
                        "PostgreSQL log");
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
  char path[4200];
  if (!strcmp(log_path, ":memory:"))
    snprintf(path, sizeof path, ":memory:");
  else
    snprintf(path, sizeof path, "%s" AG_PARTIES_SUFFIX, log_path);
  if (sqlite3_open_v2(path, &p->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
          SQLITE_OK ||
      sqlite3_busy_timeout(p->h, 5000) != SQLITE_OK ||
      /* derived data: a crash may lose the last notes, never corrupt */
      sqlite3_exec(p->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                   NULL) != SQLITE_OK ||
      sqlite3_exec(p->h, schema, NULL, NULL, NULL) != SQLITE_OK) {
    ag_status st = db_error(p, err);
    ag_parties_close(p);
    return st;
  }
  *out = p;
  return AG_OK;
}

void ag_parties_close(ag_parties *p) {
  if (!p)
    return;
  sqlite3_finalize(p->note);
  sqlite3_close(p->h);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* ---- adding parties ---- */

/* Inserts or replaces a party; *existed says whether ref was known. An
 * imported party replaces whatever was there; a party from a check never
 * replaces an imported one. */
static ag_status upsert(ag_parties *p, const char *ref, const char *name, const char *country,
                        const char *address, const char *source, bool *existed, ag_error *err) {
  sqlite3_stmt *q = NULL;
  *existed = false;
  if (sqlite3_prepare_v2(p->h, "SELECT source FROM parties WHERE ref = ?", -1, &q, NULL))
    return db_error(p, err);
  sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
  bool keep = false;
  if (sqlite3_step(q) == SQLITE_ROW) {
    *existed = true;
    keep = !strcmp(source, "check") && !strcmp((const char *)sqlite3_column_text(q, 0), "import");
  }
  sqlite3_finalize(q);
  if (keep)
    return AG_OK;
  if (sqlite3_prepare_v2(p->h,
                         "INSERT INTO parties(ref, name, country, address, source) "
                         "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(ref) DO UPDATE SET "
                         "name = ?2, country = ?3, address = ?4, source = ?5",
                         -1, &q, NULL))
    return db_error(p, err);
  sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, country, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, address, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, source, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AG_OK : db_error(p, err);
}

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
    ag_status ust = upsert(c->p, jstr(row, "ref"), jstr(row, "name"), cc, jstr(row, "address"),
                           "import", &existed, &c->fail_err);
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
  sqlite3_exec(p->h, "BEGIN", NULL, NULL, NULL);
  ag_status st = ag_pipeline_csv_rows(in, cols, import_row, &c, err);
  if (st == AG_OK && c.failed != AG_OK) {
    *err = c.fail_err;
    st = c.failed;
  }
  if (sqlite3_exec(p->h, st == AG_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
      st == AG_OK)
    st = db_error(p, err);
  if (st == AG_OK) {
    ag_buf_printf(out, "{\"imported\":%zu,\"updated\":%zu,\"errors\":[", c.imported, c.updated);
    ag_buf_append(out, errors.data ? errors.data : "", errors.len);
    ag_buf_puts(out, "]}");
  }
  ag_buf_free(&errors);
  return st;
}

/* One statement: a party new from a check, or a check's party again (its
 * name and country as screened now); an imported party keeps its fields.
 * Either way it was screened just now. Prepared once per handle: a batch
 * notes a party per line. */
static const char note_sql[] =
    "INSERT INTO parties(ref, name, country, address, source, last_screened_ms) "
    "VALUES(?1, ?2, ?3, '', 'check', ?4) ON CONFLICT(ref) DO UPDATE SET "
    "name = CASE WHEN source = 'import' THEN name ELSE ?2 END, "
    "country = CASE WHEN source = 'import' THEN country ELSE ?3 END, "
    "address = CASE WHEN source = 'import' THEN address ELSE '' END, "
    "last_screened_ms = ?4";

static ag_status note_locked(ag_parties *p, const char *ref, const char *name,
                             const char *country, ag_error *err) {
  if (!p->note && sqlite3_prepare_v3(p->h, note_sql, -1, SQLITE_PREPARE_PERSISTENT, &p->note,
                                     NULL) != SQLITE_OK)
    return db_error(p, err);
  sqlite3_bind_text(p->note, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(p->note, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(p->note, 3, country ? country : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(p->note, 4, now_ms());
  int rc = sqlite3_step(p->note);
  ag_status st = rc == SQLITE_DONE ? AG_OK : db_error(p, err);
  sqlite3_reset(p->note);
  sqlite3_clear_bindings(p->note);
  return st;
}

/* ---- reading ---- */

static void put_time_or_null(ag_buf *out, sqlite3_stmt *q, int col) {
  if (sqlite3_column_type(q, col) == SQLITE_NULL) {
    ag_buf_puts(out, "null");
    return;
  }
  char t[32];
  ag_audit_format_time(sqlite3_column_int64(q, col), t);
  ag_buf_json_cstr(out, t);
}

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

/* {"ref",...,"open_items"} of the current row (ref, name, country,
 * address, source, last_screened_ms). */
static void put_party(ag_buf *out, sqlite3_stmt *q, ag_audit_db *db) {
  const char *ref = (const char *)sqlite3_column_text(q, 0);
  ag_buf_puts(out, "{\"ref\":");
  ag_buf_json_cstr(out, ref);
  ag_buf_puts(out, ",\"name\":");
  ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 1));
  ag_buf_puts(out, ",\"country\":");
  const char *cc = (const char *)sqlite3_column_text(q, 2);
  if (cc && *cc)
    ag_buf_json_cstr(out, cc);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"address\":");
  const char *ad = (const char *)sqlite3_column_text(q, 3);
  if (ad && *ad)
    ag_buf_json_cstr(out, ad);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"source\":");
  ag_buf_json_cstr(out, (const char *)sqlite3_column_text(q, 4));
  ag_buf_puts(out, ",\"last_screened\":");
  put_time_or_null(out, q, 5);
  ag_buf_printf(out, ",\"open_items\":%zu}", open_items(db, ref));
}

#define PARTY_COLS "ref, name, country, address, source, last_screened_ms"

static ag_status list_locked(ag_parties *p, ag_audit_db *db, const char *q, const char *cursor,
                             size_t limit, ag_buf *out, ag_error *err) {
  if (limit > AG_AUDIT_PAGE_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "limit", "at most %d", AG_AUDIT_PAGE_MAX);
  if (!limit)
    limit = AG_AUDIT_PAGE_DEFAULT;
  sqlite3_stmt *s = NULL;
  /* the cursor is the last ref of the previous page */
  if (sqlite3_prepare_v2(p->h,
                         "SELECT " PARTY_COLS " FROM parties WHERE ref > ?1 AND (?2 = '' OR "
                         "instr(lower(ref), lower(?2)) OR instr(lower(name), lower(?2))) "
                         "ORDER BY ref LIMIT ?3",
                         -1, &s, NULL))
    return db_error(p, err);
  sqlite3_bind_text(s, 1, cursor ? cursor : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, q ? q : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)limit + 1);
  ag_buf_puts(out, "{\"items\":[");
  size_t n = 0;
  char last[AG_JSON_REF_BYTES + 1] = "";
  bool more = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == limit) {
      more = true;
      break;
    }
    if (n++)
      ag_buf_putc(out, ',');
    put_party(out, s, db);
    snprintf(last, sizeof last, "%s", (const char *)sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_error(p, err);
  ag_buf_puts(out, "],\"next_cursor\":");
  if (more)
    ag_buf_json_cstr(out, last);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
  return AG_OK;
}

static ag_status show_locked(ag_parties *p, ag_audit_db *db, const char *ref, ag_buf *out,
                             ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(p->h, "SELECT " PARTY_COLS " FROM parties WHERE ref = ?", -1, &s, NULL))
    return db_error(p, err);
  sqlite3_bind_text(s, 1, ref ? ref : "", -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    return ag_error_set(err, AG_ERR_NOTFOUND, "ref", "no party with ref \"%.128s\"",
                        ref ? ref : "");
  }
  ag_buf_puts(out, "{\"party\":");
  put_party(out, s, db);
  sqlite3_finalize(s);
  /* the screening history: every check and screening made with this ref */
  ag_buf_puts(out, ",\"history\":[");
  char cursor[AG_AUDIT_CURSOR_MAX] = "";
  size_t n = 0;
  ag_status st = AG_OK;
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

typedef struct {
  const char *id;
  uint8_t digest[16];
} entry_key;

static int by_id(const void *a, const void *b) {
  return strcmp(((const entry_key *)a)->id, ((const entry_key *)b)->id);
}

/* changed[i]: entry i of `after` is not in `before` with the same content */
static uint8_t *changed_entries(const ag_screen *before, const ag_screen *after, uint64_t *n) {
  size_t na = ag_screen_entry_count(after), nb = before ? ag_screen_entry_count(before) : 0;
  uint8_t *changed = calloc(na ? na : 1, 1);
  entry_key *keys = nb ? malloc(nb * sizeof *keys) : NULL;
  if (!changed || (nb && !keys)) {
    free(changed);
    free(keys);
    return NULL;
  }
  for (size_t i = 0; i < nb; i++) {
    ag_screen_entry_info info;
    ag_screen_entry_get(before, i, &info);
    keys[i].id = info.source_id;
    memcpy(keys[i].digest, info.digest, 16);
  }
  if (nb)
    qsort(keys, nb, sizeof *keys, by_id);
  *n = 0;
  for (size_t i = 0; i < na; i++) {
    ag_screen_entry_info info;
    ag_screen_entry_get(after, i, &info);
    entry_key k = {.id = info.source_id};
    const entry_key *was = nb ? bsearch(&k, keys, nb, sizeof *keys, by_id) : NULL;
    changed[i] = !was || memcmp(was->digest, info.digest, 16) != 0;
    *n += changed[i];
  }
  free(keys);
  return changed;
}

/* Whether (ref, source_id) was known with this content; records it. */
static bool hit_is_new(ag_parties *p, sqlite3_stmt *get, sqlite3_stmt *put, const char *ref,
                       const char *sid, const char *hash) {
  sqlite3_reset(get);
  sqlite3_bind_text(get, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(get, 2, sid, -1, SQLITE_STATIC);
  bool known = sqlite3_step(get) == SQLITE_ROW &&
               !strcmp((const char *)sqlite3_column_text(get, 0), hash);
  sqlite3_reset(get);
  if (!known) {
    sqlite3_reset(put);
    sqlite3_bind_text(put, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 2, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(put, 3, hash, -1, SQLITE_STATIC);
    sqlite3_step(put);
    sqlite3_reset(put);
  }
  (void)p;
  return !known;
}

/* Records the screening of one party with its cause: a queue item. */
static ag_status record_item(const ag_parties_rescreen_options *o, ag_pipeline_worker *w,
                             const char *ref, const char *name, const char *country,
                             json_t *entries, ag_parties_rescreen_stats *stats, ag_error *err) {
  json_t *req = json_pack("{s:s, s:s}", "name", name, "ref", ref);
  if (req && *country)
    json_object_set_new(req, "country", json_string(country));
  char *rtext = req ? json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(req);
  if (!rtext)
    return ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  ag_buf ans;
  ag_buf_init(&ans);
  ag_pipeline_result res;
  ag_status st = ag_pipeline_screening(o->data, w, rtext, strlen(rtext), &ans, &res);
  if (st != AG_OK) {
    *err = res.err;
    free(rtext);
    ag_buf_free(&ans);
    return st;
  }
  /* the cause goes inside the answer object */
  char *etext = json_dumps(entries, JSON_COMPACT);
  ans.len--;
  ag_buf_puts(&ans, ",\"cause\":{\"kind\":\"list_change\",\"lists_version\":");
  ag_buf_json_cstr(&ans, o->data->lists_version ? o->data->lists_version : "");
  ag_buf_puts(&ans, ",\"entries\":");
  ag_buf_puts(&ans, etext ? etext : "[]");
  ag_buf_puts(&ans, ",\"audit_id\":");
  if (o->cause_audit_id && *o->cause_audit_id)
    ag_buf_json_cstr(&ans, o->cause_audit_id);
  else
    ag_buf_puts(&ans, "null");
  ag_buf_puts(&ans, "}}");
  free(etext);
  res.len = ans.len - res.off;
  ag_audit_record rec;
  ag_pipeline_record(o->data, &res, rtext, strlen(rtext), ans.data + res.off, o->key_id,
                     o->client, &rec);
  char id[AG_AUDIT_ID_MAX];
  st = ans.failed ? ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory")
                  : ag_audit_append(o->db, &rec, id, err);
  if (st == AG_OK) {
    stats->items++;
    if (o->on_item) {
      ag_buf item;
      ag_buf_init(&item);
      ag_pipeline_splice_audit_id(&item, id, ans.data + res.off, res.len);
      o->on_item(o->on_item_ctx, item.data, item.len);
      ag_buf_free(&item);
    }
  }
  free(rtext);
  ag_buf_free(&ans);
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
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  sqlite3_stmt *all = NULL, *get = NULL, *put = NULL, *seen = NULL;
  ag_screen_result sr;
  ag_screen_result_init(&sr);
  ag_status st = AG_OK;
  if (!changed || !w)
    st = ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
  else if (sqlite3_prepare_v2(p->h, "SELECT ref, name, country FROM parties ORDER BY ref", -1,
                              &all, NULL) ||
           sqlite3_prepare_v2(p->h,
                              "SELECT hash FROM party_hits WHERE ref = ? AND source_id = ?", -1,
                              &get, NULL) ||
           sqlite3_prepare_v2(p->h, "INSERT OR REPLACE INTO party_hits VALUES(?, ?, ?)", -1,
                              &put, NULL) ||
           sqlite3_prepare_v2(p->h, "UPDATE parties SET last_screened_ms = ? WHERE ref = ?", -1,
                              &seen, NULL))
    st = db_error(p, err);
  int64_t now = now_ms();
  /* the registry is read in one transaction; queue items go to the log as
   * they are found */
  if (st == AG_OK)
    sqlite3_exec(p->h, "BEGIN", NULL, NULL, NULL);
  while (st == AG_OK && changed && stats->entries && sqlite3_step(all) == SQLITE_ROW) {
    const char *ref = (const char *)sqlite3_column_text(all, 0);
    const char *name = (const char *)sqlite3_column_text(all, 1);
    const char *cc = (const char *)sqlite3_column_text(all, 2);
    stats->parties++;
    /* against the entries added or changed only: none of them is crowded
     * out of the matches by an unchanged entry that scores higher, and the
     * others are not scored at all */
    ag_screen_request req = {.name = name, .len = strlen(name), .country = *cc ? cc : NULL,
                             .entries = o->before ? changed : NULL};
    ag_error qerr;
    if (ag_screen_query_ex(lists, &req, &sr, &qerr) != AG_OK)
      continue; /* a name the registry took that screening refuses: nothing to find */
    sqlite3_reset(seen);
    sqlite3_bind_int64(seen, 1, now);
    sqlite3_bind_text(seen, 2, ref, -1, SQLITE_STATIC);
    sqlite3_step(seen);
    json_t *fresh = NULL;
    ag_match_note notes[AG_SCREEN_MATCHES_MAX];
    bool noted = false;
    for (size_t i = 0; i < sr.count; i++) {
      const ag_screen_match *m = &sr.matches[i];
      if (!noted) {
        ag_remember_apply(o->data->remembered, lists, cc, AG_DATE_NONE, &sr, notes);
        noted = true;
      }
      if (notes[i].remembered.kind == AG_REMEMBERED_CLEARED)
        continue; /* a reviewer cleared this party against this very content */
      if (!hit_is_new(p, get, put, ref, m->source_id, notes[i].entry_hash))
        continue;
      if (!fresh)
        fresh = json_array();
      json_array_append_new(fresh, json_string(m->source_id));
    }
    if (fresh) {
      char *name_copy = strdup(name), *ref_copy = strdup(ref), *cc_copy = strdup(cc);
      st = name_copy && ref_copy && cc_copy
               ? record_item(o, w, ref_copy, name_copy, cc_copy, fresh, stats, err)
               : ag_error_set(err, AG_ERR_NOMEM, "parties", "out of memory");
      free(name_copy);
      free(ref_copy);
      free(cc_copy);
      json_decref(fresh);
    }
  }
  if (all)
    sqlite3_exec(p->h, st == AG_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  sqlite3_finalize(all);
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  sqlite3_finalize(seen);
  ag_screen_result_free(&sr);
  ag_pipeline_worker_free(w);
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
  ag_status st = note_locked(p, ref, name, country, err);
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
  if (sqlite3_exec(p->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
    return AG_OK;
  ag_status st = db_error(p, err);
  pthread_mutex_unlock(&p->mu);
  return st;
}

ag_status ag_parties_end(ag_parties *p, ag_error *err) {
  ag_status st = sqlite3_exec(p->h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? AG_OK
                                                                             : db_error(p, err);
  if (st != AG_OK)
    sqlite3_exec(p->h, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock(&p->mu);
  return st;
}
