/*
 * server_int.h - what the files of the HTTP service share: the server
 * object, the data snapshot in force, one request's state, the routes, the
 * audit writer queue, key authentication and rate limiting, and metrics.
 *
 * A request goes through the same steps whether it arrives over HTTP
 * (http.c) or through ag_server_handle() (server.c):
 *   srv_begin     route, authenticate, rate-limit, check headers
 *   srv_body      accumulate the body up to the route's limit
 *   srv_dispatch  run the handler; it either answers, or returns SRV_AUDIT
 *                 with audit records to write first
 *   (the records are appended: the writer thread over HTTP, inline otherwise)
 *   srv_finish    build the answer from the audit ids (or a 503 if the
 *                 records could not be written: no unrecorded decision is
 *                 ever returned, 15 CFR 762.2)
 *
 * Invariants:
 *  - s->snap is only read or replaced under s->snap_mu; a request holds a
 *    reference to the snapshot it was decided with until it is freed, so
 *    the tables and list strings its records point to stay alive.
 *  - A request on the writer queue belongs to the writer until the writer
 *    hands it back through its audit_done callback; nothing else touches it
 *    meanwhile.
 */
#ifndef ACEGATE_SERVER_INT_H
#define ACEGATE_SERVER_INT_H

#include "acegate/audit.h"
#include "acegate/check.h"
#include "acegate/json.h"
#include "acegate/pipeline.h"
#include "acegate/rules.h"
#include "acegate/screen.h"
#include "acegate/server.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>

struct MHD_Daemon;
struct MHD_Connection;

/* ---- the data in force ---- */

typedef struct {
  atomic_int refs;
  ag_rules *rules;
  ag_screen *lists; /* NULL when started without lists */
  ag_policy *policy; /* NULL without --policy */
  ag_classify *classify; /* the questionnaire of these tables */
  char rules_source[256];
  char lists_version[AG_PIPELINE_LISTS_VERSION_MAX];
  ag_pipeline_data data; /* what the pipeline decides with: the fields above */
} srv_snapshot;

/* Loads tables and lists as configured; *out has one reference. */
ag_status srv_snapshot_load(const ag_server_config *cfg, srv_snapshot **out, ag_error *err);
srv_snapshot *srv_snapshot_get(ag_server *s);
void srv_snapshot_put(srv_snapshot *snap);

/* ---- routes ---- */

typedef enum {
  R_UNMATCHED,
  R_HEALTHZ,
  R_READYZ,
  R_METRICS,
  R_CHECKS,
  R_CHECKS_BATCH,
  R_SCREENINGS_BATCH,
  R_CHECK_GET,
  R_SCREENINGS,
  R_SCREENING_GET,
  R_AUDIT,
  R_AUDIT_EXPORT,
  R_RULES,
  R_LISTS,
  R_KEYS_LIST,
  R_KEYS_ADD,
  R_KEYS_REVOKE,
  R_RELOAD,
  R_REVIEW_ADD,
  R_REVIEW_QUEUE,
  R_REVIEW_GET,
  R_CLASSIFICATIONS,
  R_CLASSIFICATION_GET,
  R_WHOAMI,
  R_WEB_INDEX,
  R_WEB_ASSET,
  R_REVIEW_REMEMBERED,
  R_PARTIES,
  R_PARTIES_IMPORT,
  R_PARTY_GET,
  R_LISTS_UPDATE,
  R_COUNT
} srv_route;

/* The route's path pattern, as metrics and the access log name it. */
const char *srv_route_name(srv_route r);
/* The HTTP method of a route ("any" for unmatched): with the name, a
 * route's unique label (GET and POST /v1/keys share a path). */
const char *srv_route_method(srv_route r);

/* ---- one request ---- */

typedef enum { SRV_DONE, SRV_AUDIT } srv_next;

typedef struct {
  const char *key, *value;
} srv_kv;

#define SRV_ARGS_MAX 24
/* at shutdown, how long queued webhook deliveries may still take */
#define SRV_WEBHOOK_DRAIN_S 5.0

/* One transaction of a check or batch, or one screening: what the
 * pipeline made of it (res.off/len: the answer in srv_req.dec). */
typedef struct {
  ag_pipeline_result res;
  size_t req_off, req_len;       /* in srv_req.reqtext */
  size_t packed_off, packed_len; /* in srv_req.packed; 0: not packed */
  size_t rec;                    /* its index in recs[] when res.st == AG_OK */
} srv_item;

