/*
 * export_check.c - checking an export file offline (15 CFR 762.7: records
 * produced on request must be the records kept).
 *
 * An export (query.c) is an unbroken run of the chain followed by one
 * closing line with the record count, the last record's seq and hash, and
 * the head of the log when it was made. Each record's hash is recomputed
 * from its exported columns and each link to the one before is checked, so
 * an edited, removed, added or reordered line is named; a file cut short
 * has no closing line, and a closing line that does not match the records
 * before it means lines were removed or added at the end. Without an anchor
 * kept apart, a rewrite of the whole file with recomputed hashes is not
 * detectable, exactly as for the log itself.
 */
#include "audit_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One parsed line: the 17 columns (CSV: field bytes; JSONL: strings) and
 * for the closing line its values. */
typedef struct {
  audit_bytes col[AUDIT_EXPORT_NCOLS];
  bool is_end;
  int64_t end_records, end_last_seq, end_head_seq;
  char end_last_hash[AG_AUDIT_HASH_HEX], end_head_hash[AG_AUDIT_HASH_HEX];
} export_line;

/* ---- CSV (RFC 4180, as query.c writes it) ---- */

/* Reads one record starting at *pos into fields (unquoted into scratch).
 * Returns the number of fields, -1 when malformed, -2 when the data ends
 * inside it. */
static int csv_record(const char *p, size_t len, size_t *pos, ag_buf *scratch,
                      audit_bytes *fields, int max) {
  size_t i = *pos;
  int n = 0;
  ag_buf_reset(scratch);
  size_t offs[AUDIT_EXPORT_NCOLS + 1], lens[AUDIT_EXPORT_NCOLS + 1];
  for (;;) {
    if (n > max)
      return -1;
    size_t start = scratch->len;
    if (i < len && p[i] == '"') {
      for (i++;; i++) {
        if (i >= len)
          return -2;
        if (p[i] == '"') {
          if (i + 1 < len && p[i + 1] == '"') {
            ag_buf_putc(scratch, '"');
            i++;
            continue;
          }
          i++;
          break;
        }
        ag_buf_putc(scratch, p[i]);
      }
    } else {
      while (i < len && p[i] != ',' && p[i] != '\r' && p[i] != '\n' && p[i] != '"')
        ag_buf_putc(scratch, p[i++]);
    }
    offs[n] = start;
    lens[n] = scratch->len - start;
    n++;
    if (i < len && p[i] == ',') {
      i++;
      continue;
    }
    if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n') {
      i += 2;
      break;
    }
    return i + 1 >= len ? -2 : -1; /* a record ends in CRLF, always */
  }
  if (scratch->failed || n > max)
    return -1;
  for (int k = 0; k < n; k++)
    fields[k] = (audit_bytes){scratch->data ? scratch->data + offs[k] : "", lens[k]};
  *pos = i;
  return n;
}

static bool parse_i64(audit_bytes b, int64_t *out) {
  if (b.n == 0 || b.n > 19)
    return false;
  int64_t v = 0;
  for (size_t i = 0; i < b.n; i++) {
    if (b.p[i] < '0' || b.p[i] > '9')
      return false;
    v = v * 10 + (b.p[i] - '0');
  }
  *out = v;
  return true;
}

/* "name=value" field of the CSV closing row. */
static bool end_field(audit_bytes f, const char *name, audit_bytes *value) {
  size_t n = strlen(name);
  if (f.n <= n || memcmp(f.p, name, n) != 0 || f.p[n] != '=')
    return false;
  *value = (audit_bytes){f.p + n + 1, f.n - n - 1};
  return true;
}

static bool copy_hash(audit_bytes b, char out[AG_AUDIT_HASH_HEX]) {
  if (b.n > 64)
    return false;
  memcpy(out, b.p, b.n);
  out[b.n] = '\0';
  return true;
}

