/*
 * csv.c - batches as CSV: a spreadsheet of customers or orders in, one
 * answer row per row out, joined back by the caller's ref.
 *
 * In: RFC 4180 (a header row; fields quoted with "" when they hold commas,
 * quotes or line breaks; CRLF or LF; a UTF-8 byte-order mark skipped).
 * Each row becomes the contract's JSON request from the mapped columns
 * (ag_pipeline_csv_columns), so it is decoded, decided and recorded
 * exactly as a JSONL line would be: an empty cell leaves its field out,
 * "true"/"false" are booleans, max_matches and min_score numbers, anything
 * else a string; the strict decoder names a bad field.
 *
 * Out: every cell that a spreadsheet would evaluate (=, +, -, @, TAB, CR
 * first) is neutralised with a leading ' (OWASP, CSV injection), so a
 * listed name like "=HYPERLINK(...)" or a caller's ref cannot run in the
 * reviewer's spreadsheet.
 */
#include "pipeline_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- the mapping ---- */

ag_status ag_pipeline_csv_columns_parse(const char *spec, ag_pipeline_csv_columns *out,
                                        ag_error *err) {
  memset(out, 0, sizeof *out);
  if (!(out->copy = strdup(spec ? spec : "")))
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  for (char *p = out->copy; p && *p;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    char *eq = strchr(p, '=');
    if (!eq || eq == p || !eq[1]) {
      ag_status st = ag_error_set(err, AG_ERR_INPUT, "columns",
                                  "'%.80s': expected FIELD=COLUMN, e.g. name=Company", p);
      ag_pipeline_csv_columns_free(out);
      return st;
    }
    if (out->n == AG_PIPELINE_CSV_COLUMNS_MAX) {
      ag_pipeline_csv_columns_free(out);
      return ag_error_set(err, AG_ERR_LIMIT, "columns", "more than %d mappings",
                          AG_PIPELINE_CSV_COLUMNS_MAX);
    }
    *eq = '\0';
    for (size_t i = 0; i < out->n; i++)
      if (!strcmp(out->field[i], p)) {
        ag_status st = ag_error_set(err, AG_ERR_INPUT, "columns", "'%.80s' is mapped twice", p);
        ag_pipeline_csv_columns_free(out);
        return st;
      }
    out->field[out->n] = p;
    out->column[out->n++] = eq + 1;
    p = comma ? comma + 1 : NULL;
  }
  return AG_OK;
}

void ag_pipeline_csv_columns_free(ag_pipeline_csv_columns *c) {
  free(c->copy);
  memset(c, 0, sizeof *c);
}

/* ---- writing ---- */

void ag_pipeline_csv_cell(ag_buf *out, const char *s, size_t n) {
  bool formula = n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                       s[0] == '\r');
  bool quote = formula;
  for (size_t i = 0; i < n && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!quote) {
    ag_buf_append(out, s, n);
    return;
  }
  ag_buf_putc(out, '"');
  if (formula)
    ag_buf_putc(out, '\'');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      ag_buf_putc(out, '"');
    ag_buf_putc(out, s[i]);
  }
  ag_buf_putc(out, '"');
}

static void cell(ag_buf *out, const char *s) {
  ag_buf_putc(out, ',');
  if (s)
    ag_pipeline_csv_cell(out, s, strlen(s));
}

static void num_cell(ag_buf *out, json_t *v) {
  ag_buf_putc(out, ',');
  if (json_is_number(v))
    ag_buf_printf(out, "%.4g", json_number_value(v));
}

static const char *jstr(json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static const char *const screening_cols =
    "line,ref,outcome,name,country,score,level,list_code,list,source_id,entry_name,matched_name,"
    "other_matches,warnings,lists_version,error_code,error_field,error_message,audit_id";
static const char *const check_cols =
    "line,ref,outcome,decided_by,reason,eccn,destination,as_of,ace_available,warnings,"
    "rules_version,lists_version,error_code,error_field,error_message,audit_id";

void pl_csv_header(ag_audit_kind kind, ag_buf *out) {
  ag_buf_puts(out, kind == AG_AUDIT_SCREENING ? screening_cols : check_cols);
  ag_buf_puts(out, "\r\n");
}

/* "lists_stale EL 2025-06-25; lists_stale SDN 2025-06-25" */
static void warnings_cell(ag_buf *out, json_t *answer) {
  ag_buf w;
  ag_buf_init(&w);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(answer, "warnings"), i, x) {
    if (i)
      ag_buf_puts(&w, "; ");
    ag_buf_puts(&w, jstr(x, "code") ? jstr(x, "code") : "");
    if (jstr(x, "list")) {
      ag_buf_putc(&w, ' ');
      ag_buf_puts(&w, jstr(x, "list"));
    }
    if (jstr(x, "date")) {
      ag_buf_putc(&w, ' ');
      ag_buf_puts(&w, jstr(x, "date"));
    }
  }
  cell(out, ag_buf_cstr(&w));
  ag_buf_free(&w);
}

