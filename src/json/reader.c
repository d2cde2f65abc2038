/*
 * reader.c - a strict pull reader for JSON text (RFC 8259), enough for the
 * fixed shape of a transaction: objects, strings, booleans, and the type of
 * any other value. It builds no tree, so decoding a batch line costs about
 * as much as reading it once.
 *
 * Strict means: the input is valid UTF-8; strings hold no raw control
 * characters, no "\u0000" and no unpaired surrogates; numbers, literals
 * and structure follow the grammar; nothing follows the root value.
 * Every error reports line and column.
 */
#include "json_internal.h"

#include <stdio.h>
#include <string.h>

void ag_jr_init(ag_jr *r, const char *text, size_t len) {
  r->start = r->p = text;
  r->end = text + len;
}

ag_status ag_jr_fail(ag_jr *r, ag_error *err, const char *why) {
  int line = 1, col = 1;
  for (const char *q = r->start; q < r->p && q < r->end; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else if (((unsigned char)*q & 0xC0) != 0x80) {
      col++;
    }
  }
  return ag_error_set(err, AG_ERR_INPUT, "", "malformed JSON at line %d, column %d: %s", line,
                      col, why);
}

void ag_jr_ws(ag_jr *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

ag_jr_type ag_jr_peek(ag_jr *r) {
  ag_jr_ws(r);
  if (r->p >= r->end)
    return AG_JR_END;
  switch (*r->p) {
  case '{': return AG_JR_OBJECT;
  case '[': return AG_JR_ARRAY;
  case '"': return AG_JR_STRING;
  case 't':
  case 'f': return AG_JR_BOOL;
  case 'n': return AG_JR_NULL;
  default:
    return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ? AG_JR_NUMBER : AG_JR_INVALID;
  }
}

bool ag_jr_eat(ag_jr *r, char c) {
  ag_jr_ws(r);
  if (r->p < r->end && *r->p == c) {
    r->p++;
    return true;
  }
  return false;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/*
 * Reads a string at r->p (which must be '"'). The decoded bytes go to out
 * when out is non-NULL (cap bytes at most; *len gets the full decoded
 * length even when it does not fit). The decoded length never exceeds
 * the raw length, so a buffer of (raw length + 1) always fits.
 */
ag_status ag_jr_string(ag_jr *r, char *out, size_t cap, size_t *len, ag_error *err) {
  ag_jr_ws(r);
  if (r->p >= r->end || *r->p != '"')
    return ag_jr_fail(r, err, "expected a string");
  r->p++;
  size_t n = 0;
  for (;;) {
    const char *run = r->p;
    while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
      r->p++;
    size_t k = (size_t)(r->p - run);
    if (out && n + k <= cap)
      memcpy(out + n, run, k);
    n += k;
    if (r->p >= r->end)
      return ag_jr_fail(r, err, "unterminated string");
    char c = *r->p;
    if (c == '"') {
      r->p++;
      break;
    }
    if ((unsigned char)c < 0x20)
      return ag_jr_fail(r, err, "control character in a string (escape it)");
    /* an escape */
    if (r->end - r->p < 2)
      return ag_jr_fail(r, err, "unterminated escape");
    char e = r->p[1];
    char tmp[4];
    size_t tl = 1;
    switch (e) {
    case '"': tmp[0] = '"'; break;
    case '\\': tmp[0] = '\\'; break;
    case '/': tmp[0] = '/'; break;
    case 'b': tmp[0] = '\b'; break;
    case 'f': tmp[0] = '\f'; break;
    case 'n': tmp[0] = '\n'; break;
    case 'r': tmp[0] = '\r'; break;
    case 't': tmp[0] = '\t'; break;
    case 'u': {
      if (r->end - r->p < 6 || hex4(r->p + 2) < 0)
        return ag_jr_fail(r, err, "bad \\u escape");
      unsigned cp = (unsigned)hex4(r->p + 2);
      r->p += 4;
      if (cp == 0)
        return ag_jr_fail(r, err, "\\u0000 is not allowed");
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return ag_jr_fail(r, err, "unpaired surrogate in \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (r->end - r->p < 8 || r->p[2] != '\\' || r->p[3] != 'u' || hex4(r->p + 4) < 0)
          return ag_jr_fail(r, err, "unpaired surrogate in \\u escape");
        unsigned lo = (unsigned)hex4(r->p + 4);
        if (lo < 0xDC00 || lo > 0xDFFF)
          return ag_jr_fail(r, err, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        r->p += 6;
      }
      tl = put_utf8(tmp, cp);
      break;
    }
    default:
      return ag_jr_fail(r, err, "unknown escape in a string");
    }
    r->p += 2;
    if (out && n + tl <= cap)
      memcpy(out + n, tmp, tl);
    n += tl;
  }
  *len = n;
  return AG_OK;
}

ag_status ag_jr_bool(ag_jr *r, bool *out, ag_error *err) {
  ag_jr_ws(r);
  size_t left = (size_t)(r->end - r->p);
  if (left >= 4 && !memcmp(r->p, "true", 4)) {
    r->p += 4;
    *out = true;
  } else if (left >= 5 && !memcmp(r->p, "false", 5)) {
    r->p += 5;
    *out = false;
  } else
    return ag_jr_fail(r, err, "expected true or false");
  return AG_OK;
}

static ag_status skip_number(ag_jr *r, ag_error *err) {
  const char *p = r->p;
  if (p < r->end && *p == '-')
    p++;
  if (p >= r->end || *p < '0' || *p > '9')
    return ag_jr_fail(r, err, "bad number");
  if (*p == '0')
    p++;
  else
    while (p < r->end && *p >= '0' && *p <= '9')
      p++;
  if (p < r->end && *p == '.') {
    p++;
    if (p >= r->end || *p < '0' || *p > '9')
      return ag_jr_fail(r, err, "bad number");
    while (p < r->end && *p >= '0' && *p <= '9')
      p++;
  }
  if (p < r->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < r->end && (*p == '+' || *p == '-'))
      p++;
    if (p >= r->end || *p < '0' || *p > '9')
      return ag_jr_fail(r, err, "bad number");
    while (p < r->end && *p >= '0' && *p <= '9')
      p++;
  }
  r->p = p;
  return AG_OK;
}

/* Skips any value, checking its grammar; depth bounds nesting. */
ag_status ag_jr_skip(ag_jr *r, int depth, ag_error *err) {
  if (depth > 64)
    return ag_jr_fail(r, err, "nested too deeply");
  size_t len;
  switch (ag_jr_peek(r)) {
  case AG_JR_STRING:
    return ag_jr_string(r, NULL, 0, &len, err);
  case AG_JR_BOOL: {
    bool b;
    return ag_jr_bool(r, &b, err);
  }
  case AG_JR_NULL:
    if (r->end - r->p >= 4 && !memcmp(r->p, "null", 4)) {
      r->p += 4;
      return AG_OK;
    }
    return ag_jr_fail(r, err, "bad literal");
  case AG_JR_NUMBER:
    return skip_number(r, err);
  case AG_JR_ARRAY:
    r->p++;
    if (ag_jr_eat(r, ']'))
      return AG_OK;
    for (;;) {
      ag_status st = ag_jr_skip(r, depth + 1, err);
      if (st)
        return st;
      if (ag_jr_eat(r, ','))
        continue;
      if (ag_jr_eat(r, ']'))
        return AG_OK;
      return ag_jr_fail(r, err, "expected ',' or ']'");
    }
  case AG_JR_OBJECT:
    r->p++;
    if (ag_jr_eat(r, '}'))
      return AG_OK;
    for (;;) {
      ag_status st = ag_jr_string(r, NULL, 0, &len, err);
      if (st)
        return st;
      if (!ag_jr_eat(r, ':'))
        return ag_jr_fail(r, err, "expected ':'");
      if ((st = ag_jr_skip(r, depth + 1, err)))
        return st;
      if (ag_jr_eat(r, ','))
        continue;
      if (ag_jr_eat(r, '}'))
        return AG_OK;
      return ag_jr_fail(r, err, "expected ',' or '}'");
    }
  case AG_JR_END:
    return ag_jr_fail(r, err, "unexpected end of input");
  default:
    return ag_jr_fail(r, err, "unexpected character");
  }
}

/* Position of the first byte that is not valid UTF-8, or len. */
size_t ag_jr_utf8_error_at(const char *s, size_t len) {
  size_t lo = 0;
  /* ag_utf8_valid is fast; narrow down only when it fails */
  while (lo < len) {
    size_t step = len - lo > 64 ? 64 : len - lo;
    /* a chunk boundary may split a character: extend by up to 3 bytes */
    size_t ext = step;
    while (ext < step + 3 && lo + ext < len && ((unsigned char)s[lo + ext] & 0xC0) == 0x80)
      ext++;
    if (!ag_utf8_valid(s + lo, ext)) {
      for (size_t i = lo; i < lo + ext; i++) {
        size_t j = i + 1;
        while (j < len && j < i + 4 && ((unsigned char)s[j] & 0xC0) == 0x80)
          j++;
        if (!ag_utf8_valid(s + i, j - i))
          return i;
        i = j - 1;
      }
      return lo;
    }
    lo += ext;
  }
  return len;
}
