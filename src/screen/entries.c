/*
 * entries.c - the listed entries of an opened set, one at a time, for
 * comparing two sets of lists (what an update adds, removes and changes).
 *
 * An entry is known by its list code and source id (the list file's own
 * id, or the content id load.c derives); its digest covers every field and
 * every name and alias, so a changed entry has the same key and another
 * digest. A review item shows an entry beside the party it was found for,
 * looked up by list and id.
 */
#include "screen_int.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

size_t ag_screen_entry_count(const ag_screen *s) {
  return sx_handle_view(s)->h->n_entries;
}

/* The digest of entry i, as computed below, from the handle's slot once a
 * caller has computed it. */
static void digest_of(const ag_screen *s, const sx_view *v, size_t i, uint8_t out[16]);

void ag_screen_entry_get(const ag_screen *s, size_t i, ag_screen_entry_info *out) {
  const sx_view *v = sx_handle_view(s);
  const sx_entry *e = &v->entries[i];
  out->list = e->list;
  out->source_id = sx_str(v, e->f[SX_F_SOURCE_ID]);
  out->name = sx_str(v, e->f[SX_F_NAME]);
  digest_of(s, v, i, out->digest);
}

static void digest_of(const ag_screen *s, const sx_view *v, size_t i, uint8_t out[16]) {
  sx_digest_slot *slot = &sx_handle_digests(s)[i];
  if (atomic_load_explicit(&slot->state, memory_order_acquire) == SX_DIGEST_READY) {
    memcpy(out, slot->digest, 16);
    return;
  }
  const sx_entry *e = &v->entries[i];
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
  bool ok = !b.failed && sx_sha256(b.data, b.len, md);
  memcpy(out, md, 16);
  ag_buf_free(&b);
  /* kept by the first thread to claim the slot; one that loses the race
   * has computed the same digest for itself */
  uint8_t none = SX_DIGEST_NONE;
  if (ok && atomic_compare_exchange_strong_explicit(&slot->state, &none, SX_DIGEST_WRITING,
                                                    memory_order_acquire, memory_order_relaxed)) {
    memcpy(slot->digest, md, 16);
    atomic_store_explicit(&slot->state, SX_DIGEST_READY, memory_order_release);
  }
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

size_t ag_screen_entry_find(const ag_screen *s, const char *list, const char *source_id) {
  if (!s || !list || !*list || !source_id)
    return SIZE_MAX;
  const sx_view *v = sx_handle_view(s);
  for (uint32_t i = 0; i < v->h->n_entries; i++) {
    const sx_entry *e = &v->entries[i];
    if (strcmp(sx_str(v, e->f[SX_F_SOURCE_ID]), source_id) != 0)
      continue;
    const sx_list *l = &v->lists[e->list];
    if (!strcmp(sx_str(v, l->code), list) || !strcmp(sx_str(v, l->name), list))
      return i;
  }
  return SIZE_MAX;
}

static void put_field(ag_buf *b, const char *key, const char *val) {
  ag_buf_printf(b, ",\"%s\":", key);
  ag_buf_json_cstr(b, val);
}

static void put_list(ag_buf *b, const char *key, const char *val) {
  ag_buf_printf(b, ",\"%s\":", key);
  sx_json_list(b, val);
}

void ag_screen_entry_json(const ag_screen *s, size_t i, ag_buf *out) {
  const sx_view *v = sx_handle_view(s);
  const sx_entry *e = &v->entries[i];
  const sx_list *l = &v->lists[e->list];
  const char *name = sx_str(v, e->f[SX_F_NAME]);
  ag_buf_puts(out, "{\"list\":");
  ag_buf_json_cstr(out, sx_str(v, l->name));
  put_field(out, "list_code", sx_str(v, l->code));
  put_field(out, "source_id", sx_str(v, e->f[SX_F_SOURCE_ID]));
  put_field(out, "name", name);
  put_field(out, "type", sx_str(v, e->f[SX_F_TYPE]));
  /* the other names as listed, each once: the index also holds forms it
   * derives from a name (a part in parentheses), under the same display */
  ag_buf_puts(out, ",\"aliases\":[");
  bool first = true;
  for (uint32_t k = 0; k < e->name_count; k++) {
    const sx_name *n = &v->names[e->first_name + k];
    const char *d = sx_str(v, n->display);
    bool seen = !*d || !strcmp(d, name);
    for (uint32_t j = 0; j < k && !seen; j++)
      seen = !strcmp(sx_str(v, v->names[e->first_name + j].display), d);
    if (seen)
      continue;
    ag_buf_puts(out, first ? "{\"name\":" : ",{\"name\":");
    first = false;
    ag_buf_json_cstr(out, d);
    put_field(out, "kind", sx_kind_name(n->kind));
    ag_buf_putc(out, '}');
  }
  ag_buf_putc(out, ']');
  put_list(out, "countries", sx_str(v, e->f[SX_F_COUNTRIES]));
  put_list(out, "addresses", sx_str(v, e->f[SX_F_ADDRESSES]));
  put_list(out, "ids", sx_str(v, e->f[SX_F_IDS]));
  put_list(out, "programs", sx_str(v, e->f[SX_F_PROGRAMS]));
  put_field(out, "remarks", sx_str(v, e->f[SX_F_REMARKS]));
  put_field(out, "license_requirement", sx_str(v, e->f[SX_F_LIC_REQ]));
  put_field(out, "license_policy", sx_str(v, e->f[SX_F_LIC_POL]));
  put_field(out, "federal_register_notice", sx_str(v, e->f[SX_F_FR]));
  put_field(out, "start_date", sx_str(v, e->f[SX_F_START]));
  put_field(out, "source_url", sx_str(v, e->f[SX_F_URL]));
  char hex[AG_SCREEN_ENTRY_HASH_HEX];
  ag_screen_entry_hash(s, i, hex);
  put_field(out, "entry_hash", hex);
  ag_buf_putc(out, '}');
}
