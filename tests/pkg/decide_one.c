/*
 * decide_one.c - a program outside the source tree built against the
 * installed libacegate (its headers and acegate.pc): reads one JSON
 * transaction (contract v1) from stdin, decides it on the built-in tables
 * (under the company policy of `--policy FILE` when given) and prints the
 * decision as JSON. tests/pkg/test_install.sh compares it with the golden
 * cases' expectations.
 */
#include <acegate/decide.h>
#include <acegate/diligence.h>
#include <acegate/json.h>
#include <acegate/rules.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 1 && (argc != 3 || strcmp(argv[1], "--policy") != 0)) {
    fprintf(stderr, "usage: decide_one [--policy FILE] < transaction.json\n");
    return 2;
  }
  static char in[AG_JSON_MAX_REQUEST];
  size_t len = fread(in, 1, sizeof in, stdin);
  ag_error err;
  ag_error_clear(&err);
  ag_rules *rules = NULL;
  if (ag_rules_load_default(&rules, &err) != AG_OK) {
    fprintf(stderr, "rules: %s: %s\n", err.field, err.reason);
    return 3;
  }
  ag_policy *policy = NULL;
  if (argc == 3 && ag_policy_load(rules->diligence, argv[2], &policy, &err) != AG_OK) {
    fprintf(stderr, "--policy %s: %s\n", err.field, err.reason);
    ag_rules_free(rules);
    return 4;
  }
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_txn txn;
  ag_decision d;
  int rc = 0;
  bool decoded = ag_json_decode_txn(in, len, &txn, &arena, &err) == AG_OK;
  if (decoded)
    txn.policy = policy;
  if (!decoded || ag_decide(rules, &txn, &d, &err) != AG_OK) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    rc = 2;
  } else {
    ag_buf out;
    ag_buf_init(&out);
    ag_json_encode_decision(&d, &out);
    fwrite(out.data, 1, out.len, stdout);
    putchar('\n');
    ag_buf_free(&out);
  }
  ag_arena_free(&arena);
  ag_policy_free(policy);
  ag_rules_free(rules);
  return rc;
}
