/*
 * test_due_diligence.c - the "due_diligence" field of a check: every
 * rejection names the field (due_diligence.answers.ID, .resolved.ID) and
 * says why, whether the decoder finds it (types, spelling, limits,
 * duplicates, a resolution of an unanswered question) or the engine does
 * against due-diligence.tsv (unknown id, a question not asked on the date,
 * a resolution of an answer that raises nothing); and the effects the
 * regulation gives the answers (docs/due-diligence.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/decide.h"
#include "acegate/diligence.h"
#include "acegate/json.h"
#include "acegate/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *rules;
static ag_arena arena; /* the decoded transaction's, reset per run */
static ag_txn txn;     /* the decision points into it */

/* Decodes and decides {"as_of":..., "item":4D004, "destination":BR, "due_diligence": dd}. */
static ag_status run(const char *dd, const char *as_of, ag_decision *d, ag_error *err,
                     const ag_policy *policy) {
  char json[8192];
  snprintf(json, sizeof json,
           "{\"as_of\":\"%s\",\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\","
           "\"due_diligence\":%s}",
           as_of, dd);
  ag_arena_reset(&arena);
  ag_error_clear(err);
  ag_status st = ag_json_decode_txn(json, strlen(json), &txn, &arena, err);
  txn.policy = policy;
  if (!st)
    st = ag_decide(rules, &txn, d, err);
  return st;
}

static void rejected(const char *dd, const char *field, const char *reason) {
  ag_decision d;
  ag_error err;
  ag_status st = run(dd, "2026-11-24", &d, &err, NULL);
  if (st == AG_OK)
    fail_msg("accepted: %s", dd);
  if (strcmp(err.field, field) || !strstr(err.reason, reason))
    fail_msg("%s: got %s: %s (wanted %s: ...%s...)", dd, err.field, err.reason, field, reason);
}

static void test_decoder_errors(void **state) {
  (void)state;
  rejected("[]", "due_diligence", "must be an object");
  rejected("{}", "due_diligence.answers", "is required");
  rejected("{\"answers\":{},\"notes\":{}}", "due_diligence.notes", "unknown field");
  rejected("{\"answers\":[\"RF02\"]}", "due_diligence.answers", "must be an object");
  rejected("{\"answers\":{\"RF02\":1}}", "due_diligence.answers.RF02",
           "must be true, false or \"unknown\", not a number");
  rejected("{\"answers\":{\"RF02\":null}}", "due_diligence.answers.RF02", "not null");
  rejected("{\"answers\":{\"RF02\":\"yes\"}}", "due_diligence.answers.RF02",
           "\"yes\" is not an answer");
  rejected("{\"answers\":{\"RF 02\":true}}", "due_diligence.answers.RF 02",
           "is not a due-diligence question id");
  rejected("{\"answers\":{\"RF02\":true,\"RF02\":false}}", "due_diligence.answers.RF02",
           "appears twice");
  rejected("{\"answers\":{\"RF02\":true},\"resolved\":{\"RF02\":true}}",
           "due_diligence.resolved.RF02", "must be a string");
  rejected("{\"answers\":{\"RF02\":true},\"resolved\":{\"RF02\":\"\"}}",
           "due_diligence.resolved.RF02", "must not be empty");
  rejected("{\"answers\":{\"RF02\":true},\"resolved\":{\"RF02\":\"a\\u0001b\"}}",
           "due_diligence.resolved.RF02", "control characters");
  rejected("{\"answers\":{\"RF02\":true},\"resolved\":{\"RF03\":\"explained\"}}",
           "due_diligence.resolved.RF03", "RF03 is not answered");
  rejected("{\"resolved\":{\"RF02\":\"explained\"},\"answers\":{}}",
           "due_diligence.resolved.RF02", "is not answered");
  /* a note longer than 2048 bytes */
  char dd[4096];
  int n = snprintf(dd, sizeof dd, "{\"answers\":{\"RF02\":true},\"resolved\":{\"RF02\":\"");
  memset(dd + n, 'x', 2100);
  snprintf(dd + n + 2100, sizeof dd - (size_t)n - 2100, "\"}}");
  rejected(dd, "due_diligence.resolved.RF02", "the limit is 2048");
}

/* duplicates are caught however many answers come before them */
static void test_duplicate_after_many(void **state) {
  (void)state;
  char dd[2048] = "{\"answers\":{";
  for (int i = 1; i <= 13; i++)
    snprintf(dd + strlen(dd), sizeof dd - strlen(dd), "\"RF%02d\":false,", i);
  for (int i = 1; i <= 6; i++)
    snprintf(dd + strlen(dd), sizeof dd - strlen(dd), "\"CF%02d\":\"unknown\",", i);
  snprintf(dd + strlen(dd), sizeof dd - strlen(dd), "\"RF07\":true}}");
  rejected(dd, "due_diligence.answers.RF07", "appears twice");
  /* more answers than the table has questions */
  strcpy(dd, "{\"answers\":{");
  for (int i = 0; i < AG_MAX_DD_ANSWERS + 1; i++)
    snprintf(dd + strlen(dd), sizeof dd - strlen(dd), "%s\"X%d\":true", i ? "," : "", i);
  strcat(dd, "}}");
  rejected(dd, "due_diligence.answers.X64", "more than 64 answers");
}

