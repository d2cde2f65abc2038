/*
 * entries.c - the listed entries beside a review item's candidates
 * (ag_review_get, docs/review.md "The entries beside the parties").
 *
 * A check's answer records a cut-down candidate (list, id, name, score,
 * licence fields and the digest of the entry's content); the reviewer who
 * decides whether the party is the entry compares it with the entry's
 * countries, addresses, identifiers, aliases and remarks. These are looked
 * up in the lists given, by list and id, and the digest recorded says
 * whether the entry is still the one the decision was made on. The
 * recorded answer is left as it is: it is the record (15 CFR 762.2).
 */
#include "acegate/pipeline.h"
#include "acegate/screen.h"
#include "review_int.h"

#include <stdint.h>
#include <string.h>

typedef struct {
  ag_buf *out;
  const ag_screen *lists; /* NULL: not looked up */
  const char *unavailable;
  bool first;
} entries_ctx;

static const char *str_of(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s && *s ? s : NULL;
}

static void put_text(ag_buf *out, const char *state, const char *text) {
  ag_buf_puts(out, ",\"state\":");
  ag_buf_json_cstr(out, state);
  ag_buf_puts(out, ",\"text\":");
  ag_buf_json_cstr(out, text);
}

/* One candidate: where it is in the answer, what it recorded, and the entry
 * as the lists give it now. */
static void put_item(entries_ctx *c, const char *pointer, const char *role, json_t *m) {
  ag_buf *out = c->out;
  /* a screening's candidate names its list by code too; a check's by name */
  const char *list = str_of(m, "list_code") ? str_of(m, "list_code") : str_of(m, "list");
  const char *sid = str_of(m, "source_id");
  const char *hash = str_of(m, "entry_hash");
  ag_buf_puts(out, c->first ? "{\"candidate\":" : ",{\"candidate\":");
  c->first = false;
  ag_buf_json_cstr(out, pointer);
  ag_buf_puts(out, ",\"party\":");
  if (role)
    ag_buf_json_cstr(out, role);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"list\":");
  if (str_of(m, "list"))
    ag_buf_json_cstr(out, str_of(m, "list"));
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"source_id\":");
  if (sid)
    ag_buf_json_cstr(out, sid);
  else
    ag_buf_puts(out, "null");
  ag_buf_puts(out, ",\"entry_hash\":");
  if (hash)
    ag_buf_json_cstr(out, hash);
  else
    ag_buf_puts(out, "null");

  size_t i = SIZE_MAX;
  char text[512];
  if (!c->lists) {
    snprintf(text, sizeof text, "the entry could not be looked up: %.400s", c->unavailable);
    put_text(out, "not_looked_up", text);
  } else if (!list || !sid) {
    put_text(out, "not_looked_up",
             "the entry could not be looked up: the record does not name the candidate's list "
             "and id");
  } else if ((i = ag_screen_entry_find(c->lists, list, sid)) == SIZE_MAX) {
    snprintf(text, sizeof text, "no longer listed: the lists looked in have no entry %.200s on %.200s",
             sid, str_of(m, "list") ? str_of(m, "list") : list);
    put_text(out, "gone", text);
  } else {
    char now[AG_SCREEN_ENTRY_HASH_HEX];
    ag_screen_entry_hash(c->lists, i, now);
    if (!hash)
      put_text(out, "unrecorded",
               "as listed now: the record does not say which content the decision was made "
               "on (it was made before candidates carried entry_hash)");
    else if (!strcmp(hash, now))
      put_text(out, "same", "the same content the decision was made on");
    else
      put_text(out, "changed",
               "changed since the decision: the entry as listed now, not as the decision saw it");
  }
  ag_buf_puts(out, ",\"entry\":");
  if (i != SIZE_MAX)
    ag_screen_entry_json(c->lists, i, out);
  else
    ag_buf_puts(out, "null");
  ag_buf_putc(out, '}');
}

void review_put_entries(ag_buf *out, const ag_audit_entry *e, json_t *dec, const ag_screen *lists,
                        const char *unavailable) {
  entries_ctx c = {.out = out,
                   .lists = lists,
                   .unavailable = unavailable && *unavailable ? unavailable : "no lists were given",
                   .first = true};
  ag_buf_puts(out, "{\"looked_up\":");
  ag_buf_puts(out, lists ? "true" : "false");
  ag_buf_puts(out, ",\"lists_version\":");
  if (lists) {
    char version[AG_PIPELINE_LISTS_VERSION_MAX];
    ag_pipeline_lists_version(lists, version, sizeof version);
    ag_buf_json_cstr(out, version);
    ag_buf_puts(out, ",\"unavailable\":null");
  } else {
    ag_buf_puts(out, "null,\"unavailable\":");
    ag_buf_json_cstr(out, c.unavailable);
  }
  ag_buf_puts(out, ",\"items\":[");
  /* the same candidates, in the same order, as review_each_candidate */
  char pointer[64];
  size_t i, j;
  json_t *p, *m;
  if (e->kind == AG_AUDIT_SCREENING) {
    json_array_foreach(json_object_get(dec, "matches"), i, m) {
      snprintf(pointer, sizeof pointer, "/matches/%zu", i);
      put_item(&c, pointer, NULL, m);
    }
  } else if (e->kind == AG_AUDIT_CHECK) {
    json_array_foreach(json_object_get(dec, "screening"), i, p) {
      json_array_foreach(json_object_get(p, "matches"), j, m) {
        snprintf(pointer, sizeof pointer, "/screening/%zu/matches/%zu", i, j);
        put_item(&c, pointer, str_of(p, "party"), m);
      }
    }
  }
  ag_buf_puts(out, "]}");
}
