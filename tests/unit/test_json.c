/*
 * test_json.c - the JSON reader's strings, table-driven: each escape of
 * RFC 8259 section 7 decoded to the bytes it stands for, \uXXXX to UTF-8 of
 * one, two and three bytes, surrogate pairs to four, and every malformed
 * escape refused; read by the reader itself (src/json/reader.c) and, where
 * a party name may hold the result, through the public decoder
 * (ag_json_decode_txn), which names the field. The expected bytes are
 * written out from the RFC and the UTF-8 encoding (RFC 3629), not taken
 * from the decoder's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/json.h"
#include "../../src/json/json_internal.h" /* the reader under test */

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *escaped; /* the JSON string's content, as sent */
  const char *bytes;   /* what it means */
  size_t len;
} good_case;

#define G(esc, raw) {esc, raw, sizeof raw - 1}

static const good_case good[] = {
    G("plain", "plain"),
    G("a\\nb", "a\nb"),
    G("quote \\\" here", "quote \" here"),
    G("back\\\\slash", "back\\slash"),
    G("sl\\/ash", "sl/ash"),
    G("\\b\\f\\r\\t", "\b\f\r\t"),
    G("\\u0041BC", "ABC"),                        /* one byte */
    G("caf\\u00e9", "caf\xc3\xa9"),               /* U+00E9: two bytes */
    G("\\u00E9", "\xc3\xa9"),                     /* hex digits in either case */
    G("\\u20ac 5", "\xe2\x82\xac 5"),             /* U+20AC: three bytes */
    G("\\u4e2d\\u6587", "\xe4\xb8\xad\xe6\x96\x87"), /* two CJK characters */
    G("\\ud83d\\ude00", "\xf0\x9f\x98\x80"),      /* U+1F600 from a surrogate pair */
    G("x\\uD834\\uDD1Ey", "x\xf0\x9d\x84\x9ey"),  /* U+1D11E */
    G("\\udbff\\udfff", "\xf4\x8f\xbf\xbf"),      /* U+10FFFF, the last code point */
    G("raw \xc3\xa9 stays", "raw \xc3\xa9 stays"), /* UTF-8 as it is */
};

static const char *const bad[] = {
    "\\x41",       /* not an escape */
    "\\u00",       /* too short */
    "\\u00g1",     /* not hex */
    "\\u0000",     /* NUL */
    "\\ude00",     /* a low surrogate alone */
    "\\ud83d",     /* a high surrogate alone */
    "\\ud83dx",    /* ...followed by something else */
    "\\ud83d\\u0041", /* ...followed by a non-surrogate */
    "a\nb",        /* a raw control character */
    "tab\there",   /* also one */
    "\\",          /* an escape cut short */
};

/* Decodes a transaction whose end user's name is the given string
 * content. */
static ag_status decode_name(const char *escaped, ag_txn *t, ag_arena *a, ag_error *e) {
  char json[512];
  int n = snprintf(json, sizeof json,
                   "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\","
                   "\"end_user\":{\"type\":\"non_government\",\"name\":\"%s\"}}",
                   escaped);
  return ag_json_decode_txn(json, (size_t)n, t, a, e);
}

/* A string read by the reader: its decoded bytes into out. */
static ag_status read_string(const char *escaped, char *out, size_t cap, size_t *len,
                             ag_error *e) {
  char json[256];
  int n = snprintf(json, sizeof json, "\"%s\"", escaped);
  ag_jr r;
  ag_jr_init(&r, json, (size_t)n);
  return ag_jr_string(&r, out, cap, len, e);
}

static void test_escapes_decode(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char out[128];
    size_t len = 0;
    ag_error e;
    if (read_string(good[i].escaped, out, sizeof out, &len, &e) != AG_OK)
      fail_msg("\"%s\": %s", good[i].escaped, e.reason);
    if (len != good[i].len || memcmp(out, good[i].bytes, len) != 0)
      fail_msg("\"%s\" read as %zu bytes \"%.*s\"", good[i].escaped, len, (int)len, out);
  }
}

/* Through the decoder, as a party name (which may not hold control
 * characters, so only the cases without one). */
