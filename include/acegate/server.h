/*
 * acegate/server.h - the HTTP API service (`acegate serve`): the JSON API of
 * docs/api.md over libmicrohttpd, on the same codec, engine, screening and
 * audit log as the command line, in-process.
 *
 * 15 CFR 762.2: every determination the service returns is first written to
 * the audit log (group-committed, durable) and carries its audit id; a
 * response is never sent for a decision that was not recorded.
 *
 * Life cycle: ag_server_create() loads the regulation tables and screening
 * lists and opens the audit database; ag_server_listen() starts the HTTP
 * daemon and the audit writer, and reads the open review queue from the
 * log in the background (docs/review.md); ag_server_reload() swaps in freshly loaded
 * tables and lists (the old ones stay in force if loading fails);
 * ag_server_shutdown() stops accepting connections, lets in-flight requests
 * finish and closes the database; ag_server_free() releases everything.
 * ag_server_handle() runs one request without the network (tests, fuzzing).
 *
 * Threads: the daemon serves from its own threads. ag_server_reload() and
 * ag_server_handle() may be called from any thread while it runs;
 * ag_server_shutdown() and ag_server_free() from one thread, once.
 *
 * Ownership: the configuration is copied by ag_server_create(); the server
 * owns everything it loads and opens.
 */
#ifndef ACEGATE_SERVER_H
#define ACEGATE_SERVER_H

#include "acegate/audit.h"
#include "acegate/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Documented limits and defaults (docs/api.md). */
#define AG_SERVER_DEFAULT_LISTEN "127.0.0.1:8080"
#define AG_SERVER_BATCH_MAX 1000                 /* transactions in one batch */
#define AG_SERVER_DEFAULT_MAX_BODY (1024 * 1024) /* bytes in one request body */
#define AG_SERVER_DEFAULT_TIMEOUT 30             /* seconds */
#define AG_SERVER_DEFAULT_AUTH_TTL 10            /* seconds a checked key is cached */
#define AG_SERVER_DEFAULT_DRAIN 30               /* seconds SIGTERM waits for requests */
#define AG_SERVER_DEFAULT_MAX_CONNECTIONS 1024
#define AG_SERVER_BATCH_PER_KEY 2 /* batches one API key may have queued or running */

typedef struct ag_server ag_server;

typedef struct {
  const char *listen;            /* "HOST:PORT", "[V6]:PORT"; NULL = 127.0.0.1:8080; port 0 =
                                    any free port (see ag_server_port) */
  const char *db_path;           /* audit log; NULL = ag_audit_default_path();
                                    ":memory:" = not durable */
  const char *keys_db_path;      /* where API keys are looked up; NULL = db_path */
  const char *rules_dir;         /* NULL = the tables built into the binary */
  const char *policy_path;       /* due-diligence policy file (acegate/diligence.h); NULL none */
  const char *lists_dir;         /* data directory of the lists; NULL = the default one */
  const char *const *list_paths; /* list files or directories in their published formats,
                                    loaded instead of the data directory's index */
  size_t n_list_paths;
  bool no_lists;            /* start without screening lists (names are not screened) */
  bool accept_damaged_log;  /* start even when ag_audit_check_start() finds the log damaged
                               (recorded in the log as a "service" record); otherwise
                               ag_server_create() fails with AG_ERR_DB naming the problem */
  int max_list_age_days;    /* a list older is stale: answers warn, /readyz names it;
                               0 = AG_PIPELINE_MAX_LIST_AGE, negative = never */
  bool stale_lists_unready; /* /readyz answers 503 while a list is stale */
  /* days a reviewer's remembered clearance or confirmation applies
   * (acegate/remember.h); 0 = AG_REMEMBER_MAX_AGE, negative = none applies */
  int remember_max_age_days;
  size_t max_body;          /* 0 = AG_SERVER_DEFAULT_MAX_BODY */
  unsigned timeout_s;       /* idle and request-body timeout; 0 = default */
  unsigned threads;         /* HTTP threads; 0 = two per online CPU */
  unsigned max_connections; /* 0 = default */
  double rate_limit;        /* requests per second per API key; 0 = off */
  double rate_burst;        /* bucket size; 0 = max(1, rate_limit) */
  int auth_cache_ttl_s;     /* < 0 = no cache; 0 = default */
  unsigned drain_timeout_s; /* 0 = default */
  int access_log_fd;        /* one JSON line per request; -1 = off */
  int event_log_fd;         /* start, reload, shutdown, errors; -1 = off */
  /* each new queue item of a re-screening POSTed, signed, to webhook_url
   * (acegate/webhook.h); NULL = none */
  const char *webhook_url;
  const char *webhook_secret_file;
  /* days a delivered item stays in the webhook's outbox; 0 =
   * AG_WEBHOOK_RETENTION_DAYS, negative = kept without end */
  int webhook_retention_days;
  unsigned batch_workers;   /* threads deciding batches; 0 = half the CPUs, at least 1 */
  /* The monotonic clock (ns) that rate limits and the key cache run on;
   * NULL = CLOCK_MONOTONIC. Tests move time on with it instead of sleeping. */
  int64_t (*clock_ns)(void *ctx);
  void *clock_ctx;
  /* Called by a batch worker before it decides each batch (tests hold
   * batches with it to check what stays answered meanwhile); NULL = none. */
  void (*batch_hook)(void *ctx);
  void *batch_hook_ctx;
  /* Called by the read of the open review queue at start before it reads
   * the reviews and before each of its steps (tests hold the read with
   * it); NULL = none. */
  void (*queue_warm_hook)(void *ctx);
  void *queue_warm_hook_ctx;
} ag_server_config;

/* Fills the defaults above (access and event logs to stderr). */
void ag_server_config_init(ag_server_config *cfg);

ag_status ag_server_create(const ag_server_config *cfg, ag_server **out, ag_error *err);

/* Starts the HTTP daemon and the audit writer. */
ag_status ag_server_listen(ag_server *s, ag_error *err);

/* The port listened on (useful with port 0), or 0 before ag_server_listen. */
uint16_t ag_server_port(const ag_server *s);

/* Loads the tables and lists again from where they came from and swaps
 * them in for new requests; requests already running finish on the old
 * ones. On failure nothing changes and err says which file is bad. The
 * cache of authenticated keys is emptied either way. */
ag_status ag_server_reload(ag_server *s, ag_error *err);
/* The same, naming who asked (an API key id, "signal:SIGHUP") and from
 * where in the audit record of kind "lists" every reload writes (before
 * the new lists are used; a reload that cannot be recorded is refused). */
ag_status ag_server_reload_by(ag_server *s, const char *actor, const char *client,
                              ag_error *err);

/* Stops accepting connections, waits (up to the drain timeout) for
 * in-flight requests to be answered, stops the audit writer and the daemon
 * and closes the databases. Returns false if the drain timed out. */
bool ag_server_shutdown(ag_server *s);

void ag_server_free(ag_server *s);

/* Writes the access log lines gathered so far; they are written in blocks,
 * so a running service should call this every 100 ms or so. */
void ag_server_flush_log(ag_server *s);

/* The database API keys are checked against (for tests and tools). */
ag_audit_db *ag_server_keys_db(ag_server *s);

/* Runs one request through routing, authentication, decoding, the handler
 * and the audit log (appended synchronously), without the network. target
 * is the path with an optional "?query"; authorization and content_type may
 * be NULL. *status gets the HTTP status and out the body. */
ag_status ag_server_handle(ag_server *s, const char *method, const char *target,
                           const char *authorization, const char *content_type, const char *body,
                           size_t len, unsigned *status, ag_buf *out);

#endif
