/*
 * test_classify.c - the classification questionnaire: every path to each
 * result paragraph, to each exclusion note and to "cannot tell", with the
 * expected outcome read from the CCL text and its notes (Supp. 1 to part
 * 774) and the 772.1 definitions; the answers codec; the table's
 * validation rules.
 *
 * Answers are written "ID=y", "ID=n", "ID=u" (not known) or "ID=-" (not
 * asked) over a base in which every question is answered no.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *R;
static ag_classify *Q;
static ag_date TODAY; /* a fixed date after the final rule: 2026-08-01 */

static ag_date D(const char *s) {
  ag_date d;
  assert_true(ag_date_parse(s, strlen(s), &d));
  return d;
}

static int row(const char *id) {
  int i = ag_classify_find(Q, id, strlen(id));
  if (i < 0)
    fail_msg("no row '%s'", id);
  return i;
}

/* base: "no" to every question ("none": nothing answered); then overrides */
static ag_classify_answer *answers(bool all_no, const char *overrides) {
  size_t n = ag_classify_count(Q);
  ag_classify_answer *a = calloc(n, sizeof *a);
  assert_non_null(a);
  for (size_t i = 0; i < n && all_no; i++)
    if (ag_classify_row_at(Q, i)->kind == AG_CLASSIFY_QUESTION)
      a[i] = AG_ANSWER_NO;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", overrides);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = '\0';
    int i = row(tok);
    assert_int_equal(ag_classify_row_at(Q, (size_t)i)->kind, AG_CLASSIFY_QUESTION);
    a[i] = eq[1] == 'y'   ? AG_ANSWER_YES
           : eq[1] == 'n' ? AG_ANSWER_NO
           : eq[1] == 'u' ? AG_ANSWER_UNKNOWN
                          : AG_ANSWER_NONE;
  }
  return a;
}

typedef struct {
  ag_classify_result r;
  char candidates[512]; /* "4D001.a for 4A005, 4D004" */
  char missing[1024];   /* "IS2a IS2b" */
} outcome;

static void eval_on(outcome *o, bool all_no, const char *overrides, ag_date on) {
  ag_classify_answer *a = answers(all_no, overrides);
  ag_error err;
  ag_error_clear(&err);
  assert_int_equal(ag_classify_evaluate(Q, a, on, &o->r, &err), AG_OK);
  free(a);
  size_t used = 0;
  o->candidates[0] = o->missing[0] = '\0';
  for (size_t i = 0; i < o->r.n_candidates; i++) {
    const ag_classify_row *c = o->r.candidates[i].row;
    used += (size_t)snprintf(o->candidates + used, sizeof o->candidates - used, "%s%s%s%s",
                             i ? ", " : "", c->id, c->for_ ? " for " : "", c->for_ ? c->for_ : "");
  }
  used = 0;
  for (size_t i = 0; i < o->r.n_missing; i++)
    used += (size_t)snprintf(o->missing + used, sizeof o->missing - used, "%s%s", i ? " " : "",
                             o->r.missing[i]->id);
}

static void eval(outcome *o, const char *overrides) {
  eval_on(o, true, overrides, TODAY);
}

/* The reason that ruled out paragraph (with its "for"), as "excluded:ID" or
 * "unmet:ID|ID". */
static const char *reason_for(const outcome *o, const char *paragraph, const char *for_) {
  static char buf[256];
  for (size_t i = 0; i < o->r.n_reasons; i++) {
    const ag_classify_reason *why = &o->r.reasons[i];
    for (size_t k = 0; k < why->n_paragraphs; k++) {
      const ag_classify_row *p = why->paragraphs[k];
      bool same_for = (!p->for_ && !for_) || (p->for_ && for_ && !strcmp(p->for_, for_));
      if (strcmp(p->id, paragraph) || !same_for)
        continue;
      size_t used = (size_t)snprintf(buf, sizeof buf, "%s:", why->excluded ? "excluded" : "unmet");
      for (size_t b = 0; b < why->n_because; b++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", b ? "|" : "",
                                 why->because[b]->id);
      return buf;
    }
  }
  return "(not ruled out)";
}

