/*
 * acegate/audit.h - the audit log of export determinations and the API keys
 * that authorize requests, both kept in one database: an embedded SQLite
 * file, or PostgreSQL (a "postgresql://" or "postgres://" connection URI
 * wherever a path is taken) when several replicas share one log.
 *
 * 15 CFR 762.2(a) and 762.6: the records behind each export decision are kept
 * for five years from the export and produced on request. The log is
 * append-only: every record stores the SHA-256 of its canonical content and
 * the previous record's hash, so ag_audit_verify() finds an edited, deleted,
 * inserted or reordered record. Nothing is ever deleted by acegate.
 * docs/audit.md gives the schema, the canonical form and the procedures.
 *
 * Threads: one ag_audit_db may be shared by any number of threads. Appends
 * from concurrent threads are group-committed: one transaction and one fsync
 * carry every record submitted while the previous batch was being written,
 * and each caller returns only once its own record is durable. Reads (get,
 * search, export, verify, backup, key look-ups) use their own connections
 * and do not wait for writers, except on a ":memory:" database, where all
 * work shares one connection.
 *
 * Ownership: ag_audit_open() returns a handle freed by ag_audit_close(),
 * which must not run while another thread still uses the handle. Records
 * passed to the append functions are borrowed for the call only. Entries and
 * pages returned by get/search are heap-allocated and freed by
 * ag_audit_entry_free() / ag_audit_page_free(); ag_keys_list() returns an
 * array freed by free().
 */
#ifndef ACEGATE_AUDIT_H
#define ACEGATE_AUDIT_H

#include "acegate/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the database ---- */

typedef struct ag_audit_db ag_audit_db;

/* The default database, for every command: $ACEGATE_DB, else
 * $XDG_STATE_HOME/acegate/audit.db, else ~/.local/state/acegate/audit.db.
 * AG_ERR_INPUT (field "db") when none can be named. */
ag_status ag_audit_default_path(char *out, size_t cap, ag_error *err);
/* Before a log is created at path: creates the file empty with mode 0600
 * (and, when make_dirs, its missing directories 0700), so the log and its
 * -wal and -shm files are private to their owner. Nothing for an existing
 * file or ":memory:". */
ag_status ag_audit_prepare_path(const char *path, bool make_dirs, ag_error *err);
/* Only the missing directories above path (0700), for a log that is
 * created later, after its start check (ag_audit_check_start). */
ag_status ag_audit_prepare_dirs(const char *path, ag_error *err);

enum {
  /* Fail unless the file exists and already holds an acegate log
   * (verify, export, backup and key listing should never create one). */
  AG_AUDIT_OPEN_EXISTING = 1u << 0,
  /* synchronous=NORMAL instead of FULL: faster, but the last commits may be
   * lost on power failure (never on a process crash). Not for production. */
  AG_AUDIT_OPEN_RELAXED = 1u << 1,
  /* Read the log without changing anything in it or beside it (implies
   * AG_AUDIT_OPEN_EXISTING): no WAL conversion, no dictionary added, no
   * search index, no checkpoints. What verify, export and get use, so a
   * verifier cannot repair what it checks and works on read-only media
   * (for a WAL-mode log there, its -shm file must exist or be creatable). */
  AG_AUDIT_OPEN_READONLY = 1u << 2,
};

typedef struct {
  unsigned flags;      /* AG_AUDIT_OPEN_* */
  int busy_timeout_ms; /* wait for other processes' locks; 0 means 5000 */
} ag_audit_options;

/* Opens (and unless AG_AUDIT_OPEN_EXISTING, creates) the database at path;
 * ":memory:" gives a private in-memory log; a PostgreSQL URI connects
 * (schema made on first use; AG_ERR_NOTFOUND with EXISTING when there is
 * none; AG_ERR_DB when the server cannot be reached). opts may be NULL (defaults:
 * create if missing, synchronous=FULL). On failure *out is NULL and err
 * names "db". */
ag_status ag_audit_open(const char *path, const ag_audit_options *opts, ag_audit_db **out,
                        ag_error *err);
