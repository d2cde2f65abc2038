/*
 * test_screen.c - restricted-party screening: the loaders on every published
 * format (in-repo excerpts always; the full files in ../shared/data when
 * present), the normaliser, the matcher, the cases that must come out
 * right (the 86 FR 60760 cyber-tool entities), bad input of every kind,
 * corrupt index files, and replacing the lists in force.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../src/screen/screen_int.h"
#include "acegate/screen.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIX "tests/screen/fixtures"
#define SHARED "../shared/data/screening"

static ag_screen *B; /* the bundled lists */

static bool shared_present(void) {
  struct stat st;
  return stat(SHARED "/SOURCES.md", &st) == 0;
}

static ag_screen *open1(const char *path) {
  ag_error err;
  ag_error_clear(&err);
  ag_screen *s = NULL;
  const char *p[] = {path};
  ag_status st = ag_screen_open_paths(p, 1, &s, &err);
  if (st)
    fail_msg("%s: %s: %s", path, err.field, err.reason);
  return s;
}

/* the first match of list `code` (NULL: any) for name, or NULL */
static const ag_screen_match *hit(const ag_screen *s, ag_screen_result *r, const char *name,
                                  const char *country, const char *code) {
  ag_error err;
  ag_error_clear(&err);
  ag_status st = ag_screen_query(s, name, strlen(name), country, r, &err);
  if (st)
    fail_msg("query '%s': %s: %s", name, err.field, err.reason);
  for (size_t i = 0; i < r->count; i++)
    if (!code || !strcmp(r->matches[i].list_code, code))
      return &r->matches[i];
  return NULL;
}

static size_t list_entries(const ag_screen *s, const char *code) {
  size_t n = 0;
  for (size_t i = 0; i < ag_screen_list_count(s); i++)
    if (!strcmp(ag_screen_list(s, i)->code, code))
      n += ag_screen_list(s, i)->entries;
  return n;
}

static ag_status load_status(const char *path, ag_error *err) {
  ag_screen *s = NULL;
  const char *p[] = {path};
  ag_error_clear(err);
  ag_status st = ag_screen_open_paths(p, 1, &s, err);
  ag_screen_close(s);
  return st;
}

static char tmpdir[64];

