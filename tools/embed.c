/*
 * embed.c - build tool: writes a C file that holds each named file's bytes,
 * so the regulation tables ship inside the acegate binary.
 * Usage: embed SYMBOL FILE... > out.c
 * Emits: const ag_embedded_file SYMBOL[]; const size_t SYMBOL_count;
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: embed SYMBOL FILE...\n");
    return 2;
  }
  const char *sym = argv[1];
  printf("#include <stddef.h>\n#include \"acegate/common.h\"\n");
  for (int i = 2; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      perror(argv[i]);
      return 1;
    }
    printf("static const char %s_%d[] = {", sym, i - 2);
    int c;
    size_t n = 0;
    while ((c = fgetc(f)) != EOF)
      printf("%s%d,", (n++ % 24) ? "" : "\n", c);
    printf("0};\n");
    fclose(f);
  }
  printf("const ag_embedded_file %s[] = {\n", sym);
  for (int i = 2; i < argc; i++) {
    const char *base = strrchr(argv[i], '/');
    base = base ? base + 1 : argv[i];
    printf("  {\"%s\", %s_%d, sizeof %s_%d - 1},\n", base, sym, i - 2, sym, i - 2);
  }
  printf("};\nconst size_t %s_count = %d;\n", sym, argc - 2);
  return 0;
}
