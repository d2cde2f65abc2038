/*
 * fuzz_classify.c - libFuzzer target: the classification questionnaire and
 * the due-diligence table. The first byte modulo 3 picks: 0, the rest is
 * an answers document, read against the built-in questionnaire, then
 * evaluated and encoded; 1, the rest replaces classification.tsv, which
 * must load or be rejected naming file and line (a loaded table is
 * evaluated with no answers); 2, the rest replaces due-diligence.tsv.
 * Never a crash or a leak.
 */
#include "acegate/classify.h"
#include "acegate/diligence.h"

#include <stdlib.h>
#include <string.h>

static void evaluate(const ag_classify *q, const ag_classify_answer *answers) {
  ag_classify_result res;
  ag_error err;
  if (ag_classify_evaluate(q, answers, 20000, &res, &err) != AG_OK)
    abort();
  ag_buf b;
  ag_buf_init(&b);
  ag_classify_result_json(q, &res, &b);
  ag_buf_free(&b);
  ag_classify_result_free(&res);
  (void)ag_classify_next_question(q, answers, 20000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ag_rules *rules;
  static ag_classify *builtin;
  ag_error err;
  if (!rules && (ag_rules_load_default(&rules, &err) ||
                 ag_classify_load_default(rules, &builtin, &err)))
    abort();
  if (size < 1)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  if (data[0] % 3 == 2) {
    ag_diligence *d = NULL;
    ag_status st = ag_diligence_load_buffer("due-diligence.tsv", text, len, &d, &err);
    if (st == AG_OK)
      ag_diligence_free(d);
    else if (d || !err.field[0])
      abort();
  } else if (data[0] % 3 == 0) {
    ag_classify_answer *answers = calloc(ag_classify_count(builtin), sizeof *answers);
    if (!answers)
      return 0;
    ag_status st = ag_classify_answers_from_json(builtin, 20000, text, len, answers, &err);
    if (st == AG_OK)
      evaluate(builtin, answers);
    else if (!err.field[0])
      abort();
    free(answers);
  } else {
    ag_classify *q = NULL;
    ag_status st = ag_classify_load_buffer(rules, "classification.tsv", text, len, &q, &err);
    if (st == AG_OK) {
      ag_classify_answer *answers = calloc(ag_classify_count(q), sizeof *answers);
      if (answers)
        evaluate(q, answers);
      free(answers);
      ag_classify_free(q);
    } else if (q || !err.field[0]) {
      abort();
    }
  }
  return 0;
}
