/*
 * test_audit_durable.c - a process appending with several threads is killed
 * with SIGKILL at a random moment; after reopening, the log verifies and
 * every id that was acknowledged before the kill is there (15 CFR 762.2: a
 * decision whose answer was sent has its record).
 *
 * With arguments it is a small tool for tests/cli/test_audit*.sh:
 *   test_audit_durable fill DB N      append N known records, print their ids
 *   test_audit_durable loop DB T      append with T threads until killed,
 *                                     printing each id once it is durable
 *   test_audit_durable sql DB SQL     run SQL directly (to tamper)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Record i of `fill`: the shell tests rebuild its decision with printf. */
static void record(int i, char *req, char *dec, size_t cap, ag_audit_record *r) {
  static const char *const dest[] = {"CN", "DE", "IR"};
  snprintf(req, cap, "{\"eccn\":\"4D004\",\"to\":\"%s\",\"n\":%d}", dest[i % 3], i);
  snprintf(dec, cap, "{\"outcome\":\"%s\",\"n\":%d,\"note\":\"Gr\xc3\xbc\xc3\x9f \\\"q\\\"\"}\n",
           i % 2 ? "not_authorized" : "authorized", i);
  *r = (ag_audit_record){.kind = AG_AUDIT_CHECK,
                         .time_ms = INT64_C(1740787200000) +
                                    (int64_t)i * 3600000, /* hourly from 2025-03-01 */
                         .request = req,
                         .request_len = strlen(req),
                         .decision = dec,
                         .decision_len = strlen(dec),
                         .rules_version = "rules-test",
                         .lists_version = "lists-test",
                         .destination = dest[i % 3],
                         .eccn = "4D004",
                         .outcome = i % 2 ? "not_authorized" : "authorized"};
}

static int tool_fill(const char *path, int n) {
  ag_audit_db *db;
  ag_error e;
  if (ag_audit_open(path, NULL, &db, &e) != AG_OK) {
    fprintf(stderr, "%s: %s\n", e.field, e.reason);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    char req[256], dec[256], id[AG_AUDIT_ID_MAX];
    ag_audit_record r;
    record(i, req, dec, sizeof req, &r);
    if (ag_audit_append(db, &r, id, &e) != AG_OK) {
      fprintf(stderr, "%s: %s\n", e.field, e.reason);
      ag_audit_close(db);
      return 1;
    }
    printf("%s\n", id);
  }
  ag_audit_close(db);
  return 0;
}

static int tool_sql(const char *path, const char *sql) {
  sqlite3 *h;
  char *msg = NULL;
  if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "sql: %s\n", msg ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    sqlite3_close(h);
    return 1;
  }
  sqlite3_close(h);
  return 0;
}

typedef struct {
  ag_audit_db *db;
  int fd;
  int thread;
} looper;

/* Appends forever; each id is written to fd only after append returned,
 * i.e. once the record is durable. One write() per line, so lines from
 * different threads never interleave. */
static void *loop_thread(void *arg) {
  looper *l = arg;
  for (int i = 0;; i++) {
    char req[256], dec[256], line[AG_AUDIT_ID_MAX + 1];
    ag_audit_record r;
    record(l->thread * 1000000 + i, req, dec, sizeof req, &r);
    r.time_ms = 0;
    ag_error e;
    if (ag_audit_append(l->db, &r, line, &e) != AG_OK) {
      fprintf(stderr, "append: %s: %s\n", e.field, e.reason);
      _exit(3);
    }
    size_t n = strlen(line);
    line[n++] = '\n';
    if (write(l->fd, line, n) != (ssize_t)n)
      _exit(4);
  }
  return NULL;
}

static void run_loop(const char *path, int threads, int fd) {
  ag_audit_db *db;
  ag_error e;
  if (ag_audit_open(path, NULL, &db, &e) != AG_OK) {
    fprintf(stderr, "%s: %s\n", e.field, e.reason);
    _exit(2);
  }
  looper l[16];
  pthread_t t[16];
  if (threads < 1 || threads > 16)
    threads = 4;
  for (int i = 0; i < threads; i++) {
    l[i] = (looper){db, fd, i};
    pthread_create(&t[i], NULL, loop_thread, &l[i]);
  }
  for (;;)
    pause();
}

/* ---- the test ---- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_cycle(const char *path, int min_ids, int64_t *total) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    run_loop(path, 4, p[1]);
  }
  close(p[1]);
  /* read acknowledgements until enough arrived, then kill mid-stream */
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  int lines = 0;
  int64_t deadline = now_ms() + 20000;
  while (lines < min_ids && now_ms() < deadline) {
    ssize_t n = read(p[0], buf + len, cap - len - 1);
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      lines += buf[len + (size_t)i] == '\n';
    len += (size_t)n;
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  ssize_t n;
  while ((n = read(p[0], buf + len, cap - len - 1)) > 0)
    len += (size_t)n;
  close(p[0]);
  buf[len] = '\0';

  ag_audit_db *db;
  ag_error e;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  assert_int_equal(ag_audit_open(path, &o, &db, &e), AG_OK);
  ag_audit_verify_report r;
  assert_int_equal(ag_audit_verify(db, NULL, &r, &e), AG_OK);
  if (r.problem != AG_AUDIT_INTACT)
    fprintf(stderr, "verify: %s at %lld: %s\n", ag_audit_problem_name(r.problem),
            (long long)r.bad_seq, r.detail);
  assert_int_equal(r.problem, AG_AUDIT_INTACT);
  int acked = 0;
  for (char *s = buf, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
    *nl = '\0';
    ag_audit_entry *x;
    if (ag_audit_get(db, s, &x, &e) != AG_OK)
      fail_msg("acknowledged id %s is missing after SIGKILL", s);
    ag_audit_entry_free(x);
    acked++;
  }
  assert_true(acked >= min_ids);
  assert_true(r.records >= *total + acked);
  *total = r.records;
  ag_audit_close(db);
  free(buf);
}

static void test_sigkill_keeps_acknowledged(void **state) {
  (void)state;
  char dir[] = "/tmp/ag_durable_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/audit.db", dir);
  int64_t total = 0;
  /* kill at different depths; each run continues the same chain */
  kill_cycle(path, 50, &total);
  kill_cycle(path, 400, &total);
  kill_cycle(path, 1, &total);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "fill"))
    return tool_fill(argv[2], atoi(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "sql"))
    return tool_sql(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "loop")) {
    setvbuf(stdout, NULL, _IONBF, 0);
    run_loop(argv[2], atoi(argv[3]), STDOUT_FILENO);
  }
  if (argc > 1) {
    fprintf(stderr, "usage: %s [fill DB N | loop DB THREADS | sql DB SQL]\n", argv[0]);
    return 2;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigkill_keeps_acknowledged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
