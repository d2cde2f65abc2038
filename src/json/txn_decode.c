/*
 * txn_decode.c - strict decoding of a transaction (contract v1,
 * docs/decision-model.md) with the pull reader: no tree is built, each
 * field is checked as it is read, and every rejection names the field.
 */
#include "acegate/json.h"
#include "json_internal.h"

#include <stdio.h>
#include <string.h>

#define KEY_MAX 64

typedef struct {
  ag_jr r;
  ag_txn *t;
  ag_arena *arena;
  ag_error *err;
  char *ref; /* NULL: "ref" is an unknown field */
} decoder;

static const char *type_name(ag_jr_type t) {
  switch (t) {
  case AG_JR_OBJECT: return "an object";
  case AG_JR_ARRAY: return "an array";
  case AG_JR_STRING: return "a string";
  case AG_JR_BOOL: return "a boolean";
  case AG_JR_NULL: return "null";
  case AG_JR_NUMBER: return "a number";
  default: return "not a JSON value";
  }
}

/* Checks the next value's type; a wrong one is an error naming the field
 * (after confirming it is at least well-formed JSON). */
static ag_status expect(decoder *d, ag_jr_type want, const char *field, const char *what) {
  ag_jr_type got = ag_jr_peek(&d->r);
  if (got == want)
    return AG_OK;
  if (got == AG_JR_END || got == AG_JR_INVALID)
    return ag_jr_skip(&d->r, 0, d->err);
  ag_status st = ag_jr_skip(&d->r, 0, d->err);
  if (st)
    return st;
  return ag_error_set(d->err, AG_ERR_INPUT, field, "must be %s, not %s", what, type_name(got));
}

/* Reads a string value of at most max bytes into a buffer of max+1. */
static ag_status get_string(decoder *d, const char *field, char *buf, size_t max, size_t *len) {
  ag_status st = expect(d, AG_JR_STRING, field, "a string");
  if (st)
    return st;
  if ((st = ag_jr_string(&d->r, buf, max, len, d->err)))
    return st;
  if (*len > max)
    return ag_error_set(d->err, AG_ERR_LIMIT, field, "is %zu bytes long; the limit is %zu", *len,
                        max);
  buf[*len] = '\0';
  return AG_OK;
}

/* A short code (ECCN, ISO code, enum word). */
static ag_status get_code(decoder *d, const char *field, char *out, size_t cap, size_t *len) {
  char buf[4097];
  ag_status st = get_string(d, field, buf, sizeof buf - 1, len);
  if (st)
    return st;
  if (*len == 0)
    return ag_error_set(d->err, AG_ERR_INPUT, field, "must not be empty");
  if (*len >= cap)
    return ag_error_set(d->err, AG_ERR_INPUT, field, "\"%.40s%s\" is too long to be valid", buf,
                        *len > 40 ? "..." : "");
  memcpy(out, buf, *len + 1);
  return AG_OK;
}

static ag_status get_bool(decoder *d, const char *field, bool *out) {
  ag_status st = expect(d, AG_JR_BOOL, field, "true or false");
  return st ? st : ag_jr_bool(&d->r, out, d->err);
}

static bool has_control_chars(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return true;
  return false;
}

/* Iterates the members of an object: calls member(d, key, ctx) for each,
 * rejecting duplicates (seen tracks up to 32 known keys by index). */
typedef ag_status (*member_fn)(decoder *d, const char *key, size_t klen, void *ctx);

