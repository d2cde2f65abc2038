/*
 * fuzz_rules_load.c - libFuzzer target: the regulation tables with one
 * table replaced by the fuzzer's bytes (the first byte picks which). The
 * loader must load or reject naming file and line, never crash or leak.
 */
#include "acegate/rules.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  ag_embedded_file files[32];
  size_t n = ag_rules_embedded_count;
  if (n > 32)
    abort();
  memcpy(files, ag_rules_embedded, n * sizeof *files);
  size_t which = data[0] % n;
  files[which].data = (const char *)data + 1;
  files[which].len = size - 1;
  ag_rules *r = NULL;
  ag_error err;
  ag_status st = ag_rules_load_files(files, n, &r, &err);
  if (st == AG_OK) {
    /* a loaded set must answer lookups for every destination */
    for (size_t i = 0; i < r->n_destinations; i++) {
      (void)ag_rules_groups_on(r, (int)i, 19000);
      (void)ag_rules_chart_on(r, (int)i, 19000);
      (void)ag_rules_embargo_on(r, (int)i, 19000);
    }
    ag_rules_free(r);
  } else if (r || !err.field[0]) {
    abort();
  }
  return 0;
}
