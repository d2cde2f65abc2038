/*
 * load.c - loaders for the screening lists in their published formats.
 *
 *   CSL CSV   trade.gov consolidated.csv: header row, 28 columns (older) or
 *             29 with a leading _id; multi-valued cells "; "-separated.
 *   CSL TSV   trade.gov consolidated.tsv: the same columns, tab-separated.
 *   CSL JSON  trade.gov consolidated.json: {"results": [...]} (or a bare
 *             array), array-valued addresses, alt_names, programs, ids.
 *   OFAC      legacy CSV without header: sdn.csv / cons_prim.csv (12
 *             columns), alt.csv (5), add.csv (6), *_comments.csv (2);
 *             "-0-" means empty; the companions are joined to their
 *             primary file by ent_num.
 *   BIS DPL   tab-separated, every field quoted, header row.
 *
 * A file's format is recognised from its content (header, column count);
 * whether an OFAC primary file is the SDN list or the non-SDN consolidated
 * list is told by its name ("cons" in it: non-SDN), since OFAC publishes
 * both in one layout.
 *
 * Every loader validates as it goes and stops at the first fault with
 * "file:line" and the field at fault, so a damaged file never becomes the
 * lists in force. Source ids are the entry's own id as the file gives it
 * (CSL _id, else entity_number; OFAC ent_num); where a file has none they
 * are derived from the entry's contents, not its row, so that they do not
 * change when rows are added: "csl:" + the first 12 hex digits of SHA-256
 * over list code, name, Federal Register citation and addresses; "dpl:" +
 * the same over name, address and effective date (set.c makes them
 * unique).
 */
#include "screen_int.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LIST_FILE_MAX ((size_t)1 << 30)

typedef enum {
  FMT_UNKNOWN = 0,
  FMT_CSL_CSV,
  FMT_CSL_TSV,
  FMT_CSL_JSON,
  FMT_OFAC_PRIM,
  FMT_OFAC_ALT,
  FMT_OFAC_ADD,
  FMT_OFAC_COMMENTS,
  FMT_DPL
} fmt;

typedef struct {
  char *path;       /* as given */
  const char *base; /* file name within path */
  char *data;
  size_t len;
  fmt format;
  char date[11];  /* from the file name, or "" */
  char mdate[11]; /* from the modification time, or "" */
  bool cons;      /* OFAC non-SDN ("cons" in the name) */
  bool used;
} lfile;

static ag_status nomem(ag_error *err) {
  return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
}

/* ---- small text helpers ---- */

static bool ieq(const char *a, size_t n, const char *b) {
  size_t m = strlen(b);
  if (n != m)
    return false;
  for (size_t i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z')
      x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (char)(y - 'A' + 'a');
    if (x != y)
      return false;
  }
  return true;
}

static bool has_ci(const char *s, const char *needle) {
  size_t n = strlen(needle);
  for (; *s; s++)
    if (ieq(s, strnlen(s, n), needle))
      return true;
  return false;
}

static void trim(const char **p, size_t *n) {
  while (*n && (**p == ' ' || **p == '\t')) {
    (*p)++;
    (*n)--;
  }
  while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
    (*n)--;
}

static bool all_digits(const char *p, size_t n) {
  if (!n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9')
      return false;
  return true;
}

/* The first YYYY-MM-DD in a file name, if it is a real date. */
static void date_from_name(const char *name, char out[11]) {
  out[0] = '\0';
  for (const char *p = name; *p; p++) {
    if (strlen(p) < 10)
      return;
    ag_date d;
    if (p[4] == '-' && p[7] == '-' && ag_date_parse(p, 10, &d)) {
      memcpy(out, p, 10);
      out[10] = '\0';
      return;
    }
  }
}

/* Latin-1 to UTF-8 (the legacy OFAC files predate UTF-8). */
static char *latin1_to_utf8(sx_set *s, const char *p, size_t n) {
  char *o = ag_arena_alloc(&s->arena, n * 2 + 1);
  if (!o)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x80) {
      o[k++] = (char)c;
    } else {
      o[k++] = (char)(0xC0 | (c >> 6));
      o[k++] = (char)(0x80 | (c & 0x3F));
    }
  }
  o[k] = '\0';
  return o;
}

/* ---- a growable string for joined fields ---- */

typedef struct {
  ag_buf b;
} jstr;

static void jadd(ag_buf *b, const char *p, size_t n, const char *sep) {
  trim(&p, &n);
  if (!n)
    return;
  if (b->len)
    ag_buf_puts(b, sep);
  ag_buf_append(b, p, n);
}

/* Adds code to a "; "-separated country list unless present. */
static void add_country(ag_buf *b, const char *code) {
  if (!code)
    return;
  for (size_t i = 0; i + 2 <= b->len; i += 4)
    if (!memcmp(b->data + i, code, 2))
      return;
  if (b->len)
    ag_buf_puts(b, "; ");
  ag_buf_append(b, code, 2);
}

static char *buf_str(sx_set *s, ag_buf *b) {
  return sx_set_str(s, b->len ? b->data : "", b->len);
}

/* ---- CSL: shared row model ---- */

enum {
  C_ID,
  C_SOURCE,
  C_ENTITY_NUMBER,
  C_TYPE,
  C_PROGRAMS,
  C_NAME,
  C_TITLE,
  C_ADDRESSES,
  C_FR,
  C_START,
  C_LIC_REQ,
  C_LIC_POL,
  C_REMARKS,
  C_URL,
  C_ALT_NAMES,
  C_CITIZENSHIPS,
  C_NATIONALITIES,
  C_IDS,
  C_COUNT
};

static const char *const csl_cols[C_COUNT] = {
    "_id",
    "source",
    "entity_number",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "federal_register_notice",
    "start_date",
    "license_requirement",
    "license_policy",
    "remarks",
    "source_list_url",
    "alt_names",
    "citizenships",
    "nationalities",
    "ids",
};

/* columns both published CSL layouts have; a header without one of them
 * is not the CSL */
static const int csl_required[] = {C_SOURCE,  C_ENTITY_NUMBER, C_TYPE, C_PROGRAMS,
                                   C_NAME,    C_ADDRESSES,     C_FR,   C_LIC_REQ,
                                   C_LIC_POL, C_ALT_NAMES};

typedef struct {
  const char *v[C_COUNT];
  size_t n[C_COUNT];
} csl_row;

typedef struct {
  sx_set *s;
  const lfile *f;
  const char *format;
  char sha[65];
  size_t row; /* 1-based data row */
  ag_buf countries, tmp;
} csl_ctx;

/* Countries from the CSL address cell: each "; "-separated address ends in
 * its ISO alpha-2 code ("..., Moscow, 123290, RU"; the 2026 rebuild has the
 * code alone). */
static void csl_address_countries(ag_buf *out, const char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != ';')
      j++;
    const char *a = p + i;
    size_t al = j - i;
    trim(&a, &al);
    const char *c = a + al;
    size_t cl = 0;
    while (c > a && c[-1] != ',') {
      c--;
      cl++;
    }
    trim(&c, &cl);
    if (sx_country_valid(c, cl))
      add_country(out, c);
    else
      add_country(out, sx_country_code(c, cl)); /* "TURKIYE", "REGION: WEST BANK" */
    i = j + 1;
  }
}

