/*
 * fuzz_screening_decode.c - libFuzzer target: any bytes as a screening
 * request and as a check with a caller reference, through the pipeline
 * the command line and the service share. Each is accepted and answered
 * with valid JSON, or rejected with a field and reason; no crash, leak or
 * undefined behaviour. Differential oracle: whatever the strict reader
 * accepts, jansson must parse too.
 */
#include "acegate/pipeline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *rules;
static ag_screen *lists;
static char lists_version[AG_PIPELINE_LISTS_VERSION_MAX];

static void valid_json(const char *p, size_t n) {
  json_error_t jerr;
  json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
  if (!j)
    abort();
  json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!rules) {
    ag_error err;
    /* the fuzz build has no index built in: a small list file then (the
     * full snapshot takes longer to index than a fuzz run's timeout) */
    const char *dir = "tests/screen/fixtures/csl-sample.csv";
    if (ag_rules_load_default(&rules, &err) ||
        (ag_screen_open_builtin(&lists, &err) && ag_screen_open_paths(&dir, 1, &lists, &err)))
      abort();
    ag_pipeline_lists_version(lists, lists_version, sizeof lists_version);
  }
  ag_pipeline_data d = {.rules = rules, .lists = lists, .lists_version = lists_version};
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  if (!w)
    abort();
  ag_buf out;
  ag_buf_init(&out);
  ag_pipeline_result res;
  const char *text = (const char *)data;
  for (int kind = 0; kind < 2; kind++) {
    ag_buf_reset(&out);
    ag_status st = kind ? ag_pipeline_check(&d, w, text, size, &out, &res)
                        : ag_pipeline_screening(&d, w, text, size, &out, &res);
    if (st == AG_OK) {
      valid_json(text, size);        /* accepted text is JSON */
      valid_json(out.data, out.len); /* and so is the answer */
    } else {
      if (st != AG_ERR_INPUT && st != AG_ERR_LIMIT)
        abort();
      ag_buf_reset(&out);
      ag_json_encode_batch_error(1, &res.err, &out);
      valid_json(out.data, out.len);
    }
  }
  ag_buf_free(&out);
  ag_pipeline_worker_free(w);
  return 0;
}
