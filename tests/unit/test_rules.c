/*
 * test_rules.c - the regulation tables: the built-in set loads and answers
 * the lookups the regulation implies on given dates; every validation rule
 * rejects a broken table with "file:line" and a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "acegate/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_rules *R;

static ag_date D(const char *s) {
  ag_date d;
  assert_true(ag_date_parse(s, strlen(s), &d));
  return d;
}

static int dest(const char *code) {
  int i = ag_rules_find_destination(R, code, strlen(code));
  assert_true(i >= 0);
  return i;
}

static bool in_group(const char *code, ag_group g, const char *date) {
  return (ag_rules_groups_on(R, dest(code), D(date)) >> g) & 1u;
}

static void test_default_loads(void **state) {
  (void)state;
  assert_true(R->n_destinations > 190);
  assert_true(R->n_groups > 400);
  assert_true(R->n_items >= 20);
  assert_string_equal(R->edition, "2026-11-27");
  assert_true(strncmp(R->version, "2026-11-27+", 11) == 0);
  /* every item row carries a source */
  for (size_t i = 0; i < R->n_items; i++)
    assert_true(strlen(R->items[i].meta.source) > 4);
}

/* Supp. 1 to part 740 and its history since 2021-10-21. */
static void test_country_groups_history(void **state) {
  (void)state;
  assert_true(in_group("CN", AG_GROUP_D1, "2023-01-01"));
  assert_true(in_group("CN", AG_GROUP_D5, "2023-01-01"));
  assert_false(in_group("MO", AG_GROUP_D5, "2023-01-01")); /* Macau: D:1 but not D:5 */
  assert_true(in_group("MO", AG_GROUP_D1, "2023-01-01"));
  /* D:5 follows the State Department's list (note to D:5): Cambodia from
   * 2021-12-09 until State took it off 22 CFR 126.1 on 2025-11-07, not
   * until BIS conformed its table (2026-02-03); it stays in D:1 */
  assert_false(in_group("KH", AG_GROUP_D5, "2021-12-08"));
  assert_true(in_group("KH", AG_GROUP_D5, "2021-12-09"));
  assert_true(in_group("KH", AG_GROUP_D5, "2025-11-06"));
  assert_false(in_group("KH", AG_GROUP_D5, "2025-11-07"));
  assert_false(in_group("KH", AG_GROUP_D5, "2026-02-02"));
  assert_true(in_group("KH", AG_GROUP_D1, "2026-06-01"));
  /* Ethiopia: on 22 CFR 126.1 from 2021-11-01 (86 FR 60165), never in the
   * BIS table, so D:5 from that date; still in B */
  assert_false(in_group("ET", AG_GROUP_D5, "2021-10-31"));
  assert_true(in_group("ET", AG_GROUP_D5, "2021-11-01"));
  assert_true(in_group("ET", AG_GROUP_D5, "2026-07-23"));
  assert_true(in_group("ET", AG_GROUP_B, "2026-07-23"));
  assert_false(in_group("ET", AG_GROUP_D1, "2026-07-23"));
  /* Cyprus: the State suspension from 2022-10-01 */
  assert_true(in_group("CY", AG_GROUP_D5, "2022-09-30"));
  assert_false(in_group("CY", AG_GROUP_D5, "2022-10-01"));
  /* Nicaragua into D:1 and D:5 on 2024-03-15, out of B (FR Doc 2024-05696) */
  assert_false(in_group("NI", AG_GROUP_D1, "2024-03-14"));
  assert_true(in_group("NI", AG_GROUP_B, "2024-03-14"));
  assert_true(in_group("NI", AG_GROUP_D1, "2024-03-15"));
  assert_true(in_group("NI", AG_GROUP_D5, "2024-03-15"));
  assert_false(in_group("NI", AG_GROUP_B, "2024-03-15"));
  /* Russia and Belarus in every D group; Iran, North Korea, Syria E:1; Cuba E:2 */
  for (ag_group g = AG_GROUP_D1; g <= AG_GROUP_D5; g++) {
    assert_true(in_group("RU", g, "2023-01-01"));
    assert_true(in_group("BY", g, "2023-01-01"));
  }
  assert_true(in_group("IR", AG_GROUP_E1, "2023-01-01"));
  assert_true(in_group("KP", AG_GROUP_E1, "2023-01-01"));
  assert_true(in_group("SY", AG_GROUP_E1, "2023-01-01"));
  assert_true(in_group("CU", AG_GROUP_E2, "2023-01-01"));
  assert_false(in_group("CU", AG_GROUP_E1, "2023-01-01"));
  /* the A:6 countries also in a D group: Israel, Taiwan, and Cyprus until 2022-09-30 */
  assert_true(in_group("IL", AG_GROUP_A6, "2023-01-01") && in_group("IL", AG_GROUP_D2, "2023-01-01"));
  assert_true(in_group("TW", AG_GROUP_A6, "2023-01-01") && in_group("TW", AG_GROUP_D3, "2023-01-01"));
  assert_true(in_group("CY", AG_GROUP_D5, "2022-09-30"));
  assert_false(in_group("CY", AG_GROUP_D5, "2022-10-01"));
  /* Hong Kong takes China's entries (85 FR 83788) */
  assert_int_equal(ag_rules_groups_on(R, dest("HK"), D("2024-01-01")),
                   ag_rules_groups_on(R, dest("CN"), D("2024-01-01")));
}

