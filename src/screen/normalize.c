/*
 * normalize.c - turns a name as people type it, or as a list writes it,
 * into the words the matcher compares.
 *
 * Steps (docs/screening.md, "Normalisation"):
 *   1. Input checks for queries: valid UTF-8, no control characters.
 *   2. ASCII input (nearly every listed name) takes a fast path. Anything
 *      else goes through ICU: NFKC with case folding; then, only if a
 *      letter outside the Latin script remains, a transliterator
 *      ("Russian-Latin/BGN; Any-Latin; Latin-ASCII": BGN/PCGN is the
 *      romanisation OFAC and BIS use for Russian names); then diacritics
 *      are removed by canonical decomposition, and the few Latin letters
 *      without a decomposition (ø, ł, æ, đ, ...) get their usual ASCII form.
 *   3. Words are runs of letters and digits. Apostrophes join (NU'MAN ->
 *      numan); dots join initials written as an acronym (S.A. -> sa,
 *      J.S.C. -> jsc) and otherwise split; "&" is the word "and".
 *   4. Each word is lightly stemmed (-ies -> -y, a plural -s dropped) so
 *      "Technologies" meets "Technology", then mapped through a table of
 *      spelling variants: common given-name transliterations (Mohamed,
 *      Mohammad -> muhammad; Sergey -> sergei) and legal-form spellings
 *      (limited -> ltd, company -> co), and organisation words written
 *      out from their abbreviations (intl -> international, tech ->
 *      technology, sys -> system, mfg -> manufacturing). Legal forms,
 *      connectives and place names (Hangzhou, Zhejiang) are flagged so the
 *      matcher weighs them down instead of dropping them.
 */
#include "screen_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

/* ---- word tables ---- */

typedef struct {
  const char *from, *to;
} variant;

/* Legal-form spellings, sorted by `from` (lex_find). The spellings of
 * people's names are data: data/screening/romanisation.tsv
 * (romanisation.c). */
static const variant legal_spellings[] = {
    {"aksionernoe", "aktsionernoe"},
    {"aktsionernoye", "aktsionernoe"},
    {"cia", "co"},
    {"compagnie", "co"},
    {"companhia", "co"},
    {"compania", "co"},
    {"company", "co"},
    {"corporation", "corp"},
    {"incorporated", "inc"},
    {"limited", "ltd"},
    {"obschestvo", "obshchestvo"},
    {"obshestvo", "obshchestvo"},
    {"ogranichennoi", "ogranichennoy"},
    {"ogranichennoj", "ogranichennoy"},
    {"otkrytoye", "otkrytoe"},
    {"otvetstvennostju", "otvetstvennostyu"},
    {"publichnoye", "publichnoe"},
    {"zakrytoye", "zakrytoe"},
};

/* Abbreviations of organisation words, written out (after the variants;
 * sorted): "Intl" is "International", "Tech" is "Technology". Kept apart
 * so that the matcher can also find them one typo away (sx_abbrev). */
static const variant abbreviations[] = {
    {"assn", "association"},   {"assoc", "association"}, {"centre", "center"},
    {"ctr", "center"},         {"engg", "engineering"},  {"eqpt", "equipment"},
    {"grp", "group"},          {"hldg", "holding"},      {"internat", "international"},
    {"intl", "international"}, {"lab", "laboratory"},    {"labs", "laboratory"},
    {"mfg", "manufacturing"},  {"mgmt", "management"},   {"natl", "national"},
    {"svc", "service"},        {"svcs", "service"},      {"sys", "system"},
    {"tech", "technology"},    {"trdg", "trading"},      {"univ", "university"},
};

/* Legal-form words (after the variant mapping), and the organisational
 * words people add to a name ("Head Office", "Export Department"), sorted:
 * they say little about which party is meant. */
