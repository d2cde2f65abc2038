/*
 * set.c - the in-memory model of loaded lists (entries, names, aliases)
 * that the loaders fill and the index builder reads, and the table of list
 * codes and names.
 *
 * Invariant: every string field of an entry is non-NULL (absent is "").
 */
#include "screen_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *code, *name;
} list_names[] = {
    {"CAP", "Capta List"},
    {"CMIC", "Non-SDN Chinese Military-Industrial Complex Companies List"},
    {"DPL", "Denied Persons List"},
    {"DTC", "ITAR Debarred"},
    {"EL", "Entity List"},
    {"FSE", "Foreign Sanctions Evaders"},
    {"ISN", "Nonproliferation Sanctions"},
    {"MEU", "Military End User List"},
    {"NS-MBS", "Non-SDN Menu-Based Sanctions List"},
    {"PLC", "Palestinian Legislative Council List"},
    {"SDN", "Specially Designated Nationals"},
    {"SSI", "Sectoral Sanctions Identifications List"},
    {"UVL", "Unverified List"},
};

const char *sx_list_name_for(const char *code) {
  for (size_t i = 0; i < sizeof list_names / sizeof *list_names; i++)
    if (!strcmp(list_names[i].code, code))
      return list_names[i].name;
  return NULL;
}

/* "Entity List (EL) - Bureau of Industry and Security" -> "EL", "Entity List";
 * "Non-SDN Menu-Based Sanctions List (NS-MBS List) - ..." -> "NS-MBS". */
void sx_list_from_source(const char *source, size_t len, char code[16], const char **name) {
  const char *open = memchr(source, '(', len);
  const char *close = open ? memchr(open, ')', len - (size_t)(open - source)) : NULL;
  size_t k = 0;
  if (open && close) {
    for (const char *p = open + 1; p < close && k < 15; p++)
      code[k++] = *p;
    if (k > 5 && !memcmp(code + k - 5, " List", 5))
      k -= 5;
  }
  code[k] = '\0';
  *name = k ? sx_list_name_for(code) : NULL;
}

const char *sx_kind_name(unsigned kind) {
  switch (kind) {
  case SX_KIND_NAME: return "name";
  case SX_KIND_AKA: return "aka";
  case SX_KIND_FKA: return "fka";
  case SX_KIND_NKA: return "nka";
  case SX_KIND_WEAK: return "weak aka";
  default: return "aka";
  }
}

void sx_set_init(sx_set *s) {
  memset(s, 0, sizeof *s);
  ag_arena_init(&s->arena, 1 << 20);
}

void sx_set_free(sx_set *s) {
  ag_arena_free(&s->arena);
  free(s->lists);
  free(s->entries);
  free(s->aliases);
  memset(s, 0, sizeof *s);
}

char *sx_set_str(sx_set *s, const char *p, size_t n) {
  while (n && (*p == ' ' || *p == '\t')) {
    p++;
    n--;
  }
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  return ag_arena_strndup(&s->arena, p, n);
}

ag_status sx_set_list(sx_set *s, const char *code, const char *name, const char *files,
                      const char *format, const char *date, const char *sha256, uint32_t *idx,
                      ag_error *err) {
  for (size_t i = 0; i < s->nlists; i++) {
    const sx_list_in *l = &s->lists[i];
    if (!strcmp(l->code, code) && !strcmp(l->files, files) && !strcmp(l->format, format)) {
      *idx = (uint32_t)i;
      return AG_OK;
    }
  }
  sx_list_in l = {
      .code = sx_set_str(s, code, strlen(code)),
      .name = sx_set_str(s, name, strlen(name)),
      .files = sx_set_str(s, files, strlen(files)),
      .format = sx_set_str(s, format, strlen(format)),
      .date = sx_set_str(s, date, strlen(date)),
      .sha256 = sx_set_str(s, sha256, strlen(sha256)),
  };
  if (!l.code || !l.name || !l.files || !l.format || !l.date || !l.sha256 ||
      !SX_PUSH(s->lists, s->nlists, s->lists_cap, l))
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
  *idx = (uint32_t)(s->nlists - 1);
  return AG_OK;
}

ag_status sx_set_entry(sx_set *s, const sx_entry_in *e, uint32_t *idx, ag_error *err) {
  if (s->nentries >= UINT32_MAX / 2)
    return ag_error_set(err, AG_ERR_LIMIT, "", "too many list entries");
  if (!SX_PUSH(s->entries, s->nentries, s->entries_cap, *e))
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
  sx_entry_in *ne = &s->entries[s->nentries - 1];
  for (int i = 0; i < SX_F_COUNT; i++)
    if (!ne->f[i])
      ne->f[i] = "";
  s->lists[e->list].entries++;
  *idx = (uint32_t)(s->nentries - 1);
  return AG_OK;
}

