/*
 * screen_int.h - private interfaces of the screening module: the name
 * normaliser, the CSV reader, the list loaders' in-memory model, the binary
 * index layout and its read-only view, and the string measures.
 *
 * Data flow: list files -> loaders (load_*.c) -> sx_set (entries, names) ->
 * sx_build_image (build.c) -> index image bytes -> sx_view (index.c) ->
 * queries (match.c). The image is the only thing a handle reads at query
 * time, so the same code serves the built-in snapshot, an mmap'ed file and
 * an index built in memory from list files.
 */
#ifndef ACEGATE_SCREEN_INT_H
#define ACEGATE_SCREEN_INT_H

#include "acegate/screen.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- small helpers ---- */

/* Grows *data (elements of size elem) so it can hold need elements. */
bool sx_grow(void **data, size_t *cap, size_t need, size_t elem);
#define SX_PUSH(arr, len, cap, item)                                                               \
  (sx_grow((void **)&(arr), &(cap), (len) + 1, sizeof *(arr)) ? ((arr)[(len)++] = (item), true)    \
                                                              : false)

/* FNV-1a, 32 bits; sx_hash_more continues a hash h over n more bytes, so
 * that strings sharing a prefix can share its hashing */
#define SX_HASH_SEED 2166136261u
static inline uint32_t sx_hash_more(uint32_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}
static inline uint32_t sx_hash(const char *s, size_t n) {
  return sx_hash_more(SX_HASH_SEED, s, n);
}
/* Bits set in x, in a few operations (__builtin_popcountll is a call
 * into libgcc on CPUs the build does not assume have POPCNT). */
static inline int sx_popcount(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ull;
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (int)((x * 0x0101010101010101ull) >> 56);
}
/* The letters of s, one bit each (by the low six bits of the byte): an
 * edit adds or removes at most two of them (a substitution one of each), so
 * words whose sets differ in more than 2d cannot be d edits apart. */
static inline uint64_t sx_letter_set(const char *s, size_t n) {
  uint64_t m = 0;
  for (size_t i = 0; i < n; i++)
    m |= 1ull << ((unsigned char)s[i] & 63);
  return m;
}

/* ---- normaliser (normalize.c) ---- */

enum {
  SX_TOK_LEGAL = 1,   /* legal-form word: ltd, gmbh, ooo, jsc, ... */
  SX_TOK_STOP = 2,    /* connective: and, of, the, de, ... */
  SX_TOK_INITIAL = 4, /* a single letter */
  SX_TOK_NUMBER = 8,  /* digits only */
  SX_TOK_PLACE = 16,  /* a place name that prefixes company names: hangzhou, zhejiang */
  SX_TOK_GENERIC = 32 /* a word of thousands of organisation names (set by the index
                         builder from the word's rarity): technology, group, international */
};
/* words that are weighted down when a name's distinctive words are there */
#define SX_TOK_WEAK (SX_TOK_PLACE | SX_TOK_GENERIC)
/* fixed word weights (build.c, match.c) */
#define SX_W_LEGAL 0.3f
#define SX_W_STOP 0.15f
#define SX_W_INITIAL 0.6f
#define SX_W_WEAK 0.3f    /* a place name, weighted down */
#define SX_GENERIC_F 0.5f /* a common word weighted down: this share of its weight */
/* The weight of a place name or common word (flags) of weight w where it
 * is weighted down (match.c); never more than w. */
static inline float sx_weak_weight(uint8_t flags, float w) {
  float d = (flags & SX_TOK_PLACE) ? SX_W_WEAK : w * SX_GENERIC_F;
  if (d < SX_W_WEAK)
    d = SX_W_WEAK;
  return d < w ? d : w;
}
/* a word is common (SX_TOK_GENERIC) in at least this share of the names,
 * and at least SX_GENERIC_MIN_DF of them, nearly all organisations' */
#define SX_GENERIC_SHARE 0.005
/* Typo tolerance by word length: one edit from SX_ONE_EDIT_LEN letters,
 * two from SX_TWO_EDITS_LEN (the index holds two-letter deletions of words
 * that long). */
#define SX_ONE_EDIT_LEN 3
#define SX_TWO_EDITS_LEN 8
#define SX_GENERIC_MIN_DF 50

