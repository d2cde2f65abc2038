/*
 * audit_int.h - what the files of the audit module share: the database
 * handle, its connections and cached statements, the canonical record form
 * that the hash chain covers, and small helpers.
 *
 * Locking invariants:
 *  - db->w (the writer connection) is used only with db->wmu held.
 *  - A pooled read connection belongs to one thread between
 *    audit_read_acquire() and audit_read_release(); db->rmu guards the pool.
 *    On a ":memory:" database there is no pool: acquire locks db->wmu and
 *    hands out db->w.
 *  - db->qmu guards the group-commit queue and the `leading` flag.
 *  - db->zmu guards the cache of decompression dictionaries.
 */
#ifndef ACEGATE_AUDIT_INT_H
#define ACEGATE_AUDIT_INT_H

#include "acegate/audit.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <zstd.h>

/* Statements cached per connection, prepared on first use. */
enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_HEAD,
  ST_HEAD_SET,
  ST_INSERT,
  ST_GET,
  ST_GET_SEQ,
  ST_KEY_GET,
  ST_KEY_ADD,
  ST_KEY_LIST,
  ST_KEY_REVOKE,
  ST_COUNT
};

/* A reader's decompression context and output buffer (codec.c);
 * zero-initialise, release with audit_unpacker_free(). */
typedef struct {
  ZSTD_DCtx *dctx;
  char *p;
  size_t cap;
} audit_unpacker;

typedef struct {
  sqlite3 *h;
  sqlite3_stmt *st[ST_COUNT];
  audit_unpacker unpack; /* for the stored decisions read through h */
  bool search_attached;  /* the search index is attached as "search" */
} audit_conn;

typedef struct audit_pending audit_pending;
struct audit_ddict;
/* Runs inside an append's transaction, before its records; caller holds
 * wmu. A failure rolls the whole transaction back. */
typedef ag_status (*audit_txn_fn)(ag_audit_db *db, void *ctx, ag_error *err);
struct audit_pg;

/* A record as the hash sees it, declared early for the store interface. */
typedef struct audit_row audit_row;

/* Called for each record of a scan, in chain order; hash is the stored one.
 * Pointers live for the call only. Anything but AG_OK stops the scan and is
 * returned by it. */
typedef ag_status (*audit_row_fn)(void *ctx, const audit_row *r, const char *hash, ag_error *err);

/* The store under the log: where records, the head marker, keys and the
 * search columns live. The group commit (append.c), the validation of
 * records and queries, the canonical form and hashing, the formats of
 * export, the verdicts of verify and the key logic are the same for every
 * store; a store only reads and writes. One table of these per backend:
 * SQLite (db.c and the files beside it) and PostgreSQL (pg.c). */
