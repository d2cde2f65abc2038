/*
 * review.c - reviews of recorded checks and screenings (acegate/review.h):
 * a review is appended to the audit log as a record of its own, so the
 * record it resolves stays exactly as it was made (15 CFR 762.2, 762.6) and
 * every resolution is in the same hash chain, with who made it and why.
 * The queues are read in queue.c.
 */
#include "review_int.h"

#include "acegate/screen.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const decision_names[] = {"cleared", "confirmed", "escalated"};
#define N_DECISIONS (sizeof decision_names / sizeof decision_names[0])

bool review_decision_known(const char *s) {
  for (size_t i = 0; i < N_DECISIONS; i++)
    if (!strcmp(s, decision_names[i]))
      return true;
  return false;
}

/* ---- what a record asks of a reviewer ---- */

static void need_of_matches(json_t *matches, record_need *n) {
  size_t i;
  json_t *m;
  json_array_foreach(matches, i, m) {
    n->reviewable = true;
    const char *level = json_string_value(json_object_get(m, "level"));
    const char *remembered =
        json_string_value(json_object_get(json_object_get(m, "remembered"), "decision"));
    /* a possible match a remembered clearance or confirmation decided
     * needs no one to look again */
    if (level && !strcmp(level, "possible") && !remembered)
      n->queued = true;
  }
}

void review_each_candidate(const ag_audit_entry *e, json_t *dec,
                           void (*fn)(json_t *party, json_t *match, void *ctx), void *ctx) {
  size_t i, j;
  json_t *p, *m;
  if (e->kind == AG_AUDIT_SCREENING) {
    json_array_foreach(json_object_get(dec, "matches"), i, m) {
      fn(dec, m, ctx);
    }
    return;
  }
  json_array_foreach(json_object_get(dec, "screening"), i, p) {
    json_array_foreach(json_object_get(p, "matches"), j, m) {
      fn(p, m, ctx);
    }
  }
}

record_need review_need(const ag_audit_entry *e, json_t **dec_out) {
  record_need n = {false, false};
  if (dec_out)
    *dec_out = NULL;
  if (e->kind != AG_AUDIT_CHECK && e->kind != AG_AUDIT_SCREENING)
    return n;
  bool review_outcome = e->kind == AG_AUDIT_CHECK && !strcmp(e->outcome, "REVIEW");
  /* most answers name no candidate, and parsing them was most of the time
   * a queue scan took: every candidate has a "level" key, written as such
   * (within a string its quotes would be escaped), so an answer without
   * one needs no parse */
  if (!dec_out && !memmem(e->decision, e->decision_len, "\"level\"", 7)) {
    n.reviewable = n.queued = review_outcome;
    return n;
  }
  json_t *dec = json_loadb(e->decision, e->decision_len, 0, NULL);
  if (!dec)
    return n;
  if (review_outcome)
    n.reviewable = n.queued = true;
  if (e->kind == AG_AUDIT_SCREENING) {
    need_of_matches(json_object_get(dec, "matches"), &n);
    /* a re-screening after a list change found a hit the party did not
     * have: a person looks at it, a confident match too */
    if (json_object_get(dec, "cause") && json_array_size(json_object_get(dec, "matches")))
      n.queued = true;
  } else {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(dec, "screening"), i, p) {
      need_of_matches(json_object_get(p, "matches"), &n);
    }
  }
  if (dec_out)
    *dec_out = dec;
  else
    json_decref(dec);
  return n;
}

bool review_need_queued(const ag_audit_entry *e) {
  /* besides a REVIEW outcome, only a candidate queues a record, and only a
   * possible one or a re-screening's hit: an answer without "level", or
   * with neither "possible" nor "cause", needs no parse (written as such,
   * as for review_need) */
  bool review_outcome = e->kind == AG_AUDIT_CHECK && !strcmp(e->outcome, "REVIEW");
  if (!review_outcome && (!memmem(e->decision, e->decision_len, "\"level\"", 7) ||
                          (!memmem(e->decision, e->decision_len, "\"possible\"", 10) &&
                           !memmem(e->decision, e->decision_len, "\"cause\"", 7))))
    return false;
  return review_need(e, NULL).queued;
}

