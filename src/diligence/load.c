/*
 * load.c - reads and validates data/rules/due-diligence.tsv with the strict
 * TSV reader every table loader shares (src/common/tsv.h).
 *
 * Invariants after a successful load: ids are unique and spelt as their
 * group requires (RF01.., CF01.., SG-S1, SG-C2a, SG-RF1); every row names
 * its group, the answer that raises it, its effect, its provenance, its
 * citation and its source; dates are valid and ordered.
 */
#include "acegate/diligence.h"
#include "acegate/rules.h" /* the tables compiled into the binary */

#include "../common/tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ag_diligence {
  ag_diligence_item *items;
  size_t n;
  char *text; /* the table, tokenised in place */
};

static const char *const file_name = "due-diligence.tsv";
enum {
  C_ID,
  C_GROUP,
  C_QUESTION,
  C_RAISES,
  C_FLAG,
  C_EFFECT,
  C_CITE,
  C_PROV,
  C_SOURCE,
  C_KNOWLEDGE_WITH,
  C_FROM,
  C_TO,
  C_COUNT
};
static const char *const cols[C_COUNT] = {"id",     "group",  "question", "raises_on",
                                          "flag",   "effect", "cite",     "provenance",
                                          "source", "knowledge_with", "from", "to"};
static const char *const group_names[] = {"bis_red_flag", "cyber_flag", "state_scope",
                                          "state_consideration", "state_red_flag"};
static const char *const effect_names[] = {"review", "screening", "end_user_type", "scope",
                                           "human_rights", "knowledge"};
static const char *const provenance_names[] = {"verbatim", "summary", "reconstructed",
                                               "draft_2019"};
#define COUNT(a) ((int)(sizeof a / sizeof a[0]))

const char *ag_diligence_group_name(ag_diligence_group g) {
  return (unsigned)g < (unsigned)COUNT(group_names) ? group_names[g] : "?";
}
const char *ag_diligence_effect_name(ag_diligence_effect e) {
  return (unsigned)e < (unsigned)COUNT(effect_names) ? effect_names[e] : "?";
}
const char *ag_dd_value_name(ag_dd_value v) {
  static const char *const names[] = {"none", "true", "false", "unknown"};
  return (unsigned)v <= AG_DDV_UNKNOWN ? names[v] : "?";
}
bool ag_diligence_raises(const ag_diligence_item *it, ag_dd_value v) {
  return (v == AG_DDV_TRUE && it->raises_on_yes) || (v == AG_DDV_FALSE && !it->raises_on_yes) ||
         (v == AG_DDV_UNKNOWN && it->raises_on_unknown);
}
const char *ag_diligence_provenance_name(ag_diligence_provenance p) {
  return (unsigned)p < (unsigned)COUNT(provenance_names) ? provenance_names[p] : "?";
}

static int token(const char *const *names, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], s))
      return i;
  return -1;
}