typedef struct audit_store {
  const char *name; /* "sqlite", "postgresql" */
  void (*close)(ag_audit_db *db);
  /* One transaction: the head marker read (and locked), each request's
   * `before` run, every record hashed with audit_make_row() and inserted,
   * the head marker moved. Caller holds wmu. */
  ag_status (*write_batch)(ag_audit_db *db, audit_pending *batch, ag_error *err);
  /* The record with this seq whose id is audit_id (NULL: whatever its
   * id); AG_ERR_NOTFOUND. */
  ag_status (*get)(ag_audit_db *db, int64_t seq, const char *audit_id, ag_audit_entry **out,
                   ag_error *err);
  /* Fills page (entries allocated for limit) with the records matching q
   * after the cursor's seq; *more when a further one matches. *cut: the
   * seq of the last record read when q->scan_max ended the read (0: it
   * did not). */
  ag_status (*search)(ag_audit_db *db, const ag_audit_query *q, int64_t after, bool has_cursor,
                      size_t limit, ag_audit_page *page, bool *more, int64_t *cut,
                      ag_error *err);
  /* From one snapshot: the head marker, then every record from the first
   * to the last with from_ms <= time < to_ms (to_ms 0: open; both 0: the
   * whole log) in chain order. head is read before the first row. */
  ag_status (*scan)(ag_audit_db *db, int64_t from_ms, int64_t to_ms, int64_t *head_seq,
                    char head_hash[AG_AUDIT_HASH_HEX], audit_row_fn fn, void *ctx, ag_error *err);
  /* Appends records exactly as given (their seqs, ids, times and hashes),
   * in one transaction; the first must follow the head marker and link to
   * it. For copies between stores (audit backup, audit migrate). */
  ag_status (*put_rows)(ag_audit_db *db, const audit_row *rows,
                        const char (*hashes)[AG_AUDIT_HASH_HEX], size_t n, ag_error *err);
  /* ag_audit_verify() from seq `from` on (1: the whole chain). */
  ag_status (*verify)(ag_audit_db *db, const ag_audit_anchor *anchor, int64_t from,
                      bool check_index, ag_audit_verify_report *rep, ag_error *err);
  /* ag_audit_backup(): a verifiable SQLite file at dest_path. */
  ag_status (*backup)(ag_audit_db *db, const char *dest_path, ag_error *err);
  /* The head marker (0 and the genesis hash for an empty log). */
  ag_status (*head)(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX], ag_error *err);
  /* API keys. key_insert runs inside write_batch's transaction (as a
   * request's `before`) or alone; caller holds wmu. *taken: the id is in
   * use. key_get: *found false when there is no such key. key_revoke sets
   * revoked_ms where it is 0; caller holds wmu. */
  ag_status (*key_insert)(ag_audit_db *db, const ag_keys_info *k, const unsigned char hash[32],
                          bool *taken, ag_error *err);
  ag_status (*key_get)(ag_audit_db *db, const char *id, ag_keys_info *k, unsigned char hash[32],
                       bool *found, ag_error *err);
  ag_status (*key_list)(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err);
  ag_status (*key_revoke)(ag_audit_db *db, const char *id, int64_t now_ms, bool *changed,
                          bool *found, ag_error *err);
  /* audit_sync() for a store that makes its commits durable itself
   * (PostgreSQL); NULL: the WAL fsync of durable.c. */
  ag_status (*sync)(ag_audit_db *db, uint64_t upto, ag_error *err);
} audit_store;

extern const audit_store audit_sqlite_store;
extern const audit_store audit_pg_store;

/* A PostgreSQL connection URI (postgresql:// or postgres://) rather than
 * a file path. */
bool audit_is_pg_uri(const char *path);
/* ag_audit_backup() of a log that is not a SQLite file: a new SQLite log
 * at dest written by ag_audit_copy() (copy.c). */
ag_status audit_copy_to_file(ag_audit_db *db, const char *dest, ag_error *err);
/* Connects the PostgreSQL store and makes its schema unless
 * AG_AUDIT_OPEN_EXISTING (pg.c). */
ag_status audit_pg_open(ag_audit_db *db, unsigned flags, ag_error *err);

#define AUDIT_POOL_MAX 8

struct ag_audit_db {
  const audit_store *store;
  struct audit_pg *pg; /* the PostgreSQL store's connections (pg.c) */
  char *path;
  bool memory;
  bool readonly; /* AG_AUDIT_OPEN_READONLY: every connection read-only */
  int busy_ms;
  const EVP_MD *sha256; /* fetched once; read-only, shared by all threads */

  pthread_mutex_t wmu;
  audit_conn w;
  ag_audit_stats stats; /* guarded by wmu */
  EVP_MD_CTX *wctx;     /* hashing scratch for appends; guarded by wmu */

  /* stored decisions (codec.c) */
  ZSTD_CCtx *zc;     /* compression, guarded by wmu */
  ZSTD_CDict *cdict; /* the compiled-in dictionary, prepared */
  char *zbuf;        /* the last packed decision, guarded by wmu */
  size_t zcap;
  pthread_mutex_t zmu;
  struct audit_ddict *ddicts; /* dictionaries read so far, guarded by zmu */
  size_t nddicts;

  pthread_mutex_t rmu;
  audit_conn *idle[AUDIT_POOL_MAX];
  size_t nidle;

  pthread_mutex_t qmu;
  audit_pending *qhead, *qtail;
  bool leading;

