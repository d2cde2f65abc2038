/*
 * acegate/pipeline.h - one request pipeline for every front end: the
 * command line (`acegate check`, `acegate screen`), the HTTP handlers and
 * the web pages call these and only format what they return.
 *
 * One entry point per contract:
 *   ag_pipeline_check        one transaction (JSON) -> decision (JSON)
 *   ag_pipeline_screening    one screening request (JSON) -> result (JSON)
 *   ag_pipeline_classification  questionnaire answers (JSON) -> result (JSON)
 *   ag_pipeline_batch        a JSONL stream of either, in order, each answer
 *                            recorded in the audit log before it is written
 * Each owns decoding (acegate/json.h, strict, errors naming the field),
 * screening and deciding (acegate/check.h, acegate/screen.h), encoding
 * (every answer carries rules_version, lists_version and the caller's
 * `ref`), the error shape, and the audit record with its search columns
 * (ag_pipeline_record). A rejected batch line is
 * {"line": N, "error": {"code", "message", "field"}} for every contract.
 *
 * 15 CFR 762.2: a front end answers only once the record is durable; a
 * batch written by ag_pipeline_batch with a database writes each line only
 * after its record is committed.
 *
 * Threads and ownership: an ag_pipeline_data is read-only and may be shared
 * by any number of threads; its tables and lists belong to the caller and
 * must outlive every use. An ag_pipeline_worker is per-thread scratch,
 * freed with ag_pipeline_worker_free; what it returns (the last decision,
 * the last screening result) is valid until its next use.
 */
#ifndef ACEGATE_PIPELINE_H
#define ACEGATE_PIPELINE_H

#include "acegate/audit.h"
#include "acegate/check.h"
#include "acegate/classify.h"
#include "acegate/json.h"
#include "acegate/rules.h"
#include "acegate/screen.h"

#include <stdio.h>

/* The data requests are decided with. */
typedef struct {
  const ag_rules *rules;
  const ag_screen *lists;    /* NULL: parties unscreened, screenings refused */
  const char *lists_version; /* ag_pipeline_lists_version(lists); NULL or "" without lists */
  const ag_policy *policy;   /* the company's due-diligence policy, or NULL */
  /* An answer made with a list older than this many days carries a
   * "lists_stale" warning per such list; 0: AG_PIPELINE_MAX_LIST_AGE,
   * negative: never. */
  int max_list_age_days;
  const ag_classify *classify; /* the questionnaire; NULL: classifications refused */
  /* the log a check's item.classification_id is looked up in (read only);
   * NULL: such checks are refused */
  ag_audit_db *audit;
  /* the reviewers' remembered decisions (acegate/remember.h), applied to
   * checks and screenings; NULL: none. Shared; it locks itself. */
  struct ag_remember *remembered;
  /* What follows each recorded answer (ag_pipeline_recorded): the party
   * registry the parties of checks made with a ref join
   * (acegate/parties.h), and the webhook every new review-queue item is
   * posted to (acegate/webhook.h). NULL: none. Shared; both lock
   * themselves. */
  struct ag_parties *parties;
  struct ag_webhook *webhook;
} ag_pipeline_data;

#define AG_PIPELINE_LISTS_VERSION_MAX 96

/* The lists version: the newest source date and a hash of the source
 * files' SHA-256s, e.g. "2026-07-31+1a2b3c4d5e6f": the same files give the
 * same version wherever the index was built. */
void ag_pipeline_lists_version(const ag_screen *lists, char *out, size_t cap);

typedef struct ag_pipeline_worker ag_pipeline_worker;
/* mode: AG_SCREEN_MODE_INDEX, or the brute-force baseline for screenings. */
ag_pipeline_worker *ag_pipeline_worker_new(ag_screen_mode mode);
void ag_pipeline_worker_free(ag_pipeline_worker *w);

/* What one contract call produced. */
typedef struct {
  ag_audit_kind kind; /* AG_AUDIT_CHECK, _SCREENING or _CLASSIFICATION */
  ag_status st;
  ag_error err;       /* when st != AG_OK */
  size_t off, len;    /* the answer's bytes in the caller's buffer */
  /* the record's search columns */
  char as_of[11];
  char destination[8];
  char eccn[32];
  const char *outcome; /* static: "NLR" ... or "NO_MATCH" ... */
  int outcome_index;   /* ag_outcome, or ag_screen_level for a screening */
  char ref[AG_JSON_REF_BYTES + 1]; /* "" when not given */
  /* a check's first screened party (the end user, else the consignee ...)
   * and the country it was screened with: what the registry notes; ""
   * when no party was screened */
  char party_name[AG_SCREEN_NAME_MAX + 1];
  char party_country[8];
} ag_pipeline_result;