static void write_file(const char *name, const char *data, size_t len) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static const char *tpath(const char *name) {
  static char path[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
  return path[k];
}

static int setup(void **state) {
  (void)state;
  ag_error err;
  if (ag_screen_open_builtin(&B, &err)) {
    fprintf(stderr, "built-in lists: %s\n", err.reason);
    return -1;
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/acegate-screen-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ag_screen_close(B);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- the bundled snapshot ---- */

static void test_builtin_snapshot(void **state) {
  (void)state;
  const ag_screen_index_info *ii = ag_screen_info(B);
  assert_string_equal(ii->origin, "built-in");
  assert_int_equal(ii->entries, 25921);
  assert_int_equal(strlen(ii->checksum), 64);
  assert_int_equal(list_entries(B, "SDN"), 19181);
  assert_int_equal(list_entries(B, "EL"), 3420);
  assert_int_equal(list_entries(B, "DPL"), 1596);
  assert_int_equal(list_entries(B, "DTC"), 787);
  assert_int_equal(list_entries(B, "SSI"), 286);
  assert_int_equal(list_entries(B, "UVL"), 222);
  assert_int_equal(list_entries(B, "ISN"), 161);
  assert_int_equal(list_entries(B, "PLC"), 78);
  assert_int_equal(list_entries(B, "MEU"), 70);
  assert_int_equal(list_entries(B, "CMIC"), 68);
  assert_int_equal(list_entries(B, "NS-MBS"), 51);
  assert_int_equal(list_entries(B, "CAP"), 1);
  for (size_t i = 0; i < ag_screen_list_count(B); i++) {
    const ag_screen_list_info *l = ag_screen_list(B, i);
    assert_string_equal(l->date, "2026-07-31");
    assert_string_equal(l->files, "csl-2026-07-31.csv");
    assert_string_equal(l->format, "csl-csv");
    assert_int_equal(strlen(l->sha256), 64);
  }
}

/* ---- the cases that must come out right: 86 FR 60760 (2021-11-04) ---- */

static void expect_el(const char *name, const char *country, const char *entry) {
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(B, &r, name, country, "EL");
  if (!m)
    fail_msg("'%s': no Entity List match", name);
  if (m->level != AG_SCREEN_LEVEL_CONFIDENT)
    fail_msg("'%s': %.3f is not confident (%s)", name, m->score, m->reason);
  if (strcmp(m->entry_name, entry))
    fail_msg("'%s': matched '%s', wanted '%s'", name, m->entry_name, entry);
  assert_string_equal(m->list_name, "Entity List");
  assert_non_null(strstr(m->federal_register_notice, "86 FR 60760"));
  assert_non_null(strstr(m->license_requirement, "744.11"));
  assert_non_null(strstr(m->license_policy, "resumption of denial"));
  assert_true(strncmp(m->source_id, "csl:", 4) == 0);
  assert_true(m->reason && *m->reason);
  assert_true(m->token_count > 0);
  ag_screen_result_free(&r);
}

static void test_cyber_tool_entities(void **state) {
  (void)state;
  expect_el("NSO Group", "IL", "NSO Group");
  expect_el("Candiru", "IL", "Candiru");
  static const char *const candiru[] = {
      "Candiru Ltd.", "DF Associates Ltd.", "Grindavik Solutions Ltd.",
      "Taveta Ltd.",  "Saito Tech Ltd.",    "Greenwick Solutions",
      "Tabatha Ltd."};
  for (size_t i = 0; i < sizeof candiru / sizeof *candiru; i++) {
    expect_el(candiru[i], NULL, "Candiru");
    expect_el(candiru[i], "IL", "Candiru");
  }
  expect_el("Positive Technologies", "RU", "Positive Technologies");
  expect_el("Computer Security Initiative Consultancy PTE. LTD.", "SG",
            "Computer Security Initiative Consultancy PTE. LTD.");
  expect_el("COSEINC", NULL, "Computer Security Initiative Consultancy PTE. LTD.");
}

static void test_cyber_tool_variants(void **state) {
  (void)state;
  /* typos */
  expect_el("NSO Gruop", NULL, "NSO Group");
  expect_el("Candru", NULL, "Candiru");
  expect_el("Saito Tehc Ltd", NULL, "Candiru");
  expect_el("Positive Technolgies", NULL, "Positive Technologies");
  expect_el("Computer Securty Initiative Consultancy", NULL,
            "Computer Security Initiative Consultancy PTE. LTD.");
  /* legal forms changed, added or dropped */
  expect_el("NSO Group Ltd.", NULL, "NSO Group");
  expect_el("NSO Group Limited", "IL", "NSO Group");
  expect_el("Candiru Limited", NULL, "Candiru");
  expect_el("Saito Tech Limited", NULL, "Candiru");
  expect_el("Grindavik Solutions", NULL, "Candiru");
  expect_el("Positive Technologies LLC", NULL, "Positive Technologies");
  expect_el("Computer Security Initiative Consultancy Private Limited", NULL,
            "Computer Security Initiative Consultancy PTE. LTD.");
  expect_el("COSEINC Pte Ltd", NULL, "Computer Security Initiative Consultancy PTE. LTD.");
  /* case, punctuation, order, script */
  expect_el("nso-group", NULL, "NSO Group");
  expect_el("TECHNOLOGIES, POSITIVE", NULL, "Positive Technologies");
  expect_el("Candirу", NULL, "Candiru"); /* a Cyrillic "у" */
  expect_el("Сandiru", NULL, "Candiru"); /* a Cyrillic "С" drawn like C, first */
}

/* ---- loaders on every published format (in-repo excerpts) ---- */

static void test_load_csl_csv_28(void **state) {
  (void)state;
  ag_screen *s = open1(FIX "/csl-sample.csv");
  assert_int_equal(ag_screen_info(s)->entries, 115);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "200G PSA HOLDINGS LLC", NULL, "SDN");
  assert_non_null(m);
  assert_string_equal(m->source_id, "20264"); /* entity_number: no _id column */
  assert_string_equal(m->programs, "SDNTK");
  assert_string_equal(m->countries, "US");
  assert_string_equal(m->entry_type, "Entity");
  /* DPL rows have no id in this layout: one from list code, name, Federal
   * Register citation and addresses (SHA-256 over them, NUL after each) */
  m = hit(s, &r, "ADRIAN MANUEL HERNANDEZ", NULL, "DPL");
  assert_non_null(m);
  assert_string_equal(m->source_id, "csl:4cefe433e6ca");
  assert_string_equal(m->federal_register_notice, "82 F.R. 48792 10/20/2017");
  /* aliases from alt_names */
  m = hit(s, &r, "MMEZ-KT OJSC", NULL, "SSI");
  assert_non_null(m);
  assert_string_equal(m->source_id, "18794");
  assert_string_equal(m->name_kind, "aka");
  assert_string_equal(m->countries, "RU");
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

static void test_load_csl_csv_29_and_json(void **state) {
  (void)state;
  const char *files[] = {FIX "/csl-consolidated-sample.csv", FIX "/csl-consolidated-sample.json",
                         FIX "/csl-consolidated-sample.tsv"};
  const char *formats[] = {"csl-csv", "csl-json", "csl-tsv"};
  for (int f = 0; f < 3; f++) {
    ag_screen *s = open1(files[f]);
    assert_int_equal(ag_screen_info(s)->entries, 13);
    assert_string_equal(ag_screen_list(s, 0)->format, formats[f]);
    ag_screen_result r;
    ag_screen_result_init(&r);
    const ag_screen_match *m = hit(s, &r, "Atlas Sanatgaran", NULL, "UVL");
    assert_non_null(m);
    assert_string_equal(m->source_id, "1b5979e8fd3920a1a0985bf5088dad930a6a5562d1513f9e4b015e42");
    assert_string_equal(m->list_name, "Unverified List");
    assert_string_equal(m->countries, "AM");
    /* Entity List: license requirement, policy, FR citation, aliases */
    m = hit(s, &r, "Hebei Semiconductor Research Institute", "CN", "EL");
    assert_non_null(m);
    assert_string_equal(m->entry_name,
                        "China Electronics Technology Group Corporation 13th Research Institute "
                        "(CETC 13)");
    assert_string_equal(m->federal_register_notice, "83 FR 37423; 87 FR 77505");
    assert_non_null(strstr(m->license_requirement, "For all items subject to the EAR"));
    assert_non_null(strstr(m->license_policy, "Policy of denial"));
    assert_string_equal(m->countries, "CN");
    /* OFAC sources: _id is the ent_num; nationalities count as countries */
    m = hit(s, &r, "RIM Ryong Nam", NULL, "SDN");
    assert_non_null(m);
    assert_string_equal(m->source_id, "52291");
    assert_string_equal(m->programs, "NPWMD");
    assert_non_null(strstr(m->countries, "KP"));
    /* the ISN qualifier is not part of the name */
    m = hit(s, &r, "Sinobright Import and Export Company", NULL, "ISN");
    assert_non_null(m);
    assert_true(m->level == AG_SCREEN_LEVEL_CONFIDENT);
    ag_screen_result_free(&r);
    ag_screen_close(s);
  }
}

static void test_load_ofac_sdn_companions(void **state) {
  (void)state;
  ag_screen *s = open1(FIX "/ofac");
  assert_int_equal(ag_screen_list_count(s), 1);
  const ag_screen_list_info *l = ag_screen_list(s, 0);
  assert_string_equal(l->code, "SDN");
  assert_string_equal(l->format, "ofac-sdn-csv");
  assert_string_equal(l->files, "sdn.csv, alt.csv, add.csv, sdn_comments.csv");
  assert_int_equal(l->entries, 44);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "BANCO NACIONAL DE CUBA", NULL, "SDN");
  assert_non_null(m);
  assert_string_equal(m->source_id, "306");
  assert_string_equal(m->entry_type, "Entity"); /* "-0-" */
  assert_string_equal(m->programs, "CUBA");
  assert_string_equal(m->countries, "CH; ES; JP; PA"); /* add.csv, country names mapped */
  assert_non_null(strstr(m->addresses, "Zweierstrasse 35, Zurich CH-8022, Switzerland"));
  /* alt.csv alias */
  m = hit(s, &r, "National Bank of Cuba", NULL, "SDN");
  assert_non_null(m);
  assert_string_equal(m->source_id, "306");
  assert_string_equal(m->name_kind, "aka");
  assert_string_equal(m->matched_name, "NATIONAL BANK OF CUBA");
  /* weak alias from the remarks: a.k.a. 'BNC' */
  m = hit(s, &r, "BNC", NULL, "SDN");
  assert_non_null(m);
  assert_string_equal(m->name_kind, "weak aka");
  /* remarks continued in sdn_comments.csv */
  bool joined = false;
  const sx_view *v = sx_handle_view(s);
  for (uint32_t i = 0; i < v->h->n_entries; i++)
    if (!strcmp(sx_str(v, v->entries[i].f[SX_F_SOURCE_ID]), "12300"))
      joined = strstr(sx_str(v, v->entries[i].f[SX_F_REMARKS]), "R D I S.A.") != NULL;
  assert_true(joined);
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

static void test_load_ofac_cons(void **state) {
  (void)state;
  ag_screen *s = open1(FIX "/ofac-cons");
  assert_int_equal(list_entries(s, "PLC"), 20);
  assert_int_equal(list_entries(s, "SSI"), 3);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "Ismail Haniya", NULL, "PLC");
  assert_non_null(m);
  assert_string_equal(m->source_id, "9639");
  assert_string_equal(m->entry_type, "Individual");
  assert_string_equal(m->list_name, "Palestinian Legislative Council List");
  assert_string_equal(ag_screen_list(s, 0)->format, "ofac-cons-csv");
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

static void test_load_dpl(void **state) {
  (void)state;
  ag_screen *s = open1(FIX "/bis-dpl-sample.txt");
  assert_int_equal(ag_screen_info(s)->entries, 20);
  assert_string_equal(ag_screen_list(s, 0)->format, "bis-dpl-tsv");
  assert_string_equal(ag_screen_list(s, 0)->date, "2022-08-29"); /* latest Last_Update */
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "Aaron Abraham Villa", NULL, "DPL");
  assert_non_null(m);
  assert_string_equal(m->source_id, "dpl:d0901327e490"); /* name, address, effective date */
  assert_string_equal(m->federal_register_notice, "87 F.R. 52741 8/29/2022");
  assert_non_null(strstr(m->addresses, "EL PASO"));
  m = hit(s, &r, "I. Ash", "US", "DPL"); /* leading blank in the file */
  assert_non_null(m);
  assert_string_equal(m->source_id, "dpl:028d5c1d90a7");
  assert_string_equal(m->countries, "US");
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

/* the real files, as published, when the shared data is there */
static void test_load_real_files(void **state) {
  (void)state;
  if (!shared_present())
    skip(); /* ../shared/data/screening is absent: nothing to compare with */
  /* the SDN list alone, then with its companions */
  ag_screen *s = open1(SHARED "/ofac-sdn.csv");
  assert_int_equal(ag_screen_info(s)->entries, 8976);
  ag_screen_close(s);
  const char *sdn[] = {SHARED "/ofac-sdn.csv", SHARED "/ofac-alt.csv", SHARED "/ofac-add.csv",
                       SHARED "/ofac-sdn-comments.csv"};
  ag_error err;
  assert_int_equal(ag_screen_open_paths(sdn, 4, &s, &err), AG_OK);
  assert_int_equal(list_entries(s, "SDN"), 8976);
  assert_true(ag_screen_info(s)->names > 8976 + 11000); /* alt.csv and weak aliases */
  assert_string_equal(ag_screen_list(s, 0)->files,
                      "ofac-sdn.csv, ofac-alt.csv, ofac-add.csv, ofac-sdn-comments.csv");
  ag_screen_close(s);
  const char *cons[] = {SHARED "/ofac-cons-prim.csv", SHARED "/ofac-cons-alt.csv",
                        SHARED "/ofac-cons-add.csv", SHARED "/ofac-cons-comments.csv"};
  assert_int_equal(ag_screen_open_paths(cons, 4, &s, &err), AG_OK);
  size_t n = 0;
  for (size_t i = 0; i < ag_screen_list_count(s); i++)
    n += ag_screen_list(s, i)->entries;
  assert_int_equal(n, 442);
  ag_screen_close(s);
  s = open1(SHARED "/bis-dpl.txt");
  assert_int_equal(ag_screen_info(s)->entries, 581);
  assert_string_equal(ag_screen_list(s, 0)->date, "2022-09-02");
  ag_screen_close(s);
  s = open1(SHARED "/csl-2026-07-31.csv");
  assert_int_equal(ag_screen_info(s)->entries, 25921);
  assert_string_equal(ag_screen_info(s)->checksum, ag_screen_info(B)->checksum);
  ag_screen_close(s);
  /* the whole directory: every list, OFAC companions joined */
  s = open1(SHARED);
  assert_int_equal(ag_screen_info(s)->entries, 25921 + 115 + 13 + 8976 + 442 + 581);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "AEROCARIBBEAN AIRLINES", "CU", "SDN");
  assert_non_null(m);
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

/* ---- the normaliser ---- */

static void norm_is(const char *in, const char *want) {
  ag_buf b;
  ag_buf_init(&b);
  ag_error err;
  ag_status st = ag_screen_normalize(in, strlen(in), &b, &err);
  if (st)
    fail_msg("'%s': %s", in, err.reason);
  const char *got = ag_buf_cstr(&b);
  if (strcmp(got, want))
    fail_msg("'%s' -> '%s', wanted '%s'", in, got, want);
  ag_buf_free(&b);
}

static void test_normalize(void **state) {
  (void)state;
  norm_is("Hangzhou Hikvision Digital Technology Co., Ltd.",
          "hangzhou hikvision digital technology co ltd");
  norm_is("TIAN YU 8 S.A.", "tian yu 8 sa"); /* initials joined */
  norm_is("J.S.C. Avangard", "jsc avangard");
  norm_is("Co.Ltd", "co ltd");
  norm_is("I. ASH", "i ash");
  norm_is("NU'MAN ALAEDDIN, Mohammed", "numan alaeddin muhammad"); /* apostrophe, variant */
  norm_is("Mohamed, Mohammad, Muhammed", "muhammad muhammad muhammad");
  norm_is("Sergey Yevgeny", "sergei evgeni");
  norm_is("Johnson & Johnson", "johnson and johnson");
  norm_is("Positive Technologies Industries Holdings", "positive technology industry holding");
  norm_is("Company Limited Corporation Incorporated", "co ltd corp inc");
  norm_is("Ｈｉｋｖｉｓｉｏｎ", "hikvision"); /* NFKC: full width */
  norm_is("Müller Straße Łódź Øresund Æther", "muller strasse lodz oresund aether");
  norm_is("José Núñez", "jose nunez");
  norm_is("Позитив Текнолоджиз", "pozitiv teknolodzhiz"); /* BGN/PCGN */
  norm_is("Общество с ограниченной ответственностью",
          "obshchestvo s ogranichennoy otvetstvennostyu");
  norm_is("华为", "hua wei");
  norm_is("Αθήνα", "athena");
  norm_is("Candirу", "candiru"); /* Cyrillic у among Latin letters */
  /* look-alikes among Latin letters read as the Latin letter they look
   * like (BGN would give s, n, r); an all-Cyrillic word is transliterated */
  norm_is("Сandiru", "candiru");
  norm_is("Нuawei", "huawei");
  norm_is("Рositive", "positive");
  norm_is("Сургут", "surgut");
  norm_is("A\xC2\xA0"
          "B",
          "a b"); /* no-break space */
}

static void test_normalize_bad_input(void **state) {
  (void)state;
  ag_buf b;
  ag_buf_init(&b);
  ag_error err;
  assert_int_equal(ag_screen_normalize("", 0, &b, &err), AG_ERR_INPUT);
  assert_int_equal(ag_screen_normalize("\xff\xfe", 2, &b, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "name");
  assert_non_null(strstr(err.reason, "UTF-8"));
  assert_int_equal(ag_screen_normalize("a\x01"
                                       "b",
                                       3, &b, &err),
                   AG_ERR_INPUT);
  assert_non_null(strstr(err.reason, "control character U+0001"));
  assert_int_equal(ag_screen_normalize("a\nb", 3, &b, &err), AG_ERR_INPUT);
  assert_int_equal(ag_screen_normalize("a\xC2\x85"
                                       "b",
                                       4, &b, &err),
                   AG_ERR_INPUT); /* C1 */
  char big[AG_SCREEN_NAME_MAX + 2];
  memset(big, 'a', sizeof big);
  assert_int_equal(ag_screen_normalize(big, sizeof big, &b, &err), AG_ERR_LIMIT);
  ag_buf_free(&b);
}

/* ---- the matcher ---- */

static void test_query_bad_input(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  ag_error err;
  assert_int_equal(ag_screen_query(B, "", 0, NULL, &r, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "name");
  assert_int_equal(ag_screen_query(B, "   ", 3, NULL, &r, &err), AG_ERR_INPUT);
  assert_non_null(strstr(err.reason, "empty"));
  assert_int_equal(ag_screen_query(B, "!!! ???", 7, NULL, &r, &err), AG_ERR_INPUT);
  assert_non_null(strstr(err.reason, "no letters"));
  assert_int_equal(ag_screen_query(B, "ab\xc3", 3, NULL, &r, &err), AG_ERR_INPUT);
  assert_int_equal(ag_screen_query(B, "a\tb", 3, NULL, &r, &err), AG_ERR_INPUT);
  char big[4096];
  memset(big, 'x', sizeof big);
  assert_int_equal(ag_screen_query(B, big, sizeof big, NULL, &r, &err), AG_ERR_LIMIT);
  /* too many words */
  char many[400] = "";
  for (int i = 0; i < 60; i++)
    strcat(many, "ab ");
  assert_int_equal(ag_screen_query(B, many, strlen(many), NULL, &r, &err), AG_ERR_LIMIT);
  /* country */
  assert_int_equal(ag_screen_query(B, "NSO Group", 9, "USA", &r, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "country");
  assert_int_equal(ag_screen_query(B, "NSO Group", 9, "Z1", &r, &err), AG_ERR_INPUT);
  assert_int_equal(ag_screen_query(B, "NSO Group", 9, "QQ", &r, &err), AG_ERR_INPUT);
  assert_int_equal(ag_screen_query(B, "NSO Group", 9, "il", &r, &err), AG_OK); /* any case */
  assert_int_equal(ag_screen_query(B, "NSO Group", 9, "", &r, &err), AG_OK);   /* none */
  /* options */
  ag_screen_request rq = {.name = "NSO Group", .len = 9, .max_matches = 51};
  assert_int_equal(ag_screen_query_ex(B, &rq, &r, &err), AG_ERR_INPUT);
  rq.max_matches = 0;
  rq.min_score = 1.5;
  assert_int_equal(ag_screen_query_ex(B, &rq, &r, &err), AG_ERR_INPUT);
  /* a result stays usable after errors */
  assert_non_null(hit(B, &r, "NSO Group", NULL, "EL"));
  ag_screen_result_free(&r);
}

static void test_ranking_and_country(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  ag_error err;
  /* best first, one match per entry */
  assert_int_equal(ag_screen_query(B, "China Electronics Technology Group", 34, NULL, &r, &err),
                   AG_OK);
  assert_true(r.count > 1);
  for (size_t i = 1; i < r.count; i++) {
    assert_true(r.matches[i - 1].score >= r.matches[i].score);
    for (size_t j = 0; j < i; j++)
      assert_false(!strcmp(r.matches[i].list_code, r.matches[j].list_code) &&
                   !strcmp(r.matches[i].source_id, r.matches[j].source_id));
  }
  /* country is evidence, not a filter */
  const ag_screen_match *m = hit(B, &r, "NSO Group", "IL", "EL");
  double with = m->score;
  assert_non_null(strstr(m->reason, "country IL"));
  m = hit(B, &r, "NSO Group", "US", "EL");
  assert_non_null(m);
  assert_true(m->score < with);
  assert_non_null(strstr(m->reason, "not the entry's"));
  /* a dropped word costs, an extra word costs less than a wrong one */
  m = hit(B, &r, "Hikvision Digital Technology", "CN", "EL");
  assert_non_null(m);
  assert_true(m->level >= AG_SCREEN_LEVEL_POSSIBLE);
  /* written together or apart */
  m = hit(B, &r, "Hik Vision", NULL, "EL");
  assert_non_null(m);
  assert_string_equal(m->matched_name, "Hikvision");
  /* transliterated from Cyrillic */
  m = hit(B, &r, "АО Позитив Текнолоджиз", "RU", "EL");
  assert_non_null(m);
  assert_string_equal(m->entry_name, "Aktsionernoe Obshchestvo Pozitiv Teknolodzhiz");
  assert_int_equal(m->level, AG_SCREEN_LEVEL_CONFIDENT);
  /* max_matches and min_score */
  ag_screen_request rq = {.name = "Technology", .len = 10, .max_matches = 3, .min_score = 0.5};
  assert_int_equal(ag_screen_query_ex(B, &rq, &r, &err), AG_OK);
  assert_true(r.count <= 3);
  for (size_t i = 0; i < r.count; i++)
    assert_true(r.matches[i].score >= 0.5);
  ag_screen_result_free(&r);
}

/* ag_screen_request.entries: only the flagged entries are matched, each
 * with the score it has without the filter; an entry that scores lower
 * than others is not crowded out */
static void test_entries_filter(void **state) {
  (void)state;
  ag_screen_result all, some;
  ag_screen_result_init(&all);
  ag_screen_result_init(&some);
  ag_error err;
  ag_screen_request rq = {.name = "China Electronics Technology Group", .len = 34,
                          .max_matches = 1};
  assert_int_equal(ag_screen_query_ex(B, &rq, &all, &err), AG_OK);
  assert_int_equal(all.count, 1);
  uint32_t best = all.matches[0].entry;
  rq.max_matches = 0;
  assert_int_equal(ag_screen_query_ex(B, &rq, &all, &err), AG_OK);
  assert_true(all.count >= 2);
  uint32_t second = all.matches[1].entry;
  double second_score = all.matches[1].score;
  size_t n = ag_screen_entry_count(B);
  uint8_t *only = calloc(n, 1);
  assert_non_null(only);
  only[second] = 1;
  rq.entries = only;
  rq.max_matches = 1; /* the best entry is not there to take the one place */
  assert_int_equal(ag_screen_query_ex(B, &rq, &some, &err), AG_OK);
  assert_int_equal(some.count, 1);
  assert_int_equal(some.matches[0].entry, second);
  assert_true(some.matches[0].entry != best);
  assert_true(fabs(some.matches[0].score - second_score) < 1e-9);
  only[second] = 0; /* nothing flagged: nothing found */
  assert_int_equal(ag_screen_query_ex(B, &rq, &some, &err), AG_OK);
  assert_int_equal(some.count, 0);
  free(only);
  ag_screen_result_free(&all);
  ag_screen_result_free(&some);
}

/* An entry is found by its list (code or name) and id, and shown with
 * every field as the list file gives it (the review item's entries) */
static void test_entry_find_and_json(void **state) {
  (void)state;
  ag_screen *two = open1(FIX "/remember-two-lists.csv");
  size_t el = ag_screen_entry_find(two, "EL", "7731");
  assert_true(el != SIZE_MAX);
  assert_int_equal(ag_screen_entry_find(two, "Entity List", "7731"), el);
  size_t uvl = ag_screen_entry_find(two, "UVL", "7731");
  assert_true(uvl != SIZE_MAX && uvl != el); /* the same id on another list */
  assert_int_equal(ag_screen_entry_find(two, "SDN", "7731"), SIZE_MAX);
  assert_int_equal(ag_screen_entry_find(two, "EL", "7732"), SIZE_MAX);
  assert_int_equal(ag_screen_entry_find(two, NULL, "7731"), SIZE_MAX);
  assert_int_equal(ag_screen_entry_find(two, "", "7731"), SIZE_MAX);
  ag_screen_close(two);

  /* csl-sample.csv: SDN entry 10863, "7TH OF TIR", seven alt_names, two
   * addresses, programs "IFSR; NPWMD" */
  ag_screen *s = open1(FIX "/csl-sample.csv");
  size_t i = ag_screen_entry_find(s, "SDN", "10863");
  assert_true(i != SIZE_MAX);
  ag_buf b;
  ag_buf_init(&b);
  ag_screen_entry_json(s, i, &b);
  json_t *j = json_loadb(b.data, b.len, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "7TH OF TIR");
  assert_string_equal(json_string_value(json_object_get(j, "list_code")), "SDN");
  json_t *want = json_pack("[s,s]", "Mobarakeh Road Km 45, Isfahan, IR",
                           "P.O. Box 81465-478, Isfahan, IR");
  assert_true(json_equal(json_object_get(j, "addresses"), want));
  json_decref(want);
  want = json_pack("[s,s]", "IFSR", "NPWMD");
  assert_true(json_equal(json_object_get(j, "programs"), want));
  json_decref(want);
  static const char *const alt[] = {"7TH OF TIR INDUSTRIAL COMPLEX",
                                    "7TH OF TIR INDUSTRIES",
                                    "MOJTAMAE SANATE HAFTOME TIR",
                                    "SANAYE HAFTOME TIR",
                                    "7TH OF TIR INDUSTRIES OF ISFAHAN/ESFAHAN",
                                    "7TH OF TIR COMPLEX",
                                    "SEVENTH OF TIR"};
  json_t *aliases = json_object_get(j, "aliases");
  assert_int_equal(json_array_size(aliases), 7);
  for (size_t k = 0; k < 7; k++) {
    bool found = false;
    size_t n;
    json_t *a;
    json_array_foreach(aliases, n, a) {
      found |= !strcmp(json_string_value(json_object_get(a, "name")), alt[k]);
    }
    if (!found)
      fail_msg("alias %s missing", alt[k]);
  }
  char hex[AG_SCREEN_ENTRY_HASH_HEX];
  ag_screen_entry_hash(s, i, hex);
  assert_string_equal(json_string_value(json_object_get(j, "entry_hash")), hex);
  json_decref(j);
  ag_buf_free(&b);
  ag_screen_close(s);
}

static void test_not_listed(void **state) {
  (void)state;
  static const char *const clean[] = {"Microsoft Corporation",
                                      "Siemens AG",
                                      "Toyota Motor Corporation",
                                      "Nordic Precision Components GmbH",
                                      "Emily Johnson",
                                      "Blue Harbor Logistics Ltd"};
  ag_screen_result r;
  ag_screen_result_init(&r);
  for (size_t i = 0; i < sizeof clean / sizeof *clean; i++) {
    const ag_screen_match *m = hit(B, &r, clean[i], NULL, NULL);
    if (m && m->level == AG_SCREEN_LEVEL_CONFIDENT)
      fail_msg("'%s' confidently matched '%s' (%.3f)", clean[i], m->matched_name, m->score);
  }
  ag_screen_result_free(&r);
}

static void test_brute_force_baseline(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  ag_error err;
  ag_screen_request rq = {.name = "Candiru", .len = 7, .mode = AG_SCREEN_MODE_BRUTE_JW};
  assert_int_equal(ag_screen_query_ex(B, &rq, &r, &err), AG_OK);
  assert_true(r.count >= 1);
  assert_string_equal(r.matches[0].entry_name, "Candiru");
  assert_true(r.matches[0].score > 0.999);
  assert_non_null(strstr(r.matches[0].reason, "Jaro-Winkler"));
  ag_screen_result_free(&r);
  /* the measures themselves */
  assert_true(sx_jaro_winkler("martha", 6, "marhta", 6) > 0.96);
  assert_true(sx_jaro_winkler("martha", 6, "marhta", 6) < 0.962);
  assert_true(sx_jaro_winkler("abc", 3, "xyz", 3) == 0.0);
  assert_int_equal(sx_osa_distance("group", 5, "gruop", 5, 2), 1);
  assert_int_equal(sx_osa_distance("kitten", 6, "sitting", 7, 3), 3);
  assert_int_equal(sx_osa_distance("kitten", 6, "sitting", 7, 1), 2); /* gave up */
}

typedef struct {
  const char *name;
  char want[128];
  bool ok;
} tq;

static void *thread_queries(void *p) {
  tq *t = p;
  ag_screen_result r;
  ag_screen_result_init(&r);
  ag_error err;
  t->ok = true;
  for (int i = 0; i < 200 && t->ok; i++) {
    if (ag_screen_query(B, t->name, strlen(t->name), NULL, &r, &err) || !r.count ||
        strcmp(r.matches[0].entry_name, t->want))
      t->ok = false;
  }
  ag_screen_result_free(&r);
  return NULL;
}

static void test_shared_handle_threads(void **state) {
  (void)state;
  tq t[4] = {{"NSO Group", "NSO Group", false},
             {"Saito Tech", "Candiru", false},
             {"Позитив Текнолоджиз", "Aktsionernoe Obshchestvo Pozitiv Teknolodzhiz", false},
             {"COSEINC", "Computer Security Initiative Consultancy PTE. LTD.", false}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, thread_queries, &t[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(t[i].ok);
  }
}

/* Entry digests are kept with the handle once computed: four threads
 * hashing every entry of a fresh handle at once, each starting elsewhere,
 * get what a handle that has kept nothing computes, and so does a second
 * pass over what they kept. */
typedef struct {
  const ag_screen *s;
  size_t from, n;
  char (*hex)[AG_SCREEN_ENTRY_HASH_HEX];
} digest_job;

static void *hash_entries(void *arg) {
  digest_job *j = arg;
  for (size_t k = 0; k < j->n; k++) {
    size_t i = (j->from + k) % j->n;
    ag_screen_entry_hash(j->s, i, j->hex[i]);
  }
  return NULL;
}

static void test_entry_digests_kept(void **state) {
  (void)state;
  ag_error err;
  ag_screen *fresh, *shared;
  assert_int_equal(ag_screen_open_builtin(&fresh, &err), AG_OK);
  assert_int_equal(ag_screen_open_builtin(&shared, &err), AG_OK);
  size_t n = ag_screen_entry_count(fresh);
  assert_true(n > 10000);
  char(*want)[AG_SCREEN_ENTRY_HASH_HEX] = calloc(n, sizeof *want);
  assert_non_null(want);
  digest_job one = {fresh, 0, n, want};
  hash_entries(&one);
  char(*per[4])[AG_SCREEN_ENTRY_HASH_HEX];
  digest_job jobs[4];
  pthread_t th[4];
  for (int t = 0; t < 4; t++) {
    per[t] = calloc(n, AG_SCREEN_ENTRY_HASH_HEX);
    assert_non_null(per[t]);
    jobs[t] = (digest_job){shared, n * (size_t)t / 4, n, per[t]};
    assert_int_equal(pthread_create(&th[t], NULL, hash_entries, &jobs[t]), 0);
  }
  for (int t = 0; t < 4; t++)
    pthread_join(th[t], NULL);
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < n; i++)
      if (strcmp(per[t][i], want[i]) != 0)
        fail_msg("thread %d, entry %zu: %s, want %s", t, i, per[t][i], want[i]);
  /* the second pass reads what was kept */
  hash_entries(&jobs[0]);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(per[0][i], want[i]);
  /* distinct entries, distinct digests (each covers every field) */
  assert_string_not_equal(want[0], want[1]);
  for (int t = 0; t < 4; t++)
    free(per[t]);
  free(want);
  ag_screen_close(fresh);
  ag_screen_close(shared);
}

static void test_match_json(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(B, &r, "Saito Tech Ltd.", NULL, "EL");
  ag_buf b;
  ag_buf_init(&b);
  ag_screen_match_json(m, false, &b);
  const char *j = ag_buf_cstr(&b);
  assert_non_null(strstr(j, "\"list\":\"Entity List\""));
  assert_non_null(strstr(j, "\"source_id\":\"csl:"));
  assert_non_null(strstr(j, "\"name\":\"Saito Tech Ltd.\""));
  assert_non_null(strstr(j, "\"score\":1.00"));
  assert_non_null(strstr(j, "\"level\":\"confident\""));
  assert_non_null(strstr(j, "\"reason\":\""));
  ag_buf_reset(&b);
  ag_screen_match_json(m, true, &b);
  j = ag_buf_cstr(&b);
  assert_non_null(strstr(j, "\"license_policy\":\"Presumption of denial\""));
  assert_non_null(strstr(j, "\"federal_register_notice\":\"86 FR 60760\""));
  assert_non_null(strstr(j, "\"matched_tokens\":[{\"query\":\"saito\""));
  ag_buf_free(&b);
  ag_screen_result_free(&r);
}

/* ---- bad list files: an error naming file, line and field ---- */

static void expect_list_error(const char *name, const char *data, const char *want) {
  write_file(name, data, strlen(data));
  ag_error err;
  ag_status st = load_status(tpath(name), &err);
  if (st == AG_OK)
    fail_msg("%s loaded", name);
  if (!strstr(err.reason, want) && !strstr(err.field, want))
    fail_msg("%s: '%s: %s' does not say '%s'", name, err.field, err.reason, want);
}

static const char CSL_HEAD[] =
    "source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,"
    "end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,"
    "gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,"
    "alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,"
    "ids\n";

static void test_bad_list_files(void **state) {
  (void)state;
  char buf[4096];
  /* CSL: a row with missing columns */
  snprintf(buf, sizeof buf, "%sEntity List (EL) - Bureau of Industry and Security,,,,ACME,,CN\n",
           CSL_HEAD);
  expect_list_error("short.csv", buf, "short.csv:2: 7 fields, expected 28");
  /* CSL: the header lacks a column */
  expect_list_error("hdr.csv", "source,name,addresses\nEntity List (EL),ACME,CN\n",
                    "column 'entity_number' is missing");
  /* truncated inside a quoted field */
  snprintf(buf, sizeof buf, "%sEntity List (EL) - BIS,,,,\"ACME", CSL_HEAD);
  expect_list_error("trunc.csv", buf, "unterminated quoted field");
  /* truncated at an unquoted field, no line end */
  snprintf(buf, sizeof buf, "%sEntity List (EL) - BIS,,,,ACME,,CN,,,,,,,,,,,,,,,,,,,,,", CSL_HEAD);
  expect_list_error("trunc2.csv", buf, "ends in the middle of a line");
  /* garbage after a closing quote */
  snprintf(buf, sizeof buf, "%sEntity List (EL) - BIS,,,,\"ACME\"x,,,,,,,,,,,,,,,,,,,,,,,\n",
           CSL_HEAD);
  expect_list_error("quote.csv", buf, "after a closing quote");
  /* an empty name */
  snprintf(buf, sizeof buf, "%sEntity List (EL) - BIS,,,,,,,,,,,,,,,,,,,,,,,,,,,\n", CSL_HEAD);
  expect_list_error("noname.csv", buf, "'name' is empty");
  /* invalid UTF-8 in a CSL field */
  snprintf(buf, sizeof buf,
           "%sEntity List (EL) - BIS,,,,AC\xff"
           "ME,,,,,,,,,,,,,,,,,,,,,,,\n",
           CSL_HEAD);
  expect_list_error("utf8.csv", buf, "'name' is not valid UTF-8");
  /* header only */
  expect_list_error("empty.csv", CSL_HEAD, "no entries");
  /* DPL: a missing column in the header */
  expect_list_error(
      "dpl.txt",
      "\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\n"
      "\"X\"\t\"\"\t\"\"\t\"\"\t\"\"\t\"\"\n",
      "column 'Effective_Date' is missing");
  /* OFAC: a wrong column count, a bad id */
  expect_list_error(
      "sdn.csv",
      "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
      "37,\"X\",-0- ,\"CUBA\",-0- \r\n\x1a",
      "sdn.csv:2: 5 fields, expected 12");
  expect_list_error("sdn.csv",
                    "3x,\"X\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a",
                    "not a recognised list file");
  /* JSON: truncated, a result without a name */
  expect_list_error("t.json", "{\"results\":[{\"name\":\"A\",\"source\":\"Entity List (EL)\"}",
                    "not closed");
  expect_list_error("n.json", "{\"results\":[{\"source\":\"Entity List (EL)\"}]}",
                    "results[0]: field 'name'");
  expect_list_error("s.json", "{\"results\":[{\"name\":\"A\",\"source\":\"E\",}]}", "invalid JSON");
  /* an unrecognised file named explicitly */
  expect_list_error("notes.txt", "these are not the lists you are looking for\n",
                    "not a recognised list file");
  expect_list_error("blank.csv", "", "not a recognised list file");
}

static void test_ofac_companions_checked(void **state) {
  (void)state;
  char d[300];
  snprintf(d, sizeof d, "%s/ofacdir", tmpdir);
  mkdir(d, 0755);
  static const char sdn[] =
      "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a";
  write_file("ofacdir/sdn.csv", sdn, strlen(sdn));
#define ALT(s) write_file("ofacdir/alt.csv", s, strlen(s))
  ALT("37,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n\x1a");
  ag_error err;
  assert_int_equal(load_status(d, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "alt.csv:1: ent_num 37 is not in sdn.csv"));
  ALT("36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n36,13,\"xyz\",\"AEROCARIBE\",-0- \r\n\x1a");
  assert_int_equal(load_status(d, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "alt.csv:2: field 'alt_type'"));
  ALT("36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n\x1a");
#undef ALT
  assert_int_equal(load_status(d, &err), AG_OK);
  /* a companion alone: no primary file beside it */
  assert_int_equal(load_status(tpath("ofacdir/alt.csv"), &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "without its primary OFAC list"));
}

/* ---- the index file: written atomically, validated on every load ---- */

static size_t slurp(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc((size_t)n + 1);
  assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return (size_t)n;
}

static void test_index_roundtrip_and_corruption(void **state) {
  (void)state;
  const char *lists[] = {FIX "/csl-sample.csv", FIX "/ofac", FIX "/bis-dpl-sample.txt"};
  const char *idx = tpath("t.agx");
  ag_error err;
  assert_int_equal(ag_screen_build_index(lists, 3, idx, &err), AG_OK);
  ag_screen *s;
  assert_int_equal(ag_screen_open_index(idx, &s, &err), AG_OK);
  assert_string_equal(ag_screen_info(s)->origin, idx);
  assert_int_equal(ag_screen_info(s)->entries, 115 + 44 + 20);
  ag_screen_result r;
  ag_screen_result_init(&r);
  assert_non_null(hit(s, &r, "BANCO NACIONAL DE CUBA", NULL, "SDN"));
  ag_screen_result_free(&r);
  ag_screen_close(s);

  char *img;
  size_t n = slurp(idx, &img);
  /* a flipped byte anywhere past the header: checksum */
  size_t spots[] = {sizeof(sx_header), n / 3, n / 2, n - 1};
  for (size_t i = 0; i < 4; i++) {
    img[spots[i]] ^= 0x40;
    assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
    assert_non_null(strstr(err.reason, "checksum mismatch"));
    img[spots[i]] ^= 0x40;
  }
  /* truncated, wrong size, wrong magic, wrong version */
  assert_int_equal(ag_screen_open_index_mem(img, n - 8, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "truncated"));
  assert_int_equal(ag_screen_open_index_mem(img, 10, &s, &err), AG_ERR_LIST);
  assert_int_equal(ag_screen_open_index_mem(img, 0, &s, &err), AG_ERR_LIST);
  sx_header *h = (sx_header *)img;
  h->magic[0] = 'X';
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "bad magic"));
  h->magic[0] = 'A';
  h->version = 99;
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "version 99"));
  h->version = SX_VERSION;
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_OK);
  ag_screen_close(s);
  /* crafted: a valid checksum over bad contents is still refused */
  sx_name *nm = (sx_name *)(img + h->sec[SX_SEC_NAMES].off);
  uint32_t keep = nm[3].entry;
  nm[3].entry = 0x7fffffff;
  sx_sha256(img + h->header_size, n - h->header_size, h->sha256);
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "name record"));
  nm[3].entry = keep;
  uint32_t *post = (uint32_t *)(img + h->sec[SX_SEC_POSTINGS].off);
  post[0] = h->n_names;
  sx_sha256(img + h->header_size, n - h->header_size, h->sha256);
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "posting"));
  h->sec[SX_SEC_TOKENS].off = n;
  assert_int_equal(ag_screen_open_index_mem(img, n, &s, &err), AG_ERR_LIST);
  /* the file on disk: a corrupt index is an error, never a crash */
  write_file("bad.agx", img, n / 2);
  assert_int_equal(ag_screen_open_index(tpath("bad.agx"), &s, &err), AG_ERR_LIST);
  write_file("empty.agx", "", 0);
  assert_int_equal(ag_screen_open_index(tpath("empty.agx"), &s, &err), AG_ERR_LIST);
  assert_int_equal(ag_screen_open_index(tpath("missing.agx"), &s, &err), AG_ERR_NOTFOUND);
  free(img);
}

