/*
 * screening.c - the screening contract (docs/api.md, "Screenings"): one
 * strict decoder and one encoder for a screening request and its result,
 * shared by `acegate screen` and POST /v1/screenings, and the caller
 * reference `ref` that checks and screenings both carry.
 *
 * Strict as the transaction decoder is: unknown fields, wrong types, an
 * empty name or country, numbers out of range are errors naming the field.
 */
#include "acegate/json.h"
#include "json_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 64

static bool has_control_chars(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return true;
  return false;
}

static size_t utf8_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* A wrong type is reported once the value is known to be well-formed. */
static ag_status want(ag_jr *r, ag_jr_type t, const char *field, const char *what,
                      ag_error *err) {
  ag_jr_type got = ag_jr_peek(r);
  if (got == t)
    return AG_OK;
  ag_status st = ag_jr_skip(r, 0, err);
  if (st || got == AG_JR_END || got == AG_JR_INVALID)
    return st ? st : ag_jr_fail(r, err, "expected a value");
  return ag_error_set(err, AG_ERR_INPUT, field, "must be %s", what);
}

ag_status ag_json_check_ref(const char *s, size_t n, ag_error *err) {
  if (n == 0)
    return ag_error_set(err, AG_ERR_INPUT, "ref", "must not be empty (leave it out)");
  if (!ag_utf8_valid(s, n))
    return ag_error_set(err, AG_ERR_INPUT, "ref", "is not valid UTF-8");
  if (n > AG_JSON_REF_BYTES || utf8_chars(s, n) > AG_JSON_MAX_REF)
    return ag_error_set(err, AG_ERR_LIMIT, "ref", "is longer than %d characters",
                        AG_JSON_MAX_REF);
  if (has_control_chars(s, n))
    return ag_error_set(err, AG_ERR_INPUT, "ref", "contains control characters");
  return AG_OK;
}

ag_status ag_json_get_ref(ag_jr *r, char *ref, ag_error *err) {
  ag_status st = want(r, AG_JR_STRING, "ref", "a string", err);
  if (st)
    return st;
  size_t len;
  if ((st = ag_jr_string(r, ref, AG_JSON_REF_BYTES, &len, err)))
    return st;
  if (len > AG_JSON_REF_BYTES)
    return ag_error_set(err, AG_ERR_LIMIT, "ref", "is longer than %d characters",
                        AG_JSON_MAX_REF);
  if ((st = ag_json_check_ref(ref, len, err)))
    return st;
  ref[len] = '\0';
  return AG_OK;
}

/* A JSON number token as a double; integral says whether it has no
 * fraction or exponent. Both are set on every path, errors included. */
static ag_status get_number(ag_jr *r, const char *field, const char *what, double *out,
                            bool *integral, ag_error *err) {
  *out = 0;
  *integral = false;
  ag_status st = want(r, AG_JR_NUMBER, field, what, err);
  if (st)
    return st;
  const char *start = r->p;
  if ((st = ag_jr_skip(r, 0, err))) /* checks the grammar */
    return st;
  char buf[64];
  size_t n = (size_t)(r->p - start);
  if (n >= sizeof buf)
    return ag_error_set(err, AG_ERR_INPUT, field, "must be %s", what);
  memcpy(buf, start, n);
  buf[n] = '\0';
  *integral = !strpbrk(buf, ".eE");
  *out = strtod(buf, NULL);
  return AG_OK;
}

/* A string member into the arena: not empty, at most max bytes, no
 * control characters. */
