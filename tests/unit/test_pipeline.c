/*
 * test_pipeline.c - the request pipeline (acegate/pipeline.h) and the codecs
 * it owns: the screening request decoder (table-driven: every field, type
 * and limit), the caller reference, the one batch line reader and error
 * line, batches recorded in the audit log before they are written, search
 * by ref and by party, the default database path, and input files that are
 * not regular files.
 *
 * Expected outcomes come from the regulation and the contract (docs/api.md),
 * never from the program's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/pipeline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the screening codec ---- */

typedef struct {
  const char *json;
  ag_status st;
  const char *field; /* NULL: any */
} screening_case;

static void test_screening_decode_table(void **state) {
  (void)state;
  static const screening_case cases[] = {
      {"{\"name\":\"Huawei\"}", AG_OK, NULL},
      {"{\"name\":\"Huawei\",\"country\":null}", AG_OK, NULL},
      {"{\"name\":\"Huawei\",\"country\":\"cn\",\"max_matches\":3,\"min_score\":0.8,\"ref\":\"r\"}",
       AG_OK, NULL},
      {"{\"name\":\"Huawei\",\"min_score\":1}", AG_OK, NULL},
      /* the service refused "" while the command line read it as no country */
      {"{\"name\":\"Huawei\",\"country\":\"\"}", AG_ERR_INPUT, "country"},
      {"{\"name\":\"Huawei\",\"country\":5}", AG_ERR_INPUT, "country"},
      {"{\"name\":\"\"}", AG_ERR_INPUT, "name"},
      {"{\"name\":7}", AG_ERR_INPUT, "name"},
      {"{\"country\":\"CN\"}", AG_ERR_INPUT, "name"},
      {"{\"name\":\"a\",\"countrY\":\"CN\"}", AG_ERR_INPUT, "countrY"},
      {"{\"name\":\"a\",\"name\":\"b\"}", AG_ERR_INPUT, "name"},
      {"{\"name\":\"a\",\"max_matches\":0}", AG_ERR_INPUT, "max_matches"},
      {"{\"name\":\"a\",\"max_matches\":1.5}", AG_ERR_INPUT, "max_matches"},
      {"{\"name\":\"a\",\"max_matches\":51}", AG_ERR_INPUT, "max_matches"},
      {"{\"name\":\"a\",\"max_matches\":\"3\"}", AG_ERR_INPUT, "max_matches"},
      {"{\"name\":\"a\",\"min_score\":0}", AG_ERR_INPUT, "min_score"},
      {"{\"name\":\"a\",\"min_score\":1.01}", AG_ERR_INPUT, "min_score"},
      {"{\"name\":\"a\",\"ref\":\"\"}", AG_ERR_INPUT, "ref"},
      {"{\"name\":\"a\",\"ref\":1}", AG_ERR_INPUT, "ref"},
      {"{\"name\":\"a\",\"ref\":\"a\\u0007b\"}", AG_ERR_INPUT, "ref"},
      {"[\"a\"]", AG_ERR_INPUT, ""},
      {"", AG_ERR_INPUT, ""},
      {"{\"name\":\"a\"} x", AG_ERR_INPUT, ""},
      {"{\"name\":\"a\",}", AG_ERR_INPUT, ""},
  };
  ag_arena arena;
  ag_arena_init(&arena, 1024);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ag_screening q;
    ag_error err;
    ag_error_clear(&err);
    ag_status st = ag_json_decode_screening(cases[i].json, strlen(cases[i].json), &q, &arena, &err);
    if (st != cases[i].st)
      fail_msg("case %zu %s: status %d, wanted %d (%s: %s)", i, cases[i].json, st, cases[i].st,
               err.field, err.reason);
    if (cases[i].field && strcmp(err.field, cases[i].field) != 0)
      fail_msg("case %zu %s: field '%s', wanted '%s'", i, cases[i].json, err.field,
               cases[i].field);
  }
  ag_screening q;
  ag_error err;
  const char *ok = "{\"name\":\"Huawei \\u00e9\",\"country\":\"cn\",\"max_matches\":3,"
                   "\"min_score\":0.8,\"ref\":\"PO-1\"}";
  assert_int_equal(ag_json_decode_screening(ok, strlen(ok), &q, &arena, &err), AG_OK);
  assert_string_equal(q.name, "Huawei \xc3\xa9");
  assert_int_equal(q.name_len, 9);
  assert_string_equal(q.country, "cn");
  assert_int_equal(q.max_matches, 3);
  assert_true(q.min_score == 0.8);
  assert_string_equal(q.ref, "PO-1");
  ag_arena_free(&arena);
}