static const char *const legal_words[] = {
    "ab",
    "ad",
    "ag",
    "aktsionernoe",
    "anonima",
    "anonyme",
    "ao",
    "aps",
    "as",
    "asa",
    "bhd",
    "branch",
    "bv",
    "cjsc",
    "co",
    "corp",
    "cv",
    "dd",
    "department",
    "dept",
    "division",
    "doo",
    "eood",
    "est",
    "establishment",
    "fzc",
    "fzco",
    "fze",
    "fzllc",
    "gmbh",
    "gongsi",
    "head",
    "headquarter",
    "hq",
    "inc",
    "joint",
    "jsc",
    "kabushiki",
    "kaisha",
    "kft",
    "kg",
    "kgaa",
    "kk",
    "liability",
    "limitada",
    "llc",
    "llp",
    "lp",
    "ltd",
    "ltda",
    "mbh",
    "nv",
    "oao",
    "obshchestvo",
    "office",
    "ogranichennoy",
    "ohg",
    "ojsc",
    "ood",
    "ooo",
    "otkrytoe",
    "otvetstvennostyu",
    "oy",
    "oyj",
    "pao",
    "pjsc",
    "plc",
    "pllc",
    "pp",
    "private",
    "pt",
    "pte",
    "pty",
    "public",
    "publichnoe",
    "pvt",
    "rl",
    "sa",
    "sae",
    "sal",
    "sapi",
    "sarl",
    "sas",
    "sdn",
    "se",
    "sirketi",
    "sl",
    "sociedad",
    "societe",
    "sp",
    "spa",
    "srl",
    "sro",
    "sti",
    "stock",
    "subsidiary",
    "tbk",
    "tov",
    "wll",
    "youxian",
    "zakrytoe",
    "zao",
    "zoo",
    "zrt",
};

static const char *const stop_words[] = {
    "a",   "an",  "and", "at", "da",  "das", "de",  "del", "della", "der", "des", "di",
    "do",  "dos", "du",  "e",  "et",  "for", "in",  "jr",  "la",    "las", "le",  "les",
    "los", "of",  "on",  "sr", "the", "to",  "und", "van", "ve",    "von", "y",
};

/* Place names that prefix company names without telling companies apart
 * ("Hangzhou Hikvision Digital Technology", "Zhejiang Dahua Technology"):
 * the provinces and major cities of China (pinyin, as the lists write them)
 * and a few trading cities that appear the same way. Sorted. */
static const char *const place_words[] = {
    "anhui",     "anshan",       "baoding",   "baotou",    "beijing",  "changchun", "changsha",
    "changzhou", "chengdu",      "chongqing", "dalian",    "dongguan", "dubai",     "foshan",
    "fujian",    "fuzhou",       "gansu",     "guangdong", "guangxi",  "guangzhou", "guilin",
    "guiyang",   "guizhou",      "haikou",    "hainan",    "hangzhou", "harbin",    "hebei",
    "hefei",     "heilongjiang", "henan",     "hohhot",    "hubei",    "huizhou",   "hunan",
    "istanbul",  "jiangsu",      "jiangxi",   "jiaxing",   "jilin",    "jinan",     "kiev",
    "kunming",   "kyiv",         "lanzhou",   "lhasa",     "liaoning", "luoyang",   "macao",
    "macau",     "mianyang",     "minsk",     "moscow",    "nanchang", "nanjing",   "nanning",
    "nantong",   "ningbo",       "ningxia",   "qingdao",   "qinghai",  "quanzhou",  "shaanxi",
    "shandong",  "shanghai",     "shantou",   "shanxi",    "shaoxing", "sharjah",   "shenyang",
    "shenzhen",  "shijiazhuang", "sichuan",   "suzhou",    "taiwan",   "taiyuan",   "taizhou",
    "tangshan",  "tehran",       "tianjin",   "urumqi",    "weihai",   "wenzhou",   "wuhan",
    "wuxi",      "xiamen",       "xian",      "xining",    "xinjiang", "xizang",    "xuzhou",
    "yangzhou",  "yantai",       "yinchuan",  "yunnan",    "zhejiang", "zhengzhou", "zhongshan",
    "zhuhai",    "zibo",
};

