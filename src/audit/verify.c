/*
 * verify.c - proving the audit log is complete and unaltered (15 CFR 762.2,
 * 762.6: records must be kept intact for five years).
 *
 * The walk reads the head marker and every record from one snapshot, in seq
 * order, and recomputes each hash. It needs no trigger to be in place:
 * edits made after dropping the triggers are found the same way. The first
 * problem is classified from what the neighbours still say:
 *  - a missing seq is a gap (deleted record); seqs past the head marker or
 *    below 1 were inserted by someone else;
 *  - a stored hash that does not match the content: if the next record (or
 *    the head marker) links to the recomputed hash, the hash column was
 *    edited; if it links to the stored hash, the content was; if the record's
 *    audit id names another seq and its content hashes right there, rows were
 *    reordered;
 *  - a self-consistent record whose prev_hash is not the previous hash: the
 *    previous record was rewritten with a recomputed hash, or this one forged;
 *  - a head marker ahead of the last record: the tail was deleted.
 * A rewrite of the whole chain from some record on, head marker included, is
 * only found against an anchor kept outside the database (docs/audit.md).
 */
#include "audit_int.h"

#include <errno.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ag_audit_problem_name(ag_audit_problem p) {
  switch (p) {
  case AG_AUDIT_INTACT: return "intact";
  case AG_AUDIT_CONTENT_CHANGED: return "content_changed";
  case AG_AUDIT_HASH_EDITED: return "hash_edited";
  case AG_AUDIT_HASH_MISMATCH: return "hash_mismatch";
  case AG_AUDIT_LINK_MISMATCH: return "link_mismatch";
  case AG_AUDIT_GAP: return "gap";
  case AG_AUDIT_REORDERED: return "reordered";
  case AG_AUDIT_INSERTED: return "inserted";
  case AG_AUDIT_TRUNCATED: return "truncated";
  case AG_AUDIT_ANCHOR_MISMATCH: return "anchor_mismatch";
  case AG_AUDIT_INDEX_MISMATCH: return "index_mismatch";
  }
  return "unknown";
}

static bool is_hex64(const char *s) {
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[64] == '\0';
}

bool ag_audit_anchor_parse(const char *s, ag_audit_anchor *out) {
  if (!s)
    return false;
  char *end;
  errno = 0;
  long long seq = strtoll(s, &end, 10);
  if (end == s || *end != ':' || seq <= 0 || errno == ERANGE || s[0] == '+' || s[0] == ' ' ||
      !is_hex64(end + 1))
    return false;
  out->seq = seq;
  memcpy(out->hash, end + 1, AG_AUDIT_HASH_HEX);
  return true;
}

static const char *const guard_names[] = {
    "audit_log_no_update", "audit_log_no_delete",  "audit_log_append_only", "audit_head_no_delete",
    "audit_head_forward",  "audit_dict_no_update", "audit_dict_no_delete"};
#define NGUARDS (int)(sizeof guard_names / sizeof guard_names[0])

typedef audit_walk walk;

static void report(walk *w, ag_audit_problem p, int64_t seq, const audit_bytes *id, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static void report(walk *w, ag_audit_problem p, int64_t seq, const audit_bytes *id, const char *fmt,
                   ...) {
  ag_audit_verify_report *r = w->rep;
  r->problem = p;
  r->bad_seq = seq;
  if (id)
    snprintf(r->bad_id, sizeof r->bad_id, "%.*s", (int)id->n, id->p);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof r->detail, fmt, ap);
  va_end(ap);
}

static int64_t seq_of_id(audit_bytes id) {
  char buf[AG_AUDIT_ID_MAX];
  if (id.n >= sizeof buf || id.n < 3 || memcmp(id.p, "a-", 2) != 0)
    return 0;
  memcpy(buf, id.p, id.n);
  buf[id.n] = '\0';
  char *end;
  long long v = strtoll(buf + 2, &end, 10);
  return end != buf + 2 && *end == '-' ? v : 0;
}

/* What the record after seq links to: the next row's prev_hash, or the head
 * marker's hash when seq is the last record. Empty when unknown. */
static ag_status next_link(walk *w, int64_t seq, char out[AG_AUDIT_HASH_HEX], ag_error *err) {
  out[0] = '\0';
  return w->link(w, seq, out, err);
}