  /* durability (durable.c): commits counted under wmu, the WAL synced
   * under smu by whoever needs it first */
  bool durable;                   /* fsync the WAL after commits ourselves */
  char *wal_path;                 /* NULL for ":memory:" */
  atomic_uint_fast64_t committed; /* writer commits so far */
  pthread_mutex_t smu;
  pthread_cond_t scv;
  int wal_fd;        /* -1 until the first sync */
  uint64_t synced;   /* commits known to be on stable storage */
  bool syncing;      /* an fdatasync is running */
  ag_status sync_st; /* sticky: a failed fsync leaves the log unusable */
  char sync_why[160];
  uint64_t syncs;

  /* the head file beside the log (startcheck.c): the head last written to
   * it (-1: none yet); kept for a writable file log once it is open */
  _Atomic int64_t head_saved;
  bool head_track;

  /* the search index (search.c): a database of its own, updated under imu */
  char *search_path; /* NULL for ":memory:" */
  sqlite3 *ix;       /* its writing connection, opened on first use */
  pthread_mutex_t imu;
  pthread_cond_t icv;
  pthread_t ix_thread;
  bool ix_started;
  atomic_bool ix_stop;
  int64_t ix_written_ms; /* when it last wrote a batch */

  /* background checkpoints (durable.c) */
  pthread_mutex_t cmu;
  pthread_cond_t ccv;
  pthread_t ckpt_thread;
  bool ckpt_started, ckpt_due, ckpt_stop;
  int wal_frames;   /* the WAL's size after the last commit */
  int wal_copied;   /* frames of it the thread has copied */
  uint64_t wal_gen; /* counts WAL restarts */
  audit_conn ck;    /* the checkpointer's own connection */
  atomic_uint_fast64_t checkpoints;

  /* what other modules keep for this handle (ag_audit_slot_get), under
   * slot_mu */
  pthread_mutex_t slot_mu;
  void *slot[AG_AUDIT_SLOTS];
  void (*slot_drop[AG_AUDIT_SLOTS])(void *);
};

/* The columns in canonical order, as every SELECT of the log lists them. */
#define AUDIT_COLS                                                                                 \
  "seq, audit_id, ts_ms, kind, key_id, client_addr, rules_version, lists_version, as_of, "         \
  "destination, eccn, outcome, request, decision, prev_hash, hash"

/* Text fields of a record, in canonical order after seq and time. */
enum {
  F_ID,
  F_KIND,
  F_KEY_ID,
  F_CLIENT,
  F_RULES,
  F_LISTS,
  F_AS_OF,
  F_DEST,
  F_ECCN,
  F_OUTCOME,
  F_REQUEST,
  F_DECISION,
  F_PREV,
  F_COUNT
};

typedef struct {
  const char *p;
  size_t n;
} audit_bytes;

/* A record as the hash sees it; bytes borrowed from the caller or a row. */
struct audit_row {
  int64_t seq;
  int64_t time_ms;
  audit_bytes f[F_COUNT];
};

extern const char audit_genesis_hash[AG_AUDIT_HASH_HEX];

/* A request to append, queued for group commit (append.c). */
struct audit_pending {
  const ag_audit_record *recs;
  size_t n;
  char (*ids)[AG_AUDIT_ID_MAX];
  int64_t now_ms;
  ag_status st;
  ag_error err;
  /* run first inside the transaction (a key row written with its record) */
  audit_txn_fn before;
  void *before_ctx;
  bool taken; /* in a batch being written */
  bool done;
  pthread_cond_t cv; /* signalled when done, or when this request should lead */
  audit_pending *next;
};

/* Random bytes for audit ids, fetched once per 64 records; start with
 * used = sizeof bytes. */
typedef struct {
  unsigned char bytes[6 * 64];
  size_t used;
} audit_id_random;

/* A record made ready to store: its id, links and hash; row borrows from
 * the record and from this struct. */
typedef struct {
  audit_row row;
  char id[AG_AUDIT_ID_MAX];
  char prev[AG_AUDIT_HASH_HEX];
  char hash[AG_AUDIT_HASH_HEX];
} audit_made;

/* Gives record r its place seq after prev: the audit id, the time (now_ms
 * when it has none) and the hash. Caller holds wmu (db->wctx). */
ag_status audit_make_row(ag_audit_db *db, audit_id_random *rnd, const ag_audit_record *r,
                         int64_t now_ms, int64_t seq, const char prev[AG_AUDIT_HASH_HEX],
                         audit_made *out, ag_error *err);
