/*
 * test_decide.c - the engine and the codec beyond the golden cases: every
 * bad transaction is rejected naming its field; screening hits make the
 * outcome stricter as 736.2(b)(4), 744.11 and OFAC require; the trace and
 * the decision JSON carry what an auditor needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/decide.h"
#include "acegate/json.h"
#include "acegate/rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *R;

/* Decodes and decides; returns the status, fills err and d. */
static ag_status run(const char *json, ag_txn *t, ag_decision *d, ag_error *err,
                     ag_arena *arena) {
  ag_error_clear(err);
  ag_status st = ag_json_decode_txn(json, strlen(json), t, arena, err);
  if (!st)
    st = ag_decide(R, t, d, err);
  return st;
}

typedef struct {
  const char *json;
  ag_status status;
  const char *field;
  const char *reason; /* substring */
} bad_case;

static void test_bad_transactions(void **state) {
  (void)state;
  static const bad_case cases[] = {
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\"", AG_ERR_INPUT, "", "malformed JSON"},
      {"", AG_ERR_INPUT, "", "malformed JSON"},
      {"[1,2]", AG_ERR_INPUT, "", "must be a JSON object"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"C\xc3\"}", AG_ERR_INPUT, "", "UTF-8"},
      {"{\"item\":{\"eccn\":4},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.eccn", "string"},
      {"{\"item\":\"4D004\",\"destination\":\"CN\"}", AG_ERR_INPUT, "item", "object"},
      {"{\"destination\":\"CN\"}", AG_ERR_INPUT, "item", "required"},
      {"{\"item\":{\"eccn\":\"4D004\"}}", AG_ERR_INPUT, "destination", "required"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"XX\"}", AG_ERR_INPUT, "destination",
       "not an EAR destination"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"colour\":\"red\"}", AG_ERR_INPUT,
       "colour", "unknown field"},
      {"{\"item\":{\"eccn\":\"4D004\",\"model\":\"x\"},\"destination\":\"CN\"}", AG_ERR_INPUT,
       "item.model", "unknown field"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"type\":\"army\"}}",
       AG_ERR_INPUT, "end_user.type", "not one of"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"kind\":\"x\"}}",
       AG_ERR_INPUT, "end_user.kind", "unknown field"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"transaction\":\"sale\"}",
       AG_ERR_INPUT, "transaction", "not one of"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_use\":\"hacking\"}",
       AG_ERR_INPUT, "end_use", "not one of"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"knows_unauthorized_use\":\"no\"}",
       AG_ERR_INPUT, "knows_unauthorized_use", "true or false"},
      {"{\"as_of\":\"2023-02-30\",\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\"}",
       AG_ERR_INPUT, "as_of", "real calendar date"},
      {"{\"as_of\":\"20230101\",\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\"}",
       AG_ERR_INPUT, "as_of", "YYYY-MM-DD"},
      {"{\"as_of\":\"2023-01-01\",\"as_of\":\"2024-01-01\",\"item\":{\"eccn\":\"4D004\"},"
       "\"destination\":\"CN\"}",
       AG_ERR_INPUT, "as_of", "appears twice"},
      {"{\"item\":{\"eccn\":\"4D4\"},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.eccn",
       "not a CCL paragraph"},
      {"{\"item\":{\"eccn\":\"4D004.q\"},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.eccn",
       "not on the CCL"},
      {"{\"item\":{\"eccn\":\"4A005..q\"},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.eccn",
       "not a CCL paragraph"},
      {"{\"item\":{\"eccn\":\"5a002\"},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.eccn",
       "not a CCL paragraph"},
      {"{\"item\":{\"eccn\":\"EAR99\",\"for\":\"4A005\"},\"destination\":\"CN\"}",
       AG_ERR_INPUT, "item.for", "takes no"},
      {"{\"item\":{\"eccn\":\"4D001.a\"},\"destination\":\"CN\"}", AG_ERR_INPUT, "item.for",
       "required"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"US\"}", AG_ERR_INPUT, "destination",
       "never a destination"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"country\":\"XX\"}}",
       AG_ERR_INPUT, "end_user.country", "neither an EAR destination nor the United States"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"type\":"
       "\"non_government\",\"police_or_judicial\":true}}",
       AG_ERR_INPUT, "end_user.police_or_judicial", "government"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"name\":\"\"}}",
       AG_ERR_INPUT, "end_user.name", "empty"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"name\":\"a\\u0007b\"}}",
       AG_ERR_INPUT, "end_user.name", "control"},
      {"{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"name\":\"a\\u0000b\"}}",
       AG_ERR_INPUT, "", "\\u0000 is not allowed"},
  };
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ag_txn t;
    ag_decision d;
    ag_error err;
    ag_status st = run(cases[i].json, &t, &d, &err, &arena);
    if (st != cases[i].status || strcmp(err.field, cases[i].field) != 0 ||
        !strstr(err.reason, cases[i].reason))
      fail_msg("case %zu %s: got %s '%s: %s'", i, cases[i].json, ag_status_name(st), err.field,
               err.reason);
  }
  ag_arena_free(&arena);
}

