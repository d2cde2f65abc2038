/*
 * test_audit_keys.c - API keys: creation, authentication, revocation, roles,
 * and that only a hash of each key reaches the database file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include "acegate/audit.h"
#include "audit_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void add(ag_audit_db *db, ag_keys_role role, const char *name, char tok[AG_KEYS_TOKEN_MAX],
                ag_keys_info *k) {
  ag_error e;
  assert_int_equal(ag_keys_add(db, role, name, tok, k, &e), AG_OK);
}

static void test_add_and_authenticate(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k, a;
  ag_error e;
  add(f->db, AG_KEYS_ROLE_CHECKER, "ci runner", tok, &k);
  assert_int_equal(strlen(tok), 60);
  assert_true(!strncmp(tok, "agk_", 4));
  assert_int_equal(strlen(k.id), 12);
  assert_true(!strncmp(tok + 4, k.id, 12));
  assert_int_equal(k.role, AG_KEYS_ROLE_CHECKER);
  assert_string_equal(k.name, "ci runner");
  assert_int_equal(k.revoked_ms, 0);

  assert_int_equal(ag_keys_authenticate(f->db, tok, &a, &e), AG_OK);
  assert_string_equal(a.id, k.id);
  assert_int_equal(a.role, AG_KEYS_ROLE_CHECKER);
  assert_int_equal(a.created_ms, k.created_ms);

  char hdr[100];
  snprintf(hdr, sizeof hdr, "Bearer %s", tok);
  assert_int_equal(ag_keys_authenticate(f->db, hdr, &a, &e), AG_OK);
  snprintf(hdr, sizeof hdr, "  bearer   %s \r\n", tok);
  assert_int_equal(ag_keys_authenticate(f->db, hdr, &a, &e), AG_OK);

  /* a second key is distinct */
  char tok2[AG_KEYS_TOKEN_MAX];
  ag_keys_info k2;
  add(f->db, AG_KEYS_ROLE_ADMIN, NULL, tok2, &k2);
  assert_string_not_equal(tok, tok2);
  assert_string_not_equal(k.id, k2.id);
  assert_int_equal(ag_keys_authenticate(f->db, tok2, &a, &e), AG_OK);
  assert_int_equal(a.role, AG_KEYS_ROLE_ADMIN);
  assert_string_equal(a.name, "");
}

static void test_rejects_bad_tokens(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX], t[AG_KEYS_TOKEN_MAX + 8];
  ag_keys_info k, a;
  ag_error e;
  add(f->db, AG_KEYS_ROLE_AUDITOR, "x", tok, &k);

  snprintf(t, sizeof t, "%s", tok);
  t[30] = t[30] == 'A' ? 'B' : 'A'; /* wrong secret, right id */
  assert_int_equal(ag_keys_authenticate(f->db, t, &a, &e), AG_ERR_AUTH);
  assert_string_equal(e.field, "authorization");
  assert_string_equal(e.reason, "invalid API key");
  assert_string_equal(a.id, "");

  snprintf(t, sizeof t, "%s", tok);
  t[5] = t[5] == 'a' ? 'b' : 'a'; /* unknown id: same answer */
  assert_int_equal(ag_keys_authenticate(f->db, t, &a, &e), AG_ERR_AUTH);
  assert_string_equal(e.reason, "invalid API key");

  const char *junk[] = {"", "Bearer", "Bearer ", "agk_", "Basic dXNlcjpwYXNz", "agk_zz", NULL};
  for (int i = 0; junk[i]; i++)
    assert_int_equal(ag_keys_authenticate(f->db, junk[i], &a, &e), AG_ERR_AUTH);
  assert_int_equal(ag_keys_authenticate(f->db, NULL, &a, &e), AG_ERR_AUTH);
  snprintf(t, sizeof t, "%sA", tok); /* too long */
  assert_int_equal(ag_keys_authenticate(f->db, t, &a, &e), AG_ERR_AUTH);
  snprintf(t, sizeof t, "%s", tok);
  t[59] = '='; /* not base64url */
  assert_int_equal(ag_keys_authenticate(f->db, t, &a, &e), AG_ERR_AUTH);
  snprintf(t, sizeof t, "%s", tok);
  t[4] = 'G'; /* not lower hex */
  assert_int_equal(ag_keys_authenticate(f->db, t, &a, &e), AG_ERR_AUTH);
}