ag_status audit_sqlite_write_batch(ag_audit_db *db, audit_pending *batch, ag_error *err);

/* An entry (one allocation) from a row and its stored hash. */
ag_status audit_entry_from_row(const audit_row *r, const char *stored, ag_audit_entry **out,
                               ag_error *err);

/* hex = SHA-256 of the canonical form of r (docs/audit.md). ctx is a
 * scratch context owned by the caller. */
bool audit_row_hash(const EVP_MD *md, EVP_MD_CTX *ctx, const audit_row *r,
                    char hex[AG_AUDIT_HASH_HEX]);
/* The same in two steps: every field but the link to the record before
 * (the last one hashed), then that link and the digest. */
bool audit_row_hash_begin(const EVP_MD *md, EVP_MD_CTX *ctx, const audit_row *r);
bool audit_row_hash_end(EVP_MD_CTX *ctx, audit_bytes prev, char hex[AG_AUDIT_HASH_HEX]);

/* ---- stored decisions (codec.c) ---- */

/* After the schema is in place: stores the compiled-in dictionary in the log
 * (if it is not there yet) and prepares compression with it. */
ag_status audit_codec_open(ag_audit_db *db, ag_error *err);
void audit_codec_close(ag_audit_db *db);
/* The compiled-in dictionary's zstd id, and its bytes. */
unsigned audit_codec_dict_id(const void **data, size_t *len);
/* Prepares compression with the compiled-in dictionary, once the log holds
 * it (PostgreSQL: pg.c stores it). */
ag_status audit_codec_prepare(ag_audit_db *db, ag_error *err);
/* Appends the frame of raw to out with the writer's context (caller holds
 * wmu); its length, or 0 when raw is to be stored as it is. */
size_t audit_pack_append(ag_audit_db *db, audit_bytes raw, ag_buf *out);
/* The bytes to store for a decision: compressed when that is smaller.
 * Caller holds wmu; the result lives until the next call. */
audit_bytes audit_pack(ag_audit_db *db, audit_bytes raw);
/* True if packed is a frame of decision_len bytes (what ag_audit_pack()
 * makes; that it holds this very decision is the caller's promise). */
bool audit_packed_fits(const void *packed, size_t packed_len, size_t decision_len);
/* Turns stored decision bytes back into the decision as sent (in u's
 * buffer); bytes stored as they are are left alone. h is the reading
 * connection, for a dictionary not read yet. AG_ERR_DB names a frame that
 * does not decompress or whose dictionary is missing. */
ag_status audit_unpack(ag_audit_db *db, sqlite3 *h, audit_unpacker *u, audit_bytes *b,
                       ag_error *err);
/* The same for any store: fetch(ctx, id) reads dictionary id from the log
 * (NULL when it is not there). */
typedef ZSTD_DDict *(*audit_dict_fetch)(void *ctx, unsigned id);
ag_status audit_unpack_with(ag_audit_db *db, audit_dict_fetch fetch, void *ctx, audit_unpacker *u,
                            audit_bytes *b, ag_error *err);
void audit_unpacker_free(audit_unpacker *u);

/* Fills r from the current row of a statement on c that selected
 * AUDIT_COLS, the decision decompressed into c->unpack; *stored_hash points
 * at column 15. Pointers live until the next step or read on c. */
ag_status audit_row_from_stmt(ag_audit_db *db, audit_conn *c, sqlite3_stmt *s, audit_row *r,
                              const char **stored_hash, ag_error *err);

/* Copies the current row of an AUDIT_COLS statement on c into one
 * allocation. */
ag_status audit_entry_from_stmt(ag_audit_db *db, audit_conn *c, sqlite3_stmt *s,
                                ag_audit_entry **out, ag_error *err);

/* Opens / closes one connection to db->path (flags: SQLITE_OPEN_*). */
ag_status audit_conn_open(ag_audit_db *db, audit_conn *c, int flags, ag_error *err);
void audit_conn_close(audit_conn *c);

/* ---- the search index (search.c) ---- */

/* The search columns, numbered as the index stores them. */
#define AUDIT_SEARCH_COLS 4 /* destination, eccn, outcome, as_of */