/* ref: at most 128 characters (not bytes), in checks and screenings */
static void test_ref_limits(void **state) {
  (void)state;
  ag_error err;
  char s[AG_JSON_REF_BYTES + 8];
  memset(s, 'x', 128);
  assert_int_equal(ag_json_check_ref(s, 128, &err), AG_OK);
  memset(s, 'x', 129);
  assert_int_equal(ag_json_check_ref(s, 129, &err), AG_ERR_LIMIT);
  assert_string_equal(err.field, "ref");
  for (int i = 0; i < 128; i++) /* 128 two-byte characters */
    memcpy(s + 2 * i, "\xc3\xa9", 2);
  assert_int_equal(ag_json_check_ref(s, 256, &err), AG_OK);
  assert_int_equal(ag_json_check_ref("\xc3", 1, &err), AG_ERR_INPUT);
  assert_int_equal(ag_json_check_ref("", 0, &err), AG_ERR_INPUT);

  ag_arena arena;
  ag_arena_init(&arena, 1024);
  ag_txn txn;
  char ref[AG_JSON_REF_BYTES + 1];
  const char *t = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"ref\":\"SO-77\"}";
  assert_int_equal(ag_json_decode_check(t, strlen(t), &txn, ref, &arena, &err), AG_OK);
  assert_string_equal(ref, "SO-77");
  /* the plain transaction decoder knows no ref: strict, unknown field */
  assert_int_equal(ag_json_decode_txn(t, strlen(t), &txn, &arena, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "ref");
  char big[400];
  int n = snprintf(big, sizeof big, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"ref\":\"");
  memset(big + n, 'y', 129);
  snprintf(big + n + 129, sizeof big - (size_t)n - 129, "\"}");
  assert_int_equal(ag_json_decode_check(big, strlen(big), &txn, ref, &arena, &err), AG_ERR_LIMIT);
  assert_string_equal(err.field, "ref");
  ag_arena_free(&arena);
}

/* ---- the pipeline over the built-in tables and lists ---- */

typedef struct {
  ag_rules *rules;
  ag_screen *lists;
  char lists_version[AG_PIPELINE_LISTS_VERSION_MAX];
  ag_pipeline_data data;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  ag_error err;
  if (!f || ag_rules_load_default(&f->rules, &err) != AG_OK ||
      ag_screen_open_builtin(&f->lists, &err) != AG_OK)
    return -1;
  ag_pipeline_lists_version(f->lists, f->lists_version, sizeof f->lists_version);
  f->data = (ag_pipeline_data){.rules = f->rules, .lists = f->lists, .lists_version = f->lists_version};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ag_screen_close(f->lists);
  ag_rules_free(f->rules);
  free(f);
  return 0;
}

static json_t *parse(const char *p, size_t n) {
  json_error_t je;
  json_t *v = json_loadb(p, n, 0, &je);
  if (!v)
    fail_msg("not JSON: %s: %.*s", je.text, (int)n, p);
  return v;
}

static void test_check_answer_and_record(void **state) {
  fixture *f = *state;
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  ag_buf out;
  ag_buf_init(&out);
  ag_buf_puts(&out, "prefix"); /* the answer is appended: off counts */
  ag_pipeline_result res;
  /* 740.22(c)(1)(ii): no ACE to a government end user in D:1 (CN) */
  const char *t = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"as_of\":\"2026-03-02\","
                  "\"end_user\":{\"type\":\"government\"},\"ref\":\"PO-9\"}";
  assert_int_equal(ag_pipeline_check(&f->data, w, t, strlen(t), &out, &res), AG_OK);
  assert_int_equal(res.off, 6);
  json_t *d = parse(out.data + res.off, res.len);
  assert_string_equal(json_string_value(json_object_get(d, "outcome")), "LICENSE_REQUIRED");
  assert_string_equal(json_string_value(json_object_get(d, "decided_by")), "740.22(c)(1)(ii)");
  assert_string_equal(json_string_value(json_object_get(d, "ref")), "PO-9");
  assert_string_equal(json_string_value(json_object_get(d, "rules_version")), f->rules->version);
  assert_string_equal(json_string_value(json_object_get(d, "lists_version")), f->lists_version);
  json_decref(d);
  assert_string_equal(res.outcome, "LICENSE_REQUIRED");
  assert_string_equal(res.as_of, "2026-03-02");
  assert_string_equal(res.destination, "CN");
  assert_string_equal(res.eccn, "4D004");
  ag_audit_record rec;
  ag_pipeline_record(&f->data, &res, t, strlen(t), out.data + res.off, "k1", "10.0.0.1", &rec);
  assert_int_equal(rec.kind, AG_AUDIT_CHECK);
  assert_int_equal(rec.request_len, strlen(t));
  assert_int_equal(rec.decision_len, res.len);
  assert_string_equal(rec.lists_version, f->lists_version);
  assert_string_equal(rec.outcome, "LICENSE_REQUIRED");
  assert_string_equal(rec.key_id, "k1");

  /* a bad transaction: the error names the field, nothing is appended */
  size_t before = out.len;
  const char *bad = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"XX\"}";
  assert_int_equal(ag_pipeline_check(&f->data, w, bad, strlen(bad), &out, &res), AG_ERR_INPUT);
  assert_string_equal(res.err.field, "destination");
  assert_int_equal(out.len, before);
  ag_buf_free(&out);
  ag_pipeline_worker_free(w);
}

static void test_screening_answer(void **state) {
  fixture *f = *state;
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  ag_buf out;
  ag_buf_init(&out);
  ag_pipeline_result res;
  /* NSO Group is on the Entity List (86 FR 60760) under that very name */
  const char *q = "{\"name\":\"NSO Group\",\"country\":\"il\",\"ref\":\"C-1\"}";
  assert_int_equal(ag_pipeline_screening(&f->data, w, q, strlen(q), &out, &res), AG_OK);
  json_t *d = parse(out.data + res.off, res.len);
  assert_string_equal(json_string_value(json_object_get(d, "outcome")), "CONFIDENT_MATCH");
  assert_string_equal(json_string_value(json_object_get(d, "country")), "IL");
  assert_string_equal(json_string_value(json_object_get(d, "ref")), "C-1");
  assert_string_equal(json_string_value(json_object_get(d, "rules_version")), f->rules->version);
  assert_string_equal(json_string_value(json_object_get(d, "lists_version")), f->lists_version);
  json_t *m0 = json_array_get(json_object_get(d, "matches"), 0);
  assert_string_equal(json_string_value(json_object_get(m0, "list_code")), "EL");
  json_decref(d);
  assert_int_equal(res.kind, AG_AUDIT_SCREENING);
  assert_string_equal(res.outcome, "CONFIDENT_MATCH");
  /* without lists a screening is refused, never answered "no match" */
  ag_pipeline_data none = {.rules = f->rules};
  assert_int_equal(ag_pipeline_screening(&none, w, q, strlen(q), &out, &res), AG_ERR_NOTFOUND);
  assert_string_equal(res.err.field, "lists");
  ag_buf_free(&out);
  ag_pipeline_worker_free(w);
}

/* ---- a check from a classification record ---- */

/* item.classification_id needs the log the record is in: without one the
 * check is refused naming the field, never decided without an ECCN; with a
 * log, the record's paragraph becomes the item (4D004: a C2 framework's
 * answers, as tests/classify/c2-framework.json). */
static void test_check_from_classification(void **state) {
  fixture *f = *state;
  ag_classify *q = NULL;
  ag_audit_db *db = NULL;
  ag_error err;
  assert_int_equal(ag_classify_load_default(f->rules, &q, &err), AG_OK);
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &err), AG_OK);
  ag_pipeline_data d = f->data;
  d.classify = q;
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  ag_buf out;
  ag_buf_init(&out);
  ag_pipeline_result res;
  const char *cls = "{\"answers\":{\"A1\":false,\"A2\":false,\"KA\":false,\"KD\":true,"
                    "\"KE\":false,\"ISX1\":false,\"ISX2\":false,\"ISX3\":false,\"IS1\":true,"
                    "\"IS2a\":true,\"IS3a\":true,\"4D004-2\":true,\"4D004-X\":false,"
                    "\"4D001a-1b\":false},\"as_of\":\"2026-08-01\"}";
  assert_int_equal(ag_pipeline_classification(&d, w, cls, strlen(cls), &out, &res), AG_OK);
  assert_string_equal(res.outcome, "classified");
  assert_string_equal(res.eccn, "4D004");
  ag_audit_record rec;
  char id[AG_AUDIT_ID_MAX];
  ag_pipeline_record(&d, &res, cls, strlen(cls), out.data + res.off, "", "", &rec);
  assert_int_equal(ag_audit_append(db, &rec, id, &err), AG_OK);

  char txn[256];
  snprintf(txn, sizeof txn,
           "{\"item\":{\"classification_id\":\"%s\"},\"destination\":\"DE\","
           "\"as_of\":\"2026-08-01\"}",
           id);
  assert_int_equal(ag_pipeline_check(&d, w, txn, strlen(txn), &out, &res), AG_ERR_INPUT);
  assert_string_equal(res.err.field, "item.classification_id");
  assert_non_null(strstr(res.err.reason, "audit log"));
  d.audit = db;
  assert_int_equal(ag_pipeline_check(&d, w, txn, strlen(txn), &out, &res), AG_OK);
  assert_string_equal(res.eccn, "4D004");
  const ag_decision *dec = ag_pipeline_last_decision(w);
  assert_int_equal(dec->steps[1].kind, AG_STEP_CLASSIFICATION);
  assert_string_equal(dec->txn->classification->audit_id, id);
  /* the worker's next check without a classification cites none */
  const char *plain = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\"}";
  assert_int_equal(ag_pipeline_check(&d, w, plain, strlen(plain), &out, &res), AG_OK);
  assert_null(ag_pipeline_last_decision(w)->txn->classification);
  assert_int_not_equal(ag_pipeline_last_decision(w)->steps[1].kind, AG_STEP_CLASSIFICATION);
  ag_buf_free(&out);
  ag_pipeline_worker_free(w);
  ag_audit_close(db);
  ag_classify_free(q);
}

