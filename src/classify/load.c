/*
 * load.c - reads and validates the classification questionnaire
 * (data/rules/classification.tsv) with the strict TSV reader every table
 * loader shares (src/common/tsv.h), and compiles each row's requires/excludes into row indexes.
 *
 * Invariants after a successful load: ids are unique; every atom names a
 * row defined above it (so the rows form no cycle and one pass in file
 * order evaluates them) and in force whenever the row using it is; every
 * question is used by some term or result; every result paragraph, with
 * its "for", is an item of ccl-items.tsv; only questions carry question
 * text, only results a "for".
 */
#include "classify_internal.h"

#include "../common/tsv.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const file_name = "classification.tsv";

enum {
  C_KIND,
  C_ID,
  C_FOR,
  C_REQ,
  C_EXCL,
  C_FROM,
  C_TO,
  C_PROV,
  C_CITE,
  C_SOURCE,
  C_QUESTION,
  C_TEXT,
  C_COUNT
};
static const char *const cols[C_COUNT] = {"kind",     "id",     "for",      "requires",
                                          "excludes", "from",   "to",       "provenance",
                                          "cite",     "source", "question", "cited_text"};

static const char *const provenance_names[] = {"verbatim", "summary", "reconstructed"};

const char *ag_classify_provenance_name(ag_classify_provenance p) {
  return (unsigned)p < 3 ? provenance_names[p] : "?";
}

static bool is(const char *s, const char *lit) {
  return strcmp(s, lit) == 0;
}

static bool id_ok(const char *s) {
  if (!*s || strlen(s) > 40)
    return false;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.'))
      return false;
  return true;
}

/* Compiled logic of all rows, grown as rows are read. */
typedef struct {
  int *v;
  size_t n, cap;
} ints;

static bool push(ints *a, int x) {
  if (a->n == a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 256;
    int *nv = realloc(a->v, nc * sizeof *nv);
    if (!nv)
      return false;
    a->v = nv;
    a->cap = nc;
  }
  a->v[a->n++] = x;
  return true;
}

/* Appends every row an atom names: a question or term by id, a result by
 * its paragraph (each of its "for" rows). Only rows above `upto`. */
static int resolve_atom(const ag_classify *q, size_t upto, const char *s, size_t n, ints *out) {
  int found = 0;
  for (size_t i = 0; i < upto; i++) {
    const ag_classify_row *r = &q->rows[i];
    if (strlen(r->id) == n && !memcmp(r->id, s, n)) {
      if (!push(out, (int)i))
        return -1;
      found++;
    }
  }
  return found;
}

static bool covers(const ag_classify_row *outer, const ag_classify_row *inner) {
  return inner->from <= outer->from && inner->to >= outer->to;
}

/* Parses "a|b,c" (clauses) or "a,b" (one OR list when one_clause). */
static ag_status compile_logic(ag_classify *q, const ag_tsv *t, int col, bool one_clause,
                               ints *store, ints *starts, ag_error *err) {
  const char *s = t->field[col];
  if (is(s, "-"))
    return AG_OK;
  size_t self = q->n_rows;
  if (!one_clause && !push(starts, (int)store->n))
    return ag_error_set(err, AG_ERR_NOMEM, file_name, "out of memory");
  for (const char *p = s;;) {
    size_t n = strcspn(p, ",|");
    if (n == 0)
      return ag_tsv_fail(t, err, col, "an empty atom in '%s'", s);
    int got = resolve_atom(q, self, p, n, store);
    if (got < 0)
      return ag_error_set(err, AG_ERR_NOMEM, file_name, "out of memory");
    if (got == 0)
      return ag_tsv_fail(t, err, col, "'%.*s' is not a question, term or result defined above",
                         (int)n, p);
    /* a requirement must be answerable whenever the row is in force; an
     * exclusion not in force simply does not apply */
    for (size_t k = store->n - (size_t)got; k < store->n && !one_clause; k++)
      if (!covers(&q->rows[self], &q->rows[store->v[k]]))
        return ag_tsv_fail(t, err, col, "'%.*s' is not in force whenever this row is", (int)n, p);
    p += n;
    if (!*p)
      break;
    if (*p == '|' && one_clause)
      return ag_tsv_fail(t, err, col, "write exclusions as a ',' list: any one excludes");
    if (*p == ',' && !one_clause && !push(starts, (int)store->n))
      return ag_error_set(err, AG_ERR_NOMEM, file_name, "out of memory");
    p++;
  }
  return AG_OK;
}

