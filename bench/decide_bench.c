/*
 * decide_bench.c - in-process speed of the determination engine on one
 * core: determinations per second over a mix of transactions (every golden
 * case's request), and, in the same run as a baseline, the whole per-line
 * path of `check --batch` (decode JSON, decide, encode the decision).
 * Usage: decide_bench [SECONDS]
 */
#include "acegate/decide.h"
#include "acegate/json.h"
#include "acegate/rules.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  ag_rules *rules;
  ag_error err;
  if (ag_rules_load_default(&rules, &err)) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    return 1;
  }
  /* the transactions: every golden case's request */
  char *texts[512];
  size_t n = 0;
  DIR *dir = opendir("tests/cases");
  if (!dir) {
    fprintf(stderr, "run from the repository root\n");
    return 1;
  }
  struct dirent *e;
  while ((e = readdir(dir)) && n < 512) {
    if (!strstr(e->d_name, ".json"))
      continue;
    char path[512];
    snprintf(path, sizeof path, "tests/cases/%s", e->d_name);
    json_error_t jerr;
    json_t *c = json_load_file(path, 0, &jerr);
    if (!c)
      continue;
    texts[n++] = json_dumps(json_object_get(c, "request"), JSON_COMPACT);
    json_decref(c);
  }
  closedir(dir);
  ag_arena arena;
  ag_arena_init(&arena, 1 << 16);
  ag_txn *txns = calloc(n, sizeof *txns);
  for (size_t i = 0; i < n; i++)
    if (ag_json_decode_txn(texts[i], strlen(texts[i]), &txns[i], &arena, &err)) {
      fprintf(stderr, "case %zu: %s\n", i, err.reason);
      return 1;
    }

  /* 1: the engine alone, tables pre-indexed, no allocation */
  ag_decision d;
  unsigned long count = 0, outcomes = 0;
  double t0 = now(), t1;
  do {
    for (size_t i = 0; i < n; i++) {
      ag_decide(rules, &txns[i], &d, &err);
      outcomes += (unsigned)d.outcome;
    }
    count += n;
    t1 = now();
  } while (t1 - t0 < seconds);
  double engine_rate = (double)count / (t1 - t0);

  /* 2: baseline in the same run: decode + decide + encode, as check --batch does per line */
  ag_buf out;
  ag_buf_init(&out);
  ag_json_encoder *enc = ag_json_encoder_new();
  ag_arena_reset(&arena);
  ag_txn t;
  unsigned long count2 = 0;
  size_t bytes = 0;
  t0 = now();
  do {
    for (size_t i = 0; i < n; i++) {
      ag_arena_reset(&arena);
      ag_buf_reset(&out);
      ag_json_decode_txn(texts[i], strlen(texts[i]), &t, &arena, &err);
      if (ag_decide(rules, &t, &d, &err) == AG_OK)
        ag_json_encoder_decision(enc, &d, &out);
      bytes += out.len;
    }
    count2 += n;
    t1 = now();
  } while (t1 - t0 < seconds);
  double line_rate = (double)count2 / (t1 - t0);

  /* 3: the two halves of the per-line path, to see where its time goes */
  unsigned long count3 = 0;
  t0 = now();
  do {
    for (size_t i = 0; i < n; i++) {
      ag_arena_reset(&arena);
      ag_json_decode_txn(texts[i], strlen(texts[i]), &t, &arena, &err);
    }
    count3 += n;
    t1 = now();
  } while (t1 - t0 < seconds / 2);
  double decode_rate = (double)count3 / (t1 - t0);
  unsigned long count4 = 0;
  t0 = now();
  do {
    for (size_t i = 0; i < n; i++) {
      ag_decide(rules, &txns[i], &d, &err);
      ag_buf_reset(&out);
      ag_json_encoder_decision(enc, &d, &out);
    }
    count4 += n;
    t1 = now();
  } while (t1 - t0 < seconds / 2);
  double encode_rate = (double)count4 / (t1 - t0);

  printf("decode:   %10.0f transactions/s (JSON -> ag_txn)\n", decode_rate);
  printf("encode:   %10.0f decisions/s (decide + decision JSON)\n", encode_rate);
  printf("engine:   %10.0f determinations/s on one core (%zu distinct transactions, %.0f ns each)\n",
         engine_rate, n, 1e9 / engine_rate);
  printf("per line: %10.0f decode+decide+encode/s (%.0f bytes of decision JSON each)\n",
         line_rate, (double)bytes / (double)count2);
  printf("ratio engine/per-line: %.1fx (target: engine >= 1,000,000/s)\n", engine_rate / line_rate);
  ag_json_encoder_free(enc);
  ag_buf_free(&out);
  ag_arena_free(&arena);
  for (size_t i = 0; i < n; i++)
    free(texts[i]);
  free(txns);
  ag_rules_free(rules);
  return outcomes == 0xFFFFFFFFul; /* keep the loop's result alive */
}
