/*
 * query.c - reading the audit log: look-up by audit id, paged search, and
 * streaming export (15 CFR 762.7: records are produced on request, in a
 * form the requester can read).
 *
 * Every read runs on a read connection from one snapshot (WAL readers do not
 * wait for the writer), and every statement is reset before the connection
 * goes back to the pool so no snapshot stays pinned.
 */
#include "audit_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_MS INT64_C(86400000)

/* ---- times ---- */

static bool digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

ag_status ag_audit_parse_time(const char *s, bool is_end, int64_t *ms_out, const char *field,
                              ag_error *err) {
  size_t len = s ? strlen(s) : 0;
  ag_date d;
  if (len >= 10 && ag_date_parse(s, 10, &d)) {
    int64_t ms = (int64_t)d * DAY_MS;
    /* no record is older, and 0 stands for "open" in a query */
    if (ms < 0)
      return ag_error_set(err, AG_ERR_INPUT, field, "'%.40s' is before 1970-01-01", s);
    if (len == 10) {
      *ms_out = ms + (is_end ? DAY_MS : 0);
      return AG_OK;
    }
    int h, m, sec, milli = 0;
    if ((len == 20 || len == 24) && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
        s[len - 1] == 'Z' && digits(s + 11, 2, &h) && digits(s + 14, 2, &m) &&
        digits(s + 17, 2, &sec) && h < 24 && m < 60 && sec < 60 &&
        (len == 20 || (s[19] == '.' && digits(s + 20, 3, &milli)))) {
      *ms_out = ms + ((int64_t)h * 3600 + (int64_t)m * 60 + sec) * 1000 + milli + (is_end ? 1 : 0);
      return AG_OK;
    }
  }
  return ag_error_set(err, AG_ERR_INPUT, field,
                      "'%.40s' is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SS[.mmm]Z)",
                      s ? s : "");
}

void ag_audit_format_time(int64_t ms, char out[32]) {
  int64_t days = ms / DAY_MS, rem = ms % DAY_MS;
  if (rem < 0) {
    rem += DAY_MS;
    days--;
  }
  char date[11];
  ag_date_format((ag_date)days, date);
  int r = (int)rem;
  snprintf(out, 32, "%.10sT%02d:%02d:%02d.%03dZ", date, r / 3600000, r / 60000 % 60, r / 1000 % 60,
           r % 1000);
}

bool ag_audit_format_parse(const char *s, ag_audit_format *out) {
  if (s && !strcmp(s, "csv"))
    *out = AG_AUDIT_CSV;
  else if (s && !strcmp(s, "jsonl"))
    *out = AG_AUDIT_JSONL;
  else
    return false;
  return true;
}

/* ---- get ---- */

/* Audit ids are "a-SEQ-RANDOM"; the seq part finds the row by primary key
 * and the whole id must match, so a guessed seq alone finds nothing. */
static bool id_seq(const char *id, int64_t *seq) {
  if (!id || strncmp(id, "a-", 2) != 0)
    return false;
  char *end;
  long long v = strtoll(id + 2, &end, 10);
  if (end == id + 2 || *end != '-' || v <= 0)
    return false;
  *seq = v;
  return true;
}

ag_status ag_audit_get(ag_audit_db *db, const char *audit_id, ag_audit_entry **out, ag_error *err) {
  *out = NULL;
  int64_t seq;
  if (!id_seq(audit_id, &seq) || strlen(audit_id) >= AG_AUDIT_ID_MAX)
    return ag_error_set(err, AG_ERR_NOTFOUND, "audit_id", "no audit record with this id");
  return db->store->get(db, seq, audit_id, out, err);
}

ag_status ag_audit_get_seq(ag_audit_db *db, int64_t seq, ag_audit_entry **out, ag_error *err) {
  *out = NULL;
  if (seq <= 0)
    return ag_error_set(err, AG_ERR_NOTFOUND, "seq", "no audit record with this seq");
  return db->store->get(db, seq, NULL, out, err);
}

