/*
 * audit_bench.c - audit log append throughput: group commit from many
 * threads, each blocked until its record is durable, against a file with
 * every commit fsynced (the production setting), relaxed (no fsync), and an
 * in-memory database. Records are a real check: the request of
 * bench/server.sh and the decision the engine gives for it (3.5 KB, most of
 * it the cited trace, stored compressed).
 *
 * Usage: audit_bench [SECONDS [DIR]]   (defaults: 2 seconds, current dir)
 * The database files are created in DIR, which should be on the disk the
 * service will use, and removed afterwards.
 */
#include "acegate/audit.h"
#include "acegate/decide.h"
#include "acegate/json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\","
                              "\"end_user\":{\"type\":\"non_government\"},\"as_of\":\"2026-11-24\"}";
static const char *decision;

/* The engine's decision for the request, as the service sends it. */
static char *decide_request(void) {
  ag_rules *rules;
  ag_error err;
  if (ag_rules_load_default(&rules, &err) != AG_OK)
    return NULL;
  ag_arena arena;
  ag_arena_init(&arena, 0);
  ag_txn txn;
  ag_decision d;
  ag_buf out;
  ag_buf_init(&out);
  if (ag_json_decode_txn(request, strlen(request), &txn, &arena, &err) == AG_OK &&
      ag_decide(rules, &txn, &d, &err) == AG_OK)
    ag_json_encode_decision(&d, &out);
  ag_arena_free(&arena);
  ag_rules_free(rules);
  return out.len && !out.failed ? out.data : NULL;
}

typedef struct {
  ag_audit_db *db;
  atomic_bool *stop;
  long done;
  int batch; /* 0: ag_audit_append; else ag_audit_append_batch of this size */
} worker;

static void *work(void *arg) {
  worker *w = arg;
  ag_audit_record r = {.kind = AG_AUDIT_CHECK,
                       .request = request,
                       .request_len = strlen(request),
                       .decision = decision,
                       .decision_len = strlen(decision),
                       .rules_version = "rules-2025-01-15",
                       .lists_version = "csl-2025-02-28",
                       .key_id = "3f9a1c2b7d4e",
                       .client_addr = "203.0.113.9",
                       .as_of = "2025-03-01",
                       .destination = "DE",
                       .eccn = "5A001.j",
                       .outcome = "authorized"};
  ag_audit_record recs[256];
  char ids[256][AG_AUDIT_ID_MAX];
  for (int i = 0; i < 256; i++)
    recs[i] = r;
  while (!atomic_load(w->stop)) {
    ag_error e;
    ag_status st = w->batch ? ag_audit_append_batch(w->db, recs, (size_t)w->batch, ids, &e)
                            : ag_audit_append(w->db, &r, ids[0], &e);
    if (st != AG_OK) {
      fprintf(stderr, "append: %s: %s\n", e.field, e.reason);
      exit(1);
    }
    w->done += w->batch ? w->batch : 1;
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(const char *label, const char *path, unsigned flags, int threads, int batch,
                double seconds) {
  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.flags = flags};
  if (ag_audit_open(path, &o, &db, &e) != AG_OK) {
    fprintf(stderr, "%s: %s\n", e.field, e.reason);
    exit(1);
  }
  atomic_bool stop = false;
  pthread_t *t = calloc((size_t)threads, sizeof *t);
  worker *w = calloc((size_t)threads, sizeof *w);
  double t0 = now();
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.db = db, .stop = &stop, .batch = batch};
    pthread_create(&t[i], NULL, work, &w[i]);
  }
  usleep((useconds_t)(seconds * 1e6));
  atomic_store(&stop, true);
  long total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += w[i].done;
  }
  double dt = now() - t0;
  ag_audit_stats s;
  ag_audit_get_stats(db, &s);
  ag_audit_verify_report r;
  double v0 = now();
  if (ag_audit_verify(db, NULL, &r, &e) != AG_OK || r.problem != AG_AUDIT_INTACT) {
    fprintf(stderr, "verify failed\n");
    exit(1);
  }
  double vt = now() - v0;
  printf("%-22s threads=%-4d %s %8ld records %6.2fs %9.0f records/s  %6.1f records/commit"
         "  %6.1f records/fsync  verify %.0f records/s\n",
         label, threads, batch ? "batch" : "     ", total, dt, total / dt,
         s.commits ? (double)s.records / (double)s.commits : 0.0,
         s.syncs ? (double)s.records / (double)s.syncs : 0.0, r.records / (vt > 0 ? vt : 1e-9));
  fflush(stdout);
  ag_audit_close(db);
  free(t);
  free(w);
}

static void cleanup(const char *path) {
  const char *sfx[] = {"", "-wal", "-shm", AG_AUDIT_HEAD_SUFFIX};
  for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s%s", path, sfx[i]);
    unlink(p);
  }
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  const char *dir = argc > 2 ? argv[2] : ".";
  if (seconds <= 0)
    seconds = 2.0;
  char *owned = decide_request();
  if (!owned) {
    fprintf(stderr, "audit_bench: the engine gave no decision for the benchmark request\n");
    return 1;
  }
  decision = owned;
  char path[4096];
  snprintf(path, sizeof path, "%s/audit_bench_%d.db", dir, (int)getpid());
  printf("audit append throughput, %.1fs per run, request %zu B, decision %zu B, db in %s\n",
         seconds, strlen(request), strlen(decision), dir);
  static const int fthreads[] = {1, 16, 64, 256};
  for (size_t i = 0; i < sizeof fthreads / sizeof fthreads[0]; i++) {
    cleanup(path);
    run("file, durable", path, 0, fthreads[i], 0, seconds);
  }
  cleanup(path);
  run("file, durable", path, 0, 4, 256, seconds);
  cleanup(path);
  run("file, relaxed", path, AG_AUDIT_OPEN_RELAXED, 64, 0, seconds);
  cleanup(path);
  run(":memory:", ":memory:", 0, 1, 0, seconds);
  run(":memory:", ":memory:", 0, 64, 0, seconds);
  free(owned);
  return 0;
}