static ag_status sqlite_link(walk *w, int64_t seq, char out[AG_AUDIT_HASH_HEX], ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(((audit_conn *)w->src)->h,
                         "SELECT prev_hash FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT 1", -1,
                         &s, NULL) != SQLITE_OK)
    return audit_db_error(err, ((audit_conn *)w->src)->h, "verify");
  sqlite3_bind_int64(s, 1, seq);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    snprintf(out, AG_AUDIT_HASH_HEX, "%s", audit_col_text(s, 0));
  else if (rc == SQLITE_DONE && w->head_known && w->head_seq == seq)
    memcpy(out, w->head_hash, AG_AUDIT_HASH_HEX);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? AG_OK : audit_db_error(err, ((audit_conn *)w->src)->h, "verify");
}

/* The stored hash is not the hash of the row's content: say why. */
static ag_status diagnose_hash(walk *w, const audit_row *r, const char *stored,
                               const char *computed, ag_error *err) {
  int64_t orig = seq_of_id(r->f[F_ID]);
  if (orig > 0 && orig != r->seq) {
    audit_row moved = *r;
    moved.seq = orig;
    char h[AG_AUDIT_HASH_HEX];
    if (audit_row_hash(w->db->sha256, w->ctx, &moved, h) && !strcmp(h, stored)) {
      report(w, AG_AUDIT_REORDERED, r->seq, &r->f[F_ID],
             "the row at seq %lld holds record %lld: rows were reordered", (long long)r->seq,
             (long long)orig);
      return AG_OK;
    }
  }
  char next[AG_AUDIT_HASH_HEX];
  ag_status st = next_link(w, r->seq, next, err);
  if (st != AG_OK)
    return st;
  if (!strcmp(next, computed))
    report(w, AG_AUDIT_HASH_EDITED, r->seq, &r->f[F_ID],
           "the stored hash was altered (the content still matches what the next record "
           "links to)");
  else if (!strcmp(next, stored))
    report(w, AG_AUDIT_CONTENT_CHANGED, r->seq, &r->f[F_ID],
           "the content was changed after it was written (it no longer matches its hash)");
  else
    report(w, AG_AUDIT_HASH_MISMATCH, r->seq, &r->f[F_ID],
           "the stored hash does not match the content");
  return AG_OK;
}

static ag_status read_head(walk *w, ag_error *err) {
  sqlite3_stmt *s;
  ag_status st = audit_stmt(w->src, ST_HEAD, &s, err);
  if (st != AG_OK)
    return st;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    w->head_known = true;
    w->head_seq = sqlite3_column_int64(s, 0);
    snprintf(w->head_hash, sizeof w->head_hash, "%s", audit_col_text(s, 1));
  } else if (rc != SQLITE_DONE) {
    st = audit_db_error(err, ((audit_conn *)w->src)->h, "verify");
  }
  sqlite3_reset(s);
  return st;
}

static ag_status read_guards(walk *w, ag_error *err) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(((audit_conn *)w->src)->h,
                         "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         -1, &s, NULL) != SQLITE_OK)
    return audit_db_error(err, ((audit_conn *)w->src)->h, "verify");
  for (int i = 0; i < NGUARDS; i++)
    sqlite3_bind_text(s, i + 1, guard_names[i], -1, SQLITE_STATIC);
  ag_status st = AG_OK;
  if (sqlite3_step(s) == SQLITE_ROW)
    w->rep->guards_present = sqlite3_column_int(s, 0) == NGUARDS;
  else
    st = audit_db_error(err, ((audit_conn *)w->src)->h, "verify");
  sqlite3_finalize(s);
  return st;
}

/* The SQLite store's rows for the walk, from its read transaction. */
typedef struct {
  audit_conn *c;
  sqlite3_stmt *s;
} sqlite_rows;

static int sqlite_next(walk *w, audit_row *r, const char **stored, ag_status *rst, ag_error *why,
                       ag_error *err) {
  sqlite_rows *src = w->rows;
  int rc = sqlite3_step(src->s);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW) {
    audit_db_error(err, src->c->h, "verify");
    return -1;
  }
  *rst = audit_row_from_stmt(w->db, src->c, src->s, r, stored, why);
  return 1;
}

