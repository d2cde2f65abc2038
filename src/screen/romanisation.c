/*
 * romanisation.c - the spellings of one name in different romanisations
 * (data/screening/romanisation.tsv: Korean Kim/Gim, Arabic
 * Mohammed/Muhammad, Chinese Wade-Giles/pinyin Hsu/Xu, Russian BGN,
 * passport and ISO endings -iy/-y/-ii, ...), each row with its source.
 *
 * The file is compiled in (.incbin, as builtin.c does with the index) so
 * that the lists' words and a query's are mapped by the same rows, and read
 * once, on first use, into a sorted table (pthread_once: the table is never
 * written after that). A malformed row is an internal error naming the line;
 * the unit tests read the file so that one never ships.
 */
#include "screen_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AG_SCREEN_ROMANISATION
#define AG_SCREEN_ROMANISATION "data/screening/romanisation.tsv"
#endif

__asm__(".section .rodata\n"
        ".globl ag_screen_roman_start\n"
        ".hidden ag_screen_roman_start\n"
        "ag_screen_roman_start:\n"
        ".incbin \"" AG_SCREEN_ROMANISATION "\"\n"
        ".globl ag_screen_roman_end\n"
        ".hidden ag_screen_roman_end\n"
        "ag_screen_roman_end:\n"
        ".previous\n");

extern const char ag_screen_roman_start[] __attribute__((visibility("hidden")));
extern const char ag_screen_roman_end[] __attribute__((visibility("hidden")));

#define ROMAN_MAX 1024
#define ROMAN_WORD 24 /* sx_canon's room for a canonical form */

typedef struct {
  char from[ROMAN_WORD], to[ROMAN_WORD];
  uint32_t from_letters, to_letters; /* the letters each has, one bit each */
  uint8_t from_len, to_len;
} roman_row;

static uint32_t letters(const char *w, size_t n) {
  uint32_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (w[i] >= 'a' && w[i] <= 'z')
      m |= 1u << (w[i] - 'a');
  return m;
}

/* open addressing over the words by sx_hash of `from`: 1 + the row, or 0
 * for an empty slot; never more than half full */
#define ROMAN_SLOTS (2 * ROMAN_MAX)

static struct {
  roman_row words[ROMAN_MAX], endings[32];
  size_t nwords, nendings;
  uint16_t slot[ROMAN_SLOTS];
  char error[160];
} table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int cmp_row(const void *a, const void *b) {
  return strcmp(((const roman_row *)a)->from, ((const roman_row *)b)->from);
}

/* Copies field [p, e) if it is lower-case ASCII letters (after an optional
 * leading '-' when dash), 1..ROMAN_WORD-1 long. */
static bool word_field(const char *p, const char *e, bool dash, char *out) {
  size_t n = (size_t)(e - p);
  if (n == 0 || n >= ROMAN_WORD)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (dash && i == 0 && p[i] == '-')))
      return false;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

static void load_table(void) {
  /* start and end are two labels around one .incbin block: the analyzer
   * sees two objects, the assembler lays out one */
  const char *p = ag_screen_roman_start;
  const char *end = ag_screen_roman_end;
  // cppcheck-suppress comparePointers
  size_t size = (size_t)(end - p);
  end = p + size;
  size_t line = 0;
  bool header = false;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    line++;
    if (le > p && *p != '#') {
      const char *f[5];
      const char *fe[5];
      size_t nf = 0;
      for (const char *q = p; nf < 5;) {
        const char *t = memchr(q, '\t', (size_t)(le - q));
        f[nf] = q;
        fe[nf++] = t ? t : le;
        if (!t)
          break;
        q = t + 1;
      }
      const char *why = NULL;
      roman_row r = {0};
      if (nf != 5)
        why = "expected 5 tab-separated fields";
      else if (!header) {
        header = true; /* spelling, canonical, language, variants, source */
        if (fe[0] - f[0] != 8 || memcmp(f[0], "spelling", 8))
          why = "the header must start with 'spelling'";
      } else if (fe[4] == f[4] || fe[2] == f[2])
        why = "a row needs its language and source";
      else if (!word_field(f[0], fe[0], true, r.from) || !word_field(f[1], fe[1], true, r.to))
        why = "spelling and canonical form must be lower-case letters (at most 23)";
      else if ((r.from[0] == '-') != (r.to[0] == '-'))
        why = "an ending maps to an ending";
      else if (r.from[0] == '-') {
        if (table.nendings == sizeof table.endings / sizeof *table.endings)
          why = "too many endings";
        else
          table.endings[table.nendings++] = r;
      } else if (table.nwords == ROMAN_MAX)
        why = "too many rows";
      else
        table.words[table.nwords++] = r;
      if (why) {
        snprintf(table.error, sizeof table.error, "romanisation table line %zu: %s", line, why);
        table.nwords = table.nendings = 0;
        return;
      }
    }
    p = le + 1;
  }
  qsort(table.words, table.nwords, sizeof *table.words, cmp_row);
  for (size_t i = 0; i < table.nwords; i++) {
    roman_row *r = &table.words[i];
    r->from_len = (uint8_t)strlen(r->from);
    r->to_len = (uint8_t)strlen(r->to);
    r->from_letters = letters(r->from, r->from_len);
    r->to_letters = letters(r->to, r->to_len);
  }
  for (size_t i = 0; i < table.nendings; i++) {
    table.endings[i].from_len = (uint8_t)strlen(table.endings[i].from);
    table.endings[i].to_len = (uint8_t)strlen(table.endings[i].to);
  }
  for (size_t i = 1; i < table.nwords; i++)
    if (!strcmp(table.words[i].from, table.words[i - 1].from)) {
      snprintf(table.error, sizeof table.error, "romanisation table: '%s' is listed twice",
               table.words[i].from);
      table.nwords = table.nendings = 0;
      return;
    }
  for (size_t i = 0; i < table.nwords; i++) {
    uint32_t k = sx_hash(table.words[i].from, table.words[i].from_len) % ROMAN_SLOTS;
    while (table.slot[k])
      k = (k + 1) % ROMAN_SLOTS;
    table.slot[k] = (uint16_t)(i + 1);
  }
}