/* The caller reference of a SQLite record: its request's "ref" (NULL when
 * it has none or is not JSON), and the test for records that may have one
 * (a request with neither "ref" nor a \u escape, which could spell it, has
 * none). Indexed together as audit_log_ref (db.c), and written the same in
 * a search (query.c) so that the planner uses that index. */
#define AUDIT_REF_EXPR                                                                             \
  "CASE WHEN json_valid(CAST(request AS TEXT))"                                                    \
  " THEN json_extract(CAST(request AS TEXT), '$.ref') END"
#define AUDIT_REF_MAYBE "(instr(request, '\"ref\"') > 0 OR instr(request, '\\u') > 0)"

/* Names the index beside a file log (none for ":memory:"). */
ag_status audit_search_init(ag_audit_db *db, ag_error *err);
/* Stops the index thread and closes the index. */
void audit_search_close(ag_audit_db *db);
/* The last record held by the index attached to c as "search" (0: none),
 * and the widest seq span of one of its batches. */
ag_status audit_search_mark(audit_conn *c, int64_t *seq, int64_t *span);

/* The seqs the attached index holds for search column col = value within
 * [lo, hi], in order (desc: newest first). */
typedef struct {
  sqlite3_stmt *s;
  int64_t *seqs; /* the current batch's, decoded */
  size_t n, i, cap;
  int64_t lo, hi;
  bool desc;
} audit_postings;

ag_status audit_postings_open(audit_conn *c, int col, const char *value, int64_t lo, int64_t hi,
                              int64_t span, bool desc, audit_postings *it, ag_error *err);
/* 1 with *seq, 0 at the end, -1 on failure (err set). */
int audit_postings_next(audit_postings *it, audit_conn *c, int64_t *seq, ag_error *err);
void audit_postings_close(audit_postings *it);
/* Decodes one posting's seqs (n of them, from first) into out; false when
 * the bytes are not a posting of n seqs. */
bool audit_postings_decode(const unsigned char *p, size_t len, int64_t first, int64_t n,
                           int64_t *out);
/* Attaches the search index to c as "search", once (outside a
 * transaction); false when there is none (query.c). */
bool audit_attach_index(ag_audit_db *db, audit_conn *c);
/* After an intact walk inside c's read transaction: checks that the index
 * attached to c holds every record up to its mark exactly once per column,
 * with the log's value, so that no filtered search can miss a record.
 * A mismatch is rep->problem AG_AUDIT_INDEX_MISMATCH (index_check.c). */
ag_status audit_index_check(ag_audit_db *db, audit_conn *c, ag_audit_verify_report *rep,
                            ag_error *err);

/* The columns of an export, in order (query.c). */
#define AUDIT_EXPORT_NCOLS 17
extern const char *const audit_export_cols[AUDIT_EXPORT_NCOLS];

/* ---- appends with more in the same transaction (append.c) ---- */

/* Appends one record with before() in the same transaction, and returns
 * once both are durable. */
ag_status audit_append_with(ag_audit_db *db, const ag_audit_record *rec,
                            char id_out[AG_AUDIT_ID_MAX], audit_txn_fn before, void *ctx,
                            ag_error *err);
/* ag_audit_key_event(), with before() in its transaction when not NULL. */
ag_status audit_key_event_with(ag_audit_db *db, bool revoked, const char *key_id, const char *role,
                               const char *name, const char *actor, const char *client,
                               char id_out[AG_AUDIT_ID_MAX], audit_txn_fn before, void *ctx,
                               ag_error *err);

/* A walk of the chain (verify.c): the store feeds it rows in seq order
 * from one snapshot and, to tell an edited hash from edited content, what
 * the record after a seq links to. */