/* ---- classifications ---- */

static void test_classification(void **state) {
  fixture *f = *state;
  ag_classify *q = NULL;
  ag_error err;
  assert_int_equal(ag_classify_load_default(f->rules, &q, &err), AG_OK);
  ag_pipeline_data d = f->data;
  d.classify = q;
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  ag_buf out;
  ag_buf_init(&out);
  ag_pipeline_result res;
  /* Note 1 to the 772.1 definition of "intrusion software": a debugger
   * (ISX1 yes) is not intrusion software, so 4D004 and 4A005 are out. */
  const char *dbg = "{\"answers\":{\"A1\":false,\"A2\":false,\"ISX1\":true},"
                    "\"as_of\":\"2026-08-01\",\"ref\":\"R-2\"}";
  assert_int_equal(ag_pipeline_classification(&d, w, dbg, strlen(dbg), &out, &res), AG_OK);
  assert_int_equal(res.kind, AG_AUDIT_CLASSIFICATION);
  assert_string_equal(res.as_of, "2026-08-01");
  assert_string_equal(res.ref, "R-2");
  json_t *j = parse(out.data + res.off, res.len);
  assert_string_equal(json_string_value(json_object_get(j, "ref")), "R-2");
  assert_string_equal(json_string_value(json_object_get(j, "rules_version")), f->rules->version);
  assert_string_equal(json_string_value(json_object_get(j, "status")), res.outcome);
  json_decref(j);
  /* the record carries the kind and the search columns */
  ag_audit_record rec;
  ag_pipeline_record(&d, &res, dbg, strlen(dbg), out.data + res.off, "", "", &rec);
  assert_int_equal(rec.kind, AG_AUDIT_CLASSIFICATION);
  assert_string_equal(rec.outcome, res.outcome);
  /* errors name the field as a JSON path */
  static const char *const bad[][2] = {
      {"{\"answers\":{\"IS1\":\"yes\"}}", "answers.IS1"},
      {"{\"answers\":{\"NOPE\":true}}", "answers.NOPE"},
      {"{\"answers\":7}", "answers"},
      {"{\"as_of\":\"2026-08-01\"}", "answers"},
      {"{\"answers\":{},\"as_of\":\"2026-02-30\"}", "as_of"},
      {"{\"answers\":{},\"item\":1}", "item"},
      {"[1]", ""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(ag_pipeline_classification(&d, w, bad[i][0], strlen(bad[i][0]), &out, &res),
                     AG_ERR_INPUT);
    assert_string_equal(res.err.field, bad[i][1]);
  }
  /* without a questionnaire a classification is refused */
  assert_int_equal(ag_pipeline_classification(&f->data, w, dbg, strlen(dbg), &out, &res),
                   AG_ERR_NOTFOUND);
  ag_buf_free(&out);
  ag_pipeline_worker_free(w);
  ag_classify_free(q);
}

/* ---- the batch line reader ---- */

static void test_line_reader(void **state) {
  (void)state;
  size_t big = AG_JSON_MAX_REQUEST + 10;
  size_t total = big + 64;
  char *text = malloc(total);
  size_t n = (size_t)snprintf(text, total, "a\r\n\n  \t\nb\n");
  memset(text + n, 'z', big);
  n += big;
  n += (size_t)snprintf(text + n, total - n, "\nlast");
  FILE *in = fmemopen(text, n, "r");
  ag_pipeline_line l = {0};
  long lineno = 0;
  assert_true(ag_pipeline_read_line(in, &lineno, &l));
  assert_int_equal(l.number, 1);
  assert_int_equal(l.len, 1); /* "\r" dropped */
  assert_false(l.too_long);
  assert_true(ag_pipeline_read_line(in, &lineno, &l));
  assert_int_equal(l.number, 4); /* blank lines 2 and 3 counted */
  assert_memory_equal(l.text, "b", 1);
  assert_true(ag_pipeline_read_line(in, &lineno, &l));
  assert_int_equal(l.number, 5);
  assert_true(l.too_long);
  assert_true(l.cap <= AG_JSON_MAX_REQUEST * 2 + 2); /* memory stays bounded */
  assert_true(ag_pipeline_read_line(in, &lineno, &l));
  assert_int_equal(l.number, 6);
  assert_int_equal(l.len, 4); /* a last line without its newline */
  assert_false(ag_pipeline_read_line(in, &lineno, &l));
  ag_pipeline_line_free(&l);
  fclose(in);
  free(text);
}

/* ---- batches, recorded ---- */

static char *run_batch(fixture *f, ag_audit_kind kind, ag_audit_db *db, const char *input,
                       ag_pipeline_batch_stats *stats) {
  FILE *in = fmemopen((void *)input, strlen(input), "r");
  char *outp = NULL;
  size_t outn = 0;
  FILE *out = open_memstream(&outp, &outn);
  ag_pipeline_batch_options o = {.kind = kind, .db = db, .threads = 2};
  ag_error err;
  assert_int_equal(ag_pipeline_batch(&f->data, &o, in, out, stats, &err), AG_OK);
  fclose(in);
  fclose(out);
  return outp;
}

static json_t *line_json(const char *text, int k) {
  const char *p = text;
  for (int i = 0; i < k && p; i++)
    p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
  assert_non_null(p);
  return parse(p, (size_t)(strchr(p, '\n') - p));
}

static void test_batch_recorded_and_error_lines(void **state) {
  fixture *f = *state;
  ag_audit_db *db;
  ag_error err;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &err), AG_OK);
  ag_pipeline_batch_stats st;
  /* 740.22(c)(1)(iii): no ACE to a non-government end user in D:1 or D:5 (VE) */
  char *out = run_batch(f, AG_AUDIT_CHECK, db,
                        "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\",\"ref\":\"L1\"}\n"
                        "not json\n"
                        "\n"
                        "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\",\"ref\":\"L4\"}\n",
                        &st);
  assert_int_equal(st.lines, 3);
  assert_int_equal(st.decided, 2);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(st.outcomes[AG_OUTCOME_LICENSE_REQUIRED], 2);
  json_t *l1 = line_json(out, 0), *l2 = line_json(out, 1), *l3 = line_json(out, 2);
  const char *id1 = json_string_value(json_object_get(l1, "audit_id"));
  assert_non_null(id1);
  assert_string_equal(json_string_value(json_object_get(l1, "ref")), "L1");
  assert_int_equal(json_integer_value(json_object_get(l2, "line")), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(l2, "error"), "code")), "invalid_input");
  assert_true(json_is_null(json_object_get(json_object_get(l2, "error"), "field")));
  assert_string_equal(json_string_value(json_object_get(l3, "ref")), "L4");
  /* the record holds the line as given and the answer without its audit id */
  ag_audit_entry *e;
  assert_int_equal(ag_audit_get(db, id1, &e, &err), AG_OK);
  assert_string_equal(e->request, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\",\"ref\":\"L1\"}");
  json_t *stored = parse(e->decision, e->decision_len);
  json_object_del(l1, "audit_id");
  assert_true(json_equal(stored, l1));
  assert_string_equal(e->outcome, "LICENSE_REQUIRED");
  assert_string_equal(e->destination, "VE");
  json_decref(stored);
  ag_audit_entry_free(e);
  json_decref(l1);
  json_decref(l2);
  json_decref(l3);
  free(out);

  /* a screening batch: the same error line for the same bad line */
  out = run_batch(f, AG_AUDIT_SCREENING, db, "{\"name\":\"NSO Group\",\"ref\":\"L1\"}\nnot json\n",
                  &st);
  assert_int_equal(st.decided, 1);
  json_t *s2 = line_json(out, 1);
  assert_int_equal(json_integer_value(json_object_get(s2, "line")), 2);
  json_decref(s2);
  free(out);

  /* search by ref: both kinds, in chain order */
  ag_audit_query q = {.ref = "L1"};
  ag_audit_page page;
  assert_int_equal(ag_audit_search(db, &q, &page, &err), AG_OK);
  assert_int_equal(page.count, 2);
  assert_int_equal(page.entries[0]->kind, AG_AUDIT_CHECK);
  assert_int_equal(page.entries[1]->kind, AG_AUDIT_SCREENING);
  ag_audit_page_free(&page);
  q.kind = AG_AUDIT_SCREENING;
  assert_int_equal(ag_audit_search(db, &q, &page, &err), AG_OK);
  assert_int_equal(page.count, 1);
  ag_audit_page_free(&page);
  ag_audit_close(db);
}