static ag_status get_text(ag_jr *r, const char *field, size_t max, ag_arena *arena,
                          const char **out, ag_error *err) {
  ag_status st = want(r, AG_JR_STRING, field, "a string", err);
  if (st)
    return st;
  const char *save = r->p;
  size_t len;
  if ((st = ag_jr_string(r, NULL, 0, &len, err)))
    return st;
  if (len > max)
    return ag_error_set(err, AG_ERR_LIMIT, field, "is %zu bytes long; the limit is %zu", len,
                        max);
  char *buf = ag_arena_alloc(arena, len + 1);
  if (!buf)
    return ag_error_set(err, AG_ERR_NOMEM, field, "out of memory");
  r->p = save;
  if ((st = ag_jr_string(r, buf, len, &len, err)))
    return st;
  buf[len] = '\0';
  if (len == 0)
    return ag_error_set(err, AG_ERR_INPUT, field, "must not be empty (leave it out)");
  if (has_control_chars(buf, len))
    return ag_error_set(err, AG_ERR_INPUT, field, "contains control characters");
  *out = buf;
  return AG_OK;
}

/* "SDN,EL" or ["SDN","EL"]: kept as one comma-separated string (the
 * screening module checks each item and names the field). */
static ag_status get_filter(ag_jr *r, const char *field, ag_arena *arena, const char **out,
                            ag_error *err) {
  if (ag_jr_peek(r) == AG_JR_NULL)
    return ag_jr_skip(r, 0, err);
  if (ag_jr_peek(r) == AG_JR_STRING)
    return get_text(r, field, 512, arena, out, err);
  ag_status st = want(r, AG_JR_ARRAY, field, "a comma-separated string or an array of strings",
                      err);
  if (st)
    return st;
  r->p++;
  ag_buf all;
  ag_buf_init(&all);
  size_t i = 0;
  if (!ag_jr_eat(r, ']'))
    for (;; i++) {
      char f[48];
      snprintf(f, sizeof f, "%s[%zu]", field, i);
      const char *item = ""; /* set by get_text on success */
      if ((st = get_text(r, f, 64, arena, &item, err)))
        break;
      if (strchr(item, ',')) {
        st = ag_error_set(err, AG_ERR_INPUT, f, "must be one value, without a comma");
        break;
      }
      if (all.len)
        ag_buf_putc(&all, ',');
      ag_buf_puts(&all, item);
      if (ag_jr_eat(r, ','))
        continue;
      if (ag_jr_eat(r, ']'))
        break;
      st = ag_jr_fail(r, err, "expected ',' or ']'");
      break;
    }
  if (!st && !all.len)
    st = ag_error_set(err, AG_ERR_INPUT, field, "is an empty array (leave it out)");
  if (!st) {
    char *s = ag_arena_alloc(arena, all.len + 1);
    if (!s || all.failed)
      st = ag_error_set(err, AG_ERR_NOMEM, field, "out of memory");
    else {
      memcpy(s, all.data, all.len);
      s[all.len] = '\0';
      *out = s;
    }
  }
  ag_buf_free(&all);
  return st;
}

static ag_status get_ids(ag_jr *r, ag_screening *q, ag_arena *arena, ag_error *err) {
  if (ag_jr_peek(r) == AG_JR_NULL)
    return ag_jr_skip(r, 0, err);
  ag_status st = want(r, AG_JR_ARRAY, "ids", "an array of strings", err);
  if (st)
    return st;
  r->p++;
  if (ag_jr_eat(r, ']'))
    return ag_error_set(err, AG_ERR_INPUT, "ids", "is an empty array (leave it out)");
  for (size_t i = 0;; i++) {
    char f[24];
    snprintf(f, sizeof f, "ids[%zu]", i);
    if (i >= AG_SCREEN_IDS_MAX)
      return ag_error_set(err, AG_ERR_LIMIT, "ids", "has more than %d identifiers",
                          AG_SCREEN_IDS_MAX);
    if ((st = get_text(r, f, 64, arena, &q->ids[i], err)))
      return st;
    q->n_ids = i + 1;
    if (ag_jr_eat(r, ','))
      continue;
    if (ag_jr_eat(r, ']'))
      return AG_OK;
    return ag_jr_fail(r, err, "expected ',' or ']'");
  }
}

