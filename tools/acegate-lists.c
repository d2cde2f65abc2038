/*
 * acegate-lists.c - the build's index maker: indexes the bundled list
 * files (data/lists/) into the snapshot the library is built with
 * (src/screen/builtin.c). It is made of the screening module alone, so it
 * can run before the library exists.
 *
 *   acegate-lists build --out INDEX FILE...
 *
 * The same as `acegate lists build`; exit 0, 2 on usage, 3 on a bad list
 * file, 4 on a write error.
 */
#include "acegate/screen.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *out = NULL;
  const char *files[256];
  size_t n = 0;
  if (argc < 2 || strcmp(argv[1], "build") != 0) {
    fprintf(stderr, "usage: acegate-lists build --out INDEX FILE...\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc && !out)
      out = argv[++i];
    else if (argv[i][0] != '-' && n < sizeof files / sizeof files[0])
      files[n++] = argv[i];
    else {
      fprintf(stderr, "acegate-lists: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!out || !n) {
    fprintf(stderr, "acegate-lists build: needs --out INDEX and list files\n");
    return 2;
  }
  ag_error err;
  ag_error_clear(&err);
  if (ag_screen_build_index(files, n, out, &err) != AG_OK) {
    fprintf(stderr, "acegate-lists build: %s%s%s\n", err.field, err.field[0] ? ": " : "",
            err.reason);
    return err.status == AG_ERR_LIST || err.status == AG_ERR_INPUT ? 3 : 4;
  }
  return 0;
}