static void test_revoke(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX], tok2[AG_KEYS_TOKEN_MAX];
  ag_keys_info k, k2, a;
  ag_error e;
  add(f->db, AG_KEYS_ROLE_CHECKER, "old", tok, &k);
  add(f->db, AG_KEYS_ROLE_CHECKER, "new", tok2, &k2);
  bool now = false;
  assert_int_equal(ag_keys_revoke(f->db, k.id, &now, &e), AG_OK);
  assert_true(now);
  assert_int_equal(ag_keys_authenticate(f->db, tok, &a, &e), AG_ERR_AUTH);
  assert_string_equal(e.reason, "API key revoked");
  assert_int_equal(ag_keys_authenticate(f->db, tok2, &a, &e), AG_OK);
  assert_int_equal(ag_keys_revoke(f->db, k.id, &now, &e), AG_OK); /* again: no-op */
  assert_false(now);
  assert_int_equal(ag_keys_revoke(f->db, "000000000000", NULL, &e), AG_ERR_NOTFOUND);
  assert_string_equal(e.field, "id");
  assert_int_equal(ag_keys_revoke(f->db, "", NULL, &e), AG_ERR_INPUT);

  /* a handle opened later sees the revocation */
  ag_audit_db *db2;
  ag_audit_options o = {.flags = AG_AUDIT_OPEN_EXISTING};
  assert_int_equal(ag_audit_open(f->path, &o, &db2, &e), AG_OK);
  assert_int_equal(ag_keys_authenticate(db2, tok, &a, &e), AG_ERR_AUTH);
  ag_keys_info *list;
  size_t n;
  assert_int_equal(ag_keys_list(db2, &list, &n, &e), AG_OK);
  assert_int_equal(n, 2);
  int revoked = 0;
  for (size_t i = 0; i < n; i++)
    if (list[i].revoked_ms) {
      revoked++;
      assert_string_equal(list[i].id, k.id);
      assert_string_equal(list[i].name, "old");
      assert_true(list[i].revoked_ms >= list[i].created_ms);
    }
  assert_int_equal(revoked, 1);
  free(list);
  ag_audit_close(db2);
}

static void test_list_empty_and_order(void **state) {
  fixture *f = *state;
  ag_keys_info *list;
  size_t n;
  ag_error e;
  assert_int_equal(ag_keys_list(f->db, &list, &n, &e), AG_OK);
  assert_int_equal(n, 0);
  assert_null(list);
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k;
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "k%02d", i);
    add(f->db, (ag_keys_role)(1 + i % 3), name, tok, &k);
  }
  assert_int_equal(ag_keys_list(f->db, &list, &n, &e), AG_OK);
  assert_int_equal(n, 20);
  for (size_t i = 1; i < n; i++)
    assert_true(list[i].created_ms >= list[i - 1].created_ms);
  for (size_t i = 0; i < n; i++)
    assert_int_not_equal(list[i].role, 0);
  free(list);
}

