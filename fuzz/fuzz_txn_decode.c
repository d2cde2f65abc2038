/*
 * fuzz_txn_decode.c - libFuzzer target: any bytes as a transaction. The
 * decoder must accept or reject with a field and reason, and whatever it
 * accepts the engine must decide or reject, with no crash, leak or
 * undefined behaviour; a decision must encode to valid JSON. Differential
 * oracle: whatever the strict reader accepts, jansson must parse too.
 */
#include "acegate/decide.h"
#include "acegate/json.h"
#include "acegate/rules.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!rules) {
    ag_error err;
    if (ag_rules_load_default(&rules, &err))
      abort();
  }
  ag_arena arena;
  ag_arena_init(&arena, 1024);
  ag_txn t;
  ag_decision d;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_json_decode_txn((const char *)data, size, &t, &arena, &err);
  if (!st) {
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
      abort(); /* accepted text that is not JSON */
    json_decref(j);
  }
  if (!st)
    st = ag_decide(rules, &t, &d, &err);
  ag_buf b;
  ag_buf_init(&b);
  if (st) {
    if (st != AG_ERR_INPUT && st != AG_ERR_LIMIT)
      abort();
    ag_json_encode_error(&err, &b);
  } else {
    ag_json_encode_decision(&d, &b);
  }
  json_error_t jerr;
  json_t *j = json_loadb(b.data, b.len, 0, &jerr);
  if (!j)
    abort(); /* the output must always be valid JSON */
  json_decref(j);
  ag_buf_free(&b);
  ag_arena_free(&arena);
  return 0;
}
