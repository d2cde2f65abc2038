/*
 * buf.c - growable output buffer and JSON string escaping.
 * Invariant: once an allocation fails, `failed` stays set and the
 * contents are incomplete; callers check it once at the end.
 */
#include "acegate/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ag_buf_init(ag_buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = false;
}

void ag_buf_free(ag_buf *b) {
  free(b->data);
  ag_buf_init(b);
}

void ag_buf_reset(ag_buf *b) {
  b->len = 0;
  b->failed = false;
}

bool ag_buf_grow(ag_buf *b, size_t extra) {
  if (b->failed)
    return false;
  if (b->cap - b->len > extra)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len <= extra) {
    if (cap > SIZE_MAX / 2) {
      b->failed = true;
      return false;
    }
    cap *= 2;
  }
  char *d = realloc(b->data, cap);
  if (!d) {
    b->failed = true;
    return false;
  }
  b->data = d;
  b->cap = cap;
  return true;
}

void ag_buf_append_long(ag_buf *b, const char *s, size_t n) {
  if (!ag_buf_reserve(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

void ag_buf_puts(ag_buf *b, const char *s) { ag_buf_append_long(b, s, strlen(s)); }

void ag_buf_printf(ag_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n < sizeof small) {
    ag_buf_append(b, small, (size_t)n);
    return;
  }
  if (!ag_buf_reserve(b, (size_t)n + 1))
    return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else
    return 0;
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

bool ag_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    /* ASCII runs eight bytes at a time: most text is plain ASCII */
    while (n - i >= 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i >= n)
      break;
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_seq(p + i, n - i);
    if (!k)
      return false;
    i += k;
  }
  return true;
}

/* 1 for bytes that go into a JSON string as they are. */
static const unsigned char json_plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* control characters */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x7f is allowed */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0) /* non-ASCII: checked */
#undef R16
};

void ag_buf_json_str(ag_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  /* worst case: every byte becomes \u00XX (6) or U+FFFD (3) */
  if (!ag_buf_reserve(b, n * 6 + 2))
    return;
  char *o = b->data + b->len;
  *o++ = '"';
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    const unsigned char *run = p;
    /* eight bytes at a time while none needs escaping or checking */
    while (end - p >= 8) {
      uint64_t w;
      memcpy(&w, p, 8);
      const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
      uint64_t ctrl = (w - ones * 0x20) & ~w;           /* bytes < 0x20 */
      uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
      uint64_t zq = (quote - ones) & ~quote, zb = (bslash - ones) & ~bslash;
      if ((ctrl | zq | zb | w) & highs)
        break;
      p += 8;
    }
    while (p < end && json_plain[*p])
      p++;
    memcpy(o, run, (size_t)(p - run));
    o += p - run;
    if (p == end)
      break;
    unsigned char c = *p;
    if (c >= 0x80) {
      size_t k = utf8_seq(p, (size_t)(end - p));
      if (k) {
        memcpy(o, p, k);
        o += k;
        p += k;
      } else {
        memcpy(o, "\xEF\xBF\xBD", 3);
        o += 3;
        p++;
      }
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
    p++;
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
}

void ag_buf_json_cstr(ag_buf *b, const char *s) {
  if (s)
    ag_buf_json_str(b, s, strlen(s));
  else
    ag_buf_puts(b, "null");
}

const char *ag_buf_cstr(ag_buf *b) {
  if (!ag_buf_reserve(b, 1))
    return NULL;
  b->data[b->len] = '\0';
  return b->data;
}