static ag_status object(decoder *d, const char *field, member_fn member, void *ctx) {
  ag_status st = expect(d, AG_JR_OBJECT, field[0] ? field : "", "an object");
  if (st) {
    if (!field[0] && st == AG_ERR_INPUT && d->err->field[0] == '\0' &&
        strstr(d->err->reason, "must be"))
      return ag_error_set(d->err, AG_ERR_INPUT, "", "the transaction must be a JSON object");
    return st;
  }
  d->r.p++; /* '{' */
  if (ag_jr_eat(&d->r, '}'))
    return AG_OK;
  char seen[16][KEY_MAX + 1];
  int nseen = 0;
  for (;;) {
    char key[KEY_MAX + 1];
    size_t klen;
    if (ag_jr_peek(&d->r) != AG_JR_STRING)
      return ag_jr_fail(&d->r, d->err, "expected a member name");
    if ((st = ag_jr_string(&d->r, key, KEY_MAX, &klen, d->err)))
      return st;
    if (klen > KEY_MAX)
      klen = KEY_MAX;
    key[klen] = '\0';
    if (!ag_jr_eat(&d->r, ':'))
      return ag_jr_fail(&d->r, d->err, "expected ':'");
    for (int i = 0; i < nseen; i++)
      if (!strcmp(seen[i], key)) {
        char path[96];
        snprintf(path, sizeof path, "%s%s%s", field, field[0] ? "." : "", key);
        return ag_error_set(d->err, AG_ERR_INPUT, path, "appears twice; give it once");
      }
    if (nseen < 16)
      memcpy(seen[nseen++], key, klen + 1);
    if ((st = member(d, key, klen, ctx)))
      return st;
    if (ag_jr_eat(&d->r, ','))
      continue;
    if (ag_jr_eat(&d->r, '}'))
      return AG_OK;
    return ag_jr_fail(&d->r, d->err, "expected ',' or '}'");
  }
}

static ag_status unknown(decoder *d, const char *prefix, const char *key) {
  char path[KEY_MAX + 48];
  snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
  return ag_error_set(d->err, AG_ERR_INPUT, path, "unknown field");
}

/* ---- item ---- */

static ag_status item_member(decoder *d, const char *key, size_t klen, void *ctx) {
  (void)klen;
  bool *have_eccn = ctx;
  size_t len;
  if (!strcmp(key, "eccn")) {
    *have_eccn = true;
    return get_code(d, "item.eccn", d->t->eccn, sizeof d->t->eccn, &len);
  }
  if (!strcmp(key, "for"))
    return get_code(d, "item.for", d->t->for_, sizeof d->t->for_, &len);
  /* the audit id of a classification record (docs/classification.md): the
   * pipeline takes the ECCN from it */
  if (!strcmp(key, "classification_id"))
    return get_code(d, "item.classification_id", d->t->classification_id,
                    sizeof d->t->classification_id, &len);
  return unknown(d, "item", key);
}

/* ---- parties ---- */

typedef struct {
  const char *field;
  ag_party *party;
  bool is_end_user;
} party_ctx;

/* A string of at most 256 bytes into the arena: not empty, no control
 * characters (a party's address or city). */
static ag_status get_text(decoder *d, const char *path, const char **out) {
  char buf[257];
  size_t len;
  ag_status st = get_string(d, path, buf, 256, &len);
  if (st)
    return st;
  if (len == 0)
    return ag_error_set(d->err, AG_ERR_INPUT, path, "must not be empty (leave it out)");
  if (has_control_chars(buf, len))
    return ag_error_set(d->err, AG_ERR_INPUT, path, "contains control characters");
  char *copy = ag_arena_alloc(d->arena, len + 1);
  if (!copy)
    return ag_error_set(d->err, AG_ERR_NOMEM, path, "out of memory");
  memcpy(copy, buf, len + 1);
  *out = copy;
  return AG_OK;
}