typedef struct srv_req srv_req;
struct srv_req {
  ag_server *srv;
  /* input */
  char method[16];
  char *path;
  srv_route route;
  const char *param; /* the {id} of the path, inside path */
  srv_kv args[SRV_ARGS_MAX];
  size_t nargs;
  bool args_overflow;
  bool args_nul; /* a query parameter holds %00 */
  char *argbuf; /* owned copies of args (ag_server_handle only) */
  char *authorization, *content_type;
  bool have_length;
  const char *bad_framing; /* why the body's framing is refused, or NULL */
  bool close;              /* answer with Connection: close */
  char bad_header[160];    /* why a header is refused, or "" */
  bool path_nul;           /* the path held %00 */
  bool chunked;            /* the body comes with Transfer-Encoding */
  bool answer_ready;       /* answered from the headers; the body is dropped */
  uint64_t content_length;
  char client[64];
  ag_buf body;
  size_t body_limit;
  uint64_t body_seen;
  bool body_too_large;
  int64_t start_ns;
  /* who */
  ag_keys_info key;
  bool authed;
  /* response */
  unsigned status;
  ag_buf out;
  const char *content_type_out;
  const char *allow;
  bool web_page; /* a page of the workbench: its own Content-Security-Policy */
  unsigned retry_after;
  struct srv_export *export; /* streamed body (export), NULL when none */
  /* audit */
  srv_snapshot *snap;
  srv_item one; /* inline storage for a single item */
  srv_item *items;
  size_t nitems;
  ag_audit_record one_rec;
  ag_audit_record *recs;
  size_t nrecs;
  char one_id[AG_AUDIT_ID_MAX];
  char (*ids)[AG_AUDIT_ID_MAX];
  ag_status audit_st;
  ag_error audit_err;
  int64_t audit_queued_ns;
  /* called by the audit writer once the records are durable or failed
   * (audit_st says which); the request is then the caller's again. After
   * a round of these calls the caller calls srv_handed_back(). */
  void (*audit_done)(srv_req *r);
  void (*finish)(srv_req *r);
  ag_buf dec, reqtext;
  ag_buf packed; /* the decisions as the log stores them (checks.c) */
  /* HTTP glue */
  struct MHD_Connection *conn;
  struct srv_loop *loop; /* the HTTP thread serving conn */
  int state;
  srv_req *next; /* writer queue */
};

/* Re-screens the registry after the lists changed from before to after
 * (the reload recorded as cause_id); logs what it found. */
void srv_parties_rescreen(ag_server *s, const srv_snapshot *before,
                          const srv_snapshot *after, const char *cause_id,
                          const char *actor, const char *client);

void srv_req_init(srv_req *r, ag_server *s);
void srv_req_free(srv_req *r);
/* Copies the target's query string into owned storage (ag_server_handle). */
void srv_req_parse_query(srv_req *r, const char *query);
const char *srv_arg(const srv_req *r, const char *key);

/* Returns true to go on reading the body, false when the answer is set. */
bool srv_begin(srv_req *r);
/* Returns false when the client sends far more than the limit (drop it). */
/* The body parsed as JSON (duplicate keys refused), or NULL after a 400
 * that gives line, column and the reason in plain words. */
json_t *srv_load_json(srv_req *r);
bool srv_body(srv_req *r, const char *data, size_t n);
srv_next srv_dispatch(srv_req *r);
void srv_finish(srv_req *r);