static ag_status check_result_item(const ag_classify *q, const ag_tsv *t, ag_classify_row *r,
                                   ag_error *err) {
  if (!q->rules)
    return AG_OK;
  /* 740.22(b)(1) and the ACE lines name each paragraph with its "for";
   * ccl-items.tsv carries the same pairs, so the two tables must agree */
  ag_date on = r->from != AG_DATE_NONE ? r->from : r->to != AG_DATE_MAX ? r->to : ag_date_today();
  const ag_item *item = NULL;
  ag_item_lookup lk = ag_rules_find_item(q->rules, r->id, r->for_, on, &item);
  if (lk != AG_ITEM_FOUND || strcmp(item->paragraph, r->id) != 0)
    return ag_tsv_fail(t, err, C_ID,
                       "'%s%s%s' is not an item of ccl-items.tsv in force on its "
                       "from date",
                       r->id, r->for_ ? " for " : "", r->for_ ? r->for_ : "");
  return AG_OK;
}

static uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

/* Where a row's logic starts in the stores while rows are still being read
 * (the stores move as they grow; pointers are set once all are read). */
typedef struct {
  size_t starts, excl;
} offsets;

static ag_status parse_rows(ag_classify *q, const char *name, ints *store, ints *starts,
                            offsets **offs, ag_error *err) {
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, name, q->text, q->text_len, cols, C_COUNT, err);
  if (st)
    return st;
  size_t cap = 0;
  for (bool failed = false;;) {
    if (!ag_tsv_next(&t, &failed, err)) {
      if (failed)
        return AG_ERR_RULES;
      break;
    }
    if (q->n_rows == cap) {
      size_t nc = cap ? cap * 2 : 64;
      ag_classify_row *nr = realloc(q->rows, nc * sizeof *nr);
      if (!nr)
        return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
      q->rows = nr;
      offsets *no = realloc(*offs, nc * sizeof *no);
      if (!no)
        return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
      *offs = no;
      cap = nc;
    }
    ag_classify_row *r = &q->rows[q->n_rows];
    memset(r, 0, sizeof *r);
    r->line = t.line;
    const char *kind = t.field[C_KIND];
    if (is(kind, "question"))
      r->kind = AG_CLASSIFY_QUESTION;
    else if (is(kind, "term"))
      r->kind = AG_CLASSIFY_TERM;
    else if (is(kind, "result"))
      r->kind = AG_CLASSIFY_RESULT;
    else
      return ag_tsv_fail(&t, err, C_KIND, "'%s' is not question, term or result", kind);
    r->id = t.field[C_ID];
    r->for_ = is(t.field[C_FOR], "-") ? NULL : t.field[C_FOR];
    if (!id_ok(r->id))
      return ag_tsv_fail(&t, err, C_ID, "'%s' is not an id (letters, digits, '-', '_', '.')",
                         r->id);
    for (size_t i = 0; i < q->n_rows; i++) {
      const ag_classify_row *o = &q->rows[i];
      bool same = is(o->id, r->id) &&
                  ((!o->for_ && !r->for_) || (o->for_ && r->for_ && is(o->for_, r->for_)));
      /* a result paragraph may appear once per "for"; any other id once */
      if (is(o->id, r->id) &&
          (same || o->kind != AG_CLASSIFY_RESULT || r->kind != AG_CLASSIFY_RESULT))
        return ag_tsv_fail(&t, err, C_ID, "'%s' is defined twice (line %d)", r->id, o->line);
    }
    if (r->for_ && r->kind != AG_CLASSIFY_RESULT)
      return ag_tsv_fail(&t, err, C_FOR, "only a result takes a \"for\" qualifier");
    if ((st = ag_tsv_date(&t, C_FROM, false, &r->from, err)) ||
        (st = ag_tsv_date(&t, C_TO, true, &r->to, err)))
      return st;
    if (r->from != AG_DATE_NONE && r->to != AG_DATE_MAX && r->from > r->to)
      return ag_tsv_fail(&t, err, C_TO, "ends before it starts");
    int p = -1;
    for (int i = 0; i < 3; i++)
      if (is(t.field[C_PROV], provenance_names[i]))
        p = i;
    if (p < 0)
      return ag_tsv_fail(&t, err, C_PROV, "'%s' is not verbatim, summary or reconstructed",
                         t.field[C_PROV]);
    r->provenance = (ag_classify_provenance)p;
    r->cite = t.field[C_CITE];
    r->source = t.field[C_SOURCE];
    r->cited_text = t.field[C_TEXT];
    if (strlen(r->source) < 4 || is(r->source, "-"))
      return ag_tsv_fail(&t, err, C_SOURCE, "every row needs its source");
    if (is(r->cite, "-") || is(r->cited_text, "-"))
      return ag_tsv_fail(&t, err, is(r->cite, "-") ? C_CITE : C_TEXT,
                         "every row needs its citation and the text it rests on");
    bool has_q = !is(t.field[C_QUESTION], "-");
    if (has_q != (r->kind == AG_CLASSIFY_QUESTION))
      return ag_tsv_fail(&t, err, C_QUESTION,
                         has_q ? "only a question has question text" : "a question needs its text");
    r->question = has_q ? t.field[C_QUESTION] : NULL;
    r->requires = is(t.field[C_REQ], "-") ? NULL : t.field[C_REQ];
    r->excludes = is(t.field[C_EXCL], "-") ? NULL : t.field[C_EXCL];
    if (r->kind == AG_CLASSIFY_QUESTION && (r->requires || r->excludes))
      return ag_tsv_fail(&t, err, r->requires ? C_REQ : C_EXCL,
                         "a question is answered, not derived: write '-'");
    if (r->kind == AG_CLASSIFY_RESULT && !r->requires)
      return ag_tsv_fail(&t, err, C_REQ, "a result needs its requirements");
    /* store offsets now; pointers are fixed once every row is read */
    size_t starts_before = starts->n;
    if ((st = compile_logic(q, &t, C_REQ, false, store, starts, err)))
      return st;
    r->n_clauses = (int)(starts->n - starts_before);
    size_t excl_before = store->n;
    if ((st = compile_logic(q, &t, C_EXCL, true, store, starts, err)))
      return st;
    r->n_excl = (int)(store->n - excl_before);
    (*offs)[q->n_rows] = (offsets){starts_before, excl_before};
    /* the end of the last clause, so clause i spans req_start[i]..req_start[i+1] */
    if (r->n_clauses && !push(starts, (int)excl_before))
      return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
    q->n_rows++;
    if (r->kind == AG_CLASSIFY_RESULT && (st = check_result_item(q, &t, r, err)))
      return st;
  }
  return AG_OK;
}