ag_status ag_audit_head(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                        ag_error *err) {
  return db->store->head(db, seq, hash, err);
}

ag_status audit_sqlite_get(ag_audit_db *db, int64_t seq, const char *audit_id,
                           ag_audit_entry **out, ag_error *err) {
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s;
  if ((st = audit_stmt(c, audit_id ? ST_GET : ST_GET_SEQ, &s, err)) == AG_OK) {
    sqlite3_bind_int64(s, 1, seq);
    if (audit_id)
      sqlite3_bind_text(s, 2, audit_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      st = audit_entry_from_stmt(db, c, s, out, err);
    } else if (rc == SQLITE_DONE)
      st = ag_error_set(err, AG_ERR_NOTFOUND, "audit_id", "no audit record with this id");
    else
      st = audit_db_error(err, c->h, "get");
    sqlite3_reset(s);
  }
  audit_read_release(db, c);
  return st;
}

/* ---- search ---- */

void ag_audit_page_free(ag_audit_page *page) {
  if (!page)
    return;
  for (size_t i = 0; i < page->count; i++)
    ag_audit_entry_free(page->entries[i]);
  free(page->entries);
  page->entries = NULL;
  page->count = 0;
  page->next_cursor[0] = '\0';
}

/* A cursor is the direction and the last seq returned: "f1a" or "b1a"
 * (hex). Opaque to callers; only its owner query's direction is accepted. */
bool ag_audit_cursor_parse(const char *s, bool newest_first, int64_t *seq) {
  size_t n = strlen(s);
  if (n < 2 || n > 17 || s[0] != (newest_first ? 'b' : 'f'))
    return false;
  uint64_t v = 0;
  for (size_t i = 1; i < n; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return false;
    v = v * 16 + (uint64_t)d;
  }
  if (v > INT64_MAX)
    return false;
  *seq = (int64_t)v;
  return true;
}

/* What a placeholder of a search statement is bound to. */
enum { B_FROM, B_TO, B_DEST, B_ECCN, B_OUTCOME, B_AS_OF, B_REF, B_AFTER, B_SEQ, B_LIMIT };

typedef struct {
  char sql[1024];
  size_t len;
  int binds[16];
  int n;
} search_sql;

static void add(search_sql *t, const char *text, int bind) {
  int w = snprintf(t->sql + t->len, sizeof t->sql - t->len, "%s", text);
  if (w > 0)
    t->len += (size_t)w;
  if (bind >= 0)
    t->binds[t->n++] = bind;
}

/* Where a part of a search reads: the whole log (no index), the records
 * after the index's last one (scanned), or one record the index named. */
typedef enum { PART_LOG, PART_TAIL, PART_ONE } search_part;

/* The search columns in the index's numbering (AUDIT_SEARCH_COLS), and the
 * query's value for each (NULL: any). */
static const char *const search_col[AUDIT_SEARCH_COLS] = {"destination", "eccn", "outcome",
                                                          "as_of"};

static void search_values(const ag_audit_query *q, const char *v[AUDIT_SEARCH_COLS]) {
  v[0] = q->destination;
  v[1] = q->eccn;
  v[2] = q->outcome;
  v[3] = q->as_of;
}

/* Fixed clauses in a fixed order; values are always bound, never pasted.
 * Every filter applies to the record read from the log, also when the
 * index named it, so a damaged index cannot return a record that does not
 * match. PART_ONE's seq is its first placeholder. */
