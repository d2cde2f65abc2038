/*
 * http.c - the HTTP side of the service, on libmicrohttpd: one daemon per
 * HTTP thread (with its own epoll set and listen socket each),
 * the access handler that feeds request.c, suspension while the audit
 * writer commits, the access log, and the streamed audit export.
 *
 * libmicrohttpd does all HTTP parsing, framing, keep-alive, timeouts and
 * header size limits; this file only sees complete header sets and body
 * chunks.
 *
 * A request's states: BODY (reading the body) -> WAIT (suspended, on the
 * writer queue) -> AUDITED (resumed by the writer) -> ANSWERED. Requests
 * that need no audit record go from BODY to ANSWERED; an open-queue
 * request that arrives while the queue is read at start goes from BODY to
 * WAIT (parked, warm.c) to DISPATCH (resumed once the read ended, then
 * handled as from BODY) or READY (answered meanwhile).
 *
 * Each daemon runs on an event loop of ours rather than on the library's
 * internal thread, so that the audit writer hands a whole group commit
 * back with one wake-up per HTTP thread: MHD_resume_connection() called
 * from another thread signals the daemon once per connection, a write and
 * a wake-up per request (a sixth of the writer's time per group commit,
 * spent while the next batch waited). The writer puts requests on their
 * loop's `ready` list and, once the whole batch is handed back, wakes each
 * loop whose list it filled; the loop resumes them on its own thread,
 * where no wake-up is needed.
 */
#include "server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_BODY = 1, ST_WAIT, ST_AUDITED, ST_READY, ST_DISPATCH, ST_ANSWERED };

typedef struct srv_export srv_export_t;
typedef struct srv_loop srv_loop_t;
static void export_release(srv_export_t *ex);
static struct MHD_Response *srv_export_response(srv_export_t *ex);

/* ---- event loops ---- */

struct srv_loop {
  ag_server *srv;
  struct MHD_Daemon *d;
  pthread_t thread;
  bool started;
  int wake;           /* eventfd: `ready` became non-empty, or quiesce/stop */
  pthread_mutex_t mu; /* guards the fields below */
  srv_req *ready;     /* suspended requests whose answer can be built */
  bool wake_due;      /* ready became non-empty; the writer wakes it later */
  bool quiesce, stop;
};

