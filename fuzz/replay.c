/*
 * replay.c - runs a fuzz target over its corpus without libFuzzer: each
 * file of fuzz/corpus/<target>/ is handed to LLVMFuzzerTestOneInput once.
 * `make test` builds every fuzz/fuzz_*.c with this main, in the normal and
 * the ASan+UBSan build, so the inputs that once found bugs (and the seeds)
 * are checked on every run, not only when someone runs `make fuzz`. A
 * target that crashes, leaks or aborts fails; the summary line is the one
 * tests/run.sh reads.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  DIR *d = opendir(argv[1]);
  if (!d) {
    perror(argv[1]);
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **more = realloc(names, cap * sizeof *names);
      if (!more)
        return 1;
      names = more;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name); /* the same order every run */
  size_t done = 0;
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
    FILE *f = fopen(path, "rb");
    if (!f) {
      perror(path);
      return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, bcap = 0, got;
    uint8_t chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
      if (len + got > bcap) {
        bcap = 2 * (len + got);
        uint8_t *more = realloc(buf, bcap);
        if (!more)
          return 1;
        buf = more;
      }
      memcpy(buf + len, chunk, got);
      len += got;
    }
    fclose(f);
    /* an exact-size copy, so reading one byte too far is caught */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact)
      return 1;
    if (len)
      memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "%s\n", names[i]);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    free(names[i]);
    done++;
  }
  free(names);
  printf("[  PASSED  ] %zu test(s).\n", done);
  return done > 0 ? 0 : 1;
}