static ag_status screening_member(ag_jr *r, const char *key, ag_screening *q, ag_arena *arena,
                                  ag_error *err) {
  ag_status st;
  size_t len;
  if (!strcmp(key, "address") || !strcmp(key, "city") || !strcmp(key, "type")) {
    const char **slot = key[0] == 'a' ? &q->address : key[0] == 'c' ? &q->city : &q->type;
    if (ag_jr_peek(r) == AG_JR_NULL)
      return ag_jr_skip(r, 0, err);
    return get_text(r, key, 256, arena, slot, err);
  }
  if (!strcmp(key, "ids"))
    return get_ids(r, q, arena, err);
  if (!strcmp(key, "sources"))
    return get_filter(r, "sources", arena, &q->sources, err);
  if (!strcmp(key, "types"))
    return get_filter(r, "types", arena, &q->types, err);
  if (!strcmp(key, "countries"))
    return get_filter(r, "countries", arena, &q->countries, err);
  if (!strcmp(key, "name")) {
    if ((st = want(r, AG_JR_STRING, "name", "a string", err)))
      return st;
    const char *save = r->p;
    if ((st = ag_jr_string(r, NULL, 0, &len, err)))
      return st;
    if (len > AG_JSON_MAX_NAME)
      return ag_error_set(err, AG_ERR_LIMIT, "name", "is %zu bytes long; the limit is %zu", len,
                          AG_JSON_MAX_NAME);
    char *buf = ag_arena_alloc(arena, len + 1);
    if (!buf)
      return ag_error_set(err, AG_ERR_NOMEM, "name", "out of memory");
    r->p = save;
    if ((st = ag_jr_string(r, buf, len, &len, err)))
      return st;
    buf[len] = '\0';
    if (len == 0)
      return ag_error_set(err, AG_ERR_INPUT, "name", "must not be empty");
    q->name = buf;
    q->name_len = len;
    return AG_OK;
  }
  if (!strcmp(key, "country")) {
    if (ag_jr_peek(r) == AG_JR_NULL)
      return ag_jr_skip(r, 0, err);
    if ((st = want(r, AG_JR_STRING, "country", "a string or null", err)))
      return st;
    char buf[16];
    if ((st = ag_jr_string(r, buf, sizeof buf - 1, &len, err)))
      return st;
    if (len == 0)
      return ag_error_set(err, AG_ERR_INPUT, "country",
                          "must not be empty (leave it out, or null, for no country)");
    if (len >= sizeof q->country)
      return ag_error_set(err, AG_ERR_INPUT, "country", "is too long to be an ISO code");
    memcpy(q->country, buf, len);
    q->country[len] = '\0';
    return AG_OK;
  }
  if (!strcmp(key, "max_matches")) {
    double v;
    bool integral;
    char what[64];
    snprintf(what, sizeof what, "an integer from 1 to %d", AG_SCREEN_MATCHES_MAX);
    if ((st = get_number(r, "max_matches", what, &v, &integral, err)))
      return st;
    if (!integral || v < 1 || v > AG_SCREEN_MATCHES_MAX)
      return ag_error_set(err, AG_ERR_INPUT, "max_matches", "must be %s", what);
    q->max_matches = (size_t)v;
    return AG_OK;
  }
  if (!strcmp(key, "min_score")) {
    double v;
    bool integral;
    char what[64];
    snprintf(what, sizeof what, "a number above 0, at most 1");
    if ((st = get_number(r, "min_score", what, &v, &integral, err)))
      return st;
    if (!(v > 0 && v <= 1))
      return ag_error_set(err, AG_ERR_INPUT, "min_score", "must be %s", what);
    q->min_score = v;
    return AG_OK;
  }
  if (!strcmp(key, "ref"))
    return ag_json_get_ref(r, q->ref, err);
  return ag_error_set(err, AG_ERR_INPUT, key, "unknown field");
}