bool ag_review_queued(ag_audit_kind kind, const char *outcome, const char *answer, size_t len) {
  ag_audit_entry e = {.kind = kind, .outcome = outcome ? outcome : "", .decision = answer,
                      .decision_len = len};
  return answer && review_need_queued(&e);
}

const char *review_decision_name(const char *s) {
  for (size_t i = 0; s && i < N_DECISIONS; i++)
    if (!strcmp(s, decision_names[i]))
      return decision_names[i];
  return NULL;
}

/* ---- what a clearance or confirmation remembers ---- */

typedef struct {
  const ag_audit_entry *e;
  json_t *entries; /* the source ids decided on */
  json_t *request; /* the reviewed record's request, for a party's country */
  json_t *pairs;   /* out: [{"party":{..},"entry":{..}}] */
} pair_ctx;

/* The country a check screened a party with, from a record made before the
 * answer said it: the party's own, else the destination for the end user
 * and the consignee (as ag_check does). */
static const char *request_country(json_t *request, const char *role) {
  const char *c = json_string_value(json_object_get(json_object_get(request, role), "country"));
  if (c && *c)
    return c;
  const char *dest = json_string_value(json_object_get(request, "destination"));
  if ((!strcmp(role, "end_user") || !strcmp(role, "consignee")) && dest && strlen(dest) == 2)
    return dest;
  return "";
}

static void add_pair(json_t *party, json_t *match, void *ctx) {
  pair_ctx *c = ctx;
  const char *sid = json_string_value(json_object_get(match, "source_id"));
  const char *hash = json_string_value(json_object_get(match, "entry_hash"));
  bool wanted = false;
  size_t i;
  json_t *v;
  json_array_foreach(c->entries, i, v) {
    wanted |= sid && !strcmp(json_string_value(v), sid);
  }
  /* a record made before answers carried the entry's hash cannot say
   * which content was cleared: nothing is remembered of it */
  if (!wanted || !hash)
    return;
  const char *name = json_string_value(json_object_get(party, "name"));
  if (!name)
    return;
  json_t *cj = json_object_get(party, "country");
  const char *country = json_is_string(cj) ? json_string_value(cj) : "";
  if (!json_object_get(party, "country") && c->e->kind == AG_AUDIT_CHECK)
    country = request_country(c->request, json_string_value(json_object_get(party, "party"))
                                              ? json_string_value(json_object_get(party, "party"))
                                              : "");
  char cc[8] = "";
  for (size_t k = 0; k < sizeof cc - 1 && country[k]; k++)
    cc[k] = country[k] >= 'a' && country[k] <= 'z' ? (char)(country[k] - 32) : country[k];
  const char *normalized = json_string_value(json_object_get(party, "normalized"));
  ag_buf norm;
  ag_buf_init(&norm);
  ag_error nerr;
  if (!normalized && ag_screen_normalize(name, strlen(name), &norm, &nerr) == AG_OK) {
    ag_buf_putc(&norm, '\0');
    normalized = norm.data;
  }
  const char *entry_name = json_string_value(json_object_get(match, "entry_name"));
  if (!entry_name)
    entry_name = json_string_value(json_object_get(match, "name"));
  if (normalized && !norm.failed)
    json_array_append_new(
        c->pairs, json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "party", "name", name,
                            "normalized", normalized, "country", cc, "entry", "source_id", sid,
                            "list", json_string_value(json_object_get(match, "list"))
                                        ? json_string_value(json_object_get(match, "list"))
                                        : "",
                            "name", entry_name ? entry_name : "", "hash", hash));
  ag_buf_free(&norm);
}

/* The (party, entry) pairs a clearance or confirmation of entries makes a
 * remembered decision of (acegate/remember.h). */
static json_t *remembered_pairs(const ag_audit_entry *e, json_t *dec, json_t *entries) {
  pair_ctx c = {.e = e, .entries = entries, .pairs = json_array()};
  if (!entries || !c.pairs)
    return c.pairs;
  c.request = json_loadb(e->request, e->request_len, 0, NULL);
  review_each_candidate(e, dec, add_pair, &c);
  json_decref(c.request);
  return c.pairs;
}

/* A revocation names a clearance or confirmation (a review record) and
 * optionally some of its entries; stored as a review of that review. */
