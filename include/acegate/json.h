/*
 * acegate/json.h - the JSON codec of contract v1, shared by the command
 * line and the HTTP service: transaction in, decision or error out.
 *
 * Decoding is strict: malformed JSON, invalid UTF-8, wrong types, unknown
 * fields, over-long values and impossible dates are errors naming the
 * field (a JSON path such as "end_user.type") and the reason.
 *
 * Ownership: ag_json_decode_txn copies party names into the caller's
 * arena; the ag_txn is valid while the arena lives. Encoders append to a
 * caller-owned ag_buf.
 */
#ifndef ACEGATE_JSON_H
#define ACEGATE_JSON_H

#include "acegate/common.h"
#include "acegate/decide.h"
#include "acegate/rules.h"
#include "acegate/screen.h"

/* Documented limits (README.md, "Limits"). */
#define AG_JSON_MAX_REQUEST ((size_t)64 * 1024) /* bytes in one transaction or batch line */
#define AG_JSON_MAX_NAME ((size_t)1024)          /* bytes in one party name */

#define AG_JSON_MAX_REF 128                       /* characters in a caller reference */
#define AG_JSON_REF_BYTES ((size_t)AG_JSON_MAX_REF * 4) /* its UTF-8 bytes at most */

ag_status ag_json_decode_txn(const char *json, size_t len, ag_txn *out, ag_arena *arena,
                             ag_error *err);
/* The same, accepting the caller reference "ref" (an order, shipment or
 * customer id, at most AG_JSON_MAX_REF characters) into ref ("" when not
 * given). */
ag_status ag_json_decode_check(const char *json, size_t len, ag_txn *out,
                               char ref[AG_JSON_REF_BYTES + 1], ag_arena *arena, ag_error *err);
/* Checks a caller reference given outside JSON (--ref): error field "ref". */
ag_status ag_json_check_ref(const char *s, size_t n, ag_error *err);

/* ---- screenings ---- */

/* A screening request: {"name", "country", "max_matches", "min_score",
 * "ref", "address", "city", "type", "ids", "sources", "types",
 * "countries"}. Strings point into the decoder's arena; NULL when not
 * given. "sources", "types" and "countries" are a comma-separated string
 * or an array of strings (kept comma-joined). */
typedef struct {
  const char *name;
  size_t name_len;
  char country[8];    /* "" when not given (or null) */
  size_t max_matches; /* 0: default */
  double min_score;   /* 0: default */
  char ref[AG_JSON_REF_BYTES + 1];
  const char *address, *city, *type;
  const char *ids[AG_SCREEN_IDS_MAX];
  size_t n_ids;
  const char *sources, *types, *countries;
} ag_screening;

ag_status ag_json_decode_screening(const char *json, size_t len, ag_screening *out,
                                   ag_arena *arena, ag_error *err);
/* The best level among the matches, and its outcome word: NO_MATCH,
 * POSSIBLE_MATCH or CONFIDENT_MATCH. */
ag_screen_level ag_json_screening_level(const ag_screen_result *res);
const char *ag_json_screening_outcome(ag_screen_level level);
/* Appends the screening result object: name, country, normalized,
 * outcome, matches, rules_version, lists_version, ref (when given). */
void ag_json_encode_screening(const ag_screening *q, const ag_screen_result *res,
                              const char *rules_version, const char *lists_version, ag_buf *out);
/* The same with a note per match (NULL: none): each match then carries
 * "entry_hash" and, when one applies, "remembered"; a cleared match counts
 * for nothing in the outcome, a confirmed one as confident. */
ag_screen_level ag_json_screening_level_noted(const ag_screen_result *res,
                                              const ag_match_note *notes);
void ag_json_encode_screening_noted(const ag_screening *q, const ag_screen_result *res,
                                    const ag_match_note *notes, const char *rules_version,
                                    const char *lists_version, ag_buf *out);
/* Appends ,"rules_version":..,"lists_version":..[,"ref":..] (rules_version
 * and ref are left out when NULL; lists_version NULL or "" is null). */
void ag_json_append_versions(ag_buf *out, const char *rules_version, const char *lists_version,
                             const char *ref);

/* Appends the decision object (no trailing newline). */
void ag_json_encode_decision(const ag_decision *d, ag_buf *out);

/*
 * An encoder that remembers the escaped text of trace steps whose wording
 * depends only on the table row (most of a trace), for callers that encode
 * many decisions: the batch command and the HTTP service. The output is
 * byte-identical to ag_json_encode_decision. Not thread-safe: one per
 * thread. Owns its memory; ag_json_encoder_free releases it. Decisions
 * made with another ag_rules clear it.
 */
typedef struct ag_json_encoder ag_json_encoder;
ag_json_encoder *ag_json_encoder_new(void);
void ag_json_encoder_free(ag_json_encoder *e);
void ag_json_encoder_decision(ag_json_encoder *e, const ag_decision *d, ag_buf *out);

/* Appends the tables in force: version, name, edition, eCFR issue, source
 * (e.g. "built-in" or the directory), dates in force, row counts. */
void ag_json_encode_rules(const ag_rules *rules, const char *source, ag_buf *out);

/* Appends {"error":{"code":...,"message":...,"field":...}}. */
void ag_json_encode_error(const ag_error *err, ag_buf *out);
/* Appends {"line":N,"error":{"code":...,"message":...,"field":...}}: a
 * rejected line of any --batch stream. */
void ag_json_encode_batch_error(long line, const ag_error *err, ag_buf *out);

#endif