/* A batch of several chunks (answered while the chunk before is recorded):
 * every answer is written in input order, each under the record of its own
 * line, and the records follow the input in chain order
 * (15 CFR 762.2: each determination is recorded, none is lost). */
static void test_batch_chunks_in_input_order(void **state) {
  fixture *f = *state;
  enum { LINES = 1300, BAD_EVERY = 97 }; /* three chunks of 512 lines */
  ag_audit_db *db;
  ag_error err;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &err), AG_OK);
  ag_buf in;
  ag_buf_init(&in);
  for (int i = 1; i <= LINES; i++)
    if (i % BAD_EVERY == 0)
      ag_buf_puts(&in, "not json\n");
    else /* 740.22(c)(1)(iii): no ACE to a non-government end user in D:1 or D:5 (VE) */
      ag_buf_printf(&in, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\",\"ref\":\"L%d\"}\n",
                    i);
  assert_false(in.failed);
  ag_buf_putc(&in, '\0');
  ag_pipeline_batch_stats st;
  char *out = run_batch(f, AG_AUDIT_CHECK, db, in.data, &st);
  assert_int_equal(st.lines, LINES);
  assert_int_equal(st.rejected, LINES / BAD_EVERY);
  assert_int_equal(st.decided, LINES - LINES / BAD_EVERY);
  const char *p = out, *line = in.data;
  int64_t last_seq = 0;
  for (int i = 1; i <= LINES; i++) {
    const char *eol = strchr(p, '\n'), *in_eol = strchr(line, '\n');
    assert_non_null(eol);
    json_t *a = parse(p, (size_t)(eol - p));
    if (i % BAD_EVERY == 0) {
      assert_int_equal(json_integer_value(json_object_get(a, "line")), i);
    } else {
      char ref[16];
      snprintf(ref, sizeof ref, "L%d", i);
      assert_string_equal(json_string_value(json_object_get(a, "ref")), ref);
      assert_string_equal(json_string_value(json_object_get(a, "outcome")), "LICENSE_REQUIRED");
      ag_audit_entry *e;
      assert_int_equal(
          ag_audit_get(db, json_string_value(json_object_get(a, "audit_id")), &e, &err), AG_OK);
      assert_int_equal(e->request_len, (size_t)(in_eol - line));
      assert_memory_equal(e->request, line, e->request_len);
      assert_int_equal(e->seq, last_seq + 1);
      last_seq = e->seq;
      ag_audit_entry_free(e);
    }
    json_decref(a);
    p = eol + 1;
    line = in_eol + 1;
  }
  assert_int_equal(*p, '\0');
  ag_audit_verify_report rep;
  assert_int_equal(ag_audit_verify(db, NULL, &rep, &err), AG_OK);
  assert_int_equal(rep.problem, AG_AUDIT_INTACT);
  assert_int_equal(rep.records, LINES - LINES / BAD_EVERY);
  free(out);
  ag_buf_free(&in);
  ag_audit_close(db);
}