/* Every word of the tables above, found by its hash: sx_canon and
 * sx_word_flags look each word up once or twice, where binary searches of
 * the tables took a dozen string comparisons each. Built on first use
 * (pthread_once) and never written after. */
typedef struct {
  const char *word;
  const char *spelling;  /* legal_spellings writes it so, or NULL */
  const char *expansion; /* abbreviations write it out so, or NULL */
  uint8_t flags;         /* SX_TOK_LEGAL, _STOP or _PLACE, the first table it is in */
  uint8_t len;
} lex_entry;

#define NELEM(a) (sizeof(a) / sizeof *(a))
#define LEX_SLOTS 1024
_Static_assert(NELEM(legal_spellings) + NELEM(abbreviations) + NELEM(legal_words) +
                       NELEM(stop_words) + NELEM(place_words) <=
                   LEX_SLOTS / 2,
               "the lexicon stays at most half full");

static lex_entry lex[LEX_SLOTS];
static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

/* The slot of word w (len bytes): its entry, or the empty slot it would
 * take. */
static lex_entry *lex_slot(const char *w, size_t len) {
  uint32_t k = sx_hash(w, len) % LEX_SLOTS;
  while (lex[k].word && (lex[k].len != len || memcmp(lex[k].word, w, len)))
    k = (k + 1) % LEX_SLOTS;
  return &lex[k];
}

static void lex_add(const char *w, uint8_t flag, const char *spelling, const char *expansion) {
  lex_entry *e = lex_slot(w, strlen(w));
  e->word = w;
  e->len = (uint8_t)strlen(w);
  if (!e->flags)
    e->flags = flag;
  if (spelling)
    e->spelling = spelling;
  if (expansion)
    e->expansion = expansion;
}

static void lex_build(void) {
  /* legal forms first: a word in two tables is flagged by the first */
  for (size_t i = 0; i < NELEM(legal_words); i++)
    lex_add(legal_words[i], SX_TOK_LEGAL, NULL, NULL);
  for (size_t i = 0; i < NELEM(stop_words); i++)
    lex_add(stop_words[i], SX_TOK_STOP, NULL, NULL);
  for (size_t i = 0; i < NELEM(place_words); i++)
    lex_add(place_words[i], SX_TOK_PLACE, NULL, NULL);
  for (size_t i = 0; i < NELEM(legal_spellings); i++)
    lex_add(legal_spellings[i].from, 0, legal_spellings[i].to, NULL);
  for (size_t i = 0; i < NELEM(abbreviations); i++)
    lex_add(abbreviations[i].from, 0, NULL, abbreviations[i].to);
}

/* The tables' entry for word w (len bytes), or NULL. */
static const lex_entry *lex_find(const char *w, size_t len) {
  pthread_once(&lex_once, lex_build);
  if (len > UINT8_MAX)
    return NULL;
  const lex_entry *e = lex_slot(w, len);
  return e->word ? e : NULL;
}

uint8_t sx_word_flags(const char *w, size_t len) {
  uint8_t f = 0;
  bool digits = len > 0;
  for (size_t i = 0; i < len; i++)
    if (w[i] < '0' || w[i] > '9')
      digits = false;
  if (digits)
    f |= SX_TOK_NUMBER;
  else if (len == 1)
    f |= SX_TOK_INITIAL;
  const lex_entry *e = lex_find(w, len);
  return e ? f | e->flags : f;
}

/* Whether w is within the edits its length allows of listed form f: the
 * lengths and the letter sets first, which rule most forms out cheaply. */
static bool legal_near(const char *w, size_t len, uint64_t wset, const char *f, size_t fl) {
  int maxd = (fl > len ? fl : len) >= SX_TWO_EDITS_LEN ? 2 : 1;
  if ((fl > len ? fl - len : len - fl) > (size_t)maxd ||
      sx_popcount(wset ^ sx_letter_set(f, fl)) > 2 * maxd)
    return false;
  return sx_osa_distance(w, len, f, fl, maxd) <= maxd;
}

