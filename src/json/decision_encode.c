/*
 * decision_encode.c - writes a decision as JSON (contract v1). Hand-written
 * on ag_buf rather than built as a jansson tree: the batch path writes
 * hundreds of thousands of decisions a second.
 */
#include "acegate/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the step-text cache ---- */

#define CACHE_SLOTS 512 /* a power of two; traces reuse a few dozen texts */

typedef struct {
  const void *row;
  const void *item;
  const char *cite; /* some texts name their step's citation */
  uint32_t arg;
  uint8_t kind, result, used;
  char *json; /* escaped, quotes included */
  size_t len;
} cache_slot;

struct ag_json_encoder {
  const ag_rules *rules;
  ag_buf scratch;
  cache_slot slots[CACHE_SLOTS];
};

ag_json_encoder *ag_json_encoder_new(void) {
  ag_json_encoder *e = calloc(1, sizeof *e);
  if (e)
    ag_buf_init(&e->scratch);
  return e;
}

static void cache_clear(ag_json_encoder *e) {
  for (int i = 0; i < CACHE_SLOTS; i++) {
    free(e->slots[i].json);
    e->slots[i] = (cache_slot){0};
  }
}

void ag_json_encoder_free(ag_json_encoder *e) {
  if (!e)
    return;
  cache_clear(e);
  ag_buf_free(&e->scratch);
  free(e);
}

/* Whether a step's text is a function of (kind, result, row, arg, item,
 * cite) alone; see ag_decision_step_text. The others mention the
 * transaction. */
static bool cacheable(const ag_step *s) {
  switch (s->kind) {
  case AG_STEP_RULE_TEXT:
  case AG_STEP_CLASSIFY:
  case AG_STEP_CHART:
  case AG_STEP_EXCEPTION:
  case AG_STEP_ENC:
    return true;
  case AG_STEP_EMBARGO:
    return s->row != NULL;
  case AG_STEP_RESTRICTION:
    return s->result != AG_RESULT_BLOCKED;
  default:
    return false;
  }
}

static inline void lit(ag_buf *b, const char *s) { ag_buf_append(b, s, strlen(s)); }

static void str(ag_buf *b, const char *s) { ag_buf_json_cstr(b, s); }

static void boolean(ag_buf *b, bool v) { ag_buf_puts(b, v ? "true" : "false"); }

/* Renders text with the given callback into scratch, then as a JSON string. */
static void text(ag_buf *b, ag_buf *scratch, const ag_decision *d, int i,
                 void (*render)(const ag_decision *, int, ag_buf *)) {
  ag_buf_reset(scratch);
  render(d, i, scratch);
  ag_buf_json_str(b, scratch->data ? scratch->data : "", scratch->len);
}

/* ,"remembered":{"audit_id","decision","reviewer","date"} when a reviewer's
 * earlier decision was applied to the hit (docs/review.md). */
static void encode_remembered(const ag_remembered *r, ag_buf *b) {
  if (r->kind == AG_REMEMBERED_NONE)
    return;
  lit(b, ",\"remembered\":{\"audit_id\":");
  str(b, r->audit_id);
  lit(b, ",\"decision\":");
  str(b, ag_remembered_kind_name(r->kind));
  lit(b, ",\"reviewer\":");
  str(b, r->reviewer);
  lit(b, ",\"date\":");
  str(b, r->date);
  ag_buf_putc(b, '}');
}

static void encode_screening(const ag_decision *d, ag_buf *b) {
  const ag_txn *t = d->txn;
  bool any = false;
  for (int r = 0; r < AG_PARTY_COUNT; r++)
    if (t->parties[r].name && t->parties[r].screened)
      any = true;
  if (!any)
    return;
  lit(b, ",\"screening\":[");
  bool first = true;
  for (int r = 0; r < AG_PARTY_COUNT; r++) {
    const ag_party *p = &t->parties[r];
    if (!p->name || !p->screened)
      continue;
    if (!first)
      ag_buf_putc(b, ',');
    first = false;
    lit(b, "{\"party\":");
    str(b, ag_party_role_name((ag_party_role)r));
    lit(b, ",\"name\":");
    ag_buf_json_str(b, p->name, p->name_len);
    lit(b, ",\"country\":");
    if (p->screened_country[0])
      str(b, p->screened_country);
    else
      lit(b, "null");
    lit(b, ",\"matches\":[");
    for (int h = 0; h < p->n_hits; h++) {
      const ag_party_hit *hit = &p->hits[h];
      if (h)
        ag_buf_putc(b, ',');
      lit(b, "{\"list\":");
      str(b, hit->list_name);
      lit(b, ",\"source_id\":");
      str(b, hit->source_id);
      lit(b, ",\"name\":");
      str(b, hit->matched_name);
      ag_buf_printf(b, ",\"score\":%.3f,\"level\":\"%s\"", hit->score,
                    hit->confident ? "confident" : "possible");
      if (hit->programs && hit->programs[0]) {
        lit(b, ",\"programs\":");
        str(b, hit->programs);
      }
      if (hit->license_requirement && hit->license_requirement[0]) {
        lit(b, ",\"license_requirement\":");
        str(b, hit->license_requirement);
      }
      if (hit->license_policy && hit->license_policy[0]) {
        lit(b, ",\"license_policy\":");
        str(b, hit->license_policy);
      }
      if (hit->federal_register_notice && hit->federal_register_notice[0]) {
        lit(b, ",\"federal_register_notice\":");
        str(b, hit->federal_register_notice);
      }
      if (hit->entry_hash[0]) {
        lit(b, ",\"entry_hash\":");
        str(b, hit->entry_hash);
      }
      encode_remembered(&hit->remembered, b);
      ag_buf_putc(b, '}');
    }
    lit(b, "]}");
  }
  ag_buf_putc(b, ']');
}

