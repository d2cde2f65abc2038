/*
 * fuzz_screen_index.c - libFuzzer target: index images. The checksum is
 * recomputed over the fuzzer's bytes (and the size fixed up) so that the
 * structural validation behind it is what gets exercised: a corrupt or
 * hostile index must be refused, and one that is accepted must answer
 * queries without reading out of bounds.
 */
#include "../src/screen/screen_int.h"
#include "acegate/screen.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ag_screen *s = NULL;
  ag_error err;
  ag_error_clear(&err);
  if (size >= sizeof(sx_header)) {
    unsigned char *img = malloc(size);
    if (!img)
      return 0;
    memcpy(img, data, size);
    sx_header *h = (sx_header *)img;
    memcpy(h->magic, SX_MAGIC, 8);
    h->version = SX_VERSION;
    h->header_size = sizeof(sx_header);
    h->file_size = size;
    sx_sha256(img + sizeof(sx_header), size - sizeof(sx_header), h->sha256);
    if (ag_screen_open_index_mem(img, size, &s, &err) == AG_OK) {
      ag_screen_result r;
      ag_screen_result_init(&r);
      static const char *const q[] = {"Candiru", "banco nacional de cuba", "a b c d", "xyzzy"};
      for (int i = 0; i < 4; i++)
        ag_screen_query(s, q[i], strlen(q[i]), "CU", &r, &err);
      for (size_t i = 0; i < ag_screen_list_count(s); i++)
        (void)strlen(ag_screen_list(s, i)->name);
      ag_screen_result_free(&r);
      ag_screen_close(s);
    } else if (!err.reason[0]) {
      abort();
    }
    free(img);
  }
  /* and the bytes as they are */
  if (ag_screen_open_index_mem(data, size, &s, &err) == AG_OK)
    ag_screen_close(s);
  return 0;
}