static void build_sql(search_sql *t, const ag_audit_query *q, bool has_cursor, search_part part) {
  const char *val[AUDIT_SEARCH_COLS];
  search_values(q, val);
  char clause[64];
  add(t, "SELECT " AUDIT_COLS " FROM main.audit_log WHERE 1", -1);
  if (part == PART_ONE)
    add(t, " AND seq = ?", B_SEQ);
  if (part == PART_TAIL)
    add(t, " AND seq > ?", B_SEQ);
  if (q->from_ms)
    add(t, " AND ts_ms >= ?", B_FROM);
  if (q->to_ms)
    add(t, " AND ts_ms < ?", B_TO);
  for (int i = 0; i < AUDIT_SEARCH_COLS; i++)
    if (val[i]) {
      snprintf(clause, sizeof clause, " AND %s = ?", search_col[i]);
      add(t, clause, B_DEST + i);
    }
  /* the kind as a literal (a fixed name, never input): the planner then
   * reads the review records through their partial index (db.c) rather
   * than the whole log, which a bound value would not let it prove */
  if (q->kind != AG_AUDIT_ANY) {
    snprintf(clause, sizeof clause, " AND kind = '%s'", ag_audit_kind_name(q->kind));
    add(t, clause, -1);
  }
  /* the caller reference is held by the request itself, which the hash
   * covers (a record without one, or not JSON, has none) */
  if (q->ref)
    add(t, " AND " AUDIT_REF_MAYBE " AND " AUDIT_REF_EXPR " = ?", B_REF);
  if (part == PART_ONE)
    return;
  if (has_cursor)
    add(t, q->newest_first ? " AND seq < ?" : " AND seq > ?", B_AFTER);
  add(t, q->newest_first ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq ASC LIMIT ?", B_LIMIT);
}

static ag_status prepare_part(audit_conn *c, const ag_audit_query *q, int64_t after,
                              bool has_cursor, int64_t seq, search_part part, size_t left,
                              sqlite3_stmt **out, ag_error *err) {
  search_sql t = {.len = 0};
  build_sql(&t, q, has_cursor, part);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h, t.sql, -1, &s, NULL) != SQLITE_OK) {
    sqlite3_finalize(s);
    return audit_db_error(err, c->h, "search");
  }
  const char *texts[AUDIT_SEARCH_COLS];
  search_values(q, texts);
  for (int i = 0; i < t.n; i++) {
    int p = i + 1;
    switch (t.binds[i]) {
    case B_FROM: sqlite3_bind_int64(s, p, q->from_ms); break;
    case B_TO: sqlite3_bind_int64(s, p, q->to_ms); break;
    case B_REF: sqlite3_bind_text(s, p, q->ref, -1, SQLITE_STATIC); break;
    case B_AFTER: sqlite3_bind_int64(s, p, after); break;
    case B_SEQ: sqlite3_bind_int64(s, p, seq); break;
    /* one more than the page holds tells if a next page exists; with a
     * match function, rows are filtered after reading */
    case B_LIMIT: sqlite3_bind_int64(s, p, q->match ? -1 : (sqlite3_int64)left + 1); break;
    default: sqlite3_bind_text(s, p, texts[t.binds[i] - B_DEST], -1, SQLITE_STATIC); break;
    }
  }
  *out = s;
  return AG_OK;
}

/* What one search read, against q->scan_max. */
typedef struct {
  size_t read;
  int64_t cut; /* the last record read once scan_max ended the read; 0 before */
} scan_count;

/* Adds the rows of s to the page until it holds limit; *more is set if a
 * further row matches, or when q->scan_max ends the read (n->cut). */
static ag_status collect(ag_audit_db *db, audit_conn *c, const ag_audit_query *q, sqlite3_stmt *s,
                         size_t limit, ag_audit_page *page, bool *more, scan_count *n,
                         ag_error *err) {
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (page->count == limit && !q->match) {
      *more = true;
      break;
    }
    ag_audit_entry *e = NULL;
    ag_status st = audit_entry_from_stmt(db, c, s, &e, err);
    if (st != AG_OK) {
      sqlite3_reset(s);
      return st;
    }
    int64_t seq = e->seq;
    if (q->match && !q->match(q->match_ctx, e)) {
      ag_audit_entry_free(e);
    } else if (page->count == limit) {
      ag_audit_entry_free(e);
      *more = true;
      break;
    } else {
      page->entries[page->count++] = e;
    }
    if (q->scan_max && ++n->read >= q->scan_max) {
      n->cut = seq;
      *more = true;
      break;
    }
  }
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? AG_OK : audit_db_error(err, c->h, "search");
}