static void loop_wake(srv_loop_t *l) {
  uint64_t one = 1;
  while (write(l->wake, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

/* Hands a suspended request back to its loop in the given state; r may be
 * freed from here on. With wake_now false the loop is only marked, and
 * woken by wake_loops() once the whole group commit is handed back: a
 * loop woken at the first request would take the writer's CPU while the
 * writer still hands back the others. */
static void hand_to_loop(srv_req *r, int state, bool wake_now) {
  srv_loop_t *l = r->loop;
  r->state = state;
  pthread_mutex_lock(&l->mu);
  bool was_empty = !l->ready;
  r->next = l->ready;
  l->ready = r;
  if (was_empty && !wake_now)
    l->wake_due = true;
  pthread_mutex_unlock(&l->mu);
  if (was_empty && wake_now)
    loop_wake(l);
}

/* The audit writer's completion callback: hands an audited request back
 * to its suspended connection (its loop is woken by wake_loops()). */
static void audited(srv_req *r) {
  hand_to_loop(r, ST_AUDITED, false);
}

/* Wakes the loops that were handed requests back since the last call. */
static void wake_loops(ag_server *s) {
  for (size_t i = 0; i < s->ndaemons; i++) {
    srv_loop_t *l = &s->loops[i];
    pthread_mutex_lock(&l->mu);
    bool due = l->wake_due;
    l->wake_due = false;
    pthread_mutex_unlock(&l->mu);
    if (due)
      loop_wake(l);
  }
}

static void *loop_main(void *arg) {
  srv_loop_t *l = arg;
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
  struct pollfd fds[2] = {{.fd = di ? di->epoll_fd : -1, .events = POLLIN},
                          {.fd = l->wake, .events = POLLIN}};
  for (;;) {
    /* the library's timeout says when idle connections must be looked at;
     * a second at most, so nothing can wait unseen for long */
    MHD_UNSIGNED_LONG_LONG ms = 1000;
    if (MHD_get_timeout(l->d, &ms) != MHD_YES || ms > 1000)
      ms = 1000;
    if (poll(fds, 2, (int)ms) > 0 && (fds[1].revents & POLLIN)) {
      uint64_t n; /* resets the eventfd; it can only fail as already reset */
      if (read(l->wake, &n, sizeof n) < 0) {
      }
    }
    pthread_mutex_lock(&l->mu);
    srv_req *ready = l->ready;
    l->ready = NULL;
    bool quiesce = l->quiesce, stop = l->stop;
    l->quiesce = false;
    pthread_mutex_unlock(&l->mu);
    for (srv_req *r = ready, *next; r; r = next) {
      next = r->next;
      r->next = NULL;
      MHD_resume_connection(r->conn); /* answered by the MHD_run below */
    }
    if (quiesce) {
      MHD_socket fd = MHD_quiesce_daemon(l->d);
      if (fd != MHD_INVALID_SOCKET)
        close(fd);
    }
    MHD_run(l->d);
    if (stop)
      break;
  }
  return NULL;
}

/* ---- access log ---- */

/* Appends s as JSON string content (no quotes), truncating at cap. */
static size_t esc(char *o, size_t at, size_t cap, const char *s) {
  static const char hex[] = "0123456789abcdef";
  for (; s && *s && at + 8 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      o[at++] = '\\';
      o[at++] = (char)c;
    } else if (c < 0x20 || c >= 0x7f) {
      /* bytes outside printable ASCII are shown as \u00XX, so a line is
       * always valid JSON whatever a client sends */
      o[at++] = '\\';
      o[at++] = 'u';
      o[at++] = '0';
      o[at++] = '0';
      o[at++] = hex[c >> 4];
      o[at++] = hex[c & 15];
    } else {
      o[at++] = (char)c;
    }
  }
  return at;
}

/* Access log lines are gathered and written in blocks of up to 16 KiB: a
 * write per request cost about 4 % of the service's throughput. A block is
 * also written on every ag_server_flush_log() (the serve command calls it
 * ten times a second), before each event line, and at shutdown, so a line
 * appears within about 100 ms. Caller holds alog_mu. */
static void alog_write(ag_server *s) {
  int fd = s->cfg.access_log_fd;
  for (size_t off = 0; fd >= 0 && off < s->alog_len;) {
    ssize_t w = write(fd, s->alog + off, s->alog_len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break; /* the log is best effort: requests are never failed for it */
    off += (size_t)w;
  }
  s->alog_len = 0;
}

void ag_server_flush_log(ag_server *s) {
  pthread_mutex_lock(&s->alog_mu);
  alog_write(s);
  pthread_mutex_unlock(&s->alog_mu);
}

static void access_log(ag_server *s, const srv_req *r, unsigned status, int64_t ns) {
  int fd = s->cfg.access_log_fd;
  if (fd < 0)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char t[32], line[1024];
  ag_audit_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, t);
  size_t n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"method\":\"", t);
  n = esc(line, n, sizeof line - 400, r->method);
  n += (size_t)snprintf(line + n, sizeof line - n, "\",\"path\":\"");
  n = esc(line, n, sizeof line - 300, r->path);
  n += (size_t)snprintf(line + n, sizeof line - n,
                        "\",\"route\":\"%s\",\"status\":%u,\"duration_us\":%lld,\"key_id\":",
                        srv_route_name(r->route), status, (long long)(ns / 1000));
  n += (size_t)(r->authed ? snprintf(line + n, sizeof line - n, "\"%s\"", r->key.id)
                          : snprintf(line + n, sizeof line - n, "null"));
  n += (size_t)snprintf(line + n, sizeof line - n, ",\"client\":\"%s\",\"audit_id\":", r->client);
  if (r->nrecs && r->audit_st == AG_OK && r->ids && r->ids[0][0])
    n += (size_t)snprintf(line + n, sizeof line - n, "\"%s\"", r->ids[0]);
  else
    n += (size_t)snprintf(line + n, sizeof line - n, "null");
  if (r->nrecs > 1 && r->audit_st == AG_OK)
    n += (size_t)snprintf(line + n, sizeof line - n, ",\"records\":%zu", r->nrecs);
  if (n > sizeof line - 3)
    n = sizeof line - 3;
  line[n++] = '}';
  line[n++] = '\n';
  pthread_mutex_lock(&s->alog_mu);
  if (s->alog_len + n > sizeof s->alog)
    alog_write(s);
  memcpy(s->alog + s->alog_len, line, n);
  s->alog_len += n;
  pthread_mutex_unlock(&s->alog_mu);
}

/* ---- answers ---- */

static enum MHD_Result respond(ag_server *s, struct MHD_Connection *c, srv_req *r) {
  struct MHD_Response *resp = NULL;
  if (r->out.failed) {
    ag_buf_free(&r->out);
    srv_error(r, 503, "out_of_memory", NULL, "out of memory");
  }
  if (r->export) {
    resp = srv_export_response(r->export);
    r->export = NULL; /* the response holds it now */
  } else {
    /* the body is handed over to the library, which frees it */
    char *data = r->out.data;
    size_t len = r->out.len;
    ag_buf_init(&r->out);
    resp = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
                : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
      free(data);
  }
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->content_type_out ? r->content_type_out : "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  /* a browser must not guess another type (an error echoing input as HTML) */
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  /* the workbench runs only its own files, never inline script, and is
   * never framed (clickjacking); API answers load nothing at all */
  MHD_add_response_header(resp, "Content-Security-Policy",
                          r->web_page ? SRV_WEB_CSP : "default-src 'none'; frame-ancestors 'none'");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  if (r->status == 401)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  if (r->status == 405 && r->allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->status == 429 || (r->status == 503 && r->retry_after)) {
    char ra[16];
    snprintf(ra, sizeof ra, "%u", r->retry_after);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
  }
  if (r->close || atomic_load(&s->draining))
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  r->state = ST_ANSWERED;
  enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* ---- the access handler ---- */

typedef struct {
  const char *length; /* the first Content-Length */
  bool lengths_differ, other_coding, has_coding;
} framing;

static enum MHD_Result scan_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
  (void)kind;
  framing *f = cls;
  if (!value)
    value = "";
  if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    if (f->length && strcmp(f->length, value) != 0)
      f->lengths_differ = true;
    if (!f->length)
      f->length = value;
  } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
    f->has_coding = true;
    if (strcasecmp(value, "chunked") != 0)
      f->other_coding = true;
  }
  return MHD_YES;
}