static void expect(const char *overrides, const char *status, const char *candidates, int cyber) {
  outcome o;
  eval(&o, overrides);
  if (strcmp(ag_classify_status_name(o.r.status), status) || strcmp(o.candidates, candidates) ||
      o.r.cyber_item != cyber)
    fail_msg("[%s]: got %s [%s] cyber %d, wanted %s [%s] cyber %d", overrides,
             ag_classify_status_name(o.r.status), o.candidates, o.r.cyber_item, status, candidates,
             cyber);
  ag_classify_result_free(&o.r);
}

/* not_controlled, and paragraph ruled out by reason */
static void expect_ruled_out(const char *overrides, const char *paragraph, const char *for_,
                             const char *reason) {
  outcome o;
  eval(&o, overrides);
  if (o.r.status != AG_CLASSIFY_NOT_CONTROLLED)
    fail_msg("[%s]: %s [%s], wanted not_controlled", overrides, ag_classify_status_name(o.r.status),
             o.candidates);
  const char *got = reason_for(&o, paragraph, for_);
  if (strcmp(got, reason))
    fail_msg("[%s]: %s ruled out by %s, wanted %s", overrides, paragraph, got, reason);
  assert_int_equal(o.r.cyber_item, 0);
  ag_classify_result_free(&o.r);
}

/* ---- the built-in questionnaire ---- */

static void test_loads(void **state) {
  (void)state;
  assert_true(ag_classify_count(Q) > 60);
  assert_true(strncmp(ag_classify_version(Q), "classification.tsv+", 19) == 0);
  /* the reference ids are kept */
  const char *ids[] = {"IS1", "IS2a", "ISX1", "4D004-1", "J1", "JX1", "B4-1", "4E001-X", "A1"};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
    assert_int_equal(ag_classify_row_at(Q, (size_t)row(ids[i]))->kind, AG_CLASSIFY_QUESTION);
  /* A1 rests on 734.3(b)(3), which is not held: reconstructed */
  assert_int_equal(ag_classify_row_at(Q, (size_t)row("A1"))->provenance,
                   AG_PROVENANCE_RECONSTRUCTED);
  assert_int_equal(ag_classify_row_at(Q, (size_t)row("ISX1"))->provenance, AG_PROVENANCE_VERBATIM);
}

/* ---- B. the intrusion family ---- */

/* "intrusion software" (772.1): IS1 AND (IS2a OR IS2b) AND (IS3a OR IS3b),
 * none of Note 1's tools */
#define SW_IS "KD=y IS1=y IS2a=y IS3a=y"
#define HW_IS "KA=y IS1=y IS2a=y IS3a=y"
#define TECH_IS "KE=y IS1=y IS2a=y IS3a=y"

