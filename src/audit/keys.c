/*
 * keys.c - API keys: creation, listing, revocation, authentication and the
 * role check.
 *
 * A key is "agk_" + a 12-hex-digit id + "_" + 32 random bytes in base64url.
 * The id is not secret (it is listed and finds the row); only SHA-256 of the
 * whole key is stored, and it is compared in constant time. The random part
 * carries 256 bits, so a plain hash (no salt, no slow KDF) cannot be reversed
 * or guessed. Keys are never deleted, only revoked, so an audit record's
 * key_id always names a key that can still be listed (15 CFR 762.2(b): who
 * acted on an export).
 */
#include "audit_int.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ID_HEX 12
#define SECRET_BYTES 32
#define SECRET_B64 43
#define TOKEN_LEN (4 + ID_HEX + 1 + SECRET_B64)

static const char *const role_names[] = {
    [AG_KEYS_ROLE_CHECKER] = "checker",
    [AG_KEYS_ROLE_AUDITOR] = "auditor",
    [AG_KEYS_ROLE_ADMIN] = "admin",
    [AG_KEYS_ROLE_REVIEWER] = "reviewer",
};

const char *ag_keys_role_name(ag_keys_role r) {
  return r >= AG_KEYS_ROLE_CHECKER && r <= AG_KEYS_ROLE_REVIEWER ? role_names[r] : "none";
}

bool ag_keys_role_parse(const char *s, ag_keys_role *out) {
  for (int r = AG_KEYS_ROLE_CHECKER; s && r <= AG_KEYS_ROLE_REVIEWER; r++)
    if (!strcmp(s, role_names[r])) {
      *out = (ag_keys_role)r;
      return true;
    }
  return false;
}

bool ag_keys_allows(ag_keys_role role, ag_keys_action act) {
  switch (role) {
  case AG_KEYS_ROLE_ADMIN: return true;
  case AG_KEYS_ROLE_CHECKER: return act == AG_KEYS_ACT_CHECK || act == AG_KEYS_ACT_SCREEN;
  case AG_KEYS_ROLE_AUDITOR:
    return act == AG_KEYS_ACT_AUDIT_READ || act == AG_KEYS_ACT_AUDIT_EXPORT;
  case AG_KEYS_ROLE_REVIEWER:
    return act == AG_KEYS_ACT_CHECK || act == AG_KEYS_ACT_SCREEN || act == AG_KEYS_ACT_AUDIT_READ ||
           act == AG_KEYS_ACT_REVIEW;
  }
  return false;
}

ag_status ag_keys_require(const ag_keys_info *key, ag_keys_action act, ag_error *err) {
  static const char *const what[] = {[AG_KEYS_ACT_CHECK] = "request checks",
                                     [AG_KEYS_ACT_SCREEN] = "request screenings",
                                     [AG_KEYS_ACT_AUDIT_READ] = "read the audit log",
                                     [AG_KEYS_ACT_AUDIT_EXPORT] = "export the audit log",
                                     [AG_KEYS_ACT_ADMIN] = "manage keys",
                                     [AG_KEYS_ACT_REVIEW] = "resolve reviews"};
  if (!key)
    return ag_error_set(err, AG_ERR_AUTH, "authorization", "an API key is required");
  if (ag_keys_allows(key->role, act))
    return AG_OK;
  return ag_error_set(err, AG_ERR_FORBIDDEN, "authorization", "role %s may not %s",
                      ag_keys_role_name(key->role),
                      (unsigned)act < sizeof what / sizeof what[0] ? what[act] : "do this");
}

static void b64url(const unsigned char *in, size_t n, char *out) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = a[v >> 18];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63];
    out[o++] = a[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = a[v >> 18];
    out[o++] = a[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = a[v >> 18];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63];
  }
  out[o] = '\0';
}

static bool key_hash(ag_audit_db *db, const char *token, size_t n, unsigned char out[32]) {
  unsigned int len = 0;
  return EVP_Digest(token, n, out, &len, db->sha256, NULL) && len == 32;
}

