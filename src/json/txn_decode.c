/*
 * txn_decode.c - strict decoding of a transaction (contract v1,
 * docs/decision-model.md) with jansson. Every rejection names the field.
 */
#include "acegate/json.h"

#include <jansson.h>
#include <string.h>

static ag_status type_error(ag_error *err, const char *field, const char *want) {
  return ag_error_set(err, AG_ERR_INPUT, field, "must be %s", want);
}

static ag_status get_string(json_t *v, const char *field, size_t max, const char **s, size_t *n,
                            ag_error *err) {
  if (!json_is_string(v))
    return type_error(err, field, "a string");
  *s = json_string_value(v);
  *n = json_string_length(v);
  if (*n > max)
    return ag_error_set(err, AG_ERR_LIMIT, field, "is %zu bytes long; the limit is %zu", *n, max);
  if (memchr(*s, '\0', *n))
    return ag_error_set(err, AG_ERR_INPUT, field, "contains a NUL character");
  return AG_OK;
}

static ag_status get_bool(json_t *v, const char *field, bool *out, ag_error *err) {
  if (!json_is_boolean(v))
    return type_error(err, field, "true or false");
  *out = json_is_true(v);
  return AG_OK;
}

/* Copies a short code field into a fixed buffer. */
static ag_status get_code(json_t *v, const char *field, char *out, size_t cap, ag_error *err) {
  const char *s;
  size_t n;
  ag_status st = get_string(v, field, 4096, &s, &n, err);
  if (st)
    return st;
  if (n == 0)
    return ag_error_set(err, AG_ERR_INPUT, field, "must not be empty");
  if (n >= cap)
    return ag_error_set(err, AG_ERR_INPUT, field, "\"%.40s%s\" is too long to be valid", s,
                        n > 40 ? "..." : "");
  memcpy(out, s, n);
  out[n] = '\0';
  return AG_OK;
}

static bool has_control_chars(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return true;
  return false;
}

static ag_status decode_party(json_t *obj, const char *field, ag_party *p, bool is_end_user,
                              ag_txn *t, ag_arena *arena, ag_error *err) {
  if (!json_is_object(obj))
    return type_error(err, field, "an object");
  const char *key;
  json_t *v;
  char path[64];
  json_object_foreach(obj, key, v) {
    snprintf(path, sizeof path, "%s.%s", field, key);
    ag_status st = AG_OK;
    if (!strcmp(key, "name")) {
      const char *s;
      size_t n;
      if ((st = get_string(v, path, AG_JSON_MAX_NAME, &s, &n, err)))
        return st;
      if (n == 0)
        return ag_error_set(err, AG_ERR_INPUT, path, "must not be empty");
      if (has_control_chars(s, n))
        return ag_error_set(err, AG_ERR_INPUT, path, "contains control characters");
      p->name = ag_arena_strndup(arena, s, n);
      if (!p->name)
        return ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
      p->name_len = n;
    } else if (!strcmp(key, "country")) {
      st = get_code(v, path, p->country, sizeof p->country, err);
    } else if (is_end_user && !strcmp(key, "type")) {
      const char *s;
      size_t n;
      if ((st = get_string(v, path, 64, &s, &n, err)))
        return st;
      if (!ag_end_user_type_parse(s, n, &t->end_user_type))
        return ag_error_set(err, AG_ERR_INPUT, path,
                            "\"%.*s\" is not one of government, non_government, "
                            "favorable_treatment_cybersecurity, individual",
                            (int)n, s);
    } else if (is_end_user && !strcmp(key, "police_or_judicial")) {
      st = get_bool(v, path, &t->police_or_judicial, err);
    } else if (is_end_user && !strcmp(key, "national_csirt")) {
      st = get_bool(v, path, &t->national_csirt, err);
    } else {
      return ag_error_set(err, AG_ERR_INPUT, path, "unknown field");
    }
    if (st)
      return st;
  }
  return AG_OK;
}

static ag_status decode_item(json_t *obj, ag_txn *t, ag_error *err) {
  if (!json_is_object(obj))
    return type_error(err, "item", "an object");
  const char *key;
  json_t *v;
  bool have_eccn = false;
  json_object_foreach(obj, key, v) {
    ag_status st;
    if (!strcmp(key, "eccn")) {
      st = get_code(v, "item.eccn", t->eccn, sizeof t->eccn, err);
      have_eccn = true;
    } else if (!strcmp(key, "for")) {
      st = get_code(v, "item.for", t->for_, sizeof t->for_, err);
    } else {
      char path[64];
      snprintf(path, sizeof path, "item.%s", key);
      return ag_error_set(err, AG_ERR_INPUT, path, "unknown field");
    }
    if (st)
      return st;
  }
  if (!have_eccn)
    return ag_error_set(err, AG_ERR_INPUT, "item.eccn", "is required");
  return AG_OK;
}

