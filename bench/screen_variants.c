/*
 * screen_variants.c - screening quality and speed on a variant set made by
 * tests/screen/make_variants.py (listed names written with typos,
 * romanisations, joined or split words, ... and unlisted decoys), against
 * the list files the set was made from.
 *
 * Usage: screen_variants SET.tsv LISTS_PATH [ITEMS_OUT]
 * Prints recall@1 and recall@5 at the "possible" and "confident" levels,
 * the decoys' rates at both levels, recall by kind of variant and by list,
 * and the latency of one query beside a brute-force scan of every name.
 * ITEMS_OUT gets one line per row (row, kind, rank of the listed entry in
 * the top 5 or 0, its score, the best score), queried with a reporting
 * threshold of 0.3, for bench/screen_compare.py's curves.
 */
#include "acegate/screen.h"

#include "eval_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char *variant, *query, *list, *id;
  bool decoy;
  int rank;     /* 1-based place of the listed entry among the answers, 0 if absent */
  double score; /* its score */
  double top;   /* the best score of the answer */
  int rank_low; /* the same with a reporting threshold of 0.3 */
  double score_low, top_low;
} row;

static row *rows;
static size_t nrows;

/* CPU time of this thread: the machine the figures are taken on is shared,
 * and wall-clock time then measures the neighbours as much as the query */
static double cpu_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The variant set (eval_set.h); a variant set's country column is unused. */
static bool read_set(const char *path) {
  eval_row *in;
  if (!eval_set_read(path, &in, &nrows))
    return false;
  rows = calloc(nrows, sizeof *rows);
  for (size_t i = 0; rows && i < nrows; i++)
    rows[i] = (row){.variant = in[i].variant,
                    .query = in[i].query,
                    .list = in[i].list,
                    .id = in[i].id,
                    .decoy = in[i].decoy};
  free(in);
  return rows != NULL;
}

/* Screens row i; fills rank, score and top (at min, 0 = the default). */
static void screen_row(const ag_screen *s, ag_screen_result *res, row *r, double min, int *rank,
                       double *score, double *top) {
  ag_error err;
  ag_screen_request rq = {
      .name = r->query, .len = strlen(r->query), .min_score = min, .max_matches = 5};
  *rank = 0;
  *score = *top = 0;
  if (ag_screen_query_ex(s, &rq, res, &err)) {
    fprintf(stderr, "screen_variants: '%s': %s: %s\n", r->query, err.field, err.reason);
    return;
  }
  *top = res->count ? res->matches[0].score : 0;
  for (size_t k = 0; k < res->count && !r->decoy; k++)
    if (!strcmp(res->matches[k].list_code, r->list) && !strcmp(res->matches[k].source_id, r->id)) {
      *rank = (int)k + 1;
      *score = res->matches[k].score;
      return;
    }
}

typedef struct {
  char name[32];
  size_t n, at1, at5, confident;
} tally;

static tally *tally_for(tally *t, size_t *nt, size_t max, const char *name) {
  for (size_t i = 0; i < *nt; i++)
    if (!strcmp(t[i].name, name))
      return &t[i];
  if (*nt == max)
    return NULL;
  memset(&t[*nt], 0, sizeof *t);
  snprintf(t[*nt].name, sizeof t[*nt].name, "%s", name);
  return &t[(*nt)++];
}