const char *sx_romanisation_error(void) {
  pthread_once(&table_once, load_table);
  return table.error[0] ? table.error : NULL;
}

size_t sx_romanisation_count(void) {
  pthread_once(&table_once, load_table);
  return table.nwords + table.nendings;
}

const char *sx_romanisation_word(const char *w) {
  pthread_once(&table_once, load_table);
  size_t n = strlen(w);
  if (n >= ROMAN_WORD)
    return NULL;
  for (uint32_t k = sx_hash(w, n) % ROMAN_SLOTS; table.slot[k]; k = (k + 1) % ROMAN_SLOTS) {
    const roman_row *r = &table.words[table.slot[k] - 1];
    if (r->from_len == n && !memcmp(r->from, w, n))
      return r->to;
  }
  return NULL;
}

size_t sx_romanisation_ending(char *w, size_t len) {
  pthread_once(&table_once, load_table);
  if (len < 5)
    return len;
  for (size_t i = 0; i < table.nendings; i++) {
    const char *f = table.endings[i].from + 1, *t = table.endings[i].to + 1;
    size_t fl = table.endings[i].from_len - 1u, tl = table.endings[i].to_len - 1u;
    /* the last letter first: most endings are ruled out by it */
    if (fl < len && (!fl || w[len - 1] == f[fl - 1]) && !memcmp(w + len - fl, f, fl) && tl <= fl) {
      memcpy(w + len - fl, t, tl);
      len = len - fl + tl;
      w[len] = '\0';
      return len;
    }
  }
  return len;
}

const char *sx_romanisation_typo(const char *w, size_t len, const char **spelling, int *dist) {
  pthread_once(&table_once, load_table);
  const char *best = NULL;
  int bd = 3;
  if (len < 4)
    return NULL;
  uint32_t wl = letters(w, len);
  /* the lengths a spelling within reach has: four letters or more, and no
   * more edits away than the longer word allows (bit fl) */
  uint32_t len_ok = 0;
  for (size_t fl = 4; fl < ROMAN_WORD; fl++) {
    int maxd = (fl > len ? fl : len) >= SX_TWO_EDITS_LEN ? 2 : 1;
    if ((fl > len ? fl - len : len - fl) <= (size_t)maxd)
      len_ok |= 1u << fl;
  }
  for (size_t i = 0; i < table.nwords; i++)
    for (int side = 0; side < 2; side++) {
      const char *f = side ? table.words[i].to : table.words[i].from;
      uint32_t fm = side ? table.words[i].to_letters : table.words[i].from_letters;
      size_t fl = side ? table.words[i].to_len : table.words[i].from_len;
      if (!(len_ok >> fl & 1))
        continue;
      int maxd = (fl > len ? fl : len) >= SX_TWO_EDITS_LEN ? 2 : 1;
      /* an edit adds or removes at most two letters from the set */
      if (sx_popcount(fm ^ wl) > 2 * maxd)
        continue;
      int d = sx_osa_distance(w, len, f, fl, maxd);
      if (d >= 1 && d <= maxd && d < bd) {
        bd = d;
        best = table.words[i].to;
        *spelling = f;
      }
    }
  if (best)
    *dist = bd;
  return best;
}
