/*
 * store.h - where the party registry is kept, behind a few operations: a
 * SQLite file beside a log file (store_sqlite.c), or tables of the log's
 * own PostgreSQL database, shared by the replicas on it (store_pg.c).
 * parties.c holds the logic once and calls these; the caller holds the
 * registry's lock around every call.
 *
 * Tables: the parties (keyed by ref), party_hits (ref, the entry's list
 * code and id, its content hash when last found) and the claims of
 * re-screenings (a digest of the entries a list change added or changed,
 * when it was claimed), which make one replica re-screen a change that
 * several reload. A claim's row also keeps when the unfinished
 * re-screening of its change began (begun_ms): written before the
 * re-screening's transaction and cleared by its commit, it outlives a
 * re-screening that dies, so the one that finishes it knows how far back
 * in the log its items go.
 *
 * An entry is its list code and id: two lists may give entries the same
 * id (OFAC's SDN and SSI lists do), and keyed by id alone their hashes
 * replaced each other, so every re-screening found both new. A registry
 * made then keeps its rows with list_code '' (legacy rows): a party's
 * first hit on (list, id) with the content a legacy row of that id holds
 * is carried over, not new, so an upgrade makes no burst of items.
 */
#ifndef ACEGATE_PARTIES_STORE_H
#define ACEGATE_PARTIES_STORE_H

#include "acegate/parties.h"

#include <stdbool.h>
#include <stdint.h>

/* One party as stored; strings owned by the rows that hold it. */
typedef struct {
  char *ref, *name, *country, *address, *source;
  int64_t last_screened_ms;
  bool screened; /* last_screened_ms is set */
} party_row;

typedef struct {
  party_row *rows;
  size_t n, cap;
} party_rows;

/* Appends a copy of the row's strings (NULL as ""); false: out of memory. */
bool party_rows_add(party_rows *r, const party_row *row);
void party_rows_free(party_rows *r);

typedef struct parties_store parties_store;

typedef struct {
  void (*close)(parties_store *s);
  ag_status (*begin)(parties_store *s, ag_error *err);
  ag_status (*commit)(parties_store *s, ag_error *err);
  void (*rollback)(parties_store *s);
  /* an imported party replaces whatever was there; *existed: ref was known */
  ag_status (*import_one)(parties_store *s, const char *ref, const char *name,
                          const char *country, const char *address, bool *existed,
                          ag_error *err);
  /* a check's party: new, or again with the name and country screened now
   * (an imported party keeps its fields); screened at now_ms either way */
  ag_status (*note)(parties_store *s, const char *ref, const char *name, const char *country,
                    int64_t now_ms, ag_error *err);
  /* by ref after `after`, q "" or a case-insensitive substring of ref or
   * name, at most limit rows; or the one party with ref `only` */
  ag_status (*select)(parties_store *s, const char *after, const char *q, const char *only,
                      size_t limit, party_rows *out, ag_error *err);
  /* every party, by ref, every field filled */
  ag_status (*all)(parties_store *s, party_rows *out, ag_error *err);
  /* records that ref matches entry sid of list `list` with content hash;
   * *fresh when that pair was not known with that content (nor, when it
   * was not known at all, a legacy row of ref and sid with that hash).
   * Atomic: of two transactions recording the same, one finds it fresh. */
  ag_status (*hit)(parties_store *s, const char *ref, const char *list, const char *sid,
                   const char *hash, bool *fresh, ag_error *err);
  ag_status (*screened)(parties_store *s, const char *const *refs, size_t n, int64_t now_ms,
                        ag_error *err);
  /* outside a transaction, committed at once: a re-screening of `key`
   * (a change's, or a full one's) of the lists lists_version begins at
   * now_ms. An earlier beginning not yet finished is kept (a re-screening
   * that died: the one finishing it looks back to then), and none is
   * recorded for a change claimed less than window_ms ago (it is skipped) */
  ag_status (*begun)(parties_store *s, const char *key, const char *lists_version,
                     int64_t now_ms, int64_t window_ms, ag_error *err);
  /* claims the re-screening of the change `key` for this transaction:
   * *claimed false when it was claimed less than window_ms ago (and
   * committed; a claim in another open transaction is waited for). When
   * claimed, *begun_ms is the change's unfinished beginning (-1: none
   * recorded), cleared when the transaction commits */
  ag_status (*claim)(parties_store *s, const char *key, const char *lists_version,
                     int64_t now_ms, int64_t window_ms, bool *claimed, int64_t *begun_ms,
                     ag_error *err);
  /* for the full re-screening `key`, in its transaction: *begun_ms the
   * earliest unfinished beginning of any re-screening (-1: none); those
   * begun by upto_ms, of `key` or of the lists lists_version, which it
   * finishes, cleared when the transaction commits (with PostgreSQL, not
   * one that another open transaction holds: a re-screening under way) */
  ag_status (*finish_all)(parties_store *s, const char *key, const char *lists_version,
                          int64_t upto_ms, int64_t *begun_ms, ag_error *err);
} parties_store_ops;

struct parties_store {
  const parties_store_ops *ops;
};

ag_status parties_sqlite_open(const char *log_path, parties_store **out, ag_error *err);
ag_status parties_pg_open(const char *uri, parties_store **out, ag_error *err);

#endif