static void code_list_countries(ag_buf *out, const char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != ';' && p[j] != ',')
      j++;
    const char *c = p + i;
    size_t cl = j - i;
    trim(&c, &cl);
    if (sx_country_valid(c, cl))
      add_country(out, c);
    i = j + 1;
  }
}

/* "; and any successor, sub-unit, or subsidiary thereof" (State's ISN
 * entries) is a legal qualifier, not part of the name. */
static size_t csl_name_len(const char *p, size_t n) {
  for (size_t i = 0; i + 19 <= n; i++)
    if (p[i] == ';' && ieq(p + i, 19, "; and any successor"))
      return i;
  return n;
}

static ag_status csl_add_row(csl_ctx *c, csl_row *r, const char *where, ag_error *err) {
  sx_set *s = c->s;
  for (int i = 0; i < C_COUNT; i++) {
    if (!r->v[i]) {
      r->v[i] = "";
      r->n[i] = 0;
    }
    trim(&r->v[i], &r->n[i]);
    if (!ag_utf8_valid(r->v[i], r->n[i]))
      return ag_error_set(err, AG_ERR_LIST, csl_cols[i], "%s: field '%s' is not valid UTF-8", where,
                          csl_cols[i]);
  }
  if (!r->n[C_SOURCE])
    return ag_error_set(err, AG_ERR_LIST, "source", "%s: field 'source' is empty", where);
  if (!r->n[C_NAME])
    return ag_error_set(err, AG_ERR_LIST, "name", "%s: field 'name' is empty", where);
  char code[16];
  const char *lname;
  sx_list_from_source(r->v[C_SOURCE], r->n[C_SOURCE], code, &lname);
  char *src = NULL;
  if (!code[0]) {
    /* an unknown source: keep it, under its own words */
    size_t k = r->n[C_SOURCE] < 15 ? r->n[C_SOURCE] : 15;
    memcpy(code, r->v[C_SOURCE], k);
    code[k] = '\0';
  }
  if (!lname) {
    /* fields are not NUL-terminated */
    const char *dash = memmem(r->v[C_SOURCE], r->n[C_SOURCE], " - ", 3);
    size_t ln = dash ? (size_t)(dash - r->v[C_SOURCE]) : r->n[C_SOURCE];
    src = sx_set_str(s, r->v[C_SOURCE], ln);
    if (!src)
      return nomem(err);
    lname = src;
  }
  uint32_t list;
  ag_status st = sx_set_list(s, code, lname, c->f->base, c->format,
                             c->f->date[0] ? c->f->date : c->f->mdate, c->sha, &list, err);
  if (st)
    return st;

  sx_entry_in e = {.list = list};
  e.f[SX_F_NAME] = sx_set_str(s, r->v[C_NAME], r->n[C_NAME]);
  e.f[SX_F_TYPE] = sx_set_str(s, r->v[C_TYPE], r->n[C_TYPE]);
  e.f[SX_F_PROGRAMS] = sx_set_str(s, r->v[C_PROGRAMS], r->n[C_PROGRAMS]);
  e.f[SX_F_ADDRESSES] = sx_set_str(s, r->v[C_ADDRESSES], r->n[C_ADDRESSES]);
  e.f[SX_F_FR] = sx_set_str(s, r->v[C_FR], r->n[C_FR]);
  e.f[SX_F_LIC_REQ] = sx_set_str(s, r->v[C_LIC_REQ], r->n[C_LIC_REQ]);
  e.f[SX_F_LIC_POL] = sx_set_str(s, r->v[C_LIC_POL], r->n[C_LIC_POL]);
  e.f[SX_F_START] = sx_set_str(s, r->v[C_START], r->n[C_START]);
  e.f[SX_F_REMARKS] = sx_set_str(s, r->v[C_REMARKS], r->n[C_REMARKS]);
  e.f[SX_F_URL] = sx_set_str(s, r->v[C_URL], r->n[C_URL]);
  e.f[SX_F_IDS] = sx_set_str(s, r->v[C_IDS], r->n[C_IDS]);
  if (r->n[C_ID])
    e.f[SX_F_SOURCE_ID] = sx_set_str(s, r->v[C_ID], r->n[C_ID]);
  else if (r->n[C_ENTITY_NUMBER])
    e.f[SX_F_SOURCE_ID] = sx_set_str(s, r->v[C_ENTITY_NUMBER], r->n[C_ENTITY_NUMBER]);
  else if (e.f[SX_F_NAME] && e.f[SX_F_FR] && e.f[SX_F_ADDRESSES]) {
    /* no id in the file: one from the contents, not the row, so that it
     * survives rows added or removed elsewhere */
    const char *key[] = {code, e.f[SX_F_NAME], e.f[SX_F_FR], e.f[SX_F_ADDRESSES]};
    e.f[SX_F_SOURCE_ID] = sx_set_content_id(s, "csl", key, 4);
    e.content_id = true;
  }
  ag_buf_reset(&c->countries);
  csl_address_countries(&c->countries, r->v[C_ADDRESSES], r->n[C_ADDRESSES]);
  code_list_countries(&c->countries, r->v[C_NATIONALITIES], r->n[C_NATIONALITIES]);
  code_list_countries(&c->countries, r->v[C_CITIZENSHIPS], r->n[C_CITIZENSHIPS]);
  if (c->countries.failed)
    return nomem(err);
  e.f[SX_F_COUNTRIES] = buf_str(s, &c->countries);
  for (int i = 0; i < SX_F_COUNT; i++)
    if (!e.f[i])
      return nomem(err);
  uint32_t idx;
  st = sx_set_entry(s, &e, &idx, err);
  if (st)
    return st;
  size_t nl = csl_name_len(r->v[C_NAME], r->n[C_NAME]);
  if (nl < r->n[C_NAME]) {
    st = sx_set_alias(s, idx, SX_KIND_AKA, r->v[C_NAME], nl, err);
    if (st)
      return st;
  }
  return sx_set_aliases_split(s, idx, SX_KIND_AKA, r->v[C_ALT_NAMES], r->n[C_ALT_NAMES], err);
}

static void csl_ctx_init(csl_ctx *c, sx_set *s, const lfile *f, const char *format) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->f = f;
  c->format = format;
  sx_sha256_hex(f->data, f->len, c->sha);
  ag_buf_init(&c->countries);
  ag_buf_init(&c->tmp);
}

static void csl_ctx_free(csl_ctx *c) {
  ag_buf_free(&c->countries);
  ag_buf_free(&c->tmp);
}

/* ---- CSL CSV ---- */