/* RFC 9112 6.1-6.3: a message whose length could be read two ways is
 * refused and its connection closed, so no request can hide in its body
 * (request smuggling); a coding other than chunked cannot be read. */
static const char *framing_problem(struct MHD_Connection *c, bool *chunked) {
  framing f = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, scan_framing, &f);
  *chunked = f.has_coding;
  if (f.lengths_differ)
    return "two different Content-Length values";
  if (f.length && f.has_coding)
    return "both Content-Length and Transfer-Encoding";
  if (f.other_coding)
    return "a Transfer-Encoding other than chunked";
  return NULL;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  srv_req *r = cls;
  /* %00 would cut the value short unseen ("2026-11-28%00junk") */
  if (strlen(key) != key_size || (value && strlen(value) != value_size))
    r->args_nul = true;
  if (r->nargs == SRV_ARGS_MAX) {
    r->args_overflow = true;
    return MHD_NO;
  }
  r->args[r->nargs].key = key;
  r->args[r->nargs].value = value;
  r->nargs++;
  return MHD_YES;
}

/* RFC 9110 5.1, 5.5: a field name is a token (no space, never empty) and a
 * value holds no NUL; RFC 9110 11.6.2: one Authorization. A header the
 * library took apart leniently ("Content-Length : 5" is a field named
 * "Content-Length ", and the body then reads as a second request) could
 * be read another way by a proxy in front: such a request is refused and
 * its connection closed rather than guessed at. */
typedef struct {
  int authorizations;
  char why[160]; /* the size of srv_req.bad_header */
} header_scan;

static bool token_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  header_scan *h = cls;
  if (key_size == 0) {
    snprintf(h->why, sizeof h->why, "a header with an empty name");
    return MHD_NO;
  }
  for (size_t i = 0; i < key_size; i++)
    if (!token_char((unsigned char)key[i])) {
      char shown[48];
      size_t k = esc(shown, 0, sizeof shown, key);
      shown[k] = '\0';
      snprintf(h->why, sizeof h->why, "the header name '%s' holds a character a name cannot "
                                      "(a space before the colon?)",
               shown);
      return MHD_NO;
    }
  if (value && memchr(value, '\0', value_size)) {
    snprintf(h->why, sizeof h->why, "the header '%.40s' holds a NUL", key);
    return MHD_NO;
  }
  if (!strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) && ++h->authorizations > 1) {
    snprintf(h->why, sizeof h->why, "more than one Authorization header");
    return MHD_NO;
  }
  return MHD_YES;
}

