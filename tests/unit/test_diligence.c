/*
 * test_diligence.c - the due-diligence table: every BIS red flag of
 * Supp. No. 3 to part 732 (RF01-RF13), the 740.22(c)(2) questions
 * (CF01-CF06) and the State Department guidance items (SG-*) load with
 * the provenance the reference gives them; every validation rule rejects
 * a broken table naming file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/diligence.h"
#include "acegate/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_diligence *DD;

static const ag_diligence_item *item(const char *id) {
  const ag_diligence_item *it = ag_diligence_find(DD, id, strlen(id));
  if (!it)
    fail_msg("no item '%s'", id);
  return it;
}

static void test_groups_complete(void **state) {
  (void)state;
  size_t n[5] = {0};
  for (size_t i = 0; i < ag_diligence_count(DD); i++)
    n[ag_diligence_at(DD, i)->group]++;
  assert_int_equal(n[AG_DD_BIS_RED_FLAG], 13); /* the BIS list has 13 indicators */
  assert_int_equal(n[AG_DD_CYBER_FLAG], 6);
  assert_int_equal(n[AG_DD_STATE_SCOPE], 4);
  assert_int_equal(n[AG_DD_STATE_CONSIDERATION], 25);
  assert_int_equal(n[AG_DD_STATE_RED_FLAG], 6);
  char id[16];
  for (int i = 1; i <= 13; i++) {
    snprintf(id, sizeof id, "RF%02d", i);
    const ag_diligence_item *it = item(id);
    assert_int_equal(it->group, AG_DD_BIS_RED_FLAG);
    /* published BIS text, read verbatim */
    assert_int_equal(it->provenance, AG_DD_VERBATIM);
    assert_true(it->raises_on_yes);
    assert_non_null(strstr(it->cite, "Supp. No. 3 to part 732"));
  }
  for (int i = 1; i <= 6; i++) {
    snprintf(id, sizeof id, "CF%02d", i);
    assert_int_equal(item(id)->group, AG_DD_CYBER_FLAG);
  }
}

static void test_published_text(void **state) {
  (void)state;
  /* the BIS "Red Flag Indicators" page, quoted */
  assert_string_equal(item("RF02")->flag,
                      "The customer or purchasing agent is reluctant to offer information about "
                      "the end-use of the item.");
  assert_string_equal(item("RF10")->flag,
                      "A freight forwarding firm is listed as the product's final destination.");
  assert_string_equal(item("RF08")->flag,
                      "Routine installation, training, or maintenance services are declined by "
                      "the customer.");
}

static void test_effects(void **state) {
  (void)state;
  /* a raised BIS flag is a reason to inquire (Supp. No. 3 (a)(2)); RF01 is the
   * list match the screening module decides */
  assert_int_equal(item("RF01")->effect, AG_DD_SCREENING);
  for (int i = 2; i <= 13; i++) {
    char id[16];
    snprintf(id, sizeof id, "RF%02d", i);
    assert_int_equal(item(id)->effect, AG_DD_REVIEW);
  }
  /* CF03 is the government end-user question of 740.22(c)(1)(ii), not knowledge */
  assert_int_equal(item("CF03")->effect, AG_DD_END_USER_TYPE);
  /* CF01 asks for the owner's authorisation: the answer "no" raises it (740.22(c)(2)) */
  assert_false(item("CF01")->raises_on_yes);
  assert_non_null(strstr(item("CF01")->cite, "740.22(c)(2)"));
  /* the State guidance is voluntary: scope or human-rights considerations only */
  for (size_t i = 0; i < ag_diligence_count(DD); i++) {
    const ag_diligence_item *it = ag_diligence_at(DD, i);
    if (it->group >= AG_DD_STATE_SCOPE)
      assert_true(it->effect == AG_DD_SCOPE || it->effect == AG_DD_HUMAN_RIGHTS);
  }
  assert_int_equal(item("SG-S1")->effect, AG_DD_SCOPE);
  assert_int_equal(item("SG-RF1")->effect, AG_DD_HUMAN_RIGHTS);
  /* safeguards: their absence raises the consideration */
  assert_false(item("SG-C5a")->raises_on_yes);
}