/* "ids": an array of identifier strings, or one string. */
static ag_status get_ids(decoder *d, const char *path, ag_party *p) {
  if (ag_jr_peek(&d->r) == AG_JR_STRING) {
    p->n_ids = 1;
    return get_text(d, path, &p->ids[0]);
  }
  ag_status st = expect(d, AG_JR_ARRAY, path, "an array of strings");
  if (st)
    return st;
  d->r.p++;
  if (ag_jr_eat(&d->r, ']'))
    return ag_error_set(d->err, AG_ERR_INPUT, path, "is an empty array (leave it out)");
  for (size_t i = 0;; i++) {
    char item[112];
    snprintf(item, sizeof item, "%s[%zu]", path, i);
    if (i >= AG_PARTY_IDS_MAX)
      return ag_error_set(d->err, AG_ERR_LIMIT, path, "has more than %d identifiers",
                          AG_PARTY_IDS_MAX);
    if ((st = get_text(d, item, &p->ids[i])))
      return st;
    p->n_ids = i + 1;
    if (ag_jr_eat(&d->r, ','))
      continue;
    if (ag_jr_eat(&d->r, ']'))
      return AG_OK;
    return ag_jr_fail(&d->r, d->err, "expected ',' or ']'");
  }
}

static ag_status party_member(decoder *d, const char *key, size_t klen, void *vctx) {
  (void)klen;
  party_ctx *c = vctx;
  char path[96];
  snprintf(path, sizeof path, "%s.%s", c->field, key);
  size_t len;
  if (!strcmp(key, "name")) {
    /* decode straight into the arena: the decoded form is never longer */
    ag_status st = expect(d, AG_JR_STRING, path, "a string");
    if (st)
      return st;
    const char *save = d->r.p;
    if ((st = ag_jr_string(&d->r, NULL, 0, &len, d->err)))
      return st;
    if (len > AG_JSON_MAX_NAME)
      return ag_error_set(d->err, AG_ERR_LIMIT, path, "is %zu bytes long; the limit is %zu", len,
                          AG_JSON_MAX_NAME);
    char *buf = ag_arena_alloc(d->arena, len + 1);
    if (!buf)
      return ag_error_set(d->err, AG_ERR_NOMEM, path, "out of memory");
    d->r.p = save;
    if ((st = ag_jr_string(&d->r, buf, len, &len, d->err)))
      return st;
    buf[len] = '\0';
    if (len == 0)
      return ag_error_set(d->err, AG_ERR_INPUT, path, "must not be empty");
    if (has_control_chars(buf, len))
      return ag_error_set(d->err, AG_ERR_INPUT, path, "contains control characters");
    c->party->name = buf;
    c->party->name_len = len;
    return AG_OK;
  }
  if (!strcmp(key, "country"))
    return get_code(d, path, c->party->country, sizeof c->party->country, &len);
  if (!strcmp(key, "address") || !strcmp(key, "city"))
    return get_text(d, path, key[0] == 'a' ? &c->party->address : &c->party->city);
  if (!strcmp(key, "ids"))
    return get_ids(d, path, c->party);
  if (c->is_end_user) {
    if (!strcmp(key, "type")) {
      char buf[65];
      ag_status st = get_string(d, path, buf, 64, &len);
      if (st)
        return st;
      if (!ag_end_user_type_parse(buf, len, &d->t->end_user_type))
        return ag_error_set(d->err, AG_ERR_INPUT, path,
                            "\"%s\" is not one of government, non_government, "
                            "favorable_treatment_cybersecurity, individual",
                            buf);
      return AG_OK;
    }
    if (!strcmp(key, "police_or_judicial"))
      return get_bool(d, path, &d->t->police_or_judicial);
    if (!strcmp(key, "national_csirt"))
      return get_bool(d, path, &d->t->national_csirt);
  }
  return unknown(d, c->field, key);
}

/* ---- due diligence (docs/due-diligence.md) ----
 * Types, spelling and limits are checked here; whether an id is a question
 * of due-diligence.tsv in force on the date, and whether its answer raises
 * the flag a resolution resolves, the engine checks against the tables. */

#define DD_MAX_NOTE 2048 /* bytes in one resolution note */

static bool dd_id_ok(const char *key, size_t klen) {
  return klen >= 2 && klen <= AG_DD_ID_MAX &&
         strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == klen;
}