static void info_from_stmt(sqlite3_stmt *s, ag_keys_info *k) {
  memset(k, 0, sizeof *k);
  snprintf(k->id, sizeof k->id, "%s", audit_col_text(s, 0));
  ag_keys_role_parse(audit_col_text(s, 2), &k->role);
  snprintf(k->name, sizeof k->name, "%s", audit_col_text(s, 3));
  k->created_ms = sqlite3_column_int64(s, 4);
  k->revoked_ms = sqlite3_column_int64(s, 5);
}

static ag_status check_name(const char *name, ag_error *err) {
  size_t n = strlen(name);
  if (n > AG_KEYS_NAME_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "name", "longer than %d bytes", AG_KEYS_NAME_MAX);
  if (!ag_utf8_valid(name, n))
    return ag_error_set(err, AG_ERR_INPUT, "name", "not valid UTF-8");
  /* `keys list` prints names to a terminal: a control character or a
   * bidirectional override there could make one key look like another */
  const unsigned char *p = (const unsigned char *)name;
  for (size_t i = 0; i < n;) {
    uint32_t cp = p[i];
    size_t len = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
    if (len == 2)
      cp = (cp & 0x1f) << 6 | (p[i + 1] & 0x3f);
    else if (len == 3)
      cp = (cp & 0x0f) << 12 | (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f);
    else if (len == 4)
      cp = (cp & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3f) << 12 |
           (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
      return ag_error_set(err, AG_ERR_INPUT, "name",
                          "contains a control character (U+%04X) at byte %zu", (unsigned)cp, i);
    if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069))
      return ag_error_set(err, AG_ERR_INPUT, "name",
                          "contains a bidirectional formatting character (U+%04X) at byte %zu",
                          (unsigned)cp, i);
    i += len;
  }
  return AG_OK;
}

/* A key being made: its id, token and the hash that is stored. */
typedef struct {
  ag_keys_info k;
  unsigned char hash[32];
  char *token; /* the caller's token_out */
} new_key;

static ag_status key_make(ag_audit_db *db, new_key *nk, ag_error *err) {
  unsigned char rnd[ID_HEX / 2 + SECRET_BYTES];
  char secret[SECRET_B64 + 1];
  ag_status st = AG_OK;
  if (RAND_bytes(rnd, sizeof rnd) != 1) {
    st = ag_error_set(err, AG_ERR_INTERNAL, "key", "no random bytes available");
  } else {
    audit_hex(rnd, ID_HEX / 2, nk->k.id);
    b64url(rnd + ID_HEX / 2, SECRET_BYTES, secret);
    snprintf(nk->token, AG_KEYS_TOKEN_MAX, "agk_%s_%s", nk->k.id, secret);
    if (!key_hash(db, nk->token, TOKEN_LEN, nk->hash))
      st = ag_error_set(err, AG_ERR_INTERNAL, "key", "SHA-256 failed");
  }
  OPENSSL_cleanse(rnd, sizeof rnd);
  OPENSSL_cleanse(secret, sizeof secret);
  return st;
}

/* Writes the key's row; caller holds wmu. *taken when the random id is in
 * use already. */
ag_status audit_sqlite_key_insert(ag_audit_db *db, const ag_keys_info *k,
                                  const unsigned char hash[32], bool *taken, ag_error *err) {
  sqlite3_stmt *s;
  *taken = false;
  ag_status st = audit_stmt(&db->w, ST_KEY_ADD, &s, err);
  if (st != AG_OK)
    return st;
  sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, ag_keys_role_name(k->role), -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, k->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, k->created_ms);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  *taken = rc == SQLITE_CONSTRAINT_PRIMARYKEY;
  return rc == SQLITE_DONE ? AG_OK : audit_db_error(err, db->w.h, "add key");
}

static ag_status key_insert(ag_audit_db *db, const new_key *nk, bool *taken, ag_error *err) {
  return db->store->key_insert(db, &nk->k, nk->hash, taken, err);
}

typedef struct {
  const new_key *nk;
  bool taken;
} key_txn;

static ag_status key_insert_in_txn(ag_audit_db *db, void *ctx, ag_error *err) {
  key_txn *t = ctx;
  return key_insert(db, t->nk, &t->taken, err);
}

/* Shared by both adds: checks, then makes a key and stores it (with its
 * record when audit_id is not NULL), retrying on the (2^-48) chance that
 * the random id is taken. */