static ag_status load_csl_csv(sx_set *s, const lfile *f, char delim, ag_error *err) {
  sx_csv csv;
  sx_csv_init(&csv, f->data, f->len, delim, f->base);
  csl_ctx c;
  csl_ctx_init(&c, s, f, delim == '\t' ? "csl-tsv" : "csl-csv");
  ag_status st = sx_csv_next(&csv, err);
  int col[C_COUNT];
  size_t ncols = csv.nfields;
  if (st)
    goto out;
  for (int i = 0; i < C_COUNT; i++)
    col[i] = -1;
  for (size_t j = 0; j < csv.nfields; j++) {
    const char *h = csv.fields[j].p;
    size_t hl = csv.fields[j].len;
    trim(&h, &hl);
    for (int i = 0; i < C_COUNT; i++)
      if (col[i] < 0 && ieq(h, hl, csl_cols[i]))
        col[i] = (int)j;
  }
  for (size_t k = 0; k < sizeof csl_required / sizeof *csl_required; k++)
    if (col[csl_required[k]] < 0) {
      st = ag_error_set(err, AG_ERR_LIST, csl_cols[csl_required[k]],
                        "%s:1: header: column '%s' is missing (not the published CSL layout)",
                        f->base, csl_cols[csl_required[k]]);
      goto out;
    }
  for (;;) {
    st = sx_csv_next(&csv, err);
    if (st || !csv.nfields)
      break;
    c.row++;
    char where[300];
    snprintf(where, sizeof where, "%s:%zu", f->base, csv.line);
    if (csv.nfields != ncols) {
      st = ag_error_set(err, AG_ERR_LIST, "", "%s: %zu fields, expected %zu as in the header%s",
                        where, csv.nfields, ncols,
                        csv.nfields < ncols ? " (missing columns or truncated line)" : "");
      break;
    }
    csl_row r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < C_COUNT; i++)
      if (col[i] >= 0) {
        r.v[i] = csv.fields[col[i]].p;
        r.n[i] = csv.fields[col[i]].len;
      }
    st = csl_add_row(&c, &r, where, err);
    if (st)
      break;
  }
  if (!st && !c.row)
    st = ag_error_set(err, AG_ERR_LIST, "", "%s: no entries after the header", f->base);
out:
  sx_csv_free(&csv);
  csl_ctx_free(&c);
  return st;
}

/* ---- CSL JSON ---- */

/* Joins a JSON value (string, number, array of strings or of objects) into
 * b; for objects, the named members in order (", "-joined). */
static void json_join(ag_buf *b, json_t *v, const char *const *members, const char *sep) {
  if (!v)
    return;
  if (json_is_string(v)) {
    jadd(b, json_string_value(v), json_string_length(v), sep);
  } else if (json_is_integer(v)) {
    char t[32];
    snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    jadd(b, t, strlen(t), sep);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (json_is_object(x) && members) {
        ag_buf one;
        ag_buf_init(&one);
        for (const char *const *m = members; *m; m++)
          json_join(&one, json_object_get(x, *m), NULL, ", ");
        if (one.len)
          jadd(b, one.data, one.len, sep);
        ag_buf_free(&one);
      } else {
        json_join(b, x, members, sep);
      }
    }
  }
}

static const char *const address_members[] = {"address",     "city",    "state",
                                              "postal_code", "country", NULL};
static const char *const id_members[] = {"type", "number", "country", NULL};

static ag_status csl_json_result(csl_ctx *c, json_t *o, size_t idx, ag_error *err) {
  char where[300];
  snprintf(where, sizeof where, "%s: results[%zu]", c->f->base, idx);
  if (!json_is_object(o))
    return ag_error_set(err, AG_ERR_LIST, "results", "%s: not an object", where);
  json_t *name = json_object_get(o, "name"), *source = json_object_get(o, "source");
  if (!json_is_string(name))
    return ag_error_set(err, AG_ERR_LIST, "name", "%s: field 'name' missing or not a string",
                        where);
  if (!json_is_string(source))
    return ag_error_set(err, AG_ERR_LIST, "source", "%s: field 'source' missing or not a string",
                        where);
  /* scalar or joined values, kept in one buffer; offsets fixed at the end */
  ag_buf all;
  ag_buf_init(&all);
  size_t off[C_COUNT], len[C_COUNT];
  /* the JSON keys are the CSV column names, except that the id may be
   * "id" as well as "_id" */
  for (int i = 0; i < C_COUNT; i++) {
    json_t *v = json_object_get(o, i == C_ID ? "id" : csl_cols[i]);
    if (i == C_ID && !v)
      v = json_object_get(o, "_id");
    ag_buf one;
    ag_buf_init(&one);
    json_join(&one, v, i == C_ADDRESSES ? address_members : i == C_IDS ? id_members : NULL, "; ");
    off[i] = all.len;
    len[i] = one.len;
    if (one.len)
      ag_buf_append(&all, one.data, one.len);
    ag_buf_free(&one);
  }
  ag_status st;
  if (all.failed) {
    st = nomem(err);
  } else {
    csl_row r;
    for (int i = 0; i < C_COUNT; i++) {
      r.v[i] = all.data ? all.data + off[i] : "";
      r.n[i] = len[i];
    }
    /* JSON addresses carry the country as its own member */
    st = csl_add_row(c, &r, where, err);
  }
  ag_buf_free(&all);
  return st;
}