static ag_dd_answer *dd_slot(decoder *d, const char *id, bool create) {
  ag_txn *t = d->t;
  for (int i = 0; i < t->n_dd; i++)
    if (!strcmp(t->dd[i].id, id))
      return &t->dd[i];
  if (!create)
    return NULL;
  if (!t->dd && !(t->dd = ag_arena_alloc(d->arena, AG_MAX_DD_ANSWERS * sizeof *t->dd)))
    return NULL;
  ag_dd_answer *a = &t->dd[t->n_dd++];
  memset(a, 0, sizeof *a);
  snprintf(a->id, sizeof a->id, "%s", id);
  return a;
}

static ag_status answer_member(decoder *d, const char *key, size_t klen, void *ctx) {
  (void)ctx;
  char path[KEY_MAX + 48];
  snprintf(path, sizeof path, "due_diligence.answers.%s", key);
  if (!dd_id_ok(key, klen))
    return ag_error_set(d->err, AG_ERR_INPUT, path,
                        "\"%.20s\" is not a due-diligence question id (RF01-RF13, CF01-CF06, "
                        "SG-S1, SG-C1a, SG-RF1, ...)",
                        key);
  ag_dd_answer *a = dd_slot(d, key, false);
  if (a && a->answer != AG_DDV_NONE)
    return ag_error_set(d->err, AG_ERR_INPUT, path, "appears twice; give it once");
  if (!a && d->t->n_dd >= AG_MAX_DD_ANSWERS)
    return ag_error_set(d->err, AG_ERR_LIMIT, path, "more than %d answers", AG_MAX_DD_ANSWERS);
  ag_jr_type ty = ag_jr_peek(&d->r);
  ag_dd_value v;
  ag_status st;
  if (ty == AG_JR_BOOL) {
    bool b;
    if ((st = ag_jr_bool(&d->r, &b, d->err)))
      return st;
    v = b ? AG_DDV_TRUE : AG_DDV_FALSE;
  } else if (ty == AG_JR_STRING) {
    char buf[33];
    size_t len;
    if ((st = get_string(d, path, buf, 32, &len)))
      return st;
    if (strcmp(buf, "unknown"))
      return ag_error_set(d->err, AG_ERR_INPUT, path,
                          "\"%s\" is not an answer: true, false or \"unknown\"", buf);
    v = AG_DDV_UNKNOWN;
  } else {
    return expect(d, AG_JR_BOOL, path, "true, false or \"unknown\"");
  }
  if (!a && !(a = dd_slot(d, key, true)))
    return ag_error_set(d->err, AG_ERR_NOMEM, path, "out of memory");
  a->answer = v;
  return AG_OK;
}

static ag_status resolved_member(decoder *d, const char *key, size_t klen, void *ctx) {
  (void)ctx;
  char path[KEY_MAX + 48];
  snprintf(path, sizeof path, "due_diligence.resolved.%s", key);
  if (!dd_id_ok(key, klen))
    return ag_error_set(d->err, AG_ERR_INPUT, path,
                        "\"%.20s\" is not a due-diligence question id", key);
  ag_status st = expect(d, AG_JR_STRING, path, "a string: the note saying how the flag was resolved");
  if (st)
    return st;
  const char *save = d->r.p;
  size_t len;
  if ((st = ag_jr_string(&d->r, NULL, 0, &len, d->err)))
    return st;
  if (len > DD_MAX_NOTE)
    return ag_error_set(d->err, AG_ERR_LIMIT, path, "is %zu bytes long; the limit is %d", len,
                        DD_MAX_NOTE);
  char *note = ag_arena_alloc(d->arena, len + 1);
  if (!note)
    return ag_error_set(d->err, AG_ERR_NOMEM, path, "out of memory");
  d->r.p = save;
  if ((st = ag_jr_string(&d->r, note, len, &len, d->err)))
    return st;
  note[len] = '\0';
  size_t blank = 0;
  while (blank < len && (note[blank] == ' ' || note[blank] == '\t'))
    blank++;
  if (blank == len)
    return ag_error_set(d->err, AG_ERR_INPUT, path,
                        "must not be empty: say how the inquiry resolved the flag");
  if (has_control_chars(note, len))
    return ag_error_set(d->err, AG_ERR_INPUT, path, "contains control characters");
  ag_dd_answer *a = dd_slot(d, key, false);
  if (!a) {
    if (d->t->n_dd >= AG_MAX_DD_ANSWERS)
      return ag_error_set(d->err, AG_ERR_LIMIT, path, "more than %d answers", AG_MAX_DD_ANSWERS);
    if (!(a = dd_slot(d, key, true)))
      return ag_error_set(d->err, AG_ERR_NOMEM, path, "out of memory");
  } else if (a->resolution) {
    return ag_error_set(d->err, AG_ERR_INPUT, path, "appears twice; give it once");
  }
  a->resolution = note;
  a->resolution_len = len;
  return AG_OK;
}

