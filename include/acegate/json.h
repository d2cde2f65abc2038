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

/* Documented limits (README.md, "Limits"). */
#define AG_JSON_MAX_REQUEST ((size_t)64 * 1024) /* bytes in one transaction or batch line */
#define AG_JSON_MAX_NAME ((size_t)1024)          /* bytes in one party name */

ag_status ag_json_decode_txn(const char *json, size_t len, ag_txn *out, ag_arena *arena,
                             ag_error *err);

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

/* Appends {"error":{"code":...,"message":...,"field":...}}. */
void ag_json_encode_error(const ag_error *err, ag_buf *out);

#endif