void pl_csv_row(ag_audit_kind kind, long line, const char *ref, const ag_pipeline_result *res,
                const char *answer, size_t len, ag_buf *out) {
  ag_buf_printf(out, "%ld", line);
  json_t *a = res->st == AG_OK ? json_loadb(answer, len, 0, NULL) : NULL;
  cell(out, a && jstr(a, "ref") ? jstr(a, "ref") : ref);
  if (kind == AG_AUDIT_SCREENING) {
    json_t *ms = json_object_get(a, "matches"), *best = json_array_get(ms, 0);
    cell(out, jstr(a, "outcome"));
    cell(out, jstr(a, "name"));
    cell(out, jstr(a, "country"));
    num_cell(out, json_object_get(best, "score"));
    cell(out, jstr(best, "level"));
    cell(out, jstr(best, "list_code"));
    cell(out, jstr(best, "list"));
    cell(out, jstr(best, "source_id"));
    cell(out, jstr(best, "entry_name"));
    cell(out, jstr(best, "name"));
    /* the other candidates, so that a reviewer sees there were some */
    ag_buf o;
    ag_buf_init(&o);
    for (size_t i = 1; i < json_array_size(ms); i++) {
      json_t *m = json_array_get(ms, i);
      ag_buf_printf(&o, "%s%s %s %.2f", i > 1 ? "; " : "", jstr(m, "list_code"),
                    jstr(m, "source_id"), json_number_value(json_object_get(m, "score")));
    }
    cell(out, ag_buf_cstr(&o));
    ag_buf_free(&o);
  } else {
    cell(out, jstr(a, "outcome"));
    const char *by = jstr(a, "decided_by");
    cell(out, by);
    /* the deciding step's words: the why, in one cell */
    const char *reason = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(a, "trace"), i, s) {
      if (!reason && by && jstr(s, "cite") && !strcmp(jstr(s, "cite"), by))
        reason = jstr(s, "text");
    }
    cell(out, reason);
    cell(out, jstr(json_object_get(a, "item"), "eccn"));
    cell(out, jstr(a, "destination"));
    cell(out, jstr(a, "as_of"));
    json_t *av = json_object_get(json_object_get(a, "ace"), "available");
    cell(out, !a ? NULL : json_is_true(av) ? "true" : "false");
  }
  warnings_cell(out, a);
  if (kind == AG_AUDIT_CHECK)
    cell(out, jstr(a, "rules_version"));
  cell(out, jstr(a, "lists_version"));
  if (res->st != AG_OK) {
    cell(out, ag_status_name(res->st));
    cell(out, res->err.field);
    cell(out, res->err.reason);
  } else {
    ag_buf_puts(out, ",,,");
  }
  json_decref(a);
}

void pl_csv_finish(const char *audit_id, ag_buf *out) {
  cell(out, audit_id);
  ag_buf_puts(out, "\r\n");
}

/* ---- reading ---- */

/* Columns read without a mapping when the header is the field's name;
 * "eccn" and "for" stand for item.eccn and item.for. */
static const char *const screening_fields[] = {
    "name", "country", "ref", "max_matches", "min_score", "address", "city",
    "type", "ids", "sources", "types", "countries"};
static const char *const check_fields[] = {
    "as_of", "item.eccn", "item.for", "destination", "transaction", "end_use",
    "knows_unauthorized_use", "ref", "end_user.type", "end_user.name", "end_user.country",
    "end_user.police_or_judicial", "end_user.address", "end_user.city", "end_user.ids",
    "consignee.name", "consignee.country",
    "intermediate_consignee.name", "intermediate_consignee.country", "purchaser.name",
    "purchaser.country"};

/* and a party of the registry (acegate/parties.h): read as kind AG_AUDIT_ANY */
static const char *const party_fields[] = {"name", "country", "address", "ref"};