/* Per connection: set when unescaping the current request's target met
 * %00 (the library would cut the path short there: "/healthz%00junk"
 * would be /healthz). Read and cleared as each request begins. */
typedef struct {
  bool nul;
} conn_state;

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  (void)cls, (void)c;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = calloc(1, sizeof(conn_state));
  } else {
    free(*socket_context);
    *socket_context = NULL;
  }
}

static conn_state *state_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  size_t n = MHD_http_unescape(s);
  conn_state *cs;
  if (memchr(s, '\0', n) && (cs = state_of(c)))
    cs->nul = true;
  return n;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t cap) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(out, cap, "unknown");
  if (!ci || !ci->client_addr)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)cap);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)cap);
}

static char *header(struct MHD_Connection *c, const char *name) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  return v ? strdup(v) : NULL;
}

static srv_req *begin(srv_loop_t *l, struct MHD_Connection *c, const char *url,
                      const char *method) {
  ag_server *s = l->srv;
  srv_req *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  srv_req_init(r, s);
  r->conn = c;
  r->loop = l;
  r->state = ST_BODY;
  snprintf(r->method, sizeof r->method, "%s", method);
  r->path = strdup(url);
  r->authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
  r->content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl) {
    char *end;
    unsigned long long v = strtoull(cl, &end, 10);
    if (end != cl && !*end) {
      r->have_length = true;
      r->content_length = v;
    }
  }
  MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, r);
  r->bad_framing = framing_problem(c, &r->chunked);
  header_scan h = {0};
  MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &h);
  memcpy(r->bad_header, h.why, sizeof r->bad_header);
  conn_state *cs = state_of(c);
  r->path_nul = cs && cs->nul && !r->args_nul; /* the NUL was in the path */
  if (cs)
    cs->nul = false;
  client_addr(c, r->client, sizeof r->client);
  pthread_mutex_lock(&s->drain_mu);
  s->active++;
  pthread_mutex_unlock(&s->drain_mu);
  atomic_fetch_add_explicit(&s->metrics.inflight, 1, memory_order_relaxed);
  return r;
}

/* Runs the handler of a request whose body is read: answers, or suspends
 * the connection while the audit writer writes its records. */