/* Decodes one transaction, screens its parties, decides, and appends the
 * decision to out. Returns res->st. */
ag_status ag_pipeline_check(const ag_pipeline_data *d, ag_pipeline_worker *w, const char *json,
                            size_t len, ag_buf *out, ag_pipeline_result *res);
/* Decodes one screening request, screens, and appends the result. */
ag_status ag_pipeline_screening(const ag_pipeline_data *d, ag_pipeline_worker *w,
                                const char *json, size_t len, ag_buf *out,
                                ag_pipeline_result *res);
/* Decodes {"answers": {ID: true|false|"unknown"}, "as_of"?, "ref"?}, runs
 * the classification questionnaire (acegate/classify.h) and appends its
 * result with rules_version and ref. Search columns: as_of, eccn (the
 * first candidate paragraph), outcome (the status: "classified" ...). */
ag_status ag_pipeline_classification(const ag_pipeline_data *d, ag_pipeline_worker *w,
                                     const char *json, size_t len, ag_buf *out,
                                     ag_pipeline_result *res);
/* The last classification made by w (for text output), valid until the
 * worker's next use. */
const ag_classify_result *ag_pipeline_last_classification(const ag_pipeline_worker *w);

/* The last decision / screening made by w (for text output). */
const ag_decision *ag_pipeline_last_decision(const ag_pipeline_worker *w);
const ag_screen_result *ag_pipeline_last_screening(const ag_pipeline_worker *w,
                                                   const ag_screening **request);

/* The audit record of a successful result: request is the input exactly as
 * given, answer the bytes the result appended. key_id and client are ""
 * on the command line. Pointers are borrowed. */
void ag_pipeline_record(const ag_pipeline_data *d, const ag_pipeline_result *res,
                        const char *request, size_t request_len, const char *answer,
                        const char *key_id, const char *client, ag_audit_record *rec);

/* What follows a result once its record is durable under audit_id
 * (answer: the bytes the result appended): a check made with a ref adds
 * its party to d->parties, and a record that is a new item of the review
 * queue (ag_review_queued: a REVIEW outcome, a possible match) is posted
 * to d->webhook as the answer with its audit id spliced in. Every front
 * end calls it for every recorded check and screening, single or batch
 * (ag_pipeline_batch does it itself). The record stands whatever happens
 * here: the registry's error is returned for the caller to report. */
ag_status ag_pipeline_recorded(const ag_pipeline_data *d, const ag_pipeline_result *res,
                               const char *audit_id, const char *answer, ag_error *err);

/* Appends {"audit_id":ID, followed by the answer object without its "{". */
void ag_pipeline_splice_audit_id(ag_buf *b, const char *id, const char *obj, size_t len);

/* ---- batches: JSONL in, JSONL out ---- */

/* The one batch line reader: lines up to AG_JSON_MAX_REQUEST bytes (a
 * longer one is read through and flagged, so memory stays bounded), "\r\n"
 * accepted, blank lines skipped but counted. */
typedef struct {
  char *text;
  size_t len, cap;
  long number; /* 1-based line number in the input */
  bool too_long;
} ag_pipeline_line;
/* Reads the next non-blank line; false at the end of the input. */
bool ag_pipeline_read_line(FILE *in, long *lineno, ag_pipeline_line *line);
void ag_pipeline_line_free(ag_pipeline_line *line);

/* ---- batches as CSV: the spreadsheets people have ---- */

typedef enum { AG_PIPELINE_JSONL = 0, AG_PIPELINE_CSV } ag_pipeline_format;

/* Which CSV column gives which request field: "name=Company,country=Ctry,
 * ref=CustomerID" (field = a request field, dotted for nested ones such as
 * end_user.name; column = a header cell). A column whose header is a
 * field's own name needs no mapping; other columns are not read. */
