/*
 * test_cases.c - runs every golden case in the JSON files of tests/cases against the
 * built-in tables: decodes "request" with the JSON codec, decides, and
 * compares the outcome and every field of "expect", and checks that
 * "decided_by" is cited in the trace. One cmocka test per case file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/decide.h"
#include "acegate/json.h"
#include "acegate/rules.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_DIR "tests/cases"

static ag_rules *rules;
static ag_json_encoder *encoder; /* shared by every case, as in a batch */

static void print_decision(const ag_decision *d) {
  ag_buf b;
  ag_buf_init(&b);
  ag_json_encode_decision(d, &b);
  print_message("decision: %.*s\n", (int)b.len, b.data ? b.data : "");
  ag_buf_free(&b);
}

static bool cited(const ag_decision *d, const char *cite) {
  for (int i = 0; i < d->n_steps; i++)
    if (d->steps[i].cite && strcmp(d->steps[i].cite, cite) == 0)
      return true;
  return false;
}

static void check_bool(json_t *expect, const char *key, bool got, bool *ok) {
  json_t *v = json_object_get(expect, key);
  if (v && json_is_boolean(v) && json_is_true(v) != got) {
    print_message("%s: expected %s, got %s\n", key, json_is_true(v) ? "true" : "false",
                  got ? "true" : "false");
    *ok = false;
  }
}

static void run_case(void **state) {
  const char *path = *state;
  json_error_t jerr;
  json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!c)
    fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
  json_t *req = json_object_get(c, "request"), *expect = json_object_get(c, "expect");
  const char *decided_by = json_string_value(json_object_get(c, "decided_by"));
  const char *outcome = json_string_value(json_object_get(expect, "outcome"));
  assert_non_null(req);
  assert_non_null(outcome);
  assert_non_null(decided_by);
  char *text = json_dumps(req, JSON_COMPACT);
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_txn txn;
  ag_decision d;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_json_decode_txn(text, strlen(text), &txn, &arena, &err);
  if (!st)
    st = ag_decide(rules, &txn, &d, &err);
  bool ok = true;
  if (st) {
    print_message("%s: error %s: %s: %s\n", path, ag_status_name(st), err.field, err.reason);
    ok = false;
  } else {
    if (strcmp(outcome, ag_outcome_name(d.outcome)) != 0) {
      print_message("outcome: expected %s, got %s\n", outcome, ag_outcome_name(d.outcome));
      ok = false;
    }
    /* null: the chart is not read for this item on this date */
    json_t *chart = json_object_get(expect, "license_required_by_chart");
    if (chart && json_is_null(chart) && d.chart_read) {
      print_message("license_required_by_chart: expected null, got %s\n",
                    d.license_required_by_chart ? "true" : "false");
      ok = false;
    } else if (chart && json_is_boolean(chart) && !d.chart_read) {
      print_message("license_required_by_chart: expected %s, got null\n",
                    json_is_true(chart) ? "true" : "false");
      ok = false;
    } else
      check_bool(expect, "license_required_by_chart", d.license_required_by_chart, &ok);
    check_bool(expect, "ace_reconstructed", d.ace_reconstructed, &ok);
    check_bool(expect, "ace_available", d.ace_available, &ok);
    check_bool(expect, "cyber_rule_in_force", d.cyber_rule_in_force, &ok);
    json_t *blocked = json_object_get(expect, "ace_blocked_by");
    if (blocked) {
      size_t n = json_array_size(blocked);
      bool same = n == (size_t)d.n_blocked;
      for (size_t i = 0; i < n && same; i++) {
        bool found = false;
        for (int k = 0; k < d.n_blocked; k++)
          found |= strcmp(json_string_value(json_array_get(blocked, i)), d.blocked_by[k]) == 0;
        same = found;
      }
      if (!same) {
        char *want = json_dumps(blocked, JSON_COMPACT);
        print_message("ace_blocked_by: expected %s, got", want);
        for (int k = 0; k < d.n_blocked; k++)
          print_message(" %s", d.blocked_by[k]);
        print_message("\n");
        free(want);
        ok = false;
      }
    }
    /* the caching encoder writes exactly what the plain one writes */
    ag_buf plain, cached;
    ag_buf_init(&plain);
    ag_buf_init(&cached);
    ag_json_encode_decision(&d, &plain);
    ag_json_encoder_decision(encoder, &d, &cached);
    if (plain.len != cached.len || memcmp(plain.data, cached.data, plain.len) != 0) {
      print_message("the caching encoder's output differs from the plain encoder's\n");
      ok = false;
    }
    ag_buf_free(&plain);
    ag_buf_free(&cached);
    if (!d.decided_by || strcmp(d.decided_by, decided_by) != 0) {
      print_message("decided_by: expected %s, got %s\n", decided_by,
                    d.decided_by ? d.decided_by : "-");
      ok = false;
    } else if (!cited(&d, decided_by)) {
      print_message("decided_by %s is not cited in the trace\n", decided_by);
      ok = false;
    }
    if (!ok) {
      print_message("%s: %s\n", path, json_string_value(json_object_get(c, "why")));
      print_decision(&d);
    }
  }
  free(text);
  ag_arena_free(&arena);
  json_decref(c);
  if (!ok)
    fail_msg("%s does not match the regulation's answer", path);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  ag_error err;
  if (ag_rules_load_default(&rules, &err) != AG_OK) {
    fprintf(stderr, "rules: %s: %s\n", err.field, err.reason);
    return 1;
  }
  encoder = ag_json_encoder_new();
  DIR *dir = opendir(CASE_DIR);
  if (!dir) {
    fprintf(stderr, "cannot open %s (run from the repository root)\n", CASE_DIR);
    return 1;
  }
  char **paths = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    paths = realloc(paths, (n + 1) * sizeof *paths);
    paths[n] = malloc(sizeof CASE_DIR + len + 1);
    sprintf(paths[n], "%s/%s", CASE_DIR, e->d_name);
    n++;
  }
  closedir(dir);
  qsort(paths, n, sizeof *paths, cmp_str);
  struct CMUnitTest *tests = calloc(n, sizeof *tests);
  for (size_t i = 0; i < n; i++) {
    tests[i].name = paths[i] + sizeof CASE_DIR;
    tests[i].test_func = run_case;
    tests[i].initial_state = paths[i];
  }
  int failed = _cmocka_run_group_tests("golden cases", tests, n, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  free(tests);
  ag_json_encoder_free(encoder);
  ag_rules_free(rules);
  return failed;
}