static void test_limits(void **state) {
  (void)state;
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_txn t;
  ag_error err;
  /* a name of a megabyte, and a whole request over the limit */
  size_t big = 1 << 20;
  char *json = malloc(big + 128);
  int n = sprintf(json, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"name\":\"");
  memset(json + n, 'a', big);
  strcpy(json + n + big, "\"}}");
  assert_int_equal(ag_json_decode_txn(json, strlen(json), &t, &arena, &err), AG_ERR_LIMIT);
  /* a long name within the request limit but over the name limit */
  n = sprintf(json, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"name\":\"");
  memset(json + n, 'a', AG_JSON_MAX_NAME + 1);
  strcpy(json + n + AG_JSON_MAX_NAME + 1, "\"}}");
  assert_int_equal(ag_json_decode_txn(json, strlen(json), &t, &arena, &err), AG_ERR_LIMIT);
  assert_string_equal(err.field, "end_user.name");
  /* a long destination value is rejected as a bad code, not truncated */
  n = sprintf(json, "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"");
  memset(json + n, 'C', 5000);
  strcpy(json + n + 5000, "\"}");
  assert_int_equal(ag_json_decode_txn(json, strlen(json), &t, &arena, &err), AG_ERR_LIMIT);
  assert_string_equal(err.field, "destination");
  free(json);
  ag_arena_free(&arena);
}

static const char *decide_json(const char *json, ag_decision *d, ag_txn *t, ag_arena *a) {
  ag_error err;
  if (run(json, t, d, &err, a))
    fail_msg("%s: %s", err.field, err.reason);
  return ag_outcome_name(d->outcome);
}

static bool trace_has(const ag_decision *d, ag_step_kind kind, ag_step_result res,
                      const char *cite) {
  for (int i = 0; i < d->n_steps; i++)
    if (d->steps[i].kind == kind && d->steps[i].result == res &&
        (!cite || !strcmp(d->steps[i].cite, cite)))
      return true;
  return false;
}

/* Screening hits supplied by the caller make the outcome stricter. */
static void test_screening_floor(void **state) {
  (void)state;
  ag_arena a;
  ag_arena_init(&a, 4096);
  ag_txn t;
  ag_decision d;
  const char *ok_json = "{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"4D004\"},"
                        "\"destination\":\"DE\",\"end_user\":{\"name\":\"Example GmbH\"}}";
  assert_string_equal(decide_json(ok_json, &d, &t, &a), "LICENSE_EXCEPTION_ACE");

  ag_party_hit el = {.list = AG_LIST_ENTITY, .confident = true, .score = 0.97,
                     .list_name = "Entity List", .source_id = "x1", .matched_name = "NSO Group",
                     .license_requirement = "For all items subject to the EAR.",
                     .license_policy = "Presumption of denial.",
                     .federal_register_notice = "86 FR 60760"};
  ag_error err;
  t.parties[AG_PARTY_END_USER].screened = true;
  t.parties[AG_PARTY_END_USER].n_hits = 1;
  t.parties[AG_PARTY_END_USER].hits[0] = el;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");
  assert_string_equal(d.decided_by, "744.11");
  assert_false(d.ace_available);
  assert_true(trace_has(&d, AG_STEP_SCREENING, AG_RESULT_LICENSE_REQUIRED, "744.11"));
  ag_buf b;
  ag_buf_init(&b);
  for (int i = 0; i < d.n_steps; i++)
    if (d.steps[i].kind == AG_STEP_SCREENING)
      ag_decision_step_text(&d, i, &b);
  assert_non_null(strstr(ag_buf_cstr(&b), "Presumption of denial"));
  assert_non_null(strstr(ag_buf_cstr(&b), "86 FR 60760"));

  /* Denied Persons: PROHIBITED under General Prohibition Four */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_DENIED;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "PROHIBITED");
  assert_string_equal(d.decided_by, "736.2(b)(4)");

  /* SDN: PROHIBITED, the program named in the trace */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_SDN;
  t.parties[AG_PARTY_END_USER].hits[0].programs = "CYBER2";
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "PROHIBITED");
  ag_buf_reset(&b);
  for (int i = 0; i < d.n_steps; i++)
    if (d.steps[i].kind == AG_STEP_SCREENING)
      ag_decision_step_text(&d, i, &b);
  assert_non_null(strstr(ag_buf_cstr(&b), "CYBER2"));

  /* an SDN designation under a program the EAR name (list-meanings.tsv): 744.12 too */
  t.parties[AG_PARTY_END_USER].hits[0].programs = "SDGT] [IRGC";
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "PROHIBITED");
  assert_string_equal(d.decided_by, "31 CFR ch. V App. A; 744.12");

  /* Military End-User List: 744.21 requires a licence; ACE does not overcome it */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_MEU;
  t.parties[AG_PARTY_END_USER].hits[0].programs = NULL;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");
  assert_string_equal(d.decided_by, "744.21");
  assert_false(d.ace_available);
  assert_true(trace_has(&d, AG_STEP_SCREENING, AG_RESULT_LICENSE_REQUIRED, "744.21"));

  /* Unverified List: licence exceptions suspended (744.15), so ACE cannot
   * meet the chart's licence requirement for Germany (NS1 X) */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_UNVERIFIED;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");
  assert_string_equal(d.decided_by, "744.15");
  assert_false(d.ace_available);
  assert_true(trace_has(&d, AG_STEP_SCREENING, AG_RESULT_BLOCKED, "744.15"));
  ag_buf_reset(&b);
  for (int i = 0; i < d.n_steps; i++)
    if (d.steps[i].kind == AG_STEP_SCREENING)
      ag_decision_step_text(&d, i, &b);
  assert_non_null(strstr(ag_buf_cstr(&b), "744.15(b) statement"));

  /* a possible match only: REVIEW, never weaker than the rest of the walk */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_ENTITY;
  t.parties[AG_PARTY_END_USER].hits[0].confident = false;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "REVIEW");

  /* a possible match cannot soften a licence requirement */
  const char *cn = "{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"4D004\"},\"destination\":"
                   "\"CN\",\"end_user\":{\"type\":\"government\",\"name\":\"Bureau\"}}";
  assert_string_equal(decide_json(cn, &d, &t, &a), "LICENSE_REQUIRED");
  t.parties[AG_PARTY_END_USER].screened = true;
  t.parties[AG_PARTY_END_USER].n_hits = 1;
  t.parties[AG_PARTY_END_USER].hits[0] = el;
  t.parties[AG_PARTY_END_USER].hits[0].confident = false;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");

  /* a confident Entity List hit in a no-licence-required destination still needs a licence */
  const char *ca = "{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"4D004\"},\"destination\":"
                   "\"CA\",\"end_user\":{\"name\":\"Example\"}}";
  assert_string_equal(decide_json(ca, &d, &t, &a), "NLR");
  t.parties[AG_PARTY_END_USER].screened = true;
  t.parties[AG_PARTY_END_USER].n_hits = 1;
  t.parties[AG_PARTY_END_USER].hits[0] = el;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");

  /* ... and an Unverified List hit there, where the chart needs no licence,
   * is REVIEW: the 744.15(b) statement must be obtained first */
  t.parties[AG_PARTY_END_USER].hits[0].list = AG_LIST_UNVERIFIED;
  assert_int_equal(ag_decide(R, &t, &d, &err), AG_OK);
  assert_string_equal(ag_outcome_name(d.outcome), "REVIEW");
  assert_string_equal(d.decided_by, "744.15");
  ag_buf_free(&b);
  ag_arena_free(&a);
}