static void test_country_chart(void **state) {
  (void)state;
  const ag_chart_row *c = ag_rules_chart_on(R, dest("CA"), D("2024-01-01"));
  assert_non_null(c);
  assert_int_equal(c->mark[AG_COL_NS1], AG_MARK_NONE); /* Canada: no NS1 X */
  assert_int_equal(c->mark[AG_COL_EI], AG_MARK_NONE);  /* 742.15: EI licence except Canada */
  c = ag_rules_chart_on(R, dest("AU"), D("2024-04-18"));
  assert_int_equal(c->mark[AG_COL_NS1], AG_MARK_X);
  c = ag_rules_chart_on(R, dest("AU"), D("2024-04-19"));
  assert_int_equal(c->mark[AG_COL_NS1], AG_MARK_NONE);
  c = ag_rules_chart_on(R, dest("DE"), D("2024-01-01"));
  assert_int_equal(c->mark[AG_COL_NS1], AG_MARK_X);
  assert_int_equal(c->mark[AG_COL_NS2], AG_MARK_NONE); /* one of the 40 NS2-free rows */
  assert_int_equal(c->mark[AG_COL_EI], AG_MARK_X);
  c = ag_rules_chart_on(R, dest("IR"), D("2024-01-01"));
  assert_int_equal(c->mark[AG_COL_NS1], AG_MARK_PART746);
  c = ag_rules_chart_on(R, dest("UA-43"), D("2024-01-01")); /* region -> Ukraine's row */
  assert_int_equal(c->mark[AG_COL_NS2], AG_MARK_X);
}