static size_t line_of(const char *data, size_t pos) {
  size_t line = 1;
  for (size_t i = 0; i < pos; i++)
    if (data[i] == '\n')
      line++;
  return line;
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* Parses one JSON value at *p (jansson, no end-of-input check), advancing
 * *p past it. The document is streamed one result at a time so memory
 * stays proportional to one entry. */
static ag_status json_value(const lfile *f, const char **p, json_t **out, ag_error *err) {
  json_error_t je;
  const char *end = f->data + f->len;
  json_t *v = json_loadb(*p, (size_t)(end - *p),
                         JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
  if (!v) {
    size_t pos = (size_t)(*p - f->data) + (size_t)(je.position > 0 ? je.position : 0);
    return ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: invalid JSON: %s", f->base,
                        line_of(f->data, pos < f->len ? pos : f->len), je.text);
  }
  *p += je.position;
  *out = v;
  return AG_OK;
}

/* The publication date of each source in the file: sources_used[] gives
 * "source_last_updated" per source list ("2025-06-25T00:00:00+00:00");
 * it, not the file's name or modification time, dates that list. */
static ag_status csl_json_dates(sx_set *s, const lfile *f, json_t *used, ag_error *err) {
  if (!json_is_array(used))
    return ag_error_set(err, AG_ERR_LIST, "sources_used", "%s: 'sources_used' is not an array",
                        f->base);
  size_t i;
  json_t *u;
  json_array_foreach(used, i, u) {
    json_t *src = json_object_get(u, "source"), *upd = json_object_get(u, "source_last_updated");
    if (!json_is_string(src) || !json_is_string(upd))
      continue; /* a source without a date keeps the file's */
    const char *d = json_string_value(upd);
    ag_date day;
    if (json_string_length(upd) < 10 || !ag_date_parse(d, 10, &day))
      return ag_error_set(err, AG_ERR_LIST, "sources_used",
                          "%s: sources_used[%zu].source_last_updated: not a date", f->base, i);
    char code[16];
    const char *lname;
    sx_list_from_source(json_string_value(src), json_string_length(src), code, &lname);
    for (size_t k = 0; k < s->nlists; k++) {
      sx_list_in *l = &s->lists[k];
      if (strcmp(l->code, code) || strcmp(l->files, f->base) || strcmp(l->format, "csl-json"))
        continue;
      if (!(l->date = sx_set_str(s, d, 10)))
        return nomem(err);
    }
  }
  return AG_OK;
}

static ag_status load_csl_json(sx_set *s, const lfile *f, ag_error *err) {
  csl_ctx c;
  csl_ctx_init(&c, s, f, "csl-json");
  const char *p = f->data, *end = f->data + f->len;
  if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
    p += 3;
  ag_status st = AG_OK;
  bool found = false;
  json_t *sources_used = NULL;
  p = skip_ws(p, end);
  bool bare = p < end && *p == '[';
  if (!bare) {
    if (p >= end || *p != '{') {
      st = ag_error_set(err, AG_ERR_LIST, "", "%s:1: not a CSL JSON document", f->base);
      goto out;
    }
    p++;
  }
  for (;;) {
    if (!bare) {
      /* the next member of the top-level object */
      p = skip_ws(p, end);
      if (p < end && *p == '}')
        break;
      json_t *key = NULL;
      if ((st = json_value(f, &p, &key, err)))
        goto out;
      bool is_results = json_is_string(key) && !strcmp(json_string_value(key), "results");
      bool is_sources = json_is_string(key) && !strcmp(json_string_value(key), "sources_used");
      bool is_str = json_is_string(key);
      json_decref(key);
      p = skip_ws(p, end);
      if (!is_str || p >= end || *p != ':') {
        st = ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: invalid JSON object", f->base,
                          line_of(f->data, (size_t)(p - f->data)));
        goto out;
      }
      p = skip_ws(p + 1, end);
      if (!is_results) {
        json_t *skip = NULL;
        if ((st = json_value(f, &p, &skip, err)))
          goto out;
        if (is_sources && !sources_used)
          sources_used = skip; /* applied once every list is known */
        else
          json_decref(skip);
        goto next_member;
      }
    }
    /* the results array, one element at a time */
    if (p >= end || *p != '[') {
      st = ag_error_set(err, AG_ERR_LIST, "results", "%s:%zu: 'results' is not an array", f->base,
                        line_of(f->data, (size_t)(p - f->data)));
      goto out;
    }
    found = true;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
      p++;
    } else {
      for (;;) {
        json_t *o = NULL;
        if ((st = json_value(f, &p, &o, err)))
          goto out;
        c.row++;
        st = csl_json_result(&c, o, c.row - 1, err);
        json_decref(o);
        if (st)
          goto out;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
          p = skip_ws(p + 1, end);
          continue;
        }
        if (p < end && *p == ']') {
          p++;
          break;
        }
        st = ag_error_set(err, AG_ERR_LIST, "results",
                          "%s:%zu: results array not closed (file truncated?)", f->base,
                          line_of(f->data, (size_t)(p - f->data)));
        goto out;
      }
    }
    if (bare)
      break;
  next_member:
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    if (p < end && *p == '}')
      break;
    st = ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: object not closed (file truncated?)", f->base,
                      line_of(f->data, (size_t)(p - f->data)));
    goto out;
  }
  if (!found)
    st = ag_error_set(err, AG_ERR_LIST, "results", "%s: no 'results' array", f->base);
  else if (!c.row)
    st = ag_error_set(err, AG_ERR_LIST, "results", "%s: 'results' is empty", f->base);
  if (!st && sources_used)
    st = csl_json_dates(s, f, sources_used, err);
out:
  json_decref(sources_used);
  csl_ctx_free(&c);
  return st;
}

/* ---- BIS Denied Persons List ---- */

enum {
  D_NAME,
  D_STREET,
  D_CITY,
  D_STATE,
  D_COUNTRY,
  D_POSTAL,
  D_EFFECTIVE,
  D_EXPIRATION,
  D_STANDARD,
  D_LAST_UPDATE,
  D_ACTION,
  D_FR,
  D_COUNT
};
static const char *const dpl_cols[D_COUNT] = {
    "Name",           "Street_Address",  "City",           "State",       "Country", "Postal_Code",
    "Effective_Date", "Expiration_Date", "Standard_Order", "Last_Update", "Action",  "FR_Citation"};

static ag_status load_dpl(sx_set *s, const lfile *f, ag_error *err) {
  sx_csv csv;
  sx_csv_init(&csv, f->data, f->len, '\t', f->base);
  char sha[65];
  sx_sha256_hex(f->data, f->len, sha);
  ag_buf addr, ctry;
  ag_buf_init(&addr);
  ag_buf_init(&ctry);
  int col[D_COUNT];
  size_t ncols, row = 0;
  uint32_t list = 0;
  char last_update[11] = "";
  size_t first_entry = s->nentries;
  ag_status st = sx_csv_next(&csv, err);
  if (st)
    goto out;
  ncols = csv.nfields;
  for (int i = 0; i < D_COUNT; i++) {
    col[i] = -1;
    for (size_t j = 0; j < csv.nfields; j++) {
      const char *h = csv.fields[j].p;
      size_t hl = csv.fields[j].len;
      trim(&h, &hl);
      if (ieq(h, hl, dpl_cols[i]))
        col[i] = (int)j;
    }
    if (col[i] < 0) {
      st = ag_error_set(err, AG_ERR_LIST, dpl_cols[i],
                        "%s:1: header: column '%s' is missing (not the BIS Denied Persons List "
                        "layout)",
                        f->base, dpl_cols[i]);
      goto out;
    }
  }
  st = sx_set_list(s, "DPL", "Denied Persons List", f->base, "bis-dpl-tsv", "", sha, &list, err);
  if (st)
    goto out;
  for (;;) {
    st = sx_csv_next(&csv, err);
    if (st || !csv.nfields)
      break;
    row++;
    char where[300];
    snprintf(where, sizeof where, "%s:%zu", f->base, csv.line);
    if (csv.nfields != ncols) {
      st = ag_error_set(err, AG_ERR_LIST, "", "%s: %zu fields, expected %zu as in the header%s",
                        where, csv.nfields, ncols,
                        csv.nfields < ncols ? " (missing columns or truncated line)" : "");
      break;
    }
    const char *v[D_COUNT];
    size_t n[D_COUNT];
    for (int i = 0; i < D_COUNT; i++) {
      v[i] = csv.fields[col[i]].p;
      n[i] = csv.fields[col[i]].len;
      trim(&v[i], &n[i]);
      if (!ag_utf8_valid(v[i], n[i])) {
        st = ag_error_set(err, AG_ERR_LIST, dpl_cols[i], "%s: field '%s' is not valid UTF-8", where,
                          dpl_cols[i]);
        goto out;
      }
    }
    if (!n[D_NAME]) {
      st = ag_error_set(err, AG_ERR_LIST, "Name", "%s: field 'Name' is empty", where);
      break;
    }
    if (n[D_LAST_UPDATE] == 10 && memcmp(v[D_LAST_UPDATE], last_update, 10) > 0) {
      ag_date d;
      /* the published file has typos such as 3017-08-22: a date in the
       * future is not the list's date */
      if (ag_date_parse(v[D_LAST_UPDATE], 10, &d) && d <= ag_date_today()) {
        memcpy(last_update, v[D_LAST_UPDATE], 10);
        last_update[10] = '\0';
      }
    }
    ag_buf_reset(&addr);
    ag_buf_reset(&ctry);
    static const int parts[] = {D_STREET, D_CITY, D_STATE, D_POSTAL, D_COUNTRY};
    for (size_t k = 0; k < 5; k++)
      jadd(&addr, v[parts[k]], n[parts[k]], ", ");
    if (sx_country_valid(v[D_COUNTRY], n[D_COUNTRY]))
      add_country(&ctry, v[D_COUNTRY]);
    sx_entry_in e = {.list = list, .content_id = true};
    e.f[SX_F_NAME] = sx_set_str(s, v[D_NAME], n[D_NAME]);
    e.f[SX_F_ADDRESSES] = buf_str(s, &addr);
    e.f[SX_F_COUNTRIES] = buf_str(s, &ctry);
    e.f[SX_F_FR] = sx_set_str(s, v[D_FR], n[D_FR]);
    e.f[SX_F_START] = sx_set_str(s, v[D_EFFECTIVE], n[D_EFFECTIVE]);
    e.f[SX_F_REMARKS] = sx_set_str(s, v[D_ACTION], n[D_ACTION]);
    if (e.f[SX_F_NAME] && e.f[SX_F_ADDRESSES] && e.f[SX_F_START]) {
      /* the DPL has no ids: one from the contents, not the row */
      const char *key[] = {e.f[SX_F_NAME], e.f[SX_F_ADDRESSES], e.f[SX_F_START]};
      e.f[SX_F_SOURCE_ID] = sx_set_content_id(s, "dpl", key, 3);
    }
    for (int i = 0; i < SX_F_COUNT; i++)
      if (i != SX_F_TYPE && i != SX_F_PROGRAMS && i != SX_F_LIC_REQ && i != SX_F_LIC_POL &&
          i != SX_F_URL && i != SX_F_IDS && !e.f[i]) {
        st = nomem(err);
        goto out;
      }
    if (addr.failed || ctry.failed) {
      st = nomem(err);
      goto out;
    }
    uint32_t idx;
    if ((st = sx_set_entry(s, &e, &idx, err)))
      break;
  }
  if (!st && !row)
    st = ag_error_set(err, AG_ERR_LIST, "", "%s: no entries after the header", f->base);
  if (!st) {
    /* the list's date: the file name's, else its latest Last_Update, else
     * the file's modification date */
    const char *date = f->date[0] ? f->date : last_update[0] ? last_update : f->mdate;
    char *d = sx_set_str(s, date, strlen(date));
    if (!d)
      st = nomem(err);
    else
      s->lists[list].date = d;
  }
  (void)first_entry;
out:
  sx_csv_free(&csv);
  ag_buf_free(&addr);
  ag_buf_free(&ctry);
  return st;
}