/* provenance as the reference gives it */
static void test_provenance(void **state) {
  (void)state;
  const char *reconstructed[] = {"CF04",   "SG-S4",  "SG-C1d", "SG-C2a", "SG-C2c",
                                 "SG-C2d", "SG-C3b", "SG-C5f", "SG-C8a", "SG-RF1",
                                 "SG-RF2", "SG-RF3", "SG-RF4", "SG-RF5", "SG-RF6"};
  for (size_t i = 0; i < sizeof reconstructed / sizeof *reconstructed; i++)
    assert_int_equal(item(reconstructed[i])->provenance, AG_DD_RECONSTRUCTED);
  const char *draft[] = {"SG-C4a", "SG-C4b", "SG-C4c", "SG-C5a",
                         "SG-C5b", "SG-C5c", "SG-C5d", "SG-C5e"};
  for (size_t i = 0; i < sizeof draft / sizeof *draft; i++)
    assert_int_equal(item(draft[i])->provenance, AG_DD_DRAFT_2019);
  assert_int_equal(item("SG-C8b")->provenance, AG_DD_VERBATIM);
  assert_int_equal(item("CF01")->provenance, AG_DD_SUMMARY);
  assert_string_equal(ag_diligence_provenance_name(AG_DD_DRAFT_2019), "draft_2019");
}

static void expect_rejected(const char *find, const char *replace, const char *reason) {
  const ag_embedded_file *f = NULL;
  for (size_t i = 0; i < ag_rules_embedded_count; i++)
    if (!strcmp(ag_rules_embedded[i].name, "due-diligence.tsv"))
      f = &ag_rules_embedded[i];
  assert_non_null(f);
  const char *at = strstr(f->data, find);
  if (!at)
    fail_msg("'%s' not in the table", find);
  size_t pre = (size_t)(at - f->data), fl = strlen(find), rl = strlen(replace);
  size_t len = f->len - fl + rl;
  char *buf = malloc(len + 1);
  memcpy(buf, f->data, pre);
  memcpy(buf + pre, replace, rl);
  memcpy(buf + pre + rl, at + fl, f->len - pre - fl);
  buf[len] = '\0';
  ag_diligence *d = NULL;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_diligence_load_buffer("due-diligence.tsv", buf, len, &d, &err);
  free(buf);
  if (st == AG_OK) {
    ag_diligence_free(d);
    fail_msg("accepted: '%s' -> '%s'", find, replace);
  }
  if (st != AG_ERR_RULES || strncmp(err.field, "due-diligence.tsv:", 18) ||
      !strstr(err.reason, reason))
    fail_msg("'%s' -> '%s': %s: %s (wanted '%s')", find, replace, err.field, err.reason, reason);
}

static void test_validation(void **state) {
  (void)state;
  expect_rejected("RF02\tbis_red_flag\t", "RF02\tbis_red_flags\t", "is not bis_red_flag");
  expect_rejected("RF02\tbis_red_flag\t", "CF02\tbis_red_flag\t",
                  "'CF02' is not an id of a bis_red_flag");
  expect_rejected("RF03\tbis_red_flag\t", "RF02\tbis_red_flag\t", "listed twice");
  expect_rejected("SG-C1a\tstate_consideration\t", "SG-C1\tstate_consideration\t", "not an id");
  expect_rejected("\tyes\tThe customer or purchasing agent",
                  "\tmaybe\tThe customer or purchasing agent", "'maybe' is not yes or no");
  expect_rejected("\treview\tSupp. No. 3", "\tinquire\tSupp. No. 3", "'inquire' is not review");
  /* the voluntary State guidance never gets an EAR effect */
  expect_rejected("\thuman_rights\tState Department", "\treview\tState Department",
                  "never an EAR effect");
  expect_rejected("\treview\tSupp. No. 3", "\thuman_rights\tSupp. No. 3", "for the State guidance");
  expect_rejected("\tverbatim\tBIS web page", "\tverbatum\tBIS web page",
                  "'verbatum' is not verbatim");
  expect_rejected("\t2020-09-30\t-\n", "\t2020-09-30\t2020-01-01\n", "ends before it starts");
  expect_rejected("id\tgroup\tquestion", "id\tgroup\tquestions", "wrong header");
}

static int setup(void **state) {
  (void)state;
  ag_error err;
  if (ag_diligence_load_default(&DD, &err)) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ag_diligence_free(DD);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_groups_complete), cmocka_unit_test(test_published_text),
      cmocka_unit_test(test_effects),         cmocka_unit_test(test_provenance),
      cmocka_unit_test(test_validation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