static void test_roles(void **state) {
  (void)state;
  struct {
    ag_keys_role role;
    bool allowed[6]; /* check, screen, audit read, audit export, admin, review */
  } m[] = {
      {AG_KEYS_ROLE_CHECKER, {true, true, false, false, false, false}},
      {AG_KEYS_ROLE_AUDITOR, {false, false, true, true, false, false}},
      {AG_KEYS_ROLE_ADMIN, {true, true, true, true, true, true}},
      {AG_KEYS_ROLE_REVIEWER, {true, true, true, false, false, true}},
  };
  for (size_t i = 0; i < 4; i++)
    for (int a = 0; a < 6; a++) {
      assert_int_equal(ag_keys_allows(m[i].role, (ag_keys_action)a), m[i].allowed[a]);
      ag_keys_info k = {.role = m[i].role};
      ag_error e;
      assert_int_equal(ag_keys_require(&k, (ag_keys_action)a, &e),
                       m[i].allowed[a] ? AG_OK : AG_ERR_FORBIDDEN);
    }
  ag_error e;
  ag_keys_info k = {.role = AG_KEYS_ROLE_AUDITOR};
  assert_int_equal(ag_keys_require(&k, AG_KEYS_ACT_CHECK, &e), AG_ERR_FORBIDDEN);
  assert_string_equal(e.reason, "role auditor may not request checks");
  assert_int_equal(ag_keys_require(NULL, AG_KEYS_ACT_CHECK, &e), AG_ERR_AUTH);
  assert_false(ag_keys_allows((ag_keys_role)0, AG_KEYS_ACT_CHECK));

  ag_keys_role r;
  assert_true(ag_keys_role_parse("auditor", &r) && r == AG_KEYS_ROLE_AUDITOR);
  assert_true(ag_keys_role_parse("reviewer", &r) && r == AG_KEYS_ROLE_REVIEWER);
  assert_false(ag_keys_role_parse("root", &r));
  assert_false(ag_keys_role_parse("Admin", &r));
  assert_string_equal(ag_keys_role_name(AG_KEYS_ROLE_ADMIN), "admin");
}

static void test_bad_add(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX];
  ag_error e;
  assert_int_equal(ag_keys_add(f->db, (ag_keys_role)0, "x", tok, NULL, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "role");
  assert_string_equal(tok, "");
  char longname[80];
  memset(longname, 'n', sizeof longname - 1);
  longname[79] = '\0';
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, longname, tok, NULL, &e), AG_ERR_INPUT);
  assert_string_equal(e.field, "name");
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, "a\nb", tok, NULL, &e), AG_ERR_INPUT);
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, "\xff", tok, NULL, &e), AG_ERR_INPUT);
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, "Zoë's key", tok, NULL, &e), AG_OK);
  /* what could make one key look like another in `keys list`: C0 and C1
   * controls, and bidirectional marks, embeddings, overrides and isolates */
  static const char *const spoofs[] = {"ad\xe2\x80\xaemin",  /* U+202E RLO */
                                       "a\xe2\x80\xaa" "b",      /* U+202A LRE */
                                       "a\xe2\x81\xa6" "b",      /* U+2066 LRI */
                                       "a\xe2\x81\xa9" "b",      /* U+2069 PDI */
                                       "a\xe2\x80\x8f" "b",      /* U+200F RLM */
                                       "a\xd8\x9c" "b",           /* U+061C ALM */
                                       "a\xc2\x85" "b",           /* U+0085 NEL */
                                       "a\xc2\x9b" "b",           /* U+009B CSI */
                                       "a\x1b" "[2Jb",             /* ESC */
                                       "a\x7f"};
  for (size_t i = 0; i < sizeof spoofs / sizeof spoofs[0]; i++) {
    assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, spoofs[i], tok, NULL, &e),
                     AG_ERR_INPUT);
    assert_string_equal(e.field, "name");
  }
  /* right-to-left text itself is a name like any other */
  assert_int_equal(ag_keys_add(f->db, AG_KEYS_ROLE_ADMIN, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", tok,
                               NULL, &e),
                   AG_OK);
}

/* A key and its key_added record are written in one transaction: when the
 * record cannot be written, no key exists (a crash between the two used to
 * leave an active key nobody could account for). */
