/*
 * policy.c - reads a company's due-diligence policy file (acegate/diligence.h,
 * docs/due-diligence.md): the questions whose raised, unresolved flag
 * makes a determination REVIEW. Every id is checked against the tables,
 * so a typo is an error, never a policy that silently asks for nothing.
 */
#include "acegate/diligence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_MAX_BYTES ((size_t)1 << 20)

struct ag_policy {
  char *name;
  size_t n;
  char (*review)[AG_DD_ID_MAX + 1];
};

static ag_status fail(const char *name, int line, ag_error *err, const char *why, const char *w,
                      size_t wn) {
  char where[300];
  snprintf(where, sizeof where, "%s:%d", name, line);
  return ag_error_set(err, AG_ERR_INPUT, where, why, (int)wn, w);
}

ag_status ag_policy_parse(const ag_diligence *table, const char *name, const char *text, size_t len,
                          ag_policy **out, ag_error *err) {
  *out = NULL;
  ag_policy *p = calloc(1, sizeof *p);
  if (!p || !(p->name = strdup(name)) ||
      !(p->review = calloc(ag_diligence_count(table) + 1, sizeof *p->review))) {
    ag_policy_free(p);
    return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
  }
  ag_status st = AG_OK;
  int line = 0;
  for (size_t at = 0; at < len && !st;) {
    const char *s = text + at;
    const char *nl = memchr(s, '\n', len - at);
    size_t n = nl ? (size_t)(nl - s) : len - at;
    at += n + 1;
    line++;
    if (memchr(s, '\0', n)) {
      st = fail(name, line, err, "%.*scontains a NUL byte", "", 0);
      break;
    }
    size_t i = strspn(s, " \t\r");
    if (i >= n || s[i] == '#')
      continue;
    size_t w = strcspn(s + i, " \t\r\n");
    if (w != 6 || memcmp(s + i, "review", 6)) {
      st = fail(name, line, err,
                "'%.*s' is not a directive (\"review ID ...\": the due-diligence questions "
                "whose raised, unresolved flag makes the outcome REVIEW)",
                s + i, w < 40 ? w : 40);
      break;
    }
    bool any = false;
    for (i += w; i < n && !st;) {
      i += strspn(s + i, " \t\r");
      if (i >= n || s[i] == '#')
        break;
      size_t k = strcspn(s + i, " \t\r\n#");
      if (k > n - i)
        k = n - i;
      char id[AG_DD_ID_MAX + 1];
      const ag_diligence_item *row = NULL;
      if (k <= AG_DD_ID_MAX) {
        memcpy(id, s + i, k);
        id[k] = '\0';
        row = ag_diligence_find(table, id, k);
      }
      if (!row) {
        st = fail(name, line, err, "'%.*s' is not a question of due-diligence.tsv", s + i,
                  k < 40 ? k : 40);
        break;
      }
      bool seen = false;
      for (size_t j = 0; j < p->n; j++)
        seen |= !strcmp(p->review[j], id);
      if (!seen)
        memcpy(p->review[p->n++], id, k + 1);
      any = true;
      i += k;
    }
    if (!st && !any)
      st = fail(name, line, err, "%.*sreview names no question", "", 0);
  }
  if (st) {
    ag_policy_free(p);
    return st;
  }
  *out = p;
  return AG_OK;
}

ag_status ag_policy_load(const ag_diligence *table, const char *path, ag_policy **out,
                         ag_error *err) {
  *out = NULL;
  FILE *f;
  if (ag_file_open(path, &f, NULL, err) != AG_OK) {
    if (err)
      err->status = AG_ERR_IO; /* a missing file too: a file failure (exit 4) */
    return AG_ERR_IO;
  }
  ag_status st;
  char *buf = malloc(POLICY_MAX_BYTES + 1);
  size_t len = buf ? fread(buf, 1, POLICY_MAX_BYTES + 1, f) : 0;
  bool bad = ferror(f);
  fclose(f);
  if (!buf)
    return ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
  if (bad)
    st = ag_error_set(err, AG_ERR_IO, path, "read error");
  else if (len > POLICY_MAX_BYTES)
    st = ag_error_set(err, AG_ERR_INPUT, path, "a policy file is at most 1 MiB");
  else
    st = ag_policy_parse(table, path, buf, len, out, err);
  free(buf);
  return st;
}

void ag_policy_free(ag_policy *p) {
  if (!p)
    return;
  free(p->name);
  free(p->review);
  free(p);
}

bool ag_policy_requires_review(const ag_policy *p, const char *id) {
  for (size_t i = 0; p && i < p->n; i++)
    if (!strcmp(p->review[i], id))
      return true;
  return false;
}

const char *ag_policy_name(const ag_policy *p) { return p ? p->name : ""; }
