/*
 * append.c - writing records: validation, the hash chain, and group commit.
 *
 * 15 CFR 762.2: every determination is recorded before its answer is sent,
 * so a caller returns only once its record is durable.
 *
 * Group commit (leader/follower): a caller puts its records on the queue.
 * If no batch is being written it becomes the leader: it takes the whole
 * queue and writes it in one transaction, hands the lead to the first
 * request queued meanwhile, waits until its commit is fsynced (durable.c;
 * one fsync serves every commit made before it began), then marks every
 * request of its batch done and wakes their owners. No extra thread is
 * needed, a lone caller commits at once, and under load each transaction
 * carries everything that queued during the previous one while fsyncs
 * overlap with the next transaction.
 *
 * Chain invariant: record seq N has prev_hash = hash of record N-1 (64 zeros
 * for N = 1) and hash = SHA-256 of its canonical form. New records continue
 * from the head marker (audit_head), not from the last row, so a deleted
 * tail shows up as a gap.
 */
#include "audit_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *nz(const char *s) {
  return s ? s : "";
}

/* err->field gets "records[i].name" in a batch of several, else "name". */
static ag_status bad(ag_error *err, ag_status st, size_t i, size_t n, const char *name,
                     const char *why) {
  char field[96];
  if (n > 1)
    snprintf(field, sizeof field, "records[%zu].%s", i, name);
  else
    snprintf(field, sizeof field, "%s", name);
  return ag_error_set(err, st, field, "%s", why);
}

static ag_status check_text(const char *s, size_t i, size_t n, const char *name, ag_error *err) {
  size_t len = strlen(nz(s));
  if (len > AG_AUDIT_FIELD_MAX)
    return bad(err, AG_ERR_LIMIT, i, n, name, "longer than 256 bytes");
  if (!ag_utf8_valid(nz(s), len))
    return bad(err, AG_ERR_INPUT, i, n, name, "not valid UTF-8");
  return AG_OK;
}

static ag_status check_body(const char *s, size_t len, size_t i, size_t n, const char *name,
                            ag_error *err) {
  if (!s || len == 0)
    return bad(err, AG_ERR_INPUT, i, n, name, "missing");
  if (len > AG_AUDIT_BODY_MAX)
    return bad(err, AG_ERR_LIMIT, i, n, name, "larger than 4 MiB");
  if (!ag_utf8_valid(s, len))
    return bad(err, AG_ERR_INPUT, i, n, name, "not valid UTF-8");
  return AG_OK;
}

static ag_status check_record(const ag_audit_record *r, size_t i, size_t n, ag_error *err) {
  ag_status st;
  if (r->kind != AG_AUDIT_CHECK && r->kind != AG_AUDIT_SCREENING && r->kind != AG_AUDIT_KEY &&
      r->kind != AG_AUDIT_SERVICE && r->kind != AG_AUDIT_LISTS && r->kind != AG_AUDIT_REVIEW &&
      r->kind != AG_AUDIT_CLASSIFICATION)
    return bad(err, AG_ERR_INPUT, i, n, "kind",
               "must be check, screening, key, service, lists, review or classification");
  if (r->time_ms < 0)
    return bad(err, AG_ERR_INPUT, i, n, "time_ms", "negative");
  if ((st = check_body(r->request, r->request_len, i, n, "request", err)) ||
      (st = check_body(r->decision, r->decision_len, i, n, "decision", err)))
    return st;
  const char *names[] = {"rules_version", "lists_version", "key_id", "client_addr",
                         "as_of",         "destination",   "eccn",   "outcome"};
  const char *vals[] = {r->rules_version, r->lists_version, r->key_id, r->client_addr,
                        r->as_of,         r->destination,   r->eccn,   r->outcome};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if ((st = check_text(vals[k], i, n, names[k], err)))
      return st;
  ag_date d;
  if (*nz(r->as_of) && !ag_date_parse(r->as_of, strlen(r->as_of), &d))
    return bad(err, AG_ERR_INPUT, i, n, "as_of", "not a YYYY-MM-DD date");
  if (r->packed && !audit_packed_fits(r->packed, r->packed_len, r->decision_len))
    return bad(err, AG_ERR_INPUT, i, n, "packed", "not the stored form of this decision");
  return AG_OK;
}

