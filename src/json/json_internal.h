/*
 * json_internal.h - the strict pull reader behind the transaction decoder.
 */
#ifndef ACEGATE_JSON_INTERNAL_H
#define ACEGATE_JSON_INTERNAL_H

#include "acegate/common.h"

typedef struct {
  const char *start, *p, *end;
} ag_jr;

typedef enum {
  AG_JR_OBJECT, AG_JR_ARRAY, AG_JR_STRING, AG_JR_BOOL, AG_JR_NULL, AG_JR_NUMBER,
  AG_JR_END, AG_JR_INVALID
} ag_jr_type;

void ag_jr_init(ag_jr *r, const char *text, size_t len);
void ag_jr_ws(ag_jr *r);
ag_jr_type ag_jr_peek(ag_jr *r);
bool ag_jr_eat(ag_jr *r, char c);
ag_status ag_jr_string(ag_jr *r, char *out, size_t cap, size_t *len, ag_error *err);
ag_status ag_jr_bool(ag_jr *r, bool *out, ag_error *err);
ag_status ag_jr_skip(ag_jr *r, int depth, ag_error *err);
ag_status ag_jr_fail(ag_jr *r, ag_error *err, const char *why);
size_t ag_jr_utf8_error_at(const char *s, size_t len);

/* Reads the "ref" member's value into ref (AG_JSON_REF_BYTES + 1 bytes). */
ag_status ag_json_get_ref(ag_jr *r, char *ref, ag_error *err);

#endif