static void test_update_and_reset(void **state) {
  (void)state;
  char dir[300];
  snprintf(dir, sizeof dir, "%s/home/acegate", tmpdir);
  ag_error err;
  ag_screen *s;
  /* a data directory named that does not exist is an error, not the
   * built-in lists */
  assert_int_equal(ag_screen_open_dir(dir, &s, &err), AG_ERR_IO);
  assert_string_equal(err.field, "data-dir");
  /* nothing written yet: the built-in lists are in force */
  char mk[400];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
  assert_int_equal(system(mk), 0);
  assert_int_equal(ag_screen_open_dir(dir, &s, &err), AG_OK);
  assert_string_equal(ag_screen_info(s)->origin, "built-in");
  ag_screen_close(s);
  const char *good[] = {FIX "/ofac"};
  char written[512];
  assert_int_equal(ag_screen_update(dir, good, 1, written, sizeof written, &err), AG_OK);
  assert_int_equal(ag_screen_open_dir(dir, &s, &err), AG_OK);
  assert_string_equal(ag_screen_info(s)->origin, written);
  assert_int_equal(ag_screen_info(s)->entries, 44);
  ag_screen_close(s);
  char *before;
  size_t nb = slurp(written, &before);
  /* a truncated file is rejected with its line; the old lists stay */
  char *csv;
  size_t n = slurp(FIX "/csl-sample.csv", &csv);
  write_file("cut.csv", csv, n - 30);
  const char *bad[] = {tpath("cut.csv")};
  assert_int_equal(ag_screen_update(dir, bad, 1, NULL, 0, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "cut.csv:"));
  /* a file with a wrong header, next to a good one: nothing is replaced */
  write_file("hdr.csv", "name,country\nACME,CN\n", 21);
  const char *mixed[] = {FIX "/csl-sample.csv", tpath("hdr.csv")};
  assert_int_equal(ag_screen_update(dir, mixed, 2, NULL, 0, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "hdr.csv"));
  char *after;
  size_t na = slurp(written, &after);
  assert_int_equal(na, nb);
  assert_memory_equal(before, after, nb);
  /* no temporary files left behind */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
  assert_int_equal(system(cmd), 0);
  /* a corrupt data-directory index is an error, not a silent fallback */
  write_file("home/acegate/lists.agx", before, nb / 2);
  assert_int_equal(ag_screen_open_dir(dir, &s, &err), AG_ERR_LIST);
  assert_int_equal(ag_screen_reset(dir, &err), AG_OK);
  assert_int_equal(ag_screen_reset(dir, &err), AG_OK); /* twice is fine */
  assert_int_equal(ag_screen_open_dir(dir, &s, &err), AG_OK);
  assert_string_equal(ag_screen_info(s)->origin, "built-in");
  ag_screen_close(s);
  free(before);
  free(after);
  free(csv);
}