/* A scan of the log: all of it, or the records after the index's last. */
static ag_status scan_part(ag_audit_db *db, audit_conn *c, const ag_audit_query *q, int64_t after,
                           bool has_cursor, int64_t upto, search_part part, size_t limit,
                           ag_audit_page *page, bool *more, scan_count *n, ag_error *err) {
  sqlite3_stmt *s = NULL;
  ag_status st = prepare_part(c, q, after, has_cursor, upto, part, limit - page->count, &s, err);
  if (st == AG_OK)
    st = collect(db, c, q, s, limit, page, more, n, err);
  sqlite3_finalize(s);
  return st;
}

/* The records up to the index's last one: the index names the candidates
 * for one filter (the first given of destination, eccn, as_of, outcome:
 * the most selective as a rule), each read from the log and checked. */
static ag_status index_part(ag_audit_db *db, audit_conn *c, const ag_audit_query *q, int64_t after,
                            bool has_cursor, int64_t upto, int64_t span, size_t limit,
                            ag_audit_page *page, bool *more, scan_count *n, ag_error *err) {
  const char *val[AUDIT_SEARCH_COLS];
  search_values(q, val);
  static const int preference[] = {0, 1, 3, 2};
  int col = -1;
  for (int k = 0; k < AUDIT_SEARCH_COLS && col < 0; k++)
    if (val[preference[k]])
      col = preference[k];
  int64_t lo = 1, hi = upto;
  if (has_cursor && q->newest_first && after - 1 < hi)
    hi = after - 1;
  if (has_cursor && !q->newest_first) {
    if (after >= hi) /* nothing after it (and after + 1 could overflow) */
      return AG_OK;
    lo = after + 1;
  }
  if (col < 0 || lo > hi)
    return AG_OK;
  sqlite3_stmt *one = NULL;
  ag_status st = prepare_part(c, q, 0, false, 0, PART_ONE, 0, &one, err);
  if (st != AG_OK)
    return st;
  audit_postings it;
  if ((st = audit_postings_open(c, col, val[col], lo, hi, span, q->newest_first, &it, err)) ==
      AG_OK) {
    int64_t seq;
    int got;
    while (st == AG_OK && !*more && (got = audit_postings_next(&it, c, &seq, err)) != 0) {
      if (got < 0) {
        st = AG_ERR_DB;
        break;
      }
      sqlite3_bind_int64(one, 1, seq);
      st = collect(db, c, q, one, limit, page, more, n, err);
    }
  }
  audit_postings_close(&it);
  sqlite3_finalize(one);
  return st;
}

bool audit_attach_index(ag_audit_db *db, audit_conn *c) {
  if (!db->search_path)
    return false;
  if (c->search_attached)
    return true;
  if (access(db->search_path, F_OK) != 0) /* ATTACH would create it */
    return false;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->h, "ATTACH DATABASE ?1 AS search", -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, db->search_path, -1, SQLITE_STATIC);
    c->search_attached = sqlite3_step(s) == SQLITE_DONE;
  }
  sqlite3_finalize(s);
  return c->search_attached;
}

ag_status ag_audit_search(ag_audit_db *db, const ag_audit_query *q, ag_audit_page *page,
                          ag_error *err) {
  memset(page, 0, sizeof *page);
  size_t limit = q->limit ? q->limit : AG_AUDIT_PAGE_DEFAULT;
  if (limit > AG_AUDIT_PAGE_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "limit", "at most %d records per page",
                        AG_AUDIT_PAGE_MAX);
  if (q->from_ms && q->to_ms && q->from_ms >= q->to_ms)
    return ag_error_set(err, AG_ERR_INPUT, "to", "the range ends before it starts");
  int64_t after = 0;
  bool has_cursor = q->cursor && *q->cursor;
  if (has_cursor && !ag_audit_cursor_parse(q->cursor, q->newest_first, &after))
    return ag_error_set(err, AG_ERR_INPUT, "cursor", "not a cursor from this search");

  page->entries = calloc(limit, sizeof(ag_audit_entry *));
  if (!page->entries)
    return ag_error_set(err, AG_ERR_NOMEM, "limit", "out of memory");
  bool more = false;
  int64_t cut = 0;
  ag_status st = db->store->search(db, q, after, has_cursor, limit, page, &more, &cut, err);
  const ag_audit_entry *last = page->count > 0 ? page->entries[page->count - 1] : NULL;
  /* cut short by scan_max: on after the last record read, matched or not */
  int64_t next = cut ? cut : last ? last->seq : 0;
  if (st == AG_OK && more && next)
    snprintf(page->next_cursor, sizeof page->next_cursor, "%c%" PRIx64, q->newest_first ? 'b' : 'f',
             (uint64_t)next);
  if (st != AG_OK)
    ag_audit_page_free(page);
  return st;
}