/* A fresh audit id for the record at seq: "a-SEQ-" and 12 random hex digits. */
static ag_status new_id(audit_id_random *rnd, int64_t seq, char id[AG_AUDIT_ID_MAX],
                        ag_error *err) {
  if (rnd->used == sizeof rnd->bytes) {
    if (RAND_bytes(rnd->bytes, sizeof rnd->bytes) != 1)
      return ag_error_set(err, AG_ERR_INTERNAL, "audit_id", "no random bytes available");
    rnd->used = 0;
  }
  char rhex[13];
  audit_hex(rnd->bytes + rnd->used, 6, rhex);
  rnd->used += 6;
  snprintf(id, AG_AUDIT_ID_MAX, "a-%lld-%s", (long long)seq, rhex);
  return AG_OK;
}

/* The row of record r at seq with this id and time; it borrows from r, id
 * and prev. */
static audit_row fill_row(const ag_audit_record *r, int64_t seq, int64_t time_ms, const char *id,
                          const char *prev) {
  audit_row row = {.seq = seq, .time_ms = time_ms};
  const char *text[F_COUNT] = {[F_ID] = id,
                               [F_KIND] = ag_audit_kind_name(r->kind),
                               [F_KEY_ID] = nz(r->key_id),
                               [F_CLIENT] = nz(r->client_addr),
                               [F_RULES] = nz(r->rules_version),
                               [F_LISTS] = nz(r->lists_version),
                               [F_AS_OF] = nz(r->as_of),
                               [F_DEST] = nz(r->destination),
                               [F_ECCN] = nz(r->eccn),
                               [F_OUTCOME] = nz(r->outcome),
                               [F_PREV] = prev};
  for (int i = 0; i < F_COUNT; i++)
    if (text[i])
      row.f[i] = (audit_bytes){text[i], strlen(text[i])};
  row.f[F_REQUEST] = (audit_bytes){r->request, r->request_len};
  row.f[F_DECISION] = (audit_bytes){r->decision, r->decision_len};
  return row;
}

struct ag_audit_prehash {
  EVP_MD_CTX *ctx; /* the hash of every field but prev_hash */
  audit_id_random rnd;
  bool ready;
  int64_t seq, time_ms;
  char id[AG_AUDIT_ID_MAX];
  /* the record it was made for */
  const char *request, *decision;
  size_t request_len, decision_len;
};

ag_audit_prehash *ag_audit_prehash_new(void) {
  ag_audit_prehash *h = calloc(1, sizeof *h);
  if (h && !(h->ctx = EVP_MD_CTX_new())) {
    free(h);
    return NULL;
  }
  if (h)
    h->rnd.used = sizeof h->rnd.bytes;
  return h;
}