/* ---- OFAC legacy CSV ---- */

/* ent_num -> entry index, open addressing */
typedef struct {
  uint32_t *keys, *vals;
  size_t cap, n;
} idmap;

static bool idmap_put(idmap *m, uint32_t k, uint32_t v) {
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *nk = calloc(cap, sizeof *nk), *nv = calloc(cap, sizeof *nv);
    if (!nk || !nv) {
      free(nk);
      free(nv);
      return false;
    }
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) {
        size_t h = (size_t)(uint32_t)(m->keys[i] * 2654435761u) & (cap - 1);
        while (nk[h])
          h = (h + 1) & (cap - 1);
        nk[h] = m->keys[i];
        nv[h] = m->vals[i];
      }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = cap;
  }
  size_t h = (size_t)(uint32_t)(k * 2654435761u) & (m->cap - 1);
  while (m->keys[h] && m->keys[h] != k)
    h = (h + 1) & (m->cap - 1);
  if (!m->keys[h])
    m->n++;
  m->keys[h] = k; /* keys are ent_num + 1, never 0 */
  m->vals[h] = v;
  return true;
}

static bool idmap_get(const idmap *m, uint32_t k, uint32_t *v) {
  if (!m->cap)
    return false;
  size_t h = (size_t)(uint32_t)(k * 2654435761u) & (m->cap - 1);
  while (m->keys[h]) {
    if (m->keys[h] == k) {
      *v = m->vals[h];
      return true;
    }
    h = (h + 1) & (m->cap - 1);
  }
  return false;
}

/* OFAC writes "-0-" (often with a trailing blank) for an empty field. */
static void ofac_field(const sx_field *fl, const char **p, size_t *n) {
  *p = fl->p;
  *n = fl->len;
  trim(p, n);
  if (*n == 3 && !memcmp(*p, "-0-", 3))
    *n = 0;
}

static char *ofac_str(sx_set *s, const sx_field *fl) {
  const char *p;
  size_t n;
  ofac_field(fl, &p, &n);
  if (!ag_utf8_valid(p, n))
    return latin1_to_utf8(s, p, n);
  return sx_set_str(s, p, n);
}

static bool ofac_id(const sx_field *fl, uint32_t *out) {
  const char *p;
  size_t n;
  ofac_field(fl, &p, &n);
  if (!all_digits(p, n) || n > 9)
    return false;
  *out = (uint32_t)strtoul(p, NULL, 10);
  return true;
}

/* The non-SDN consolidated list holds several CSL source lists; the
 * program tells which (as trade.gov files them). */
static const char *cons_code(const char *programs) {
  if (strstr(programs, "UKRAINE-EO13662"))
    return "SSI";
  if (strstr(programs, "NS-PLC"))
    return "PLC";
  if (strstr(programs, "CMIC"))
    return "CMIC";
  if (strstr(programs, "561"))
    return "CAP";
  if (strstr(programs, "FSE"))
    return "FSE";
  return "NS-MBS";
}

typedef struct {
  uint32_t entry;
  char *text;
  const char *country;
  unsigned kind; /* 0 address, 1 comment */
} ofac_extra;