static const char *check_alias(const char *f) {
  return !strcmp(f, "eccn") ? "item.eccn" : !strcmp(f, "for") ? "item.for" : f;
}

struct pl_csv_in {
  ag_audit_kind kind;
  size_t nmap;
  const char *field[AG_PIPELINE_CSV_COLUMNS_MAX]; /* request field of header cell idx[k] */
  size_t idx[AG_PIPELINE_CSV_COLUMNS_MAX];
  long ref_idx; /* the ref column, or -1 */
  /* the current row */
  ag_buf text;
  size_t *starts, *lens, nfields, cap;
  bool too_long;
};

/* One record: fields into c->text (offsets in starts/lens). Returns false
 * at the end of the input; *open_quote when it ended inside quotes. */
static bool read_record(pl_csv_in *c, FILE *in, long *lineno, long *first, bool *open_quote) {
  ag_buf_reset(&c->text);
  c->nfields = 0;
  c->too_long = false;
  *open_quote = false;
  int ch = getc_unlocked(in);
  if (ch == EOF)
    return false;
  *first = ++*lineno;
  bool quoted = false, field_start = true;
  size_t start = 0;
  for (;; ch = getc_unlocked(in)) {
    if (field_start) {
      if (c->nfields == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        size_t *s = realloc(c->starts, cap * sizeof *s);
        if (s)
          c->starts = s;
        size_t *l = s ? realloc(c->lens, cap * sizeof *l) : NULL;
        if (!s || !l) {
          c->too_long = true; /* out of room: the row is refused */
          break;
        }
        c->lens = l;
        c->cap = cap;
      }
      start = c->text.len;
      field_start = false;
      if (ch == '"') {
        quoted = true;
        continue;
      }
    }
    if (ch == EOF) {
      *open_quote = quoted;
      break;
    }
    if (quoted) {
      if (ch == '"') {
        int next = getc_unlocked(in);
        if (next == '"') {
          ag_buf_putc(&c->text, '"');
          continue;
        }
        quoted = false;
        ch = next;
        if (ch == EOF)
          break;
      } else {
        if (ch == '\n')
          ++*lineno;
        if (c->text.len <= AG_JSON_MAX_REQUEST)
          ag_buf_putc(&c->text, (char)ch);
        else
          c->too_long = true;
        continue;
      }
    }
    if (ch == ',') {
      c->starts[c->nfields] = start;
      c->lens[c->nfields++] = c->text.len - start;
      field_start = true;
      continue;
    }
    if (ch == '\n')
      break;
    if (c->text.len <= AG_JSON_MAX_REQUEST)
      ag_buf_putc(&c->text, (char)ch);
    else
      c->too_long = true;
  }
  if (!field_start || c->nfields < c->cap) {
    size_t n = c->text.len - start;
    if (n && c->text.data[c->text.len - 1] == '\r') { /* CRLF */
      c->text.len--;
      n--;
    }
    if (c->nfields < c->cap) {
      c->starts[c->nfields] = start;
      c->lens[c->nfields++] = n;
    }
  }
  c->too_long |= c->text.failed;
  return true;
}

static const char *field_at(pl_csv_in *c, size_t k, size_t *n) {
  if (k >= c->nfields) {
    *n = 0;
    return "";
  }
  *n = c->lens[k];
  return c->text.data ? c->text.data + c->starts[k] : "";
}