/* Every raised due-diligence flag, with what it did (docs/due-diligence.md). */
static void encode_red_flags(const ag_decision *d, ag_buf *b) {
  if (!d->txn->has_due_diligence)
    return;
  lit(b, ",\"red_flags\":[");
  for (int f = 0; f < d->n_red_flags; f++) {
    const ag_red_flag *x = &d->red_flags[f];
    const ag_dd_answer *a = &d->txn->dd[x->answer];
    if (f)
      ag_buf_putc(b, ',');
    lit(b, "{\"id\":");
    str(b, x->row->id);
    lit(b, ",\"question\":");
    str(b, x->row->question);
    lit(b, ",\"answer\":");
    if (a->answer == AG_DDV_UNKNOWN)
      lit(b, "\"unknown\"");
    else
      boolean(b, a->answer == AG_DDV_TRUE);
    lit(b, ",\"cite\":");
    str(b, x->row->cite);
    lit(b, ",\"source\":");
    str(b, x->row->source);
    lit(b, ",\"provenance\":");
    str(b, ag_diligence_provenance_name(x->row->provenance));
    lit(b, ",\"class\":");
    str(b, ag_diligence_effect_name(x->row->effect));
    lit(b, ",\"effect\":");
    str(b, ag_flag_effect_name(x->effect));
    lit(b, ",\"resolved\":");
    boolean(b, a->resolution != NULL);
    lit(b, ",\"resolution\":");
    if (a->resolution)
      ag_buf_json_str(b, a->resolution, a->resolution_len);
    else
      lit(b, "null");
    ag_buf_putc(b, '}');
  }
  lit(b, "],\"red_flags_reconstructed\":");
  boolean(b, d->red_flags_reconstructed);
}

/* Appends the escaped text of step i, from the cache when it can. */
static void step_text(ag_json_encoder *e, ag_buf *scratch, const ag_decision *d, int i,
                      ag_buf *b) {
  const ag_step *s = &d->steps[i];
  if (!e || !cacheable(s)) {
    text(b, scratch, d, i, ag_decision_step_text);
    return;
  }
  /* citations are table strings: the same pointer for the same citation */
  uintptr_t h = (uintptr_t)s->row * 31u + (uintptr_t)d->item * 17u + (uintptr_t)s->cite * 13u +
                (uintptr_t)s->arg * 7u + (uintptr_t)s->kind * 3u + s->result;
  h ^= h >> 9;
  for (int probe = 0; probe < 8; probe++) {
    cache_slot *c = &e->slots[(h + (uintptr_t)probe) & (CACHE_SLOTS - 1)];
    if (c->used && c->row == s->row && c->item == d->item && c->arg == s->arg &&
        c->kind == s->kind && c->result == s->result &&
        (c->cite == s->cite || (c->cite && s->cite && !strcmp(c->cite, s->cite)))) {
      ag_buf_append(b, c->json, c->len);
      return;
    }
    if (!c->used) {
      size_t at = b->len;
      text(b, scratch, d, i, ag_decision_step_text);
      if (b->failed)
        return;
      char *copy = malloc(b->len - at);
      if (copy) {
        memcpy(copy, b->data + at, b->len - at);
        *c = (cache_slot){.row = s->row,
                          .item = d->item,
                          .cite = s->cite,
                          .arg = s->arg,
                          .kind = (uint8_t)s->kind,
                          .result = (uint8_t)s->result,
                          .used = 1,
                          .json = copy,
                          .len = b->len - at};
      }
      return;
    }
  }
  text(b, scratch, d, i, ag_decision_step_text); /* neighbourhood full */
}

static void encode(ag_json_encoder *e, ag_buf *scratch, const ag_decision *d, ag_buf *b);

