/*
 * evaluate.c - decides the questionnaire from three-valued answers (yes,
 * no, not known): which result paragraphs hold, which are ruled out and
 * why, and which unanswered questions could still change the outcome.
 *
 * Logic (Kleene): a row is ruled out when any of its exclusions holds or
 * any required clause fails; it holds when every clause holds and no
 * exclusion could hold; otherwise it is undecided. Rows only name rows
 * above them, so one pass in file order settles them all. A row not in
 * force on the date neither holds nor is asked.
 */
#include "classify_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_NO, V_YES, V_UNK } tv;

typedef struct {
  const ag_classify *q;
  const ag_classify_answer *answers;
  ag_date on;
  uint8_t *val;      /* tv per row */
  uint8_t *visited;  /* relevance walk */
  uint8_t *relevant; /* a question still worth an answer */
  uint8_t *used;     /* 1 read by the explanation, 2 decisive */
} ctx;

static tv clause_value(const ctx *c, const ag_classify_row *r, int k) {
  tv v = V_NO;
  for (int a = r->req_start[k]; a < r->req_start[k + 1]; a++) {
    if (c->val[r->req[a]] == V_YES)
      return V_YES;
    if (c->val[r->req[a]] == V_UNK)
      v = V_UNK;
  }
  return v;
}

static void decide_rows(ctx *c) {
  for (size_t i = 0; i < c->q->n_rows; i++) {
    const ag_classify_row *r = &c->q->rows[i];
    tv v = V_YES;
    if (!ag_classify_in_force(r, c->on))
      v = V_NO;
    else if (r->kind == AG_CLASSIFY_QUESTION)
      v = c->answers[i] == AG_ANSWER_YES ? V_YES : c->answers[i] == AG_ANSWER_NO ? V_NO : V_UNK;
    else {
      for (int e = 0; e < r->n_excl && v != V_NO; e++)
        if (c->val[r->excl[e]] == V_YES)
          v = V_NO;
        else if (c->val[r->excl[e]] == V_UNK)
          v = V_UNK;
      for (int k = 0; k < r->n_clauses && v != V_NO; k++) {
        tv cv = clause_value(c, r, k);
        if (cv != V_YES)
          v = cv;
      }
    }
    c->val[i] = (uint8_t)v;
  }
}

/* Marks the unanswered questions an undecided row still depends on. */
static void collect(ctx *c, int i) {
  if (c->visited[i])
    return;
  c->visited[i] = 1;
  const ag_classify_row *r = &c->q->rows[i];
  if (r->kind == AG_CLASSIFY_QUESTION) {
    c->relevant[i] = 1;
    return;
  }
  for (int e = 0; e < r->n_excl; e++)
    if (c->val[r->excl[e]] == V_UNK)
      collect(c, r->excl[e]);
  for (int k = 0; k < r->n_clauses; k++)
    if (clause_value(c, r, k) == V_UNK)
      for (int a = r->req_start[k]; a < r->req_start[k + 1]; a++)
        if (c->val[r->req[a]] == V_UNK)
          collect(c, r->req[a]);
}

static void collect_relevant(ctx *c) {
  for (size_t i = 0; i < c->q->n_rows; i++)
    if (c->q->rows[i].kind == AG_CLASSIFY_RESULT && c->val[i] == V_UNK)
      collect(c, (int)i);
}

static void mark(ctx *c, int i, bool decisive) {
  uint8_t m = decisive ? 2 : 1;
  if (c->used[i] < m)
    c->used[i] = m;
}

static void explain_no(ctx *c, int i, bool decisive);

/* Why a row holds: the first holding atom of each clause (decisive), and
 * the exclusions that do not apply (read, not decisive). */
static void explain_yes(ctx *c, int i, bool decisive) {
  mark(c, i, decisive);
  const ag_classify_row *r = &c->q->rows[i];
  for (int k = 0; k < r->n_clauses; k++)
    for (int a = r->req_start[k]; a < r->req_start[k + 1]; a++)
      if (c->val[r->req[a]] == V_YES) {
        explain_yes(c, r->req[a], decisive);
        break;
      }
  for (int e = 0; e < r->n_excl; e++)
    explain_no(c, r->excl[e], false);
}