void ag_audit_close(ag_audit_db *db);
/* Whether path names a PostgreSQL log (a "postgresql://" or "postgres://"
 * URI): what is kept beside the log then lives in that database. */
bool ag_audit_is_postgresql(const char *path);
/* The first line of libpq's error for result r, else for connection c
 * (libpq's PGresult and PGconn), into out: one wording for every module
 * that keeps tables in the log's PostgreSQL database. */
struct pg_conn;
struct pg_result;
void ag_audit_pg_message(const struct pg_conn *c, const struct pg_result *r, char *out,
                         size_t cap);
/* A connection to the PostgreSQL database uri as every module makes it: a
 * 5 s connect timeout unless the URI gives one, server notices not printed
 * (the service's log is JSON lines), UTF-8, warnings and worse only. NULL,
 * with libpq's first line in why, when it cannot be made. */
struct pg_conn *ag_audit_pg_connect(const char *uri, char *why, size_t cap);

/* ---- records ---- */

typedef enum {
  AG_AUDIT_ANY = 0, /* only in queries */
  AG_AUDIT_CHECK = 1,
  AG_AUDIT_SCREENING = 2,
  AG_AUDIT_KEY = 3,     /* an API key added or revoked (ag_audit_key_event) */
  AG_AUDIT_SERVICE = 4, /* the service itself, e.g. started on a damaged log */
  AG_AUDIT_LISTS = 5,   /* screening lists updated, an update refused, or reloaded */
  AG_AUDIT_REVIEW = 6,  /* a reviewer's resolution of another record (acegate/review.h) */
  AG_AUDIT_CLASSIFICATION = 7, /* a classification questionnaire answered */
} ag_audit_kind;

/* "check", "screening", "key", "service", "lists", "review", "classification", "any" */
const char *ag_audit_kind_name(ag_audit_kind k);
/* Parses "check", "screening", "key", "service", "lists", "review" or "classification". */
bool ag_audit_kind_parse(const char *s, ag_audit_kind *out);

/* Audit ids look like "a-42-9f2c4e1ab03d": the sequence number and 48 random
 * bits, so an id cannot be guessed from its neighbours. Treat as opaque. */
#define AG_AUDIT_ID_MAX 40
#define AG_AUDIT_HASH_HEX 65 /* 64 lowercase hex digits and NUL */

/* Size limits, checked before anything is written (AG_ERR_LIMIT). */
#define AG_AUDIT_BODY_MAX (4u << 20) /* request, decision */
#define AG_AUDIT_FIELD_MAX 256       /* every other text field */

/* One determination to record. Text fields are NUL-terminated UTF-8; NULL
 * means empty. request and decision are stored byte for byte (they must be
 * valid UTF-8; the caller passes the JSON exactly as received / returned). */
typedef struct {
  ag_audit_kind kind;  /* AG_AUDIT_CHECK, _SCREENING, _KEY, _SERVICE, _LISTS or _REVIEW */
  int64_t time_ms;     /* UTC ms since 1970; 0 means now */
  const char *request; /* request JSON */
  size_t request_len;
  const char *decision; /* decision JSON as sent to the client */
  size_t decision_len;
  const char *rules_version; /* regulation tables in force */
  const char *lists_version; /* screening list snapshot */
  const char *key_id;        /* API key id, "" for the command line */
  const char *client_addr;   /* peer address, "" for the command line */
  const char *as_of;         /* "YYYY-MM-DD" or empty */
  const char *destination;   /* search columns, matched exactly */
  const char *eccn;
  const char *outcome;
  /* Optional: the decision as the log stores it, made from this very
   * decision by ag_audit_pack() (NULL: compressed when appended). */
  const void *packed;
  size_t packed_len;
  /* Optional: its hash begun by ag_audit_prehash_make() (NULL: hashed
   * whole by the append). */
  const struct ag_audit_prehash *prehash;
} ag_audit_record;

/* A record's hash begun on the caller's thread for the place (seq) it is
 * expected to take: everything the hash covers but the link to the record
 * before, which comes last (docs/audit.md). An append that puts the record
 * at that seq finishes it under its write lock, with the id and time it
 * was begun with; anywhere else the record is hashed whole with a new id,
 * so a wrong guess costs time, never a wrong hash. The record must not
 * change in between. Made with the record checked as the append would
 * (an error leaves the check to the append). One per record in flight. */