static const struct {
  const char *key;
  ag_party_role role;
} party_fields[] = {{"consignee", AG_PARTY_CONSIGNEE},
                    {"intermediate_consignee", AG_PARTY_INTERMEDIATE_CONSIGNEE},
                    {"purchaser", AG_PARTY_PURCHASER}};

static ag_status decode_root(json_t *root, ag_txn *t, ag_arena *arena, ag_error *err) {
  if (!json_is_object(root))
    return ag_error_set(err, AG_ERR_INPUT, "", "the transaction must be a JSON object");
  bool have_item = false, have_dest = false;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    ag_status st = AG_OK;
    if (!strcmp(key, "as_of")) {
      const char *s;
      size_t n;
      if ((st = get_string(v, "as_of", 64, &s, &n, err)))
        return st;
      if (!ag_date_parse(s, n, &t->as_of))
        return ag_error_set(err, AG_ERR_INPUT, "as_of",
                            "\"%.*s\" is not a real calendar date in the form YYYY-MM-DD", (int)n,
                            s);
    } else if (!strcmp(key, "item")) {
      st = decode_item(v, t, err);
      have_item = true;
    } else if (!strcmp(key, "destination")) {
      st = get_code(v, "destination", t->destination, sizeof t->destination, err);
      have_dest = true;
    } else if (!strcmp(key, "transaction")) {
      const char *s;
      size_t n;
      if ((st = get_string(v, "transaction", 64, &s, &n, err)))
        return st;
      if (!ag_txn_kind_parse(s, n, &t->transaction))
        return ag_error_set(err, AG_ERR_INPUT, "transaction",
                            "\"%.*s\" is not one of export, reexport, transfer, deemed_export, "
                            "deemed_reexport",
                            (int)n, s);
    } else if (!strcmp(key, "end_user")) {
      st = decode_party(v, "end_user", &t->parties[AG_PARTY_END_USER], true, t, arena, err);
    } else if (!strcmp(key, "end_use")) {
      const char *s;
      size_t n;
      if ((st = get_string(v, "end_use", 64, &s, &n, err)))
        return st;
      if (!ag_end_use_parse(s, n, &t->end_use))
        return ag_error_set(err, AG_ERR_INPUT, "end_use",
                            "\"%.*s\" is not one of none, vulnerability_disclosure, "
                            "cyber_incident_response, digital_artifacts_investigation, "
                            "incident_investigation",
                            (int)n, s);
    } else if (!strcmp(key, "knows_unauthorized_use")) {
      st = get_bool(v, "knows_unauthorized_use", &t->knows_unauthorized_use, err);
    } else {
      bool found = false;
      for (size_t i = 0; i < sizeof party_fields / sizeof party_fields[0]; i++)
        if (!strcmp(key, party_fields[i].key)) {
          st = decode_party(v, key, &t->parties[party_fields[i].role], false, t, arena, err);
          found = true;
        }
      if (!found)
        return ag_error_set(err, AG_ERR_INPUT, key, "unknown field");
    }
    if (st)
      return st;
  }
  if (!have_item)
    return ag_error_set(err, AG_ERR_INPUT, "item", "is required");
  if (!have_dest)
    return ag_error_set(err, AG_ERR_INPUT, "destination", "is required");
  if (t->end_user_type != AG_EU_GOVERNMENT && (t->police_or_judicial || t->national_csirt))
    return ag_error_set(err, AG_ERR_INPUT,
                        t->police_or_judicial ? "end_user.police_or_judicial"
                                              : "end_user.national_csirt",
                        "applies only to end_user.type \"government\" (740.22(c)(1)(ii))");
  return AG_OK;
}

ag_status ag_json_decode_txn(const char *json, size_t len, ag_txn *t, ag_arena *arena,
                             ag_error *err) {
  ag_txn_init(t);
  if (len > AG_JSON_MAX_REQUEST)
    return ag_error_set(err, AG_ERR_LIMIT, "", "the transaction is %zu bytes; the limit is %d",
                        len, AG_JSON_MAX_REQUEST);
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    const char *why = jerr.text;
    if (json_error_code(&jerr) == json_error_invalid_utf8)
      why = "invalid UTF-8";
    return ag_error_set(err, AG_ERR_INPUT, "", "malformed JSON at line %d, column %d: %s",
                        jerr.line, jerr.column, why);
  }
  ag_status st = decode_root(root, t, arena, err);
  json_decref(root);
  return st;
}