#define AG_PIPELINE_CSV_COLUMNS_MAX 32
typedef struct {
  size_t n;
  const char *field[AG_PIPELINE_CSV_COLUMNS_MAX];
  const char *column[AG_PIPELINE_CSV_COLUMNS_MAX];
  char *copy; /* owns the strings */
} ag_pipeline_csv_columns;
/* Parses a mapping (field "columns" in errors); free with _free. */
ag_status ag_pipeline_csv_columns_parse(const char *spec, ag_pipeline_csv_columns *out,
                                        ag_error *err);
void ag_pipeline_csv_columns_free(ag_pipeline_csv_columns *c);

/* Reads the rows of a CSV of parties (a header row; columns name, country,
 * address, ref, or mapped to them by cols) and calls row for each with the
 * row as a JSON object {"name","country","address","ref"} (empty cells
 * left out) and the row's first line number, or with err for a row that is
 * not valid CSV or UTF-8. Returns the header's error (field "columns" or
 * "input"), AG_ERR_IO, or AG_OK. */
ag_status ag_pipeline_csv_rows(FILE *in, const ag_pipeline_csv_columns *cols,
                               void (*row)(void *ctx, long line, const char *json, size_t len,
                                           const ag_error *err),
                               void *ctx, ag_error *err);

/* Appends one CSV cell: quoted when it holds a comma, quote, CR or LF; a
 * cell that a spreadsheet would run as a formula (beginning with =, +, -,
 * @, TAB or CR: OWASP, CSV injection) gets a leading ' and is quoted. */
void ag_pipeline_csv_cell(ag_buf *out, const char *s, size_t n);

/* How far a batch has got, after each chunk. */
typedef struct {
  uint64_t lines;                 /* answered so far */
  uint64_t bytes_read, bytes_all; /* of the input; bytes_all 0 when unknown (a pipe) */
} ag_pipeline_progress;

typedef struct {
  ag_audit_kind kind; /* AG_AUDIT_CHECK or AG_AUDIT_SCREENING */
  ag_audit_db *db;    /* NULL: nothing recorded, answers carry no audit_id */
  int threads;        /* workers; 0: one per online CPU (at most 16) */
  ag_screen_mode mode;
  /* AG_PIPELINE_CSV: a header row, then one request per row (built as the
   * JSON contract's request from the mapped columns, and recorded as
   * such); one answer row per request row, in order, under a header. */
  ag_pipeline_format format;
  const ag_pipeline_csv_columns *columns; /* NULL: headers are field names */
  void (*progress)(void *ctx, const ag_pipeline_progress *p); /* NULL: none */
  void *progress_ctx;
} ag_pipeline_batch_options;

/* Outcomes a batch counts: the decision outcomes (ag_outcome), and the
 * screening levels (ag_screen_level), which are fewer. */
#define AG_PIPELINE_OUTCOMES AG_OUTCOME_COUNT
_Static_assert((int)AG_SCREEN_LEVEL_CONFIDENT < (int)AG_PIPELINE_OUTCOMES,
               "a screening level is counted in ag_pipeline_batch_stats.outcomes");

typedef struct {
  uint64_t lines, decided, rejected;
  /* recorded checks whose party could not be added to d->parties (the
   * answers and records stand; the first error is in unnoted_err) */
  uint64_t unnoted;
  ag_error unnoted_err;
  uint64_t outcomes[AG_PIPELINE_OUTCOMES]; /* decided answers by outcome_index */
} ag_pipeline_batch_stats;

/* Answers every line of in on out, in order, in chunks (constant memory).
 * A line that cannot be decided becomes an error line and the rest go on.
 * Returns AG_OK when the whole input was answered (rejected lines are
 * counted in stats), AG_ERR_IO when reading or writing failed, or the audit
 * log's error (nothing of that chunk is written: no unrecorded answer). */
ag_status ag_pipeline_batch(const ag_pipeline_data *d, const ag_pipeline_batch_options *o,
                            FILE *in, FILE *out, ag_pipeline_batch_stats *stats, ag_error *err);

/* ---- the lists in force: updates, reloads, age ---- */

#define AG_PIPELINE_MAX_SHRINK 0.10 /* default: an update may shrink a source by 10 % */
#define AG_PIPELINE_MAX_LIST_AGE 7  /* default: days before a list is stale */

/* One source list (by list code) before and after a change. */
typedef struct {
  char code[16];
  char name[64];
  bool before_present, after_present;
  uint32_t before, after;            /* entries */
  uint32_t added, removed, changed;  /* by source id; changed: another digest */
  char date_before[11], date_after[11]; /* "" when absent or undated */
} ag_pipeline_list_change;

