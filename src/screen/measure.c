/*
 * measure.c - string similarity measures for names, and small helpers.
 *
 * Jaro-Winkler is the field's standard for comparing short name strings:
 * it tolerates transpositions and rewards a shared start, which is where
 * names carry most information. The optimal string alignment distance
 * (Levenshtein plus adjacent transpositions) decides whether two words
 * are one typo apart.
 */
#include "screen_int.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

bool sx_grow(void **data, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 16;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem)
      return false;
    c *= 2;
  }
  void *p = realloc(*data, c * elem);
  if (!p)
    return false;
  *data = p;
  *cap = c;
  return true;
}

bool sx_sha256(const void *data, size_t len, uint8_t out[32]) {
  unsigned int mdlen = 0;
  if (!EVP_Digest(data, len, out, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
    memset(out, 0, 32);
    return false;
  }
  return true;
}

void sx_hex(const uint8_t *d, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  out[2 * n] = '\0';
}

void sx_sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[32];
  if (!sx_sha256(data, len, md)) {
    memset(out, '0', 64);
    out[64] = '\0';
    return;
  }
  sx_hex(md, 32, out);
}

#define JW_MAX 1024 /* longer strings are compared on their first JW_MAX bytes */

double sx_jaro_winkler(const char *a, size_t la, const char *b, size_t lb) {
  if (la > JW_MAX)
    la = JW_MAX;
  if (lb > JW_MAX)
    lb = JW_MAX;
  if (la == 0 && lb == 0)
    return 1.0;
  if (la == 0 || lb == 0)
    return 0.0;
  if (la == lb && !memcmp(a, b, la))
    return 1.0;
  size_t range = (la > lb ? la : lb) / 2;
  range = range ? range - 1 : 0;
  unsigned char am[JW_MAX], bm[JW_MAX];
  memset(am, 0, la);
  memset(bm, 0, lb);
  size_t m = 0;
  for (size_t i = 0; i < la; i++) {
    size_t lo = i > range ? i - range : 0;
    size_t hi = i + range + 1 < lb ? i + range + 1 : lb;
    for (size_t j = lo; j < hi; j++) {
      if (!bm[j] && a[i] == b[j]) {
        am[i] = bm[j] = 1;
        m++;
        break;
      }
    }
  }
  if (!m)
    return 0.0;
  size_t t = 0, k = 0;
  for (size_t i = 0; i < la; i++) {
    if (!am[i])
      continue;
    while (!bm[k])
      k++;
    if (a[i] != b[k])
      t++;
    k++;
  }
  double md = (double)m;
  double jaro = (md / (double)la + md / (double)lb + (md - (double)t / 2.0) / md) / 3.0;
  size_t p = 0;
  while (p < 4 && p < la && p < lb && a[p] == b[p])
    p++;
  return jaro + (double)p * 0.1 * (1.0 - jaro);
}

/* The distance of a and b if at most one (la >= lb), else 2: past the
 * common start, what is left must be the same after one substitution, one
 * letter of a dropped, or two letters swapped. */
static int osa_upto1(const char *a, size_t la, const char *b, size_t lb) {
  size_t i = 0;
  while (i < lb && a[i] == b[i])
    i++;
  if (la != lb) /* la == lb + 1 */
    return !memcmp(a + i + 1, b + i, lb - i) ? 1 : 2;
  if (i == la)
    return 0;
  if (!memcmp(a + i + 1, b + i + 1, la - i - 1))
    return 1;
  return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
                 !memcmp(a + i + 2, b + i + 2, la - i - 2)
             ? 1
             : 2;
}

/* Bit-parallel (Myers' algorithm with Hyyro's transposition term): one
 * machine word holds a whole column of the dynamic programme, so a pair of
 * words costs a few operations per letter instead of one cell per pair of
 * letters. Bit i of a vector is row i + 1 of the column (a's first i + 1
 * letters); vp/vn mark where the column steps up/down by one going down,
 * d0 where a cell equals its upper-left neighbour. The result is the exact
 * distance, as the table would give it. */
int sx_osa_distance(const char *a, size_t la, const char *b, size_t lb, int max) {
  if (la > 64 || lb > 64)
    return max + 1;
  size_t d = la > lb ? la - lb : lb - la;
  if ((int)d > max)
    return max + 1;
  /* a common start and end cost nothing (a swap across their edge would
   * swap two equal letters): only what lies between is compared */
  while (la && lb && a[0] == b[0]) {
    a++, b++;
    la--, lb--;
  }
  while (la && lb && a[la - 1] == b[lb - 1])
    la--, lb--;
  if (max <= 1) {
    int r = la >= lb ? osa_upto1(a, la, b, lb) : osa_upto1(b, lb, a, la);
    return r > max ? max + 1 : r;
  }
  if (la == 0 || lb == 0) {
    int r = (int)(la + lb);
    return r > max ? max + 1 : r;
  }
  /* peq[c]: the rows where a has letter c; only the letters of a and b
   * are read, so only theirs are cleared */
  uint64_t peq[256];
  for (size_t j = 0; j < lb; j++)
    peq[(unsigned char)b[j]] = 0;
  for (size_t i = 0; i < la; i++)
    peq[(unsigned char)a[i]] = 0;
  for (size_t i = 0; i < la; i++)
    peq[(unsigned char)a[i]] |= 1ull << i;
  const uint64_t last = 1ull << (la - 1);
  uint64_t vp = la == 64 ? ~0ull : (1ull << la) - 1, vn = 0, d0 = 0, prev_eq = 0;
  int dist = (int)la; /* the bottom cell of the column: D[la][j] */
  for (size_t j = 0; j < lb; j++) {
    uint64_t eq = peq[(unsigned char)b[j]];
    /* a[i-1..i] = b[j..j-1] swapped, where the cell above-left of that
     * pair was not already free */
    uint64_t tr = ((~d0 & eq) << 1) & prev_eq;
    d0 = (((eq & vp) + vp) ^ vp) | eq | vn | tr;
    uint64_t hp = vn | ~(d0 | vp), hn = d0 & vp;
    if (hp & last)
      dist++;
    else if (hn & last)
      dist--;
    hp = (hp << 1) | 1; /* the top row counts insertions: D[0][j] = j */
    hn <<= 1;
    vp = hn | ~(d0 | hp);
    vn = d0 & hp;
    prev_eq = eq;
  }
  return dist > max ? max + 1 : dist;
}
