/*
 * tsv.c - reader for the regulation tables (tsv.h): tab-separated, one
 * header line, '#' comments. Strict: a wrong header, a wrong number of
 * fields, a NUL byte or invalid UTF-8 is an error naming file and line.
 */
#include "tsv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ag_status ag_tsv_read_file(const char *path, size_t max, char **buf, size_t *len, ag_error *err) {
  *buf = NULL;
  *len = 0;
  FILE *f;
  /* a table that cannot be read is a file failure, not an invalid table */
  if (ag_file_open(path, &f, NULL, err) != AG_OK) {
    if (err)
      err->status = AG_ERR_IO;
    return AG_ERR_IO;
  }
  size_t cap = 1 << 16, n = 0;
  char *b = NULL;
  ag_status st = AG_OK;
  for (;;) {
    char *nb = realloc(b, cap + 1);
    if (!nb) {
      st = ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
      break;
    }
    b = nb;
    n += fread(b + n, 1, cap - n, f);
    if (n < cap)
      break;
    if (cap > max) {
      st = ag_error_set(err, AG_ERR_RULES, path, "too large: a table is at most %zu bytes", max);
      break;
    }
    cap *= 2;
  }
  if (st == AG_OK && ferror(f))
    st = ag_error_set(err, AG_ERR_IO, path, "read error");
  else if (st == AG_OK && n > max)
    st = ag_error_set(err, AG_ERR_RULES, path, "too large: a table is at most %zu bytes", max);
  fclose(f);
  if (st != AG_OK || !b) { /* b is NULL only when the allocation failed */
    free(b);
    return st != AG_OK ? st : ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return AG_OK;
}

ag_status ag_tsv_date(const ag_tsv *t, int col, bool is_end, ag_date *out, ag_error *err) {
  const char *s = t->field[col];
  if (!strcmp(s, "-")) {
    *out = is_end ? AG_DATE_MAX : AG_DATE_NONE;
    return AG_OK;
  }
  if (!ag_date_parse(s, strlen(s), out))
    return ag_tsv_fail(t, err, col, "'%s' is not a date (YYYY-MM-DD, or '-' for open)", s);
  return AG_OK;
}

/* Splits the line at t->p into fields; advances t->p. Returns field count. */
static int split_line(ag_tsv *t, char **fields, int max, bool *too_many) {
  char *line = t->p;
  char *nl = memchr(line, '\n', (size_t)(t->end - line));
  char *stop = nl ? nl : t->end;
  t->p = nl ? nl + 1 : t->end;
  if (stop > line && stop[-1] == '\r')
    stop--;
  *stop = '\0';
  int n = 0;
  *too_many = false;
  char *f = line;
  for (;;) {
    char *tab = strchr(f, '\t');
    if (n < max)
      fields[n] = f;
    else
      *too_many = true;
    n++;
    if (!tab)
      break;
    *tab = '\0';
    f = tab + 1;
  }
  return n;
}

static bool skip_line(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\r'))
    p++;
  return p == end || *p == '\n' || *p == '#';
}

ag_status ag_tsv_open(ag_tsv *t, const char *file, char *buf, size_t len,
                      const char *const *cols, int ncols, ag_error *err) {
  t->file = file;
  t->p = buf;
  t->end = buf + len;
  t->line = 0;
  t->cols = cols;
  t->ncols = ncols;
  if (memchr(buf, '\0', len))
    return ag_error_set(err, AG_ERR_RULES, file, "the file contains a NUL byte");
  if (!ag_utf8_valid(buf, len))
    return ag_error_set(err, AG_ERR_RULES, file, "the file is not valid UTF-8");
  while (t->p < t->end) {
    t->line++;
    if (skip_line(t->p, t->end)) {
      char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
      t->p = nl ? nl + 1 : t->end;
      continue;
    }
    char *hdr[AG_TSV_MAX_COLS];
    bool too_many;
    int n = split_line(t, hdr, AG_TSV_MAX_COLS, &too_many);
    if (n != ncols || too_many)
      goto bad_header;
    for (int i = 0; i < ncols; i++)
      if (strcmp(hdr[i], cols[i]) != 0)
        goto bad_header;
    return AG_OK;
  }
  {
    char where[160];
    snprintf(where, sizeof where, "%s:%d", file, t->line);
    return ag_error_set(err, AG_ERR_RULES, where, "no header line: the table is empty");
  }
bad_header: {
  char want[512] = "";
  size_t used = 0;
  for (int i = 0; i < ncols && used < sizeof want; i++)
    used += (size_t)snprintf(want + used, sizeof want - used, "%s%s", i ? " " : "", cols[i]);
  char where[160];
  snprintf(where, sizeof where, "%s:%d", file, t->line);
  return ag_error_set(err, AG_ERR_RULES, where, "wrong header: expected the columns: %s", want);
}
}

bool ag_tsv_next(ag_tsv *t, bool *failed, ag_error *err) {
  *failed = false;
  while (t->p < t->end) {
    t->line++;
    if (skip_line(t->p, t->end)) {
      char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
      t->p = nl ? nl + 1 : t->end;
      continue;
    }
    bool too_many;
    int n = split_line(t, t->field, AG_TSV_MAX_COLS, &too_many);
    if (n != t->ncols || too_many) {
      char where[160];
      snprintf(where, sizeof where, "%s:%d", t->file, t->line);
      ag_error_set(err, AG_ERR_RULES, where, "%d fields where the header has %d columns", n,
                   t->ncols);
      *failed = true;
      return false;
    }
    for (int i = 0; i < n; i++)
      if (t->field[i][0] == '\0') {
        ag_tsv_fail(t, err, i, "empty field (write '-' for none)");
        *failed = true;
        return false;
      }
    return true;
  }
  return false;
}

ag_status ag_tsv_fail(const ag_tsv *t, ag_error *err, int col, const char *fmt, ...) {
  char where[160];
  snprintf(where, sizeof where, "%s:%d", t->file, t->line);
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ag_error_set(err, AG_ERR_RULES, where, "column '%s': %s",
                      col >= 0 && col < t->ncols ? t->cols[col] : "?", msg);
}