static enum MHD_Result dispatch(ag_server *s, struct MHD_Connection *c, srv_req *r) {
  if (srv_dispatch(r) == SRV_AUDIT) {
    r->state = ST_WAIT;
    r->audit_done = audited;
    MHD_suspend_connection(c);
    if (!srv_writer_submit(s, r)) {
      /* shutting down: answered as an audit failure, never unrecorded */
      r->audit_st = AG_ERR_DB;
      ag_error_set(&r->audit_err, AG_ERR_DB, "", "the service is shutting down");
      hand_to_loop(r, ST_AUDITED, true);
    }
    return MHD_YES;
  }
  return respond(s, c, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  (void)version;
  srv_loop_t *l = cls;
  ag_server *s = l->srv;
  srv_req *r = *con_cls;
  if (!r) {
    if (!(r = begin(l, c, url, method)))
      return MHD_NO;
    *con_cls = r;
    if (!r->path) {
      srv_error(r, 503, "out_of_memory", NULL, "out of memory");
      return respond(s, c, r);
    }
    if (r->bad_header[0]) {
      r->close = true;
      srv_error(r, 400, "invalid_input",
                strstr(r->bad_header, "Authorization") ? "authorization" : "header",
                "the request has %s", r->bad_header);
      return respond(s, c, r);
    }
    if (r->bad_framing) {
      r->close = true;
      srv_error(r, 400, "invalid_input",
                strstr(r->bad_framing, "Content-Length values") ? "content-length"
                                                                : "transfer-encoding",
                "the request has %s", r->bad_framing);
      return respond(s, c, r);
    }
    if (r->path_nul) {
      srv_error(r, 400, "invalid_input", "path", "the path holds %%00 (NUL)");
      return respond(s, c, r);
    }
    if (!srv_begin(r)) {
      /* Answered from the headers alone. Answering now makes the library
       * close the connection (the body is unread), so a small announced
       * body (or none) is read and dropped first and the answer sent after
       * it: a client refused by its rate limit or its key keeps its
       * connection. A large or chunked body is not worth reading. */
      if (r->status == 413 || r->chunked ||
          (r->have_length && r->content_length > AG_JSON_MAX_REQUEST))
        return respond(s, c, r);
      r->answer_ready = true;
    }
    return MHD_YES;
  }
  switch (r->state) {
  case ST_BODY:
    if (*upload_data_size) {
      /* a whole-request deadline, so a client trickling its body cannot
       * hold a connection past the timeout */
      if (srv_now_ns() - r->start_ns > (int64_t)s->timeout_s * 1000000000)
        return MHD_NO;
      if (r->answer_ready) {
        *upload_data_size = 0;
        return MHD_YES;
      }
      bool go = srv_body(r, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return go ? MHD_YES : MHD_NO;
    }
    if (r->answer_ready)
      return respond(s, c, r);
    if (srv_warm_wanted(r) && srv_warm_reading(s)) {
      /* the open queue is being read: parked rather than holding this
       * thread (and its other connections) until the read ends */
      r->state = ST_WAIT;
      MHD_suspend_connection(c);
      if (!srv_warm_park(s, r)) /* it ended just now */
        hand_to_loop(r, ST_DISPATCH, true);
      return MHD_YES;
    }
    if (r->route == R_CHECKS_BATCH && s->batches) {
      /* decided on a batch worker: this thread goes on serving */
      r->state = ST_WAIT;
      r->audit_done = audited; /* the worker hands it to the writer */
      MHD_suspend_connection(c);
      if (!srv_batch_submit(s, r))
        srv_http_resume_ready(s, r);
      return MHD_YES;
    }
    return dispatch(s, c, r);
  case ST_AUDITED: srv_finish(r); return respond(s, c, r);
  case ST_READY: return respond(s, c, r);
  case ST_DISPATCH: return dispatch(s, c, r);
  default: return MHD_NO;
  }
}


void srv_http_resume_ready(ag_server *s, srv_req *r) {
  (void)s;
  hand_to_loop(r, ST_READY, true);
}

void srv_http_resume_dispatch(ag_server *s, srv_req *r) {
  (void)s;
  hand_to_loop(r, ST_DISPATCH, true);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  ag_server *s = cls;
  srv_req *r = *con_cls;
  if (!r)
    return;
  *con_cls = NULL;
  int64_t ns = srv_now_ns() - r->start_ns;
  unsigned status =
      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && r->state == ST_ANSWERED ? r->status : 0;
  srv_metrics_request(&s->metrics, r->route, status, ns);
  access_log(s, r, status, ns);
  if (r->export)
    export_release(r->export);
  srv_req_free(r);
  free(r);
  atomic_fetch_sub_explicit(&s->metrics.inflight, 1, memory_order_relaxed);
  pthread_mutex_lock(&s->drain_mu);
  if (--s->active == 0)
    pthread_cond_broadcast(&s->drain_cv);
  pthread_mutex_unlock(&s->drain_mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  ag_server *s = cls;
  char msg[512], out[600];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  size_t k = esc(out, 0, sizeof out, msg);
  out[k] = '\0';
  srv_log_event(s, "http_library", "\"message\":\"%s\"", out);
}

/* ---- the daemon ---- */

ag_status srv_http_resolve(const char *listen, struct sockaddr_storage *ss, bool *v6,
                          ag_error *err) {
  char host[256];
  const char *colon = strrchr(listen, ':');
  if (!colon || !colon[1])
    return ag_error_set(err, AG_ERR_INPUT, "listen", "'%.100s' is not HOST:PORT", listen);
  size_t hl = (size_t)(colon - listen);
  const char *h = listen;
  if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= sizeof host)
    return ag_error_set(err, AG_ERR_INPUT, "listen", "host name too long");
  memcpy(host, h, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535)
    return ag_error_set(err, AG_ERR_INPUT, "listen", "'%.20s' is not a port", colon + 1);
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                  *res = NULL;
  int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
  if (rc != 0 || !res) {
    if (res)
      freeaddrinfo(res);
    return ag_error_set(err, AG_ERR_INPUT, "listen", "cannot resolve '%.100s': %s", host,
                        gai_strerror(rc));
  }
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *v6 = res->ai_family == AF_INET6;
  freeaddrinfo(res);
  return AG_OK;
}

/* The port field of a resolved address. */
static in_port_t *port_of(struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET6 ? &((struct sockaddr_in6 *)ss)->sin6_port
                                   : &((struct sockaddr_in *)ss)->sin_port;
}

/* Fails if something already listens on the address: SO_REUSEPORT would
 * otherwise let a second service on the same port share its connections. */
static ag_status check_port_free(const struct sockaddr_storage *ss, ag_error *err,
                                 const char *listen) {
  socklen_t len =
      ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return AG_OK; /* the daemons will report it */
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = bind(fd, (const struct sockaddr *)ss, len);
  int e = errno;
  close(fd);
  if (rc != 0 && e == EADDRINUSE)
    return ag_error_set(err, AG_ERR_IO, "listen", "cannot listen on %.100s: address in use",
                        listen);
  return AG_OK;
}

/* One daemon (one thread, its own epoll set) per HTTP thread, each with its
 * own listen socket on the same address (SO_REUSEPORT), so the kernel spreads
 * new connections evenly between them. With one listen socket shared by a
 * thread pool, whichever thread woke first took a connection: a client's
 * keep-alive pool could land three quarters on one thread, which then
 * limited the whole service. */
ag_status srv_http_start(ag_server *s, ag_error *err) {
  struct sockaddr_storage ss = s->listen_addr;
  bool v6 = s->listen_v6;
  if (*port_of(&ss) != 0) {
    ag_status st = check_port_free(&ss, err, s->listen);
    if (st != AG_OK)
      return st;
  }
  unsigned threads = s->cfg.threads;
  if (!threads) {
    /* Two per CPU: an HTTP thread spends much of its time waiting to be
     * woken (by the audit syncer, by the network), and while one waits the
     * other can answer; on two CPUs, four threads answered 5-20 % more
     * checks than two at 64 connections (docs/api.md, Performance). */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? 2 * (unsigned)n : 2;
  }
  if (threads > SRV_HTTP_THREADS_MAX)
    threads = SRV_HTTP_THREADS_MAX;
  unsigned per_thread = (s->cfg.max_connections + threads - 1) / threads;
  if (!(s->loops = calloc(threads, sizeof *s->loops)))
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  /* no internal thread: each daemon runs on its loop (above) */
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
                   (v6 ? MHD_USE_IPv6 : 0);
  for (unsigned i = 0; i < threads; i++) {
    srv_loop_t *l = &s->loops[i];
    *l = (srv_loop_t){.srv = s, .wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    pthread_mutex_init(&l->mu, NULL);
    if (l->wake >= 0)
      l->d = MHD_start_daemon(
          flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_LISTENING_ADDRESS_REUSE,
          (unsigned int)1, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->timeout_s,
          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_CONNECTION_LIMIT,
          per_thread, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
          MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
          /* strict HTTP/1.1: a request without Host, or with a malformed
           * header line, is refused rather than guessed at */
          MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
          MHD_OPTION_UNESCAPE_CALLBACK, unescape, s, MHD_OPTION_END);
    s->ndaemons++; /* srv_http_stop() releases it, daemon or not */
    if (!l->d) {
      srv_http_stop(s);
      return ag_error_set(err, AG_ERR_IO, "listen",
                          "cannot listen on %.100s (address in use, or "
                          "not a local address?)",
                          s->listen);
    }
    s->daemons[i] = l->d;
    if (i == 0) { /* the others join the port the first one got */
      const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
      s->port = di ? di->port : 0;
      *port_of(&ss) = htons(s->port);
    }
  }
  s->handed_back = wake_loops;
  for (size_t i = 0; i < s->ndaemons; i++) {
    srv_loop_t *l = &s->loops[i];
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
      /* a loop already started may have parked a queue request with the
       * background read: answered while the loops still run */
      srv_warm_stop(s);
      srv_http_stop(s);
      return ag_error_set(err, AG_ERR_INTERNAL, "threads", "cannot start the HTTP threads");
    }
    pthread_setname_np(l->thread, "http"); /* before serve says it listens */
    l->started = true;
  }
  return AG_OK;
}

/* Asks each loop to stop accepting connections (done on its own thread:
 * the daemon is only ever touched by its loop). */
void srv_http_quiesce(ag_server *s) {
  for (size_t i = 0; i < s->ndaemons; i++) {
    srv_loop_t *l = &s->loops[i];
    if (!l->started)
      continue;
    pthread_mutex_lock(&l->mu);
    l->quiesce = true;
    pthread_mutex_unlock(&l->mu);
    loop_wake(l);
  }
}

void srv_http_stop(ag_server *s) {
  s->handed_back = NULL;
  for (size_t i = 0; i < s->ndaemons; i++) {
    srv_loop_t *l = &s->loops[i];
    if (l->started) {
      pthread_mutex_lock(&l->mu);
      l->stop = true;
      pthread_mutex_unlock(&l->mu);
      loop_wake(l);
      pthread_join(l->thread, NULL); /* it resumes what was handed back first */
    }
    if (l->d)
      MHD_stop_daemon(l->d);
    if (l->wake >= 0)
      close(l->wake);
    pthread_mutex_destroy(&l->mu);
    s->daemons[i] = NULL;
  }
  free(s->loops);
  s->loops = NULL;
  s->ndaemons = 0;
}

/* ---- streamed export ---- */

/* The export thread writes into a pipe that the response reads. Shared by
 * the two until both let go. When the export fails part-way, the response
 * must not end like a complete one: the reader then ends the body with an
 * error, and the library closes the connection without the last chunk, so
 * the client sees a broken transfer (and the file lacks its closing line,
 * docs/audit.md). */
struct srv_export {
  ag_server *srv;
  int rfd, wfd;
  int64_t from, to;
  ag_audit_format fmt;
  atomic_bool failed;
  atomic_int refs;
};

static void export_release(srv_export_t *ex) {
  if (atomic_fetch_sub(&ex->refs, 1) == 1) {
    if (ex->rfd >= 0)
      close(ex->rfd);
    free(ex);
  }
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  srv_export_t *ex = cls;
  for (;;) {
    ssize_t n = read(ex->rfd, buf, max);
    if (n > 0)
      return n;
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 && !atomic_load(&ex->failed))
      return MHD_CONTENT_READER_END_OF_STREAM;
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

static void export_free(void *cls) {
  export_release(cls);
}

static struct MHD_Response *srv_export_response(srv_export_t *ex) {
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)32 * 1024, export_read, ex,
                                        export_free);
  if (!resp)
    export_release(ex);
  return resp;
}

static int pipe_write(void *ctx, const char *data, size_t len) {
  int fd = *(int *)ctx;
  while (len) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 1; /* the client went away */
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static void *export_main(void *arg) {
  srv_export_t *ex = arg;
  ag_server *s = ex->srv;
  /* a reader that disconnects must show up as EPIPE, not kill the process */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  ag_error err;
  ag_error_clear(&err);
  if (ag_audit_export(s->db, ex->from, ex->to, ex->fmt, pipe_write, &ex->wfd, &err) != AG_OK) {
    atomic_store(&ex->failed, true); /* before the close the reader sees */
    char reason[sizeof err.reason + 64];
    size_t k = esc(reason, 0, sizeof reason, err.reason);
    reason[k] = '\0';
    srv_log_event(s, "export_failed", "\"reason\":\"%s\"", reason);
  }
  close(ex->wfd);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) > 0) {
  }
  export_release(ex);
  pthread_mutex_lock(&s->drain_mu);
  s->exports--;
  pthread_cond_broadcast(&s->drain_cv);
  pthread_mutex_unlock(&s->drain_mu);
  return NULL;
}

srv_export_t *srv_export_start(ag_server *s, int64_t from, int64_t to, ag_audit_format fmt) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return NULL;
  srv_export_t *ex = malloc(sizeof *ex);
  if (!ex) {
    close(fds[0]);
    close(fds[1]);
    return NULL;
  }
  *ex = (srv_export_t){.srv = s, .rfd = fds[0], .wfd = fds[1], .from = from, .to = to, .fmt = fmt};
  atomic_init(&ex->failed, false);
  atomic_init(&ex->refs, 2); /* the thread's and the response's */
  pthread_mutex_lock(&s->drain_mu);
  s->exports++;
  pthread_mutex_unlock(&s->drain_mu);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, export_main, ex);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_lock(&s->drain_mu);
    s->exports--;
    pthread_mutex_unlock(&s->drain_mu);
    close(fds[1]);
    close(fds[0]);
    free(ex);
    return NULL;
  }
  return ex;
}