/* Answers with an error object {"error":{"code","message","field"}}. */
void srv_error(srv_req *r, unsigned status, const char *code, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* Answers with err, its HTTP status chosen from err->status. */
void srv_fail(srv_req *r, const ag_error *err);
unsigned srv_http_status(const ag_error *err);


/* The workbench's policy: its own scripts, styles and API only; no inline
 * script or style, no plug-ins, no framing, forms post nowhere else. */
#define SRV_WEB_CSP                                                                           \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                 \
  "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/* A list file sent to /v1/lists:update may be this large, or --max-body
 * when that is larger: the full consolidated list is tens of MB. */
#define SRV_LISTS_UPDATE_MAX_BODY ((size_t)128 << 20)
/* "csv" for text/csv, "json" for application/json, else NULL. */
const char *srv_lists_upload_ext(const char *content_type);

/* HTTP threads at most, whatever the core count. */
#define SRV_HTTP_THREADS_MAX 64

/* ---- the audit writer (group commit) ---- */

typedef struct {
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cv;    /* requests queued for the writer */
  srv_req *head, *tail; /* waiting to be written */
  bool stop;
  ag_audit_record *recs;
  char (*ids)[AG_AUDIT_ID_MAX];
  size_t cap;
} srv_writer;

ag_status srv_writer_start(ag_server *s, ag_error *err);
/* Queues r; false if the writer has stopped (the caller answers 503). */
bool srv_writer_submit(ag_server *s, srv_req *r);
/* Writes what is queued, then ends the thread. */
void srv_writer_stop(ag_server *s);
/* Appends r's records now, on the calling thread. */
void srv_audit_sync(ag_server *s, srv_req *r);
/* To call after a round of audit_done calls (s->handed_back). */
void srv_handed_back(ag_server *s);

/* ---- keys and rate limits ---- */

typedef struct srv_auth_entry srv_auth_entry;
typedef struct srv_bucket srv_bucket;

ag_status srv_auth(ag_server *s, const char *authorization, ag_keys_info *out, ag_error *err);
void srv_auth_clear(ag_server *s);
/* Takes one token from the key's bucket; false with *retry_after seconds. */
bool srv_rate_take(ag_server *s, const char *key_id, unsigned *retry_after);
void srv_auth_init(ag_server *s);
void srv_auth_free(ag_server *s);

/* ---- metrics ---- */

#define SRV_HIST_BUCKETS 15
typedef struct {
  atomic_uint_fast64_t count, sum_ns;
  atomic_uint_fast64_t b[SRV_HIST_BUCKETS + 1];
} srv_hist;

/* Status codes counted separately; the rest are "other". */
enum {
  S_200,
  S_201,
  S_400,
  S_401,
  S_403,
  S_404,
  S_405,
  S_409,
  S_413,
  S_415,
  S_429,
  S_500,
  S_503,
  S_OTHER,
  S_ABORTED,
  S_COUNT
};

typedef struct {
  atomic_uint_fast64_t requests[R_COUNT][S_COUNT];
  srv_hist latency[R_COUNT][S_COUNT];
  atomic_uint_fast64_t decisions[AG_OUTCOME_COUNT]; /* by ag_outcome */
  atomic_uint_fast64_t screenings[3]; /* by ag_screen_level */
  srv_hist audit_write;               /* queued -> durable, per request */
  atomic_uint_fast64_t audit_failures;
  atomic_uint_fast64_t reloads_ok, reloads_failed;
  atomic_uint_fast64_t rate_limited, auth_failures;
  atomic_int_fast64_t inflight;
} srv_metrics;

void srv_hist_observe(srv_hist *h, int64_t ns);
void srv_metrics_request(srv_metrics *m, srv_route route, unsigned status, int64_t ns);
void srv_metrics_render(ag_server *s, ag_buf *out);

/* ---- the open review queue read at start, on a thread of its own (warm.c) ---- */

typedef enum {
  SRV_WARM_OFF,     /* not started (no ag_server_listen): the first request reads */
  SRV_WARM_READING, /* open-queue requests wait for it (the others of the
                       reviews while it reads the reviews themselves) */
  SRV_WARM_WARM,    /* read: requests are served from the list */
  SRV_WARM_FAILED,  /* logged; the next request reads on from where it ended */
  SRV_WARM_STOPPED  /* stopped by the shutdown */
} srv_warm_state;

typedef struct {
  pthread_t thread;
  bool started;
  pthread_mutex_t mu; /* guards parked, and the state's moves from READING */
  srv_req *parked;    /* open-queue requests suspended until the read ends */
  atomic_int state;   /* srv_warm_state */
  atomic_bool stop;
  atomic_bool reviews_read; /* the reviews are kept: the read's first part is done */
  atomic_int_fast64_t started_ns, took_ns; /* took_ns: 0 while reading */
  atomic_int_fast64_t head, read;          /* the log's head; records read so far */
} srv_warm;

/* ---- the server ---- */

struct ag_server {
  ag_server_config cfg;
  char *listen, *db_path, *keys_db_path, *rules_dir, *lists_dir, *policy_path;
  struct sockaddr_storage listen_addr; /* listen, resolved once by ag_server_create */
  bool listen_v6;
  char **list_paths;
  size_t max_body;
  unsigned timeout_s;
  int64_t auth_ttl_ms;

  pthread_mutex_t snap_mu;
  srv_snapshot *snap;

  ag_audit_db *db;
  ag_audit_db *keys_db; /* == db unless a separate keys database is given */
  struct ag_remember *remembered; /* the reviewers' remembered decisions, from db */
  struct ag_parties *parties;     /* the party registry beside db; it locks itself */
  struct ag_webhook *webhook;     /* delivers new queue items; NULL = none */

  /* per-request scratch, reused: screening results and arena */
  pthread_mutex_t pool_mu;
  struct srv_worker *pool;

  pthread_mutex_t auth_mu;
  struct evp_md_st *sha256; /* fetched once: an implicit fetch per request costs locks */
  srv_auth_entry *auth_cache;
  srv_bucket *buckets;
  size_t nbuckets, bucket_cap;

  srv_writer writer;
  struct srv_batches *batches; /* batches' own workers (batches.c) */
  srv_warm warm;               /* the open review queue read at start (warm.c) */
  srv_metrics metrics;

  struct MHD_Daemon *daemons[SRV_HTTP_THREADS_MAX]; /* one thread each (http.c) */
  struct srv_loop *loops;                           /* their event loops, ndaemons */
  /* wakes what the audit_done calls since the last call handed back
   * (http.c); NULL when nothing needs waking */
  void (*handed_back)(ag_server *s);
  size_t ndaemons;
  uint16_t port;
  /* access log lines gathered for one write (http.c), under alog_mu */
  pthread_mutex_t alog_mu;
  size_t alog_len;
  char alog[16384];

  atomic_bool draining;
  atomic_bool audit_ok;
  pthread_mutex_t drain_mu;
  pthread_cond_t drain_cv;
  int64_t active; /* requests begun and not yet completed, under drain_mu */
  int exports;    /* export threads running, under drain_mu */
};

typedef struct srv_worker {
  ag_pipeline_worker *pl;
  ag_audit_packer *packer; /* NULL: decisions are packed by the writer */
  struct srv_worker *next;
} srv_worker;

srv_worker *srv_worker_get(ag_server *s);
void srv_worker_put(ag_server *s, srv_worker *w);

/* Batches decided on workers of their own (batches.c). submit queues a
 * request whose connection is suspended; false when it was answered
 * instead (429: the key has AG_SERVER_BATCH_PER_KEY pending). */
typedef struct srv_batches srv_batches;
ag_status srv_batches_start(ag_server *s, ag_error *err);
void srv_batches_stop(ag_server *s);
bool srv_batch_submit(ag_server *s, srv_req *r);
/* Resumes a suspended request whose answer is ready (no audit record). */
void srv_http_resume_ready(ag_server *s, srv_req *r);

/* The open review queue's read (warm.c). */
void srv_warm_init(ag_server *s);
void srv_warm_free(ag_server *s);
/* Starts the read (before the HTTP threads, so no request reads itself). */
void srv_warm_start(ag_server *s);
/* Stops it before its next step and waits for its thread. */
void srv_warm_stop(ag_server *s);
bool srv_warm_reading(ag_server *s);
/* Whether r asks for the open queue (what the read is for). */
bool srv_warm_wanted(const srv_req *r);
/* Parks a suspended request until the read ends (it is then handed to
 * srv_http_resume_dispatch, or answered); false when it is not reading. */
bool srv_warm_park(ag_server *s, srv_req *r);
/* Hands a suspended request back to its HTTP thread to be handled. */
void srv_http_resume_dispatch(ag_server *s, srv_req *r);

/* Export of the audit log on a thread writing into a pipe (HTTP only);
 * the response reads it. NULL when it cannot start. */
struct srv_export *srv_export_start(ag_server *s, int64_t from, int64_t to, ag_audit_format fmt);

/* Logging: one JSON line, written with a single write(2). */
void srv_log_event(ag_server *s, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t srv_now_ns(void);

/* HTTP daemon (http.c). */
/* Parses and resolves HOST:PORT (field "listen" on failure). */
ag_status srv_http_resolve(const char *listen, struct sockaddr_storage *ss, bool *v6,
                          ag_error *err);
ag_status srv_http_start(ag_server *s, ag_error *err);
void srv_http_quiesce(ag_server *s);
void srv_http_stop(ag_server *s);

#endif