static void test_add_recorded_is_atomic(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX], id[AG_AUDIT_ID_MAX];
  ag_keys_info k;
  ag_error e;
  assert_int_equal(
      ag_keys_add_recorded(f->db, AG_KEYS_ROLE_AUDITOR, "ops", "abcdef012345", "192.0.2.1", tok,
                           &k, id, &e),
      AG_OK);
  ag_audit_entry *ent;
  assert_int_equal(ag_audit_get(f->db, id, &ent, &e), AG_OK);
  assert_string_equal(ent->outcome, "key_added");
  assert_string_equal(ent->key_id, "abcdef012345");
  assert_non_null(strstr(ent->decision, k.id));
  ag_audit_entry_free(ent);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM api_keys"), 1);

  /* the log refuses key records: the key is not made either */
  raw_sql(f->path, "CREATE TRIGGER refuse_keys BEFORE INSERT ON audit_log WHEN NEW.kind = 'key'"
                   " BEGIN SELECT RAISE(ABORT, 'refused'); END");
  assert_int_equal(ag_keys_add_recorded(f->db, AG_KEYS_ROLE_ADMIN, "x", "", "", tok, &k, id, &e),
                   AG_ERR_DB);
  assert_string_equal(tok, "");
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM api_keys"), 1);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_log"), 1);
}

/* The database file (and its WAL) never holds the key or its secret part. */
static void test_only_hash_stored(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k;
  add(f->db, AG_KEYS_ROLE_ADMIN, "root", tok, &k);
  const char *suffixes[] = {"", "-wal"};
  bool id_seen = false;
  for (int i = 0; i < 2; i++) {
    char p[160];
    snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
    FILE *fp = fopen(p, "rb");
    if (!fp)
      continue;
    char *data = malloc(1 << 22);
    size_t n = fread(data, 1, 1 << 22, fp);
    fclose(fp);
    assert_null(memmem(data, n, tok + 17, 43));
    id_seen |= memmem(data, n, k.id, 12) != NULL;
    free(data);
  }
  assert_true(id_seen); /* the row was written where we looked */
}

typedef struct {
  ag_audit_db *db;
  const char *tok;
  int ok;
} auth_job;

static void *auth_loop(void *arg) {
  auth_job *j = arg;
  for (int i = 0; i < 300; i++) {
    ag_keys_info a;
    ag_error e;
    if (ag_keys_authenticate(j->db, j->tok, &a, &e) == AG_OK)
      j->ok++;
  }
  return NULL;
}

static void test_concurrent_authenticate(void **state) {
  fixture *f = *state;
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k;
  add(f->db, AG_KEYS_ROLE_CHECKER, "load", tok, &k);
  pthread_t t[6];
  auth_job j[6];
  for (int i = 0; i < 6; i++) {
    j[i] = (auth_job){f->db, tok, 0};
    pthread_create(&t[i], NULL, auth_loop, &j[i]);
  }
  for (int i = 0; i < 6; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(j[i].ok, 300);
  }
}

static void test_memory_keys(void **state) {
  (void)state;
  ag_audit_db *db;
  ag_error e;
  assert_int_equal(ag_audit_open(":memory:", NULL, &db, &e), AG_OK);
  char tok[AG_KEYS_TOKEN_MAX];
  ag_keys_info k, a;
  add(db, AG_KEYS_ROLE_AUDITOR, "m", tok, &k);
  assert_int_equal(ag_keys_authenticate(db, tok, &a, &e), AG_OK);
  assert_int_equal(ag_keys_revoke(db, k.id, NULL, &e), AG_OK);
  assert_int_equal(ag_keys_authenticate(db, tok, &a, &e), AG_ERR_AUTH);
  ag_audit_close(db);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_add_and_authenticate),
      T(test_rejects_bad_tokens),
      T(test_revoke),
      T(test_list_empty_and_order),
      cmocka_unit_test(test_roles),
      T(test_bad_add),
      T(test_add_recorded_is_atomic),
      T(test_only_hash_stored),
      T(test_concurrent_authenticate),
      cmocka_unit_test(test_memory_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