static void print_tallies(const char *title, tally *t, size_t nt) {
  printf("%s\n", title);
  for (size_t i = 0; i < nt; i++)
    printf("  %-16s %5zu  recall@1 %.3f  recall@5 %.3f  confident %.3f\n", t[i].name, t[i].n,
           (double)t[i].at1 / t[i].n, (double)t[i].at5 / t[i].n, (double)t[i].confident / t[i].n);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: screen_variants SET.tsv LISTS_PATH [ITEMS_OUT]\n");
    return 2;
  }
  if (!read_set(argv[1])) {
    fprintf(stderr, "screen_variants: cannot read %s\n", argv[1]);
    return 1;
  }
  ag_error err;
  ag_screen *s = NULL;
  const char *paths[] = {argv[2]};
  if (ag_screen_open_paths(paths, 1, &s, &err)) {
    fprintf(stderr, "screen_variants: %s: %s\n", argv[2], err.reason);
    return 1;
  }
  const ag_screen_index_info *ii = ag_screen_info(s);
  ag_screen_result res;
  ag_screen_result_init(&res);
  for (size_t i = 0; i < nrows; i++) {
    row *r = &rows[i];
    screen_row(s, &res, r, 0, &r->rank, &r->score, &r->top);
    screen_row(s, &res, r, 0.3, &r->rank_low, &r->score_low, &r->top_low);
  }

  /* quality at the levels the engine acts on */
  size_t hits = 0, decoys = 0, at1 = 0, at5 = 0, conf = 0, d_pos = 0, d_conf = 0;
  tally kinds[32], lists[32];
  size_t nk = 0, nl = 0;
  for (size_t i = 0; i < nrows; i++) {
    row *r = &rows[i];
    if (r->decoy) {
      decoys++;
      d_pos += r->top >= AG_SCREEN_POSSIBLE;
      d_conf += r->top >= AG_SCREEN_CONFIDENT;
      continue;
    }
    hits++;
    bool h5 = r->rank > 0, h1 = r->rank == 1, hc = h5 && r->score >= AG_SCREEN_CONFIDENT;
    at1 += h1;
    at5 += h5;
    conf += hc;
    tally *t[2] = {tally_for(kinds, &nk, 32, r->variant), tally_for(lists, &nl, 32, r->list)};
    for (int k = 0; k < 2; k++)
      if (t[k]) {
        t[k]->n++;
        t[k]->at1 += h1;
        t[k]->at5 += h5;
        t[k]->confident += hc;
      }
  }
  printf("== screening: %s against %s (%u entries, %u names)\n", argv[1], argv[2], ii->entries,
         ii->names);
  printf("%zu listed variants: recall@1 %.3f, recall@5 %.3f at 'possible' (>= %.2f), recall@5 "
         "%.3f at 'confident' (>= %.2f)\n",
         hits, (double)at1 / hits, (double)at5 / hits, AG_SCREEN_POSSIBLE, (double)conf / hits,
         AG_SCREEN_CONFIDENT);
  printf("%zu decoys: %.3f possible or confident, %.3f confident (targets: recall@5 >= 0.97, "
         "decoys <= 0.06 possible, <= 0.01 confident)\n",
         decoys, (double)d_pos / decoys, (double)d_conf / decoys);
  print_tallies("by kind of variant:", kinds, nk);
  print_tallies("by list:", lists, nl);

  /* latency: every query of the set, default threshold, after a warm-up */
  size_t nq = nrows * 3;
  double *lat = malloc(nq * sizeof *lat), *cpu = malloc(nq * sizeof *cpu), total = 0;
  if (!lat || !cpu)
    return 1;
  size_t n = 0;
  for (int rep = 0; rep < 3; rep++)
    for (size_t i = 0; i < nrows; i++) {
      double a = eval_now_us(), c = cpu_us();
      ag_screen_query(s, rows[i].query, strlen(rows[i].query), NULL, &res, &err);
      cpu[n] = cpu_us() - c;
      lat[n] = eval_now_us() - a;
      total += cpu[n++];
    }
  qsort(lat, n, sizeof *lat, eval_cmpd);
  qsort(cpu, n, sizeof *cpu, eval_cmpd);
  double bl[48];
  size_t nb = 0;
  for (size_t i = 0; i < nrows && nb < 48; i += nrows / 48 + 1) {
    ag_screen_request rq = {
        .name = rows[i].query, .len = strlen(rows[i].query), .mode = AG_SCREEN_MODE_BRUTE_JW};
    double c = cpu_us();
    ag_screen_query_ex(s, &rq, &res, &err);
    bl[nb++] = cpu_us() - c;
  }
  qsort(bl, nb, sizeof *bl, eval_cmpd);
  printf("\none query, single thread (%zu queries), CPU time: p50 %.1f us  p90 %.1f us  p99 %.1f us"
         "  mean %.1f us  (%.0f queries/s; target p50 <= 50 us)\n",
         n, cpu[n / 2], cpu[n * 9 / 10], cpu[n * 99 / 100], total / (double)n,
         1e6 * (double)n / total);
  printf("  wall clock (with the machine's other load): p50 %.1f us  p90 %.1f us  p99 %.1f us\n",
         lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100]);
  printf("brute-force scan of every name (Jaro-Winkler, %zu queries), CPU time: p50 %.0f us; "
         "ratio %.0fx at the median (target >= 20x)\n",
         nb, bl[nb / 2], bl[nb / 2] / cpu[n / 2]);

  if (argc > 3) {
    FILE *f = fopen(argv[3], "w");
    if (!f) {
      fprintf(stderr, "screen_variants: cannot write %s\n", argv[3]);
      return 1;
    }
    fprintf(f, "# row\tkind\tvariant\trank\tscore\ttop\tqueries_per_s\n");
    for (size_t i = 0; i < nrows; i++)
      fprintf(f, "%zu\t%s\t%s\t%d\t%.4f\t%.4f\t%.0f\n", i, rows[i].decoy ? "decoy" : "hit",
              rows[i].variant, rows[i].rank_low, rows[i].score_low, rows[i].top_low,
              1e6 * (double)n / total);
    fclose(f);
  }
  ag_screen_result_free(&res);
  ag_screen_close(s);
  free(lat);
  free(cpu);
  for (size_t i = 0; i < nrows; i++) {
    free(rows[i].variant);
    free(rows[i].query);
    free(rows[i].list);
    free(rows[i].id);
  }
  free(rows);
  return 0;
}
