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

bool ag_rules_eccn_syntax_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 5 || s[0] < '0' || s[0] > '9' || s[1] < 'A' || s[1] > 'E')
    return false;
  for (int i = 2; i < 5; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  /* each part: a dot, then one or more lower-case letters or digits */
  for (const char *p = s + 5; *p;) {
    if (*p != '.' || !p[1] || p[1] == '.')
      return false;
    for (p++; *p && *p != '.'; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        return false;
  }
  return true;
}

/* The outside-scope row whose sub-paragraph pattern (".z") names the part
 * of length n at part, or NULL. */
static const ag_scope_row *excluded_part(const ag_rules *r, const char *part, size_t n,
                                         ag_date on) {
  for (size_t i = 0; i < r->n_scope; i++) {
    const ag_scope_row *x = &r->scope[i];
    if (x->match[0] == '.' && strlen(x->match) == n + 1 && !memcmp(x->match + 1, part, n) &&
        in_force(&x->meta, on))
      return x;
  }
  return NULL;
}

static bool paragraph_on_ccl(const ag_rules *r, const char *p, size_t n) {
  for (size_t i = 0; i < r->n_paragraphs; i++)
    if (strlen(r->paragraphs[i].paragraph) == n && !memcmp(r->paragraphs[i].paragraph, p, n))
      return true;
  return false;
}

/* The "for" given names the row's, or a paragraph under it on the CCL
 * ("5D001.a for 5A001.j.1" is for 5A001.j), but never a sub-paragraph
 * outside-scope.tsv excludes (".z": restrictions of its own, 740.2(a)(9)(ii)). */
static bool for_matches(const ag_rules *r, const char *given, const char *row, ag_date on) {
  size_t n = strlen(row);
  if (strncmp(given, row, n) != 0)
    return false;
  if (!given[n])
    return true;
  if (given[n] != '.' || !paragraph_on_ccl(r, given, strlen(given)))
    return false;
  const char *part = given + n + 1;
  return !excluded_part(r, part, strcspn(part, "."), on);
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
    if (!it->for_ || (for_ && for_matches(r, for_, it->for_, on))) {
      if (!for_ || it->for_) {
        *item = it;
        return AG_ITEM_FOUND;
      }
    }
  }
  if (!ag_rules_eccn_syntax_ok(paragraph) || (for_ && !ag_rules_eccn_syntax_ok(for_)))
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
      if (for_ && for_matches(r, for_, it->for_, on)) {
        *item = it;
        return AG_ITEM_FOUND;
      }
    }
    if (carried)
      return needs_for && !for_ ? AG_ITEM_NEEDS_FOR : AG_ITEM_OTHER_FOR;
    const char *dot = memrchr(paragraph, '.', n);
    if (!dot || dot - paragraph < 5)
      return AG_ITEM_OUTSIDE_SCOPE;
    /* A first-level sub-paragraph outside-scope.tsv excludes (".z": items
     * that also meet 3A090/4A090 parameters, with controls and licence
     * exception restrictions of their own) is never decided as the entry. */
    if (dot - paragraph == 5 && excluded_part(r, paragraph + 6, n - 6, on))
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

const ag_scope_row *ag_rules_outside_scope(const ag_rules *r, const char *eccn, ag_date on) {
  bool eccn_ok = ag_rules_eccn_syntax_ok(eccn);
  const ag_scope_row *sub = NULL, *entry = NULL, *any = NULL;
  for (size_t i = 0; i < r->n_scope; i++) {
    const ag_scope_row *x = &r->scope[i];
    if (!in_force(&x->meta, on))
      continue;
    if (!strcmp(x->match, eccn))
      return x; /* a designation, or an entry given alone */
    if (!eccn_ok)
      continue;
    if (x->match[0] == '*')
      any = x;
    else if (x->match[0] == '.') {
      const char *part = eccn[5] == '.' ? eccn + 6 : NULL;
      if (part && strlen(x->match + 1) == strcspn(part, ".") &&
          !strncmp(x->match + 1, part, strlen(x->match + 1)))
        sub = x;
    } else if (!strncmp(x->match, eccn, 5))
      entry = x;
  }
  return sub ? sub : entry ? entry : any;
}

const ag_list_row *ag_rules_list_meaning(const ag_rules *r, const char *list, const char *programs,
                                         ag_date on) {
  const ag_list_row *whole = NULL;
  for (size_t i = 0; i < r->n_list_rows; i++) {
    const ag_list_row *x = &r->list_rows[i];
    if (strcmp(x->list, list) != 0 || !in_force(&x->meta, on))
      continue;
    if (!x->program) {
      whole = x;
      continue;
    }
    /* programs as the list gives them: "[SDGT] [NPWMD]", "SDGT; IRGC" */
    size_t n = strlen(x->program);
    for (const char *p = programs ? programs : ""; *p;) {
      size_t k = strcspn(p, " ;,[]");
      if (k == n && !memcmp(p, x->program, n))
        return x;
      p += k ? k : 1;
    }
  }
  return whole;
}