/* A batch remembers the screenings of names it has seen: each answer must
 * be the one a check on its own gives, for the same name under another
 * country (country evidence changes the score), another date, another
 * name, and the same name again. */
static void test_batch_remembered_screenings_answer_alike(void **state) {
  fixture *f = *state;
  static const char *const lines[] = {
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"IL\",\"as_of\":\"2026-03-02\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"NSO Group\"}}",
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"as_of\":\"2026-03-02\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"NSO Group\"}}",
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"IL\",\"as_of\":\"2021-01-04\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"NSO Group\"}}",
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"as_of\":\"2026-03-02\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"Blue Harbor Logistics\"}}",
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"IL\",\"as_of\":\"2026-03-02\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"NSO Group\"}}",
      "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"as_of\":\"2026-03-02\","
      "\"end_user\":{\"type\":\"non_government\",\"name\":\"NSO Group\",\"country\":\"IL\"}}",
  };
  enum { N = sizeof lines / sizeof lines[0] };
  ag_buf input;
  ag_buf_init(&input);
  /* twice over, so each worker of the two meets every name again */
  for (int rep = 0; rep < 2; rep++)
    for (int i = 0; i < N; i++) {
      ag_buf_puts(&input, lines[i]);
      ag_buf_putc(&input, '\n');
    }
  ag_buf_putc(&input, '\0'); /* run_batch takes a string */
  ag_pipeline_batch_stats st;
  char *out = run_batch(f, AG_AUDIT_CHECK, NULL, input.data, &st);
  assert_int_equal(st.decided, 2 * N);
  double score[N];
  for (int k = 0; k < 2 * N; k++) {
    ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
    ag_buf one;
    ag_buf_init(&one);
    ag_pipeline_result res;
    const char *t = lines[k % N];
    assert_int_equal(ag_pipeline_check(&f->data, w, t, strlen(t), &one, &res), AG_OK);
    json_t *alone = parse(one.data + res.off, res.len), *batched = line_json(out, k);
    if (!json_equal(alone, batched)) {
      char *a = json_dumps(alone, JSON_COMPACT), *b = json_dumps(batched, JSON_COMPACT);
      print_error("alone:   %s\nbatched: %s\n", a, b);
      free(a);
      free(b);
      fail_msg("line %d differs from its check alone", k + 1);
    }
    json_t *m = json_array_get(json_object_get(json_array_get(json_object_get(batched,
                                                                             "screening"),
                                                              0),
                                               "matches"),
                               0);
    score[k % N] = m ? json_real_value(json_object_get(m, "score")) : 0;
    json_decref(alone);
    json_decref(batched);
    ag_buf_free(&one);
    ag_pipeline_worker_free(w);
  }
  /* NSO Group is on the Entity List (86 FR 60760); the party in Israel
   * scores higher than the same name in Germany */
  assert_true(score[0] > 0 && score[1] > 0);
  assert_true(score[0] > score[1]);
  free(out);
  ag_buf_free(&input);
}