typedef struct audit_walk audit_walk;
struct audit_walk {
  ag_audit_db *db;
  void *src;  /* the store's read connection */
  void *rows; /* the store's cursor */
  /* 1 with a row (*rst: whether its stored decision decoded, why if not),
   * 0 at the end, -1 on failure (err set) */
  int (*next)(audit_walk *w, audit_row *r, const char **stored, ag_status *rst, ag_error *why,
              ag_error *err);
  /* the prev_hash of the first record after seq, or the head marker's hash
   * when seq is the head; out stays "" when unknown */
  ag_status (*link)(audit_walk *w, int64_t seq, char out[AG_AUDIT_HASH_HEX], ag_error *err);
  EVP_MD_CTX *ctx;
  ag_audit_verify_report *rep;
  bool head_known; /* the head marker, read by the store before the walk */
  int64_t head_seq;
  char head_hash[AG_AUDIT_HASH_HEX];
};
/* Recomputes every hash and link from seq `from` on and fills w->rep. */
ag_status audit_walk_chain(audit_walk *w, const ag_audit_anchor *anchor, int64_t from,
                           ag_error *err);

/* The SQLite store's functions, named in its table (db.c). */
ag_status audit_sqlite_get(ag_audit_db *db, int64_t seq, const char *audit_id, ag_audit_entry **out,
                           ag_error *err);
ag_status audit_sqlite_search(ag_audit_db *db, const ag_audit_query *q, int64_t after,
                              bool has_cursor, size_t limit, ag_audit_page *page, bool *more,
                              int64_t *cut, ag_error *err);
ag_status audit_sqlite_scan(ag_audit_db *db, int64_t from_ms, int64_t to_ms, int64_t *head_seq,
                            char head_hash[AG_AUDIT_HASH_HEX], audit_row_fn fn, void *ctx,
                            ag_error *err);
ag_status audit_sqlite_put_rows(ag_audit_db *db, const audit_row *rows,
                                const char (*hashes)[AG_AUDIT_HASH_HEX], size_t n, ag_error *err);
ag_status audit_sqlite_verify(ag_audit_db *db, const ag_audit_anchor *anchor, int64_t from,
                              bool check_index, ag_audit_verify_report *rep, ag_error *err);
ag_status audit_sqlite_head(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX],
                            ag_error *err);
ag_status audit_sqlite_key_insert(ag_audit_db *db, const ag_keys_info *k,
                                  const unsigned char hash[32], bool *taken, ag_error *err);
ag_status audit_sqlite_key_get(ag_audit_db *db, const char *id, ag_keys_info *k,
                               unsigned char hash[32], bool *found, ag_error *err);
ag_status audit_sqlite_key_list(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err);
ag_status audit_sqlite_key_revoke(ag_audit_db *db, const char *id, int64_t now_ms, bool *changed,
                                  bool *found, ag_error *err);
ag_status audit_sqlite_backup(ag_audit_db *db, const char *dest_path, ag_error *err);

/* ag_audit_verify() of the last n records only (verify.c): the start
 * check's look at the end of the chain. */
ag_status audit_verify_tail(ag_audit_db *db, int64_t n, ag_audit_verify_report *rep, ag_error *err);

/* ---- durability and checkpoints (durable.c) ---- */

/* After the schema is in place: sets up commit syncing and background
 * checkpoints for a file database opened with the given AG_AUDIT_OPEN_*
 * flags. */
ag_status audit_durable_init(ag_audit_db *db, unsigned flags, ag_error *err);
/* Stops the checkpointer and closes the WAL descriptor. */
void audit_durable_close(ag_audit_db *db);
/* Counts a commit of the writer connection; caller holds wmu. Returns its
 * number, to pass to audit_sync(). */
uint64_t audit_committed(ag_audit_db *db);
/* Returns once commit number `upto` is on stable storage (at once when the
 * log is not durable). Called without wmu, so the next batch can be written
 * meanwhile. */
ag_status audit_sync(ag_audit_db *db, uint64_t upto, ag_error *err);

/* Column text, "" for NULL (the database may have been edited by hand). */
static inline const char *audit_col_text(sqlite3_stmt *s, int col) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  return t ? t : "";
}

ag_status audit_stmt(audit_conn *c, int which, sqlite3_stmt **out, ag_error *err);
ag_status audit_db_error(ag_error *err, sqlite3 *h, const char *what);
ag_status audit_read_acquire(ag_audit_db *db, audit_conn **out, ag_error *err);
void audit_read_release(ag_audit_db *db, audit_conn *c);
ag_status audit_exec(sqlite3 *h, const char *sql, ag_error *err);
int64_t audit_now_ms(void);
void audit_hex(const unsigned char *in, size_t n, char *out);

#endif