static void test_4d004(void **state) {
  (void)state;
  /* 4D004 heading: generation, command and control, OR delivery */
  expect(SW_IS " 4D004-1=y", "classified", "4D004", 1);
  expect(SW_IS " 4D004-2=y", "classified", "4D004", 1);
  expect(SW_IS " 4D004-3=y", "classified", "4D004", 1);
  /* the other limbs of each OR in the definition */
  expect("KD=y IS1=y IS2b=y IS3b=y 4D004-2=y", "classified", "4D004", 1);
  /* Note to 4D004: owner-authorised updates that leave no 4D004 or intrusion software */
  expect_ruled_out(SW_IS " 4D004-3=y 4D004-X=y", "4D004", NULL, "excluded:4D004-X");
  /* none of the three functions */
  expect_ruled_out(SW_IS, "4D004", NULL, "unmet:4D004-1|4D004-2|4D004-3");
  /* the payload is not intrusion software: each AND of the definition */
  expect_ruled_out("KD=y IS2a=y IS3a=y 4D004-2=y", "4D004", NULL, "unmet:IS1");
  expect_ruled_out("KD=y IS1=y IS3a=y 4D004-2=y", "4D004", NULL, "unmet:IS2a|IS2b");
  expect_ruled_out("KD=y IS1=y IS2a=y 4D004-2=y", "4D004", NULL, "unmet:IS3a|IS3b");
  /* Note 1 to "intrusion software": hypervisors, debuggers, SRE tools; DRM;
   * asset tracking or recovery software */
  expect_ruled_out(SW_IS " 4D004-2=y ISX1=y", "4D004", NULL, "excluded:ISX1");
  expect_ruled_out(SW_IS " 4D004-2=y ISX2=y", "4D004", NULL, "excluded:ISX2");
  expect_ruled_out(SW_IS " 4D004-2=y ISX3=y", "4D004", NULL, "excluded:ISX3");
  /* 4D004 is software: the same functions in hardware are 4A005 */
  expect(HW_IS " 4D004-2=y", "not_controlled", "", 0);
}

static void test_4a005(void **state) {
  (void)state;
  /* 4A005 heading: systems, equipment and components for the same functions */
  expect(HW_IS " 4A005-1=y", "classified", "4A005", 1);
  expect_ruled_out(HW_IS, "4A005", NULL, "unmet:4A005-1");
  expect_ruled_out(HW_IS " 4A005-1=y ISX1=y", "4A005", NULL, "excluded:ISX1");
  /* an appliance exported as hardware and its platform software exported on its own */
  expect(HW_IS " KD=y 4A005-1=y 4D004-3=y", "classified", "4A005, 4D004", 1);
  /* no 4A005 decontrol note: the update note is 4D004's only */
  expect(HW_IS " 4A005-1=y 4D004-X=y", "classified", "4A005", 1);
}

static void test_4d001a(void **state) {
  (void)state;
  /* 4D001.a: software for the development or production of 4A005 or 4D004 items;
   * 740.22(b)(1) names it with its "for" */
  expect(SW_IS " 4D001a-1a=y", "classified", "4D001.a for 4A005", 1);
  expect(SW_IS " 4D001a-1b=y", "classified", "4D001.a for 4D004", 1);
  expect(SW_IS " 4D001a-1a=y 4D001a-1b=y", "classified", "4D001.a for 4A005, 4D001.a for 4D004", 1);
  expect_ruled_out(SW_IS " 4D001a-1b=y ISX2=y", "4D001.a", "4D004", "excluded:ISX2");
}

static void test_4e001(void **state) {
  (void)state;
  /* 4E001.a: technology for 4A005, 4D004 and 4D001.a items */
  expect(TECH_IS " 4E001a-1a=y", "classified", "4E001.a for 4A005", 1);
  expect(TECH_IS " 4E001a-1b=y", "classified", "4E001.a for 4D004", 1);
  expect(TECH_IS " 4E001a-1c=y", "classified", "4E001.a for 4D001.a", 1);
  /* 4E001.c: technology for the development of intrusion software */
  expect(TECH_IS " 4E001c-1=y", "classified", "4E001.c", 1);
  /* Note 1 to 4E001: not vulnerability disclosure or cyber incident response */
  expect_ruled_out(TECH_IS " 4E001c-1=y 4E001-X=y", "4E001.c", NULL, "excluded:4E001-X");
  expect_ruled_out(TECH_IS " 4E001a-1b=y 4E001-X=y", "4E001.a", "4D004", "excluded:4E001-X");
  /* technology for developing what Note 1 to "intrusion software" excludes */
  expect_ruled_out(TECH_IS " 4E001c-1=y ISX1=y", "4E001.c", NULL, "excluded:ISX1");
  /* technology is not software: 4D004 needs software */
  expect_ruled_out(TECH_IS " 4D004-1=y", "4D004", NULL, "unmet:KD");
}