/* Every line of a chunk is recorded before any is written: with a log that
 * cannot be written, nothing is written at all. */
static void test_batch_unrecorded_is_not_written(void **state) {
  fixture *f = *state;
  char dir[] = "/tmp/ag-pipeline-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/ro.db", dir);
  ag_audit_db *db;
  ag_error err;
  assert_int_equal(ag_audit_open(path, NULL, &db, &err), AG_OK);
  ag_audit_close(db);
  ag_audit_options ro = {.flags = AG_AUDIT_OPEN_READONLY};
  assert_int_equal(ag_audit_open(path, &ro, &db, &err), AG_OK);
  const char *input = "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\"}\n";
  FILE *in = fmemopen((void *)input, strlen(input), "r");
  char *outp = NULL;
  size_t outn = 0;
  FILE *out = open_memstream(&outp, &outn);
  ag_pipeline_batch_options o = {.kind = AG_AUDIT_CHECK, .db = db};
  ag_pipeline_batch_stats st;
  assert_int_not_equal(ag_pipeline_batch(&f->data, &o, in, out, &st, &err), AG_OK);
  fclose(in);
  fclose(out);
  assert_int_equal(outn, 0);
  free(outp);
  ag_audit_close(db);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* ---- search by party ---- */

static void test_party_search(void **state) {
  fixture *f = *state;
  ag_audit_db *db;
  ag_error err;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &err), AG_OK);
  ag_pipeline_batch_stats st;
  char *out = run_batch(
      f, AG_AUDIT_CHECK, db,
      "{\"item\":{\"eccn\":\"5A001.j\"},\"destination\":\"DE\",\"consignee\":{\"name\":\"Saito "
      "Tech Ltd.\"}}\n"
      "{\"item\":{\"eccn\":\"5A001.j\"},\"destination\":\"DE\",\"end_user\":{\"name\":\"Other "
      "GmbH\"}}\n"
      "{\"item\":{\"eccn\":\"5A001.j\"},\"destination\":\"DE\",\"purchaser\":{\"name\":\"SAITO "
      "TECHNOLOGY LIMITED\"}}\n",
      &st);
  free(out);
  out = run_batch(f, AG_AUDIT_SCREENING, db, "{\"name\":\"saito  tech, ltd\"}\n", &st);
  free(out);
  ag_pipeline_party_filter *pf;
  assert_int_equal(ag_pipeline_party_filter_new("Saito Tech Ltd", &pf, &err), AG_OK);
  ag_audit_query q = {.limit = 2};
  ag_pipeline_party_filter_apply(pf, &q);
  ag_audit_page page;
  assert_int_equal(ag_audit_search(db, &q, &page, &err), AG_OK);
  assert_int_equal(page.count, 2); /* records 1 and 3, then a next page */
  assert_int_equal(page.entries[0]->seq, 1);
  assert_int_equal(page.entries[1]->seq, 3);
  assert_true(page.next_cursor[0]);
  char cursor[AG_AUDIT_CURSOR_MAX];
  snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
  ag_audit_page_free(&page);
  q.cursor = cursor;
  assert_int_equal(ag_audit_search(db, &q, &page, &err), AG_OK);
  assert_int_equal(page.count, 1);
  assert_int_equal(page.entries[0]->seq, 4);
  assert_int_equal(page.entries[0]->kind, AG_AUDIT_SCREENING);
  assert_false(page.next_cursor[0]);
  ag_audit_page_free(&page);
  ag_pipeline_party_filter_free(pf);
  /* part of a name is not the party */
  assert_int_equal(ag_pipeline_party_filter_new("Saito", &pf, &err), AG_OK);
  ag_audit_query q2 = {0};
  ag_pipeline_party_filter_apply(pf, &q2);
  assert_int_equal(ag_audit_search(db, &q2, &page, &err), AG_OK);
  assert_int_equal(page.count, 0);
  ag_audit_page_free(&page);
  ag_pipeline_party_filter_free(pf);
  assert_int_equal(ag_pipeline_party_filter_new("", &pf, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "party");
  ag_audit_close(db);
}