/* Why a row is ruled out: the first exclusion that applies, or else the
 * first clause none of whose atoms holds. */
static void explain_no(ctx *c, int i, bool decisive) {
  mark(c, i, decisive);
  const ag_classify_row *r = &c->q->rows[i];
  for (int e = 0; e < r->n_excl; e++)
    if (c->val[r->excl[e]] == V_YES) {
      explain_yes(c, r->excl[e], decisive);
      return;
    }
  for (int k = 0; k < r->n_clauses; k++)
    if (clause_value(c, r, k) == V_NO) {
      for (int a = r->req_start[k]; a < r->req_start[k + 1]; a++)
        explain_no(c, r->req[a], decisive);
      return;
    }
}

/* The same walk as explain_no, stopping at the first question, term or
 * result that names the reason: an exclusion that applies, or an unmet
 * clause (a one-atom clause on a term is followed into the term). */
static void reason_of(const ctx *c, int i, ag_classify_reason *out) {
  const ag_classify_row *r = &c->q->rows[i];
  for (int e = 0; e < r->n_excl; e++)
    if (c->val[r->excl[e]] == V_YES) {
      out->excluded = true;
      out->because[0] = &c->q->rows[r->excl[e]];
      out->n_because = 1;
      return;
    }
  for (int k = 0; k < r->n_clauses; k++)
    if (clause_value(c, r, k) == V_NO) {
      int first = r->req_start[k], end = r->req_start[k + 1];
      if (end - first == 1 && c->q->rows[r->req[first]].kind != AG_CLASSIFY_QUESTION) {
        reason_of(c, r->req[first], out);
        return;
      }
      out->excluded = false;
      out->n_because = 0;
      for (int a = first; a < end && out->n_because < 8; a++)
        out->because[out->n_because++] = &c->q->rows[r->req[a]];
      return;
    }
  /* not in force: no reason of its own */
  out->excluded = false;
  out->n_because = 0;
}

static bool same_reason(const ag_classify_reason *a, const ag_classify_reason *b) {
  if (a->excluded != b->excluded || a->n_because != b->n_because)
    return false;
  for (size_t i = 0; i < a->n_because; i++)
    if (a->because[i] != b->because[i])
      return false;
  return true;
}

static bool is_cyber(const ag_classify *q, const ag_classify_row *r, ag_date on) {
  const ag_item *item = NULL;
  return q->rules && ag_rules_find_item(q->rules, r->id, r->for_, on, &item) == AG_ITEM_FOUND &&
         item->cyber_item;
}

static uint8_t *walk(const ag_classify *q, const ag_classify_answer *answers, ag_date on, ctx *c) {
  size_t n = q->n_rows ? q->n_rows : 1;
  uint8_t *mem = calloc(4, n);
  if (!mem)
    return NULL;
  *c = (ctx){q, answers, on, mem, mem + n, mem + 2 * n, mem + 3 * n};
  decide_rows(c);
  collect_relevant(c);
  return mem;
}

int ag_classify_next_question(const ag_classify *q, const ag_classify_answer *answers,
                              ag_date as_of) {
  ctx c;
  uint8_t *mem = walk(q, answers, as_of, &c);
  if (!mem)
    return -1;
  int next = -1;
  for (size_t i = 0; i < q->n_rows && next < 0; i++)
    if (c.relevant[i] && answers[i] == AG_ANSWER_NONE)
      next = (int)i;
  free(mem);
  return next;
}

const char *ag_classify_status_name(ag_classify_status s) {
  switch (s) {
  case AG_CLASSIFY_CLASSIFIED: return "classified";
  case AG_CLASSIFY_NOT_CONTROLLED: return "not_controlled";
  case AG_CLASSIFY_CANNOT_TELL: return "cannot_tell";
  }
  return "?";
}