/* Every question must feed some term or result: a question nothing reads
 * would be asked for nothing. */
static ag_status check_used(const ag_classify *q, const char *name, ag_error *err) {
  bool any_result = false;
  for (size_t i = 0; i < q->n_rows; i++) {
    const ag_classify_row *r = &q->rows[i];
    any_result |= r->kind == AG_CLASSIFY_RESULT;
    if (r->kind == AG_CLASSIFY_RESULT)
      continue;
    bool used = false;
    for (size_t j = i + 1; j < q->n_rows && !used; j++) {
      const ag_classify_row *u = &q->rows[j];
      /* a row with clauses or exclusions has them in the compiled logic */
      assert(!u->n_clauses || (u->req_start && u->req));
      assert(!u->n_excl || u->excl);
      for (int k = u->n_clauses ? u->req_start[0] : 0;
           u->n_clauses && k < u->req_start[u->n_clauses] && !used; k++)
        used = u->req[k] == (int)i;
      for (int k = 0; k < u->n_excl && !used; k++)
        used = u->excl[k] == (int)i;
    }
    if (!used) {
      char where[160];
      snprintf(where, sizeof where, "%s:%d", name, r->line);
      return ag_error_set(err, AG_ERR_RULES, where,
                          "column 'id': '%s' is used by no term or "
                          "result",
                          r->id);
    }
  }
  if (!any_result)
    return ag_error_set(err, AG_ERR_RULES, name, "the questionnaire has no result row");
  return AG_OK;
}