static bool csv_end(const audit_bytes *f, int n, export_line *l) {
  audit_bytes v[5];
  static const char *const names[] = {"records", "last_seq", "last_hash", "head_seq",
                                      "head_hash"};
  if (n != AUDIT_EXPORT_NCOLS)
    return false;
  for (int k = 0; k < 5; k++)
    if (!end_field(f[1 + k], names[k], &v[k]))
      return false;
  for (int k = 6; k < n; k++)
    if (f[k].n)
      return false;
  l->is_end = true;
  return parse_i64(v[0], &l->end_records) && (v[1].n == 1 && v[1].p[0] == '0'
                                                  ? (l->end_last_seq = 0, true)
                                                  : parse_i64(v[1], &l->end_last_seq)) &&
         copy_hash(v[2], l->end_last_hash) && parse_i64(v[3], &l->end_head_seq) &&
         copy_hash(v[4], l->end_head_hash);
}

/* ---- JSONL ---- */

static bool json_end(json_t *o, export_line *l) {
  json_t *rec = json_object_get(o, "records"), *ls = json_object_get(o, "last_seq"),
         *lh = json_object_get(o, "last_hash"), *hs = json_object_get(o, "head_seq"),
         *hh = json_object_get(o, "head_hash");
  if (!json_is_integer(rec) || !json_is_integer(ls) || !json_is_string(lh) ||
      !json_is_integer(hs) || !json_is_string(hh) || json_object_size(o) != 6)
    return false;
  l->is_end = true;
  l->end_records = json_integer_value(rec);
  l->end_last_seq = json_integer_value(ls);
  l->end_head_seq = json_integer_value(hs);
  return copy_hash((audit_bytes){json_string_value(lh), json_string_length(lh)},
                   l->end_last_hash) &&
         copy_hash((audit_bytes){json_string_value(hh), json_string_length(hh)},
                   l->end_head_hash);
}

/* Fills l from one JSONL object; numbers are printed into num. */
static bool json_record(json_t *o, export_line *l, char num[2][24]) {
  if (json_object_size(o) != AUDIT_EXPORT_NCOLS)
    return false;
  for (int k = 0; k < AUDIT_EXPORT_NCOLS; k++) {
    json_t *v = json_object_get(o, audit_export_cols[k]);
    if (k == 0 || k == 3) {
      if (!json_is_integer(v))
        return false;
      char *d = num[k == 3];
      int w = snprintf(d, 24, "%lld", (long long)json_integer_value(v));
      l->col[k] = (audit_bytes){d, (size_t)w};
    } else {
      if (!json_is_string(v))
        return false;
      l->col[k] = (audit_bytes){json_string_value(v), json_string_length(v)};
    }
  }
  return true;
}

/* ---- the walk ---- */

enum { X_SEQ, X_ID, X_TIME, X_TIME_MS, X_KIND, X_KEY_ID, X_CLIENT, X_RULES, X_LISTS,
       X_AS_OF, X_DEST, X_ECCN, X_OUTCOME, X_REQUEST, X_DECISION, X_PREV, X_HASH };

typedef struct {
  const EVP_MD *md;
  EVP_MD_CTX *ctx;
  const ag_audit_anchor *anchor;
  ag_audit_verify_report *rep;
  bool ended;
  int64_t last_seq;
  char last_hash[AG_AUDIT_HASH_HEX];
} xwalk;

static void xreport(xwalk *w, ag_audit_problem p, int64_t seq, audit_bytes id, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void xreport(xwalk *w, ag_audit_problem p, int64_t seq, audit_bytes id, const char *fmt,
                    ...) {
  ag_audit_verify_report *r = w->rep;
  r->problem = p;
  r->bad_seq = seq;
  snprintf(r->bad_id, sizeof r->bad_id, "%.*s", (int)(id.n < 39 ? id.n : 39), id.p);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof r->detail, fmt, ap);
  va_end(ap);
}