ag_status ag_json_decode_screening(const char *json, size_t len, ag_screening *q, ag_arena *arena,
                                   ag_error *err) {
  memset(q, 0, sizeof *q);
  if (len > AG_JSON_MAX_REQUEST)
    return ag_error_set(err, AG_ERR_LIMIT, "", "the screening is %zu bytes; the limit is %zu",
                        len, AG_JSON_MAX_REQUEST);
  ag_jr r;
  ag_jr_init(&r, json, len);
  if (!ag_utf8_valid(json, len)) {
    r.p = json + ag_jr_utf8_error_at(json, len);
    return ag_jr_fail(&r, err, "invalid UTF-8");
  }
  ag_jr_type t = ag_jr_peek(&r);
  if (t == AG_JR_END)
    return ag_jr_fail(&r, err, "empty input: expected a screening object");
  if (t != AG_JR_OBJECT) {
    ag_status st = ag_jr_skip(&r, 0, err);
    return st ? st : ag_error_set(err, AG_ERR_INPUT, "", "the screening must be a JSON object");
  }
  r.p++;
  char seen[16][KEY_MAX + 1];
  int nseen = 0;
  if (!ag_jr_eat(&r, '}')) {
    for (;;) {
      char key[KEY_MAX + 1];
      size_t klen;
      ag_status st;
      if (ag_jr_peek(&r) != AG_JR_STRING)
        return ag_jr_fail(&r, err, "expected a member name");
      if ((st = ag_jr_string(&r, key, KEY_MAX, &klen, err)))
        return st;
      key[klen > KEY_MAX ? KEY_MAX : klen] = '\0';
      if (!ag_jr_eat(&r, ':'))
        return ag_jr_fail(&r, err, "expected ':'");
      for (int i = 0; i < nseen; i++)
        if (!strcmp(seen[i], key))
          return ag_error_set(err, AG_ERR_INPUT, key, "appears twice; give it once");
      if (nseen < 16)
        snprintf(seen[nseen++], sizeof seen[0], "%s", key);
      if ((st = screening_member(&r, key, q, arena, err)))
        return st;
      if (ag_jr_eat(&r, ','))
        continue;
      if (ag_jr_eat(&r, '}'))
        break;
      return ag_jr_fail(&r, err, "expected ',' or '}'");
    }
  }
  ag_jr_ws(&r);
  if (r.p != r.end)
    return ag_jr_fail(&r, err, "unexpected characters after the screening object");
  if (!q->name)
    return ag_error_set(err, AG_ERR_INPUT, "name", "is required");
  return AG_OK;
}

static const char *const screening_outcome[] = {"NO_MATCH", "POSSIBLE_MATCH", "CONFIDENT_MATCH"};

ag_screen_level ag_json_screening_level(const ag_screen_result *res) {
  return ag_json_screening_level_noted(res, NULL);
}

ag_screen_level ag_json_screening_level_noted(const ag_screen_result *res,
                                              const ag_match_note *notes) {
  ag_screen_level best = AG_SCREEN_LEVEL_NONE;
  for (size_t i = 0; i < res->count; i++) {
    ag_screen_level l = res->matches[i].level;
    ag_remembered_kind k = notes ? notes[i].remembered.kind : AG_REMEMBERED_NONE;
    if (k == AG_REMEMBERED_CLEARED)
      continue; /* a reviewer found the party is not this entry */
    if (k == AG_REMEMBERED_CONFIRMED)
      l = AG_SCREEN_LEVEL_CONFIDENT;
    if (l > best)
      best = l;
  }
  return best;
}

const char *ag_json_screening_outcome(ag_screen_level level) {
  return level <= AG_SCREEN_LEVEL_CONFIDENT ? screening_outcome[level] : screening_outcome[0];
}

void ag_json_encode_screening(const ag_screening *q, const ag_screen_result *res,
                              const char *rules_version, const char *lists_version, ag_buf *b) {
  ag_json_encode_screening_noted(q, res, NULL, rules_version, lists_version, b);
}

