/*
 * load.c - reads and validates the regulation tables (data/rules, one .tsv file per table)
 * into an ag_rules, then builds the per-destination indexes the engine
 * uses. Every rule of validation reports "file:line" and the column.
 *
 * Invariants after a successful load: every destination, group and chart
 * reference resolves; no two rows for the same key overlap in time;
 * every row has a source; groups, chart and embargo rows are sorted by
 * destination and each destination knows its slice of them; exceptions
 * are grouped by the restriction they lift. D:5 for a country in
 * d5-state-list.tsv comes from that table alone (the list it says governs).
 */
#include "rules_internal.h"

#include "acegate/decide.h" /* ag_outcome names for list-meanings.tsv */
#include "acegate/diligence.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  F_META,
  F_DEST,
  F_GROUPS,
  F_D5,
  F_CHART,
  F_PARAS,
  F_ITEMS,
  F_NEW_ITEMS,
  F_SCOPE,
  F_EMBARGO,
  F_RESTRICT,
  F_EXCEPT,
  F_LISTS,
  F_DUE_DILIGENCE,
  F_COUNT
};
static const char *const file_names[F_COUNT] = {
    "meta.tsv",           "destinations.tsv",     "country-groups.tsv", "d5-state-list.tsv",
    "country-chart.tsv",  "ccl-paragraphs.tsv",   "ccl-items.tsv",      "ccl-new-items.tsv",
    "outside-scope.tsv",  "embargoes.tsv",        "ace-restrictions.tsv", "ace-exceptions.tsv",
    "list-meanings.tsv",  "due-diligence.tsv"};

/* ---- small parsing helpers ---- */

static bool is(const char *s, const char *lit) { return strcmp(s, lit) == 0; }

static char *keep(ag_rules *r, char *buf) {
  char **s = realloc(r->storage, (r->n_storage + 1) * sizeof *s);
  if (!s) {
    free(buf);
    return NULL;
  }
  r->storage = s;
  r->storage[r->n_storage++] = buf;
  return buf;
}

/* Fills meta from the from/to/status/source columns (indexes given). */
static ag_status parse_meta(const ag_tsv *t, int c_from, int c_to, int c_status, int c_source,
                            ag_row_meta *m, ag_error *err) {
  m->file = t->file;
  m->line = t->line;
  ag_status st;
  if (c_from >= 0) {
    if ((st = ag_tsv_date(t, c_from, false, &m->from, err)) ||
        (st = ag_tsv_date(t, c_to, true, &m->to, err)))
      return st;
    if (m->from != AG_DATE_NONE && m->to != AG_DATE_MAX && m->from > m->to)
      return ag_tsv_fail(t, err, c_to, "ends before it starts (%s > %s)", t->field[c_from],
                         t->field[c_to]);
  } else {
    m->from = AG_DATE_NONE;
    m->to = AG_DATE_MAX;
  }
  int s = ag_rules_status_parse(t->field[c_status], strlen(t->field[c_status]));
  if (s < 0)
    return ag_tsv_fail(t, err, c_status,
                       "'%s' is not a status (verified, extracted, secondary, reconstructed, "
                       "reading)",
                       t->field[c_status]);
  m->status = (ag_text_status)s;
  m->source = t->field[c_source];
  if (is(m->source, "-") || strlen(m->source) < 4)
    return ag_tsv_fail(t, err, c_source, "every row needs its source (CFR paragraph or FR cite)");
  return AG_OK;
}

static bool overlaps(const ag_row_meta *a, const ag_row_meta *b) {
  return a->from <= b->to && b->from <= a->to;
}

static const char *nullable(const char *s) { return is(s, "-") ? NULL : s; }

/* Parses a comma list with a token parser into a bit set; "*" = all. */
typedef int (*token_parser)(const char *s, size_t n);
static ag_status parse_set(const ag_tsv *t, int col, token_parser parse, const char *what,
                           bool allow_none, uint32_t *out, ag_error *err) {
  const char *s = t->field[col];
  *out = 0;
  if (is(s, "*"))
    return AG_OK; /* 0 = any; callers treat 0 as "every value" */
  if (is(s, "-")) {
    if (allow_none)
      return AG_OK;
    return ag_tsv_fail(t, err, col, "a list of %s is required here", what);
  }
  while (*s) {
    const char *c = strchr(s, ',');
    size_t n = c ? (size_t)(c - s) : strlen(s);
    int v = parse(s, n);
    if (v < 0)
      return ag_tsv_fail(t, err, col, "'%.*s' is not a known %s", (int)n, s, what);
    *out |= 1u << v;
    s += n + (c ? 1 : 0);
  }
  return AG_OK;
}

static int parse_txn_token(const char *s, size_t n) {
  ag_txn_kind k;
  return ag_txn_kind_parse(s, n, &k) ? (int)k : -1;
}
static int parse_eu_token(const char *s, size_t n) {
  ag_end_user_type k;
  return ag_end_user_type_parse(s, n, &k) ? (int)k : -1;
}
static int parse_use_token(const char *s, size_t n) {
  ag_end_use k;
  return ag_end_use_parse(s, n, &k) ? (int)k : -1;
}
static int parse_flag_token(const char *s, size_t n) {
  static const char *const names[] = {"police_or_judicial", "national_csirt",
                                      "knows_unauthorized_use"};
  for (int i = 0; i < 3; i++)
    if (strlen(names[i]) == n && !memcmp(names[i], s, n))
      return i;
  return -1;
}

static ag_status parse_items(const ag_rules *r, const ag_tsv *t, int col, ag_item_selector *sel,
                             ag_error *err) {
  const char *s = t->field[col];
  memset(sel, 0, sizeof *sel);
  if (is(s, "*")) {
    sel->all = true;
    return AG_OK;
  }
  const char *p = s;
  bool any_para = false;
  while (*p) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    int f = ag_rules_family_parse(p, n);
    if (f >= 0)
      sel->families |= 1u << f;
    else {
      bool known = false;
      for (size_t i = 0; i < r->n_items; i++)
        if (strlen(r->items[i].paragraph) == n && !memcmp(r->items[i].paragraph, p, n))
          known = true;
      if (!known)
        return ag_tsv_fail(t, err, col, "'%.*s' is neither an item family nor a paragraph in "
                                        "ccl-items.tsv", (int)n, p);
      any_para = true;
    }
    p += n + (c ? 1 : 0);
  }
  sel->paragraphs = any_para ? s : NULL;
  return AG_OK;
}