static void test_open_paths_errors(void **state) {
  (void)state;
  ag_error err;
  ag_screen *s = NULL;
  const char *missing[] = {"tests/screen/fixtures/no-such-file.csv"};
  assert_int_equal(ag_screen_open_paths(missing, 1, &s, &err), AG_ERR_IO);
  assert_non_null(strstr(err.reason, "no-such-file.csv"));
  assert_null(s);
  assert_int_equal(ag_screen_open_paths(missing, 0, &s, &err), AG_ERR_INPUT);
  char d[300];
  snprintf(d, sizeof d, "%s/emptydir", tmpdir);
  mkdir(d, 0755);
  const char *dirs[] = {d};
  assert_int_equal(ag_screen_open_paths(dirs, 1, &s, &err), AG_ERR_LIST);
  assert_non_null(strstr(err.reason, "no recognised list file"));
}

/* ---- listed names with words of little information ---- */

static const ag_screen_match *expect_level(const ag_screen *s, const char *name,
                                           const char *country, const char *code, const char *entry,
                                           ag_screen_level level, ag_screen_result *r) {
  const ag_screen_match *m = NULL;
  ag_error err;
  if (ag_screen_query(s, name, strlen(name), country, r, &err))
    fail_msg("query '%s': %s", name, err.reason);
  for (size_t i = 0; i < r->count && !m; i++)
    if (!strcmp(r->matches[i].list_code, code) && !strcmp(r->matches[i].entry_name, entry))
      m = &r->matches[i];
  if (!m) {
    fail_msg("'%s': no %s match for '%s'", name, code, entry);
    return NULL;
  }
  if (m->level != level)
    fail_msg("'%s': %.3f %s against '%s', wanted %s (%s)", name, m->score,
             ag_screen_level_name(m->level), m->matched_name, ag_screen_level_name(level),
             m->reason);
  return m;
}

