/*
 * copy.c - copying a log from one store to another with its chain intact:
 * `acegate audit migrate` (a SQLite file into PostgreSQL) and the backup of
 * a PostgreSQL log to a SQLite file (15 CFR 762.6: the records outlive the
 * system that wrote them, and their copies must still prove themselves).
 *
 * Records are copied as they are (seq, audit id, time, every column, the
 * hash and the link), from one snapshot of the source, a few hundred per
 * transaction of the target; each target checks that every record follows
 * its head. The keys follow with their hashes and revocations. The copy is
 * then verified on its own and its head compared with the source's.
 */
#include "audit_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BATCH 256

/* Records held until the next put_rows; each row's bytes in one block. */
typedef struct {
  ag_audit_db *dst;
  audit_row rows[COPY_BATCH];
  char hashes[COPY_BATCH][AG_AUDIT_HASH_HEX];
  char *blocks[COPY_BATCH];
  size_t n;
  int64_t copied;
} copy_run;

static ag_status flush(copy_run *k, ag_error *err) {
  ag_status st = k->n ? k->dst->store->put_rows(k->dst, k->rows,
                                                 (const char(*)[AG_AUDIT_HASH_HEX])k->hashes,
                                                 k->n, err)
                      : AG_OK;
  if (st == AG_OK)
    k->copied += (int64_t)k->n;
  for (size_t i = 0; i < k->n; i++)
    free(k->blocks[i]);
  k->n = 0;
  return st;
}

static ag_status take_row(void *ctx, const audit_row *r, const char *hash, ag_error *err) {
  copy_run *k = ctx;
  size_t total = 0;
  for (int f = 0; f < F_COUNT; f++)
    total += r->f[f].n + 1;
  char *p = malloc(total);
  if (!p)
    return ag_error_set(err, AG_ERR_NOMEM, "records", "out of memory");
  size_t j = k->n++;
  k->blocks[j] = p;
  k->rows[j] = *r;
  for (int f = 0; f < F_COUNT; f++) {
    memcpy(p, r->f[f].p, r->f[f].n);
    p[r->f[f].n] = '\0';
    k->rows[j].f[f] = (audit_bytes){p, r->f[f].n};
    p += r->f[f].n + 1;
  }
  snprintf(k->hashes[j], AG_AUDIT_HASH_HEX, "%s", hash);
  return k->n == COPY_BATCH ? flush(k, err) : AG_OK;
}

static ag_status copy_keys(ag_audit_db *src, ag_audit_db *dst, ag_error *err) {
  ag_keys_info *keys;
  size_t n;
  ag_status st = src->store->key_list(src, &keys, &n, err);
  for (size_t i = 0; i < n && st == AG_OK; i++) {
    ag_keys_info k;
    unsigned char hash[32];
    bool found, taken, changed;
    if ((st = src->store->key_get(src, keys[i].id, &k, hash, &found, err)) != AG_OK)
      break;
    if (!found) /* a hash edited to another length: not a key that works */
      continue;
    pthread_mutex_lock(&dst->wmu);
    st = dst->store->key_insert(dst, &k, hash, &taken, err);
    if (st == AG_OK && k.revoked_ms)
      st = dst->store->key_revoke(dst, k.id, k.revoked_ms, &changed, &found, err);
    pthread_mutex_unlock(&dst->wmu);
  }
  free(keys);
  return st;
}

ag_status ag_audit_copy(ag_audit_db *src, ag_audit_db *dst, ag_audit_verify_report *rep,
                        ag_error *err) {
  memset(rep, 0, sizeof *rep);
  int64_t head;
  char hash[AG_AUDIT_HASH_HEX];
  ag_status st = dst->store->head(dst, &head, hash, err);
  if (st != AG_OK)
    return st;
  if (head != 0)
    return ag_error_set(err, AG_ERR_INPUT, "to", "already holds %lld records; a copy goes into "
                                                 "an empty log",
                        (long long)head);
  copy_run *k = calloc(1, sizeof *k);
  if (!k)
    return ag_error_set(err, AG_ERR_NOMEM, "records", "out of memory");
  k->dst = dst;
  int64_t src_seq;
  char src_hash[AG_AUDIT_HASH_HEX];
  st = src->store->scan(src, 0, 0, &src_seq, src_hash, take_row, k, err);
  if (st == AG_OK)
    st = flush(k, err);
  else
    for (size_t i = 0; i < k->n; i++)
      free(k->blocks[i]);
  free(k);
  if (st == AG_OK)
    st = copy_keys(src, dst, err);
  if (st == AG_OK)
    st = ag_audit_verify(dst, NULL, rep, err);
  if (st == AG_OK && rep->problem == AG_AUDIT_INTACT &&
      (rep->head_seq != src_seq || strcmp(rep->head_hash, src_hash) != 0))
    return ag_error_set(err, AG_ERR_DB, "to",
                        "the copy ends at %lld but the source's head is %lld",
                        (long long)rep->head_seq, (long long)src_seq);
  return st;
}

ag_status audit_copy_to_file(ag_audit_db *db, const char *dest, ag_error *err) {
  struct stat sb;
  if (stat(dest, &sb) == 0)
    return ag_error_set(err, AG_ERR_IO, "to", "'%s' already exists; backups never overwrite",
                        dest);
  if (errno != ENOENT)
    return ag_error_set(err, AG_ERR_IO, "to", "'%s': %s", dest, strerror(errno));
  ag_status st = ag_audit_prepare_path(dest, false, err);
  if (st != AG_OK)
    return st;
  ag_audit_db *copy;
  if ((st = ag_audit_open(dest, NULL, &copy, err)) != AG_OK) {
    unlink(dest);
    return st;
  }
  copy->head_track = false; /* no head file beside a backup */
  ag_audit_verify_report rep;
  /* a log that does not verify is copied as it is, for its verify to say
   * so (as a SQLite backup is) */
  st = ag_audit_copy(db, copy, &rep, err);
  ag_audit_close(copy);
  /* one self-contained file, as a SQLite backup is */
  sqlite3 *h = NULL;
  if (st == AG_OK &&
      (sqlite3_open_v2(dest, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
       sqlite3_exec(h, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK))
    st = ag_error_set(err, AG_ERR_IO, "to", "backup to '%s': %s", dest,
                      h ? sqlite3_errmsg(h) : "cannot open");
  sqlite3_close(h);
  if (st != AG_OK) {
    char side[4200];
    unlink(dest);
    const char *sfx[] = {"-wal", "-shm", "-journal", "-search", AG_AUDIT_HEAD_SUFFIX};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
      snprintf(side, sizeof side, "%s%s", dest, sfx[i]);
      unlink(side);
    }
  }
  return st;
}