const char *sx_legal_typo(const char *w, size_t len) {
  if (len < 4)
    return NULL;
  uint64_t wset = sx_letter_set(w, len);
  for (size_t i = 0; i < sizeof legal_spellings / sizeof *legal_spellings; i++) {
    const char *f = legal_spellings[i].from;
    size_t fl = strlen(f);
    if (fl >= 4 && legal_near(w, len, wset, f, fl))
      return legal_spellings[i].to;
  }
  for (size_t i = 0; i < sizeof legal_words / sizeof *legal_words; i++) {
    const char *f = legal_words[i];
    size_t fl = strlen(f);
    /* short forms (OJSC, GmbH) only with their first letter: "Ltda" is not "Alta" */
    if (fl >= 4 && (fl >= 6 || f[0] == w[0]) && legal_near(w, len, wset, f, fl))
      return f;
  }
  return NULL;
}

/* ---- buffers ---- */

void sx_norm_init(sx_norm *n) {
  memset(n, 0, sizeof *n);
}

void sx_norm_free(sx_norm *n) {
  if (n->trans)
    utrans_close((UTransliterator *)n->trans);
  free(n->text);
  free(n->folded);
  free(n->u16a);
  free(n->u16b);
  memset(n, 0, sizeof *n);
}

static bool folded_put(sx_norm *n, char c) {
  if (n->folded_len + 2 > n->folded_cap) {
    size_t cap = n->folded_cap ? n->folded_cap * 2 : 256;
    char *p = realloc(n->folded, cap);
    if (!p)
      return false;
    n->folded = p;
    n->folded_cap = cap;
  }
  n->folded[n->folded_len++] = c;
  n->folded[n->folded_len] = '\0';
  return true;
}

static bool u16_reserve(uint16_t **p, size_t *cap, size_t need) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 256;
  while (c < need)
    c *= 2;
  uint16_t *q = realloc(*p, c * sizeof *q);
  if (!q)
    return false;
  *p = q;
  *cap = c;
  return true;
}

/* ---- step 1: checks ---- */

static ag_status check_query(const char *s, size_t len, const char *field, ag_error *err) {
  if (!ag_utf8_valid(s, len))
    return ag_error_set(err, AG_ERR_INPUT, field, "is not valid UTF-8");
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < 0x20 || p[i] == 0x7F)
      return ag_error_set(err, AG_ERR_INPUT, field, "contains control character U+%04X at byte %zu",
                          p[i], i);
    if (p[i] == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
      return ag_error_set(err, AG_ERR_INPUT, field, "contains control character U+%04X at byte %zu",
                          p[i + 1], i);
  }
  return AG_OK;
}

/* ---- step 2: Unicode folding ---- */

/* ASCII for Latin letters that have no canonical decomposition and for
 * typographic punctuation; NULL means "not handled here". */
static const char *latin_extra(UChar32 c) {
  switch (c) {
  case 0x00E6: return "ae";
  case 0x00F0: return "d";
  case 0x00F8: return "o";
  case 0x00FE: return "th";
  case 0x00DF: return "ss";
  case 0x0111: return "d";
  case 0x0127: return "h";
  case 0x0131: return "i";
  case 0x0138: return "k";
  case 0x0140:
  case 0x0142: return "l";
  case 0x014B: return "n";
  case 0x0153: return "oe";
  case 0x0167: return "t";
  case 0x017F: return "s";
  case 0x0180: return "b";
  case 0x0192: return "f";
  case 0x01DD:
  case 0x0259: return "e";
  case 0x0268: return "i";
  /* apostrophes and modifier letters used for ayn/hamza: join */
  case 0x00B7: /* BGN's middle dot between letters: тс -> t·s, not ts */
  case 0x00B4:
  case 0x02B9:
  case 0x02BB:
  case 0x02BC:
  case 0x02BE:
  case 0x02BF:
  case 0x2018:
  case 0x2019:
  case 0x201B:
  case 0x2032: return "'";
  default: return NULL;
  }
}