static int cmp_extra(const void *a, const void *b) {
  const ofac_extra *x = a, *y = b;
  if (x->entry != y->entry)
    return x->entry < y->entry ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* Weak aliases ("a.k.a. 'NAME'") and nationality from OFAC remarks. */
static ag_status ofac_remarks(sx_set *s, uint32_t entry, const char *r, ag_buf *ctry,
                              ag_error *err) {
  for (const char *p = r; (p = strstr(p, "a.k.a. '")) != NULL;) {
    p += 8;
    const char *q = strchr(p, '\'');
    /* the closing quote is followed by ';', '.', ')' or the end */
    while (q && q[1] && q[1] != ';' && q[1] != '.' && q[1] != ')' && q[1] != ',')
      q = strchr(q + 1, '\'');
    if (!q)
      break;
    ag_status st = sx_set_alias(s, entry, SX_KIND_WEAK, p, (size_t)(q - p), err);
    if (st)
      return st;
    p = q + 1;
  }
  static const char *const keys[] = {"nationality ", "citizen ", "Nationality ", "Citizen "};
  for (size_t k = 0; k < 4; k++)
    for (const char *p = r; (p = strstr(p, keys[k])) != NULL;) {
      p += strlen(keys[k]);
      size_t n = strcspn(p, ";.");
      add_country(ctry, sx_country_code(p, n));
    }
  return AG_OK;
}

typedef struct {
  lfile *prim, *alt, *add, *comments;
} ofac_group;

static ag_status load_ofac(sx_set *s, ofac_group *g, ag_error *err) {
  lfile *files[4] = {g->prim, g->alt, g->add, g->comments};
  /* source identity: the files, and one digest over them in that order */
  char names[1024] = "";
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    return nomem(err);
  }
  bool digested = true;
  for (int i = 0; i < 4; i++)
    if (files[i]) {
      if (names[0])
        strncat(names, ", ", sizeof names - strlen(names) - 1);
      strncat(names, files[i]->base, sizeof names - strlen(names) - 1);
      digested = digested && EVP_DigestUpdate(md, files[i]->data, files[i]->len);
    }
  unsigned char dg[32];
  unsigned dl = 0;
  /* the digest names the list in force: one over part of the files, or
   * none at all, would name another */
  digested = digested && EVP_DigestFinal_ex(md, dg, &dl) && dl == 32;
  EVP_MD_CTX_free(md);
  if (!digested)
    return ag_error_set(err, AG_ERR_INTERNAL, g->prim->base, "SHA-256 of the list files failed");
  char sha[65];
  for (int i = 0; i < 32; i++)
    snprintf(sha + 2 * (size_t)i, 3, "%02x", dg[i]);

  const char *format = g->prim->cons ? "ofac-cons-csv" : "ofac-sdn-csv";
  idmap ids = {0};
  ofac_extra *extra = NULL;
  size_t nextra = 0, extra_cap = 0;
  ag_buf ctry, addr;
  ag_buf_init(&ctry);
  ag_buf_init(&addr);
  size_t first = s->nentries;
  ag_status st = AG_OK;
  sx_csv csv;

  /* primary file */
  sx_csv_init(&csv, g->prim->data, g->prim->len, ',', g->prim->base);
  for (;;) {
    if ((st = sx_csv_next(&csv, err)) || !csv.nfields)
      break;
    if (csv.nfields != 12) {
      st = ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: %zu fields, expected 12 (OFAC %s layout)",
                        g->prim->base, csv.line, csv.nfields, g->prim->cons ? "cons_prim" : "sdn");
      break;
    }
    uint32_t ent;
    if (!ofac_id(&csv.fields[0], &ent)) {
      st = ag_error_set(err, AG_ERR_LIST, "ent_num", "%s:%zu: field 'ent_num' is not a number",
                        g->prim->base, csv.line);
      break;
    }
    uint32_t dup;
    if (idmap_get(&ids, ent + 1, &dup)) {
      st = ag_error_set(err, AG_ERR_LIST, "ent_num", "%s:%zu: ent_num %u appears twice",
                        g->prim->base, csv.line, ent);
      break;
    }
    sx_entry_in e = {0};
    e.f[SX_F_NAME] = ofac_str(s, &csv.fields[1]);
    if (e.f[SX_F_NAME] && !*e.f[SX_F_NAME]) {
      st = ag_error_set(err, AG_ERR_LIST, "SDN_Name", "%s:%zu: field 'SDN_Name' is empty",
                        g->prim->base, csv.line);
      break;
    }
    /* programs "NPWMD] [IFSR" -> "NPWMD; IFSR" */
    char *prog = ofac_str(s, &csv.fields[3]);
    if (prog) {
      ag_buf pb;
      ag_buf_init(&pb);
      for (const char *p = prog; *p;) {
        const char *q = strstr(p, "] [");
        size_t n = q ? (size_t)(q - p) : strlen(p);
        jadd(&pb, p, n, "; ");
        p += n + (q ? 3 : 0);
      }
      prog = buf_str(s, &pb);
      ag_buf_free(&pb);
    }
    e.f[SX_F_PROGRAMS] = prog;
    const char *code = g->prim->cons ? cons_code(prog ? prog : "") : "SDN";
    if ((st = sx_set_list(s, code, sx_list_name_for(code), names, format,
                          g->prim->date[0] ? g->prim->date : g->prim->mdate, sha, &e.list, err)))
      break;
    char *type = ofac_str(s, &csv.fields[2]);
    if (type) {
      if (!*type)
        type = "Entity"; /* "-0-": OFAC's entity */
      else if (type[0] >= 'a' && type[0] <= 'z')
        type[0] = (char)(type[0] - 'a' + 'A');
    }
    e.f[SX_F_TYPE] = type;
    char idb[16];
    snprintf(idb, sizeof idb, "%u", ent);
    e.f[SX_F_SOURCE_ID] = sx_set_str(s, idb, strlen(idb));
    e.f[SX_F_REMARKS] = ofac_str(s, &csv.fields[11]);
    e.f[SX_F_URL] = g->prim->cons ? "https://sanctionslist.ofac.treas.gov/Home/ConsolidatedList"
                                  : "https://sanctionslist.ofac.treas.gov/Home/SdnList";
    for (int i = 0; i < SX_F_COUNT; i++)
      if (i != SX_F_COUNTRIES && i != SX_F_ADDRESSES && i != SX_F_FR && i != SX_F_LIC_REQ &&
          i != SX_F_LIC_POL && i != SX_F_START && i != SX_F_IDS && !e.f[i]) {
        st = nomem(err);
        break;
      }
    uint32_t idx;
    if (st || (st = sx_set_entry(s, &e, &idx, err)))
      break;
    if (!idmap_put(&ids, ent + 1, idx)) {
      st = nomem(err);
      break;
    }
  }
  sx_csv_free(&csv);
  if (!st && s->nentries == first)
    st = ag_error_set(err, AG_ERR_LIST, "", "%s: no entries", g->prim->base);

  /* companions */
  for (int k = 1; k < 4 && !st; k++) {
    lfile *f = files[k];
    if (!f)
      continue;
    size_t want = k == 1 ? 5 : k == 2 ? 6 : 2;
    sx_csv_init(&csv, f->data, f->len, ',', f->base);
    for (;;) {
      if ((st = sx_csv_next(&csv, err)) || !csv.nfields)
        break;
      if (csv.nfields != want) {
        st = ag_error_set(err, AG_ERR_LIST, "", "%s:%zu: %zu fields, expected %zu", f->base,
                          csv.line, csv.nfields, want);
        break;
      }
      uint32_t ent, idx;
      if (!ofac_id(&csv.fields[0], &ent)) {
        st = ag_error_set(err, AG_ERR_LIST, "ent_num", "%s:%zu: field 'ent_num' is not a number",
                          f->base, csv.line);
        break;
      }
      if (!idmap_get(&ids, ent + 1, &idx)) {
        st = ag_error_set(err, AG_ERR_LIST, "ent_num", "%s:%zu: ent_num %u is not in %s", f->base,
                          csv.line, ent, g->prim->base);
        break;
      }
      if (k == 1) {
        const char *t;
        size_t tn;
        ofac_field(&csv.fields[2], &t, &tn);
        unsigned kind = ieq(t, tn, "fka")   ? SX_KIND_FKA
                        : ieq(t, tn, "nka") ? SX_KIND_NKA
                        : ieq(t, tn, "aka") ? SX_KIND_AKA
                                            : 99;
        if (kind == 99) {
          st = ag_error_set(err, AG_ERR_LIST, "alt_type",
                            "%s:%zu: field 'alt_type' is not aka, fka or nka", f->base, csv.line);
          break;
        }
        char *nm = ofac_str(s, &csv.fields[3]);
        if (!nm) {
          st = nomem(err);
          break;
        }
        if ((st = sx_set_alias(s, idx, kind, nm, strlen(nm), err)))
          break;
      } else {
        ofac_extra x = {.entry = idx, .kind = k == 2 ? 0 : 1};
        if (k == 2) {
          ag_buf_reset(&addr);
          for (int i = 2; i <= 4; i++) {
            const char *p;
            size_t n;
            ofac_field(&csv.fields[i], &p, &n);
            jadd(&addr, p, n, ", ");
          }
          const char *cp;
          size_t cn;
          ofac_field(&csv.fields[4], &cp, &cn);
          x.country = sx_country_code(cp, cn);
          x.text = addr.len && ag_utf8_valid(addr.data, addr.len)
                       ? sx_set_str(s, addr.data, addr.len)
                       : latin1_to_utf8(s, addr.len ? addr.data : "", addr.len);
        } else {
          x.text = ofac_str(s, &csv.fields[1]);
        }
        if (!x.text || addr.failed || !SX_PUSH(extra, nextra, extra_cap, x)) {
          st = nomem(err);
          break;
        }
      }
    }
    sx_csv_free(&csv);
  }

  /* addresses and remark continuations, per entry, in file order */
  if (!st && nextra)
    qsort(extra, nextra, sizeof *extra, cmp_extra);
  size_t xi = 0;
  for (size_t i = first; i < s->nentries && !st; i++) {
    sx_entry_in *e = &s->entries[i];
    ag_buf_reset(&addr);
    ag_buf_reset(&ctry);
    ag_buf rem;
    ag_buf_init(&rem);
    ag_buf_puts(&rem, e->f[SX_F_REMARKS]);
    for (; xi < nextra && extra[xi].entry == i; xi++) {
      if (extra[xi].kind == 0) {
        jadd(&addr, extra[xi].text, strlen(extra[xi].text), "; ");
        add_country(&ctry, extra[xi].country);
      } else {
        ag_buf_puts(&rem, extra[xi].text);
      }
    }
    const char *remarks = rem.len ? ag_buf_cstr(&rem) : "";
    if (!remarks || (st = ofac_remarks(s, (uint32_t)i, remarks, &ctry, err))) {
      if (!st)
        st = nomem(err);
      ag_buf_free(&rem);
      break;
    }
    e->f[SX_F_REMARKS] = sx_set_str(s, remarks, strlen(remarks));
    e->f[SX_F_ADDRESSES] = buf_str(s, &addr);
    e->f[SX_F_COUNTRIES] = buf_str(s, &ctry);
    ag_buf_free(&rem);
    if (!e->f[SX_F_REMARKS] || !e->f[SX_F_ADDRESSES] || !e->f[SX_F_COUNTRIES] || addr.failed ||
        ctry.failed)
      st = nomem(err);
  }
  free(ids.keys);
  free(ids.vals);
  free(extra);
  ag_buf_free(&ctry);
  ag_buf_free(&addr);
  return st;
}