static ag_status check_revocation(const ag_audit_entry *e, json_t *entries, json_t **named,
                                  ag_error *err) {
  *named = NULL;
  json_t *rv = e->kind == AG_AUDIT_REVIEW ? json_loadb(e->decision, e->decision_len, 0, NULL)
                                          : NULL;
  const char *d = json_string_value(json_object_get(rv, "decision"));
  json_t *pairs = json_object_get(rv, "remembered");
  if (!d || (strcmp(d, "cleared") != 0 && strcmp(d, "confirmed") != 0) ||
      !json_array_size(pairs)) {
    json_decref(rv);
    return ag_error_set(err, AG_ERR_INPUT, "audit_id",
                        "record %s is not a remembered clearance or confirmation: only such a "
                        "review can be revoked",
                        e->id);
  }
  json_t *all = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(pairs, i, p) {
    json_t *sid = json_object_get(json_object_get(p, "entry"), "source_id");
    if (json_is_string(sid))
      json_array_append(all, sid);
  }
  json_decref(rv);
  if (!json_array_size(entries)) { /* none named: all of them */
    *named = all;
    return AG_OK;
  }
  json_array_foreach(entries, i, p) {
    bool found = false;
    size_t k;
    json_t *a;
    json_array_foreach(all, k, a) {
      found |= json_equal(a, p);
    }
    if (!found) {
      json_decref(all);
      return ag_error_set(err, AG_ERR_INPUT, "entries",
                          "\"%.80s\" is not remembered by review %s", json_string_value(p),
                          e->id);
    }
  }
  json_decref(all);
  *named = json_incref(entries);
  return AG_OK;
}

/* ---- POST: a new review ---- */

typedef struct {
  json_t *entries;
  const char *missing; /* the first entry that is not a candidate */
} entry_check;

static void find_entry(json_t *party, json_t *match, void *ctx) {
  (void)party;
  json_t *wanted = ctx;
  const char *sid = json_string_value(json_object_get(match, "source_id"));
  size_t i;
  json_t *v;
  json_array_foreach(wanted, i, v) {
    if (sid && json_is_string(v) && !strcmp(json_string_value(v), sid))
      json_array_set_new(wanted, i, json_true()); /* found: marked */
  }
}

static bool blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
      return false;
  return true;
}

/* Validates the review's fields (not the record it names). */
static ag_status parse_review(json_t *root, const char **audit_id, const char **decision,
                              const char **note, json_t **entries, ag_error *err) {
  if (!json_is_object(root))
    return ag_error_set(err, AG_ERR_INPUT, "", "a review must be a JSON object");
  *audit_id = *decision = *note = NULL;
  *entries = NULL;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "audit_id") || !strcmp(key, "decision") || !strcmp(key, "note")) {
      if (!json_is_string(v))
        return ag_error_set(err, AG_ERR_INPUT, key, "must be a string");
      const char **slot = key[0] == 'a' ? audit_id : key[0] == 'd' ? decision : note;
      *slot = json_string_value(v);
    } else if (!strcmp(key, "entries")) {
      if (!json_is_array(v))
        return ag_error_set(err, AG_ERR_INPUT, "entries", "must be an array of entry ids");
      if (json_array_size(v) > AG_REVIEW_ENTRIES_MAX)
        return ag_error_set(err, AG_ERR_LIMIT, "entries", "more than %d entries",
                            AG_REVIEW_ENTRIES_MAX);
      size_t i;
      json_t *x;
      json_array_foreach(v, i, x) {
        if (!json_is_string(x) || !json_string_length(x))
          return ag_error_set(err, AG_ERR_INPUT, "entries", "entry %zu must be an entry id",
                              i + 1);
      }
      *entries = v;
    } else {
      return ag_error_set(err, AG_ERR_INPUT, key, "unknown field");
    }
  }
  if (!*audit_id || !**audit_id)
    return ag_error_set(err, AG_ERR_INPUT, "audit_id", "is required");
  if (!*decision)
    return ag_error_set(err, AG_ERR_INPUT, "decision",
                        "is required: cleared, confirmed, escalated or revoked");
  if (!review_decision_known(*decision) && strcmp(*decision, "revoked") != 0)
    return ag_error_set(err, AG_ERR_INPUT, "decision",
                        "\"%.40s\" is not a decision: cleared, confirmed, escalated or revoked",
                        *decision);
  if (!*note || blank(*note))
    return ag_error_set(err, AG_ERR_INPUT, "note", "is required: say why");
  if (strlen(*note) > AG_REVIEW_NOTE_MAX)
    return ag_error_set(err, AG_ERR_LIMIT, "note", "is longer than %d bytes", AG_REVIEW_NOTE_MAX);
  return AG_OK;
}

