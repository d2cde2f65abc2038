/*
 * eval_set.h - what the screening benchmarks share (screen_bench.c,
 * screen_variants.c): the evaluation sets of tests/screen (eval.tsv, and
 * the variant sets of make_variants.py), read the same way, and the clocks.
 *
 * A set is a TSV file, '#' comments, seven columns: kind ("decoy" for an
 * unlisted name), variant, query, country, list, id, and a note; fields
 * may escape a character with '\'. Rows with fewer columns are skipped.
 */
#ifndef ACEGATE_BENCH_EVAL_SET_H
#define ACEGATE_BENCH_EVAL_SET_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char *variant, *query, *country, *list, *id; /* strdup'd; never freed (the run's data) */
  bool decoy;
} eval_row;

static inline double eval_now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* qsort comparator for doubles, for percentiles */
static inline int eval_cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static inline void eval_unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1])
      s++;
    *o++ = *s;
  }
  *o = '\0';
}

/* Reads the set at path into *rows (malloc'd) and *n; false when it cannot
 * be read, holds no row, or memory runs out. */
static inline bool eval_set_read(const char *path, eval_row **rows, size_t *n) {
  *rows = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  char line[4096];
  size_t cap = 0;
  bool ok = true;
  while (ok && fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n')
      continue;
    line[strcspn(line, "\n")] = '\0';
    char *fl[7] = {0};
    int k = 0;
    for (char *p = line; p && k < 7; k++) {
      fl[k] = p;
      p = strchr(p, '\t');
      if (p)
        *p++ = '\0';
    }
    if (k < 7)
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 1024;
      eval_row *grown = realloc(*rows, cap * sizeof **rows);
      if (!grown) {
        ok = false;
        break;
      }
      *rows = grown;
    }
    for (int i = 0; i < 7; i++)
      eval_unescape(fl[i]);
    (*rows)[(*n)++] = (eval_row){.decoy = !strcmp(fl[0], "decoy"),
                                 .variant = strdup(fl[1]),
                                 .query = strdup(fl[2]),
                                 .country = strdup(fl[3]),
                                 .list = strdup(fl[4]),
                                 .id = strdup(fl[5])};
  }
  fclose(f);
  return ok && *n > 0;
}

#endif