/* ---- C. IP network surveillance ---- */

#define J_ALL "J1=y J1a=y J1b=y J1c=y J2a=y J2b=y"

static void test_5a001j(void **state) {
  (void)state;
  /* 5A001.j: all of j.1 (carrier class; a, b and c) and j.2 (a and b) */
  expect("KA=y " J_ALL, "classified", "5A001.j", 1);
  const char *each[] = {"J1", "J1a", "J1b", "J1c", "J2a", "J2b"};
  for (size_t i = 0; i < 6; i++) {
    char o[256], want[32];
    snprintf(o, sizeof o, "KA=y %s %s=n", J_ALL, each[i]);
    snprintf(want, sizeof want, "unmet:%s", each[i]);
    expect_ruled_out(o, "5A001.j", NULL, want);
  }
  /* Note to 5A001.j: marketing, QoS, QoE */
  expect_ruled_out("KA=y " J_ALL " JX1=y", "5A001.j", NULL, "excluded:JX1");
  expect_ruled_out("KA=y " J_ALL " JX2=y", "5A001.j", NULL, "excluded:JX2");
  expect_ruled_out("KA=y " J_ALL " JX3=y", "5A001.j", NULL, "excluded:JX3");
  /* 5D001.c: software providing the functions of 5A001.j equipment */
  expect("KD=y " J_ALL, "classified", "5D001.c for 5A001.j", 1);
  expect_ruled_out("KD=y " J_ALL " JX3=y", "5D001.c", "5A001.j", "excluded:JX3");
}

static void test_5b_5d_5e(void **state) {
  (void)state;
  /* 5B001.a: equipment for the development or production of 5A001 items */
  expect("KA=y 5B001a-1=y", "classified", "5B001.a for 5A001.j", 1);
  expect_ruled_out("KA=y 5B001a-1=y 5B001a-X=y", "5B001.a", "5A001.j", "excluded:5B001a-X");
  /* 5D001.a: software for development, production or use of 5A001 items */
  expect("KD=y 5D001a-1=y", "classified", "5D001.a for 5A001.j", 1);
  /* 5D001.c for 5B001.a */
  expect("KD=y 5D001c-1b=y", "classified", "5D001.c for 5B001.a", 1);
  /* 5E001.a and the ACE line of 5E001 */
  expect("KE=y 5E001a-1a=y", "classified", "5E001.a for 5A001.j", 1);
  expect("KE=y 5E001a-1b=y", "classified", "5E001.a for 5B001.a", 1);
  expect("KE=y 5E001a-1c=y", "classified", "5E001.a for 5D001.a", 1);
  expect("KE=y 5E001a-1d=y", "classified", "5E001.a for 5D001.c", 1);
  /* 5E001.a for 5B001.a and for 5D001.c are named only by the ACE line
   * read in the 2026 CCL, taken as added on 2022-05-26: not asked before */
  outcome o;
  eval_on(&o, false, "", D("2022-04-01"));
  assert_null(strstr(o.missing, "5E001a-1b"));
  assert_null(strstr(o.missing, "5E001a-1d"));
  assert_non_null(strstr(o.missing, "5E001a-1a"));
  ag_classify_result_free(&o.r);
  eval_on(&o, false, "", D("2022-05-26"));
  assert_non_null(strstr(o.missing, "5E001a-1b"));
  ag_classify_result_free(&o.r);
}