ag_status ag_review_submit(ag_audit_db *db, const char *json, size_t len, const char *reviewer,
                           const char *client, ag_buf *out, char id_out[AG_AUDIT_ID_MAX],
                           ag_error *err) {
  json_error_t jerr;
  json_t *root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return ag_error_set(err, AG_ERR_INPUT, "", "malformed JSON at line %d, column %d: %s",
                        jerr.line, jerr.column, jerr.text);
  const char *audit_id = NULL, *decision = NULL, *note = NULL;
  json_t *entries = NULL;
  ag_audit_entry *e = NULL;
  json_t *dec = NULL, *marks = NULL, *stored = NULL;
  ag_status st = parse_review(root, &audit_id, &decision, &note, &entries, err);
  if (st != AG_OK)
    goto done;
  if (!audit_id || !decision || !note) { /* parse_review sets all three when it succeeds */
    st = ag_error_set(err, AG_ERR_INTERNAL, "", "a review was read without its fields");
    goto done;
  }
  st = ag_audit_get(db, audit_id, &e, err);
  if (st == AG_ERR_NOTFOUND || st == AG_ERR_INPUT) {
    st = ag_error_set(err, AG_ERR_NOTFOUND, "audit_id", "no record with audit id \"%.64s\"",
                      audit_id);
    goto done;
  }
  if (st != AG_OK)
    goto done;
  bool revoking = !strcmp(decision, "revoked");
  json_t *pairs = NULL, *named = NULL;
  if (revoking) {
    if ((st = check_revocation(e, entries, &named, err)) != AG_OK)
      goto done;
    stored = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "review_of", e->id, "decision",
                       decision, "note", note, "reviewer", reviewer ? reviewer : "",
                       "record_kind", ag_audit_kind_name(e->kind), "record_outcome", e->outcome,
                       "entries", named);
    goto append;
  }
  if (!review_need(e, &dec).reviewable) {
    st = ag_error_set(err, AG_ERR_INPUT, "audit_id",
                      "record %s is a %s with outcome %s: only a REVIEW outcome or a screening "
                      "candidate can be reviewed",
                      e->id, ag_audit_kind_name(e->kind), e->outcome[0] ? e->outcome : "none");
    goto done;
  }
  /* every entry named must be one of the record's candidates */
  if (entries) {
    marks = json_deep_copy(entries);
    review_each_candidate(e, dec, find_entry, marks);
    size_t i;
    json_t *m;
    json_array_foreach(marks, i, m) {
      if (json_is_string(m)) {
        st = ag_error_set(err, AG_ERR_INPUT, "entries",
                          "\"%.80s\" is not a candidate of record %s", json_string_value(m),
                          e->id);
        goto done;
      }
    }
  }
  stored = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "review_of", e->id, "decision",
                     decision, "note", note, "reviewer", reviewer ? reviewer : "", "record_kind",
                     ag_audit_kind_name(e->kind), "record_outcome", e->outcome, "entries",
                     entries ? json_incref(entries) : json_array());
  /* a clearance or confirmation of named entries is remembered for later
   * checks of the same party against the same entry content */
  if (stored && strcmp(decision, "escalated") != 0 && entries) {
    pairs = remembered_pairs(e, dec, entries);
    if (pairs)
      json_object_set_new(stored, "remembered", pairs);
  }
append:;
  char *text = stored ? json_dumps(stored, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (!text) {
    st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    goto done;
  }
  ag_audit_record rec = {.kind = AG_AUDIT_REVIEW,
                         .request = json,
                         .request_len = len,
                         .decision = text,
                         .decision_len = strlen(text),
                         .rules_version = e->rules_version,
                         .lists_version = e->lists_version,
                         .key_id = reviewer ? reviewer : "",
                         .client_addr = client ? client : "",
                         .as_of = e->as_of,
                         .destination = e->destination,
                         .eccn = e->eccn,
                         .outcome = decision};
  st = ag_audit_append(db, &rec, id_out, err);
  if (st == AG_OK) {
    ag_buf_puts(out, "{\"audit_id\":");
    ag_buf_json_cstr(out, id_out);
    ag_buf_putc(out, ',');
    ag_buf_puts(out, text + 1);
  }
  free(text);
done:
  json_decref(stored);
  json_decref(marks);
  json_decref(dec);
  json_decref(root);
  ag_audit_entry_free(e);
  return st;
}