ag_status sx_set_alias(sx_set *s, uint32_t entry, unsigned kind, const char *name, size_t len,
                       ag_error *err) {
  char *p = sx_set_str(s, name, len);
  if (!p)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
  if (!*p)
    return AG_OK;
  sx_alias_in a = {.entry = entry, .kind = kind, .name = p, .seq = (uint32_t)s->naliases};
  if (!SX_PUSH(s->aliases, s->naliases, s->aliases_cap, a))
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
  return AG_OK;
}

ag_status sx_set_aliases_split(sx_set *s, uint32_t entry, unsigned kind, const char *p, size_t n,
                               ag_error *err) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != ';')
      j++;
    ag_status st = sx_set_alias(s, entry, kind, p + i, j - i, err);
    if (st)
      return st;
    i = j + 1;
  }
  return AG_OK;
}

/* ---- ids for entries their file gives none ---- */

static void hash_fields(ag_buf *b, const char *const *fields, size_t n) {
  for (size_t i = 0; i < n; i++)
    ag_buf_append(b, fields[i], strlen(fields[i]) + 1); /* with its NUL */
}

char *sx_set_content_id(sx_set *s, const char *prefix, const char *const *fields, size_t n) {
  ag_buf b;
  ag_buf_init(&b);
  hash_fields(&b, fields, n);
  uint8_t d[32];
  bool ok = !b.failed && sx_sha256(b.len ? b.data : "", b.len, d);
  ag_buf_free(&b);
  if (!ok)
    return NULL;
  char hex[13], id[64];
  sx_hex(d, 6, hex);
  snprintf(id, sizeof id, "%s:%s", prefix, hex);
  return sx_set_str(s, id, strlen(id));
}

typedef struct {
  const char *id;
  uint8_t order[32]; /* SHA-256 of the entry's other fields and names */
  uint32_t entry;
} idkey;

static int cmp_idkey(const void *a, const void *b) {
  const idkey *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c)
    return c;
  c = memcmp(x->order, y->order, 32);
  if (c)
    return c;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

ag_status sx_set_finish_ids(sx_set *s, ag_error *err) {
  size_t n = 0;
  for (size_t i = 0; i < s->nentries; i++)
    n += s->entries[i].content_id;
  if (n < 2)
    return AG_OK;
  idkey *k = calloc(n, sizeof *k);
  if (!k)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
  n = 0;
  for (size_t i = 0; i < s->nentries; i++)
    if (s->entries[i].content_id)
      k[n++] = (idkey){.id = s->entries[i].f[SX_F_SOURCE_ID], .entry = (uint32_t)i};
  qsort(k, n, sizeof *k, cmp_idkey);
  ag_status st = AG_OK;
  ag_buf b;
  ag_buf_init(&b);
  for (size_t i = 0; i < n && !st;) {
    size_t j = i + 1;
    while (j < n && !strcmp(k[j].id, k[i].id))
      j++;
    if (j - i > 1) {
      /* the same id: order the entries by their contents, not their rows */
      for (size_t m = i; m < j; m++) {
        const sx_entry_in *e = &s->entries[k[m].entry];
        ag_buf_reset(&b);
        for (int f = 0; f < SX_F_COUNT; f++)
          if (f != SX_F_SOURCE_ID && f != SX_F_COUNTRIES)
            hash_fields(&b, &e->f[f], 1);
        for (size_t a = 0; a < s->naliases; a++)
          if (s->aliases[a].entry == k[m].entry)
            hash_fields(&b, &s->aliases[a].name, 1);
        if (b.failed || !sx_sha256(b.len ? b.data : "", b.len, k[m].order)) {
          st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
          break;
        }
      }
      if (st)
        break;
      qsort(k + i, j - i, sizeof *k, cmp_idkey);
      for (size_t m = i + 1; m < j; m++) {
        char id[80];
        snprintf(id, sizeof id, "%s-%zu", k[m].id, m - i + 1);
        char *p = sx_set_str(s, id, strlen(id));
        if (!p) {
          st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory loading lists");
          break;
        }
        s->entries[k[m].entry].f[SX_F_SOURCE_ID] = p;
      }
    }
    i = j;
  }
  ag_buf_free(&b);
  free(k);
  return st;
}