/* The decision JSON is valid JSON with the contract's fields, every step cited. */
static void test_decision_json(void **state) {
  (void)state;
  ag_arena a;
  ag_arena_init(&a, 4096);
  ag_txn t;
  ag_decision d;
  decide_json("{\"as_of\":\"2023-03-01\",\"item\":{\"eccn\":\"4D001.a\",\"for\":\"4A005\"},"
              "\"destination\":\"IL\",\"end_user\":{\"type\":\"government\",\"national_csirt\":"
              "true},\"end_use\":\"cyber_incident_response\"}",
              &d, &t, &a);
  ag_buf b;
  ag_buf_init(&b);
  ag_json_encode_decision(&d, &b);
  json_error_t jerr;
  json_t *j = json_loadb(b.data, b.len, 0, &jerr);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "outcome")), "LICENSE_EXCEPTION_ACE");
  assert_true(json_is_true(json_object_get(json_object_get(j, "ace"), "available")));
  /* 740.22(c)(1)(ii)(B) as amended is a reconstructed row that lifts the
   * restriction ACE would fail on: the decision says so */
  assert_true(json_is_true(json_object_get(json_object_get(j, "ace"), "reconstructed")));
  assert_true(json_is_array(json_object_get(j, "controls")));
  assert_string_equal(json_string_value(json_object_get(j, "rules_version")), R->version);
  json_t *trace = json_object_get(j, "trace");
  assert_true(json_array_size(trace) >= 8);
  size_t i;
  json_t *s;
  json_array_foreach(trace, i, s) {
    assert_true(strlen(json_string_value(json_object_get(s, "cite"))) > 2);
    assert_true(strlen(json_string_value(json_object_get(s, "text"))) > 10);
    assert_non_null(json_string_value(json_object_get(s, "result")));
  }
  json_decref(j);

  /* blocked: the alternatives name the exception that would lift the restriction */
  decide_json("{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"4D004\"},\"destination\":\"VE\"}",
              &d, &t, &a);
  assert_string_equal(ag_outcome_name(d.outcome), "LICENSE_REQUIRED");
  ag_buf_reset(&b);
  for (int k = 0; k < d.n_alternatives; k++)
    ag_decision_alternative_text(&d, k, &b);
  assert_non_null(strstr(ag_buf_cstr(&b), "740.22(c)(1)(iii)(B)"));
  assert_non_null(strstr(ag_buf_cstr(&b), "GOV"));
  ag_buf_free(&b);
  ag_arena_free(&a);
}