#define GROW(arr, n, cap)                                                                          \
  do {                                                                                             \
    if ((n) == (cap)) {                                                                            \
      size_t nc = (cap) ? (cap)*2 : 64;                                                            \
      void *np = realloc((arr), nc * sizeof *(arr));                                               \
      if (!np)                                                                                     \
        return ag_error_set(err, AG_ERR_NOMEM, t.file, "out of memory");                           \
      (arr) = np;                                                                                  \
      (cap) = nc;                                                                                  \
    }                                                                                              \
  } while (0)

#define NEXT_ROWS(t)                                                                               \
  for (bool failed_ = false; ag_tsv_next(&(t), &failed_, err) || (failed_ && (st = AG_ERR_RULES, 0));)

/* ---- the tables ---- */

static ag_status load_meta(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"key", "value"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_META], buf, len, cols, 2, err);
  if (st)
    return st;
  const char *in_force = NULL, *final_from = NULL;
  NEXT_ROWS(t) {
    const char *k = t.field[0], *v = t.field[1];
    if (is(k, "name")) r->name = v;
    else if (is(k, "edition")) r->edition = v;
    else if (is(k, "ecfr_issue")) r->ecfr_issue = v;
    else if (is(k, "rule_in_force_from")) in_force = v;
    else if (is(k, "rule_in_force_source")) r->rule_in_force_source = v;
    else if (is(k, "final_rule_from")) final_from = v;
    else if (is(k, "final_rule_source")) r->final_rule_source = v;
    else if (is(k, "rule_in_force_cite")) r->rule_in_force_cite = v;
    else if (is(k, "interim_rule_cite")) r->interim_rule_cite = v;
    else if (is(k, "final_rule_cite")) r->final_rule_cite = v;
    else
      return ag_tsv_fail(&t, err, 0, "unknown key '%s'", k);
  }
  if (st)
    return st;
  if (!r->edition || !r->name || !in_force || !final_from || !r->rule_in_force_source ||
      !r->final_rule_source || !r->ecfr_issue || !r->rule_in_force_cite || !r->interim_rule_cite ||
      !r->final_rule_cite)
    return ag_error_set(err, AG_ERR_RULES, "meta.tsv",
                        "needs the keys name, edition, ecfr_issue, rule_in_force_from, "
                        "rule_in_force_source, rule_in_force_cite, interim_rule_cite, "
                        "final_rule_from, final_rule_source, final_rule_cite");
  if (!ag_date_parse(in_force, strlen(in_force), &r->rule_in_force_from) ||
      !ag_date_parse(final_from, strlen(final_from), &r->final_rule_from))
    return ag_error_set(err, AG_ERR_RULES, "meta.tsv", "rule dates must be YYYY-MM-DD");
  return AG_OK;
}

static bool dest_code_ok(const char *s) {
  size_t n = strlen(s);
  bool cc = n >= 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
  if (n == 2)
    return cc;
  if (!cc || n < 4 || n > 6 || s[2] != '-')
    return false;
  for (size_t i = 3; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
      return false;
  return true;
}

static ag_status load_destinations(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"code", "name", "kind", "chart_as",
                                     "from", "to",   "status", "source"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_DEST], buf, len, cols, 8, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    if (!dest_code_ok(t.field[0]))
      return ag_tsv_fail(&t, err, 0, "'%s' is not an ISO 3166 code (CN, UA-43)", t.field[0]);
    if (ag_rules_find_destination(r, t.field[0], strlen(t.field[0])) >= 0)
      return ag_tsv_fail(&t, err, 0, "destination '%s' is listed twice", t.field[0]);
    GROW(r->destinations, r->n_destinations, cap);
    ag_destination *d = &r->destinations[r->n_destinations];
    memset(d, 0, sizeof *d);
    snprintf(d->code, sizeof d->code, "%s", t.field[0]);
    d->name = t.field[1];
    d->chart_as_code = t.field[3];
    if (is(t.field[2], "country")) d->kind = AG_DEST_COUNTRY;
    else if (is(t.field[2], "territory")) d->kind = AG_DEST_TERRITORY;
    else if (is(t.field[2], "region")) d->kind = AG_DEST_REGION;
    else if (is(t.field[2], "united_states")) d->kind = AG_DEST_UNITED_STATES;
    else
      return ag_tsv_fail(&t, err, 2, "'%s' is not country, territory, region or united_states",
                         t.field[2]);
    if (d->kind == AG_DEST_UNITED_STATES && !is(t.field[3], t.field[0]))
      return ag_tsv_fail(&t, err, 3, "the united_states row is governed by no other row");
    if ((st = parse_meta(&t, 4, 5, 6, 7, &d->meta, err)))
      return st;
    r->n_destinations++;
    if (strlen(d->code) == 2)
      r->dest_index2[(d->code[0] - 'A') * 26 + (d->code[1] - 'A')] =
          (int16_t)(r->n_destinations - 1);
  }
  if (st)
    return st;
  /* chart_as may name a row further down, so resolve once all are read */
  for (size_t i = 0; i < r->n_destinations; i++) {
    ag_destination *d = &r->destinations[i];
    int c = ag_rules_find_destination(r, d->chart_as_code, strlen(d->chart_as_code));
    if (c >= 0 && d->kind == AG_DEST_UNITED_STATES && c == (int)i) {
      d->chart_as = c;
      continue;
    }
    if (c < 0 || r->destinations[c].kind != AG_DEST_COUNTRY) {
      char where[160];
      snprintf(where, sizeof where, "%s:%d", d->meta.file, d->meta.line);
      return ag_error_set(err, AG_ERR_RULES, where,
                          "column 'chart_as': '%s' is not a country destination",
                          d->chart_as_code);
    }
    d->chart_as = c;
  }
  return AG_OK;
}

static ag_status find_dest_field(const ag_rules *r, const ag_tsv *t, int col, int *out,
                                 ag_error *err) {
  *out = ag_rules_find_destination(r, t->field[col], strlen(t->field[col]));
  if (*out < 0)
    return ag_tsv_fail(t, err, col, "'%s' is not a destination in destinations.tsv",
                       t->field[col]);
  return AG_OK;
}