static ag_status add_key(ag_audit_db *db, ag_keys_role role, const char *name, const char *actor,
                         const char *client, char token_out[AG_KEYS_TOKEN_MAX],
                         ag_keys_info *info, char *audit_id, ag_error *err) {
  token_out[0] = '\0';
  if (role < AG_KEYS_ROLE_CHECKER || role > AG_KEYS_ROLE_REVIEWER)
    return ag_error_set(err, AG_ERR_INPUT, "role", "must be checker, auditor, reviewer or admin");
  if (!name)
    name = "";
  ag_status st = check_name(name, err);
  if (st != AG_OK)
    return st;
  new_key nk = {.k = {.role = role, .created_ms = audit_now_ms()}, .token = token_out};
  snprintf(nk.k.name, sizeof nk.k.name, "%s", name);
  for (int attempt = 0; attempt < 3; attempt++) {
    if ((st = key_make(db, &nk, err)) != AG_OK)
      break;
    bool taken;
    if (audit_id) {
      key_txn t = {.nk = &nk};
      st = audit_key_event_with(db, false, nk.k.id, ag_keys_role_name(role), nk.k.name, actor,
                                client, audit_id, key_insert_in_txn, &t, err);
      taken = t.taken;
    } else {
      pthread_mutex_lock(&db->wmu);
      st = key_insert(db, &nk, &taken, err);
      uint64_t commit = st == AG_OK ? audit_committed(db) : 0;
      pthread_mutex_unlock(&db->wmu);
      if (commit)
        st = audit_sync(db, commit, err);
    }
    if (st == AG_OK || !taken)
      break;
  }
  OPENSSL_cleanse(nk.hash, sizeof nk.hash);
  if (st != AG_OK) {
    OPENSSL_cleanse(token_out, AG_KEYS_TOKEN_MAX);
    token_out[0] = '\0';
    return st;
  }
  if (info)
    *info = nk.k;
  return AG_OK;
}

ag_status ag_keys_add(ag_audit_db *db, ag_keys_role role, const char *name,
                      char token_out[AG_KEYS_TOKEN_MAX], ag_keys_info *info, ag_error *err) {
  return add_key(db, role, name, NULL, NULL, token_out, info, NULL, err);
}

ag_status ag_keys_add_recorded(ag_audit_db *db, ag_keys_role role, const char *name,
                               const char *actor, const char *client,
                               char token_out[AG_KEYS_TOKEN_MAX], ag_keys_info *info,
                               char audit_id[AG_AUDIT_ID_MAX], ag_error *err) {
  return add_key(db, role, name, actor, client, token_out, info, audit_id, err);
}

ag_status ag_keys_list(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err) {
  *out = NULL;
  *n = 0;
  return db->store->key_list(db, out, n, err);
}

ag_status audit_sqlite_key_list(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err) {
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s;
  ag_keys_info *v = NULL;
  size_t len = 0, cap = 0;
  if ((st = audit_stmt(c, ST_KEY_LIST, &s, err)) == AG_OK) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (len == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        ag_keys_info *nv = realloc(v, ncap * sizeof *nv);
        if (!nv) {
          st = ag_error_set(err, AG_ERR_NOMEM, "keys", "out of memory");
          break;
        }
        v = nv;
        cap = ncap;
      }
      info_from_stmt(s, &v[len++]);
    }
    if (st == AG_OK && rc != SQLITE_DONE)
      st = audit_db_error(err, c->h, "list keys");
    sqlite3_reset(s);
  }
  audit_read_release(db, c);
  if (st != AG_OK) {
    free(v);
    return st;
  }
  *out = v;
  *n = len;
  return AG_OK;
}

ag_status audit_sqlite_key_revoke(ag_audit_db *db, const char *id, int64_t now_ms, bool *changed,
                                  bool *found, ag_error *err) {
  sqlite3_stmt *s;
  *changed = *found = false;
  ag_status st = audit_stmt(&db->w, ST_KEY_REVOKE, &s, err);
  if (st != AG_OK)
    return st;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now_ms);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE)
    return audit_db_error(err, db->w.h, "revoke key");
  if (sqlite3_changes(db->w.h) > 0) {
    *changed = *found = true;
    return AG_OK;
  }
  /* nothing changed: already revoked (fine) or no such key */
  if ((st = audit_stmt(&db->w, ST_KEY_GET, &s, err)) != AG_OK)
    return st;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  sqlite3_reset(s);
  *found = rc == SQLITE_ROW;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? AG_OK : audit_db_error(err, db->w.h, "revoke key");
}