static bool digits(const char *s, size_t n) {
  if (!n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* RF01, CF01; SG-S1; SG-C2a; SG-RF1: the id says which list it is from. */
static bool id_fits(const char *id, ag_diligence_group g) {
  size_t n = strlen(id);
  switch (g) {
  case AG_DD_BIS_RED_FLAG: return n == 4 && !strncmp(id, "RF", 2) && digits(id + 2, 2);
  case AG_DD_CYBER_FLAG: return n == 4 && !strncmp(id, "CF", 2) && digits(id + 2, 2);
  case AG_DD_STATE_SCOPE: return n >= 5 && !strncmp(id, "SG-S", 4) && digits(id + 4, n - 4);
  case AG_DD_STATE_CONSIDERATION:
    return n >= 6 && !strncmp(id, "SG-C", 4) && digits(id + 4, n - 5) && id[n - 1] >= 'a' &&
           id[n - 1] <= 'z';
  case AG_DD_STATE_RED_FLAG: return n >= 6 && !strncmp(id, "SG-RF", 5) && digits(id + 5, n - 5);
  }
  return false;
}

static ag_status parse(ag_diligence *d, const char *name, size_t len, ag_error *err) {
  ag_tsv t;
  ag_status st = ag_tsv_open(&t, name, d->text, len, cols, C_COUNT, err);
  if (st)
    return st;
  size_t cap = 0;
  for (bool failed = false;;) {
    if (!ag_tsv_next(&t, &failed, err))
      return failed ? AG_ERR_RULES : AG_OK;
    if (d->n == cap) {
      size_t nc = cap ? cap * 2 : 64;
      ag_diligence_item *ni = realloc(d->items, nc * sizeof *ni);
      if (!ni)
        return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
      d->items = ni;
      cap = nc;
    }
    ag_diligence_item *it = &d->items[d->n];
    memset(it, 0, sizeof *it);
    it->line = t.line;
    it->id = t.field[C_ID];
    int g = token(group_names, COUNT(group_names), t.field[C_GROUP]);
    if (g < 0)
      return ag_tsv_fail(&t, err, C_GROUP,
                         "'%s' is not bis_red_flag, cyber_flag, state_scope, "
                         "state_consideration or state_red_flag",
                         t.field[C_GROUP]);
    it->group = (ag_diligence_group)g;
    if (!id_fits(it->id, it->group))
      return ag_tsv_fail(&t, err, C_ID,
                         "'%s' is not an id of a %s (RF01, CF01, SG-S1, SG-C1a, "
                         "SG-RF1)",
                         it->id, group_names[g]);
    for (size_t i = 0; i < d->n; i++)
      if (!strcmp(d->items[i].id, it->id))
        return ag_tsv_fail(&t, err, C_ID, "'%s' is listed twice (line %d)", it->id,
                           d->items[i].line);
    const char *r = t.field[C_RAISES];
    size_t rn = strcspn(r, ",");
    if ((rn != 3 || strncmp(r, "yes", 3)) && (rn != 2 || strncmp(r, "no", 2)))
      return ag_tsv_fail(&t, err, C_RAISES, "'%s' is not yes or no (optionally ,unknown)", r);
    if (r[rn] && strcmp(r + rn, ",unknown"))
      return ag_tsv_fail(&t, err, C_RAISES, "'%s' is not yes or no (optionally ,unknown)", r);
    it->raises_on_yes = r[0] == 'y';
    it->raises_on_unknown = r[rn] != '\0';
    int e = token(effect_names, COUNT(effect_names), t.field[C_EFFECT]);
    if (e < 0)
      return ag_tsv_fail(&t, err, C_EFFECT,
                         "'%s' is not review, screening, end_user_type, "
                         "scope, human_rights or knowledge",
                         t.field[C_EFFECT]);
    it->effect = (ag_diligence_effect)e;
    /* the State guidance is voluntary: it never by itself changes a
     * licence requirement, so its items can only be recorded */
    bool state = g >= AG_DD_STATE_SCOPE;
    if (state != (e == AG_DD_SCOPE || e == AG_DD_HUMAN_RIGHTS))
      return ag_tsv_fail(&t, err, C_EFFECT,
                         state ? "a State guidance item is scope or "
                                 "human_rights, never an EAR effect"
                               : "scope and human_rights are for the State "
                                 "guidance items");
    /* knowledge: "ID=yes" or "ID=no", an earlier row that is not itself one */
    const char *kw = t.field[C_KNOWLEDGE_WITH];
    it->knowledge_with = -1;
    if (e == AG_DD_KNOWLEDGE) {
      const char *eq = strchr(kw, '=');
      for (size_t i = 0; eq && i < d->n; i++)
        if (strlen(d->items[i].id) == (size_t)(eq - kw) &&
            !strncmp(d->items[i].id, kw, (size_t)(eq - kw)) &&
            d->items[i].effect != AG_DD_KNOWLEDGE)
          it->knowledge_with = (int)i;
      if (it->knowledge_with < 0 || (strcmp(eq + 1, "yes") && strcmp(eq + 1, "no")))
        return ag_tsv_fail(&t, err, C_KNOWLEDGE_WITH,
                           "'%s' is not ID=yes or ID=no naming an earlier item that is not a "
                           "knowledge item",
                           kw);
      it->knowledge_yes = !strcmp(eq + 1, "yes");
    } else if (strcmp(kw, "-")) {
      return ag_tsv_fail(&t, err, C_KNOWLEDGE_WITH, "only a knowledge item names one ('-')");
    }
    int p = token(provenance_names, COUNT(provenance_names), t.field[C_PROV]);
    if (p < 0)
      return ag_tsv_fail(&t, err, C_PROV,
                         "'%s' is not verbatim, summary, reconstructed or "
                         "draft_2019",
                         t.field[C_PROV]);
    it->provenance = (ag_diligence_provenance)p;
    it->question = t.field[C_QUESTION];
    it->flag = t.field[C_FLAG];
    it->cite = t.field[C_CITE];
    it->source = t.field[C_SOURCE];
    const int needed[] = {C_QUESTION, C_FLAG, C_CITE, C_SOURCE};
    for (int k = 0; k < 4; k++)
      if (!strcmp(t.field[needed[k]], "-") || strlen(t.field[needed[k]]) < 4)
        return ag_tsv_fail(&t, err, needed[k],
                           "every item needs its question, flag, citation "
                           "and source");
    if ((st = ag_tsv_date(&t, C_FROM, false, &it->from, err)) ||
        (st = ag_tsv_date(&t, C_TO, true, &it->to, err)))
      return st;
    if (it->from != AG_DATE_NONE && it->to != AG_DATE_MAX && it->from > it->to)
      return ag_tsv_fail(&t, err, C_TO, "ends before it starts");
    d->n++;
  }
}

ag_status ag_diligence_load_buffer(const char *name, const char *data, size_t len,
                                   ag_diligence **out, ag_error *err) {
  *out = NULL;
  ag_diligence *d = calloc(1, sizeof *d);
  if (!d || !(d->text = malloc(len + 1))) {
    free(d);
    return ag_error_set(err, AG_ERR_NOMEM, name, "out of memory");
  }
  memcpy(d->text, data, len);
  d->text[len] = '\0';
  ag_status st = parse(d, name, len, err);
  if (!st && d->n == 0)
    st = ag_error_set(err, AG_ERR_RULES, name, "the table has no item");
  if (st) {
    ag_diligence_free(d);
    return st;
  }
  *out = d;
  return AG_OK;
}

ag_status ag_diligence_load_default(ag_diligence **out, ag_error *err) {
  for (size_t i = 0; i < ag_rules_embedded_count; i++)
    if (!strcmp(ag_rules_embedded[i].name, file_name))
      return ag_diligence_load_buffer(file_name, ag_rules_embedded[i].data,
                                      ag_rules_embedded[i].len, out, err);
  *out = NULL;
  return ag_error_set(err, AG_ERR_RULES, file_name, "the table is missing");
}

ag_status ag_diligence_load_dir(const char *dir, ag_diligence **out, ag_error *err) {
  *out = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file_name);
  char *buf;
  size_t len;
  /* the table is a few tens of KB */
  ag_status st = ag_tsv_read_file(path, (size_t)16 << 20, &buf, &len, err);
  if (!st)
    st = ag_diligence_load_buffer(file_name, buf ? buf : "", len, out, err);
  free(buf);
  return st;
}

void ag_diligence_free(ag_diligence *d) {
  if (!d)
    return;
  free(d->items);
  free(d->text);
  free(d);
}

size_t ag_diligence_count(const ag_diligence *d) {
  return d->n;
}

const ag_diligence_item *ag_diligence_at(const ag_diligence *d, size_t i) {
  return i < d->n ? &d->items[i] : NULL;
}

const ag_diligence_item *ag_diligence_find(const ag_diligence *d, const char *id, size_t len) {
  for (size_t i = 0; i < d->n; i++)
    if (strlen(d->items[i].id) == len && !memcmp(d->items[i].id, id, len))
      return &d->items[i];
  return NULL;
}
