/*
 * tsv.c - reader for the regulation tables: tab-separated, one header line,
 * '#' comments. Strict: a wrong header, a wrong number of fields, a NUL
 * byte or invalid UTF-8 is an error naming file and line.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <string.h>

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