static bool needs_transliteration(const UChar *u, int32_t n) {
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U16_NEXT(u, i, n, c);
    if (c < 0x80 || !u_isalpha(c))
      continue;
    UErrorCode e = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(c, &e);
    if (U_SUCCESS(e) && sc != USCRIPT_LATIN && sc != USCRIPT_COMMON && sc != USCRIPT_INHERITED)
      return true;
  }
  return false;
}

/* The Latin letter a Cyrillic one is drawn like, where transliteration
 * would give another: in "Сandiru" the first letter is a look-alike of C,
 * which BGN would make "s". 0 when none. */
static UChar latin_lookalike(UChar c) {
  switch (c) {
  case 0x0441: return 'c'; /* с */
  case 0x0440: return 'p'; /* р */
  case 0x0445: return 'x'; /* х */
  case 0x043D: return 'h'; /* н (Н) */
  case 0x0432: return 'b'; /* в (В) */
  case 0x0435: return 'e'; /* е (BGN: ye at the start of a word) */
  case 0x0456: return 'i'; /* і */
  case 0x0458: return 'j'; /* ј */
  case 0x0455: return 's'; /* ѕ */
  default: return 0;
  }
}

/* In a word that mixes Latin and Cyrillic letters (a look-alike typed or
 * planted among Latin ones), the Cyrillic letters that look like Latin ones
 * are read as those; the others are left to the transliterator. Case is
 * already folded. */
static void latinize_lookalikes(UChar *u, int32_t n) {
  for (int32_t i = 0; i < n;) {
    int32_t start = i;
    bool latin = false, cyrillic = false;
    while (i < n && u_isalpha(u[i])) {
      UErrorCode e = U_ZERO_ERROR;
      UScriptCode sc = uscript_getScript(u[i], &e);
      latin |= U_SUCCESS(e) && sc == USCRIPT_LATIN;
      cyrillic |= U_SUCCESS(e) && sc == USCRIPT_CYRILLIC;
      i++;
    }
    if (latin && cyrillic)
      for (int32_t j = start; j < i; j++) {
        UChar l = latin_lookalike(u[j]);
        if (l)
          u[j] = l;
      }
    if (i == start)
      i++;
  }
}

static ag_status nomem(ag_error *err) {
  return ag_error_set(err, AG_ERR_NOMEM, "name", "out of memory while normalising");
}