typedef struct {
  uint16_t off, len;         /* into sx_norm.text: the word as compared */
  uint16_t raw_off, raw_len; /* the word as written, before stemming and mapping */
  uint8_t flags;
} sx_ntok;

#define SX_NORM_TOKENS_MAX 64

typedef struct {
  char *text; /* tokens, each NUL-terminated */
  size_t text_len, text_cap;
  sx_ntok tok[SX_NORM_TOKENS_MAX];
  size_t ntok;
  bool truncated; /* more words than SX_NORM_TOKENS_MAX; the rest dropped */
  /* the ASCII-folded form before tokenising, for the baseline and display */
  char *folded;
  size_t folded_len, folded_cap;
  /* ICU scratch; the transliterator is opened on first non-Latin input */
  void *trans;
  uint16_t *u16a, *u16b;
  size_t u16a_cap, u16b_cap;
} sx_norm;

void sx_norm_init(sx_norm *n);
void sx_norm_free(sx_norm *n);
/* strict: a query (reject invalid UTF-8 and control characters, field
 * names `field`); otherwise list data (invalid bytes and control
 * characters are dropped). */
ag_status sx_normalize(sx_norm *n, const char *s, size_t len, bool strict, const char *field,
                       ag_error *err);
static inline const char *sx_norm_tok(const sx_norm *n, size_t i) {
  return n->text + n->tok[i].off;
}
static inline const char *sx_norm_raw(const sx_norm *n, size_t i) {
  return n->text + n->tok[i].raw_off;
}
/* The Jaro-Winkler baseline's view of a folded name: lower-case ASCII
 * letters and digits, words separated by one space; appended to out
 * (NUL-terminated). */
void sx_simple_form(const char *folded, size_t n, ag_buf *out);
/* Stems and maps one lower-case word in place (the buffer must hold
 * len + 24 bytes); returns the new length. */
size_t sx_canon(char *w, size_t len);
/* The i-th abbreviation sx_canon writes out ("intl" -> "international");
 * false past the last. */
bool sx_abbrev(size_t i, const char **abbrev, const char **word);
/* A legal-form word a word of four letters or more is one typo away from
 * ("compmany" -> "co", "limted" -> "ltd"), or NULL. */
const char *sx_legal_typo(const char *w, size_t len);

/* ---- romanisation variants (romanisation.c, data/screening/romanisation.tsv) ---- */

/* The canonical form of a whole word ("gim" -> "kim"), or NULL. */
const char *sx_romanisation_word(const char *w);
/* Rewrites a listed ending in place ("-iy" -> "-i", words of five letters
 * or more); returns the new length. */
size_t sx_romanisation_ending(char *w, size_t len);
/* The canonical form of the spelling (of four letters or more) a word is
 * one typo away from, two from eight letters ("Mohamemd" -> "muhammad"),
 * with that spelling and the distance; NULL if none. */
const char *sx_romanisation_typo(const char *w, size_t len, const char **spelling, int *dist);
/* NULL, or why the compiled-in table could not be read ("line N: ..."). */
const char *sx_romanisation_error(void);
size_t sx_romanisation_count(void);

/* Classification of one normalised word (SX_TOK_* flags). */
uint8_t sx_word_flags(const char *w, size_t len);

/* ---- string measures (measure.c) ---- */

double sx_jaro_winkler(const char *a, size_t la, const char *b, size_t lb);
/* Optimal string alignment distance, giving up above max (returns max+1). */
int sx_osa_distance(const char *a, size_t la, const char *b, size_t lb, int max);

/* ---- CSV reader (csv.c) ---- */

typedef struct {
  const char *p; /* field bytes (unescaped, in the reader's scratch if quoted) */
  size_t len;
  bool quoted;
  bool in_scratch;
} sx_field;

typedef struct {
  const char *data, *end, *cur;
  char delim;
  bool eof_marker;  /* the input ended with OFAC's 0x1A byte */
  const char *file; /* for error locations */
  size_t line;      /* physical line of the current record's start (1-based) */
  size_t next_line;
  sx_field *fields;
  size_t nfields, fields_cap;
  char *scratch;
  size_t scratch_len, scratch_cap;
} sx_csv;