ag_status audit_sqlite_search(ag_audit_db *db, const ag_audit_query *q, int64_t after,
                              bool has_cursor, size_t limit, ag_audit_page *page, bool *more_out,
                              int64_t *cut, ag_error *err) {
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  bool more = false;
  scan_count n = {0, 0};
  int64_t upto = 0, span = 0;
  /* the index's mark and the records from one snapshot: the index is read
   * first, so the log holds every record it names */
  bool snapshot = (q->destination || q->eccn || q->outcome || q->as_of) && audit_attach_index(db, c) &&
                  sqlite3_exec(c->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
  if (snapshot)
    audit_search_mark(c, &upto, &span);
  if (!upto) {
    st = scan_part(db, c, q, after, has_cursor, 0, PART_LOG, limit, page, &more, &n, err);
  } else if (q->newest_first) {
    /* the records after the mark come first, then the index's */
    st = scan_part(db, c, q, after, has_cursor, upto, PART_TAIL, limit, page, &more, &n, err);
    if (st == AG_OK && !more)
      st = index_part(db, c, q, after, has_cursor, upto, span, limit, page, &more, &n, err);
  } else {
    st = index_part(db, c, q, after, has_cursor, upto, span, limit, page, &more, &n, err);
    if (st == AG_OK && !more)
      st = scan_part(db, c, q, after, has_cursor, upto, PART_TAIL, limit, page, &more, &n, err);
  }
  if (snapshot)
    sqlite3_exec(c->h, "COMMIT", NULL, NULL, NULL);
  audit_read_release(db, c);
  *more_out = more;
  *cut = n.cut;
  return st;
}

/* ---- export ---- */

const char *const audit_export_cols[AUDIT_EXPORT_NCOLS] = {
    "seq",         "audit_id",      "time",          "time_ms",   "kind",        "key_id",
    "client_addr", "rules_version", "lists_version", "as_of",     "destination", "eccn",
    "outcome",     "request",       "decision",      "prev_hash", "hash"};
#define NCOLS AUDIT_EXPORT_NCOLS

/* RFC 4180: quote a field holding a comma, quote or line break. */
static void csv_field(ag_buf *b, const char *p, size_t n) {
  bool quote = false;
  for (size_t i = 0; i < n && !quote; i++)
    quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
  if (!quote) {
    ag_buf_append(b, p, n);
    return;
  }
  ag_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '"')
      ag_buf_putc(b, '"');
    ag_buf_putc(b, p[i]);
  }
  ag_buf_putc(b, '"');
}