typedef struct ag_audit_prehash ag_audit_prehash;
ag_audit_prehash *ag_audit_prehash_new(void);
void ag_audit_prehash_free(ag_audit_prehash *h);
ag_status ag_audit_prehash_make(ag_audit_db *db, ag_audit_prehash *h, const ag_audit_record *r,
                                int64_t seq, ag_error *err);
/* The audit id the record takes if it lands at the seq guessed ("" before
 * a hash is begun). */
const char *ag_audit_prehash_id(const ag_audit_prehash *h);

/* Compressing decisions the way the log stores them, on the caller's
 * thread, so that appends need not do it while holding the write lock.
 * One packer per thread. */
typedef struct ag_audit_packer ag_audit_packer;
ag_audit_packer *ag_audit_packer_new(void);
void ag_audit_packer_free(ag_audit_packer *p);
/* Appends to out the stored form of the decision and sets *packed_len to
 * its length; 0 (out unchanged) when the decision is stored as it is (short
 * or incompressible), when it is then left to the append. */
ag_status ag_audit_pack(ag_audit_db *db, ag_audit_packer *p, const char *decision, size_t len,
                        ag_buf *out, size_t *packed_len, ag_error *err);

/* Appends one record and returns once it is durable (committed, and with the
 * default options its write-ahead log fsynced; a failed fsync makes every
 * later append fail until the log is reopened). Safe to call from many threads at once: calls
 * that overlap are committed together in one transaction (group commit).
 * id_out receives the audit id. */
ag_status ag_audit_append(ag_audit_db *db, const ag_audit_record *rec, char id_out[AG_AUDIT_ID_MAX],
                          ag_error *err);

/* Appends n records atomically (all or none), consecutively in the chain.
 * ids_out[i] receives record i's id. */
ag_status ag_audit_append_batch(ag_audit_db *db, const ag_audit_record *recs, size_t n,
                                char (*ids_out)[AG_AUDIT_ID_MAX], ag_error *err);

/* The same append in two steps, for a caller that overlaps the fsync of one
 * batch with writing the next (the service's audit writer). Commits the
 * records and returns at once with *ticket set; the records are durable only
 * once ag_audit_wait_durable(ticket) has returned AG_OK, and must not be
 * acknowledged before. *ticket is 0 when there is nothing to wait for
 * (":memory:" or AG_AUDIT_OPEN_RELAXED). Readers may see the records before
 * they are durable; a crash in between loses them, unacknowledged. */
ag_status ag_audit_commit_batch(ag_audit_db *db, const ag_audit_record *recs, size_t n,
                                char (*ids_out)[AG_AUDIT_ID_MAX], uint64_t *ticket,
                                ag_error *err);
/* Returns once every commit up to ticket is on stable storage (one fsync
 * covers every commit made before it began), or the fsync error. */
ag_status ag_audit_wait_durable(ag_audit_db *db, uint64_t ticket, ag_error *err);

/* Counters since open, for benchmarks and monitoring: transactions
 * committed by appends and the records they carried, fsyncs of the
 * write-ahead log that made them durable (one may cover several commits),
 * and checkpoints run. */
typedef struct {
  uint64_t commits;
  uint64_t records;
  uint64_t syncs;
  uint64_t checkpoints;
} ag_audit_stats;
void ag_audit_get_stats(ag_audit_db *db, ag_audit_stats *out);

/* A stored record. Strings point into the same allocation and are
 * NUL-terminated; request/decision are the exact bytes appended. */
typedef struct {
  int64_t seq; /* 1, 2, 3 ... in chain order */
  char id[AG_AUDIT_ID_MAX];
  int64_t time_ms;
  ag_audit_kind kind;
  const char *request;
  size_t request_len;
  const char *decision;
  size_t decision_len;
  const char *rules_version, *lists_version, *key_id, *client_addr;
  const char *as_of, *destination, *eccn, *outcome;
  char prev_hash[AG_AUDIT_HASH_HEX];
  char hash[AG_AUDIT_HASH_HEX];
} ag_audit_entry;