/* ---- recognising a file ---- */

static fmt detect(const char *data, size_t len) {
  const char *p = data, *end = data + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
    p += 3;
  p = skip_ws(p, end);
  if (p >= end)
    return FMT_UNKNOWN;
  if (*p == '{' || *p == '[')
    return FMT_CSL_JSON;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
  bool tabs = memchr(p, '\t', ll) != NULL;
  if (tabs && ll >= 6 && (ieq(p, 6, "\"Name\"") || ieq(p, 5, "Name\t")))
    return FMT_DPL;
  /* first record as comma-separated text (tab-separated: the CSL's TSV) */
  sx_csv c;
  sx_csv_init(&c, p, (size_t)(end - p), tabs ? '\t' : ',', "");
  ag_error e;
  fmt f = FMT_UNKNOWN;
  if (sx_csv_next(&c, &e) == AG_OK && c.nfields) {
    bool has_name = false;
    for (size_t i = 0; i < c.nfields; i++) {
      const char *h = c.fields[i].p;
      size_t hl = c.fields[i].len;
      trim(&h, &hl);
      has_name |= ieq(h, hl, "name");
    }
    const char *f0 = c.fields[0].p;
    size_t n0 = c.fields[0].len;
    trim(&f0, &n0);
    /* a header with a "name" column is taken for the CSL, so a wrong or
     * incomplete header is reported column by column */
    if (has_name && c.nfields >= 2)
      f = tabs ? FMT_CSL_TSV : FMT_CSL_CSV;
    else if (all_digits(f0, n0)) {
      const char *t = c.nfields > 2 ? c.fields[2].p : "";
      size_t tn = c.nfields > 2 ? c.fields[2].len : 0;
      trim(&t, &tn);
      if (c.nfields == 12)
        f = FMT_OFAC_PRIM;
      else if (c.nfields == 5 && (ieq(t, tn, "aka") || ieq(t, tn, "fka") || ieq(t, tn, "nka")))
        f = FMT_OFAC_ALT;
      else if (c.nfields == 6)
        f = FMT_OFAC_ADD;
      else if (c.nfields == 2)
        f = FMT_OFAC_COMMENTS;
    }
  }
  sx_csv_free(&c);
  return f;
}

static const char *fmt_desc(fmt f) {
  switch (f) {
  case FMT_CSL_CSV: return "CSL CSV";
  case FMT_CSL_TSV: return "CSL TSV";
  case FMT_CSL_JSON: return "CSL JSON";
  case FMT_OFAC_PRIM: return "OFAC primary list";
  case FMT_OFAC_ALT: return "OFAC alternate names";
  case FMT_OFAC_ADD: return "OFAC addresses";
  case FMT_OFAC_COMMENTS: return "OFAC remarks continuation";
  case FMT_DPL: return "BIS Denied Persons List";
  default: return "unknown";
  }
}

/* ---- files and directories ---- */

typedef struct {
  lfile *v;
  size_t n, cap;
} lfiles;

static void lfiles_free(lfiles *fs) {
  for (size_t i = 0; i < fs->n; i++) {
    free(fs->v[i].path);
    free(fs->v[i].data);
  }
  free(fs->v);
}

static ag_status read_file(const char *path, char **data, size_t *len, time_t *mtime,
                           ag_error *err) {
  FILE *f;
  if (ag_file_open(path, &f, NULL, err) != AG_OK) {
    if (err)
      err->status = AG_ERR_IO; /* a missing file too: a file failure */
    return AG_ERR_IO;
  }
  struct stat stt;
  if (fstat(fileno(f), &stt)) {
    fclose(f);
    return ag_error_set(err, AG_ERR_IO, path, "cannot read: %s", strerror(errno));
  }
  if ((size_t)stt.st_size > LIST_FILE_MAX) {
    fclose(f);
    return ag_error_set(err, AG_ERR_LIMIT, path, "larger than %zu bytes", LIST_FILE_MAX);
  }
  size_t n = (size_t)stt.st_size;
  char *d = malloc(n + 1);
  if (!d) {
    fclose(f);
    return ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
  }
  size_t got = fread(d, 1, n, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || got != n) {
    free(d);
    return ag_error_set(err, AG_ERR_IO, path, "read error");
  }
  d[n] = '\0';
  *data = d;
  *len = n;
  *mtime = stt.st_mtime;
  return AG_OK;
}

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* Reads and recognises one file; in a directory an unrecognised file is
 * skipped (*added false), named explicitly it is an error. */