static void test_embargoes(void **state) {
  (void)state;
  const ag_embargo *e = ag_rules_embargo_on(R, dest("RU"), D("2022-02-23"));
  assert_null(e);
  e = ag_rules_embargo_on(R, dest("RU"), D("2022-02-24"));
  assert_non_null(e);
  assert_string_equal(e->exceptions_cite, "746.8(c)(2)");
  assert_true(e->deemed_excluded);
  assert_true(e->lists_enc);
  assert_null(ag_rules_embargo_on(R, dest("BY"), D("2022-03-01")));
  assert_non_null(ag_rules_embargo_on(R, dest("BY"), D("2022-03-02")));
  e = ag_rules_embargo_on(R, dest("UA-14"), D("2023-01-01"));
  assert_non_null(e);
  assert_true(e->partial);
  assert_null(ag_rules_embargo_on(R, dest("UA"), D("2023-01-01")));
  assert_string_equal(ag_rules_embargo_on(R, dest("CU"), D("2023-01-01"))->exceptions_cite,
                      "746.2(a)(1)");
  /* 746.8 before the 2024 consolidation (89 FR 51644): cited by today's
   * numbering, and the row says so; from 2024-06-12 as numbered */
  e = ag_rules_embargo_on(R, dest("RU"), D("2024-06-11"));
  assert_true(e->numbering_current);
  assert_string_equal(e->deemed_cite, "746.8(a)(12)(i)");
  assert_false(ag_rules_embargo_on(R, dest("RU"), D("2024-06-12"))->numbering_current);
  /* 746.8(c)(2)(vi): ENC for the civil end users it names and for missions
   * of A:5/A:6 governments; never an individual or another government */
  e = ag_rules_embargo_on(R, dest("BY"), D("2025-01-01"));
  ag_groupset a5 = 1u << AG_GROUP_A5, d1 = 1u << AG_GROUP_D1;
  assert_true(ag_rules_embargo_enc_for(e, AG_EU_NON_GOVERNMENT, d1));
  assert_true(ag_rules_embargo_enc_for(e, AG_EU_GOVERNMENT, a5));
  assert_false(ag_rules_embargo_enc_for(e, AG_EU_GOVERNMENT, d1));
  assert_false(ag_rules_embargo_enc_for(e, AG_EU_INDIVIDUAL, a5));
  /* Iraq: 746.3(a)(1) reaches CCL items by reasons for control (NS, EI,
   * ...), not AT alone; 746.3(c) lists ENC for anyone and no ACE */
  e = ag_rules_embargo_on(R, dest("IQ"), D("2023-06-15"));
  assert_non_null(e);
  assert_string_equal(e->exceptions_cite, "746.3(c)");
  assert_true(ag_rules_embargo_reaches(e, 1u << AG_COL_NS1 | 1u << AG_COL_AT1));
  assert_true(ag_rules_embargo_reaches(e, 1u << AG_COL_NS2));
  assert_false(ag_rules_embargo_reaches(e, 1u << AG_COL_AT1));
  assert_false(ag_rules_embargo_reaches(e, 0));
  assert_true(ag_rules_embargo_enc_for(e, AG_EU_INDIVIDUAL, d1));
  assert_true(ag_rules_embargo_reaches(ag_rules_embargo_on(R, dest("IR"), D("2023-01-01")), 0));
  /* Syria: 746.9 as it stood until 2025-09-01, and as 90 FR 42315 revised it */
  e = ag_rules_embargo_on(R, dest("SY"), D("2025-09-01"));
  assert_null(strstr(e->exceptions, "SPP"));
  assert_int_equal(e->meta.status, AG_TEXT_VERIFIED);
  e = ag_rules_embargo_on(R, dest("SY"), D("2025-09-02"));
  assert_non_null(strstr(e->exceptions, "SPP"));
  assert_int_equal(e->meta.status, AG_TEXT_SECONDARY);
}

static void test_items(void **state) {
  (void)state;
  const ag_item *it;
  ag_date d = D("2023-01-01");
  assert_int_equal(ag_rules_find_item(R, "4D004", NULL, d, &it), AG_ITEM_FOUND);
  assert_true(it->cyber_item);
  assert_int_equal(it->family, AG_FAMILY_INTRUSION);
  assert_int_equal(ag_rules_find_item(R, "5A001.j", NULL, d, &it), AG_ITEM_FOUND);
  assert_true(it->controls & (1u << AG_COL_NS2)); /* 5A001.j is NS2 */
  assert_false(it->controls & (1u << AG_COL_NS1));
  assert_int_equal(ag_rules_find_item(R, "5A001.j.1.a", NULL, d, &it), AG_ITEM_FOUND);
  assert_string_equal(it->paragraph, "5A001.j");
  /* Note to 5E002.a: it does not apply to technology for 5A004.b, 5D002.a.3.b or
   * 5D002.c.3.b, so it is not that family's technology and is not carried */
  assert_int_equal(ag_rules_find_item(R, "5E002.a", NULL, d, &it), AG_ITEM_OUTSIDE_SCOPE);
  assert_int_equal(ag_rules_find_item(R, "5D002.c.3.b", NULL, d, &it), AG_ITEM_FOUND);
  assert_int_equal(ag_rules_find_item(R, "4D001.a", NULL, d, &it), AG_ITEM_NEEDS_FOR);
  assert_int_equal(ag_rules_find_item(R, "4D001.a", "4A005", d, &it), AG_ITEM_FOUND);
  assert_int_equal(ag_rules_find_item(R, "4D001.a", "4A001", d, &it), AG_ITEM_OTHER_FOR);
  assert_int_equal(ag_rules_find_item(R, "5A004.b", NULL, d, &it), AG_ITEM_FOUND);
  assert_false(it->cyber_item);
  assert_true(it->controls & (1u << AG_COL_EI));
  assert_int_equal(ag_rules_find_item(R, "5A001.a", NULL, d, &it), AG_ITEM_OUTSIDE_SCOPE);
  assert_int_equal(ag_rules_find_item(R, "4D004.x", NULL, d, &it), AG_ITEM_NOT_ON_CCL);
  assert_int_equal(ag_rules_find_item(R, "3A001", NULL, d, &it), AG_ITEM_UNKNOWN_ENTRY);
  assert_int_equal(ag_rules_find_item(R, "4D4", NULL, d, &it), AG_ITEM_MALFORMED);
  assert_int_equal(ag_rules_find_item(R, "4d004", NULL, d, &it), AG_ITEM_MALFORMED);
  /* 5E001.a for 5B001.a only from the final rule (not in the IFR's 740.22(b)(1)) */
  assert_int_equal(ag_rules_find_item(R, "5E001.a", "5B001.a", D("2022-05-25"), &it),
                   AG_ITEM_OTHER_FOR);
  assert_int_equal(ag_rules_find_item(R, "5E001.a", "5B001.a", D("2022-05-26"), &it),
                   AG_ITEM_FOUND);
}