/* Appends the record as one JSON object: audit_id, seq, time, kind, the
 * text columns, request and decision embedded as the JSON they are (as a
 * string when a stored one does not parse), prev_hash and hash. What
 * `acegate audit search` prints and GET /v1/audit returns. */
void ag_audit_entry_json(ag_buf *b, const ag_audit_entry *e);

/* Looks a record up by audit id: AG_ERR_NOTFOUND if there is none. */
ag_status ag_audit_get(ag_audit_db *db, const char *audit_id, ag_audit_entry **out, ag_error *err);
/* Looks a record up by its seq, for a caller that noted the seqs of records
 * it read itself (the review module's open queue); whatever a client names
 * is looked up by audit id. AG_ERR_NOTFOUND if there is none. */
ag_status ag_audit_get_seq(ag_audit_db *db, int64_t seq, ag_audit_entry **out, ag_error *err);
void ag_audit_entry_free(ag_audit_entry *e);

/* The head of the log: its last record's seq and hash (0 and 64 zeros for
 * an empty log). Every record up to it is committed, so a search begun
 * afterwards finds all of them. */
ag_status ag_audit_head(ag_audit_db *db, int64_t *seq, char hash[AG_AUDIT_HASH_HEX], ag_error *err);

/* State another module derives from the log and keeps while the handle is
 * open (the review module's open queue and its reviews): one per slot, made by make() the
 * first time it is asked for (NULL: out of memory, asked again next time)
 * and freed by drop() in ag_audit_close(). Safe from any thread; the state
 * guards its own use. */
typedef enum {
  AG_AUDIT_SLOT_REVIEW_QUEUE = 0,
  AG_AUDIT_SLOT_REVIEW_SET,
  AG_AUDIT_SLOTS
} ag_audit_slot;
void *ag_audit_slot_get(ag_audit_db *db, ag_audit_slot slot, void *(*make)(void),
                        void (*drop)(void *));

/* ---- search and export ---- */

/* Time bounds are UTC ms, from inclusive, to exclusive; 0 leaves that end
 * open. ag_audit_parse_time() turns "YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into a bound: as an end bound (is_end) a date
 * covers its whole day and a timestamp its whole millisecond. field names the
 * input in err. */
ag_status ag_audit_parse_time(const char *s, bool is_end, int64_t *ms_out, const char *field,
                              ag_error *err);
/* The search index: a file log's search columns (as_of, destination, eccn,
 * outcome) are indexed in "<log>-search", a database of derived data kept
 * apart so that appends do not pay for it. ag_audit_search is exact
 * whatever its state (it scans the log for records the index lacks).
 * ag_audit_index_start() keeps it up to date from a background thread
 * (the service); ag_audit_index_update() brings it up to date now. Both do
 * nothing on ":memory:". */
ag_status ag_audit_index_start(ag_audit_db *db, ag_error *err);
ag_status ag_audit_index_update(ag_audit_db *db, ag_error *err);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" and NUL. */
void ag_audit_format_time(int64_t ms, char out[32]);

#define AG_AUDIT_PAGE_DEFAULT 50
#define AG_AUDIT_PAGE_MAX 1000
#define AG_AUDIT_CURSOR_MAX 32
/* The seq a page cursor continues after ("f" and hex for oldest first,
 * "b" for newest first); false for a malformed cursor or the other
 * direction's. Lists of records ordered by seq use the same cursors. */
bool ag_audit_cursor_parse(const char *s, bool newest_first, int64_t *seq);