ag_status ag_keys_revoke(ag_audit_db *db, const char *id, bool *revoked_now, ag_error *err) {
  if (revoked_now)
    *revoked_now = false;
  if (!id || !*id)
    return ag_error_set(err, AG_ERR_INPUT, "id", "no key id given");
  pthread_mutex_lock(&db->wmu);
  bool changed, found;
  uint64_t commit = 0;
  ag_status st = db->store->key_revoke(db, id, audit_now_ms(), &changed, &found, err);
  if (st == AG_OK && changed) {
    commit = audit_committed(db);
    if (revoked_now)
      *revoked_now = true;
  } else if (st == AG_OK && !found)
    st = ag_error_set(err, AG_ERR_NOTFOUND, "id", "no key '%.20s'", id);
  pthread_mutex_unlock(&db->wmu);
  if (commit)
    st = audit_sync(db, commit, err);
  return st;
}

static bool b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

/* Finds the key in "agk_ID_SECRET" or "Bearer agk_ID_SECRET" (spaces
 * around are ignored). Returns false when the shape is wrong. */
static bool token_parse(const char *s, const char **tok, char id[AG_KEYS_ID_MAX]) {
  while (*s == ' ' || *s == '\t')
    s++;
  if (!strncasecmp(s, "Bearer ", 7))
    for (s += 7; *s == ' ' || *s == '\t';)
      s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  if (n != TOKEN_LEN || memcmp(s, "agk_", 4) != 0 || s[4 + ID_HEX] != '_')
    return false;
  for (int i = 0; i < ID_HEX; i++) {
    char c = s[4 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
    id[i] = c;
  }
  id[ID_HEX] = '\0';
  for (int i = 0; i < SECRET_B64; i++)
    if (!b64url_char(s[5 + ID_HEX + i]))
      return false;
  *tok = s;
  return true;
}

ag_status ag_keys_authenticate(ag_audit_db *db, const char *bearer_token, ag_keys_info *info,
                               ag_error *err) {
  memset(info, 0, sizeof *info);
  const char *tok;
  char id[AG_KEYS_ID_MAX];
  unsigned char hash[32];
  if (!bearer_token || !token_parse(bearer_token, &tok, id))
    return ag_error_set(err, AG_ERR_AUTH, "authorization", "invalid API key");
  if (!key_hash(db, tok, TOKEN_LEN, hash))
    return ag_error_set(err, AG_ERR_INTERNAL, "authorization", "SHA-256 failed");
  ag_keys_info k;
  unsigned char stored[32];
  bool found;
  ag_status st = db->store->key_get(db, id, &k, stored, &found, err);
  if (st != AG_OK)
    return st;
  bool match = found && !CRYPTO_memcmp(stored, hash, 32);
  if (!match)
    return ag_error_set(err, AG_ERR_AUTH, "authorization", "invalid API key");
  if (k.revoked_ms)
    return ag_error_set(err, AG_ERR_AUTH, "authorization", "API key revoked");
  *info = k;
  return AG_OK;
}

ag_status audit_sqlite_key_get(ag_audit_db *db, const char *id, ag_keys_info *k,
                               unsigned char hash[32], bool *found, ag_error *err) {
  *found = false;
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s;
  if ((st = audit_stmt(c, ST_KEY_GET, &s, err)) == AG_OK) {
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      const void *stored = sqlite3_column_blob(s, 1);
      /* a hash of another length (edited by hand) matches no key */
      *found = sqlite3_column_bytes(s, 1) == 32 && stored;
      if (*found)
        memcpy(hash, stored, 32);
      info_from_stmt(s, k);
    } else if (rc != SQLITE_DONE) {
      st = audit_db_error(err, c->h, "authenticate");
    }
    sqlite3_reset(s);
  }
  audit_read_release(db, c);
  return st;
}