/* ---- validation: each broken table is rejected naming file:line ---- */

typedef struct {
  const char *file;
  const char *find;    /* text to replace (first occurrence) */
  const char *replace;
  const char *where;   /* expected prefix of err.field */
  const char *reason;  /* expected substring of err.reason */
} mutation;

static void expect_rejected(const mutation *m) {
  ag_embedded_file files[32];
  char *patched = NULL;
  size_t n = ag_rules_embedded_count;
  assert_true(n <= 32);
  for (size_t i = 0; i < n; i++) {
    files[i] = ag_rules_embedded[i];
    if (!strcmp(files[i].name, m->file)) {
      if (!m->find) { /* drop the file */
        files[i].name = "dropped.tsv";
        continue;
      }
      const char *at = strstr(files[i].data, m->find);
      if (!at)
        fail_msg("%s: '%s' not found", m->file, m->find);
      size_t pre = (size_t)(at - files[i].data), fl = strlen(m->find), rl = strlen(m->replace);
      patched = malloc(files[i].len - fl + rl + 1);
      memcpy(patched, files[i].data, pre);
      memcpy(patched + pre, m->replace, rl);
      memcpy(patched + pre + rl, at + fl, files[i].len - pre - fl);
      files[i].len = files[i].len - fl + rl;
      patched[files[i].len] = '\0';
      files[i].data = patched;
    }
  }
  ag_rules *r = NULL;
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_rules_load_files(files, n, &r, &err);
  free(patched);
  if (st == AG_OK) {
    ag_rules_free(r);
    fail_msg("%s: the broken table (%s -> %s) was accepted", m->file, m->find, m->replace);
  }
  assert_null(r);
  if (strncmp(err.field, m->where, strlen(m->where)) != 0 || !strstr(err.reason, m->reason))
    fail_msg("%s: got '%s: %s', wanted '%s...: ...%s...'", m->file, err.field, err.reason,
             m->where, m->reason);
}