static ag_status format_row(ag_buf *b, const audit_row *rp, const char *hash,
                            ag_audit_format fmt) {
  const audit_row r = *rp;
  char seq[24], tms[24], time[32];
  snprintf(seq, sizeof seq, "%lld", (long long)r.seq);
  snprintf(tms, sizeof tms, "%lld", (long long)r.time_ms);
  ag_audit_format_time(r.time_ms, time);
  const audit_bytes v[NCOLS] = {{seq, strlen(seq)}, r.f[F_ID],           {time, strlen(time)},
                                {tms, strlen(tms)}, r.f[F_KIND],         r.f[F_KEY_ID],
                                r.f[F_CLIENT],      r.f[F_RULES],        r.f[F_LISTS],
                                r.f[F_AS_OF],       r.f[F_DEST],         r.f[F_ECCN],
                                r.f[F_OUTCOME],     r.f[F_REQUEST],      r.f[F_DECISION],
                                r.f[F_PREV],        {hash, strlen(hash)}};
  for (size_t i = 0; i < NCOLS; i++) {
    if (fmt == AG_AUDIT_CSV) {
      if (i)
        ag_buf_putc(b, ',');
      csv_field(b, v[i].p, v[i].n);
    } else {
      ag_buf_puts(b, i ? ",\"" : "{\"");
      ag_buf_puts(b, audit_export_cols[i]);
      ag_buf_puts(b, "\":");
      if (i == 0 || i == 3) /* seq, time_ms are numbers */
        ag_buf_append(b, v[i].p, v[i].n);
      else
        ag_buf_json_str(b, v[i].p, v[i].n);
    }
  }
  ag_buf_puts(b, fmt == AG_AUDIT_CSV ? "\r\n" : "}\n");
  return AG_OK;
}

/* The closing line (docs/audit.md, Export): JSONL {"export_end":...}; CSV a
 * row whose first field is "#end", then name=value fields, padded to the
 * header's width. */
static void put_export_end(ag_buf *b, ag_audit_format fmt, int64_t count, int64_t last_seq,
                           const char *last_hash, int64_t head_seq, const char *head_hash) {
  if (fmt == AG_AUDIT_JSONL) {
    ag_buf_printf(b,
                  "{\"export_end\":true,\"records\":%lld,\"last_seq\":%lld,\"last_hash\":\"%s\","
                  "\"head_seq\":%lld,\"head_hash\":\"%s\"}\n",
                  (long long)count, (long long)last_seq, last_hash, (long long)head_seq,
                  head_hash);
    return;
  }
  ag_buf_printf(b, "#end,records=%lld,last_seq=%lld,last_hash=%s,head_seq=%lld,head_hash=%s",
                (long long)count, (long long)last_seq, last_hash, (long long)head_seq, head_hash);
  for (size_t i = 6; i < NCOLS; i++)
    ag_buf_putc(b, ',');
  ag_buf_puts(b, "\r\n");
}

/* An export in progress: the header goes out before the first row. */
typedef struct {
  ag_audit_format fmt;
  ag_audit_write_fn write;
  void *ctx;
  ag_buf b;
  int64_t count, last_seq;
  char last_hash[AG_AUDIT_HASH_HEX];
} export_run;

static ag_status flush(export_run *x, ag_error *err) {
  if (x->b.failed)
    return ag_error_set(err, AG_ERR_NOMEM, "export", "out of memory");
  if (x->b.len && x->write(x->ctx, x->b.data, x->b.len) != 0)
    return ag_error_set(err, AG_ERR_IO, "output", "writing the export failed");
  ag_buf_reset(&x->b);
  return AG_OK;
}

static ag_status export_row(void *ctx, const audit_row *r, const char *hash, ag_error *err) {
  export_run *x = ctx;
  format_row(&x->b, r, hash, x->fmt);
  x->count++;
  x->last_seq = r->seq;
  snprintf(x->last_hash, sizeof x->last_hash, "%s", hash);
  return flush(x, err);
}