/* ---- paths and files ---- */

static void test_default_db_path(void **state) {
  (void)state;
  char out[512];
  ag_error err;
  setenv("HOME", "/home/u", 1);
  unsetenv("ACEGATE_DB");
  unsetenv("XDG_STATE_HOME");
  assert_int_equal(ag_audit_default_path(out, sizeof out, &err), AG_OK);
  assert_string_equal(out, "/home/u/.local/state/acegate/audit.db");
  setenv("XDG_STATE_HOME", "/var/lib/x", 1);
  assert_int_equal(ag_audit_default_path(out, sizeof out, &err), AG_OK);
  assert_string_equal(out, "/var/lib/x/acegate/audit.db");
  setenv("XDG_STATE_HOME", "relative", 1); /* not absolute: ignored (XDG) */
  assert_int_equal(ag_audit_default_path(out, sizeof out, &err), AG_OK);
  assert_string_equal(out, "/home/u/.local/state/acegate/audit.db");
  setenv("ACEGATE_DB", "/srv/log.db", 1);
  assert_int_equal(ag_audit_default_path(out, sizeof out, &err), AG_OK);
  assert_string_equal(out, "/srv/log.db");
  unsetenv("ACEGATE_DB");
  unsetenv("HOME");
  unsetenv("XDG_STATE_HOME");
  assert_int_equal(ag_audit_default_path(out, sizeof out, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "db");

  char dir[] = "/tmp/ag-path-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[256];
  snprintf(p, sizeof p, "%s/a/b/audit.db", dir);
  assert_int_equal(ag_audit_prepare_path(p, true, &err), AG_OK);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(p, sizeof p, "%s/a/b", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_file_open_refuses_fifo(void **state) {
  (void)state;
  char dir[] = "/tmp/ag-fifo-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[256];
  snprintf(p, sizeof p, "%s/f", dir);
  assert_int_equal(mkfifo(p, 0600), 0);
  FILE *f = NULL;
  ag_error err;
  /* returns at once: nothing writes to the FIFO */
  assert_int_equal(ag_file_open(p, &f, NULL, &err), AG_ERR_IO);
  assert_null(f);
  assert_string_equal(err.field, p);
  assert_non_null(strstr(err.reason, "FIFO"));
  assert_int_equal(ag_file_open(dir, &f, NULL, &err), AG_ERR_IO);
  assert_non_null(strstr(err.reason, "directory"));
  snprintf(p, sizeof p, "%s/r", dir);
  FILE *w = fopen(p, "w");
  fputs("abc", w);
  fclose(w);
  size_t size = 0;
  assert_int_equal(ag_file_open(p, &f, &size, &err), AG_OK);
  assert_int_equal(size, 3);
  char buf[8];
  assert_int_equal(fread(buf, 1, sizeof buf, f), 3); /* blocking reads again */
  fclose(f);
  snprintf(p, sizeof p, "%s/none", dir);
  assert_int_equal(ag_file_open(p, &f, NULL, &err), AG_ERR_NOTFOUND);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_screening_decode_table),
      cmocka_unit_test(test_ref_limits),
      cmocka_unit_test_setup_teardown(test_check_answer_and_record, setup, teardown),
      cmocka_unit_test_setup_teardown(test_screening_answer, setup, teardown),
      cmocka_unit_test(test_line_reader),
      cmocka_unit_test_setup_teardown(test_batch_recorded_and_error_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_unrecorded_is_not_written, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_chunks_in_input_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_remembered_screenings_answer_alike, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_party_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_classification, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_from_classification, setup, teardown),
      cmocka_unit_test(test_default_db_path),
      cmocka_unit_test(test_file_open_refuses_fifo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