/* s (UTF-8, not ASCII-only) -> n->folded (ASCII, lower case). */
static ag_status fold_unicode(sx_norm *n, const char *s, size_t len, const char *field,
                              ag_error *err) {
  UErrorCode e = U_ZERO_ERROR;
  if (len > INT32_MAX / 4)
    return ag_error_set(err, AG_ERR_LIMIT, field, "too long");
  if (!u16_reserve(&n->u16a, &n->u16a_cap, len + 1))
    return nomem(err);
  int32_t la = 0;
  u_strFromUTF8WithSub((UChar *)n->u16a, (int32_t)n->u16a_cap, &la, s, (int32_t)len, 0xFFFD, NULL,
                       &e);
  if (U_FAILURE(e))
    return ag_error_set(err, AG_ERR_INPUT, field, "cannot be decoded (%s)", u_errorName(e));

  /* NFKC + case folding (a single ICU pass) into u16b */
  const UNormalizer2 *nfkc = unorm2_getNFKCCasefoldInstance(&e);
  if (U_FAILURE(e))
    return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU normaliser: %s", u_errorName(e));
  int32_t lb;
  for (;;) {
    size_t cap = (size_t)la * 3 + 16;
    if (!u16_reserve(&n->u16b, &n->u16b_cap, cap))
      return nomem(err);
    e = U_ZERO_ERROR;
    lb = unorm2_normalize(nfkc, (UChar *)n->u16a, la, (UChar *)n->u16b, (int32_t)n->u16b_cap, &e);
    if (e == U_BUFFER_OVERFLOW_ERROR && (size_t)lb < (size_t)INT32_MAX / 2) {
      if (!u16_reserve(&n->u16b, &n->u16b_cap, (size_t)lb + 16))
        return nomem(err);
      e = U_ZERO_ERROR;
      lb = unorm2_normalize(nfkc, (UChar *)n->u16a, la, (UChar *)n->u16b, (int32_t)n->u16b_cap, &e);
    }
    break;
  }
  if (U_FAILURE(e))
    return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU normaliser: %s", u_errorName(e));

  latinize_lookalikes((UChar *)n->u16b, lb);
  /* transliterate non-Latin scripts (in place in u16b) */
  if (needs_transliteration((UChar *)n->u16b, lb)) {
    if (!n->trans) {
      static const char id[] = "Russian-Latin/BGN; Any-Latin; Latin-ASCII";
      UChar uid[64];
      u_uastrcpy(uid, id);
      e = U_ZERO_ERROR;
      n->trans = utrans_openU(uid, -1, UTRANS_FORWARD, NULL, 0, NULL, &e);
      if (U_FAILURE(e) || !n->trans) {
        n->trans = NULL;
        return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU transliterator: %s", u_errorName(e));
      }
    }
    /* keep a copy in u16a for a retry with more room */
    if (!u16_reserve(&n->u16a, &n->u16a_cap, (size_t)lb + 1))
      return nomem(err);
    memcpy(n->u16a, n->u16b, (size_t)lb * sizeof(UChar));
    size_t cap = (size_t)lb * 4 + 64;
    for (int attempt = 0; attempt < 4; attempt++) {
      if (!u16_reserve(&n->u16b, &n->u16b_cap, cap))
        return nomem(err);
      memcpy(n->u16b, n->u16a, (size_t)lb * sizeof(UChar));
      int32_t tl = lb, limit = lb;
      e = U_ZERO_ERROR;
      utrans_transUChars((UTransliterator *)n->trans, (UChar *)n->u16b, &tl, (int32_t)n->u16b_cap,
                         0, &limit, &e);
      if (e == U_BUFFER_OVERFLOW_ERROR) {
        cap = n->u16b_cap * 2;
        continue;
      }
      if (U_FAILURE(e))
        return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU transliterator: %s", u_errorName(e));
      lb = tl;
      break;
    }
    if (U_FAILURE(e))
      return ag_error_set(err, AG_ERR_LIMIT, field, "transliteration too long");
  }

  /* canonical decomposition, then drop the marks: diacritics go */
  const UNormalizer2 *nfd = unorm2_getNFDInstance(&e);
  if (U_FAILURE(e))
    return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU normaliser: %s", u_errorName(e));
  int32_t ld;
  {
    size_t cap = (size_t)lb * 3 + 16;
    if (!u16_reserve(&n->u16a, &n->u16a_cap, cap))
      return nomem(err);
    e = U_ZERO_ERROR;
    ld = unorm2_normalize(nfd, (UChar *)n->u16b, lb, (UChar *)n->u16a, (int32_t)n->u16a_cap, &e);
    if (e == U_BUFFER_OVERFLOW_ERROR) {
      if (!u16_reserve(&n->u16a, &n->u16a_cap, (size_t)ld + 16))
        return nomem(err);
      e = U_ZERO_ERROR;
      ld = unorm2_normalize(nfd, (UChar *)n->u16b, lb, (UChar *)n->u16a, (int32_t)n->u16a_cap, &e);
    }
    if (U_FAILURE(e))
      return ag_error_set(err, AG_ERR_INTERNAL, field, "ICU normaliser: %s", u_errorName(e));
  }

  const UChar *u = (const UChar *)n->u16a;
  for (int32_t i = 0; i < ld;) {
    UChar32 c;
    U16_NEXT(u, i, ld, c);
    bool ok = true;
    if (c < 0x80) {
      ok = folded_put(n, (char)u_tolower(c));
    } else {
      int8_t t = u_charType(c);
      if (t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK || t == U_COMBINING_SPACING_MARK ||
          t == U_CONTROL_CHAR || t == U_FORMAT_CHAR)
        continue; /* diacritics, C1 controls, joiners */
      const char *x = latin_extra(c);
      if (x) {
        for (; *x && ok; x++)
          ok = folded_put(n, *x);
      } else if (t == U_MODIFIER_LETTER) {
        continue; /* ʿ ʾ and the like: part of the word */
      } else {
        ok = folded_put(n, ' '); /* anything else separates words */
      }
    }
    if (!ok)
      return nomem(err);
  }
  return AG_OK;
}