typedef struct {
  int64_t from_ms, to_ms;  /* 0 = open */
  const char *destination; /* NULL = any; exact match */
  const char *eccn;
  const char *outcome;
  const char *as_of;
  ag_audit_kind kind; /* AG_AUDIT_ANY = any */
  const char *ref;    /* NULL = any; the request's caller reference, exact */
  /* NULL = any; else only records it returns true for (a scan of the log
   * within the other filters), e.g. a party filter (acegate/pipeline.h) */
  bool (*match)(void *ctx, const ag_audit_entry *e);
  void *match_ctx;
  const char *cursor; /* NULL or "" = first page; else a next_cursor */
  size_t limit;       /* 0 = AG_AUDIT_PAGE_DEFAULT; at most _MAX */
  bool newest_first;
  /* 0 = no bound; else one call reads at most this many records of the
   * log (of those the other filters pass): a page it cuts short holds what
   * matched among them, maybe nothing, and its next_cursor continues after
   * the last record read. A match function may otherwise read the whole
   * log in one call; this lets a caller read it in steps (and stop, or let
   * go of what it holds, between them). */
  size_t scan_max;
} ag_audit_query;

typedef struct {
  ag_audit_entry **entries; /* count entries, each owned by the page */
  size_t count;
  char next_cursor[AG_AUDIT_CURSOR_MAX]; /* "" when this is the last page */
} ag_audit_page;

/* One page of matching records in chain order (or newest first). A cursor
 * belongs to the query that produced it; a malformed one is AG_ERR_INPUT
 * naming "cursor". */
ag_status ag_audit_search(ag_audit_db *db, const ag_audit_query *q, ag_audit_page *page,
                          ag_error *err);
void ag_audit_page_free(ag_audit_page *page);

typedef enum { AG_AUDIT_CSV = 1, AG_AUDIT_JSONL = 2 } ag_audit_format;
bool ag_audit_format_parse(const char *s, ag_audit_format *out);

/* Receives export output; returns 0 to go on, nonzero to stop (the export
 * then fails with AG_ERR_IO). It must not call back into the same handle. */
typedef int (*ag_audit_write_fn)(void *ctx, const char *data, size_t len);

/* Streams the records from the first to the last with from_ms <= time <
 * to_ms (0 = open) in chain order, one row or line at a time, from one
 * consistent snapshot, then a closing line with the record count, the last
 * record's seq and hash and the log's head (docs/audit.md). Every column
 * is included, so an export can be re-verified offline
 * (ag_audit_verify_export); a file without the closing line is
 * incomplete. */
ag_status ag_audit_export(ag_audit_db *db, int64_t from_ms, int64_t to_ms, ag_audit_format fmt,
                          ag_audit_write_fn write, void *ctx, ag_error *err);

/* ---- verification and backup ---- */

typedef enum {
  AG_AUDIT_INTACT = 0,
  AG_AUDIT_CONTENT_CHANGED, /* a column was edited; the stored hash is the original */
  AG_AUDIT_HASH_EDITED,     /* the stored hash was altered; the content is intact */
  AG_AUDIT_HASH_MISMATCH,   /* stored hash does not match content, cause unclear */
  AG_AUDIT_LINK_MISMATCH,   /* prev_hash is not the previous record's hash */
  AG_AUDIT_GAP,             /* a sequence number is missing (deleted record) */
  AG_AUDIT_REORDERED,       /* a record's content sits at another sequence number */
  AG_AUDIT_INSERTED,        /* a record acegate did not write */
  AG_AUDIT_TRUNCATED,       /* records at the end are missing */
  AG_AUDIT_ANCHOR_MISMATCH, /* the record at the anchor has another hash */
  AG_AUDIT_INDEX_MISMATCH   /* the chain is intact, but the search index beside the log
                               misses or misfiles a record (filtered searches would not
                               find it): rebuild it */
} ag_audit_problem;

const char *ag_audit_problem_name(ag_audit_problem p); /* e.g. "content_changed" */

/* A (sequence, hash) pair recorded outside the database, e.g. printed by an
 * earlier verify; checking against it also catches a rewritten chain. */
typedef struct {
  int64_t seq;
  char hash[AG_AUDIT_HASH_HEX];
} ag_audit_anchor;

/* Parses "SEQ:HASH". */
bool ag_audit_anchor_parse(const char *s, ag_audit_anchor *out);

