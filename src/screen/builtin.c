/*
 * builtin.c - the bundled list snapshot, built into the library.
 *
 * At build time the Makefile indexes data/lists/ into an index image and
 * compiles this file with AG_SCREEN_BUILTIN_INDEX naming it; the assembler
 * includes the image's bytes verbatim (.incbin) in read-only data, so
 * screening works out of the box and starting costs one validation pass
 * over pages the kernel maps from the binary. Built without the define
 * (e.g. by tools that compile the library sources directly), there is no
 * built-in snapshot and ag_screen_open_builtin says so.
 */
#include "screen_int.h"

#ifdef AG_SCREEN_BUILTIN_INDEX
__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl ag_screen_builtin_start\n"
        ".hidden ag_screen_builtin_start\n"
        "ag_screen_builtin_start:\n"
        ".incbin \"" AG_SCREEN_BUILTIN_INDEX "\"\n"
        ".globl ag_screen_builtin_end\n"
        ".hidden ag_screen_builtin_end\n"
        "ag_screen_builtin_end:\n"
        ".previous\n");

extern const unsigned char ag_screen_builtin_start[] __attribute__((visibility("hidden")));
extern const unsigned char ag_screen_builtin_end[] __attribute__((visibility("hidden")));

const unsigned char *sx_builtin_image(size_t *len) {
  *len = (size_t)(ag_screen_builtin_end - ag_screen_builtin_start);
  return ag_screen_builtin_start;
}
#else
const unsigned char *sx_builtin_image(size_t *len) {
  *len = 0;
  return NULL;
}
#endif
