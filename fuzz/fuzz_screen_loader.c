/*
 * fuzz_screen_loader.c - libFuzzer target: the list loaders. The first byte
 * picks the file name the bytes arrive under (which tells an OFAC primary
 * file's list apart); the format itself is recognised from the content, so
 * every loader is reached: CSL CSV and JSON, OFAC legacy CSV, BIS DPL.
 * Whatever loads is indexed, the index re-validated and queried. A file
 * must load or be rejected with a reason, never crash or leak.
 */
#include "../src/screen/screen_int.h"
#include "acegate/screen.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"consolidated.csv", "sdn.csv",           "cons_prim.csv",
                                      "dpl.txt",          "consolidated.json", "alt.csv"};
  if (size < 1)
    return 0;
  const char *name = names[data[0] % (sizeof names / sizeof *names)];
  sx_set set;
  sx_set_init(&set);
  ag_error err;
  ag_error_clear(&err);
  ag_status st = sx_load_buffer(&set, name, (const char *)data + 1, size - 1, &err);
  if (st != AG_OK) {
    if (!err.reason[0])
      abort(); /* a rejection always says why */
    sx_set_free(&set);
    return 0;
  }
  if (set.nentries) {
    ag_buf img;
    ag_buf_init(&img);
    if (sx_build_image(&set, &img, &err) == AG_OK) {
      ag_screen *s = NULL;
      if (ag_screen_open_index_mem(img.data, img.len, &s, &err) != AG_OK)
        abort(); /* what the builder writes, the reader accepts */
      ag_screen_result r;
      ag_screen_result_init(&r);
      /* screen the first listed name against what was loaded */
      const char *q = set.entries[0].f[SX_F_NAME];
      (void)ag_screen_query(s, q, strlen(q), NULL, &r, &err);
      ag_screen_result_free(&r);
      ag_screen_close(s);
    }
    ag_buf_free(&img);
  }
  sx_set_free(&set);
  return 0;
}