static void test_validation_errors(void **state) {
  (void)state;
  static const mutation cases[] = {
      {"country-groups.tsv", "D:1\tCN\t", "D:9\tCN\t", "country-groups.tsv:", "not a Country Group"},
      {"country-groups.tsv", "D:1\tCN\t", "D:1\tXX\t", "country-groups.tsv:", "not a destination"},
      {"country-groups.tsv", "group\tcode\tfrom", "group\tcountry\tfrom", "country-groups.tsv:", "wrong header"},
      {"country-groups.tsv", "D:5\tNI\t2024-03-15", "D:5\tNI\t2024-13-15", "country-groups.tsv:", "not a date"},
      {"country-groups.tsv", "D:5\tNI\t2024-03-15\t-", "D:5\tNI\t2024-03-15\t2024-03-01", "country-groups.tsv:", "ends before it starts"},
      {"country-groups.tsv", "E:1\tIR\t-\t-\textracted\teCFR", "E:1\tIR\t-\t-\tguessed\teCFR", "country-groups.tsv:", "not a status"},
      {"country-groups.tsv", "E:1\tIR\t-\t-\textracted\t", "E:1\tIR\t-\t-\textracted\t-\n#", "country-groups.tsv:", "source"},
      {"country-groups.tsv", "E:1\tIR\t-\t-\t", "E:1\tIR\t-\t", "country-groups.tsv:", "fields where the header has"},
      {"country-groups.tsv", "E:1\tIR\t-\t-\t", "E:1\tIR\t-\t\t", "country-groups.tsv:", "empty field"},
      {"country-chart.tsv", "CN\t-\t-\tX\t", "CN\t-\t-\tY\t", "country-chart.tsv:", "not X, - or 746"},
      {"country-chart.tsv", "AU\t2024-04-19", "AU\t2024-04-10", "country-chart.tsv:", "overlaps"},
      {"destinations.tsv", "HK\tHong Kong\tterritory\tCN", "HK\tHong Kong\tterritory\tQQ", "destinations.tsv:", "chart_as"},
      {"destinations.tsv", "HK\tHong Kong", "hk\tHong Kong", "destinations.tsv:", "ISO 3166"},
      {"destinations.tsv", "KY\tCayman Islands\tterritory", "CN\tCayman Islands\tterritory", "destinations.tsv:", "listed twice"},
      {"ccl-items.tsv", "4D004\t-\tintrusion\tyes", "4D004\t-\tintrusion\tmaybe", "ccl-items.tsv:", "yes or no"},
      {"ccl-items.tsv", "4D004\t-\tintrusion", "4D099\t-\tintrusion", "ccl-items.tsv:", "not in ccl-paragraphs.tsv"},
      {"ccl-items.tsv", "4D004\t-\tintrusion\tyes\tNS1,AT1", "4D004\t-\tintrusion\tyes\tNS1,ZZ9", "ccl-items.tsv:", "chart column"},
      {"embargoes.tsv", "RU\t746.8", "RU\t744.8", "embargoes.tsv:", "part 746"},
      {"embargoes.tsv", "TMP,GOV,TSU,BAG,AVS,ENC,CCD,MED", "TMP,ACE", "embargoes.tsv:", "lists ACE"},
      {"ace-restrictions.tsv", "D:1,D:2,D:3,D:4,D:5", "D:1,D:2,X:3", "ace-restrictions.tsv:", "Country Group"},
      {"ace-restrictions.tsv", "\tgovernment\t", "\tgovernmental\t", "ace-restrictions.tsv:", "end-user type"},
      {"ace-exceptions.tsv", "ace-ngeu\t740.22(c)(1)(iii)(B)", "ace-xxx\t740.22(c)(1)(iii)(B)", "ace-exceptions.tsv:", "not an id"},
      {"ace-exceptions.tsv", "vulnerability_disclosure,cyber_incident_response\t*", "vulnerability_disclosure,hacking\t*", "ace-exceptions.tsv:", "end use"},
      {"meta.tsv", "edition\t", "editon\t", "meta.tsv:", "unknown key"},
      /* one ECCN syntax for the tables and the lookups: what a lookup calls
       * malformed does not load */
      {"ccl-paragraphs.tsv", "4A005\t4A005\t", "4A005..q\t4A005\t", "ccl-paragraphs.tsv:",
       "not a CCL paragraph"},
      {"ccl-paragraphs.tsv", "4A005\t4A005\t", "4A005.\t4A005\t", "ccl-paragraphs.tsv:",
       "not a CCL paragraph"},
      {"meta.tsv", "rule_in_force_cite\t", "rule_in_force_cit\t", "meta.tsv:", "unknown key"},
      {"ccl-new-items.tsv", "4D004\t-\t2022", "4D099\t-\t2022", "ccl-new-items.tsv:",
       "not an item"},
      {"outside-scope.tsv", "5A002\t740.22", "5A02\t740.22", "outside-scope.tsv:",
       "not an ECCN entry"},
      {"outside-scope.tsv", "5A002\t740.22", "4D004\t740.22", "outside-scope.tsv:",
       "acegate decides"},
      {"outside-scope.tsv", "\n*\t740.22", "\n#\t740.22", "outside-scope.tsv",
       "'*' row"},
      {"list-meanings.tsv", "UVL\t-\tREVIEW", "UVL\t-\tNLR", "list-meanings.tsv:",
       "not REVIEW, LICENSE_REQUIRED or PROHIBITED"},
      {"list-meanings.tsv", "UVL\t-\tREVIEW\t744.15\tyes", "UVL\t-\tREVIEW\t744.15\tperhaps",
       "list-meanings.tsv:", "yes or no"},
      {"list-meanings.tsv", "MEU\t-\tLICENSE_REQUIRED", "EL\t-\tLICENSE_REQUIRED",
       "list-meanings.tsv:", "overlaps"},
      {"destinations.tsv", "US\tUnited States\tunited_states\tUS", "US\tUnited States\tunited_states\tCA",
       "destinations.tsv:", "governed by no other row"},
      {"embargoes.tsv", NULL, NULL, "embargoes.tsv", "missing"},
      {"embargoes.tsv", "reasons:NS,", "reasons:NX,", "embargoes.tsv:", "not a reason for control"},
      {"embargoes.tsv", "reasons:NS,MT,NP,CW,CB,RS,CC,EI,SI,SL", "reasons:MT,UN", "embargoes.tsv:",
       "reach nothing"},
      {"embargoes.tsv", "\tall_items\t746.2(a)(1)", "\tccl_only\t746.2(a)(1)", "embargoes.tsv:",
       "not all_items"},
      {"embargoes.tsv", "\t746.3(c)\t", "\t746.9(c)\t", "embargoes.tsv:", "not a paragraph of 746.3"},
      {"embargoes.tsv", "ENC\t*\twhole", "ENC\t-\twhole", "embargoes.tsv:", "say for whom"},
      {"embargoes.tsv", "SCP\t-\twhole", "SCP\t*\twhole", "embargoes.tsv:", "ENC is not among"},
      {"embargoes.tsv", "government@A:5/A:6", "government", "embargoes.tsv:", "needs @groups"},
      {"embargoes.tsv", "government@A:5/A:6", "government@A:5/Z:6", "embargoes.tsv:",
       "not a Country Group"},
      {"embargoes.tsv", "excluded\t746.8(a)(12)(i)", "excluded\t-", "embargoes.tsv:",
       "name the paragraph"},
      {"embargoes.tsv", "applies\t-\tas_of\t2004", "applies\t746.3(a)\tas_of\t2004",
       "embargoes.tsv:", "only an excluded row"},
      {"embargoes.tsv", "\tas_of\t2004-07-30", "\ttoday\t2004-07-30", "embargoes.tsv:",
       "as_of or current"},
      {"embargoes.tsv", "as_of\t2025-09-02", "as_of\t2025-09-01", "embargoes.tsv:", "overlaps"},
      {"d5-state-list.tsv", NULL, NULL, "d5-state-list.tsv", "missing"},
      {"d5-state-list.tsv", "\tstate\tsecondary", "\tstatelist\tsecondary", "d5-state-list.tsv:",
       "not state or table"},
      {"d5-state-list.tsv", "ET\t2021-11-01", "NI\t2021-11-01", "d5-state-list.tsv:",
       "hold it in one place"},
      {"d5-state-list.tsv", "ET\t2021-11-01", "UA-43\t2021-11-01", "d5-state-list.tsv:",
       "not a country"},
      {"d5-state-list.tsv", "none\tnone", "none\t2022-01-01", "d5-state-list.tsv:", "none in both"},
      {"d5-state-list.tsv", "-\t?\t", "-\t2022-13-01\t", "d5-state-list.tsv:", "not a date"},
      {"d5-state-list.tsv", "is not known\tstate", "is not known\ttable", "d5-state-list.tsv:",
       "cannot govern"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_rejected(&cases[i]);
  /* an overlapping membership period for the same group and country */
  mutation overlap = {"country-groups.tsv", "D:5\tNI\t2024-03-15\t-\tsecondary",
                      "D:5\tNI\t2024-03-15\t-\tsecondary\teCFR x\nD:5\tNI\t2025-01-01\t-\tsecondary",
                      "country-groups.tsv:", "overlaps"};
  expect_rejected(&overlap);
  /* invalid UTF-8 anywhere in a table */
  mutation utf8 = {"ccl-items.tsv", "Systems, equipment", "Systems\xff equipment", "ccl-items.tsv",
                   "UTF-8"};
  expect_rejected(&utf8);
}

static void test_load_dir_errors(void **state) {
  (void)state;
  ag_rules *r = NULL;
  ag_error err;
  assert_int_equal(ag_rules_load_dir("/nonexistent-acegate-dir", &r, &err), AG_ERR_IO);
  assert_non_null(strstr(err.field, "meta.tsv"));
  assert_null(r);
  /* the repository's tables load from disk and give the built-in version */
  assert_int_equal(ag_rules_load_dir("data/rules", &r, &err), AG_OK);
  assert_string_equal(r->version, R->version);
  ag_rules_free(r);
}

int main(void) {
  ag_error err;
  if (ag_rules_load_default(&R, &err)) {
    fprintf(stderr, "%s: %s\n", err.field, err.reason);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_loads),   cmocka_unit_test(test_country_groups_history),
      cmocka_unit_test(test_country_chart),   cmocka_unit_test(test_embargoes),
      cmocka_unit_test(test_items),           cmocka_unit_test(test_validation_errors),
      cmocka_unit_test(test_load_dir_errors),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ag_rules_free(R);
  return rc;
}
