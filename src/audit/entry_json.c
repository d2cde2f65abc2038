/*
 * entry_json.c - one stored record as a JSON object, the same for the
 * command line (`acegate audit search`) and the service (GET /v1/audit):
 * 15 CFR 762.7 records produced on request read alike whichever way they
 * are asked for.
 */
#include "audit_int.h"

#include <jansson.h>

/* Stored JSON embedded as it is (it is the exact text that was exchanged);
 * anything that does not parse as JSON as a string, so the object stays
 * valid JSON whatever a record holds. */
static void raw_json(ag_buf *b, const char *p, size_t n) {
  json_error_t jerr;
  json_t *v = json_loadb(p, n, JSON_DECODE_ANY, &jerr);
  if (v) {
    json_decref(v);
    ag_buf_append(b, p, n);
  } else {
    ag_buf_json_str(b, p, n);
  }
}

void ag_audit_entry_json(ag_buf *b, const ag_audit_entry *e) {
  char t[32];
  ag_audit_format_time(e->time_ms, t);
  ag_buf_puts(b, "{\"audit_id\":");
  ag_buf_json_cstr(b, e->id);
  ag_buf_printf(b, ",\"seq\":%lld,\"time\":\"%s\",\"kind\":\"%s\"", (long long)e->seq, t,
                ag_audit_kind_name(e->kind));
  const char *names[] = {"key_id", "client_addr", "rules_version", "lists_version",
                         "as_of",  "destination", "eccn",          "outcome"};
  const char *vals[] = {e->key_id, e->client_addr, e->rules_version, e->lists_version,
                        e->as_of,  e->destination, e->eccn,          e->outcome};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    ag_buf_printf(b, ",\"%s\":", names[i]);
    ag_buf_json_cstr(b, vals[i]);
  }
  ag_buf_puts(b, ",\"request\":");
  raw_json(b, e->request, e->request_len);
  ag_buf_puts(b, ",\"decision\":");
  raw_json(b, e->decision, e->decision_len);
  ag_buf_printf(b, ",\"prev_hash\":\"%s\",\"hash\":\"%s\"}", e->prev_hash, e->hash);
}