void ag_audit_prehash_free(ag_audit_prehash *h) {
  if (!h)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

ag_status ag_audit_prehash_make(ag_audit_db *db, ag_audit_prehash *h, const ag_audit_record *r,
                                int64_t seq, ag_error *err) {
  if (!db || !h || !r || seq < 1)
    return ag_error_set(err, AG_ERR_INPUT, "prehash", "missing argument");
  h->ready = false;
  ag_status st = check_record(r, 0, 1, err);
  if (st == AG_OK && (st = new_id(&h->rnd, seq, h->id, err)) == AG_OK) {
    h->seq = seq;
    h->time_ms = r->time_ms ? r->time_ms : audit_now_ms();
    audit_row row = fill_row(r, seq, h->time_ms, h->id, "");
    if (!audit_row_hash_begin(db->sha256, h->ctx, &row))
      return ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 failed");
    h->request = r->request;
    h->request_len = r->request_len;
    h->decision = r->decision;
    h->decision_len = r->decision_len;
    h->ready = true;
  }
  return st;
}

const char *ag_audit_prehash_id(const ag_audit_prehash *h) {
  return h && h->ready ? h->id : "";
}

/* Whether r carries a hash begun for this very record (checked when it was
 * begun). */
static bool prehashed(const ag_audit_record *r) {
  const ag_audit_prehash *h = r->prehash;
  return h && h->ready && h->request == r->request && h->request_len == r->request_len &&
         h->decision == r->decision && h->decision_len == r->decision_len;
}

ag_status audit_make_row(ag_audit_db *db, audit_id_random *rnd, const ag_audit_record *r,
                         int64_t now_ms, int64_t seq, const char prev[AG_AUDIT_HASH_HEX],
                         audit_made *out, ag_error *err) {
  if (!r) /* check_batch() refuses it first; said again for the reader */
    return ag_error_set(err, AG_ERR_INPUT, "records", "missing argument");
  memcpy(out->prev, prev, AG_AUDIT_HASH_HEX);
  const ag_audit_prehash *h = r->prehash;
  if (prehashed(r) && h->seq == seq) {
    /* the record landed where its hash was begun: only the link is left */
    memcpy(out->id, h->id, AG_AUDIT_ID_MAX);
    out->row = fill_row(r, seq, h->time_ms, out->id, out->prev);
    if (!EVP_MD_CTX_copy_ex(db->wctx, h->ctx) ||
        !audit_row_hash_end(db->wctx, out->row.f[F_PREV], out->hash))
      return ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 failed");
    return AG_OK;
  }
  ag_status st = new_id(rnd, seq, out->id, err);
  if (st != AG_OK)
    return st;
  out->row = fill_row(r, seq, r->time_ms ? r->time_ms : now_ms, out->id, out->prev);
  if (!audit_row_hash(db->sha256, db->wctx, &out->row, out->hash))
    return ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 failed");
  return AG_OK;
}

/* Inserts one row as given: the decision packed as the log stores it
 * (packed: the caller's frame of it, or NULL). Caller holds wmu. */
static ag_status insert_row(ag_audit_db *db, const audit_row *rp, const char *hash,
                            const void *packed, size_t packed_len, ag_error *err) {
  const audit_row row = *rp;
  sqlite3_stmt *s;
  ag_status st = audit_stmt(&db->w, ST_INSERT, &s, err);
  if (st != AG_OK)
    return st;
  /* parameters follow AUDIT_COLS: seq, audit_id, ts_ms, kind, ... hash */
  static const int param_of_field[F_COUNT] = {
      [F_ID] = 2,       [F_KIND] = 4,      [F_KEY_ID] = 5, [F_CLIENT] = 6, [F_RULES] = 7,
      [F_LISTS] = 8,    [F_AS_OF] = 9,     [F_DEST] = 10,  [F_ECCN] = 11,  [F_OUTCOME] = 12,
      [F_REQUEST] = 13, [F_DECISION] = 14, [F_PREV] = 15};
  sqlite3_bind_int64(s, 1, row.seq);
  sqlite3_bind_int64(s, 3, row.time_ms);
  for (int i = 0; i < F_COUNT; i++) {
    if (i == F_REQUEST || i == F_DECISION) {
      /* the hash covers the decision as sent; the row may hold it compressed */
      audit_bytes b = i != F_DECISION ? row.f[i]
                      : packed        ? (audit_bytes){packed, packed_len}
                                      : audit_pack(db, row.f[i]);
      sqlite3_bind_blob(s, param_of_field[i], b.p, (int)b.n, SQLITE_STATIC);
    } else {
      sqlite3_bind_text(s, param_of_field[i], row.f[i].p, (int)row.f[i].n, SQLITE_STATIC);
    }
  }
  sqlite3_bind_text(s, 16, hash, 64, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? AG_OK : audit_db_error(err, db->w.h, "append");
}

static ag_status insert_one(ag_audit_db *db, audit_id_random *rnd, const ag_audit_record *r,
                            int64_t now_ms, int64_t seq, char prev[AG_AUDIT_HASH_HEX],
                            char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  audit_made m;
  ag_status st = audit_make_row(db, rnd, r, now_ms, seq, prev, &m, err);
  if (st == AG_OK)
    st = insert_row(db, &m.row, m.hash, r->packed, r->packed_len, err);
  if (st != AG_OK)
    return st;
  memcpy(prev, m.hash, AG_AUDIT_HASH_HEX);
  memcpy(id_out, m.id, AG_AUDIT_ID_MAX);
  return AG_OK;
}

static ag_status step_done(ag_audit_db *db, int which, const char *what, ag_error *err) {
  sqlite3_stmt *s;
  ag_status st = audit_stmt(&db->w, which, &s, err);
  if (st != AG_OK)
    return st;
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? AG_OK : audit_db_error(err, db->w.h, what);
}

/* Writes every record of the batch in one transaction. Caller holds wmu. */
ag_status audit_sqlite_write_batch(ag_audit_db *db, audit_pending *batch, ag_error *err) {
  sqlite3 *h = db->w.h;
  ag_status st = step_done(db, ST_BEGIN, "begin", err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s;
  int64_t seq = 0, first = 0;
  char prev[AG_AUDIT_HASH_HEX];
  audit_id_random rnd = {.used = sizeof rnd.bytes};
  if ((st = audit_stmt(&db->w, ST_HEAD, &s, err)) != AG_OK)
    goto fail;
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    st = rc == SQLITE_DONE ? ag_error_set(err, AG_ERR_DB, "db", "the audit head marker is missing")
                           : audit_db_error(err, h, "read head");
    sqlite3_reset(s);
    goto fail;
  }
  seq = first = sqlite3_column_int64(s, 0);
  snprintf(prev, sizeof prev, "%s", audit_col_text(s, 1));
  sqlite3_reset(s);

  for (audit_pending *q = batch; q; q = q->next)
    if (q->before && (st = q->before(db, q->before_ctx, err)) != AG_OK)
      goto fail;

  for (audit_pending *q = batch; q; q = q->next)
    for (size_t i = 0; i < q->n; i++)
      if ((st = insert_one(db, &rnd, &q->recs[i], q->now_ms, ++seq, prev, q->ids[i], err)))
        goto fail;

  if ((st = audit_stmt(&db->w, ST_HEAD_SET, &s, err)) != AG_OK)
    goto fail;
  sqlite3_bind_int64(s, 1, seq);
  sqlite3_bind_text(s, 2, prev, 64, SQLITE_STATIC);
  rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    st = audit_db_error(err, h, "move head");
    goto fail;
  }
  if ((st = step_done(db, ST_COMMIT, "commit", err)) != AG_OK)
    goto fail;
  db->stats.commits++;
  db->stats.records += (uint64_t)(seq - first);
  return AG_OK;

fail:
  if (!sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

ag_status audit_sqlite_put_rows(ag_audit_db *db, const audit_row *rows,
                                const char (*hashes)[AG_AUDIT_HASH_HEX], size_t n, ag_error *err) {
  pthread_mutex_lock(&db->wmu);
  sqlite3 *h = db->w.h;
  sqlite3_stmt *s;
  uint64_t commit = 0;
  ag_status st = step_done(db, ST_BEGIN, "begin", err);
  if (st != AG_OK)
    goto out;
  if ((st = audit_stmt(&db->w, ST_HEAD, &s, err)) != AG_OK)
    goto fail;
  if (sqlite3_step(s) != SQLITE_ROW) {
    st = audit_db_error(err, h, "read head");
    sqlite3_reset(s);
    goto fail;
  }
  int64_t seq = sqlite3_column_int64(s, 0);
  char prev[AG_AUDIT_HASH_HEX];
  snprintf(prev, sizeof prev, "%s", audit_col_text(s, 1));
  sqlite3_reset(s);
  for (size_t i = 0; i < n; i++) {
    if (rows[i].seq != seq + 1 || rows[i].f[F_PREV].n != 64 ||
        memcmp(rows[i].f[F_PREV].p, prev, 64) != 0) {
      st = ag_error_set(err, AG_ERR_DB, "to", "record %lld does not follow the copy's head %lld",
                        (long long)rows[i].seq, (long long)seq);
      goto fail;
    }
    if ((st = insert_row(db, &rows[i], hashes[i], NULL, 0, err)) != AG_OK)
      goto fail;
    seq = rows[i].seq;
    memcpy(prev, hashes[i], AG_AUDIT_HASH_HEX);
  }
  if ((st = audit_stmt(&db->w, ST_HEAD_SET, &s, err)) != AG_OK)
    goto fail;
  sqlite3_bind_int64(s, 1, seq);
  sqlite3_bind_text(s, 2, prev, 64, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    st = audit_db_error(err, h, "move head");
    goto fail;
  }
  if ((st = step_done(db, ST_COMMIT, "commit", err)) != AG_OK)
    goto fail;
  commit = audit_committed(db);
  goto out;
fail:
  if (!sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
out:
  pthread_mutex_unlock(&db->wmu);
  return st == AG_OK && commit ? audit_sync(db, commit, err) : st;
}

/* Writes the batch in one transaction under the write lock; *commit gets
 * the number audit_sync() waits for. */
static ag_status commit_under_lock(ag_audit_db *db, audit_pending *batch, uint64_t *commit,
                                   ag_error *err) {
  pthread_mutex_lock(&db->wmu);
  ag_status st = db->store->write_batch(db, batch, err);
  *commit = st == AG_OK ? audit_committed(db) : 0;
  pthread_mutex_unlock(&db->wmu);
  return st;
}

/* Writes the batch and makes it durable. The write lock is held for the
 * transaction only: the next leader may write its batch while this one
 * waits for the fsync (durable.c), which it may then share. */
static void lead(ag_audit_db *db, audit_pending *batch) {
  ag_error e;
  ag_error_clear(&e);
  uint64_t commit;
  ag_status st = commit_under_lock(db, batch, &commit, &e);

  pthread_mutex_lock(&db->qmu);
  db->leading = false;
  if (db->qhead)
    pthread_cond_signal(&db->qhead->cv);
  pthread_mutex_unlock(&db->qmu);

  if (st == AG_OK)
    st = audit_sync(db, commit, &e);
  for (audit_pending *q = batch; q; q = q->next) {
    q->st = st;
    if (st != AG_OK) {
      q->err = e;
      for (size_t i = 0; i < q->n; i++)
        q->ids[i][0] = '\0';
    }
  }
}

/* The arguments of an append and every record, before anything is
 * written. */
static ag_status check_batch(const ag_audit_db *db, const ag_audit_record *recs, size_t n,
                             char (*ids_out)[AG_AUDIT_ID_MAX], ag_error *err) {
  if (!db || (n && (!recs || !ids_out)))
    return ag_error_set(err, AG_ERR_INPUT, "records", "missing argument");
  for (size_t i = 0; i < n; i++) {
    /* a record with a hash begun was checked then */
    ag_status st = prehashed(&recs[i]) ? AG_OK : check_record(&recs[i], i, n, err);
    if (st != AG_OK)
      return st;
  }
  return AG_OK;
}

ag_status ag_audit_append_batch(ag_audit_db *db, const ag_audit_record *recs, size_t n,
                                char (*ids_out)[AG_AUDIT_ID_MAX], ag_error *err) {
  ag_status st = check_batch(db, recs, n, ids_out, err);
  if (st != AG_OK || n == 0)
    return st;
  audit_pending me = {.recs = recs, .n = n, .ids = ids_out, .now_ms = audit_now_ms()};
  ag_error_clear(&me.err);
  pthread_cond_init(&me.cv, NULL);

  pthread_mutex_lock(&db->qmu);
  /* `me` lives on this stack only while queued: the leader takes it off
   * the queue before this function can return */
  if (db->qtail)
    db->qtail->next = &me; // cppcheck-suppress autoVariables
  else
    db->qhead = &me; // cppcheck-suppress autoVariables
  db->qtail = &me; // cppcheck-suppress autoVariables
  while (!me.done) {
    if (db->leading || me.taken) {
      pthread_cond_wait(&me.cv, &db->qmu);
      continue;
    }
    /* Lead: take everything queued so far (our own request included). */
    db->leading = true;
    audit_pending *batch = db->qhead;
    db->qhead = db->qtail = NULL;
    for (audit_pending *q = batch; q; q = q->next)
      q->taken = true;
    pthread_mutex_unlock(&db->qmu);
    lead(db, batch);
    pthread_mutex_lock(&db->qmu);
    /* Wake only the requests of this batch (lead() already woke the first
     * request queued meanwhile to lead the next one): waking every waiter
     * after each batch would cost a context switch per thread per batch. */
    for (audit_pending *q = batch, *next; q; q = next) {
      next = q->next; /* q may be gone once its owner sees done */
      q->done = true;
      if (q != &me)
        pthread_cond_signal(&q->cv);
    }
  }
  pthread_mutex_unlock(&db->qmu);
  pthread_cond_destroy(&me.cv);
  if (me.st != AG_OK && err)
    *err = me.err;
  return me.st;
}

ag_status ag_audit_commit_batch(ag_audit_db *db, const ag_audit_record *recs, size_t n,
                                char (*ids_out)[AG_AUDIT_ID_MAX], uint64_t *ticket, ag_error *err) {
  if (!ticket)
    return ag_error_set(err, AG_ERR_INPUT, "ticket", "missing argument");
  *ticket = 0;
  ag_status st = check_batch(db, recs, n, ids_out, err);
  if (st != AG_OK || n == 0)
    return st;
  audit_pending me = {.recs = recs, .n = n, .ids = ids_out, .now_ms = audit_now_ms()};
  /* the write lock alone: written between the group-commit leaders' batches */
  uint64_t commit;
  st = commit_under_lock(db, &me, &commit, err);
  if (st != AG_OK) {
    for (size_t i = 0; i < n; i++)
      ids_out[i][0] = '\0';
    return st;
  }
  *ticket = db->durable ? commit : 0;
  return AG_OK;
}

ag_status ag_audit_wait_durable(ag_audit_db *db, uint64_t ticket, ag_error *err) {
  if (!db)
    return ag_error_set(err, AG_ERR_INPUT, "db", "missing argument");
  return ticket ? audit_sync(db, ticket, err) : AG_OK;
}

ag_status ag_audit_append(ag_audit_db *db, const ag_audit_record *rec, char id_out[AG_AUDIT_ID_MAX],
                          ag_error *err) {
  if (!rec || !id_out)
    return ag_error_set(err, AG_ERR_INPUT, "record", "missing argument");
  char(*ids)[AG_AUDIT_ID_MAX] = (char(*)[AG_AUDIT_ID_MAX])id_out;
  return ag_audit_append_batch(db, rec, 1, ids, err);
}

ag_status audit_append_with(ag_audit_db *db, const ag_audit_record *rec,
                            char id_out[AG_AUDIT_ID_MAX], audit_txn_fn before, void *ctx,
                            ag_error *err) {
  char(*ids)[AG_AUDIT_ID_MAX] = (char(*)[AG_AUDIT_ID_MAX])id_out;
  ag_status st = check_batch(db, rec, 1, ids, err);
  if (st != AG_OK)
    return st;
  /* its own transaction under the write lock, between group commits, so
   * that a failure of `before` fails no one else's records */
  audit_pending me = {
      .recs = rec, .n = 1, .ids = ids, .now_ms = audit_now_ms(), .before = before,
      .before_ctx = ctx};
  uint64_t commit;
  if ((st = commit_under_lock(db, &me, &commit, err)) != AG_OK) {
    id_out[0] = '\0';
    return st;
  }
  return audit_sync(db, commit, err);
}

/* ---- key changes ---- */

static void put_member(ag_buf *b, const char *name, const char *value) {
  if (!value)
    return;
  ag_buf_printf(b, ",\"%s\":", name);
  ag_buf_json_cstr(b, value);
}

ag_status audit_key_event_with(ag_audit_db *db, bool revoked, const char *key_id, const char *role,
                               const char *name, const char *actor, const char *client,
                               char id_out[AG_AUDIT_ID_MAX], audit_txn_fn before, void *ctx,
                               ag_error *err) {
  if (!key_id || !*key_id)
    return ag_error_set(err, AG_ERR_INPUT, "key_id", "missing");
  ag_buf req, dec;
  ag_buf_init(&req);
  ag_buf_init(&dec);
  ag_buf_printf(&req, "{\"action\":\"%s\"", revoked ? "revoke" : "add");
  put_member(&req, "id", revoked ? key_id : NULL);
  put_member(&req, "role", revoked ? NULL : role);
  put_member(&req, "name", revoked ? NULL : name);
  ag_buf_putc(&req, '}');
  ag_buf_puts(&dec, "{\"key_id\":");
  ag_buf_json_cstr(&dec, key_id);
  put_member(&dec, "role", role);
  put_member(&dec, "name", name);
  ag_buf_printf(&dec, ",\"revoked\":%s}", revoked ? "true" : "false");
  ag_status st;
  if (req.failed || dec.failed) {
    st = ag_error_set(err, AG_ERR_NOMEM, "record", "out of memory");
  } else {
    ag_audit_record r = {.kind = AG_AUDIT_KEY,
                         .request = req.data,
                         .request_len = req.len,
                         .decision = dec.data,
                         .decision_len = dec.len,
                         .key_id = actor,
                         .client_addr = client,
                         .outcome = revoked ? "key_revoked" : "key_added"};
    st = before ? audit_append_with(db, &r, id_out, before, ctx, err)
                : ag_audit_append(db, &r, id_out, err);
  }
  ag_buf_free(&req);
  ag_buf_free(&dec);
  return st;
}

ag_status ag_audit_key_event(ag_audit_db *db, bool revoked, const char *key_id, const char *role,
                             const char *name, const char *actor, const char *client,
                             char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  return audit_key_event_with(db, revoked, key_id, role, name, actor, client, id_out, NULL, NULL,
                              err);
}

void ag_audit_get_stats(ag_audit_db *db, ag_audit_stats *out) {
  pthread_mutex_lock(&db->wmu);
  *out = db->stats;
  pthread_mutex_unlock(&db->wmu);
  pthread_mutex_lock(&db->smu);
  out->syncs = db->syncs;
  pthread_mutex_unlock(&db->smu);
  out->checkpoints = atomic_load(&db->checkpoints);
}