typedef struct {
  ag_audit_problem problem;
  int64_t records;                   /* records found intact before the problem */
  int64_t head_seq;                  /* last intact record (0 for an empty log) */
  char head_hash[AG_AUDIT_HASH_HEX]; /* its hash (64 zeros for an empty log) */
  int64_t bad_seq;                   /* first broken or missing record */
  char bad_id[AG_AUDIT_ID_MAX];      /* its audit id, "" when missing */
  char detail[256];                  /* what is wrong, in words */
  bool guards_present;               /* the append-only triggers are in place */
} ag_audit_verify_report;

/* Walks the chain from one snapshot and recomputes every hash. Returns AG_OK
 * when the walk ran; rep->problem tells whether the log is intact and, if
 * not, names the first broken or missing record. anchor may be NULL. */
ag_status ag_audit_verify(ag_audit_db *db, const ag_audit_anchor *anchor,
                          ag_audit_verify_report *rep, ag_error *err);

/* Checks an export (ag_audit_export output, CSV or JSONL, told apart by its
 * first byte) without the log: every record's hash recomputed from its
 * columns, every link to the record before, and the closing line's count
 * and hashes. A file cut short has no closing line (AG_AUDIT_TRUNCATED).
 * rep is filled as by ag_audit_verify (head_seq/head_hash: the last record
 * found intact); AG_ERR_INPUT names a line that is not part of an export. */
ag_status ag_audit_verify_export(const char *data, size_t len, const ag_audit_anchor *anchor,
                                 ag_audit_verify_report *rep, ag_error *err);

/* Copies the whole database to dest_path (which must not exist) with
 * SQLite's online backup API, from one snapshot, while appends go on. The
 * copy is a complete acegate database that passes ag_audit_verify(). */
ag_status ag_audit_backup(ag_audit_db *db, const char *dest_path, ag_error *err);

/* Copies every record of src into dst, which must hold none, as they are
 * (the same seqs, ids, times, columns and hashes: the same chain), a few
 * hundred per transaction of dst, from one snapshot of src; then the API
 * keys with their hashes and revocations. Then verifies dst into rep and
 * checks that it ends at src's head (AG_ERR_DB naming "to" if not). The
 * two may be of either store: `acegate audit migrate` copies a SQLite log
 * into PostgreSQL. */
ag_status ag_audit_copy(ag_audit_db *src, ag_audit_db *dst, ag_audit_verify_report *rep,
                        ag_error *err);

/* ---- the service's start check ---- */

/* The head file beside a file log: "<log>-head", one line "SEQ:HASH", the
 * head of the log as last written by a process that wrote to it (on
 * ag_audit_close() and, while ag_audit_index_start() runs, a few times a
 * second). It outlives the database file, so an emptied, deleted or older
 * log shows. */
#define AG_AUDIT_HEAD_SUFFIX "-head"

typedef struct {
  bool damaged;        /* do not write to this log without an operator's say-so */
  bool new_log;        /* no log and no head file: opening it makes a new log */
  char problems[1024]; /* each problem found, "; " between them */
  int64_t head_seq;    /* the end of the chain, when it could be read */
  char head_hash[AG_AUDIT_HASH_HEX];
} ag_audit_start_report;

/* Checks the log at path before a service opens it to write (without
 * creating or changing anything): SQLite's quick_check, the last 1,000
 * records' chain and the head marker, the append-only triggers, and the
 * head file (the log must still hold the record it names). A missing log
 * is new unless the head file says one existed; an existing empty file is
 * damaged. AG_OK when the check ran; rep says what it found. */
ag_status ag_audit_check_start(const char *path, ag_audit_start_report *rep, ag_error *err);

/* Writes the head file now (if the head moved since it was last written). */
ag_status ag_audit_head_save(ag_audit_db *db, ag_error *err);

/* ---- API keys ---- */

typedef enum {
  AG_KEYS_ROLE_CHECKER = 1, /* may request checks and screenings */
  AG_KEYS_ROLE_AUDITOR = 2, /* may read and export the audit log */
  AG_KEYS_ROLE_ADMIN = 3,   /* may do everything, including key management */
  AG_KEYS_ROLE_REVIEWER = 4 /* may check, screen, read the log and resolve reviews */
} ag_keys_role;