static ag_status dd_member(decoder *d, const char *key, size_t klen, void *ctx) {
  (void)klen;
  bool *have_answers = ctx;
  if (!strcmp(key, "answers")) {
    *have_answers = true;
    return object(d, "due_diligence.answers", answer_member, NULL);
  }
  if (!strcmp(key, "resolved"))
    return object(d, "due_diligence.resolved", resolved_member, NULL);
  return unknown(d, "due_diligence", key);
}

static ag_status due_diligence(decoder *d) {
  bool have_answers = false;
  ag_status st = object(d, "due_diligence", dd_member, &have_answers);
  if (st)
    return st;
  if (!have_answers)
    return ag_error_set(d->err, AG_ERR_INPUT, "due_diligence.answers", "is required");
  d->t->has_due_diligence = true;
  /* a resolution is of a flag raised by an answer given */
  for (int i = 0; i < d->t->n_dd; i++)
    if (d->t->dd[i].answer == AG_DDV_NONE) {
      char path[64];
      snprintf(path, sizeof path, "due_diligence.resolved.%s", d->t->dd[i].id);
      return ag_error_set(d->err, AG_ERR_INPUT, path,
                          "%s is not answered; only a raised flag can be resolved",
                          d->t->dd[i].id);
    }
  return AG_OK;
}

/* ---- root ---- */

typedef struct {
  bool have_item, have_dest;
} root_ctx;

static const struct {
  const char *key;
  ag_party_role role;
} party_fields[] = {{"end_user", AG_PARTY_END_USER},
                    {"consignee", AG_PARTY_CONSIGNEE},
                    {"intermediate_consignee", AG_PARTY_INTERMEDIATE_CONSIGNEE},
                    {"purchaser", AG_PARTY_PURCHASER}};