static ag_status load_groups(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"group", "code", "from", "to", "status", "source"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_GROUPS], buf, len, cols, 6, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->groups, r->n_groups, cap);
    ag_group_row *g = &r->groups[r->n_groups];
    memset(g, 0, sizeof *g);
    int gi = ag_rules_group_parse(t.field[0], strlen(t.field[0]));
    if (gi < 0)
      return ag_tsv_fail(&t, err, 0, "'%s' is not a Country Group (A:1..A:6, B, D:1..D:5, E:1, E:2)",
                         t.field[0]);
    g->group = (ag_group)gi;
    if ((st = find_dest_field(r, &t, 1, &g->dest, err)) ||
        (st = parse_meta(&t, 2, 3, 4, 5, &g->meta, err)))
      return st;
    if (r->destinations[g->dest].kind != AG_DEST_COUNTRY)
      return ag_tsv_fail(&t, err, 1, "'%s' takes its groups from '%s' (chart_as)", t.field[1],
                         r->destinations[r->destinations[g->dest].chart_as].code);
    for (size_t i = 0; i < r->n_groups; i++)
      if (r->groups[i].group == g->group && r->groups[i].dest == g->dest &&
          overlaps(&r->groups[i].meta, &g->meta))
        return ag_tsv_fail(&t, err, 2, "overlaps the %s membership of %s at line %d", t.field[0],
                           t.field[1], r->groups[i].meta.line);
    r->n_groups++;
  }
  return st;
}

/* One side's dates of a D:5 listing: a date or "-" (open); for the BIS
 * table also "none" (never listed) and, for its end, "?" (not known). */
typedef enum { SIDE_DATES, SIDE_NONE, SIDE_UNKNOWN_END } side_kind;

static ag_status parse_side(const ag_tsv *t, int c_from, int c_to, bool table, side_kind *kind,
                            ag_row_meta *m, ag_error *err) {
  *kind = SIDE_DATES;
  const char *f = t->field[c_from], *to = t->field[c_to];
  if (table && (is(f, "none") || is(to, "none"))) {
    if (!is(f, "none") || !is(to, "none"))
      return ag_tsv_fail(t, err, c_from, "write none in both table_from and table_to when the "
                                         "table never listed the country");
    *kind = SIDE_NONE;
    return AG_OK;
  }
  ag_status st = ag_tsv_date(t, c_from, false, &m->from, err);
  if (st)
    return st;
  if (table && is(to, "?")) {
    *kind = SIDE_UNKNOWN_END;
    m->to = AG_DATE_MAX;
    return AG_OK;
  }
  if ((st = ag_tsv_date(t, c_to, true, &m->to, err)))
    return st;
  if (m->from != AG_DATE_NONE && m->to != AG_DATE_MAX && m->from > m->to)
    return ag_tsv_fail(t, err, c_to, "ends before it starts (%s > %s)", f, to);
  return AG_OK;
}

/* Country Group D:5 where the State Department's list of arms-embargoed
 * countries (22 CFR 126.1) and the BIS table differ. The note to D:5 in
 * Supp. 1 to part 740 makes the State list controlling, so the rows say
 * governs = state; each row becomes the D:5 membership of the side it
 * names (none when that side never listed the country). D:5 for these
 * countries lives only here, never also in country-groups.tsv. */
static ag_status load_d5(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"code",       "state_from", "state_to",    "state_source",
                                     "table_from", "table_to",   "table_source", "governs",
                                     "status",     "reason"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_D5], buf, len, cols, 10, err);
  if (st)
    return st;
  size_t cap = r->n_groups;
  NEXT_ROWS(t) {
    int dest;
    if ((st = find_dest_field(r, &t, 0, &dest, err)))
      return st;
    if (r->destinations[dest].kind != AG_DEST_COUNTRY)
      return ag_tsv_fail(&t, err, 0, "'%s' is not a country", t.field[0]);
    for (size_t i = 0; i < r->n_groups; i++)
      if (r->groups[i].group == AG_GROUP_D5 && r->groups[i].dest == dest)
        return ag_tsv_fail(&t, err, 0, "D:5 for %s is also in %s at line %d: hold it in one "
                                       "place",
                           t.field[0], r->groups[i].meta.file, r->groups[i].meta.line);
    ag_row_meta state = {0}, table = {0};
    side_kind sk, tk;
    if ((st = parse_side(&t, 1, 2, false, &sk, &state, err)) ||
        (st = parse_side(&t, 4, 5, true, &tk, &table, err)))
      return st;
    bool by_state;
    if (is(t.field[7], "state")) by_state = true;
    else if (is(t.field[7], "table")) by_state = false;
    else
      return ag_tsv_fail(&t, err, 7, "'%s' is not state or table (which list decides D:5)",
                         t.field[7]);
    if (!by_state && tk == SIDE_UNKNOWN_END)
      return ag_tsv_fail(&t, err, 7, "the table's end date is not known, so it cannot govern");
    ag_row_meta m;
    if ((st = parse_meta(&t, -1, -1, 8, 3, &m, err)))
      return st;
    if (strlen(t.field[6]) < 4 || strlen(t.field[9]) < 4)
      return ag_tsv_fail(&t, err, strlen(t.field[6]) < 4 ? 6 : 9,
                         "every row needs the table's source and the reason");
    if (!by_state && tk == SIDE_NONE)
      continue; /* the governing list never had it: not in D:5 */
    const ag_row_meta *g = by_state ? &state : &table;
    size_t n = strlen(t.field[1]) + strlen(t.field[2]) + strlen(t.field[3]) +
               strlen(t.field[4]) + strlen(t.field[5]) + strlen(t.field[6]) +
               strlen(t.field[9]) + 160;
    char *src = malloc(n);
    if (!src || !keep(r, src))
      return ag_error_set(err, AG_ERR_NOMEM, t.file, "out of memory");
    snprintf(src, n, "%s list governs D:5 (note to D:5, Supp. 1 to part 740). State list %s..%s: "
                     "%s. BIS table %s..%s: %s. Why: %s",
             by_state ? "State (22 CFR 126.1)" : "BIS table", t.field[1], t.field[2], t.field[3],
             t.field[4], t.field[5], t.field[6], t.field[9]);
    GROW(r->groups, r->n_groups, cap);
    ag_group_row *row = &r->groups[r->n_groups++];
    *row = (ag_group_row){.meta = m, .group = AG_GROUP_D5, .dest = dest, .state_list = by_state};
    row->meta.from = g->from;
    row->meta.to = g->to;
    row->meta.source = src;
  }
  return st;
}

