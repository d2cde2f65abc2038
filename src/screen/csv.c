/*
 * csv.c - a strict reader for the list files' delimited text: RFC 4180
 * quoting ("" inside quotes), CRLF or LF line ends, comma or tab
 * delimiters, OFAC's trailing DOS end-of-file byte (0x1A), a UTF-8 byte
 * order mark.
 *
 * Strictness is what lets `acegate lists update` refuse a damaged file
 * before it replaces a good one: an unterminated quote, a character after
 * a closing quote, or a last line that stops mid-field are errors naming
 * file and line. (A last line without a line end is accepted only when its
 * last field is a closed quoted field, or the file carries OFAC's EOF byte:
 * some published files omit the final newline, and a cut inside a quoted
 * field is caught as an unterminated quote.)
 */
#include "screen_int.h"

#include <stdlib.h>
#include <string.h>

#define CSV_FIELDS_MAX 4096

void sx_csv_init(sx_csv *c, const char *data, size_t len, char delim, const char *file) {
  memset(c, 0, sizeof *c);
  const char *end = data + len;
  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
    data += 3;
  /* OFAC's DOS end-of-file byte, possibly followed by blank space */
  const char *e = end;
  while (e > data && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
    e--;
  if (e > data && e[-1] == 0x1A) {
    end = e - 1;
    c->eof_marker = true;
  }
  c->data = c->cur = data;
  c->end = end;
  c->delim = delim;
  c->file = file;
  c->next_line = 1;
}

void sx_csv_free(sx_csv *c) {
  free(c->fields);
  free(c->scratch);
  memset(c, 0, sizeof *c);
}

static bool push_field(sx_csv *c, const char *p, size_t len, bool quoted, bool in_scratch) {
  if (c->nfields >= CSV_FIELDS_MAX)
    return false;
  if (!sx_grow((void **)&c->fields, &c->fields_cap, c->nfields + 1, sizeof *c->fields))
    return false;
  /* a scratch field is recorded by offset until the record is complete,
   * since the scratch buffer may move */
  sx_field *f = &c->fields[c->nfields++];
  f->p = in_scratch ? (const char *)(uintptr_t)(p - c->scratch) : p;
  f->len = len;
  f->quoted = quoted;
  f->in_scratch = in_scratch;
  return true;
}

ag_status sx_csv_next(sx_csv *c, ag_error *err) {
  c->nfields = 0;
  c->scratch_len = 0;
  /* skip blank lines */
  while (c->cur < c->end && (*c->cur == '\n' || *c->cur == '\r')) {
    if (*c->cur == '\n')
      c->next_line++;
    c->cur++;
  }
  if (c->cur >= c->end)
    return AG_OK;
  c->line = c->next_line;
  const char *p = c->cur, *end = c->end;
  for (;;) {
    bool quoted = false, in_scratch = false;
    const char *fs;
    size_t flen;
    if (p < end && *p == '"') {
      quoted = true;
      p++;
      fs = p;
      /* fast scan; copy into scratch only if the field has "" escapes */
      const char *q = p;
      bool esc = false;
      for (;;) {
        const char *hit = memchr(q, '"', (size_t)(end - q));
        if (!hit) {
          return ag_error_set(err, AG_ERR_LIST, "",
                              "%s:%zu: field %zu: unterminated quoted field "
                              "(file truncated?)",
                              c->file, c->line, c->nfields + 1);
        }
        if (hit + 1 < end && hit[1] == '"') {
          esc = true;
          q = hit + 2;
          continue;
        }
        q = hit;
        break;
      }
      for (const char *r = fs; r < q; r++)
        if (*r == '\n')
          c->next_line++;
      if (esc) {
        size_t need = c->scratch_len + (size_t)(q - fs) + 1;
        if (!sx_grow((void **)&c->scratch, &c->scratch_cap, need, 1))
          return ag_error_set(err, AG_ERR_NOMEM, "", "%s:%zu: out of memory", c->file, c->line);
        char *dst = c->scratch + c->scratch_len;
        fs = dst;
        for (const char *r = p; r < q; r++) {
          *dst++ = *r;
          if (*r == '"')
            r++; /* "" -> " */
        }
        flen = (size_t)(dst - fs);
        c->scratch_len += flen;
        in_scratch = true;
      } else {
        flen = (size_t)(q - fs);
      }
      p = q + 1;
      /* after the closing quote: optional blanks, then a delimiter or line end */
      while (p < end && *p == ' ' && c->delim != ' ')
        p++;
      if (p < end && *p != c->delim && *p != '\r' && *p != '\n')
        return ag_error_set(err, AG_ERR_LIST, "",
                            "%s:%zu: field %zu: unexpected character '%c' "
                            "after a closing quote",
                            c->file, c->next_line, c->nfields + 1,
                            (*p >= 0x20 && *p < 0x7F) ? *p : '?');
    } else {
      fs = p;
      while (p < end && *p != c->delim && *p != '\n' && *p != '\r')
        p++;
      flen = (size_t)(p - fs);
    }
    if (!push_field(c, fs, flen, quoted, in_scratch))
      return ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: more than %d fields or out of memory",
                          c->file, c->line, CSV_FIELDS_MAX);
    if (p >= end) {
      if (!quoted && !c->eof_marker)
        return ag_error_set(err, AG_ERR_LIST, "",
                            "%s:%zu: the file ends in the middle of a "
                            "line (truncated?)",
                            c->file, c->line);
      break;
    }
    if (*p == c->delim) {
      p++;
      continue;
    }
    /* line end */
    if (*p == '\r') {
      p++;
      if (p < end && *p == '\n')
        p++;
    } else {
      p++;
    }
    c->next_line++;
    break;
  }
  c->cur = p;
  for (size_t i = 0; i < c->nfields; i++)
    if (c->fields[i].in_scratch)
      c->fields[i].p = c->scratch + (uintptr_t)c->fields[i].p;
  return AG_OK;
}
