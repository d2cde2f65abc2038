/*
 * lookup.c - the queries the engine asks of the tables, each answered
 * from the per-destination slices built at load time: no allocation, no
 * scanning of whole tables.
 */
#include "acegate/rules.h"

#include <string.h>

static bool in_force(const ag_row_meta *m, ag_date on) { return m->from <= on && on <= m->to; }

int ag_rules_find_destination(const ag_rules *r, const char *code, size_t len) {
  if (len == 2) {
    unsigned a = (unsigned char)code[0] - 'A', b = (unsigned char)code[1] - 'A';
    return a < 26 && b < 26 ? r->dest_index2[a * 26 + b] : -1;
  }
  if (len < 4 || len >= sizeof r->destinations[0].code)
    return -1;
  for (size_t i = 0; i < r->n_destinations; i++)
    if (strlen(r->destinations[i].code) == len && !memcmp(r->destinations[i].code, code, len))
      return (int)i;
  return -1;
}

ag_groupset ag_rules_groups_on(const ag_rules *r, int dest, ag_date on) {
  const ag_destination *d = &r->destinations[r->destinations[dest].chart_as];
  ag_groupset set = 0;
  for (uint32_t i = 0; i < d->groups_count; i++) {
    const ag_group_row *g = &r->groups[d->groups_first + i];
    if (in_force(&g->meta, on))
      set |= 1u << g->group;
  }
  return set;
}

const ag_chart_row *ag_rules_chart_on(const ag_rules *r, int dest, ag_date on) {
  const ag_destination *d = &r->destinations[r->destinations[dest].chart_as];
  for (uint32_t i = 0; i < d->chart_count; i++) {
    const ag_chart_row *c = &r->chart[d->chart_first + i];
    if (in_force(&c->meta, on))
      return c;
  }
  return NULL;
}

const ag_embargo *ag_rules_embargo_on(const ag_rules *r, int dest, ag_date on) {
  const ag_destination *d = &r->destinations[dest];
  for (uint32_t i = 0; i < d->embargo_count; i++) {
    const ag_embargo *e = &r->embargoes[d->embargo_first + i];
    if (in_force(&e->meta, on))
      return e;
  }
  return NULL;
}

bool ag_rules_embargo_reaches(const ag_embargo *e, uint32_t controls) {
  return !e->reach_columns || (e->reach_columns & controls) != 0;
}

bool ag_rules_embargo_enc_for(const ag_embargo *e, ag_end_user_type type, ag_groupset eu_groups) {
  if (!e->lists_enc)
    return false;
  if (e->enc_any)
    return true;
  if (!(e->enc_end_users & (1u << type)))
    return false;
  return type != AG_EU_GOVERNMENT || (eu_groups & e->enc_government_groups) != 0;
}

static bool well_formed(const char *s) {
  size_t n = strlen(s);
  if (n < 5 || s[0] < '0' || s[0] > '9' || s[1] < 'A' || s[1] > 'E')
    return false;
  for (int i = 2; i < 5; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  for (const char *p = s + 5; *p;) {
    if (*p != '.' || !p[1] || p[1] == '.')
      return false;
    for (p++; *p && *p != '.'; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        return false;
  }
  return true;
}

static bool paragraph_on_ccl(const ag_rules *r, const char *p, size_t n) {
  for (size_t i = 0; i < r->n_paragraphs; i++)
    if (strlen(r->paragraphs[i].paragraph) == n && !memcmp(r->paragraphs[i].paragraph, p, n))
      return true;
  return false;
}

/* The "for" given names the row's, or a paragraph under it on the CCL
 * ("5D001.a for 5A001.j.1" is for 5A001.j), but never a .z paragraph under
 * it, which has restrictions of its own (740.2(a)(9)(ii)). */
static bool for_matches(const ag_rules *r, const char *given, const char *row) {
  size_t n = strlen(row);
  if (strncmp(given, row, n) != 0)
    return false;
  if (!given[n])
    return true;
  return given[n] == '.' && given[n + 1] != 'z' && paragraph_on_ccl(r, given, strlen(given));
}

static bool entry_carried(const ag_rules *r, const char *p) {
  for (size_t i = 0; i < r->n_paragraphs; i++)
    if (!memcmp(r->paragraphs[i].entry, p, 5))
      return true;
  return false;
}

ag_item_lookup ag_rules_find_item(const ag_rules *r, const char *paragraph, const char *for_,
                                  ag_date on, const ag_item **item) {
  *item = NULL;
  /* Fast path: an exact carried paragraph in force (rows are few; every
   * item paragraph is known to be on the CCL by load-time validation). */
  for (size_t i = 0; i < r->n_items; i++) {
    const ag_item *it = &r->items[i];
    if (it->paragraph[1] != paragraph[1] || strcmp(it->paragraph, paragraph) != 0 ||
        !(it->meta.from <= on && on <= it->meta.to))
      continue;
    if (!it->for_ || (for_ && for_matches(r, for_, it->for_))) {
      if (!for_ || it->for_) {
        *item = it;
        return AG_ITEM_FOUND;
      }
    }
  }
  if (!well_formed(paragraph) || (for_ && !well_formed(for_)))
    return AG_ITEM_MALFORMED;
  if (!entry_carried(r, paragraph))
    return AG_ITEM_UNKNOWN_ENTRY;
  size_t n = strlen(paragraph);
  if (!paragraph_on_ccl(r, paragraph, n))
    return AG_ITEM_NOT_ON_CCL;
  /* Walk up: 5A001.j.1.a -> 5A001.j.1 -> 5A001.j; the first carried level wins. */
  for (;;) {
    bool carried = false, needs_for = false;
    for (size_t i = 0; i < r->n_items; i++) {
      const ag_item *it = &r->items[i];
      if (strlen(it->paragraph) != n || memcmp(it->paragraph, paragraph, n) != 0)
        continue;
      if (!(it->meta.from <= on && on <= it->meta.to))
        continue;
      carried = true;
      if (!it->for_) {
        *item = it;
        /* a "for" the paragraph does not take is a mistake, not noise */
        return for_ ? AG_ITEM_FOR_NOT_TAKEN : AG_ITEM_FOUND;
      }
      needs_for = true;
      if (for_ && for_matches(r, for_, it->for_)) {
        *item = it;
        return AG_ITEM_FOUND;
      }
    }
    if (carried)
      return needs_for && !for_ ? AG_ITEM_NEEDS_FOR : AG_ITEM_OTHER_FOR;
    const char *dot = memrchr(paragraph, '.', n);
    if (!dot || dot - paragraph < 5)
      return AG_ITEM_OUTSIDE_SCOPE;
    /* A .z paragraph (items that also meet 3A090/4A090 parameters) is never
     * decided as the entry above it: it has controls of its own (RS under
     * 742.6(a)(6)(iii)) and licence exception restrictions (740.2(a)(9)(ii)). */
    if (n == 7 && paragraph[5] == '.' && paragraph[6] == 'z')
      return AG_ITEM_Z_PARAGRAPH;
    n = (size_t)(dot - paragraph);
  }
}

bool ag_rules_item_selected(const ag_item_selector *sel, const ag_item *item) {
  if (sel->all)
    return true;
  if (sel->families & (1u << item->family))
    return true;
  if (sel->paragraphs) {
    size_t n = strlen(item->paragraph);
    for (const char *p = sel->paragraphs; *p;) {
      const char *c = strchr(p, ',');
      size_t len = c ? (size_t)(c - p) : strlen(p);
      if (len == n && !memcmp(p, item->paragraph, n))
        return true;
      p += len + (c ? 1 : 0);
    }
  }
  return false;
}
