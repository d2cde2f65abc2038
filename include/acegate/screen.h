/*
 * acegate/screen.h - restricted-party screening: loads the U.S. screening
 * lists in their published formats, indexes every listed name and alias,
 * and finds the listed parties a given name may refer to.
 *
 * Why it matters: License Exception ACE and every other exception are
 * unavailable when a party is on the Entity List (15 CFR 744.11, per the
 * entry's license requirement); exports to a Denied Persons List party are
 * prohibited (Part 764, 740.2); OFAC SDN parties are blocked. This module
 * only finds candidates and reports their list data; the determination
 * engine draws the regulatory consequences.
 *
 * Lists read (format recognised from content, see docs/screening.md):
 *   - trade.gov Consolidated Screening List, CSV (28 or 29 columns), TSV and JSON
 *   - OFAC legacy CSV: sdn.csv / cons_prim.csv with their alt, add and
 *     comments companions
 *   - BIS Denied Persons List (tab-separated, quoted, with header)
 *
 * Ownership and threads:
 *   - An ag_screen handle owns its index (a read-only mapping of an index
 *     file, the index built into the binary, or a heap copy). Every string
 *     a match or list info points to belongs to the handle and stays valid
 *     until ag_screen_close(). A handle is never modified after it is
 *     opened: any number of threads may query it at once.
 *   - An ag_screen_result is caller-owned per-thread storage: it holds the
 *     query's scratch memory and the matches of the last query. Reuse it
 *     across queries (it then allocates nothing after warm-up); free it with
 *     ag_screen_result_free(). A result must not be used by two threads at
 *     once. Strings it owns (reason, matched tokens, normalised query) are
 *     valid until the next query with it or ag_screen_result_free().
 *   - No function keeps global mutable state. ICU transliterators, which are
 *     not thread-safe, live in the result.
 */
#ifndef ACEGATE_SCREEN_H
#define ACEGATE_SCREEN_H

#include "acegate/common.h"

#include <stddef.h>
#include <stdint.h>

/* Score thresholds (scores are in [0, 1]); docs/screening.md explains how
 * they were chosen on the evaluation set in tests/screen/. */
#define AG_SCREEN_CONFIDENT 0.90 /* at or above: the name is the listed party */
#define AG_SCREEN_POSSIBLE 0.75  /* at or above: a candidate for review */

#define AG_SCREEN_NAME_MAX 1024  /* bytes in a query name; longer is AG_ERR_LIMIT */
#define AG_SCREEN_WORDS_MAX 48   /* words in a query name; more is AG_ERR_LIMIT */
#define AG_SCREEN_MATCHES_MAX 50 /* most matches one query returns */
#define AG_SCREEN_MATCHES_DEFAULT 10
#define AG_SCREEN_IDS_MAX 8      /* identifiers in one query */

typedef struct ag_screen ag_screen;
typedef struct ag_screen_work ag_screen_work;

typedef enum {
  AG_SCREEN_LEVEL_NONE = 0, /* below AG_SCREEN_POSSIBLE (only with a lower min_score) */
  AG_SCREEN_LEVEL_POSSIBLE,
  AG_SCREEN_LEVEL_CONFIDENT
} ag_screen_level;

/* "none", "possible", "confident". */
const char *ag_screen_level_name(ag_screen_level level);

/* One query word aligned with one listed word. */
typedef struct {
  const char *query;  /* normalised query word(s), e.g. "gruop" or "hik vision" */
  const char *listed; /* normalised listed word(s), e.g. "group" */
  double similarity;  /* 1 = identical after normalisation */
} ag_screen_token_match;

typedef struct {
  /* the list and the entry, as the list file gives them */
  const char *list_code;               /* "EL", "DPL", "SDN", "SSI", "UVL", "MEU", ... */
  const char *list_name;               /* "Entity List", "Denied Persons List", ... */
  const char *source_id;               /* the entry's own id in its file (see docs) */
  const char *entry_name;              /* the entry's primary name */
  const char *entry_type;              /* "Entity", "Individual", "Vessel", "Aircraft" or "" */
  const char *programs;                /* "; "-separated sanctions programs, or "" */
  const char *countries;               /* "; "-separated ISO 3166-1 alpha-2 codes, or "" */
  const char *addresses;               /* "; "-separated addresses as listed, or "" */
  const char *federal_register_notice; /* e.g. "86 FR 60760", or "" */
  const char *license_requirement;     /* Entity List and MEU entries, or "" */
  const char *license_policy;          /* e.g. "Presumption of denial.", or "" */
  const char *start_date;              /* as listed, or "" */
  const char *remarks;                 /* as listed, or "" */
  const char *source_url;              /* the list's page, or "" */
  uint32_t entry;                      /* the entry's index (ag_screen_entry_get) */
  /* how it matched */
  const char *matched_name; /* the listed name or alias that matched */
  const char *name_kind;    /* "name", "aka", "fka", "nka", "weak aka" */
  /* the entry's other names and aliases that also matched, best first,
   * "; "-separated ("" if none): one match per listed entry */
  const char *other_names;
  double score;             /* in [0, 1], country evidence included */
  ag_screen_level level;
  const char *reason;                  /* plain-English explanation (result-owned) */
  const ag_screen_token_match *tokens; /* result-owned */
  size_t token_count;
} ag_screen_match;