ag_status ag_classify_evaluate(const ag_classify *q, const ag_classify_answer *answers,
                               ag_date as_of, ag_classify_result *out, ag_error *err) {
  memset(out, 0, sizeof *out);
  out->as_of = as_of;
  ctx c;
  size_t n = q->n_rows;
  uint8_t *mem = walk(q, answers, as_of, &c);
  out->candidates = calloc(n + 1, sizeof *out->candidates);
  out->missing = calloc(n + 1, sizeof(const ag_classify_row *));
  out->reasons = calloc(n + 1, sizeof *out->reasons);
  out->basis = calloc(n + 1, sizeof *out->basis);
  if (!mem || !out->candidates || !out->missing || !out->reasons || !out->basis) {
    free(mem);
    ag_classify_result_free(out);
    return ag_error_set(err, AG_ERR_NOMEM, "classification", "out of memory");
  }
  bool any_unknown = false, unknown_cyber = false;
  for (size_t i = 0; i < n; i++) {
    const ag_classify_row *r = &q->rows[i];
    if (r->kind != AG_CLASSIFY_RESULT || !ag_classify_in_force(r, as_of))
      continue;
    if (c.val[i] == V_YES) {
      out->candidates[out->n_candidates++] = (ag_classify_candidate){r, is_cyber(q, r, as_of)};
      explain_yes(&c, (int)i, true);
    } else if (c.val[i] == V_UNK) {
      any_unknown = true;
      unknown_cyber |= is_cyber(q, r, as_of);
    }
  }
  if (out->n_candidates)
    out->status = AG_CLASSIFY_CLASSIFIED;
  else if (any_unknown)
    out->status = AG_CLASSIFY_CANNOT_TELL;
  else
    out->status = AG_CLASSIFY_NOT_CONTROLLED;

  /* 740.22(b)(1): the item is a cybersecurity item when a paragraph it
   * falls under is one; unknown while an undecided paragraph could be */
  bool cyber = false;
  for (size_t k = 0; k < out->n_candidates; k++)
    cyber |= out->candidates[k].cyber_item;
  out->cyber_item = cyber ? 1 : unknown_cyber ? -1 : 0;

  if (out->status == AG_CLASSIFY_NOT_CONTROLLED) {
    for (size_t i = 0; i < n; i++) {
      const ag_classify_row *r = &q->rows[i];
      if (r->kind != AG_CLASSIFY_RESULT || !ag_classify_in_force(r, as_of))
        continue;
      explain_no(&c, (int)i, true);
      ag_classify_reason why = {0};
      reason_of(&c, (int)i, &why);
      ag_classify_reason *slot = NULL;
      for (size_t k = 0; k < out->n_reasons && !slot; k++)
        if (same_reason(&out->reasons[k], &why))
          slot = &out->reasons[k];
      if (!slot) {
        slot = &out->reasons[out->n_reasons++];
        *slot = why;
        slot->paragraphs = calloc(n, sizeof(const ag_classify_row *));
        if (!slot->paragraphs) {
          free(mem);
          ag_classify_result_free(out);
          return ag_error_set(err, AG_ERR_NOMEM, "classification", "out of memory");
        }
      }
      assert(slot->paragraphs); /* every reason listed has its array */
      slot->paragraphs[slot->n_paragraphs++] = r;
    }
  }

  for (size_t i = 0; i < n; i++) {
    const ag_classify_row *r = &q->rows[i];
    if (c.relevant[i])
      out->missing[out->n_missing++] = r;
    bool answered = answers[i] != AG_ANSWER_NONE && r->kind == AG_CLASSIFY_QUESTION;
    /* undecided: every answer given is what the result rests on so far */
    if (answered && (c.used[i] || out->status == AG_CLASSIFY_CANNOT_TELL))
      out->basis[out->n_basis++] = (ag_classify_used){r, answers[i], c.used[i] == 2};
    /* a term's provenance is its questions'; a question or result the
     * result turned on that rests on reconstructed text is flagged */
    if (c.used[i] == 2 && r->kind != AG_CLASSIFY_TERM &&
        r->provenance == AG_PROVENANCE_RECONSTRUCTED)
      out->reconstructed = true;
  }
  free(mem);
  return AG_OK;
}

void ag_classify_result_free(ag_classify_result *r) {
  if (!r)
    return;
  for (size_t i = 0; r->reasons && i < r->n_reasons; i++)
    free(r->reasons[i].paragraphs);
  free(r->candidates);
  free(r->missing);
  free(r->reasons);
  free(r->basis);
  memset(r, 0, sizeof *r);
}