void sx_csv_init(sx_csv *c, const char *data, size_t len, char delim, const char *file);
void sx_csv_free(sx_csv *c);
/* Reads the next record. Returns AG_OK with c->nfields > 0, or AG_OK with
 * nfields == 0 at end of input, or AG_ERR_LIST naming "file:line". A DOS
 * end-of-file byte (0x1A) ends the input. A last record without a line end
 * is accepted only if its last field was quoted (else: truncated). */
ag_status sx_csv_next(sx_csv *c, ag_error *err);

/* ---- countries (country.c) ---- */

/* ISO 3166-1 alpha-2 code for an English country name as OFAC writes it
 * ("Korea, North", "Burma", "Region: Crimea"), or NULL. */
const char *sx_country_code(const char *name, size_t len);
/* True if s is a known ISO 3166-1 alpha-2 code (upper case). */
bool sx_country_valid(const char *s, size_t len);

/* ---- the loaded lists (load_*.c, set.c) ---- */

enum { SX_KIND_NAME = 0, SX_KIND_AKA, SX_KIND_FKA, SX_KIND_NKA, SX_KIND_WEAK };
const char *sx_kind_name(unsigned kind);

typedef struct {
  const char *code, *name, *files, *format, *date, *sha256;
  uint32_t entries, names;
} sx_list_in;

enum {
  SX_F_SOURCE_ID,
  SX_F_NAME,
  SX_F_TYPE,
  SX_F_PROGRAMS,
  SX_F_COUNTRIES,
  SX_F_ADDRESSES,
  SX_F_FR,
  SX_F_LIC_REQ,
  SX_F_LIC_POL,
  SX_F_START,
  SX_F_REMARKS,
  SX_F_URL,
  SX_F_IDS, /* identifiers as listed (CSL `ids`): registration, IMO, passport numbers */
  SX_F_COUNT
};

typedef struct {
  uint32_t list;
  const char *f[SX_F_COUNT]; /* arena strings, never NULL */
  bool content_id;           /* the id is derived from the contents (the file gives none) */
} sx_entry_in;

typedef struct {
  uint32_t entry;
  uint32_t kind;
  const char *name;
  uint32_t seq; /* its place in the files: aliases keep their file order */
} sx_alias_in;

/* A set of lists being loaded. Strings live in the arena. */
typedef struct {
  ag_arena arena;
  sx_list_in *lists;
  size_t nlists, lists_cap;
  sx_entry_in *entries;
  size_t nentries, entries_cap;
  sx_alias_in *aliases; /* secondary names, any order until sx_set_finish */
  size_t naliases, aliases_cap;
} sx_set;

void sx_set_init(sx_set *s);
void sx_set_free(sx_set *s);
char *sx_set_str(sx_set *s, const char *p, size_t n); /* trimmed copy */
/* Finds or adds the list (code within source); returns its index. */
ag_status sx_set_list(sx_set *s, const char *code, const char *name, const char *files,
                      const char *format, const char *date, const char *sha256, uint32_t *idx,
                      ag_error *err);
/* Adds an entry; the list's entry count is kept. */
ag_status sx_set_entry(sx_set *s, const sx_entry_in *e, uint32_t *idx, ag_error *err);
ag_status sx_set_alias(sx_set *s, uint32_t entry, unsigned kind, const char *name, size_t len,
                       ag_error *err);
/* An id for an entry its file gives none: prefix ("csl", "dpl"), ':' and
 * the first 12 hex digits of SHA-256 over the fields, each followed by a
 * NUL byte. */
char *sx_set_content_id(sx_set *s, const char *prefix, const char *const *fields, size_t n);
/* Makes content ids unique once every file is loaded: entries with the
 * same one are ordered by SHA-256 over their other fields and names, and
 * the second and later get "-2", "-3", ... */
ag_status sx_set_finish_ids(sx_set *s, ag_error *err);
/* Splits "a; b; c" into aliases of entry. */
ag_status sx_set_aliases_split(sx_set *s, uint32_t entry, unsigned kind, const char *p, size_t n,
                               ag_error *err);

/* List codes and names as the CSL writes its sources. */
void sx_list_from_source(const char *source, size_t len, char code[16], const char **name);
const char *sx_list_name_for(const char *code);

/* Loads paths (files or directories) into s. */
ag_status sx_load_paths(sx_set *s, const char *const *paths, size_t n, ag_error *err);
/* Loads one in-memory file of any recognised format (no companions); for
 * fuzzing and tests. */