/* Checks one record line; false once a problem is reported. */
static bool check_record(xwalk *w, const export_line *l, size_t line, ag_error *err,
                         ag_status *st) {
  audit_bytes none = {"", 0};
  int64_t seq, time_ms;
  if (!parse_i64(l->col[X_SEQ], &seq) || !parse_i64(l->col[X_TIME_MS], &time_ms)) {
    *st = ag_error_set(err, AG_ERR_INPUT, "export", "line %zu: seq and time_ms must be numbers",
                       line);
    return false;
  }
  if (w->ended) {
    xreport(w, AG_AUDIT_INSERTED, seq, l->col[X_ID], "a record after the closing line");
    return false;
  }
  audit_row r = {.seq = seq, .time_ms = time_ms};
  static const int from[F_COUNT] = {
      [F_ID] = X_ID,         [F_KIND] = X_KIND,         [F_KEY_ID] = X_KEY_ID,
      [F_CLIENT] = X_CLIENT, [F_RULES] = X_RULES,       [F_LISTS] = X_LISTS,
      [F_AS_OF] = X_AS_OF,   [F_DEST] = X_DEST,         [F_ECCN] = X_ECCN,
      [F_OUTCOME] = X_OUTCOME, [F_REQUEST] = X_REQUEST, [F_DECISION] = X_DECISION,
      [F_PREV] = X_PREV};
  for (int k = 0; k < F_COUNT; k++)
    r.f[k] = l->col[from[k]];
  char computed[AG_AUDIT_HASH_HEX];
  if (!audit_row_hash(w->md, w->ctx, &r, computed)) {
    *st = ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 failed");
    return false;
  }
  audit_bytes stored = l->col[X_HASH];
  if (w->last_seq && seq != w->last_seq + 1) {
    if (seq == w->last_seq + 2)
      xreport(w, AG_AUDIT_GAP, w->last_seq + 1, none, "record %lld is missing from the export",
              (long long)w->last_seq + 1);
    else if (seq > w->last_seq + 1)
      xreport(w, AG_AUDIT_GAP, w->last_seq + 1, none,
              "records %lld to %lld are missing from the export", (long long)w->last_seq + 1,
              (long long)seq - 1);
    else
      xreport(w, AG_AUDIT_REORDERED, seq, l->col[X_ID],
              "record %lld comes after record %lld: lines were reordered or repeated",
              (long long)seq, (long long)w->last_seq);
    return false;
  }
  if (stored.n != 64 || memcmp(stored.p, computed, 64) != 0) {
    xreport(w, AG_AUDIT_HASH_MISMATCH, seq, l->col[X_ID],
            "the record's columns do not match its hash (line %zu was edited)", line);
    return false;
  }
  bool linked = w->last_seq ? l->col[X_PREV].n == 64 && !memcmp(l->col[X_PREV].p, w->last_hash, 64)
                : seq == 1  ? l->col[X_PREV].n == 64 &&
                                 !memcmp(l->col[X_PREV].p, audit_genesis_hash, 64)
                            : true; /* the export starts mid-chain */
  if (!linked) {
    xreport(w, AG_AUDIT_LINK_MISMATCH, seq, l->col[X_ID],
            "prev_hash is not the hash of the record before it");
    return false;
  }
  if (w->anchor && w->anchor->seq == seq && memcmp(w->anchor->hash, computed, 64) != 0) {
    xreport(w, AG_AUDIT_ANCHOR_MISMATCH, seq, l->col[X_ID],
            "the hash differs from the anchor: the chain was rewritten from here or earlier");
    return false;
  }
  w->rep->records++;
  w->rep->head_seq = w->last_seq = seq;
  memcpy(w->last_hash, computed, AG_AUDIT_HASH_HEX);
  memcpy(w->rep->head_hash, computed, AG_AUDIT_HASH_HEX);
  return true;
}

static bool check_end(xwalk *w, const export_line *l) {
  audit_bytes none = {"", 0};
  int64_t n = w->rep->records;
  if (w->ended) {
    xreport(w, AG_AUDIT_INSERTED, w->last_seq + 1, none, "a second closing line");
    return false;
  }
  w->ended = true;
  if (l->end_records != n || l->end_last_seq != w->last_seq) {
    xreport(w, l->end_records > n ? AG_AUDIT_TRUNCATED : AG_AUDIT_INSERTED, w->last_seq + 1, none,
            "the closing line counts %lld records ending at seq %lld; the file holds %lld ending "
            "at seq %lld",
            (long long)l->end_records, (long long)l->end_last_seq, (long long)n,
            (long long)w->last_seq);
    return false;
  }
  if (strcmp(l->end_last_hash, n ? w->last_hash : "") != 0 ||
      (l->end_head_seq == w->last_seq && n && strcmp(l->end_head_hash, w->last_hash) != 0) ||
      l->end_head_seq < w->last_seq) {
    xreport(w, AG_AUDIT_LINK_MISMATCH, w->last_seq, none,
            "the closing line's hashes do not match the last record");
    return false;
  }
  return true;
}