static ag_status load_chart(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"code", "from", "to",        "NS1",    "NS2",
                                     "AT1",  "EI",   "footnotes", "status", "source"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_CHART], buf, len, cols, 10, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->chart, r->n_chart, cap);
    ag_chart_row *c = &r->chart[r->n_chart];
    memset(c, 0, sizeof *c);
    if ((st = find_dest_field(r, &t, 0, &c->dest, err)) ||
        (st = parse_meta(&t, 1, 2, 8, 9, &c->meta, err)))
      return st;
    if (r->destinations[c->dest].kind != AG_DEST_COUNTRY)
      return ag_tsv_fail(&t, err, 0, "'%s' has no chart row of its own (chart_as '%s')",
                         t.field[0], r->destinations[r->destinations[c->dest].chart_as].code);
    for (int k = 0; k < AG_COL_COUNT; k++) {
      const char *m = t.field[3 + k];
      if (is(m, "X")) c->mark[k] = AG_MARK_X;
      else if (is(m, "-")) c->mark[k] = AG_MARK_NONE;
      else if (is(m, "746")) c->mark[k] = AG_MARK_PART746;
      else
        return ag_tsv_fail(&t, err, 3 + k, "'%s' is not X, - or 746", m);
    }
    c->footnotes = t.field[7];
    for (size_t i = 0; i < r->n_chart; i++)
      if (r->chart[i].dest == c->dest && overlaps(&r->chart[i].meta, &c->meta))
        return ag_tsv_fail(&t, err, 1, "overlaps the chart row for %s at line %d", t.field[0],
                           r->chart[i].meta.line);
    r->n_chart++;
  }
  return st;
}

static ag_status load_paragraphs(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"paragraph", "entry", "status", "source"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_PARAS], buf, len, cols, 4, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->paragraphs, r->n_paragraphs, cap);
    ag_ccl_paragraph *p = &r->paragraphs[r->n_paragraphs];
    memset(p, 0, sizeof *p);
    if (!ag_rules_eccn_syntax_ok(t.field[0]))
      return ag_tsv_fail(&t, err, 0, "'%s' is not a CCL paragraph", t.field[0]);
    if (strlen(t.field[1]) != 5 || strncmp(t.field[0], t.field[1], 5) != 0)
      return ag_tsv_fail(&t, err, 1, "'%s' is not the entry of '%s'", t.field[1], t.field[0]);
    p->paragraph = t.field[0];
    p->entry = t.field[1];
    if ((st = parse_meta(&t, -1, -1, 2, 3, &p->meta, err)))
      return st;
    r->n_paragraphs++;
  }
  return st;
}

static bool paragraph_known(const ag_rules *r, const char *p) {
  for (size_t i = 0; i < r->n_paragraphs; i++)
    if (is(r->paragraphs[i].paragraph, p))
      return true;
  return false;
}

static ag_status load_items(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"paragraph", "for",    "family",           "cyber_item",
                                     "controls",  "from",   "to",               "decontrol_end_uses",
                                     "other_exceptions", "status", "source", "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_ITEMS], buf, len, cols, 12, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->items, r->n_items, cap);
    ag_item *it = &r->items[r->n_items];
    memset(it, 0, sizeof *it);
    it->paragraph = t.field[0];
    it->for_ = nullable(t.field[1]);
    if (!paragraph_known(r, it->paragraph))
      return ag_tsv_fail(&t, err, 0, "'%s' is not in ccl-paragraphs.tsv", it->paragraph);
    if (it->for_ && !paragraph_known(r, it->for_))
      return ag_tsv_fail(&t, err, 1, "'%s' is not in ccl-paragraphs.tsv", it->for_);
    int f = ag_rules_family_parse(t.field[2], strlen(t.field[2]));
    if (f < 0)
      return ag_tsv_fail(&t, err, 2, "'%s' is not a family (intrusion, ip_surveillance, "
                                     "forensic, le_monitoring)", t.field[2]);
    it->family = (ag_family)f;
    if (is(t.field[3], "yes")) it->cyber_item = true;
    else if (is(t.field[3], "no")) it->cyber_item = false;
    else
      return ag_tsv_fail(&t, err, 3, "'%s' is not yes or no", t.field[3]);
    if ((st = parse_set(&t, 4, ag_rules_column_parse, "chart column (NS1, NS2, AT1, EI)", false,
                        &it->controls, err)))
      return st;
    if (!it->controls)
      return ag_tsv_fail(&t, err, 4, "list the columns; '*' is not allowed here");
    if ((st = parse_meta(&t, 5, 6, 9, 10, &it->meta, err)) ||
        (st = parse_set(&t, 7, parse_use_token, "end use", true, &it->decontrol_uses, err)))
      return st;
    it->other_exceptions = t.field[8];
    it->text = t.field[11];
    it->on_ccl_from = AG_DATE_NONE;
    for (size_t i = 0; i < r->n_items; i++) {
      const ag_item *o = &r->items[i];
      bool same_for = (!o->for_ && !it->for_) || (o->for_ && it->for_ && is(o->for_, it->for_));
      if (is(o->paragraph, it->paragraph) && same_for && overlaps(&o->meta, &it->meta))
        return ag_tsv_fail(&t, err, 0, "overlaps the row for the same paragraph at line %d",
                           o->meta.line);
    }
    r->n_items++;
  }
  return st;
}