typedef struct {
  ag_pipeline_list_change *lists; /* malloc'd, by code; ag_pipeline_lists_report_free */
  size_t n;
  const char *result;  /* "updated", "refused", "invalid" */
  char reason[2048];   /* why refused or invalid, with the numbers; "" when updated */
  char index_before[AG_AUDIT_HASH_HEX], index_after[AG_AUDIT_HASH_HEX];
  char written[4200];  /* the index file written, when updated */
  char audit_id[AG_AUDIT_ID_MAX];
} ag_pipeline_lists_report;
void ag_pipeline_lists_report_free(ag_pipeline_lists_report *r);

typedef struct {
  const char *data_dir;       /* NULL: the default data directory */
  const char *const *paths;   /* list files or directories */
  size_t n;
  bool force;                 /* install even when the guard refuses */
  double max_shrink;          /* fraction a source may shrink, e.g. AG_PIPELINE_MAX_SHRINK */
  ag_audit_db *db;            /* where the record goes (required) */
  const char *actor;          /* who: "user:NAME" on the command line, an API key id */
  const char *client;         /* peer address, "" on the command line */
} ag_pipeline_lists_update_options;

/* Loads and validates the files, compares them with the lists in force
 * (entries added, removed and changed per source) and, unless the update
 * drops a source list or shrinks one by more than max_shrink (and force is
 * not set), installs them. Every outcome is one audit record of kind
 * "lists" (outcome lists_updated, lists_update_refused or
 * lists_update_invalid) written before the new index replaces the old, so
 * no change goes unrecorded. Returns AG_OK when installed; AG_ERR_LIST
 * (field "lists", the numbers in the reason) when refused; the loader's
 * error when a file is invalid; the audit log's error (nothing installed). */
ag_status ag_pipeline_lists_update(const ag_pipeline_lists_update_options *o,
                                   ag_pipeline_lists_report *rep, ag_error *err);

/* Records a reload of the lists (the service's reload or SIGHUP): before
 * and after (NULL when the reload failed, with why), files and SHA-256,
 * entries per source, and the changes. Outcome lists_reloaded or
 * lists_reload_failed. */
ag_status ag_pipeline_lists_reload_record(ag_audit_db *db, const ag_screen *before,
                                          const ag_screen *after, const char *why_failed,
                                          const char *actor, const char *client,
                                          char id_out[AG_AUDIT_ID_MAX], ag_error *err);

/* Removes the data directory's index (ag_screen_reset) so the built-in
 * lists are in force again, recorded first (outcome lists_reset). */
ag_status ag_pipeline_lists_reset(const char *data_dir, ag_audit_db *db, const char *actor,
                                  char id_out[AG_AUDIT_ID_MAX], ag_error *err);

/* A list older than the maximum age on a day. */
typedef struct {
  const char *code, *name, *date; /* belong to the lists; date "" when undated */
  int age_days;                   /* -1 when undated */
} ag_pipeline_stale_list;
/* Fills out with up to cap lists of `lists` older than max_age_days
 * (0: AG_PIPELINE_MAX_LIST_AGE; negative: none) on `today`; returns how
 * many are stale. An undated list is stale. */
size_t ag_pipeline_stale_lists(const ag_screen *lists, int max_age_days, ag_date today,
                               ag_pipeline_stale_list *out, size_t cap);
/* Appends the stale lists as JSON objects, comma-separated:
 * {"code":"lists_stale","list":"EL","date":"2026-07-31","age_days":129}. */
void ag_pipeline_stale_json(const ag_pipeline_stale_list *s, size_t n, ag_buf *out);

/* ---- searching the log by party ---- */

/* A party filter for ag_audit_search: matches check and screening records
 * naming a party whose name normalises (as screening normalises) to the
 * same words as name. Free with ag_pipeline_party_filter_free. */
typedef struct ag_pipeline_party_filter ag_pipeline_party_filter;
ag_status ag_pipeline_party_filter_new(const char *name, ag_pipeline_party_filter **out,
                                       ag_error *err);
/* Sets q->match and q->match_ctx. */
void ag_pipeline_party_filter_apply(ag_pipeline_party_filter *f, ag_audit_query *q);
void ag_pipeline_party_filter_free(ag_pipeline_party_filter *f);

#endif