ag_status pl_csv_open(FILE *in, ag_audit_kind kind, const ag_pipeline_csv_columns *cols,
                      pl_csv_in **out, ag_error *err) {
  *out = NULL;
  pl_csv_in *c = calloc(1, sizeof *c);
  if (!c) {
    ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    return AG_ERR_NOMEM;
  }
  c->kind = kind;
  c->ref_idx = -1;
  ag_buf_init(&c->text);
  long lineno = 0, first;
  bool open_quote;
  if (!read_record(c, in, &lineno, &first, &open_quote)) {
    pl_csv_free(c);
    return ag_error_set(err, AG_ERR_INPUT, "input", "the CSV input is empty: a header row first");
  }
  if (c->too_long || open_quote) {
    pl_csv_free(c);
    return ag_error_set(err, AG_ERR_INPUT, "input", "line 1: the header row is not valid CSV");
  }
  /* a byte-order mark is no part of the first column's name */
  if (c->nfields && c->lens[0] >= 3 && !memcmp(c->text.data + c->starts[0], "\xEF\xBB\xBF", 3)) {
    c->starts[0] += 3;
    c->lens[0] -= 3;
  }
  /* the request's fields: mapped ones, and columns named after a field */
  ag_status st = AG_OK;
  for (size_t m = 0; cols && m < cols->n && !st; m++) {
    size_t k = 0, n;
    for (; k < c->nfields; k++) {
      const char *h = field_at(c, k, &n);
      if (n == strlen(cols->column[m]) && !memcmp(h, cols->column[m], n))
        break;
    }
    if (k == c->nfields)
      st = ag_error_set(err, AG_ERR_INPUT, "columns",
                        "%s=%s: the header has no column '%s'", cols->field[m], cols->column[m],
                        cols->column[m]);
    else {
      c->field[c->nmap] = kind == AG_AUDIT_CHECK ? check_alias(cols->field[m]) : cols->field[m];
      c->idx[c->nmap++] = k;
    }
  }
  for (size_t k = 0; k < c->nfields && !st && c->nmap < AG_PIPELINE_CSV_COLUMNS_MAX; k++) {
    size_t n;
    const char *h = field_at(c, k, &n);
    if (!n || n > 40)
      continue;
    char hname[48];
    memcpy(hname, h, n);
    hname[n] = '\0';
    const char *f = kind == AG_AUDIT_CHECK ? check_alias(hname) : hname;
    /* an unmapped column counts when its header is a request field */
    const char *const *known = kind == AG_AUDIT_SCREENING ? screening_fields
                               : kind == AG_AUDIT_CHECK   ? check_fields
                                                          : party_fields;
    size_t nknown = kind == AG_AUDIT_SCREENING ? sizeof screening_fields / sizeof *known
                    : kind == AG_AUDIT_CHECK   ? sizeof check_fields / sizeof *known
                                               : sizeof party_fields / sizeof *known;
    const char *field = NULL;
    for (size_t i = 0; i < nknown && !field; i++)
      if (!strcmp(known[i], f))
        field = known[i];
    bool taken = !field;
    for (size_t m = 0; m < c->nmap && !taken; m++)
      taken = c->idx[m] == k || !strcmp(c->field[m], field);
    if (!taken) {
      c->field[c->nmap] = field;
      c->idx[c->nmap++] = k;
    }
  }
  for (size_t m = 0; m < c->nmap; m++)
    if (!strcmp(c->field[m], "ref"))
      c->ref_idx = (long)c->idx[m];
  const char *need = kind == AG_AUDIT_CHECK ? "item.eccn" : "name";
  bool have = false;
  for (size_t m = 0; m < c->nmap; m++)
    have |= !strcmp(c->field[m], need);
  if (!st && !have)
    st = ag_error_set(err, AG_ERR_INPUT, "columns",
                      "no column gives '%s': name a header '%s' or map one (--columns %s=COLUMN)",
                      need, need, need);
  if (st) {
    pl_csv_free(c);
    return st;
  }
  *out = c;
  return AG_OK;
}

void pl_csv_free(pl_csv_in *c) {
  if (!c)
    return;
  ag_buf_free(&c->text);
  free(c->starts);
  free(c->lens);
  free(c);
}

/* Sets a dotted path in obj ("end_user.name"): objects made on the way. */
static bool set_path(json_t *obj, const char *path, json_t *v) {
  const char *dot = strchr(path, '.');
  if (!dot)
    return json_object_set_new(obj, path, v) == 0;
  char key[64];
  size_t n = (size_t)(dot - path);
  if (n >= sizeof key) {
    json_decref(v);
    return false;
  }
  memcpy(key, path, n);
  key[n] = '\0';
  json_t *sub = json_object_get(obj, key);
  if (!json_is_object(sub)) {
    sub = json_object();
    if (!sub || json_object_set_new(obj, key, sub)) {
      json_decref(v);
      return false;
    }
  }
  return set_path(sub, dot + 1, v);
}

