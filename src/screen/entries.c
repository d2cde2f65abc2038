/*
 * entries.c - the listed entries of an opened set, one at a time, for
 * comparing two sets of lists (what an update adds, removes and changes).
 *
 * An entry is known by its list code and source id (the list file's own
 * id, or the content id load.c derives); its digest covers every field and
 * every name and alias, so a changed entry has the same key and another
 * digest.
 */
#include "screen_int.h"

#include <string.h>

size_t ag_screen_entry_count(const ag_screen *s) {
  return sx_handle_view(s)->h->n_entries;
}

void ag_screen_entry_get(const ag_screen *s, size_t i, ag_screen_entry_info *out) {
  const sx_view *v = sx_handle_view(s);
  const sx_entry *e = &v->entries[i];
  out->list = e->list;
  out->source_id = sx_str(v, e->f[SX_F_SOURCE_ID]);
  out->name = sx_str(v, e->f[SX_F_NAME]);
  /* fields then names, each with its NUL, so "ab"+"c" differs from "a"+"bc" */
  ag_buf b;
  ag_buf_init(&b);
  for (int f = 0; f < SX_F_COUNT; f++) {
    const char *t = sx_str(v, e->f[f]);
    ag_buf_append(&b, t, strlen(t) + 1);
  }
  for (uint32_t k = 0; k < e->name_count; k++) {
    const char *t = sx_str(v, v->names[e->first_name + k].display);
    ag_buf_append(&b, t, strlen(t) + 1);
  }
  uint8_t md[32] = {0};
  if (!b.failed)
    sx_sha256(b.data, b.len, md);
  memcpy(out->digest, md, sizeof out->digest);
  ag_buf_free(&b);
}

void ag_screen_digest_hex(const uint8_t digest[16], char out[AG_SCREEN_ENTRY_HASH_HEX]) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[32] = '\0';
}

void ag_screen_entry_hash(const ag_screen *s, size_t i, char out[AG_SCREEN_ENTRY_HASH_HEX]) {
  ag_screen_entry_info info;
  ag_screen_entry_get(s, i, &info);
  ag_screen_digest_hex(info.digest, out);
}