/* ccl-new-items.tsv: sets on_ccl_from on the item rows it names. */
static ag_status load_new_items(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"paragraph", "for", "on_ccl_from", "status", "source"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_NEW_ITEMS], buf, len, cols, 5, err);
  if (st)
    return st;
  NEXT_ROWS(t) {
    ag_row_meta m;
    ag_date from;
    if ((st = parse_meta(&t, -1, -1, 3, 4, &m, err)) ||
        (st = ag_tsv_date(&t, 2, false, &from, err)))
      return st;
    if (from == AG_DATE_NONE)
      return ag_tsv_fail(&t, err, 2, "give the first day the item was on the CCL");
    const char *for_ = nullable(t.field[1]);
    bool named = false;
    for (size_t i = 0; i < r->n_items; i++) {
      ag_item *it = &r->items[i];
      if (!is(it->paragraph, t.field[0]) || (!for_ != !it->for_) || (for_ && !is(for_, it->for_)))
        continue;
      if (it->on_ccl_from != AG_DATE_NONE)
        return ag_tsv_fail(&t, err, 0, "'%s' is named twice", t.field[0]);
      it->on_ccl_from = from;
      it->on_ccl_source = m.source;
      named = true;
    }
    if (!named)
      return ag_tsv_fail(&t, err, 0, "'%s%s%s' is not an item in ccl-items.tsv", t.field[0],
                         for_ ? " for " : "", for_ ? for_ : "");
  }
  return st;
}

/* outside-scope.tsv: what answers an item acegate does not decide. */
static ag_status load_scope(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"match", "decided_by", "refer_to", "from",
                                     "to",    "status",     "source",   "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_SCOPE], buf, len, cols, 8, err);
  if (st)
    return st;
  size_t cap = 0;
  bool any = false;
  NEXT_ROWS(t) {
    GROW(r->scope, r->n_scope, cap);
    ag_scope_row *x = &r->scope[r->n_scope];
    memset(x, 0, sizeof *x);
    x->match = t.field[0];
    x->decided_by = t.field[1];
    x->refer_to = t.field[2];
    x->text = t.field[7];
    const char *m = x->match;
    bool entry = strlen(m) == 5 && ag_rules_eccn_syntax_ok(m);
    bool sub = m[0] == '.' && m[1] &&
               strspn(m + 1, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(m + 1);
    /* a designation such as EAR99: starts with a letter, so never an ECCN */
    bool designation = strlen(m) >= 4 && m[0] >= 'A' && m[0] <= 'Z' &&
                       strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(m);
    if (is(m, "*"))
      any = true;
    else if (!entry && !sub && !designation)
      return ag_tsv_fail(&t, err, 0,
                         "'%s' is not an ECCN entry (5A002), a sub-paragraph (.z), "
                         "a designation (EAR99) or *",
                         m);
    if (entry)
      for (size_t i = 0; i < r->n_items; i++)
        if (!strncmp(r->items[i].paragraph, m, 5) && !strchr(r->items[i].paragraph, '.'))
          return ag_tsv_fail(&t, err, 0, "'%s' is an item acegate decides (ccl-items.tsv)", m);
    if ((st = parse_meta(&t, 3, 4, 5, 6, &x->meta, err)))
      return st;
    for (size_t i = 0; i < r->n_scope; i++)
      if (is(r->scope[i].match, m) && overlaps(&r->scope[i].meta, &x->meta))
        return ag_tsv_fail(&t, err, 3, "overlaps the row for '%s' at line %d", m,
                           r->scope[i].meta.line);
    r->n_scope++;
  }
  if (!st && !any)
    return ag_error_set(err, AG_ERR_RULES, file_names[F_SCOPE],
                        "needs a '*' row: every well-formed ECCN must be answered");
  return st;
}

/* The reasons for control a reach may name (Supp. 1 to part 774 and 738.2(d)(2)).
 * Only those with a Country Chart column acegate holds can match a carried
 * item; the others are kept so the row can quote the section in full. */
static bool reason_columns(const char *s, size_t n, uint32_t *cols) {
  static const char *const reasons[] = {"AT", "CB", "CC", "CW", "EI", "FC", "MT", "NP",
                                        "NS", "RS", "SI", "SL", "SS", "UN"};
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (n == 2 && !memcmp(s, reasons[i], 2)) {
      if (!memcmp(s, "NS", 2)) *cols |= 1u << AG_COL_NS1 | 1u << AG_COL_NS2;
      else if (!memcmp(s, "AT", 2)) *cols |= 1u << AG_COL_AT1;
      else if (!memcmp(s, "EI", 2)) *cols |= 1u << AG_COL_EI;
      return true;
    }
  return false;
}

/* reach: all_items | ccl_items | reasons:NS,MT,... (746.3(a)(1)) */
static ag_status parse_reach(const ag_tsv *t, int col, ag_embargo *e, ag_error *err) {
  const char *s = t->field[col];
  if (is(s, "all_items")) e->all_items = true;
  else if (is(s, "ccl_items")) e->all_items = false;
  else if (!strncmp(s, "reasons:", 8) && s[8]) {
    e->reach_reasons = s + 8;
    uint32_t cols = 0;
    for (const char *p = e->reach_reasons; *p;) {
      size_t n = strcspn(p, ",");
      if (!reason_columns(p, n, &cols))
        return ag_tsv_fail(t, err, col, "'%.*s' is not a reason for control (NS, MT, NP, ...)",
                           (int)n, p);
      p += n + (p[n] == ',');
    }
    if (!cols)
      return ag_tsv_fail(t, err, col, "none of these reasons has a Country Chart column the "
                                      "tables hold (NS, AT, EI), so the row could reach nothing");
    e->reach_columns = cols;
  } else
    return ag_tsv_fail(t, err, col, "'%s' is not all_items, ccl_items or reasons:LIST", s);
  return AG_OK;
}

/* enc_for: "-" (ENC not listed), "*" (any party), or end-user types, a
 * government one qualified by its country's groups: government@A:5/A:6. */
static ag_status parse_enc_for(const ag_tsv *t, int col, ag_embargo *e, ag_error *err) {
  const char *s = t->field[col];
  if (is(s, "-") || is(s, "*")) {
    if (is(s, "-") == e->lists_enc)
      return ag_tsv_fail(t, err, col, e->lists_enc ? "the exceptions list ENC: say for whom"
                                                   : "ENC is not among the exceptions");
    e->enc_any = is(s, "*");
    return AG_OK;
  }
  if (!e->lists_enc)
    return ag_tsv_fail(t, err, col, "ENC is not among the exceptions");
  for (const char *p = s; *p;) {
    size_t n = strcspn(p, ",");
    const char *at = memchr(p, '@', n);
    size_t tn = at ? (size_t)(at - p) : n;
    ag_end_user_type type;
    if (!ag_end_user_type_parse(p, tn, &type))
      return ag_tsv_fail(t, err, col, "'%.*s' is not an end-user type", (int)tn, p);
    e->enc_end_users |= 1u << type;
    if (at) {
      if (type != AG_EU_GOVERNMENT)
        return ag_tsv_fail(t, err, col, "only government takes @groups");
      for (const char *g = at + 1; g < p + n;) {
        size_t gn = strcspn(g, "/,");
        if (g + gn > p + n)
          gn = (size_t)(p + n - g);
        int gi = ag_rules_group_parse(g, gn);
        if (gi < 0)
          return ag_tsv_fail(t, err, col, "'%.*s' is not a Country Group", (int)gn, g);
        e->enc_government_groups |= 1u << gi;
        g += gn + (g[gn] == '/');
      }
    } else if (type == AG_EU_GOVERNMENT)
      return ag_tsv_fail(t, err, col, "government needs @groups (the countries whose "
                                      "government end users may use ENC)");
    p += n + (p[n] == ',');
  }
  return AG_OK;
}

static ag_status load_embargoes(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"code",    "section", "reach",       "exceptions_cite",
                                     "exceptions", "enc_for", "scope",    "deemed",
                                     "deemed_cite", "numbering", "from",  "to",
                                     "status",  "source",  "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_EMBARGO], buf, len, cols, 15, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->embargoes, r->n_embargoes, cap);
    ag_embargo *e = &r->embargoes[r->n_embargoes];
    memset(e, 0, sizeof *e);
    if ((st = find_dest_field(r, &t, 0, &e->dest, err)) ||
        (st = parse_meta(&t, 10, 11, 12, 13, &e->meta, err)))
      return st;
    e->section = t.field[1];
    e->exceptions_cite = t.field[3];
    e->exceptions = t.field[4];
    if (strncmp(e->section, "746.", 4) != 0)
      return ag_tsv_fail(&t, err, 1, "'%s' is not a section of part 746", e->section);
    if (strncmp(e->exceptions_cite, e->section, strlen(e->section)) != 0)
      return ag_tsv_fail(&t, err, 3, "'%s' is not a paragraph of %s", e->exceptions_cite,
                         e->section);
    if ((st = parse_reach(&t, 2, e, err)))
      return st;
    for (const char *p = e->exceptions; *p && !is(e->exceptions, "-");) {
      size_t n = strcspn(p, ",");
      if (n != 3 || p[0] < 'A' || p[0] > 'Z' || p[1] < 'A' || p[1] > 'Z' || p[2] < 'A' ||
          p[2] > 'Z')
        return ag_tsv_fail(&t, err, 4, "'%.*s' is not a licence exception symbol (e.g. TMP)",
                           (int)n, p);
      if (!strncmp(p, "ACE", 3))
        return ag_tsv_fail(&t, err, 4, "no Part 746 section lists ACE; check the text");
      if (!strncmp(p, "ENC", 3))
        e->lists_enc = true;
      p += n + (p[n] == ',');
    }
    if ((st = parse_enc_for(&t, 5, e, err)))
      return st;
    if (is(t.field[6], "whole")) e->partial = false;
    else if (is(t.field[6], "partial")) e->partial = true;
    else
      return ag_tsv_fail(&t, err, 6, "'%s' is not whole or partial", t.field[6]);
    if (is(t.field[7], "applies")) e->deemed_excluded = false;
    else if (is(t.field[7], "excluded")) e->deemed_excluded = true;
    else
      return ag_tsv_fail(&t, err, 7, "'%s' is not applies or excluded", t.field[7]);
    e->deemed_cite = nullable(t.field[8]);
    if (e->deemed_excluded != (e->deemed_cite != NULL))
      return ag_tsv_fail(&t, err, 8, e->deemed_excluded ? "name the paragraph that excludes "
                                                          "deemed exports"
                                                        : "only an excluded row cites one");
    if (e->deemed_cite && strncmp(e->deemed_cite, e->section, strlen(e->section)) != 0)
      return ag_tsv_fail(&t, err, 8, "'%s' is not a paragraph of %s", e->deemed_cite, e->section);
    if (is(t.field[9], "as_of")) e->numbering_current = false;
    else if (is(t.field[9], "current")) e->numbering_current = true;
    else
      return ag_tsv_fail(&t, err, 9, "'%s' is not as_of or current", t.field[9]);
    e->text = t.field[14];
    for (size_t i = 0; i < r->n_embargoes; i++)
      if (r->embargoes[i].dest == e->dest && overlaps(&r->embargoes[i].meta, &e->meta))
        return ag_tsv_fail(&t, err, 10, "overlaps the embargo row for %s at line %d", t.field[0],
                           r->embargoes[i].meta.line);
    r->n_embargoes++;
  }
  return st;
}