/* ---- steps 3 and 4: words ---- */

static bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool text_reserve(sx_norm *n, size_t extra) {
  if (n->text_len + extra <= n->text_cap)
    return true;
  size_t cap = n->text_cap ? n->text_cap : 256;
  while (cap < n->text_len + extra)
    cap *= 2;
  char *p = realloc(n->text, cap);
  if (!p)
    return false;
  n->text = p;
  n->text_cap = cap;
  return true;
}

/* Longest canonical form in the variant table, plus NUL. */
#define SX_CANON_ROOM 24

size_t sx_canon(char *w, size_t len) {
  bool alpha = true;
  for (size_t i = 0; i < len; i++)
    if (w[i] < 'a' || w[i] > 'z')
      alpha = false;
  if (alpha && len >= 5) {
    if (w[len - 3] == 'i' && w[len - 2] == 'e' && w[len - 1] == 's') {
      w[len - 3] = 'y';
      len -= 2;
    } else if (w[len - 1] == 's') {
      char p = w[len - 2];
      if (p != 's' && p != 'u' && p != 'i' && p != 'o' && p != 'a' && p != 'y')
        len -= 1;
    }
  }
  w[len] = '\0';
  const lex_entry *e = lex_find(w, len);
  const char *to = e && e->spelling ? e->spelling : sx_romanisation_word(w);
  if (!to) {
    /* an ending of another romanisation (Russian -iy, -ii -> -i), then the
     * word as that gives it ("Anatoliy" -> anatoli) */
    len = sx_romanisation_ending(w, len);
    to = sx_romanisation_word(w);
  }
  if (!to) {
    e = lex_find(w, len);
    to = e ? e->expansion : NULL;
  }
  if (to) {
    len = strlen(to);
    memcpy(w, to, len + 1);
  }
  return len;
}

#define SX_WORD_MAX 64 /* longer words are cut: no real name has them */

/* Stems and maps the word at text[off..text_len) in place and appends NUL;
 * keeps the word as written too (after it) when that differs. */
static bool finish_word(sx_norm *n, size_t off) {
  size_t raw_len = n->text_len - off;
  if (!text_reserve(n, raw_len + SX_CANON_ROOM + 2))
    return false;
  char raw[SX_WORD_MAX + 1];
  memcpy(raw, n->text + off, raw_len);
  size_t len = sx_canon(n->text + off, raw_len);
  n->text_len = off + len + 1;
  if (n->ntok >= SX_NORM_TOKENS_MAX) {
    n->truncated = true;
    n->text_len = off;
    return true;
  }
  sx_ntok *t = &n->tok[n->ntok];
  t->off = (uint16_t)off;
  t->len = (uint16_t)len;
  t->flags = sx_word_flags(n->text + off, len);
  t->raw_off = t->off;
  t->raw_len = t->len;
  if (len != raw_len || memcmp(raw, n->text + off, len) != 0) {
    t->raw_off = (uint16_t)n->text_len;
    t->raw_len = (uint16_t)raw_len;
    memcpy(n->text + n->text_len, raw, raw_len);
    n->text[n->text_len + raw_len] = '\0';
    n->text_len += raw_len + 1;
  }
  n->ntok++;
  return true;
}