ag_status ag_audit_verify_export(const char *data, size_t len, const ag_audit_anchor *anchor,
                                 ag_audit_verify_report *rep, ag_error *err) {
  memset(rep, 0, sizeof *rep);
  memcpy(rep->head_hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  rep->guards_present = true; /* a file has none to lose */
  xwalk w = {.anchor = anchor, .rep = rep};
  w.md = EVP_MD_fetch(NULL, "SHA256", NULL);
  w.ctx = EVP_MD_CTX_new();
  ag_buf scratch;
  ag_buf_init(&scratch);
  ag_status st = AG_OK;
  if (!w.md || !w.ctx) {
    st = ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 is not available");
    goto done;
  }
  bool jsonl = len > 0 && data[0] == '{';
  size_t pos = 0, line = 0;
  if (!jsonl) {
    audit_bytes f[AUDIT_EXPORT_NCOLS];
    int n = csv_record(data, len, &pos, &scratch, f, AUDIT_EXPORT_NCOLS);
    if (n == -2 || len == 0) {
      xreport(&w, AG_AUDIT_TRUNCATED, 1, (audit_bytes){"", 0},
              "the export ends before its first record");
      goto done;
    }
    bool header = n == AUDIT_EXPORT_NCOLS;
    for (int k = 0; header && k < n; k++)
      header = f[k].n == strlen(audit_export_cols[k]) &&
               !memcmp(f[k].p, audit_export_cols[k], f[k].n);
    if (!header) {
      st = ag_error_set(err, AG_ERR_INPUT, "export",
                        "not an acegate export: line 1 is neither a JSON object nor the CSV "
                        "header");
      goto done;
    }
    line = 1;
  }
  while (pos < len && rep->problem == AG_AUDIT_INTACT && st == AG_OK) {
    line++;
    /* the data ends inside this line: the file was cut mid-line */
    bool partial = jsonl && !memchr(data + pos, '\n', len - pos);
    export_line l;
    memset(&l, 0, sizeof l);
    char num[2][24];
    json_t *o = NULL;
    bool ok;
    if (jsonl) {
      const char *nl = memchr(data + pos, '\n', len - pos);
      size_t end = nl ? (size_t)(nl - data) : len;
      o = json_loadb(data + pos, end - pos, JSON_ALLOW_NUL, NULL);
      pos = nl ? end + 1 : len;
      ok = json_is_object(o) && nl;
      if (ok && json_object_get(o, "export_end"))
        ok = json_is_true(json_object_get(o, "export_end")) && json_end(o, &l);
      else if (ok)
        ok = json_record(o, &l, num);
    } else {
      int n = csv_record(data, len, &pos, &scratch, l.col, AUDIT_EXPORT_NCOLS);
      partial = n == -2;
      ok = n == AUDIT_EXPORT_NCOLS;
      if (ok && l.col[0].n == 4 && !memcmp(l.col[0].p, "#end", 4))
        ok = csv_end(l.col, n, &l);
    }
    if (!ok && partial)
      xreport(&w, AG_AUDIT_TRUNCATED, w.last_seq + 1, (audit_bytes){"", 0},
              "line %zu is cut short: the export ends mid-line after %lld records", line,
              (long long)rep->records);
    else if (!ok)
      st = ag_error_set(err, AG_ERR_INPUT, "export", "line %zu: not a record or closing line",
                        line);
    else if (l.is_end)
      check_end(&w, &l);
    else
      check_record(&w, &l, line, err, &st);
    json_decref(o);
  }
  if (st == AG_OK && rep->problem == AG_AUDIT_INTACT && !w.ended)
    xreport(&w, AG_AUDIT_TRUNCATED, w.last_seq + 1, (audit_bytes){"", 0},
            "the export has no closing line: it was cut short after %lld records",
            (long long)rep->records);
  if (st == AG_OK && rep->problem == AG_AUDIT_INTACT && anchor && anchor->seq > w.last_seq)
    xreport(&w, AG_AUDIT_TRUNCATED, w.last_seq + 1, (audit_bytes){"", 0},
            "the anchor is at seq %lld but the export ends at %lld", (long long)anchor->seq,
            (long long)w.last_seq);
done:
  ag_buf_free(&scratch);
  EVP_MD_CTX_free(w.ctx);
  EVP_MD_free((EVP_MD *)w.md);
  return st;
}
