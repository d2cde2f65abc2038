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

uint32_t sx_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
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

int sx_osa_distance(const char *a, size_t la, const char *b, size_t lb, int max) {
  if (la > 64 || lb > 64)
    return max + 1;
  size_t d = la > lb ? la - lb : lb - la;
  if ((int)d > max)
    return max + 1;
  /* three rolling rows of the dynamic programme */
  int r0[65], r1[65], r2[65];
  int *pp = r0, *p = r1, *c = r2;
  for (size_t j = 0; j <= lb; j++)
    p[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    c[0] = (int)i;
    int rowmin = c[0];
    for (size_t j = 1; j <= lb; j++) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = p[j] + 1;
      if (c[j - 1] + 1 < v)
        v = c[j - 1] + 1;
      if (p[j - 1] + cost < v)
        v = p[j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
        v = pp[j - 2] + 1;
      c[j] = v;
      if (v < rowmin)
        rowmin = v;
    }
    if (rowmin > max)
      return max + 1;
    int *t = pp;
    pp = p;
    p = c;
    c = t;
  }
  return p[lb] > max ? max + 1 : p[lb];
}