/* An item outside 740.22(b)(1) is answered OUT_OF_SCOPE with the pointer
 * outside-scope.tsv gives, never refused: a catalogue batch goes through. */
static void test_out_of_scope(void **state) {
  (void)state;
  static const struct {
    const char *json, *decided_by, *refer_to;
  } cases[] = {
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"5A002\"},\"destination\":\"DE\"}",
       "740.22(b)(1)", "740.17"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"5D002.c.1\"},\"destination\":\"CN\"}",
       "740.22(b)(1)", "740.17"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"5D992.c\"},\"destination\":\"JP\"}",
       "740.22(b)(1)", "740.17"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"EAR99\"},\"destination\":\"JP\"}",
       "740.22(b)(1)", "736.2(b)"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"3A001\"},\"destination\":\"CN\"}",
       "740.22(b)(1)", "738.4"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"5A001.a\"},\"destination\":\"CN\"}",
       "740.22(b)(1)", "738.4"},
      {"{\"as_of\":\"2024-01-10\",\"item\":{\"eccn\":\"4D001.a\",\"for\":\"4A001\"},"
       "\"destination\":\"CN\"}",
       "740.22(b)(1)", "738.4"},
      {"{\"as_of\":\"2026-08-01\",\"item\":{\"eccn\":\"4A005.z.1\"},\"destination\":\"CA\"}",
       "740.2(a)(9)(ii)", "742.6(a)(6)(iii)"},
      {"{\"as_of\":\"2026-08-01\",\"item\":{\"eccn\":\"5A002.z.1.a\"},\"destination\":\"DE\"}",
       "740.2(a)(9)(ii)", "742.6(a)(6)(iii)"},
  };
  ag_arena a;
  ag_arena_init(&a, 4096);
  ag_buf b;
  ag_buf_init(&b);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ag_txn t;
    ag_decision d;
    ag_error err;
    if (run(cases[i].json, &t, &d, &err, &a) != AG_OK)
      fail_msg("%s: %s: %s", cases[i].json, err.field, err.reason);
    assert_string_equal(ag_outcome_name(d.outcome), "OUT_OF_SCOPE");
    assert_string_equal(d.decided_by, cases[i].decided_by);
    assert_null(d.item);
    assert_false(d.chart_read);
    assert_false(d.ace_available);
    assert_int_equal(d.controls, 0);
    assert_true(trace_has(&d, AG_STEP_SCOPE, AG_RESULT_NOT_APPLICABLE, cases[i].decided_by));
    ag_buf_reset(&b);
    ag_json_encode_decision(&d, &b);
    json_error_t jerr;
    json_t *j = json_loadb(b.data, b.len, 0, &jerr);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "license_required_by_chart")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "item"), "eccn")),
                        t.eccn);
    json_decref(j);
    ag_buf_reset(&b);
    ag_decision_step_text(&d, d.n_steps - 1, &b);
    assert_non_null(strstr(ag_buf_cstr(&b), cases[i].refer_to));
  }
  ag_buf_free(&b);
  ag_arena_free(&a);
}

static void test_error_json(void **state) {
  (void)state;
  ag_error err;
  ag_error_set(&err, AG_ERR_INPUT, "destination", "\"XX\" is not an EAR destination");
  ag_buf b;
  ag_buf_init(&b);
  ag_json_encode_error(&err, &b);
  json_error_t jerr;
  json_t *j = json_loadb(b.data, b.len, 0, &jerr);
  assert_non_null(j);
  json_t *e = json_object_get(j, "error");
  assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid_input");
  assert_string_equal(json_string_value(json_object_get(e, "field")), "destination");
  assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "not an EAR"));
  json_decref(j);
  ag_buf_free(&b);
}

int main(void) {
  ag_error err;
  if (ag_rules_load_default(&R, &err)) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_transactions), cmocka_unit_test(test_limits),
      cmocka_unit_test(test_screening_floor),  cmocka_unit_test(test_decision_json),
      cmocka_unit_test(test_out_of_scope),
      cmocka_unit_test(test_error_json),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ag_rules_free(R);
  return rc;
}