static void test_engine_errors(void **state) {
  (void)state;
  rejected("{\"answers\":{\"RF14\":true}}", "due_diligence.answers.RF14",
           "\"RF14\" is not a due-diligence question");
  rejected("{\"answers\":{\"SG-C9a\":true}}", "due_diligence.answers.SG-C9a",
           "is not a due-diligence question");
  /* RF02 raises on true: false raises nothing to resolve */
  rejected("{\"answers\":{\"RF02\":false},\"resolved\":{\"RF02\":\"explained\"}}",
           "due_diligence.resolved.RF02", "the answer false raises no flag");
  rejected("{\"answers\":{\"RF02\":\"unknown\"},\"resolved\":{\"RF02\":\"explained\"}}",
           "due_diligence.resolved.RF02", "the answer unknown raises no flag");
  /* the CF questions are of 740.22(c)(2), in force from 2022-03-07 (87 FR 1670) */
  ag_decision d;
  ag_error err;
  assert_int_equal(run("{\"answers\":{\"CF01\":true}}", "2022-03-06", &d, &err, NULL),
                   AG_ERR_INPUT);
  assert_string_equal(err.field, "due_diligence.answers.CF01");
  assert_non_null(strstr(err.reason, "not asked before 2022-03-07"));
  /* the State guidance is of 2020-09-30 */
  assert_int_equal(run("{\"answers\":{\"SG-RF1\":true}}", "2020-09-29", &d, &err, NULL),
                   AG_ERR_INPUT);
  assert_int_equal(run("{\"answers\":{\"SG-RF1\":true}}", "2020-09-30", &d, &err, NULL), AG_OK);
}

/* every question of the table can be answered, each flag lands in red_flags */
static void test_every_question(void **state) {
  (void)state;
  const ag_diligence *dd = rules->diligence;
  char json[8192] = "{\"answers\":{";
  for (size_t i = 0; i < ag_diligence_count(dd); i++) {
    const ag_diligence_item *it = ag_diligence_at(dd, i);
    snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"%s\":%s", i ? "," : "",
             it->id, it->raises_on_yes ? "true" : "false");
  }
  strcat(json, "}}");
  ag_decision d;
  ag_error err;
  assert_int_equal(run(json, "2026-11-24", &d, &err, NULL), AG_OK);
  assert_int_equal(d.n_red_flags, (int)ag_diligence_count(dd));
  /* CF01 false with CF02 and CF06 true state knowledge: 740.22(c)(2) */
  assert_true(d.dd_knowledge);
  assert_int_equal(d.outcome, AG_OUTCOME_LICENSE_REQUIRED);
  assert_string_equal(d.decided_by, "740.22(c)(2)");
}

/* each question alone, on 4D004 to a non-government end user in Brazil
 * (ACE without answers: no D or E group): a red flag or 740.22(c)(2)
 * question raised is REVIEW (Supp. No. 3 to part 732 (a)(2)); CF03 is of
 * (c)(1)(ii), which Brazil (no D group) cannot meet; the State guidance
 * changes nothing; the answer that does not raise the flag lists nothing */
static void test_each_question_alone(void **state) {
  (void)state;
  const ag_diligence *dd = rules->diligence;
  for (size_t i = 0; i < ag_diligence_count(dd); i++) {
    const ag_diligence_item *it = ag_diligence_at(dd, i);
    char json[128];
    ag_decision d;
    ag_error err;
    snprintf(json, sizeof json, "{\"answers\":{\"%s\":%s}}", it->id,
             it->raises_on_yes ? "true" : "false");
    assert_int_equal(run(json, "2026-11-24", &d, &err, NULL), AG_OK);
    assert_int_equal(d.n_red_flags, 1);
    bool inquire = it->effect == AG_DD_REVIEW || it->effect == AG_DD_SCREENING ||
                   it->effect == AG_DD_KNOWLEDGE;
    if (inquire) {
      if (d.outcome != AG_OUTCOME_REVIEW || d.red_flags[0].effect != AG_FLAG_REVIEW)
        fail_msg("%s: %s", it->id, ag_outcome_name(d.outcome));
      assert_string_equal(d.decided_by, "Supp. No. 3 to part 732(a)(2)");
      assert_int_equal(d.red_flags_reconstructed, it->provenance == AG_DD_RECONSTRUCTED);
    } else {
      if (d.outcome != AG_OUTCOME_LICENSE_EXCEPTION_ACE || d.red_flags[0].effect != AG_FLAG_RECORDED)
        fail_msg("%s: %s", it->id, ag_outcome_name(d.outcome));
      assert_false(d.red_flags_reconstructed);
    }
    snprintf(json, sizeof json, "{\"answers\":{\"%s\":%s}}", it->id,
             it->raises_on_yes ? "false" : "true");
    assert_int_equal(run(json, "2026-11-24", &d, &err, NULL), AG_OK);
    assert_int_equal(d.n_red_flags, 0);
    assert_int_equal(d.outcome, AG_OUTCOME_LICENSE_EXCEPTION_ACE);
  }
}