static ag_status load_restrictions(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"id",        "exception",    "paragraph", "from",
                                     "to",        "dest_groups",  "groups_of", "end_users",
                                     "transactions", "items",     "flags",     "status",
                                     "source",    "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_RESTRICT], buf, len, cols, 14, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->restrictions, r->n_restrictions, cap);
    ag_restriction *x = &r->restrictions[r->n_restrictions];
    memset(x, 0, sizeof *x);
    x->id = t.field[0];
    for (size_t i = 0; i < r->n_restrictions; i++)
      if (is(r->restrictions[i].id, x->id))
        return ag_tsv_fail(&t, err, 0, "id '%s' is used twice", x->id);
    if (is(t.field[1], "ACE")) x->exception = AG_EXC_ACE;
    else if (is(t.field[1], "ENC")) x->exception = AG_EXC_ENC;
    else
      return ag_tsv_fail(&t, err, 1, "'%s' is not ACE or ENC", t.field[1]);
    x->paragraph = t.field[2];
    x->text = t.field[13];
    if (is(t.field[6], "destination")) x->groups_of_end_user = false;
    else if (is(t.field[6], "end_user_country")) x->groups_of_end_user = true;
    else
      return ag_tsv_fail(&t, err, 6, "'%s' is not destination or end_user_country", t.field[6]);
    if ((st = parse_meta(&t, 3, 4, 11, 12, &x->meta, err)) ||
        (st = parse_set(&t, 5, ag_rules_group_parse, "Country Group", false, &x->dest_groups,
                        err)) ||
        (st = parse_set(&t, 7, parse_eu_token, "end-user type", false, &x->end_users, err)) ||
        (st = parse_set(&t, 8, parse_txn_token, "transaction", false, &x->transactions, err)) ||
        (st = parse_items(r, &t, 9, &x->items, err)) ||
        (st = parse_set(&t, 10, parse_flag_token, "flag", true, &x->flags, err)))
      return st;
    r->n_restrictions++;
  }
  return st;
}

