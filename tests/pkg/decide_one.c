/*
 * decide_one.c - a program outside the source tree built against the
 * installed libacegate (its headers and acegate.pc): reads one JSON
 * transaction (contract v1) from stdin, decides it on the built-in tables
 * and prints the decision as JSON. tests/pkg/test_install.sh compares it
 * with the golden cases' expectations.
 */
#include <acegate/decide.h>
#include <acegate/json.h>
#include <acegate/rules.h>

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  static char in[AG_JSON_MAX_REQUEST];
  size_t len = fread(in, 1, sizeof in, stdin);
  ag_error err;
  ag_error_clear(&err);
  ag_rules *rules = NULL;
  if (ag_rules_load_default(&rules, &err) != AG_OK) {
    fprintf(stderr, "rules: %s: %s\n", err.field, err.reason);
    return 3;
  }
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_txn txn;
  ag_decision d;
  int rc = 0;
  if (ag_json_decode_txn(in, len, &txn, &arena, &err) != AG_OK ||
      ag_decide(rules, &txn, &d, &err) != AG_OK) {
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
  ag_rules_free(rules);
  return rc;
}