/* the knowledge statement needs both answers, unresolved */
static void test_knowledge(void **state) {
  (void)state;
  ag_decision d;
  ag_error err;
  assert_int_equal(run("{\"answers\":{\"CF06\":true,\"CF01\":false}}", "2026-11-24", &d, &err,
                       NULL),
                   AG_OK);
  assert_true(d.dd_knowledge);
  assert_false(d.ace_available);
  assert_int_equal(run("{\"answers\":{\"CF06\":true,\"CF01\":\"unknown\"}}", "2026-11-24", &d,
                       &err, NULL),
                   AG_OK);
  assert_false(d.dd_knowledge);
  assert_int_equal(d.outcome, AG_OUTCOME_REVIEW);
  assert_int_equal(run("{\"answers\":{\"CF06\":true,\"CF01\":false},\"resolved\":{\"CF06\":"
                       "\"the named persons are the customer's own staff, with consent\"}}",
                       "2026-11-24", &d, &err, NULL),
                   AG_OK);
  assert_false(d.dd_knowledge);
  /* CF01 still raised and unresolved: inquire */
  assert_int_equal(d.outcome, AG_OUTCOME_REVIEW);
  assert_string_equal(d.decided_by, "Supp. No. 3 to part 732(a)(2)");
}

static void test_policy(void **state) {
  (void)state;
  ag_policy *p = NULL;
  ag_error err;
  const char *text = "# comment\n\nreview SG-RF1 SG-C2a # trailing comment\r\nreview RF02\n";
  assert_int_equal(ag_policy_parse(rules->diligence, "p", text, strlen(text), &p, &err), AG_OK);
  assert_true(ag_policy_requires_review(p, "SG-RF1"));
  assert_true(ag_policy_requires_review(p, "SG-C2a"));
  assert_false(ag_policy_requires_review(p, "SG-RF2"));
  ag_decision d;
  assert_int_equal(run("{\"answers\":{\"SG-C2a\":true}}", "2026-11-24", &d, &err, p), AG_OK);
  assert_int_equal(d.outcome, AG_OUTCOME_REVIEW);
  assert_string_equal(d.decided_by, "due-diligence policy");
  assert_true(d.red_flags_reconstructed); /* SG-C2a rests on reconstructed text */
  /* resolved with a note, the policy no longer stops it */
  assert_int_equal(run("{\"answers\":{\"SG-C2a\":true},\"resolved\":{\"SG-C2a\":\"the reports "
                       "concern another agency\"}}",
                       "2026-11-24", &d, &err, p),
                   AG_OK);
  assert_int_equal(d.outcome, AG_OUTCOME_LICENSE_EXCEPTION_ACE);
  ag_policy_free(p);
  const struct {
    const char *text, *where, *reason;
  } bad[] = {{"review\n", "p:1", "names no question"},
             {"# x\nreview SG-RF7\n", "p:2", "'SG-RF7' is not a question"},
             {"forbid RF02\n", "p:1", "'forbid' is not a directive"},
             {"review RF02 RF0000000000000000002\n", "p:1", "is not a question"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p = NULL;
    assert_int_not_equal(
        ag_policy_parse(rules->diligence, "p", bad[i].text, strlen(bad[i].text), &p, &err), AG_OK);
    assert_null(p);
    assert_string_equal(err.field, bad[i].where);
    if (!strstr(err.reason, bad[i].reason))
      fail_msg("%s: %s", bad[i].text, err.reason);
  }
}

static int setup(void **state) {
  (void)state;
  ag_error err;
  ag_arena_init(&arena, 4096);
  return ag_rules_load_default(&rules, &err) == AG_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ag_rules_free(rules);
  ag_arena_free(&arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decoder_errors), cmocka_unit_test(test_duplicate_after_many),
      cmocka_unit_test(test_engine_errors),  cmocka_unit_test(test_every_question),
      cmocka_unit_test(test_knowledge),      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_each_question_alone),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