static ag_status load_exceptions(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {
      "restriction", "paragraph", "from",  "to",     "dest_groups_also", "end_users",
      "end_user_flags", "end_uses", "transactions", "items", "status", "source", "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_EXCEPT], buf, len, cols, 13, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->exceptions, r->n_exceptions, cap);
    ag_exception *x = &r->exceptions[r->n_exceptions];
    memset(x, 0, sizeof *x);
    x->restriction = -1;
    for (size_t i = 0; i < r->n_restrictions; i++)
      if (is(r->restrictions[i].id, t.field[0]))
        x->restriction = (int)i;
    if (x->restriction < 0)
      return ag_tsv_fail(&t, err, 0, "'%s' is not an id in ace-restrictions.tsv", t.field[0]);
    x->paragraph = t.field[1];
    x->text = t.field[12];
    if ((st = parse_meta(&t, 2, 3, 10, 11, &x->meta, err)) ||
        (st = parse_set(&t, 4, ag_rules_group_parse, "Country Group", false,
                        &x->dest_groups_also, err)) ||
        (st = parse_set(&t, 5, parse_eu_token, "end-user type", false, &x->end_users, err)) ||
        (st = parse_set(&t, 6, parse_flag_token, "flag", true, &x->end_user_flags, err)) ||
        (st = parse_set(&t, 7, parse_use_token, "end use", false, &x->end_uses, err)) ||
        (st = parse_set(&t, 8, parse_txn_token, "transaction", false, &x->transactions, err)) ||
        (st = parse_items(r, &t, 9, &x->items, err)))
      return st;
    r->n_exceptions++;
  }
  return st;
}

/* list-meanings.tsv: what a confident match on each list means. */
static ag_status load_lists(ag_rules *r, char *buf, size_t len, ag_error *err) {
  static const char *const cols[] = {"list", "program", "outcome", "cite",   "suspends",
                                     "from", "to",      "status",  "source", "text"};
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, file_names[F_LISTS], buf, len, cols, 10, err);
  if (st)
    return st;
  size_t cap = 0;
  NEXT_ROWS(t) {
    GROW(r->list_rows, r->n_list_rows, cap);
    ag_list_row *x = &r->list_rows[r->n_list_rows];
    memset(x, 0, sizeof *x);
    x->list = t.field[0];
    x->program = nullable(t.field[1]);
    x->cite = t.field[3];
    x->text = t.field[9];
    if (strlen(x->list) < 2 || strspn(x->list, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(x->list))
      return ag_tsv_fail(&t, err, 0, "'%s' is not a screening list code (EL, DPL, SDN, ...)",
                         x->list);
    x->outcome = -1;
    for (int o = 0; o < AG_OUTCOME_COUNT; o++)
      if (is(t.field[2], ag_outcome_name((ag_outcome)o)))
        x->outcome = o;
    /* a list match can only make an outcome stricter (docs/decision-model.md) */
    if (x->outcome != AG_OUTCOME_REVIEW && x->outcome != AG_OUTCOME_LICENSE_REQUIRED &&
        x->outcome != AG_OUTCOME_PROHIBITED)
      return ag_tsv_fail(&t, err, 2, "'%s' is not REVIEW, LICENSE_REQUIRED or PROHIBITED",
                         t.field[2]);
    if (is(t.field[4], "yes")) x->suspends_exceptions = true;
    else if (is(t.field[4], "no")) x->suspends_exceptions = false;
    else
      return ag_tsv_fail(&t, err, 4, "'%s' is not yes or no", t.field[4]);
    if ((st = parse_meta(&t, 5, 6, 7, 8, &x->meta, err)))
      return st;
    for (size_t i = 0; i < r->n_list_rows; i++) {
      const ag_list_row *o = &r->list_rows[i];
      if (is(o->list, x->list) && !o->program == !x->program &&
          (!x->program || is(o->program, x->program)) && overlaps(&o->meta, &x->meta))
        return ag_tsv_fail(&t, err, 5, "overlaps the row for %s at line %d", x->list,
                           o->meta.line);
    }
    r->n_list_rows++;
  }
  if (st)
    return st;
  /* the citations of the lists as a whole, each once, in table order */
  size_t cap_s = 1;
  for (size_t i = 0; i < r->n_list_rows; i++)
    cap_s += strlen(r->list_rows[i].cite) + 2;
  char *joined = malloc(cap_s);
  if (!joined || !keep(r, joined))
    return ag_error_set(err, AG_ERR_NOMEM, file_names[F_LISTS], "out of memory");
  joined[0] = '\0';
  size_t used = 0; /* cap_s fits every citation and its separator */
  for (size_t i = 0; i < r->n_list_rows; i++) {
    const ag_list_row *x = &r->list_rows[i];
    if (x->program || strstr(joined, x->cite))
      continue;
    used += (size_t)snprintf(joined + used, cap_s - used, "%s%s", used ? "; " : "", x->cite);
  }
  r->screening_cite = joined;
  return AG_OK;
}

/* due-diligence.tsv: validated by its own module (src/diligence). */
static ag_status load_due_diligence(ag_rules *r, char *buf, size_t len, ag_error *err) {
  return ag_diligence_load_buffer(file_names[F_DUE_DILIGENCE], buf, len, &r->diligence, err);
}

/* ---- indexing ---- */

static const ag_rules *sort_rules; /* qsort has no context argument */

