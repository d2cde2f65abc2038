/*
 * keys_json.c - the API keys as JSON (never the keys themselves, only what
 * is stored about them): what GET /v1/keys answers and `acegate keys list
 * --json` prints.
 */
#include "acegate/audit.h"

void ag_keys_list_json(const ag_keys_info *keys, size_t n, ag_buf *b) {
  ag_buf_puts(b, "{\"keys\":[");
  for (size_t i = 0; i < n; i++) {
    const ag_keys_info *k = &keys[i];
    char t[32];
    ag_audit_format_time(k->created_ms, t);
    ag_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
    ag_buf_json_cstr(b, k->id);
    ag_buf_printf(b, ",\"role\":\"%s\",\"name\":", ag_keys_role_name(k->role));
    ag_buf_json_cstr(b, k->name);
    ag_buf_printf(b, ",\"created\":\"%s\",\"revoked\":", t);
    if (k->revoked_ms) {
      ag_audit_format_time(k->revoked_ms, t);
      ag_buf_printf(b, "\"%s\"}", t);
    } else {
      ag_buf_puts(b, "null}");
    }
  }
  ag_buf_puts(b, "]}");
}