/* A city or province before the name, a parenthesised acronym after it, a
 * legal form and the usual abbreviations are what exporters leave out or
 * shorten: the listed party, confidently. */
static void test_place_prefix_and_acronym(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_level C = AG_SCREEN_LEVEL_CONFIDENT, P = AG_SCREEN_LEVEL_POSSIBLE;
  const char *hik = "Hangzhou Hikvision Digital Technology Co., Ltd.";
  const ag_screen_match *m =
      expect_level(B, "Hikvision Digital Technology", "CN", "EL", hik, C, &r);
  assert_non_null(strstr(m->reason, "hangzhou"));
  assert_non_null(strstr(m->reason, "weighted down"));
  expect_level(B, "Hikvision Digital Technology", "CN", "CMIC", hik, C, &r);
  expect_level(B, "Hikvision Digital Technology", NULL, "EL", hik, C, &r);
  expect_level(B, "Hikvision Digital Technology Co Ltd", NULL, "EL", hik, C, &r);
  /* more of the same kind in the list */
  expect_level(B, "Hengtong Marine Cable Systems", NULL, "EL",
               "Jiangsu Hengtong Marine Cable Systems Co.", C, &r);
  expect_level(B, "Zhiwei Semiconductor", "CN", "EL", "Hefei Zhiwei Semiconductor Co., Ltd.", C,
               &r);
  expect_level(B, "Guowei Hongbo Technology", NULL, "EL",
               "Shenzhen Guowei Hongbo Technology Co., Ltd.", C, &r);
  expect_level(B, "Jiajunao Construction Engineering", NULL, "SDN",
               "SHAANXI JIAJUNAO CONSTRUCTION ENGINEERING COMPANY LTD", C, &r);
  /* another city is another party as often as not: a candidate only */
  expect_level(B, "Shenzhen Hikvision Digital Technology", NULL, "EL", hik, P, &r);
  /* generic words alone do not make a party */
  ag_error err;
  assert_int_equal(ag_screen_query(B, "Institute of Technology", 23, NULL, &r, &err), AG_OK);
  for (size_t i = 0; i < r.count; i++)
    assert_true(r.matches[i].level != C);

  /* DPL: "SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)" */
  const char *ssi = "SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)";
  m = expect_level(B, "SEMICONDUCTOR SYSTEMS INTL.", NULL, "DPL", ssi, C, &r);
  assert_string_equal(m->matched_name, "SEMICONDUCTOR SYSTEMS INTL., INC.");
  assert_string_equal(m->name_kind, "name");
  expect_level(B, "Semiconductor Systems International Inc", NULL, "DPL",
               "SEMICONDUCTOR SYSTEMS INTERNATIONAL., INC. (SSI)", C, &r);
  expect_level(B, "Semiconductor Systems Intl Inc", NULL, "DPL", ssi, C, &r);
  expect_level(B, "SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)", NULL, "DPL", ssi, C, &r);
  m = expect_level(B, "SSI", NULL, "DPL", ssi, C, &r);
  assert_string_equal(m->matched_name, "SSI");
  assert_string_equal(m->name_kind, "aka");
  /* Entity List entries with an acronym, and abbreviations */
  const char *nudt = "National University of Defense Technology (NUDT)";
  expect_level(B, "National University of Defense Technology", "CN", "EL", nudt, C, &r);
  m = expect_level(B, "NUDT", NULL, "EL", nudt, C, &r);
  assert_string_equal(m->name_kind, "aka");
  expect_level(B, "Semiconductor Manufacturing Intl Corp", NULL, "EL",
               "Semiconductor Manufacturing International Corporation (SMIC)", C, &r);
  expect_level(B, "Innovative Tech Sys", NULL, "EL", "Innovative Technology Systems (ITS)", C, &r);
  expect_level(B, "Saito Tehc Ltd", NULL, "EL", "Candiru", C, &r); /* a typo in "Tech" */
  /* a qualifier in parentheses is not an alias: "Enerquip Ltd. (UAE)" */
  expect_level(B, "Enerquip Ltd", NULL, "EL", "Enerquip Ltd. (UAE)", C, &r);
  assert_int_equal(ag_screen_query(B, "UAE", 3, NULL, &r, &err), AG_OK);
  for (size_t i = 0; i < r.count; i++)
    assert_true(strcmp(r.matches[i].entry_name, "Enerquip Ltd. (UAE)"));
  ag_screen_result_free(&r);
}