static void test_escapes_in_a_name(void **state) {
  (void)state;
  size_t tried = 0;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    bool control = false;
    for (size_t k = 0; k < good[i].len; k++)
      control |= (unsigned char)good[i].bytes[k] < 0x20;
    if (control)
      continue;
    ag_arena a;
    ag_arena_init(&a, 4096);
    ag_txn t;
    ag_error e;
    if (decode_name(good[i].escaped, &t, &a, &e) != AG_OK)
      fail_msg("\"%s\": %s: %s", good[i].escaped, e.field, e.reason);
    const ag_party *p = &t.parties[AG_PARTY_END_USER];
    if (p->name_len != good[i].len || memcmp(p->name, good[i].bytes, good[i].len) != 0)
      fail_msg("\"%s\" decoded to %zu bytes \"%.*s\"", good[i].escaped, p->name_len,
               (int)p->name_len, p->name);
    ag_arena_free(&a);
    tried++;
  }
  assert_true(tried >= 10);
}

static void test_bad_escapes_refused(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char out[128];
    size_t len;
    ag_error e;
    if (read_string(bad[i], out, sizeof out, &len, &e) != AG_ERR_INPUT)
      fail_msg("the reader accepted \"%s\"", bad[i]);
    assert_true(e.reason[0] != '\0');
    ag_arena a;
    ag_arena_init(&a, 4096);
    ag_txn t;
    if (decode_name(bad[i], &t, &a, &e) != AG_ERR_INPUT)
      fail_msg("the decoder accepted \"%s\"", bad[i]);
    ag_arena_free(&a);
  }
}

/* A string longer than the buffer: the full length is still reported and
 * nothing is written past cap. */
static void test_long_string_length(void **state) {
  (void)state;
  char out[8];
  memset(out, 'Z', sizeof out);
  size_t len = 0;
  ag_error e;
  assert_int_equal(read_string("abc\\\\u0041\\u00e9\\ud83d\\ude00xyz", out, 4, &len, &e), AG_OK);
  assert_int_equal(len, 3 + 6 + 2 + 4 + 3); /* "\\" then "u0041" read as text */
  assert_int_equal(out[4], 'Z');
}

/* The encoder caches step texts (decision_encode.c). A text that names
 * its step's citation (ENC refused under Part 746: "<cite> lists the only
 * licence exceptions ...") must come back with that citation, not with the
 * citation of an earlier step of the same kind, row and argument. */
static void test_cached_text_keeps_its_cite(void **state) {
  (void)state;
  ag_rules *rules = NULL;
  ag_error err;
  assert_int_equal(ag_rules_load_default(&rules, &err), AG_OK);
  assert_true(rules->n_embargoes > 0);
  ag_txn t;
  ag_txn_init(&t);
  snprintf(t.eccn, sizeof t.eccn, "5A004.b");
  snprintf(t.destination, sizeof t.destination, "DE");
  ag_decision d;
  assert_int_equal(ag_decide(rules, &t, &d, &err), AG_OK);
  const ag_embargo *emb = &rules->embargoes[0];
  const char *cites[] = {"746.8(c)(2)", "746.3(c)", "746.8(c)(2)"};
  d.n_steps = 3;
  for (int i = 0; i < 3; i++)
    d.steps[i] = (ag_step){.kind = AG_STEP_ENC, .result = AG_RESULT_BLOCKED, .cite = cites[i],
                           .row = emb, .arg = 2};
  ag_json_encoder *e = ag_json_encoder_new();
  assert_non_null(e);
  for (int round = 0; round < 2; round++) { /* the second from the cache */
    ag_buf b;
    ag_buf_init(&b);
    ag_json_encoder_decision(e, &d, &b);
    json_t *root = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(root);
    json_t *trace = json_object_get(root, "trace");
    assert_int_equal(json_array_size(trace), 3);
    for (size_t i = 0; i < 3; i++) {
      const char *text = json_string_value(json_object_get(json_array_get(trace, i), "text"));
      char want[64];
      snprintf(want, sizeof want, "%s lists the only licence exceptions", cites[i]);
      assert_non_null(text);
      assert_non_null(strstr(text, want));
    }
    json_decref(root);
    ag_buf_free(&b);
  }
  ag_json_encoder_free(e);
  ag_rules_free(rules);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escapes_decode),
      cmocka_unit_test(test_escapes_in_a_name),
      cmocka_unit_test(test_bad_escapes_refused),
      cmocka_unit_test(test_long_string_length),
      cmocka_unit_test(test_cached_text_keeps_its_cite),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