static void test_5d001e(void **state) {
  (void)state;
  /* 5D001.e: law-enforcement analysis of handed-over data (e.1 AND e.2); no ACE line */
  expect("KD=y 5D001e-1=y 5D001e-2=y", "classified", "5D001.e", 0);
  expect_ruled_out("KD=y 5D001e-1=y", "5D001.e", NULL, "unmet:5D001e-2");
  /* Note to 5D001.e: billing, QoS, QoE, mediation devices, mobile payment */
  expect_ruled_out("KD=y 5D001e-1=y 5D001e-2=y 5D001e-X=y", "5D001.e", NULL, "excluded:5D001e-X");
  expect_ruled_out("KD=y 5D001e-1=y 5D001e-2=y JX2=y", "5D001.e", NULL, "excluded:JX2");
  expect_ruled_out("KD=y 5D001e-1=y 5D001e-2=y JX3=y", "5D001.e", NULL, "excluded:JX3");
  /* "other than that specified by 5D001.a or 5D001.c": software with the
   * 5A001.j functions is 5D001.c, an ACE item, not 5D001.e */
  expect("KD=y 5D001e-1=y 5D001e-2=y " J_ALL, "classified", "5D001.c for 5A001.j", 1);
  outcome o;
  eval(&o, "KD=y 5D001e-1=y 5D001e-2=y " J_ALL);
  assert_int_equal(o.r.n_candidates, 1);
  ag_classify_result_free(&o.r);
}

/* ---- D. forensic extraction: 5A004.b and its software (ENC, not ACE) ---- */

#define FORENSIC "B4-1=y B4-2=y"

static void test_5a004b(void **state) {
  (void)state;
  /* 5A004.b: raw extraction AND circumvention of authentication */
  expect("KA=y " FORENSIC, "classified", "5A004.b", 0);
  expect_ruled_out("KA=y B4-1=y", "5A004.b", NULL, "unmet:B4-2");
  expect_ruled_out("KA=y B4-2=y", "5A004.b", NULL, "unmet:B4-1");
  /* lead-in: items not specified by 4A005 or 5A004.a */
  expect_ruled_out("KA=y " FORENSIC " B4-0=y", "5A004.b", NULL, "excluded:B4-0");
  outcome o;
  eval(&o, "KA=y " FORENSIC " " HW_IS " 4A005-1=y");
  assert_string_equal(o.candidates, "4A005");
  ag_classify_result_free(&o.r);
  /* Note 1 (development/production tooling) and Note 2 a-d */
  const char *notes[] = {"B4X1", "B4X2", "B4X3", "B4X4", "B4X5"};
  for (size_t i = 0; i < 5; i++) {
    char ov[128], want[32];
    snprintf(ov, sizeof ov, "KA=y " FORENSIC " %s=y", notes[i]);
    snprintf(want, sizeof want, "excluded:%s", notes[i]);
    expect_ruled_out(ov, "5A004.b", NULL, want);
  }
}

static void test_5d002(void **state) {
  (void)state;
  /* 5D002.c.3.b: software performing the 5A004.b functions */
  expect("KD=y " FORENSIC, "classified", "5D002.c.3.b", 0);
  expect_ruled_out("KD=y " FORENSIC " B4X3=y", "5D002.c.3.b", NULL, "excluded:B4X3");
  /* Note to 5D002.c.3.b: not "intrusion software" */
  expect_ruled_out("KD=y " FORENSIC " IS1=y IS2b=y IS3a=y", "5D002.c.3.b", NULL,
                   "excluded:intrusion_software");
  /* 5D002.a.3.b: software for the development, production or use of 5A004.b items */
  expect("KD=y D2a3b=y", "classified", "5D002.a.3.b", 0);
  /* technology for the 5A004.b family is outside 5E002.a (its note): not here */
  expect("KE=y " FORENSIC, "not_controlled", "", 0);
}

/* ---- A. scope ---- */