ag_status audit_walk_chain(walk *w, const ag_audit_anchor *anchor, int64_t from, ag_error *err) {
  ag_audit_verify_report *rep = w->rep;
  ag_status st = AG_OK;
  int64_t expected = from;
  /* the tail only: trust the first record's link to the one before */
  bool first = from > 1;
  if (first)
    rep->head_seq = from - 1;
  int got;
  for (;;) {
    audit_row r;
    const char *stored;
    ag_error why;
    ag_error_clear(&why);
    ag_status rst = AG_OK;
    if ((got = w->next(w, &r, &stored, &rst, &why, err)) <= 0)
      break;
    if (first && r.f[F_PREV].n == 64)
      snprintf(rep->head_hash, sizeof rep->head_hash, "%.64s", r.f[F_PREV].p);
    first = false;
    if (rst != AG_OK && rst != AG_ERR_DB) {
      if (err)
        *err = why;
      st = rst;
      break;
    }
    if (r.seq < 1) {
      report(w, AG_AUDIT_INSERTED, r.seq, &r.f[F_ID],
             "seq %lld is outside the chain, which starts at 1", (long long)r.seq);
      break;
    }
    if (r.seq > expected) {
      if (r.seq - 1 > expected)
        report(w, AG_AUDIT_GAP, expected, NULL, "records %lld to %lld are missing (deleted)",
               (long long)expected, (long long)(r.seq - 1));
      else
        report(w, AG_AUDIT_GAP, expected, NULL, "record %lld is missing (deleted)",
               (long long)expected);
      break;
    }
    if (w->head_known && r.seq > w->head_seq) {
      report(w, AG_AUDIT_INSERTED, r.seq, &r.f[F_ID],
             "record %lld is past the head marker (%lld): acegate did not write it",
             (long long)r.seq, (long long)w->head_seq);
      break;
    }
    if (rst == AG_ERR_DB) {
      /* a decision stored compressed that no longer decompresses */
      report(w, AG_AUDIT_CONTENT_CHANGED, r.seq, &r.f[F_ID],
             "%s: its stored bytes or the dictionary in audit_dict were altered", why.reason);
      break;
    }
    char computed[AG_AUDIT_HASH_HEX];
    if (!audit_row_hash(w->db->sha256, w->ctx, &r, computed)) {
      st = ag_error_set(err, AG_ERR_INTERNAL, "hash", "SHA-256 failed");
      break;
    }
    if (strcmp(computed, stored) != 0) {
      st = diagnose_hash(w, &r, stored, computed, err);
      break;
    }
    if (r.f[F_PREV].n != 64 || memcmp(r.f[F_PREV].p, rep->head_hash, 64) != 0) {
      report(w, AG_AUDIT_LINK_MISMATCH, r.seq, &r.f[F_ID],
             "prev_hash is not the hash of record %lld: that record was rewritten with a "
             "recomputed hash, or this one was forged",
             (long long)(r.seq - 1));
      break;
    }
    if (anchor && anchor->seq == r.seq && strcmp(anchor->hash, stored) != 0) {
      report(w, AG_AUDIT_ANCHOR_MISMATCH, r.seq, &r.f[F_ID],
             "the hash differs from the anchor: the chain was rewritten from here or earlier");
      break;
    }
    rep->records++;
    rep->head_seq = r.seq;
    memcpy(rep->head_hash, stored, AG_AUDIT_HASH_HEX);
    expected++;
  }
  if (got < 0 && st == AG_OK)
    st = AG_ERR_DB;
  if (st != AG_OK || rep->problem != AG_AUDIT_INTACT)
    return st;

  int64_t last = rep->head_seq;
  if (!w->head_known)
    report(w, AG_AUDIT_TRUNCATED, last + 1, NULL,
           "the head marker (audit_head) is missing, so the end of the log is unknown");
  else if (w->head_seq == last + 1)
    report(w, AG_AUDIT_TRUNCATED, last + 1, NULL,
           "record %lld is missing at the end (the head marker is at %lld)",
           (long long)last + 1, (long long)w->head_seq);
  else if (w->head_seq > last)
    report(w, AG_AUDIT_TRUNCATED, last + 1, NULL,
           "records %lld to %lld are missing at the end (the head marker is at %lld)",
           (long long)last + 1, (long long)w->head_seq, (long long)w->head_seq);
  else if (strcmp(w->head_hash, rep->head_hash) != 0) {
    report(w, AG_AUDIT_LINK_MISMATCH, last, NULL,
           "the head marker does not match record %lld: the record was rewritten with a "
           "recomputed hash, or the marker was edited",
           (long long)last);
    if (rep->records > last - 1) /* the last record is the one in doubt */
      rep->records = last - 1;
  }
  else if (anchor && anchor->seq > last)
    report(w, AG_AUDIT_TRUNCATED, last + 1, NULL,
           "the anchor is at seq %lld but the log ends at %lld", (long long)anchor->seq,
           (long long)last);
  return AG_OK;
}