void ag_json_encode_decision(const ag_decision *d, ag_buf *b) {
  ag_buf scratch;
  ag_buf_init(&scratch);
  encode(NULL, &scratch, d, b);
  ag_buf_free(&scratch);
}

void ag_json_encoder_decision(ag_json_encoder *e, const ag_decision *d, ag_buf *b) {
  if (e->rules != d->rules) {
    cache_clear(e);
    e->rules = d->rules;
  }
  encode(e, &e->scratch, d, b);
}

static void encode(ag_json_encoder *e, ag_buf *scratch, const ag_decision *d, ag_buf *b) {
  char date[11];
  ag_date_format(d->txn->as_of, date);
  lit(b, "{\"outcome\":");
  str(b, ag_outcome_name(d->outcome));
  lit(b, ",\"decided_by\":");
  str(b, d->decided_by);
  lit(b, ",\"as_of\":");
  str(b, date);
  lit(b, ",\"license_required_by_chart\":");
  if (d->chart_read)
    boolean(b, d->license_required_by_chart);
  else
    lit(b, "null"); /* the chart was not read for this item on this date */
  lit(b, ",\"cyber_rule_in_force\":");
  boolean(b, d->cyber_rule_in_force);
  lit(b, ",\"ace\":{\"available\":");
  boolean(b, d->ace_available);
  lit(b, ",\"blocked_by\":[");
  for (int i = 0; i < d->n_blocked; i++) {
    if (i)
      ag_buf_putc(b, ',');
    str(b, d->blocked_by[i]);
  }
  lit(b, "],\"reconstructed\":");
  boolean(b, d->ace_reconstructed);
  lit(b, "},\"controls\":[");
  for (int c = 0, first = 1; c < AG_COL_COUNT; c++)
    if (d->item && (d->item->controls & (1u << c))) {
      if (!first)
        ag_buf_putc(b, ',');
      first = 0;
      str(b, ag_column_name((ag_column)c));
    }
  lit(b, "],\"item\":{\"eccn\":");
  str(b, d->item ? d->item->paragraph : d->txn->eccn);
  const char *for_ = d->item ? d->item->for_ : d->txn->for_[0] ? d->txn->for_ : NULL;
  if (for_) {
    lit(b, ",\"for\":");
    str(b, for_);
  }
  lit(b, ",\"cybersecurity_item\":");
  boolean(b, d->item && d->item->cyber_item);
  if (d->txn->classification) {
    lit(b, ",\"classification_id\":");
    str(b, d->txn->classification->audit_id);
  }
  lit(b, "},\"destination\":");
  str(b, d->rules->destinations[d->dest].code);
  lit(b, ",\"country_groups\":[");
  for (int g = 0, first = 1; g < AG_GROUP_COUNT; g++)
    if (d->groups & (1u << g)) {
      if (!first)
        ag_buf_putc(b, ',');
      first = 0;
      str(b, ag_group_name((ag_group)g));
    }
  ag_buf_putc(b, ']');
  encode_screening(d, b);
  encode_red_flags(d, b);
  lit(b, ",\"trace\":[");
  for (int i = 0; i < d->n_steps; i++) {
    const ag_step *s = &d->steps[i];
    if (i)
      ag_buf_putc(b, ',');
    lit(b, "{\"step\":");
    str(b, ag_step_kind_name(s->kind));
    lit(b, ",\"cite\":");
    str(b, s->cite);
    lit(b, ",\"result\":");
    str(b, ag_step_result_name(s->result));
    lit(b, ",\"text\":");
    step_text(e, scratch, d, i, b);
    if (s->kind == AG_STEP_SCREENING && s->row) {
      const ag_party *p = s->row;
      int h = (int)(s->arg >> 8);
      if (p->screened && h < p->n_hits)
        encode_remembered(&p->hits[h].remembered, b);
    }
    ag_buf_putc(b, '}');
  }
  lit(b, "],\"alternatives\":[");
  for (int i = 0; i < d->n_alternatives; i++) {
    if (i)
      ag_buf_putc(b, ',');
    text(b, scratch, d, i, ag_decision_alternative_text);
  }
  lit(b, "],\"rules_version\":");
  str(b, d->rules->version);
  ag_buf_putc(b, '}');
}

void ag_json_encode_error(const ag_error *err, ag_buf *b) {
  lit(b, "{\"error\":{\"code\":");
  str(b, ag_status_name(err->status));
  lit(b, ",\"message\":");
  if (err->field[0]) {
    char msg[sizeof err->field + sizeof err->reason + 4];
    snprintf(msg, sizeof msg, "%s: %s", err->field, err->reason);
    str(b, msg);
  } else
    str(b, err->reason);
  lit(b, ",\"field\":");
  if (err->field[0])
    str(b, err->field);
  else
    lit(b, "null");
  lit(b, "}}");
}