/* The same on lists written for the purpose: a province before a name
 * ("Zhejiang Dahua Technology Co., Ltd."), an acronym after it
 * ("(COSEINC)"), an explicit alias and qualifiers in parentheses. */
static void test_name_forms_small_list(void **state) {
  (void)state;
  static const char rows[] =
      "Entity List (EL) - Bureau of Industry and Security,,,,\"Zhejiang Dahua Technology Co., "
      "Ltd.\",,CN,84 FR 54002,,,,For all items subject to the EAR.,Presumption of denial,,,,,,,,"
      ",,,,,,,\n"
      "Entity List (EL) - Bureau of Industry and Security,,,,\"Computer Security Initiative "
      "Consultancy PTE. LTD. (COSEINC)\",,SG,86 FR 60760,,,,For all items subject to the EAR.,"
      "Presumption of denial,,,,,,,,,,,,,,,\n"
      "Denied Persons List (DPL) - Bureau of Industry and Security,,,,KOLOKOL (AKA: ALDRICH "
      "AMES),,US,,,,,,,,,,,,,,,,,,,,,\n"
      "Denied Persons List (DPL) - Bureau of Industry and Security,,,,RUNNING BROOK LLC (USA),,US"
      ",,,,,,,,,,,,,,,,,,,,,\n"
      "Entity List (EL) - Bureau of Industry and Security,,,,Zhejiang Uniview Technologies Co.,,"
      "CN,,,,,,,,,,,,,,,,,,,,,\n"
      "Entity List (EL) - Bureau of Industry and Security,,,,Quantum Logix (Private),,PK,,,,,,,,"
      ",,,,,,,,,,,,,\n"
      "Entity List (EL) - Bureau of Industry and Security,,,,Nanjing Semiconductor Research "
      "Institute,,CN,,,,,,,,,,,,,,,,,,,,,\n";
  char buf[4096];
  snprintf(buf, sizeof buf, "%s%s", CSL_HEAD, rows);
  write_file("forms.csv", buf, strlen(buf));
  /* with the bundled list, so that words weigh what they weigh in real lists */
  const char *paths[] = {"data/lists/csl-2026-07-31.csv", tpath("forms.csv")};
  ag_screen *s = NULL;
  ag_error err;
  if (ag_screen_open_paths(paths, 2, &s, &err))
    fail_msg("%s", err.reason);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_level C = AG_SCREEN_LEVEL_CONFIDENT;
  expect_level(s, "Dahua Technology", "CN", "EL", "Zhejiang Dahua Technology Co., Ltd.", C, &r);
  expect_level(s, "Dahua Technology", NULL, "EL", "Zhejiang Dahua Technology Co., Ltd.", C, &r);
  const char *cos = "Computer Security Initiative Consultancy PTE. LTD. (COSEINC)";
  const ag_screen_match *m = expect_level(s, "COSEINC", NULL, "EL", cos, C, &r);
  assert_string_equal(m->name_kind, "aka");
  assert_string_equal(m->matched_name, "COSEINC");
  m = expect_level(s, "Computer Security Initiative Consultancy", "SG", "EL", cos, C, &r);
  assert_string_equal(m->matched_name, "Computer Security Initiative Consultancy PTE. LTD.");
  m = expect_level(s, "Aldrich Ames", NULL, "DPL", "KOLOKOL (AKA: ALDRICH AMES)", C, &r);
  assert_string_equal(m->name_kind, "aka");
  expect_level(s, "Kolokol", NULL, "DPL", "KOLOKOL (AKA: ALDRICH AMES)", C, &r);
  expect_level(s, "Running Brook LLC", NULL, "DPL", "RUNNING BROOK LLC (USA)", C, &r);
  expect_level(s, "Quantum Logix", NULL, "EL", "Quantum Logix (Private)", C, &r);
  /* qualifiers are not aliases; one company is not another of the same province */
  static const char *const not_them[] = {"USA", "Private", "Uniview Dahua", "Zhejiang"};
  for (size_t i = 0; i < sizeof not_them / sizeof *not_them; i++) {
    assert_int_equal(ag_screen_query(s, not_them[i], strlen(not_them[i]), NULL, &r, &err), AG_OK);
    for (size_t k = 0; k < r.count; k++)
      if (r.matches[k].level == C && (strstr(buf, r.matches[k].entry_name)))
        fail_msg("'%s' confidently matched '%s'", not_them[i], r.matches[k].matched_name);
  }
  assert_int_equal(ag_screen_query(s, "Zhejiang Dahua Technology", 25, NULL, &r, &err), AG_OK);
  for (size_t k = 0; k < r.count; k++)
    if (strstr(r.matches[k].entry_name, "Uniview"))
      assert_true(r.matches[k].level != C);
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

/* ---- ids for entries their file gives none: from the contents ---- */

static const char *id_of(const ag_screen *s, const char *name, ag_screen_result *r) {
  ag_error err;
  assert_int_equal(ag_screen_query(s, name, strlen(name), NULL, r, &err), AG_OK);
  for (size_t i = 0; i < r->count; i++)
    if (!strcmp(r->matches[i].entry_name, name))
      return r->matches[i].source_id;
  fail_msg("'%s' not found", name);
  return NULL;
}

/* ---- names written another way: typos, romanisations, compounds ---- */

/* Romanisation variants are data (data/screening/romanisation.tsv): each
 * pair the table holds reads as one name. */
/* Optimal string alignment distance from its definition: the table of
 * distances between prefixes, with insertions, deletions, substitutions
 * and transpositions of adjacent letters each costing one. */
static int osa_table(const char *a, size_t la, const char *b, size_t lb) {
  static int d[65][65];
  for (size_t i = 0; i <= la; i++)
    for (size_t j = 0; j <= lb; j++) {
      if (!i || !j) {
        d[i][j] = (int)(i + j);
        continue;
      }
      int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < v)
        v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

static void test_osa_distance(void **state) {
  (void)state;
  assert_int_equal(sx_osa_distance("ab", 2, "ba", 2, 2), 1);  /* a transposition */
  assert_int_equal(sx_osa_distance("ca", 2, "abc", 3, 5), 3); /* no edit of a swapped pair */
  assert_int_equal(sx_osa_distance("", 0, "abc", 3, 5), 3);
  assert_int_equal(sx_osa_distance("abc", 3, "", 0, 5), 3);
  assert_int_equal(sx_osa_distance("abc", 3, "abc", 3, 0), 0);
  assert_int_equal(sx_osa_distance("abc", 3, "abd", 3, 0), 1);           /* gave up at once */
  assert_int_equal(sx_osa_distance("\xff\x01", 2, "\x01\xff", 2, 2), 1); /* any bytes */
  char a[66], b[66];
  memset(a, 'a', sizeof a);
  memset(b, 'a', sizeof b);
  b[40] = 'b';
  assert_int_equal(sx_osa_distance(a, 64, b, 64, 2), 1); /* a whole machine word */
  assert_int_equal(sx_osa_distance(a, 65, b, 65, 2), 3); /* longer: beyond any max */
  /* every pair of words of up to six letters over three, against the table */
  static char words[1093][6];
  static size_t lens[1093];
  size_t nw = 1; /* words[0] is "" */
  for (size_t k = 0; k < nw; k++)
    for (char c = 'a'; lens[k] < 6 && c <= 'c'; c++) {
      memcpy(words[nw], words[k], lens[k]);
      words[nw][lens[k]] = c;
      lens[nw++] = lens[k] + 1;
    }
  assert_int_equal(nw, 1093);
  for (size_t i = 0; i < nw; i++)
    for (size_t j = 0; j < nw; j++) {
      int want = osa_table(words[i], lens[i], words[j], lens[j]);
      for (int max = 0; max <= 3; max++)
        if (sx_osa_distance(words[i], lens[i], words[j], lens[j], max) !=
            (want > max ? max + 1 : want))
          fail_msg("osa %.*s / %.*s, max %d: want %d", (int)lens[i], words[i], (int)lens[j],
                   words[j], max, want);
    }
  /* random words over small alphabets (many repeats and swaps), of every
   * length up to 64, against the table */
  srand(20260731);
  for (int n = 0; n < 200000; n++) {
    size_t la = (size_t)rand() % (n % 50 ? 12 : 65), lb = (size_t)rand() % (n % 50 ? 12 : 65);
    int alpha = 1 + rand() % 4;
    for (size_t i = 0; i < la; i++)
      a[i] = (char)("ab\x80\xff"[rand() % alpha]);
    if (n % 2) {
      memcpy(b, a, la); /* b a few edits from a */
      lb = la;
      for (int e = rand() % 4; e > 0; e--) {
        size_t p = lb ? (size_t)rand() % lb : 0;
        if (p + 1 < lb) { /* a swap */
          char c = b[p];
          b[p] = b[p + 1];
          b[p + 1] = c;
        } else if (lb < 64) { /* a letter more */
          b[lb++] = 'a';
        }
      }
    } else
      for (size_t j = 0; j < lb; j++)
        b[j] = (char)("ab\x80\xff"[rand() % alpha]);
    int want = osa_table(a, la, b, lb), max = rand() % 4;
    if (sx_osa_distance(a, la, b, lb, max) != (want > max ? max + 1 : want) ||
        sx_osa_distance(a, la, b, lb, 64) != want)
      fail_msg("osa %.*s / %.*s: want %d", (int)la, a, (int)lb, b, want);
  }
}

static void test_romanisation(void **state) {
  (void)state;
  norm_is("Son-kwang GIM", "son kwang kim"); /* Korean: Kim/Gim */
  norm_is("Park Pak Bak", "park park park");
  norm_is("Lee Ri Yi", "lee lee lee");
  norm_is("Choe Choi", "choe choe");
  norm_is("Mohammed Muhammad Mohamad", "muhammad muhammad muhammad"); /* Arabic */
  norm_is("Yusuf Yousef Yossef", "yusuf yusuf yusuf");
  norm_is("el-Sham al-Sham", "al sham al sham");
  norm_is("Hsu Xu", "xu xu"); /* Wade-Giles and pinyin */
  norm_is("Chang Zhang", "zhang zhang");
  norm_is("Aleksandr Alexander", "aleksandr aleksandr"); /* Russian: BGN, passport */
  norm_is("Dmitriy Dmitrii Dmitry", "dmitri dmitri dmitri");
  norm_is("Yuriy Yurii", "yuri yuri");
  norm_is("Novyy Novyi", "novy novy"); /* -yy / -yi endings */
  /* every whole-word row of the table, looked up, gives its canonical form */
  FILE *f = fopen("data/screening/romanisation.tsv", "r");
  assert_non_null(f);
  char line[512];
  size_t rows = 0;
  bool header = true;
  while (fgets(line, sizeof line, f)) {
    char *from = line, *tab = strchr(line, '\t');
    if (line[0] == '#' || !tab)
      continue;
    if (header) {
      header = false;
      continue;
    }
    *tab = '\0';
    char *to = tab + 1;
    to[strcspn(to, "\t")] = '\0';
    if (from[0] == '-')
      continue; /* an ending */
    const char *got = sx_romanisation_word(from);
    if (!got || strcmp(got, to))
      fail_msg("romanisation of %s: want %s, got %s", from, to, got ? got : "none");
    rows++;
  }
  fclose(f);
  assert_true(rows > 100 && rows < sx_romanisation_count()); /* the count has the endings */
  assert_null(sx_romanisation_word("mohamme"));              /* a prefix of a row is not it */
  assert_null(sx_romanisation_word("kimm"));
  assert_null(sx_romanisation_word(""));
}

static bool same_entry_twice(const ag_screen_result *r) {
  for (size_t i = 0; i < r->count; i++)
    for (size_t j = i + 1; j < r->count; j++)
      if (!strcmp(r->matches[i].list_code, r->matches[j].list_code) &&
          !strcmp(r->matches[i].source_id, r->matches[j].source_id))
        return true;
  return false;
}

/* The first match whose entry, matched name or other matching names hold
 * `name` (or whose "LIST id" is `name`), or NULL. */
static const ag_screen_match *named(const ag_screen_result *r, const char *name) {
  for (size_t i = 0; i < r->count; i++) {
    const ag_screen_match *m = &r->matches[i];
    char id[96];
    snprintf(id, sizeof id, "%s %s", m->list_code, m->source_id);
    if (!strcasecmp(m->entry_name, name) || !strcasecmp(m->matched_name, name) ||
        strcasestr(m->other_names, name) || !strcmp(id, name))
      return m;
  }
  return NULL;
}

static const ag_screen_match *query_named(const ag_screen *s, ag_screen_result *r, const char *q,
                                          const char *name, ag_screen_level least) {
  ag_error err;
  ag_screen_request rq = {.name = q, .len = strlen(q), .max_matches = 5};
  if (ag_screen_query_ex(s, &rq, r, &err))
    fail_msg("query '%s': %s", q, err.reason);
  if (same_entry_twice(r))
    fail_msg("'%s': one listed entry answered twice", q);
  const ag_screen_match *m = named(r, name);
  if (!m)
    fail_msg("'%s': '%s' is not among the first five (%zu answers)", q, name, r->count);
  else if (m->level < least)
    fail_msg("'%s': %.3f against '%s' (%s)", q, m->score, m->matched_name, m->reason);
  return m;
}

/* Spellings an order may use for listed names of the real files: a typo in
 * a legal form (one letter more in "company"), one letter dropped from a
 * four-letter word, a substitution and a transposition in an eight-letter
 * word, another romanisation, a given name spelt another way; and one
 * answer per listed entry, the entry's other matching names named. */
static void test_generalising_real_lists(void **state) {
  (void)state;
  if (!shared_present())
    skip(); /* ../shared/data/screening is absent */
  ag_screen *s = open1(SHARED);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_level P = AG_SCREEN_LEVEL_POSSIBLE, C = AG_SCREEN_LEVEL_CONFIDENT;
  query_named(s, &r, "AL-SHAM COMPMANY", "SDN 12744", P); /* AL-SHAM COMPANY */
  const ag_screen_match *m = query_named(s, &r, "Al-aqa Foundation", "AL-AQSA FOUNDATION", P);
  const ag_screen_match *yk = named(&r, "YK-AQA");
  assert_true(!yk || yk > m); /* the listed foundation first */
  query_named(s, &r, "BPS SLEBRANK OJSC", "BPS SBERBANK OJSC", P);
  query_named(s, &r, "Son-kwang GIM", "KIM, Son-kwang", C);
  query_named(s, &r, "yossef", "YOUSEF", P);
  /* the SSI entry is listed in two files under one id and with three
   * spellings of its name: one answer, naming the others */
  m = query_named(s, &r, "BPS SBERBANK OJSC", "BPS SBERBANK OJSC", C);
  size_t ssi = 0;
  for (size_t i = 0; i < r.count; i++)
    if (!strcmp(r.matches[i].list_code, "SSI") && !strcmp(r.matches[i].source_id, "18714")) {
      ssi++;
      assert_true(strlen(r.matches[i].other_names) > 0);
      assert_non_null(strstr(r.matches[i].reason, "also matched: "));
    }
  assert_int_equal(ssi, 1);
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

/* Typo tolerance by word length on the bundled lists: one edit from three
 * letters, two from eight, transpositions, any letter; not two in a short
 * word. */
static void test_typo_tolerance(void **state) {
  (void)state;
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_level P = AG_SCREEN_LEVEL_POSSIBLE;
  const char *hik = "Hangzhou Hikvision Digital Technology Co., Ltd.";
  expect_level(B, "Hangzhou Hikvisoin Digital Technology", NULL, "EL", hik,
               AG_SCREEN_LEVEL_CONFIDENT, &r);                         /* swap */
  query_named(B, &r, "Hangzhou Hkivisoin Digital Technology", hik, P); /* two swaps */
  query_named(B, &r, "Hangzhou Jikvision Digital Technology", hik, P); /* first letter */
  query_named(B, &r, "NSO Grup", "NSO Group", P);                      /* four letters */
  query_named(B, &r, "NSP Group", "NSO Group", P);                     /* three letters */
  query_named(B, &r, "Candiru Limted", "Candiru", P);                  /* a legal form */
  ag_error err;
  /* two edits in a five-letter word are another word */
  if (ag_screen_query(B, "Cnadrui", 7, NULL, &r, &err))
    fail_msg("%s", err.reason);
  assert_null(named(&r, "Candiru"));
  ag_screen_result_free(&r);
}

/* Arabic compound names written together, apart or with the article run
 * in, in either the query or the list. */
static void test_compound_names(void **state) {
  (void)state;
  static const char rows[] =
      "Denied Persons List (DPL) - Bureau of Industry and Security,,,,AHMAD SALAHIDIN,,,,,,,,,,,,"
      ",,,,,,,,,,,\n"
      "Denied Persons List (DPL) - Bureau of Industry and Security,,,,SALAH AL DIN GENERAL "
      "TRADING,,,,,,,,,,,,,,,,,,,,,,,\n";
  char buf[4096];
  snprintf(buf, sizeof buf, "%s%s", CSL_HEAD, rows);
  write_file("compound.csv", buf, strlen(buf));
  const char *paths[] = {"data/lists/csl-2026-07-31.csv", tpath("compound.csv")};
  ag_screen *s = NULL;
  ag_error err;
  if (ag_screen_open_paths(paths, 2, &s, &err))
    fail_msg("%s", err.reason);
  ag_screen_result r;
  ag_screen_result_init(&r);
  const ag_screen_level C = AG_SCREEN_LEVEL_CONFIDENT;
  expect_level(s, "Ahmad Salah al-Din", NULL, "DPL", "AHMAD SALAHIDIN", C, &r);
  expect_level(s, "Ahmad Salah ud Din", NULL, "DPL", "AHMAD SALAHIDIN", C, &r);
  expect_level(s, "Salahidin General Trading", NULL, "DPL", "SALAH AL DIN GENERAL TRADING", C, &r);
  ag_screen_result_free(&r);
  ag_screen_close(s);
}

static void test_content_ids(void **state) {
  (void)state;
  static const char *const row[] = {
      "Entity List (EL) - Bureau of Industry and Security,,,,Alpha Optics Ltd.,,CN,85 FR 1,,,,,,,,"
      ",,,,,,,,,,,,\n",
      "Entity List (EL) - Bureau of Industry and Security,,,,Bravo Machines,,RU,86 FR 2,,,,,,,,,,"
      ",,,,,,,,,,\n",
      /* the same list, name, notice and address as the next: told apart by content */
      "Entity List (EL) - Bureau of Industry and Security,,,,Charlie Trading,,AE,87 FR 3,,,,,,,,,"
      ",,,first,,,,,,,,\n",
      "Entity List (EL) - Bureau of Industry and Security,,,,Charlie Trading,,AE,87 FR 3,,,,,,,,,"
      ",,,second,,,,,,,,\n",
      /* the file's own id is kept */
      "Specially Designated Nationals (SDN) - Treasury Department,4242,Entity,SDGT,Delta Holding,,"
      "LB,,,,,,,,,,,,,,,,,,,,,\n"};
  char a[4096], b[4096];
  /* one order, then another with a new row at the top */
  snprintf(a, sizeof a, "%s%s%s%s%s%s", CSL_HEAD, row[0], row[1], row[2], row[3], row[4]);
  snprintf(b, sizeof b, "%s%s%s%s%s%s%s", CSL_HEAD,
           "Entity List (EL) - Bureau of Industry and Security,,,,Echo Labs,,CN,88 FR 4,,,,,,,,,,,"
           ",,,,,,,,,\n",
           row[4], row[3], row[1], row[0], row[2]);
  write_file("ids-a.csv", a, strlen(a));
  write_file("ids-b.csv", b, strlen(b));
  ag_screen *sa = open1(tpath("ids-a.csv")), *sb = open1(tpath("ids-b.csv"));
  ag_screen_result r;
  ag_screen_result_init(&r);
  static const char *const names[] = {"Alpha Optics Ltd.", "Bravo Machines", "Delta Holding"};
  for (size_t i = 0; i < 3; i++) {
    char ida[64];
    snprintf(ida, sizeof ida, "%s", id_of(sa, names[i], &r));
    assert_string_equal(ida, id_of(sb, names[i], &r));
    if (i < 2) {
      assert_int_equal(strlen(ida), 16);
      assert_memory_equal(ida, "csl:", 4);
    }
  }
  assert_string_equal(id_of(sa, "Delta Holding", &r), "4242");
  /* SHA-256 of "EL\0Bravo Machines\0" "86 FR 2\0RU\0" */
  assert_string_equal(id_of(sa, "Bravo Machines", &r), "csl:0d6c5e0ff32a");
  /* the two Charlie Trading entries: distinct ids, the same in both files */
  const sx_view *va = sx_handle_view(sa), *vb = sx_handle_view(sb);
  char ids[2][2][64];
  for (int f = 0; f < 2; f++) {
    const sx_view *v = f ? vb : va;
    for (uint32_t i = 0; i < v->h->n_entries; i++) {
      const char *rem = sx_str(v, v->entries[i].f[SX_F_REMARKS]);
      const char *id = sx_str(v, v->entries[i].f[SX_F_SOURCE_ID]);
      if (!strcmp(rem, "first"))
        snprintf(ids[f][0], sizeof ids[f][0], "%s", id);
      else if (!strcmp(rem, "second"))
        snprintf(ids[f][1], sizeof ids[f][1], "%s", id);
    }
  }
  assert_string_equal(ids[0][0], ids[1][0]);
  assert_string_equal(ids[0][1], ids[1][1]);
  assert_string_not_equal(ids[0][0], ids[0][1]);
  assert_true(strstr(ids[0][0], "-2") || strstr(ids[0][1], "-2"));
  assert_int_equal(strncmp(ids[0][0], ids[0][1], 16), 0);
  ag_screen_result_free(&r);
  ag_screen_close(sa);
  ag_screen_close(sb);

  /* the DPL: rows added before an entry leave its id alone */
  char *dpl;
  size_t n = slurp(FIX "/bis-dpl-sample.txt", &dpl);
  char *nl = memchr(dpl, '\n', n);
  assert_non_null(nl);
  size_t head = (size_t)(nl - dpl) + 1;
  static const char extra[] = "\"NEW PARTY\"\t\"1 MAIN ST\"\t\"SPRINGFIELD\"\t\"IL\"\t\"US\"\t"
                              "\"62701\"\t\"01/02/2026\"\t\"\"\t\"Y\"\t\"2026-01-02\"\t\"\"\t"
                              "\"91 F.R. 1 1/2/2026\"\n";
  char *more = malloc(n + sizeof extra);
  memcpy(more, dpl, head);
  memcpy(more + head, extra, sizeof extra - 1);
  memcpy(more + head + sizeof extra - 1, dpl + head, n - head);
  write_file("dpl-more.txt", more, n + sizeof extra - 1);
  ag_screen *s = open1(tpath("dpl-more.txt"));
  ag_screen_result_init(&r);
  const ag_screen_match *m = hit(s, &r, "Aaron Abraham Villa", NULL, "DPL");
  assert_non_null(m);
  assert_string_equal(m->source_id, "dpl:d0901327e490");
  ag_screen_result_free(&r);
  ag_screen_close(s);
  free(more);
  free(dpl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin_snapshot),
      cmocka_unit_test(test_entry_digests_kept),
      cmocka_unit_test(test_cyber_tool_entities),
      cmocka_unit_test(test_cyber_tool_variants),
      cmocka_unit_test(test_load_csl_csv_28),
      cmocka_unit_test(test_load_csl_csv_29_and_json),
      cmocka_unit_test(test_load_ofac_sdn_companions),
      cmocka_unit_test(test_load_ofac_cons),
      cmocka_unit_test(test_load_dpl),
      cmocka_unit_test(test_load_real_files),
      cmocka_unit_test(test_normalize),
      cmocka_unit_test(test_normalize_bad_input),
      cmocka_unit_test(test_query_bad_input),
      cmocka_unit_test(test_ranking_and_country),
      cmocka_unit_test(test_not_listed),
      cmocka_unit_test(test_brute_force_baseline),
      cmocka_unit_test(test_shared_handle_threads),
      cmocka_unit_test(test_match_json),
      cmocka_unit_test(test_bad_list_files),
      cmocka_unit_test(test_ofac_companions_checked),
      cmocka_unit_test(test_index_roundtrip_and_corruption),
      cmocka_unit_test(test_update_and_reset),
      cmocka_unit_test(test_open_paths_errors),
      cmocka_unit_test(test_place_prefix_and_acronym),
      cmocka_unit_test(test_name_forms_small_list),
      cmocka_unit_test(test_content_ids),
      cmocka_unit_test(test_osa_distance),
      cmocka_unit_test(test_romanisation),
      cmocka_unit_test(test_entries_filter),
      cmocka_unit_test(test_entry_find_and_json),
      cmocka_unit_test(test_generalising_real_lists),
      cmocka_unit_test(test_typo_tolerance),
      cmocka_unit_test(test_compound_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