typedef struct {
  ag_screen_match *matches; /* best first; result-owned */
  size_t count;
  const char *normalized; /* the query's words after normalisation */
  ag_screen_work *work;   /* private scratch; NULL until first use */
} ag_screen_result;

void ag_screen_result_init(ag_screen_result *r);
void ag_screen_result_free(ag_screen_result *r);

/* ---- opening a set of lists ---- */

/* The lists in force: the index that `acegate lists update` wrote into the
 * data directory if there is one, else the snapshot built into the library.
 * The data directory is $ACEGATE_HOME, else $XDG_DATA_HOME/acegate, else
 * $HOME/.local/share/acegate. A corrupt data-directory index is an error,
 * not a silent fallback. */
ag_status ag_screen_open_default(ag_screen **out, ag_error *err);
/* Same with an explicit data directory (NULL means the default one); an
 * explicit directory that does not exist is an error. */
ag_status ag_screen_open_dir(const char *data_dir, ag_screen **out, ag_error *err);
/* Only the snapshot built in at compile time (AG_ERR_NOTFOUND if the library
 * was built without one). */
ag_status ag_screen_open_builtin(ag_screen **out, ag_error *err);
/* An index file (as written by ag_screen_build_index), mapped read-only. */
ag_status ag_screen_open_index(const char *path, ag_screen **out, ag_error *err);
/* An index image in memory; the bytes are copied. For tests and fuzzing. */
ag_status ag_screen_open_index_mem(const void *data, size_t len, ag_screen **out, ag_error *err);
/* Loads list files and directories in their published formats and indexes
 * them in memory. Each path is a list file or a directory; a directory
 * loads every recognised list file in it, OFAC companion files joined to
 * their primary file. An unrecognised file named explicitly is an error. */
ag_status ag_screen_open_paths(const char *const *paths, size_t n, ag_screen **out, ag_error *err);
void ag_screen_close(ag_screen *s);

/* ---- building and replacing the lists in force ---- */

/* Loads and validates every list completely, then writes an index file to
 * out_path atomically (temporary file, fsync, rename): on any error the old
 * file, if any, is untouched. */
ag_status ag_screen_build_index(const char *const *paths, size_t n, const char *out_path,
                                ag_error *err);
/* ag_screen_build_index into the data directory's index (created if needed);
 * data_dir NULL means the default. The written path is copied to
 * written (if non-NULL, `cap` bytes). */
ag_status ag_screen_update(const char *data_dir, const char *const *paths, size_t n, char *written,
                           size_t cap, ag_error *err);
/* Writes the index of an opened set (ag_screen_open_paths) into the data
 * directory the same way: what an update that was first compared with the
 * lists in force installs, without loading the files again. */
ag_status ag_screen_install(const char *data_dir, const ag_screen *s, char *written, size_t cap,
                            ag_error *err);
/* Removes the data directory's index so the built-in snapshot is in force
 * again. Not an error if there is none. */
ag_status ag_screen_reset(const char *data_dir, ag_error *err);
/* The default data directory and the index path within one. */
ag_status ag_screen_data_dir(char *out, size_t cap, ag_error *err);
ag_status ag_screen_index_path(const char *data_dir, char *out, size_t cap, ag_error *err);

/* ---- what is loaded ---- */

typedef struct {
  const char *code;   /* "EL", "SDN", ... */
  const char *name;   /* "Entity List", ... */
  const char *files;  /* source file names, ", "-separated */
  const char *format; /* "csl-csv", "csl-tsv", "csl-json", "ofac-sdn-csv",
                         "ofac-cons-csv", "bis-dpl-tsv" */
  const char *date;   /* "YYYY-MM-DD" source date, or "" if unknown */
  const char *sha256; /* hex SHA-256 of the source files' bytes */
  uint32_t entries;   /* entries of this list in that source */
  uint32_t names;     /* names and aliases indexed */
} ag_screen_list_info;

typedef struct {
  const char *origin;   /* "built-in", or the index file's path */
  const char *built;    /* when the index was built, "YYYY-MM-DDTHH:MM:SSZ" */
  const char *checksum; /* hex SHA-256 of the index contents */
  uint32_t entries, names, tokens;
  size_t bytes; /* index size */
} ag_screen_index_info;

size_t ag_screen_list_count(const ag_screen *s);
/* i < ag_screen_list_count(s); the struct and strings belong to s. */
const ag_screen_list_info *ag_screen_list(const ag_screen *s, size_t i);
const ag_screen_index_info *ag_screen_info(const ag_screen *s);