/* ---- reading one record ---- */

void review_put_header(ag_buf *out, const ag_audit_entry *e, const char *status) {
  char t[32];
  ag_audit_format_time(e->time_ms, t);
  ag_buf_puts(out, "{\"audit_id\":");
  ag_buf_json_cstr(out, e->id);
  ag_buf_puts(out, ",\"kind\":");
  ag_buf_json_cstr(out, ag_audit_kind_name(e->kind));
  ag_buf_puts(out, ",\"time\":");
  ag_buf_json_cstr(out, t);
  ag_buf_puts(out, ",\"outcome\":");
  ag_buf_json_cstr(out, e->outcome);
  ag_buf_puts(out, ",\"status\":");
  ag_buf_json_cstr(out, status);
}

/* The record's request as it was stored, or null when it is not a JSON
 * object (the answer is no less valid JSON for it). */
static void put_request(ag_buf *out, const ag_audit_entry *e) {
  json_t *req = json_loadb(e->request, e->request_len, 0, NULL);
  if (json_is_object(req))
    ag_buf_append(out, e->request, e->request_len);
  else
    ag_buf_puts(out, "null");
  json_decref(req);
}

ag_status ag_review_get(ag_audit_db *db, const ag_screen *lists, const char *unavailable,
                        const char *audit_id, ag_buf *out, ag_error *err) {
  ag_audit_entry *e = NULL;
  json_t *dec = NULL;
  ag_status st = ag_audit_get(db, audit_id ? audit_id : "", &e, err);
  if (st == AG_ERR_NOTFOUND || st == AG_ERR_INPUT)
    return ag_error_set(err, AG_ERR_NOTFOUND, "audit_id", "no record with audit id \"%.64s\"",
                        audit_id ? audit_id : "");
  if (st != AG_OK)
    return st;
  if (!review_need(e, &dec).reviewable) {
    st = ag_error_set(err, AG_ERR_INPUT, "audit_id", "record %s is not reviewable", e->id);
    json_decref(dec);
    ag_audit_entry_free(e);
    return st;
  }
  review_set *set;
  review_ref *reviews = NULL;
  size_t n = 0;
  if ((st = review_set_kept(db, &set, err)) != AG_OK ||
      (st = review_set_record(set, e->id, &reviews, &n, err)) != AG_OK) {
    json_decref(dec);
    ag_audit_entry_free(e);
    return st;
  }
  review_put_header(out, e, n ? reviews[n - 1].decision : "open");
  ag_buf_puts(out, ",\"record\":");
  ag_buf_append(out, e->decision, e->decision_len);
  /* a check's answer names each party by name and country only; the
   * address, city and identifiers the reviewer compares with the entry's
   * are in the request */
  ag_buf_puts(out, ",\"request\":");
  put_request(out, e);
  /* the entries the candidates name, beside the answer, which stays as
   * recorded */
  ag_buf_puts(out, ",\"candidate_entries\":");
  review_put_entries(out, e, dec, lists, unavailable);
  ag_buf_puts(out, ",\"reviews\":[");
  for (size_t i = 0; i < n && st == AG_OK; i++) {
    ag_audit_entry *rv = NULL;
    if ((st = ag_audit_get(db, reviews[i].id, &rv, err)) != AG_OK)
      break;
    if (i)
      ag_buf_putc(out, ',');
    char t[32];
    ag_audit_format_time(rv->time_ms, t);
    ag_buf_puts(out, "{\"audit_id\":");
    ag_buf_json_cstr(out, rv->id);
    ag_buf_puts(out, ",\"time\":");
    ag_buf_json_cstr(out, t);
    ag_buf_putc(out, ',');
    ag_buf_append(out, rv->decision + 1, rv->decision_len - 1);
    ag_audit_entry_free(rv);
  }
  ag_buf_puts(out, "]}");
  free(reviews);
  json_decref(dec);
  ag_audit_entry_free(e);
  return st;
}