/* The SQLite store's walk, inside the caller's read transaction. */
static ag_status walk_chain(walk *w, const ag_audit_anchor *anchor, int64_t from, ag_error *err) {
  ag_status st;
  if ((st = read_guards(w, err)) != AG_OK || (st = read_head(w, err)) != AG_OK)
    return st;
  sqlite_rows src = {.c = w->src};
  if (sqlite3_prepare_v2(src.c->h,
                         "SELECT " AUDIT_COLS " FROM audit_log WHERE seq >= ?1 ORDER BY seq", -1,
                         &src.s, NULL) != SQLITE_OK)
    return audit_db_error(err, src.c->h, "verify");
  /* the whole chain includes rows someone put below seq 1 */
  sqlite3_bind_int64(src.s, 1, from > 1 ? from : INT64_MIN);
  w->rows = &src; // cppcheck-suppress autoVariables
  w->next = sqlite_next;
  w->link = sqlite_link;
  st = audit_walk_chain(w, anchor, from, err);
  sqlite3_finalize(src.s);
  w->rows = NULL;
  return st;
}

/* SQLite's own check of the file: a page it cannot read is damage below
 * the chain (AG_ERR_DB), not a verdict on the records. */
static ag_status file_sound(audit_conn *c, ag_error *err) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(c->h, "PRAGMA quick_check(1)", -1, &s, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  ag_status st = AG_OK;
  if (rc != SQLITE_ROW)
    st = audit_db_error(err, c->h, "verify");
  else if (strcmp(audit_col_text(s, 0), "ok") != 0)
    st = ag_error_set(err, AG_ERR_DB, "db", "the database file is damaged (SQLite: %.200s)",
                      audit_col_text(s, 0));
  sqlite3_finalize(s);
  return st;
}

static ag_status verify_from(ag_audit_db *db, const ag_audit_anchor *anchor, int64_t from,
                             bool check_index, ag_audit_verify_report *rep, ag_error *err) {
  memset(rep, 0, sizeof *rep);
  memcpy(rep->head_hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  return db->store->verify(db, anchor, from, check_index, rep, err);
}

ag_status audit_sqlite_verify(ag_audit_db *db, const ag_audit_anchor *anchor, int64_t from,
                              bool check_index, ag_audit_verify_report *rep, ag_error *err) {
  walk w = {.db = db, .rep = rep};
  if (!(w.ctx = EVP_MD_CTX_new()))
    return ag_error_set(err, AG_ERR_NOMEM, "db", "out of memory");
  audit_conn *wc;
  ag_status st = audit_read_acquire(db, &wc, err);
  w.src = wc;
  if (st == AG_OK) {
    bool index = check_index && audit_attach_index(db, wc);
    /* one read transaction: head marker, rows and index from the same
     * snapshot */
    if ((st = audit_exec(wc->h, "BEGIN", err)) == AG_OK) {
      if (from == 1) /* a damaged page can hide rows from the walk */
        st = file_sound(wc, err);
      if (st == AG_OK)
        st = walk_chain(&w, anchor, from, err);
      if (st == AG_OK && rep->problem == AG_AUDIT_INTACT && index)
        st = audit_index_check(db, wc, rep, err);
      sqlite3_exec(wc->h, "COMMIT", NULL, NULL, NULL);
    }
    audit_read_release(db, wc);
  }
  EVP_MD_CTX_free(w.ctx);
  return st;
}

ag_status ag_audit_verify(ag_audit_db *db, const ag_audit_anchor *anchor,
                          ag_audit_verify_report *rep, ag_error *err) {
  return verify_from(db, anchor, 1, true, rep, err);
}

ag_status audit_verify_tail(ag_audit_db *db, int64_t n, ag_audit_verify_report *rep,
                            ag_error *err) {
  int64_t head = 0;
  char hash[AG_AUDIT_HASH_HEX];
  ag_status st = db->store->head(db, &head, hash, err);
  if (st != AG_OK)
    return st;
  return verify_from(db, NULL, head > n ? head - n + 1 : 1, false, rep, err);
}

ag_status audit_sqlite_head(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                            ag_error *err) {
  int64_t head = 0;
  memcpy(hash, audit_genesis_hash, AG_AUDIT_HASH_HEX);
  audit_conn *c;
  ag_status st = audit_read_acquire(db, &c, err);
  if (st != AG_OK)
    return st;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(c->h, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &s, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    head = sqlite3_column_int64(s, 0);
    snprintf(hash, AG_AUDIT_HASH_HEX, "%s", audit_col_text(s, 1));
  }
  /* a head that could not be read is no empty log */
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = audit_db_error(err, c->h, "read head");
  sqlite3_finalize(s);
  audit_read_release(db, c);
  *seq = head;
  return st;
}
