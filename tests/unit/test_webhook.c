/*
 * test_webhook.c - the webhook's signature and its refusals: the HMAC-SHA256
 * of RFC 4231 (test cases 1 and 2) in the "sha256=<hex>" form receivers
 * compare; a URL that is not http(s) and an unreadable or empty secret file
 * are refused naming the option. Delivery itself (retries, the deliveries
 * table) is tested end to end against a local receiver in
 * tests/cli/test_webhook.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_rfc4231_vectors(void **state) {
  (void)state;
  char sig[72];
  /* RFC 4231 4.2, test case 1: key 20 bytes of 0x0b, data "Hi There" */
  unsigned char key1[20];
  memset(key1, 0x0b, sizeof key1);
  ag_webhook_sign(key1, sizeof key1, "Hi There", 8, sig);
  assert_string_equal(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  /* RFC 4231 4.3, test case 2: key "Jefe" */
  const char *data = "what do ya want for nothing?";
  ag_webhook_sign((const unsigned char *)"Jefe", 4, data, strlen(data), sig);
  assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_refusals(void **state) {
  (void)state;
  char secret[] = "/tmp/acegate-webhook-unit-XXXXXX";
  int fd = mkstemp(secret);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "k\n", 2), 2);
  close(fd);
  ag_webhook *w = NULL;
  ag_error err;
  const char *bad_urls[] = {"ftp://example.com/hook", "file:///etc/passwd", "example.com/hook",
                            "http://", ""};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
    ag_webhook_options o = {.url = bad_urls[i], .secret_file = secret, .log_path = ":memory:"};
    assert_int_equal(ag_webhook_open(&o, &w, &err), AG_ERR_INPUT);
    assert_string_equal(err.field, "webhook-url");
    assert_null(w);
  }
  ag_webhook_options missing = {.url = "https://example.com/hook",
                                .secret_file = "/nonexistent/secret",
                                .log_path = ":memory:"};
  assert_int_equal(ag_webhook_open(&missing, &w, &err), AG_ERR_IO);
  assert_string_equal(err.field, "webhook-secret-file");
  /* a file of newlines only holds no secret */
  FILE *f = fopen(secret, "w");
  assert_non_null(f);
  fputs("\n\n", f);
  fclose(f);
  ag_webhook_options empty = {.url = "https://example.com/hook", .secret_file = secret,
                              .log_path = ":memory:"};
  assert_int_equal(ag_webhook_open(&empty, &w, &err), AG_ERR_INPUT);
  assert_string_equal(err.field, "webhook-secret-file");
  unlink(secret);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4231_vectors),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
