/*
 * auth.c - API keys on every /v1 route, and per-key rate limits.
 *
 * ag_keys_authenticate() hashes the key and reads the keys table; to keep
 * that off the hot path a successful check is cached, by SHA-256 of the
 * presented key, for auth_cache_ttl seconds. Revocation therefore takes
 * effect at once when done through DELETE /v1/keys/{id} or followed by a
 * reload (SIGHUP), and within the TTL otherwise (docs/api.md). Failures are
 * never cached, so a key added with `acegate keys add` works at once, and
 * guessed keys cannot fill the cache.
 *
 * Rate limits are token buckets per key id: `rate` tokens a second up to
 * `burst`; an empty bucket answers 429 with Retry-After.
 */
#include "server_int.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 1024 /* power of two */
#define CACHE_PROBE 8

struct srv_auth_entry {
  unsigned char hash[32];
  ag_keys_info info;
  int64_t expires_ns;
  bool used;
};

struct srv_bucket {
  char id[AG_KEYS_ID_MAX];
  double tokens;
  int64_t last_ns;
};

/* Rate limits and the key cache run on the configured clock (tests). */
static int64_t clock_now(const ag_server *s) {
  return s->cfg.clock_ns ? s->cfg.clock_ns(s->cfg.clock_ctx) : srv_now_ns();
}

static bool token_hash(ag_server *s, const char *token, unsigned char out[32]) {
  unsigned int len = 0;
  if (!s->sha256)
    return false;
  return EVP_Digest(token, strlen(token), out, &len, s->sha256, NULL) && len == 32;
}

ag_status srv_auth(ag_server *s, const char *authorization, ag_keys_info *out, ag_error *err) {
  unsigned char h[32];
  bool cache = s->auth_ttl_ms > 0 && token_hash(s, authorization, h);
  int64_t now = clock_now(s);
  if (cache) {
    uint32_t at;
    memcpy(&at, h, sizeof at);
    pthread_mutex_lock(&s->auth_mu);
    if (s->auth_cache)
      for (int i = 0; i < CACHE_PROBE; i++) {
        srv_auth_entry *e = &s->auth_cache[(at + (uint32_t)i) & (CACHE_SLOTS - 1)];
        if (e->used && e->expires_ns > now && !CRYPTO_memcmp(e->hash, h, 32)) {
          *out = e->info;
          pthread_mutex_unlock(&s->auth_mu);
          return AG_OK;
        }
      }
    pthread_mutex_unlock(&s->auth_mu);
  }
  ag_status st = ag_keys_authenticate(s->keys_db, authorization, out, err);
  if (st != AG_OK || !cache)
    return st;
  uint32_t at;
  memcpy(&at, h, sizeof at);
  pthread_mutex_lock(&s->auth_mu);
  if (!s->auth_cache)
    s->auth_cache = calloc(CACHE_SLOTS, sizeof *s->auth_cache);
  if (s->auth_cache) {
    /* a free or expired slot near the home slot, else the home slot */
    srv_auth_entry *slot = &s->auth_cache[at & (CACHE_SLOTS - 1)];
    for (int i = 0; i < CACHE_PROBE; i++) {
      srv_auth_entry *e = &s->auth_cache[(at + (uint32_t)i) & (CACHE_SLOTS - 1)];
      if (!e->used || e->expires_ns <= now) {
        slot = e;
        break;
      }
    }
    memcpy(slot->hash, h, 32);
    slot->info = *out;
    slot->expires_ns = now + s->auth_ttl_ms * 1000000;
    slot->used = true;
  }
  pthread_mutex_unlock(&s->auth_mu);
  return AG_OK;
}

void srv_auth_clear(ag_server *s) {
  pthread_mutex_lock(&s->auth_mu);
  if (s->auth_cache)
    memset(s->auth_cache, 0, CACHE_SLOTS * sizeof *s->auth_cache);
  pthread_mutex_unlock(&s->auth_mu);
}

static uint32_t id_hash(const char *id) {
  uint32_t h = 2166136261u;
  for (; *id; id++)
    h = (h ^ (unsigned char)*id) * 16777619u;
  return h;
}

/* Open addressing on key ids, doubled when half full. Keys are few (they
 * are created by an administrator), so the table stays small. */
static srv_bucket *bucket_find(ag_server *s, const char *id) {
  if (s->nbuckets * 2 >= s->bucket_cap) {
    size_t cap = s->bucket_cap ? s->bucket_cap * 2 : 64;
    srv_bucket *nb = calloc(cap, sizeof *nb);
    if (!nb)
      return NULL;
    for (size_t i = 0; i < s->bucket_cap; i++) {
      if (!s->buckets[i].id[0])
        continue;
      size_t j = id_hash(s->buckets[i].id) & (cap - 1);
      while (nb[j].id[0])
        j = (j + 1) & (cap - 1);
      nb[j] = s->buckets[i];
    }
    free(s->buckets);
    s->buckets = nb;
    s->bucket_cap = cap;
  }
  size_t j = id_hash(id) & (s->bucket_cap - 1);
  while (s->buckets[j].id[0] && strcmp(s->buckets[j].id, id) != 0)
    j = (j + 1) & (s->bucket_cap - 1);
  srv_bucket *b = &s->buckets[j];
  if (!b->id[0]) {
    snprintf(b->id, sizeof b->id, "%s", id);
    b->tokens = -1; /* new: filled below */
    s->nbuckets++;
  }
  return b;
}

bool srv_rate_take(ag_server *s, const char *key_id, unsigned *retry_after) {
  double rate = s->cfg.rate_limit;
  if (rate <= 0)
    return true;
  double burst = s->cfg.rate_burst > 0 ? s->cfg.rate_burst : (rate > 1 ? rate : 1);
  int64_t now = clock_now(s);
  bool ok = true;
  pthread_mutex_lock(&s->auth_mu);
  srv_bucket *b = bucket_find(s, key_id);
  if (b) {
    if (b->tokens < 0)
      b->tokens = burst;
    else
      b->tokens = fmin(burst, b->tokens + (double)(now - b->last_ns) * 1e-9 * rate);
    b->last_ns = now;
    if (b->tokens >= 1) {
      b->tokens -= 1;
    } else {
      ok = false;
      double wait = (1 - b->tokens) / rate;
      *retry_after = (unsigned)ceil(wait) > 0 ? (unsigned)ceil(wait) : 1;
    }
  }
  pthread_mutex_unlock(&s->auth_mu);
  return ok;
}

void srv_auth_init(ag_server *s) {
  s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void srv_auth_free(ag_server *s) {
  EVP_MD_free(s->sha256);
  s->sha256 = NULL;
  free(s->auth_cache);
  free(s->buckets);
  s->auth_cache = NULL;
  s->buckets = NULL;
  s->nbuckets = s->bucket_cap = 0;
}