static ag_status root_member(decoder *d, const char *key, size_t klen, void *vctx) {
  (void)klen;
  root_ctx *c = vctx;
  ag_txn *t = d->t;
  char buf[65];
  size_t len;
  ag_status st;
  if (!strcmp(key, "as_of")) {
    if ((st = get_string(d, "as_of", buf, 64, &len)))
      return st;
    if (!ag_date_parse(buf, len, &t->as_of))
      return ag_error_set(d->err, AG_ERR_INPUT, "as_of",
                          "\"%s\" is not a real calendar date in the form YYYY-MM-DD", buf);
    return AG_OK;
  }
  if (!strcmp(key, "item")) {
    c->have_item = true;
    bool have_eccn = false;
    if ((st = object(d, "item", item_member, &have_eccn)))
      return st;
    return have_eccn || t->classification_id[0]
               ? AG_OK
               : ag_error_set(d->err, AG_ERR_INPUT, "item.eccn",
                              "is required (or item.classification_id)");
  }
  if (!strcmp(key, "destination")) {
    c->have_dest = true;
    return get_code(d, "destination", t->destination, sizeof t->destination, &len);
  }
  if (!strcmp(key, "transaction")) {
    if ((st = get_string(d, "transaction", buf, 64, &len)))
      return st;
    if (!ag_txn_kind_parse(buf, len, &t->transaction))
      return ag_error_set(d->err, AG_ERR_INPUT, "transaction",
                          "\"%s\" is not one of export, reexport, transfer, deemed_export, "
                          "deemed_reexport",
                          buf);
    return AG_OK;
  }
  if (!strcmp(key, "end_use")) {
    if ((st = get_string(d, "end_use", buf, 64, &len)))
      return st;
    if (!ag_end_use_parse(buf, len, &t->end_use))
      return ag_error_set(d->err, AG_ERR_INPUT, "end_use",
                          "\"%s\" is not one of none, vulnerability_disclosure, "
                          "cyber_incident_response, digital_artifacts_investigation, "
                          "incident_investigation",
                          buf);
    return AG_OK;
  }
  if (!strcmp(key, "knows_unauthorized_use"))
    return get_bool(d, "knows_unauthorized_use", &t->knows_unauthorized_use);
  if (!strcmp(key, "due_diligence"))
    return due_diligence(d);
  if (d->ref && !strcmp(key, "ref"))
    return ag_json_get_ref(&d->r, d->ref, d->err);
  for (size_t i = 0; i < sizeof party_fields / sizeof party_fields[0]; i++)
    if (!strcmp(key, party_fields[i].key)) {
      party_ctx pc = {party_fields[i].key, &t->parties[party_fields[i].role],
                      party_fields[i].role == AG_PARTY_END_USER};
      return object(d, party_fields[i].key, party_member, &pc);
    }
  return unknown(d, "", key);
}

ag_status ag_json_decode_txn(const char *json, size_t len, ag_txn *t, ag_arena *arena,
                             ag_error *err) {
  return ag_json_decode_check(json, len, t, NULL, arena, err);
}

ag_status ag_json_decode_check(const char *json, size_t len, ag_txn *t,
                               char ref[AG_JSON_REF_BYTES + 1], ag_arena *arena, ag_error *err) {
  ag_txn_init(t);
  if (ref)
    ref[0] = '\0';
  if (len > AG_JSON_MAX_REQUEST)
    return ag_error_set(err, AG_ERR_LIMIT, "", "the transaction is %zu bytes; the limit is %zu",
                        len, AG_JSON_MAX_REQUEST);
  decoder d = {.t = t, .arena = arena, .err = err, .ref = ref};
  if (!ag_utf8_valid(json, len)) {
    ag_jr_init(&d.r, json, len);
    d.r.p = json + ag_jr_utf8_error_at(json, len);
    return ag_jr_fail(&d.r, err, "invalid UTF-8");
  }
  ag_jr_init(&d.r, json, len);
  if (ag_jr_peek(&d.r) == AG_JR_END)
    return ag_jr_fail(&d.r, err, "empty input: expected a transaction object");
  root_ctx c = {false, false};
  ag_status st = object(&d, "", root_member, &c);
  if (st)
    return st;
  ag_jr_ws(&d.r);
  if (d.r.p != d.r.end)
    return ag_jr_fail(&d.r, err, "unexpected characters after the transaction object");
  if (!c.have_item)
    return ag_error_set(err, AG_ERR_INPUT, "item", "is required");
  if (!c.have_dest)
    return ag_error_set(err, AG_ERR_INPUT, "destination", "is required");
  if (t->end_user_type != AG_EU_GOVERNMENT && (t->police_or_judicial || t->national_csirt))
    return ag_error_set(err, AG_ERR_INPUT,
                        t->police_or_judicial ? "end_user.police_or_judicial"
                                              : "end_user.national_csirt",
                        "applies only to end_user.type \"government\" (740.22(c)(1)(ii))");
  return AG_OK;
}