static void test_scope(void **state) {
  (void)state;
  /* published software is not subject to the EAR (734.3(b)(3)): that text
   * is reconstructed, and the result says so */
  outcome o;
  eval(&o, SW_IS " 4D004-2=y A1=y");
  assert_int_equal(o.r.status, AG_CLASSIFY_NOT_CONTROLLED);
  assert_string_equal(reason_for(&o, "4D004", NULL), "excluded:A1");
  assert_true(o.r.reconstructed);
  ag_classify_result_free(&o.r);
  /* USML XI(b): subject to the ITAR (Related Controls, verbatim) */
  eval(&o, "KA=y " J_ALL " A2=y");
  assert_string_equal(reason_for(&o, "5A001.j", NULL), "excluded:A2");
  assert_false(o.r.reconstructed);
  ag_classify_result_free(&o.r);
  /* a classification does not rest on A1's text when A1 did not apply */
  eval(&o, SW_IS " 4D004-2=y");
  assert_false(o.r.reconstructed);
  bool a1_listed = false;
  for (size_t i = 0; i < o.r.n_basis; i++)
    if (!strcmp(o.r.basis[i].row->id, "A1")) {
      a1_listed = true;
      assert_false(o.r.basis[i].decisive);
    }
  assert_true(a1_listed);
  ag_classify_result_free(&o.r);
}

/* ---- cannot tell ---- */

static void test_cannot_tell(void **state) {
  (void)state;
  outcome o;
  /* nothing answered: everything is still needed, starting with the scope */
  eval_on(&o, false, "", TODAY);
  assert_int_equal(o.r.status, AG_CLASSIFY_CANNOT_TELL);
  assert_int_equal(o.r.cyber_item, -1);
  assert_true(strncmp(o.missing, "A1 A2 KA KD KE", 14) == 0);
  ag_classify_result_free(&o.r);
  /* only the intrusion-software test is open: exactly its open OR is needed */
  eval(&o, "KD=y IS1=y IS3a=y 4D004-2=y IS2a=u IS2b=-");
  assert_int_equal(o.r.status, AG_CLASSIFY_CANNOT_TELL);
  assert_string_equal(o.missing, "IS2a IS2b");
  assert_int_equal(o.r.cyber_item, -1); /* 4D004 is a cybersecurity item if it holds */
  ag_classify_result_free(&o.r);
  /* an open 5A004.b question cannot make it a cybersecurity item */
  eval(&o, "KA=y B4-1=y B4-2=u");
  assert_int_equal(o.r.status, AG_CLASSIFY_CANNOT_TELL);
  assert_string_equal(o.missing, "B4-2");
  assert_int_equal(o.r.cyber_item, 0);
  ag_classify_result_free(&o.r);
  /* an undecided exclusion keeps it open even when every requirement holds */
  eval(&o, "KA=y " J_ALL " JX3=u");
  assert_int_equal(o.r.status, AG_CLASSIFY_CANNOT_TELL);
  assert_string_equal(o.missing, "JX3");
  ag_classify_result_free(&o.r);
  /* a settled exclusion closes the branch whatever is still unanswered */
  eval(&o, "KD=y ISX1=y IS1=- IS2a=- IS2b=- IS3a=- IS3b=- 4D004-1=- 4D004-2=- 4D004-3=-");
  assert_int_equal(o.r.status, AG_CLASSIFY_NOT_CONTROLLED);
  ag_classify_result_free(&o.r);
  /* every answer "no": nothing holds, nothing is missing */
  eval(&o, "");
  assert_int_equal(o.r.status, AG_CLASSIFY_NOT_CONTROLLED);
  assert_int_equal(o.r.n_missing, 0);
  ag_classify_result_free(&o.r);
}

/* the next question is the first still relevant, in file order */
static void test_next_question(void **state) {
  (void)state;
  ag_classify_answer *a = answers(false, "");
  assert_int_equal(ag_classify_next_question(Q, a, TODAY), row("A1"));
  free(a);
  /* published: nothing else matters */
  a = answers(false, "A1=y");
  assert_int_equal(ag_classify_next_question(Q, a, TODAY), -1);
  free(a);
  /* software only, a debugger: no hardware, technology or intrusion questions;
   * the law-enforcement software questions come next in the file */
  a = answers(false, "A1=n A2=n KA=n KD=y KE=n ISX1=y");
  int next = ag_classify_next_question(Q, a, TODAY);
  assert_int_equal(next, row("5D001e-1"));
  free(a);
  /* an exclusion is asked only while its paragraph could still hold: QoS and
   * QoE (JX2, JX3) are not asked for 5D001.e once 5D001e-1 is "no" */
  a = answers(false, "A1=n A2=n KA=n KD=y KE=n ISX1=y 5D001e-1=n J1=n");
  assert_int_equal(ag_classify_next_question(Q, a, TODAY), row("5D001a-1"));
  free(a);
  /* an answer "not known" is not asked again */
  a = answers(false, "A1=u");
  assert_int_equal(ag_classify_next_question(Q, a, TODAY), row("A2"));
  free(a);
}