static json_t *cell_value(const char *field, const char *s, size_t n) {
  size_t fl = strlen(field);
  if (fl >= 3 && !strcmp(field + fl - 3, "ids")) { /* "IMO 9187629; 1027700092661" */
    json_t *a = json_array();
    for (size_t i = 0; a && i < n;) {
      size_t j = i;
      while (j < n && s[j] != ';')
        j++;
      size_t b = i, e = j;
      while (b < e && s[b] == ' ')
        b++;
      while (e > b && s[e - 1] == ' ')
        e--;
      if (e > b)
        json_array_append_new(a, json_stringn(s + b, e - b));
      i = j + 1;
    }
    return a;
  }
  if (n == 4 && !strncasecmp(s, "true", 4))
    return json_true();
  if (n == 5 && !strncasecmp(s, "false", 5))
    return json_false();
  if (!strcmp(field, "max_matches") || !strcmp(field, "min_score")) {
    char tmp[32];
    if (n < sizeof tmp) {
      memcpy(tmp, s, n);
      tmp[n] = '\0';
      char *end;
      double x = strtod(tmp, &end);
      if (n && !*end)
        return !strcmp(field, "max_matches") && x == (double)(json_int_t)x
                   ? json_integer((json_int_t)x)
                   : json_real(x);
    }
  }
  return json_stringn(s, n);
}

int pl_csv_next(pl_csv_in *c, FILE *in, long *lineno, ag_pipeline_line *line,
                char ref[AG_JSON_REF_BYTES + 1], ag_error *err) {
  long first;
  bool open_quote;
  for (;;) {
    if (!read_record(c, in, lineno, &first, &open_quote))
      return 0;
    if (!(c->nfields == 1 && c->lens[0] == 0))
      break; /* blank lines are skipped, but counted */
  }
  line->number = first;
  line->len = 0;
  line->too_long = false;
  ref[0] = '\0';
  if (c->ref_idx >= 0 && !c->too_long) {
    size_t n;
    const char *r = field_at(c, (size_t)c->ref_idx, &n);
    snprintf(ref, AG_JSON_REF_BYTES + 1, "%.*s", (int)(n < AG_JSON_REF_BYTES ? n : AG_JSON_REF_BYTES), r);
  }
  if (c->too_long) {
    ag_error_set(err, AG_ERR_LIMIT, "", "the row is longer than %zu bytes", AG_JSON_MAX_REQUEST);
    return 2;
  }
  if (open_quote) {
    ag_error_set(err, AG_ERR_INPUT, "", "a quoted field is not closed before the end of the input");
    return 2;
  }
  if (!ag_utf8_valid(c->text.data ? c->text.data : "", c->text.len)) {
    ag_error_set(err, AG_ERR_INPUT, "", "the row is not valid UTF-8");
    return 2;
  }
  json_t *req = json_object();
  bool ok = req != NULL;
  for (size_t m = 0; ok && m < c->nmap; m++) {
    size_t n;
    const char *v = field_at(c, c->idx[m], &n);
    if (!n)
      continue; /* an empty cell: the field is not given */
    json_t *jv = cell_value(c->field[m], v, n);
    ok = jv && set_path(req, c->field[m], jv);
  }
  char *text = ok ? json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(req);
  if (!text) {
    ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    return 2;
  }
  size_t n = strlen(text);
  if (n + 1 > line->cap) {
    char *p = realloc(line->text, n + 1);
    if (!p) {
      free(text);
      ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
      return 2;
    }
    line->text = p;
    line->cap = n + 1;
  }
  memcpy(line->text, text, n + 1);
  line->len = n;
  free(text);
  if (n > AG_JSON_MAX_REQUEST)
    line->too_long = true;
  return 1;
}

ag_status ag_pipeline_csv_rows(FILE *in, const ag_pipeline_csv_columns *cols,
                               void (*row)(void *ctx, long line, const char *json, size_t len,
                                           const ag_error *err),
                               void *ctx, ag_error *err) {
  pl_csv_in *c;
  ag_status st = pl_csv_open(in, AG_AUDIT_ANY, cols, &c, err);
  if (st != AG_OK)
    return st;
  ag_pipeline_line line = {.text = NULL};
  long lineno = 1;
  char ref[AG_JSON_REF_BYTES + 1];
  for (;;) {
    ag_error e;
    ag_error_clear(&e);
    int got = pl_csv_next(c, in, &lineno, &line, ref, &e);
    if (!got)
      break;
    row(ctx, line.number, got == 1 ? line.text : NULL, got == 1 ? line.len : 0,
        got == 1 ? NULL : &e);
  }
  ag_pipeline_line_free(&line);
  pl_csv_free(c);
  return ferror(in) ? ag_error_set(err, AG_ERR_IO, "input", "reading the CSV failed") : AG_OK;
}