ag_status ag_audit_export(ag_audit_db *db, int64_t from_ms, int64_t to_ms, ag_audit_format fmt,
                          ag_audit_write_fn write, void *ctx, ag_error *err) {
  if (fmt != AG_AUDIT_CSV && fmt != AG_AUDIT_JSONL)
    return ag_error_set(err, AG_ERR_INPUT, "format", "must be csv or jsonl");
  if (from_ms && to_ms && from_ms >= to_ms)
    return ag_error_set(err, AG_ERR_INPUT, "to", "the range ends before it starts");
  export_run x = {.fmt = fmt, .write = write, .ctx = ctx};
  ag_buf_init(&x.b);
  if (fmt == AG_AUDIT_CSV) {
    for (size_t i = 0; i < NCOLS; i++) {
      if (i)
        ag_buf_putc(&x.b, ',');
      ag_buf_puts(&x.b, audit_export_cols[i]);
    }
    ag_buf_puts(&x.b, "\r\n");
  }
  int64_t head_seq = 0;
  char head_hash[AG_AUDIT_HASH_HEX] = "";
  /* the whole range from one snapshot (a scan that finds no record in the
   * range still reads the head); the header goes out with the first row or
   * the closing line */
  ag_status st = db->store->scan(db, from_ms, to_ms ? to_ms : INT64_MAX, &head_seq, head_hash,
                                 export_row, &x, err);
  /* Only a complete export gets its closing line: a file without one was
   * cut short, and the count and hashes in it show a line taken out. */
  if (st == AG_OK) {
    put_export_end(&x.b, fmt, x.count, x.last_seq, x.last_hash, head_seq, head_hash);
    st = flush(&x, err);
  }
  ag_buf_free(&x.b);
  return st;
}

/* The SQLite store's scan: one read transaction, so the bounds, the head
 * and the rows come from one snapshot. */
ag_status audit_sqlite_scan(ag_audit_db *db, int64_t from_ms, int64_t to_ms, int64_t *head_seq_out,
                            char head_hash_out[AG_AUDIT_HASH_HEX], audit_row_fn fn, void *fctx,
                            ag_error *err) {
  if (!to_ms)
    to_ms = INT64_MAX;
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *bounds = NULL, *rows = NULL;
  if ((st = audit_exec(c->h, "BEGIN", err)) != AG_OK)
    goto done;
  /* The time index gives the first and last record of the time range; the
   * export is every record from the one to the other, straight off the
   * primary key. Times rise with seq closely, not strictly, so a record
   * stamped just outside the range but written between two inside it is
   * included: an export is an unbroken run of the chain, each link of which
   * can be checked offline (ag_audit_verify_export). */
  if (sqlite3_prepare_v2(c->h,
                         "SELECT (SELECT min(seq) FROM audit_log WHERE ts_ms >= ?1 AND ts_ms < ?2),"
                         " (SELECT max(seq) FROM audit_log WHERE ts_ms >= ?1 AND ts_ms < ?2),"
                         " (SELECT seq FROM audit_head WHERE id = 1),"
                         " (SELECT hash FROM audit_head WHERE id = 1)",
                         -1, &bounds, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->h,
                         "SELECT " AUDIT_COLS " FROM audit_log WHERE seq BETWEEN ?1 AND ?2"
                         " ORDER BY seq",
                         -1, &rows, NULL) != SQLITE_OK) {
    st = audit_db_error(err, c->h, "export");
    goto done;
  }
  sqlite3_bind_int64(bounds, 1, from_ms);
  sqlite3_bind_int64(bounds, 2, to_ms);
  if (sqlite3_step(bounds) != SQLITE_ROW) {
    st = audit_db_error(err, c->h, "export");
    goto done;
  }
  sqlite3_bind_int64(rows, 1, sqlite3_column_int64(bounds, 0));
  sqlite3_bind_int64(rows, 2, sqlite3_column_int64(bounds, 1));
  *head_seq_out = sqlite3_column_int64(bounds, 2);
  snprintf(head_hash_out, AG_AUDIT_HASH_HEX, "%s", audit_col_text(bounds, 3));
  sqlite3_reset(bounds);
  int rc;
  while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
    audit_row r;
    const char *hash;
    if ((st = audit_row_from_stmt(db, c, rows, &r, &hash, err)) != AG_OK ||
        (st = fn(fctx, &r, hash, err)) != AG_OK)
      goto done;
  }
  if (rc != SQLITE_DONE)
    st = audit_db_error(err, c->h, "export");
done:
  sqlite3_finalize(bounds);
  sqlite3_finalize(rows);
  if (!sqlite3_get_autocommit(c->h))
    sqlite3_exec(c->h, "COMMIT", NULL, NULL, NULL);
  audit_read_release(db, c);
  return st;
}