ag_status sx_load_buffer(sx_set *s, const char *name, const char *data, size_t len, ag_error *err);

/* ---- the index image (build.c writes, index.c reads) ---- */

#define SX_MAGIC "AGSCRIDX"
#define SX_VERSION 3

enum {
  SX_SEC_STR,
  SX_SEC_LISTS,
  SX_SEC_ENTRIES,
  SX_SEC_NAMES,
  SX_SEC_NAMETOKS,
  SX_SEC_TOKENS,
  SX_SEC_TOKBUCKETS,
  SX_SEC_POSTINGS,
  SX_SEC_DELS,
  SX_SEC_DELBUCKETS,
  SX_SEC_COUNT
};

typedef struct {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint64_t file_size;
  uint8_t sha256[32]; /* of bytes [header_size, file_size) */
  int64_t built;      /* unix time */
  uint32_t n_lists, n_entries, n_names, n_nametoks, n_tokens, n_postings, n_dels;
  uint32_t tok_bits, del_bits; /* log2 of the bucket counts */
  uint32_t reserved[5];
  struct {
    uint64_t off, size;
  } sec[SX_SEC_COUNT];
} sx_header;

typedef struct {
  uint32_t code, name, files, format, date, sha256; /* string offsets */
  uint32_t entries, names;
} sx_list;

typedef struct {
  uint32_t list;
  uint32_t f[SX_F_COUNT];
  uint32_t first_name, name_count;
} sx_entry;

typedef struct {
  uint32_t entry;
  uint32_t display; /* the name as listed */
  uint32_t simple;  /* lower-case ASCII fold, for the Jaro-Winkler baseline */
  uint32_t tok_off; /* into NAMETOKS */
  uint16_t ntok;
  uint8_t kind;
  uint8_t flags; /* SX_NAME_* */
  float weight;  /* sum of its words' weights */
} sx_name;

enum {
  SX_NAME_PERSON = 1, /* the entry is an individual */
  SX_NAME_VESSEL = 2, /* the entry is a vessel */
};
/* Names whose missing common words are never weighed down (align): a
 * person's, and a vessel's, whose one word ("Zenith") says nothing of a
 * company that adds "Electronics" or "Trading" to it. */
#define SX_NAME_NO_DISCOUNT (SX_NAME_PERSON | SX_NAME_VESSEL)

typedef struct {
  uint32_t hash;
  uint32_t str;
  uint32_t post_off, post_len; /* into POSTINGS: name ids, ascending */
  float weight;
  uint16_t len;
  uint8_t flags;
  uint8_t reserved;
} sx_token;

typedef struct {
  uint32_t hash; /* of the word with one letter deleted */
  uint32_t token;
} sx_del;

_Static_assert(sizeof(sx_header) % 8 == 0, "header alignment");
_Static_assert(sizeof(sx_entry) == 64, "entry layout");
_Static_assert(sizeof(sx_name) == 24, "name layout");
_Static_assert(sizeof(sx_token) == 24, "token layout");

/* Builds an index image of the set into out (heap, caller frees). */
ag_status sx_build_image(sx_set *s, ag_buf *out, ag_error *err);

/* A validated, read-only view of an image. */
typedef struct {
  const unsigned char *base;
  size_t size;
  const sx_header *h;
  const char *str;
  size_t str_size;
  const sx_list *lists;
  const sx_entry *entries;
  const sx_name *names;
  const uint32_t *nametoks;
  const sx_token *tokens;
  const uint32_t *tokbuckets;
  const uint32_t *postings;
  const sx_del *dels;
  const uint32_t *delbuckets;
} sx_view;

/* Validates everything a query may touch (magic, version, sizes, checksum,
 * every offset and id) so that no image, however corrupt, can make a
 * query read out of bounds. */
ag_status sx_view_open(sx_view *v, const void *data, size_t size, const char *what, ag_error *err);
static inline const char *sx_str(const sx_view *v, uint32_t off) {
  return v->str + off;
}
/* A "; "-separated field as a JSON array of its trimmed, non-empty parts. */
void sx_json_list(ag_buf *b, const char *s);
/* Token id of an exact word, or UINT32_MAX; sx_view_find_hashed is given
 * the word's sx_hash. */