static ag_status tokenize(sx_norm *n, ag_error *err) {
  const char *s = n->folded;
  size_t len = n->folded_len;
  n->text_len = 0;
  n->ntok = 0;
  n->truncated = false;
  size_t start = SIZE_MAX; /* offset of the current word in text */
  for (size_t i = 0; i < len; i++) {
    /* room for this character, a NUL, "and" and a variant's growth */
    if (n->text_len + 32 > n->text_cap && !text_reserve(n, 64))
      return nomem(err);
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (is_alnum(c)) {
      if (start == SIZE_MAX)
        start = n->text_len;
      if (n->text_len - start < SX_WORD_MAX)
        n->text[n->text_len++] = c;
      continue;
    }
    if (c == '\'' || c == '`')
      continue; /* O'Brien, NU'MAN: one word */
    if (c == '.' && start != SIZE_MAX) {
      /* an acronym: single letters joined by dots (S.A., J.S.C.) */
      size_t wl = n->text_len - start;
      char nx = i + 1 < len ? s[i + 1] : 0, nx2 = i + 2 < len ? s[i + 2] : 0;
      if (nx >= 'A' && nx <= 'Z')
        nx = (char)(nx - 'A' + 'a');
      if (nx2 >= 'A' && nx2 <= 'Z')
        nx2 = (char)(nx2 - 'A' + 'a');
      bool single = wl == 1 || (i >= 2 && s[i - 2] == '.');
      if (single && nx >= 'a' && nx <= 'z' && !is_alnum(nx2))
        continue;
    }
    if (start != SIZE_MAX) {
      if (!finish_word(n, start))
        return nomem(err);
      start = SIZE_MAX;
    }
    if (c == '&') {
      if (!text_reserve(n, 64))
        return nomem(err);
      start = n->text_len;
      memcpy(n->text + n->text_len, "and", 3);
      n->text_len += 3;
      if (!finish_word(n, start))
        return nomem(err);
      start = SIZE_MAX;
    }
  }
  if (start != SIZE_MAX && !finish_word(n, start))
    return nomem(err);
  return AG_OK;
}

ag_status sx_normalize(sx_norm *n, const char *s, size_t len, bool strict, const char *field,
                       ag_error *err) {
  n->folded_len = 0;
  n->ntok = 0;
  n->text_len = 0;
  const char *table_error = sx_romanisation_error();
  if (table_error)
    return ag_error_set(err, AG_ERR_INTERNAL, field, "%s", table_error);
  if (strict) {
    ag_status st = check_query(s, len, field, err);
    if (st)
      return st;
  }
  bool ascii = true;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) {
    if (len + 2 > n->folded_cap) {
      char *p = realloc(n->folded, len + 2);
      if (!p)
        return nomem(err);
      n->folded = p;
      n->folded_cap = len + 2;
    }
    for (size_t i = 0; i < len; i++) {
      char c = s[i];
      if ((unsigned char)c < 0x20 || c == 0x7F)
        c = ' ';
      else if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
      n->folded[i] = c;
    }
    n->folded[len] = '\0';
    n->folded_len = len;
  } else {
    if (!folded_put(n, '\0'))
      return nomem(err);
    n->folded_len = 0;
    ag_status st = fold_unicode(n, s, len, field, err);
    if (st)
      return st;
  }
  return tokenize(n, err);
}

void sx_simple_form(const char *folded, size_t n, ag_buf *out) {
  bool space = false;
  size_t start = out->len;
  for (size_t i = 0; i < n; i++) {
    char c = folded[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (space && out->len > start)
        ag_buf_putc(out, ' ');
      space = false;
      ag_buf_putc(out, c);
    } else if (c != '\'') {
      space = true;
    }
  }
  ag_buf_putc(out, '\0');
  if (!out->failed)
    out->len--; /* NUL-terminated, not counted */
}

bool sx_abbrev(size_t i, const char **abbrev, const char **word) {
  if (i >= sizeof abbreviations / sizeof *abbreviations)
    return false;
  *abbrev = abbreviations[i].from;
  *word = abbreviations[i].to;
  return true;
}