/* The listed entries, for comparing two sets: entry i < ag_screen_entry_count(s)
 * is on list `list` (an ag_screen_list index) under its source id; digest
 * covers all its fields, names and aliases. Strings belong to s. */
typedef struct {
  uint32_t list;
  const char *source_id;
  const char *name;
  uint8_t digest[16];
} ag_screen_entry_info;
size_t ag_screen_entry_count(const ag_screen *s);
void ag_screen_entry_get(const ag_screen *s, size_t i, ag_screen_entry_info *out);
/* An entry's digest as 32 lowercase hex digits and NUL: what a remembered
 * review decision is tied to (a changed entry has another). */
#define AG_SCREEN_ENTRY_HASH_HEX 33
void ag_screen_entry_hash(const ag_screen *s, size_t i, char out[AG_SCREEN_ENTRY_HASH_HEX]);
void ag_screen_digest_hex(const uint8_t digest[16], char out[AG_SCREEN_ENTRY_HASH_HEX]);
/* The entry of list `list` (its code, "EL", or its name, "Entity List": a
 * check's candidate names its list by name, a screening's by both) with
 * that source id, or SIZE_MAX. An entry is its list and its id: two lists
 * may give entries the same id. A scan of the entries: for one record's
 * candidates, not for screening. */
size_t ag_screen_entry_find(const ag_screen *s, const char *list, const char *source_id);
/* Appends entry i as a reviewer compares it with a party, every field as
 * listed: {"list", "list_code", "source_id", "name", "type", "aliases":
 * [{"name", "kind"}], "countries", "addresses", "ids", "programs" (arrays
 * of the "; "-separated parts), "remarks", "license_requirement",
 * "license_policy", "federal_register_notice", "start_date", "source_url",
 * "entry_hash"}; a field the list leaves empty is "" or []. */
void ag_screen_entry_json(const ag_screen *s, size_t i, ag_buf *out);

/* ---- screening ---- */

typedef enum {
  AG_SCREEN_MODE_INDEX = 0, /* normalised words, index, alignment scoring */
  AG_SCREEN_MODE_BRUTE_JW   /* baseline: plain Jaro-Winkler against every
                               listed name (for benchmarks and cross-checks) */
} ag_screen_mode;

typedef struct {
  const char *name; /* UTF-8, not necessarily NUL-terminated */
  size_t len;
  const char *country; /* ISO 3166-1 alpha-2 of the party, or NULL */
  double min_score;    /* 0 means AG_SCREEN_POSSIBLE */
  size_t max_matches;  /* 0 means AG_SCREEN_MATCHES_DEFAULT; at most
                          AG_SCREEN_MATCHES_MAX */
  ag_screen_mode mode;
  /* more than a name: evidence in the score, named in the reason
   * (docs/screening.md, "More than a name"); NULL when not known */
  const char *address;    /* the party's street address */
  const char *city;       /* the party's city */
  const char *type;       /* "entity", "individual", "vessel", "aircraft" (any case) */
  const char *const *ids; /* identifiers: registration, tax, IMO, passport numbers, SWIFT/BIC */
  size_t n_ids;           /* at most AG_SCREEN_IDS_MAX */
  /* filters, comma-separated as in the trade.gov CSL API; NULL for all */
  const char *sources;   /* list codes: "SDN,EL" */
  const char *types;     /* entry types: "Entity,Vessel" */
  const char *countries; /* ISO alpha-2 codes: "CN,RU" (entries that give none are kept) */
  /* only entry i where entries[i] is non-zero (ag_screen_entry_count(s)
   * flags, as ag_screen_entry_get numbers them): a re-screening against
   * the entries a list update added or changed; NULL for all */
  const uint8_t *entries;
} ag_screen_request;

/* Screens one name against every loaded list. On success out holds the
 * matches (possibly none), best first, one per listed entry. Errors:
 * AG_ERR_INPUT (field "name": empty, invalid UTF-8, control character;
 * field "country": not two letters; "type", "city", "address", "ids[N]",
 * "sources", "types", "countries": the value and why), AG_ERR_LIMIT (name
 * too long or too many words, too many identifiers), AG_ERR_NOMEM. */
ag_status ag_screen_query(const ag_screen *s, const char *name, size_t len, const char *country,
                          ag_screen_result *out, ag_error *err);
ag_status ag_screen_query_ex(const ag_screen *s, const ag_screen_request *req,
                             ag_screen_result *out, ag_error *err);

/* Writes the normalised words of name (space-separated) to out: what the
 * matcher compares. Same input checks as ag_screen_query. */
ag_status ag_screen_normalize(const char *name, size_t len, ag_buf *out, ag_error *err);

/* Appends the match as a JSON object: list, list_code, source_id, name,
 * entry_name, score, level, reason, and when `full` also matched_tokens,
 * programs, countries, federal_register_notice, license_requirement,
 * license_policy, entry_type, name_kind. */
void ag_screen_match_json(const ag_screen_match *m, bool full, ag_buf *out);

#endif