uint32_t sx_view_find_hashed(const sx_view *v, uint32_t h, const char *w, size_t len);
static inline uint32_t sx_view_find(const sx_view *v, const char *w, size_t len) {
  return sx_view_find_hashed(v, sx_hash(w, len), w, len);
}

/* SHA-256, raw and as lower-case hex (65 bytes with NUL). */
bool sx_sha256(const void *data, size_t len, uint8_t out[32]);
void sx_sha256_hex(const void *data, size_t len, char out[65]);
void sx_hex(const uint8_t *d, size_t n, char *out); /* 2n+1 bytes */

/* A handle on an image (copied to the heap if copy, else used in place,
 * e.g. the built-in one); origin is what ag_screen_info reports. */
ag_status sx_open_image(const void *data, size_t len, bool copy, const char *origin,
                        ag_screen **out, ag_error *err);
const sx_view *sx_handle_view(const ag_screen *s);

/* An entry's digest (entries.c), kept with the handle once it is first
 * computed: the screening of every name that matches the entry needs it
 * (the decision's entry_hash), and computing it means concatenating and
 * hashing every field and alias. state goes NONE -> WRITING (one thread)
 * -> READY; digest is read only once READY is seen. */
enum { SX_DIGEST_NONE = 0, SX_DIGEST_WRITING, SX_DIGEST_READY };
typedef struct {
  _Atomic uint8_t state;
  uint8_t digest[16];
} sx_digest_slot;
/* The handle's n_entries slots, zeroed at open. */
sx_digest_slot *sx_handle_digests(const ag_screen *s);

/* The built-in snapshot (builtin.c): NULL/0 when built without one. */
const unsigned char *sx_builtin_image(size_t *len);

/* ---- evidence besides the name (evidence.c) ---- */

#define SX_EV_COUNTRY_BONUS 0.03
#define SX_EV_COUNTRY_PENALTY 0.05
#define SX_EV_TYPE_PENALTY 0.10
#define SX_EV_CITY_BONUS 0.03
#define SX_EV_ADDRESS_BONUS 0.05
#define SX_EV_ID_BONUS 0.10
#define SX_EV_ID_FLOOR 0.95 /* an entry listing the identifier: confident */
#define SX_EV_TEXT_MAX 256 /* bytes of a city or street address */
#define SX_EV_ID_BYTES 64
#define SX_EV_COUNTRIES_MAX 32

typedef struct {
  char cc[3];          /* country, upper case, or "" */
  const char *type;    /* "Entity", "Individual", "Vessel", "Aircraft" or NULL */
  const char *city;    /* compared form (lower-case words), or NULL */
  const char *city_shown;
  const char *address; /* compared form, or NULL */
  size_t n_ids;
  char ids[AG_SCREEN_IDS_MAX][SX_EV_ID_BYTES]; /* compared form */
  const char *ids_shown[AG_SCREEN_IDS_MAX];
  /* filters */
  bool filtered;
  const uint8_t *entries; /* ag_screen_request.entries */
  uint32_t sources_mask, types_mask;
  char countries[SX_EV_COUNTRIES_MAX][3];
  size_t n_countries;
} sx_evidence;

/* Checks the request's evidence and filters (errors name the field);
 * strings are made in the arena. */
ag_status sx_evidence_init(sx_evidence *ev, const ag_screen_request *req, ag_arena *a,
                           ag_error *err);
/* The most the evidence can add to a name's score. */
double sx_evidence_max_bonus(const sx_evidence *ev);
bool sx_evidence_has_country(const char *list, const char *cc);
/* Whether the filters admit the entry. */
bool sx_evidence_admits(const sx_view *v, uint32_t entry, const sx_evidence *ev);
/* The index of the query identifier the entry lists, or -1. */
int sx_evidence_id(const sx_view *v, uint32_t entry, const sx_evidence *ev);
/* The name score s with the evidence applied, in [0, 1]. */
double sx_evidence_score(const sx_view *v, uint32_t entry, const sx_evidence *ev, ag_arena *a,
                         double s);
/* Appends the evidence's part of a reason ("; country CN is the entry's ..."). */
void sx_evidence_explain(const sx_view *v, uint32_t entry, const sx_evidence *ev, ag_arena *a,
                         ag_buf *b);

#endif