typedef enum {
  AG_KEYS_ACT_CHECK,
  AG_KEYS_ACT_SCREEN,
  AG_KEYS_ACT_AUDIT_READ,
  AG_KEYS_ACT_AUDIT_EXPORT,
  AG_KEYS_ACT_ADMIN,
  AG_KEYS_ACT_REVIEW /* resolve reviews (acegate/review.h) */
} ag_keys_action;

const char *ag_keys_role_name(ag_keys_role r);
bool ag_keys_role_parse(const char *s, ag_keys_role *out);

/* Keys look like "agk_<12 hex id>_<43 base64url chars>" (32 random bytes).
 * Only SHA-256 of the whole key is stored. */
#define AG_KEYS_TOKEN_MAX 80
#define AG_KEYS_ID_MAX 16
#define AG_KEYS_NAME_MAX 64

typedef struct {
  char id[AG_KEYS_ID_MAX];
  ag_keys_role role;
  char name[AG_KEYS_NAME_MAX + 1];
  int64_t created_ms;
  int64_t revoked_ms; /* 0 while the key is active */
} ag_keys_info;

/* Creates a key. token_out receives the key itself: it is not stored and
 * cannot be shown again. name may be NULL. info may be NULL. */
ag_status ag_keys_add(ag_audit_db *db, ag_keys_role role, const char *name,
                      char token_out[AG_KEYS_TOKEN_MAX], ag_keys_info *info, ag_error *err);

/* ag_keys_add() and ag_audit_key_event() in one transaction of db, which
 * holds both the keys and the log: after a crash either the key and its
 * key_added record exist, or neither. audit_id receives the record's id;
 * actor and client as for ag_audit_key_event(). */
ag_status ag_keys_add_recorded(ag_audit_db *db, ag_keys_role role, const char *name,
                               const char *actor, const char *client,
                               char token_out[AG_KEYS_TOKEN_MAX], ag_keys_info *info,
                               char audit_id[AG_AUDIT_ID_MAX], ag_error *err);

/* All keys, oldest first; *out is malloc'd (free() it), NULL when *n is 0. */
ag_status ag_keys_list(ag_audit_db *db, ag_keys_info **out, size_t *n, ag_error *err);

/* Appends {"keys":[{"id","role","name","created","revoked"},...]}
 * (revoked: a time, or null while active). */
void ag_keys_list_json(const ag_keys_info *keys, size_t n, ag_buf *out);

/* Revokes a key by id; revoking a revoked key is a no-op. AG_ERR_NOTFOUND
 * if there is no such key. *revoked_now (may be NULL) tells which: only a
 * revocation that happened is an event to record. */
ag_status ag_keys_revoke(ag_audit_db *db, const char *id, bool *revoked_now, ag_error *err);
/* Records a key change in the audit log db (which may be another database
 * than the keys'): kind "key", outcome "key_added" or "key_revoked",
 * request {"action":"add"|"revoke","id":...,"role":...,"name":...} and
 * decision {"key_id":...,"role":...,"name":...,"revoked":bool}; never the
 * key itself. role and name may be NULL (a revocation by id). actor is the
 * key id of the admin who made the change ("" on the command line), client
 * the peer address. */
ag_status ag_audit_key_event(ag_audit_db *db, bool revoked, const char *key_id, const char *role,
                             const char *name, const char *actor, const char *client,
                             char id_out[AG_AUDIT_ID_MAX], ag_error *err);

/* Checks a bearer token (the key, optionally preceded by "Bearer "). On
 * success fills *info; otherwise AG_ERR_AUTH without revealing which part
 * was wrong (except that a valid key was revoked). The secret comparison is
 * constant-time. */
ag_status ag_keys_authenticate(ag_audit_db *db, const char *bearer_token, ag_keys_info *info,
                               ag_error *err);

/* Whether role may do act; ag_keys_require() says so as AG_ERR_FORBIDDEN. */
bool ag_keys_allows(ag_keys_role role, ag_keys_action act);
ag_status ag_keys_require(const ag_keys_info *key, ag_keys_action act, ag_error *err);

#endif
