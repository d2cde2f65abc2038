/*
 * vocab.c - the closed vocabularies of the tables and the JSON contract:
 * Country Groups, chart columns, transaction kinds, end-user types, end
 * uses, item families and text statuses. One name table each, so the
 * tables, the codec and the trace spell every token the same way.
 */
#include "acegate/rules.h"

#include <string.h>

static const char *const group_names[AG_GROUP_COUNT] = {
    "A:1", "A:2", "A:3", "A:4", "A:5", "A:6", "B", "D:1", "D:2", "D:3", "D:4", "D:5", "E:1", "E:2"};
static const char *const column_names[AG_COL_COUNT] = {"NS1", "NS2", "AT1", "EI"};
static const char *const txn_names[AG_TXN_COUNT] = {"export", "reexport", "transfer",
                                                    "deemed_export", "deemed_reexport"};
static const char *const eu_names[AG_EU_COUNT] = {"government", "non_government",
                                                  "favorable_treatment_cybersecurity",
                                                  "individual"};
static const char *const use_names[AG_USE_COUNT] = {"none", "vulnerability_disclosure",
                                                    "cyber_incident_response",
                                                    "digital_artifacts_investigation",
                                                    "incident_investigation"};
static const char *const family_names[AG_FAMILY_COUNT] = {"intrusion", "ip_surveillance",
                                                          "forensic", "le_monitoring"};
static const char *const status_names[] = {"verified", "extracted", "secondary", "reconstructed",
                                            "reading"};

const char *ag_group_name(ag_group g) {
  return (unsigned)g < AG_GROUP_COUNT ? group_names[g] : "?";
}
const char *ag_column_name(ag_column c) {
  return (unsigned)c < AG_COL_COUNT ? column_names[c] : "?";
}
const char *ag_txn_kind_name(ag_txn_kind k) {
  return (unsigned)k < AG_TXN_COUNT ? txn_names[k] : "?";
}
const char *ag_end_user_type_name(ag_end_user_type t) {
  return (unsigned)t < AG_EU_COUNT ? eu_names[t] : "?";
}
const char *ag_end_use_name(ag_end_use u) {
  return (unsigned)u < AG_USE_COUNT ? use_names[u] : "?";
}
const char *ag_family_name(ag_family f) {
  return (unsigned)f < AG_FAMILY_COUNT ? family_names[f] : "?";
}
const char *ag_text_status_name(ag_text_status s) {
  return (unsigned)s < 5 ? status_names[s] : "?";
}

static int find_token(const char *const *names, int count, const char *s, size_t n) {
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
      return i;
  return -1;
}

#define PARSER(fn, type, names, count)                                                             \
  bool fn(const char *s, size_t n, type *out) {                                                    \
    int i = find_token(names, count, s, n);                                                        \
    if (i < 0)                                                                                     \
      return false;                                                                                \
    *out = (type)i;                                                                                \
    return true;                                                                                   \
  }

PARSER(ag_txn_kind_parse, ag_txn_kind, txn_names, AG_TXN_COUNT)
PARSER(ag_end_user_type_parse, ag_end_user_type, eu_names, AG_EU_COUNT)
PARSER(ag_end_use_parse, ag_end_use, use_names, AG_USE_COUNT)

/* Used by the table loader (rules_internal.h). */
int ag_rules_group_parse(const char *s, size_t n) { return find_token(group_names, AG_GROUP_COUNT, s, n); }
int ag_rules_column_parse(const char *s, size_t n) { return find_token(column_names, AG_COL_COUNT, s, n); }
int ag_rules_family_parse(const char *s, size_t n) { return find_token(family_names, AG_FAMILY_COUNT, s, n); }
int ag_rules_status_parse(const char *s, size_t n) { return find_token(status_names, 5, s, n); }