#define BY_DEST(name, type)                                                                        \
  static int name(const void *a, const void *b) {                                                  \
    const type *x = a, *y = b;                                                                     \
    if (x->dest != y->dest)                                                                        \
      return x->dest < y->dest ? -1 : 1;                                                           \
    return x->meta.line < y->meta.line ? -1 : x->meta.line > y->meta.line;                         \
  }
BY_DEST(cmp_group, ag_group_row)
BY_DEST(cmp_chart, ag_chart_row)
BY_DEST(cmp_embargo, ag_embargo)

static int cmp_exception(const void *a, const void *b) {
  const ag_exception *x = a, *y = b;
  if (x->restriction != y->restriction)
    return x->restriction < y->restriction ? -1 : 1;
  return x->meta.line < y->meta.line ? -1 : x->meta.line > y->meta.line;
}

static void build_index(ag_rules *r) {
  (void)sort_rules;
  if (r->n_groups)
    qsort(r->groups, r->n_groups, sizeof *r->groups, cmp_group);
  if (r->n_chart)
    qsort(r->chart, r->n_chart, sizeof *r->chart, cmp_chart);
  if (r->n_embargoes)
    qsort(r->embargoes, r->n_embargoes, sizeof *r->embargoes, cmp_embargo);
  if (r->n_exceptions)
    qsort(r->exceptions, r->n_exceptions, sizeof *r->exceptions, cmp_exception);
  for (size_t i = r->n_groups; i-- > 0;) {
    ag_destination *d = &r->destinations[r->groups[i].dest];
    d->groups_first = (uint32_t)i;
    d->groups_count++;
  }
  for (size_t i = r->n_chart; i-- > 0;) {
    ag_destination *d = &r->destinations[r->chart[i].dest];
    d->chart_first = (uint32_t)i;
    d->chart_count++;
  }
  for (size_t i = r->n_embargoes; i-- > 0;) {
    ag_destination *d = &r->destinations[r->embargoes[i].dest];
    d->embargo_first = (uint32_t)i;
    d->embargo_count++;
  }
  for (size_t i = r->n_exceptions; i-- > 0;) {
    ag_restriction *x = &r->restrictions[r->exceptions[i].restriction];
    x->exceptions_first = (uint32_t)i;
    x->exceptions_count++;
  }
}

static ag_status check_coverage(const ag_rules *r, ag_error *err) {
  for (size_t i = 0; i < r->n_destinations; i++) {
    const ag_destination *d = &r->destinations[i];
    if (d->kind == AG_DEST_COUNTRY && d->chart_count == 0) {
      char where[160];
      snprintf(where, sizeof where, "%s:%d", d->meta.file, d->meta.line);
      return ag_error_set(err, AG_ERR_RULES, where,
                          "country '%s' has no row in country-chart.tsv", d->code);
    }
  }
  return AG_OK;
}

static uint32_t fnv1a(uint32_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

ag_status ag_rules_load_files(const ag_embedded_file *files, size_t n, ag_rules **out,
                              ag_error *err) {
  *out = NULL;
  ag_rules *r = calloc(1, sizeof *r);
  if (!r)
    return ag_error_set(err, AG_ERR_NOMEM, "rules", "out of memory");
  memset(r->dest_index2, 0xff, sizeof r->dest_index2);
  typedef ag_status (*loader)(ag_rules *, char *, size_t, ag_error *);
  static const loader loaders[F_COUNT] = {
      load_meta,       load_destinations, load_groups,  load_d5,
      load_chart,      load_paragraphs,   load_items,   load_new_items,
      load_scope,      load_embargoes,    load_restrictions, load_exceptions,
      load_lists,      load_due_diligence};
  uint32_t hash = 2166136261u;
  ag_status st = AG_OK;
  for (int f = 0; f < F_COUNT && !st; f++) {
    const ag_embedded_file *file = NULL;
    for (size_t i = 0; i < n; i++)
      if (is(files[i].name, file_names[f]))
        file = &files[i];
    if (!file) {
      st = ag_error_set(err, AG_ERR_RULES, file_names[f], "the table is missing");
      break;
    }
    hash = fnv1a(hash, file->data, file->len);
    char *buf = malloc(file->len + 1);
    if (!buf || !keep(r, buf)) {
      st = ag_error_set(err, AG_ERR_NOMEM, file_names[f], "out of memory");
      break;
    }
    memcpy(buf, file->data, file->len);
    buf[file->len] = '\0';
    st = loaders[f](r, buf, file->len, err);
  }
  if (!st) {
    build_index(r);
    st = check_coverage(r, err);
  }
  if (st) {
    ag_rules_free(r);
    return st;
  }
  snprintf(r->version, sizeof r->version, "%s+%08x", r->edition, hash);
  *out = r;
  return AG_OK;
}

ag_status ag_rules_load_default(ag_rules **out, ag_error *err) {
  return ag_rules_load_files(ag_rules_embedded, ag_rules_embedded_count, out, err);
}

ag_status ag_rules_load_dir(const char *dir, ag_rules **out, ag_error *err) {
  ag_embedded_file files[F_COUNT];
  char *bufs[F_COUNT] = {0};
  ag_status st = AG_OK;
  int nf = 0;
  for (int f = 0; f < F_COUNT; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file_names[f]);
    char *b;
    size_t len;
    /* a table is a few KB; refuse absurd files */
    if ((st = ag_tsv_read_file(path, (size_t)64 << 20, &b, &len, err)) != AG_OK)
      break;
    bufs[nf] = b;
    files[nf].name = file_names[f];
    files[nf].data = b;
    files[nf].len = len;
    nf++;
  }
  if (!st)
    st = ag_rules_load_files(files, (size_t)nf, out, err);
  for (int i = 0; i < nf; i++)
    free(bufs[i]);
  return st;
}

void ag_rules_free(ag_rules *r) {
  if (!r)
    return;
  free(r->destinations);
  free(r->groups);
  free(r->chart);
  free(r->items);
  free(r->paragraphs);
  free(r->embargoes);
  free(r->restrictions);
  free(r->exceptions);
  free(r->scope);
  free(r->list_rows);
  ag_diligence_free(r->diligence);
  for (size_t i = 0; i < r->n_storage; i++)
    free(r->storage[i]);
  free(r->storage);
  free(r);
}