/* ---- the answers codec ---- */

static ag_status parse(const char *json, ag_error *err, ag_classify_answer **out) {
  *out = calloc(ag_classify_count(Q), sizeof **out);
  ag_error_clear(err);
  return ag_classify_answers_from_json(Q, TODAY, json, strlen(json), *out, err);
}

static void test_answers_json(void **state) {
  (void)state;
  ag_error err;
  ag_classify_answer *a;
  assert_int_equal(parse("{\"IS1\": true, \"J1\": false, \"KA\": \"unknown\"}", &err, &a), AG_OK);
  assert_int_equal(a[row("IS1")], AG_ANSWER_YES);
  assert_int_equal(a[row("J1")], AG_ANSWER_NO);
  assert_int_equal(a[row("KA")], AG_ANSWER_UNKNOWN);
  assert_int_equal(a[row("A1")], AG_ANSWER_NONE);
  free(a);
  struct {
    const char *json, *field, *reason;
  } bad[] = {
      {"{\"IS9\": true}", "IS9", "not a question"},
      {"{\"intrusion_software\": true}", "intrusion_software", "derived"},
      {"{\"4D004\": true}", "4D004", "derived"},
      {"{\"IS1\": 1}", "IS1", "true, false or \"unknown\""},
      {"{\"IS1\": null}", "IS1", "true, false or \"unknown\""},
      {"{\"IS1\": \"yes\"}", "IS1", "true, false or \"unknown\""},
      {"{\"IS1\": true, \"IS1\": false}", "answers", "duplicate"},
      {"{\"IS1\": tru}", "answers", "malformed JSON"},
      {"[true]", "answers", "must be an object"},
      {"{\"\": true}", "answers", "an empty key"},
      {"", "answers", "malformed JSON"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ag_status st = parse(bad[i].json, &err, &a);
    free(a);
    if (st != AG_ERR_INPUT || strcmp(err.field, bad[i].field) || !strstr(err.reason, bad[i].reason))
      fail_msg("%s: got %d %s: %s", bad[i].json, st, err.field, err.reason);
  }
  /* a question not in force on the date is not a question of that questionnaire */
  a = calloc(ag_classify_count(Q), sizeof *a);
  const char *j = "{\"5E001a-1b\": true}";
  assert_int_equal(ag_classify_answers_from_json(Q, D("2022-04-01"), j, strlen(j), a, &err),
                   AG_ERR_INPUT);
  assert_string_equal(err.field, "5E001a-1b");
  free(a);
}

static void test_result_json(void **state) {
  (void)state;
  outcome o;
  eval(&o, SW_IS " 4D004-2=y");
  ag_buf b;
  ag_buf_init(&b);
  ag_classify_result_json(Q, &o.r, &b);
  const char *s = ag_buf_cstr(&b);
  assert_non_null(strstr(s, "\"status\":\"classified\""));
  assert_non_null(strstr(s, "\"candidates\":[{\"eccn\":\"4D004\",\"for\":null,"
                            "\"cybersecurity_item\":true"));
  assert_non_null(strstr(s, "\"missing\":[],\"ruled_out\":[]"));
  assert_non_null(strstr(s, "\"reconstructed\":false"));
  ag_buf_free(&b);
  ag_classify_result_free(&o.r);
}

/* ---- validation of an edited questionnaire ---- */

static const ag_embedded_file *table(void) {
  for (size_t i = 0; i < ag_rules_embedded_count; i++)
    if (!strcmp(ag_rules_embedded[i].name, "classification.tsv"))
      return &ag_rules_embedded[i];
  fail_msg("classification.tsv is not compiled in");
  return NULL;
}

static void expect_rejected(const char *find, const char *replace, const char *reason) {
  const ag_embedded_file *f = table();
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
  ag_classify *q = NULL;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_classify_load_buffer(R, "classification.tsv", buf, len, &q, &err);
  free(buf);
  if (st == AG_OK) {
    ag_classify_free(q);
    fail_msg("accepted: '%s' -> '%s'", find, replace);
  }
  if (st != AG_ERR_RULES || strncmp(err.field, "classification.tsv", 18) ||
      !strstr(err.reason, reason))
    fail_msg("'%s' -> '%s': %d %s: %s (wanted '%s')", find, replace, st, err.field, err.reason,
             reason);
}

static void test_validation(void **state) {
  (void)state;
  expect_rejected("\tIS1,IS2a|IS2b,", "\tIS1,IS2c|IS2b,", "'IS2c' is not a question, term");
  /* a row may only name rows above it: no cycles, one pass */
  expect_rejected("result\t4A005\t-\tin_scope,", "result\t4A005\t-\tin_scope,4D004,",
                  "'4D004' is not a question, term or result defined above");
  expect_rejected("question\tIS2b\t", "question\tIS2a\t", "defined twice");
  expect_rejected("\tverbatim\t772.1 \"intrusion software\", Note 1\t",
                  "\tverbose\t772.1 \"intrusion software\", Note 1\t", "not verbatim, summary");
  expect_rejected("result\t5D001.e\t-\t", "result\t5D001.x\t-\t", "not an item of ccl-items.tsv");
  expect_rejected("result\t4E001.c\t-\t", "result\t4E001.c\t4A005\t",
                  "not an item of ccl-items.tsv");
  expect_rejected("question\tKE\t-\t-\t-\t", "question\tKE\t-\tKD\t-\t",
                  "a question is answered, not derived");
  expect_rejected("question\tKE\t-\t-\t-\t", "question\tKE\t4A005\t-\t-\t",
                  "only a result takes a \"for\"");
  /* a requirement not in force whenever the row is */
  expect_rejected("question\tKE\t-\t-\t-\t-\t-\t", "question\tKE\t-\t-\t-\t2023-01-01\t-\t",
                  "not in force whenever this row is");
  /* a question nothing reads */
  expect_rejected("\t5D001e-X,JX2,JX3,", "\tJX2,JX3,", "'5D001e-X' is used by no term or result");
  expect_rejected("kind\tid\tfor\t", "kind\tname\tfor\t", "wrong header");
  expect_rejected("in_scope\t-\t-\tA1,A2\t", "in_scope\t-\t-\tA1|A2\t",
                  "write exclusions as a ','");
}

static int setup(void **state) {
  (void)state;
  ag_error err;
  TODAY = D("2026-08-01");
  if (ag_rules_load_default(&R, &err) || ag_classify_load_default(R, &Q, &err)) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ag_classify_free(Q);
  ag_rules_free(R);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loads),         cmocka_unit_test(test_4d004),
      cmocka_unit_test(test_4a005),         cmocka_unit_test(test_4d001a),
      cmocka_unit_test(test_4e001),         cmocka_unit_test(test_5a001j),
      cmocka_unit_test(test_5b_5d_5e),      cmocka_unit_test(test_5d001e),
      cmocka_unit_test(test_5a004b),        cmocka_unit_test(test_5d002),
      cmocka_unit_test(test_scope),         cmocka_unit_test(test_cannot_tell),
      cmocka_unit_test(test_next_question), cmocka_unit_test(test_answers_json),
      cmocka_unit_test(test_result_json),   cmocka_unit_test(test_validation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