ag_status ag_classify_load_buffer(const ag_rules *rules, const char *name, const char *data,
                                  size_t len, ag_classify **out, ag_error *err) {
  *out = NULL;
  ag_classify *q = calloc(1, sizeof *q);
  if (!q || !(q->text = malloc(len + 1))) {
    free(q);
    return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
  }
  memcpy(q->text, data, len);
  q->text[len] = '\0';
  q->text_len = len;
  q->rules = rules;
  snprintf(q->version, sizeof q->version, "%s+%08x", file_name, fnv1a(data, len));
  ints store = {0}, starts = {0};
  offsets *offs = NULL;
  ag_status st = parse_rows(q, name, &store, &starts, &offs, err);
  if (!st) {
    q->logic = store.v;
    q->starts = starts.v;
    store.v = starts.v = NULL;
    for (size_t i = 0; i < q->n_rows; i++) {
      ag_classify_row *r = &q->rows[i];
      r->req_start = q->starts ? q->starts + offs[i].starts : NULL;
      r->req = q->logic;
      r->excl = q->logic ? q->logic + offs[i].excl : NULL;
    }
    st = check_used(q, name, err);
  }
  free(offs);
  free(store.v);
  free(starts.v);
  if (st) {
    ag_classify_free(q);
    return st;
  }
  *out = q;
  return AG_OK;
}

ag_status ag_classify_load_default(const ag_rules *rules, ag_classify **out, ag_error *err) {
  for (size_t i = 0; i < ag_rules_embedded_count; i++)
    if (is(ag_rules_embedded[i].name, file_name))
      return ag_classify_load_buffer(rules, file_name, ag_rules_embedded[i].data,
                                     ag_rules_embedded[i].len, out, err);
  *out = NULL;
  return ag_error_set(err, AG_ERR_RULES, file_name, "the table is missing");
}

ag_status ag_classify_load_dir(const ag_rules *rules, const char *dir, ag_classify **out,
                               ag_error *err) {
  *out = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file_name);
  char *buf;
  size_t len;
  /* the questionnaire is a few tens of KB */
  ag_status st = ag_tsv_read_file(path, (size_t)16 << 20, &buf, &len, err);
  if (!st)
    st = ag_classify_load_buffer(rules, file_name, buf, len, out, err);
  free(buf);
  return st;
}

void ag_classify_free(ag_classify *q) {
  if (!q)
    return;
  free(q->rows);
  free(q->logic);
  free(q->starts);
  free(q->text);
  free(q);
}

size_t ag_classify_count(const ag_classify *q) {
  return q->n_rows;
}

const ag_classify_row *ag_classify_row_at(const ag_classify *q, size_t i) {
  return i < q->n_rows ? &q->rows[i] : NULL;
}

int ag_classify_find(const ag_classify *q, const char *id, size_t len) {
  for (size_t i = 0; i < q->n_rows; i++)
    if (strlen(q->rows[i].id) == len && !memcmp(q->rows[i].id, id, len))
      return (int)i;
  return -1;
}

const char *ag_classify_version(const ag_classify *q) {
  return q->version;
}

bool ag_classify_in_force(const ag_classify_row *row, ag_date on) {
  return row->from <= on && on <= row->to;
}