static ag_status add_file(lfiles *fs, const char *path, bool from_dir, ag_error *err) {
  lfile f = {0};
  time_t mt = 0;
  ag_status st = read_file(path, &f.data, &f.len, &mt, err);
  if (st)
    return st;
  f.format = detect(f.data, f.len);
  if (f.format == FMT_UNKNOWN) {
    free(f.data);
    if (from_dir)
      return AG_OK;
    return ag_error_set(err, AG_ERR_LIST, path,
                        "%s: not a recognised list file (CSL CSV or JSON, OFAC legacy CSV, BIS "
                        "Denied Persons List)",
                        path);
  }
  f.path = strdup(path);
  if (!f.path || !SX_PUSH(fs->v, fs->n, fs->cap, f)) {
    free(f.path);
    free(f.data);
    return nomem(err);
  }
  lfile *nf = &fs->v[fs->n - 1];
  nf->base = base_name(nf->path);
  nf->cons = has_ci(nf->base, "cons");
  date_from_name(nf->base, nf->date);
  struct tm tm;
  if (mt && gmtime_r(&mt, &tm))
    strftime(nf->mdate, sizeof nf->mdate, "%Y-%m-%d", &tm);
  return AG_OK; // cppcheck-suppress memleak ; f's buffers now belong to fs->v
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static ag_status add_dir(lfiles *fs, const char *dir, ag_error *err) {
  DIR *d = opendir(dir);
  if (!d)
    return ag_error_set(err, AG_ERR_IO, dir, "cannot open directory: %s", strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  ag_status st = AG_OK;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    size_t l = strlen(dir) + strlen(de->d_name) + 2;
    char *p = malloc(l);
    if (!p || !SX_PUSH(names, n, cap, p)) {
      free(p);
      st = nomem(err);
      break;
    }
    snprintf(p, l, "%s/%s", dir, de->d_name);
  }
  closedir(d);
  if (!st && n)
    qsort(names, n, sizeof *names, cmp_str); /* a stable order: same index every time */
  for (size_t i = 0; i < n; i++) {
    struct stat stt;
    if (!st && !stat(names[i], &stt) && S_ISREG(stt.st_mode))
      st = add_file(fs, names[i], true, err);
    free(names[i]);
  }
  free(names);
  return st;
}

static bool same_dir(const char *a, const char *b) {
  size_t la = (size_t)(base_name(a) - a), lb = (size_t)(base_name(b) - b);
  return la == lb && !memcmp(a, b, la);
}

static ag_status load_files(sx_set *s, lfiles *fs, ag_error *err) {
  ag_status st = AG_OK;
  /* OFAC: every primary file with the companions beside it */
  for (size_t i = 0; i < fs->n && !st; i++) {
    lfile *f = &fs->v[i];
    if (f->format != FMT_OFAC_PRIM)
      continue;
    ofac_group g = {.prim = f};
    f->used = true;
    for (size_t j = 0; j < fs->n; j++) {
      lfile *c = &fs->v[j];
      if (j == i || c->cons != f->cons || !same_dir(c->path, f->path))
        continue;
      lfile **slot = c->format == FMT_OFAC_ALT        ? &g.alt
                     : c->format == FMT_OFAC_ADD      ? &g.add
                     : c->format == FMT_OFAC_COMMENTS ? &g.comments
                                                      : NULL;
      if (c->format == FMT_OFAC_PRIM)
        return ag_error_set(err, AG_ERR_LIST, c->path,
                            "%s and %s are both OFAC %s files in one directory", f->base, c->base,
                            f->cons ? "non-SDN primary" : "SDN primary");
      if (!slot)
        continue;
      if (*slot)
        return ag_error_set(err, AG_ERR_LIST, c->path, "%s and %s are both %s files for %s",
                            (*slot)->base, c->base, fmt_desc(c->format), f->base);
      *slot = c;
      c->used = true;
    }
    st = load_ofac(s, &g, err);
  }
  for (size_t i = 0; i < fs->n && !st; i++) {
    lfile *f = &fs->v[i];
    switch (f->format) {
    case FMT_CSL_CSV: st = load_csl_csv(s, f, ',', err); break;
    case FMT_CSL_TSV: st = load_csl_csv(s, f, '\t', err); break;
    case FMT_CSL_JSON: st = load_csl_json(s, f, err); break;
    case FMT_DPL: st = load_dpl(s, f, err); break;
    case FMT_OFAC_ALT:
    case FMT_OFAC_ADD:
    case FMT_OFAC_COMMENTS:
      if (!f->used)
        st = ag_error_set(err, AG_ERR_LIST, f->path,
                          "%s: %s file without its primary OFAC list (%s) beside it", f->path,
                          fmt_desc(f->format), f->cons ? "cons_prim.csv" : "sdn.csv");
      break;
    default: break;
    }
  }
  if (!st && !s->nentries)
    st = ag_error_set(err, AG_ERR_LIST, "", "no list entries loaded");
  if (!st)
    st = sx_set_finish_ids(s, err);
  return st;
}

ag_status sx_load_paths(sx_set *s, const char *const *paths, size_t n, ag_error *err) {
  lfiles fs = {0};
  ag_status st = AG_OK;
  if (!n)
    return ag_error_set(err, AG_ERR_INPUT, "lists", "no list files given");
  for (size_t i = 0; i < n && !st; i++) {
    struct stat stt;
    if (stat(paths[i], &stt))
      st = ag_error_set(err, AG_ERR_IO, paths[i], "%s: %s", paths[i], strerror(errno));
    else if (S_ISDIR(stt.st_mode)) {
      size_t before = fs.n;
      st = add_dir(&fs, paths[i], err);
      if (!st && fs.n == before)
        st = ag_error_set(err, AG_ERR_LIST, paths[i], "%s: no recognised list file in directory",
                          paths[i]);
    } else
      st = add_file(&fs, paths[i], false, err);
  }
  if (!st)
    st = load_files(s, &fs, err);
  lfiles_free(&fs);
  return st;
}

ag_status sx_load_buffer(sx_set *s, const char *name, const char *data, size_t len, ag_error *err) {
  lfiles fs = {0};
  lfile f = {0};
  f.data = malloc(len + 1);
  f.path = strdup(name);
  if (!f.data || !f.path || !SX_PUSH(fs.v, fs.n, fs.cap, f)) {
    free(f.data);
    free(f.path);
    return nomem(err);
  }
  memcpy(fs.v[0].data, data, len);
  fs.v[0].data[len] = '\0';
  fs.v[0].len = len;
  fs.v[0].base = base_name(fs.v[0].path);
  fs.v[0].cons = has_ci(fs.v[0].base, "cons");
  date_from_name(fs.v[0].base, fs.v[0].date);
  fs.v[0].format = detect(data, len);
  ag_status st;
  if (fs.v[0].format == FMT_UNKNOWN)
    st = ag_error_set(err, AG_ERR_LIST, name, "%s: not a recognised list file", name);
  else if (fs.v[0].format == FMT_OFAC_ALT || fs.v[0].format == FMT_OFAC_ADD ||
           fs.v[0].format == FMT_OFAC_COMMENTS) {
    /* alone, a companion is checked for layout only */
    sx_csv c;
    sx_csv_init(&c, fs.v[0].data, len, ',', name);
    while ((st = sx_csv_next(&c, err)) == AG_OK && c.nfields)
      ;
    sx_csv_free(&c);
  } else
    st = load_files(s, &fs, err);
  lfiles_free(&fs);
  return st; // cppcheck-suppress memleak ; freed by lfiles_free()
}