static void put_note(const ag_match_note *n, ag_buf *b) {
  if (n->entry_hash[0]) {
    ag_buf_puts(b, ",\"entry_hash\":");
    ag_buf_json_cstr(b, n->entry_hash);
  }
  const ag_remembered *r = &n->remembered;
  if (r->kind == AG_REMEMBERED_NONE)
    return;
  ag_buf_puts(b, ",\"remembered\":{\"audit_id\":");
  ag_buf_json_cstr(b, r->audit_id);
  ag_buf_puts(b, ",\"decision\":");
  ag_buf_json_cstr(b, ag_remembered_kind_name(r->kind));
  ag_buf_puts(b, ",\"reviewer\":");
  ag_buf_json_cstr(b, r->reviewer);
  ag_buf_puts(b, ",\"date\":");
  ag_buf_json_cstr(b, r->date);
  ag_buf_putc(b, '}');
}

void ag_json_encode_screening_noted(const ag_screening *q, const ag_screen_result *res,
                                    const ag_match_note *notes, const char *rules_version,
                                    const char *lists_version, ag_buf *b) {
  ag_buf_puts(b, "{\"name\":");
  ag_buf_json_str(b, q->name, q->name_len);
  ag_buf_puts(b, ",\"country\":");
  if (q->country[0]) {
    /* as the matcher read it: upper case */
    char cc[sizeof q->country];
    size_t n = strlen(q->country);
    for (size_t i = 0; i <= n; i++)
      cc[i] = q->country[i] >= 'a' && q->country[i] <= 'z' ? (char)(q->country[i] - 32)
                                                           : q->country[i];
    ag_buf_json_str(b, cc, n);
  } else {
    ag_buf_puts(b, "null");
  }
  /* the evidence and filters given, as given */
  const char *const given[][2] = {{"address", q->address}, {"city", q->city}, {"type", q->type},
                                  {"sources", q->sources}, {"types", q->types},
                                  {"countries", q->countries}};
  for (size_t i = 0; i < sizeof given / sizeof *given; i++)
    if (given[i][1]) {
      ag_buf_printf(b, ",\"%s\":", given[i][0]);
      ag_buf_json_cstr(b, given[i][1]);
    }
  if (q->n_ids) {
    ag_buf_puts(b, ",\"ids\":[");
    for (size_t i = 0; i < q->n_ids; i++) {
      if (i)
        ag_buf_putc(b, ',');
      ag_buf_json_cstr(b, q->ids[i]);
    }
    ag_buf_putc(b, ']');
  }
  ag_buf_puts(b, ",\"normalized\":");
  ag_buf_json_cstr(b, res->normalized ? res->normalized : "");
  ag_buf_printf(b, ",\"outcome\":\"%s\",\"matches\":[",
                ag_json_screening_outcome(ag_json_screening_level_noted(res, notes)));
  for (size_t i = 0; i < res->count; i++) {
    if (i)
      ag_buf_putc(b, ',');
    size_t at = b->len;
    ag_screen_match_json(&res->matches[i], true, b);
    if (notes && !b->failed && b->len > at && b->data[b->len - 1] == '}') {
      b->len--;
      put_note(&notes[i], b);
      ag_buf_putc(b, '}');
    }
  }
  ag_buf_puts(b, "]");
  ag_json_append_versions(b, rules_version, lists_version, q->ref[0] ? q->ref : NULL);
  ag_buf_putc(b, '}');
}

void ag_json_append_versions(ag_buf *b, const char *rules_version, const char *lists_version,
                             const char *ref) {
  if (rules_version) {
    ag_buf_puts(b, ",\"rules_version\":");
    ag_buf_json_cstr(b, rules_version);
  }
  ag_buf_puts(b, ",\"lists_version\":");
  if (lists_version && *lists_version)
    ag_buf_json_cstr(b, lists_version);
  else
    ag_buf_puts(b, "null");
  if (ref) {
    ag_buf_puts(b, ",\"ref\":");
    ag_buf_json_cstr(b, ref);
  }
}

void ag_json_encode_batch_error(long line, const ag_error *err, ag_buf *b) {
  /* {"line":N,"error":{...}}: the error object without its opening brace */
  ag_buf_printf(b, "{\"line\":%ld,", line);
  size_t at = b->len;
  ag_json_encode_error(err, b);
  if (!b->failed && b->len > at) {
    memmove(b->data + at, b->data + at + 1, b->len - at - 1);
    b->len--;
  }
}
