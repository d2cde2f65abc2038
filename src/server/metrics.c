/*
 * metrics.c - counters and histograms for GET /metrics, in the Prometheus
 * text exposition format (version 0.0.4), written by hand.
 *
 * Every counter is a relaxed atomic: requests on any thread add to them
 * without locks, and a scrape reads a value that is at most a few requests
 * behind. Histograms have fixed buckets (seconds) chosen around the service
 * objective (p99 under 10 ms) and keep per-bucket counts; the cumulative
 * counts Prometheus expects are summed when rendering.
 */
#include "server_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const double bucket_le[SRV_HIST_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,  0.0075,  0.01,   0.025, 0.05,
                                                   0.1,    0.25,    0.5,    1,     2.5};

int64_t srv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void srv_hist_observe(srv_hist *h, int64_t ns) {
  if (ns < 0)
    ns = 0;
  double sec = (double)ns * 1e-9;
  int i = 0;
  while (i < SRV_HIST_BUCKETS && sec > bucket_le[i])
    i++;
  atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum_ns, (uint_fast64_t)ns, memory_order_relaxed);
}

static const unsigned status_codes[S_COUNT] = {
    [S_200] = 200, [S_201] = 201, [S_400] = 400, [S_401] = 401, [S_403] = 403,
    [S_404] = 404, [S_405] = 405, [S_409] = 409, [S_413] = 413, [S_415] = 415,
    [S_429] = 429, [S_500] = 500, [S_503] = 503, [S_OTHER] = 0, [S_ABORTED] = 0};

static int status_index(unsigned status) {
  if (status == 0)
    return S_ABORTED;
  for (int i = 0; i < S_OTHER; i++)
    if (status_codes[i] == status)
      return i;
  return S_OTHER;
}

static void status_label(int i, char out[16]) {
  if (i == S_ABORTED)
    snprintf(out, 16, "aborted");
  else if (i == S_OTHER)
    snprintf(out, 16, "other");
  else
    snprintf(out, 16, "%u", status_codes[i]);
}

void srv_metrics_request(srv_metrics *m, srv_route route, unsigned status, int64_t ns) {
  if ((unsigned)route >= R_COUNT)
    route = R_UNMATCHED;
  int si = status_index(status);
  atomic_fetch_add_explicit(&m->requests[route][si], 1, memory_order_relaxed);
  srv_hist_observe(&m->latency[route][si], ns);
}

static uint64_t get(atomic_uint_fast64_t *v) {
  return atomic_load_explicit(v, memory_order_relaxed);
}

static void hist(ag_buf *b, const char *name, const char *labels, srv_hist *h) {
  uint64_t cum = 0;
  const char *sep = labels[0] ? "," : "";
  for (int i = 0; i <= SRV_HIST_BUCKETS; i++) {
    cum += get(&h->b[i]);
    if (i < SRV_HIST_BUCKETS)
      ag_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bucket_le[i],
                    (unsigned long long)cum);
    else
      ag_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                    (unsigned long long)cum);
  }
  const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
  ag_buf_printf(b, "%s_sum%s%s%s %.9f\n", name, open, labels, close,
                (double)get(&h->sum_ns) * 1e-9);
  ag_buf_printf(b, "%s_count%s%s%s %llu\n", name, open, labels, close,
                (unsigned long long)get(&h->count));
}

/* Label values here are route patterns, status codes and version strings;
 * the version strings are escaped all the same. */
static void label_value(ag_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      ag_buf_putc(b, '\\');
    if (*s == '\n') {
      ag_buf_puts(b, "\\n");
      continue;
    }
    ag_buf_putc(b, *s);
  }
}

void srv_metrics_render(ag_server *s, ag_buf *b) {
  srv_metrics *m = &s->metrics;
  char labels[128], st[16];

  ag_buf_puts(b, "# HELP acegate_http_requests_total HTTP requests answered, by method, route "
                 "and status (\"aborted\": the connection ended before an answer).\n"
                 "# TYPE acegate_http_requests_total counter\n");
  for (int r = 0; r < R_COUNT; r++)
    for (int i = 0; i < S_COUNT; i++) {
      uint64_t n = get(&m->requests[r][i]);
      if (!n)
        continue;
      status_label(i, st);
      ag_buf_printf(b,
                    "acegate_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                    srv_route_method((srv_route)r), srv_route_name((srv_route)r), st,
                    (unsigned long long)n);
    }
  ag_buf_puts(b, "# HELP acegate_http_request_duration_seconds Time from the request line to "
                 "the end of the answer, by method, route and status.\n"
                 "# TYPE acegate_http_request_duration_seconds histogram\n");
  for (int r = 0; r < R_COUNT; r++)
    for (int i = 0; i < S_COUNT; i++) {
      if (!get(&m->latency[r][i].count))
        continue;
      status_label(i, st);
      snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%s\"",
               srv_route_method((srv_route)r), srv_route_name((srv_route)r), st);
      hist(b, "acegate_http_request_duration_seconds", labels, &m->latency[r][i]);
    }

  ag_buf_puts(b, "# HELP acegate_decisions_total Determinations returned, by outcome.\n"
                 "# TYPE acegate_decisions_total counter\n");
  for (int o = 0; o < AG_OUTCOME_COUNT; o++)
    ag_buf_printf(b, "acegate_decisions_total{outcome=\"%s\"} %llu\n",
                  ag_outcome_name((ag_outcome)o), (unsigned long long)get(&m->decisions[o]));
  static const char *const levels[3] = {"NO_MATCH", "POSSIBLE_MATCH", "CONFIDENT_MATCH"};
  ag_buf_puts(b, "# HELP acegate_screenings_total Screenings returned, by strongest match.\n"
                 "# TYPE acegate_screenings_total counter\n");
  for (int l = 0; l < 3; l++)
    ag_buf_printf(b, "acegate_screenings_total{outcome=\"%s\"} %llu\n", levels[l],
                  (unsigned long long)get(&m->screenings[l]));

  ag_buf_puts(b, "# HELP acegate_audit_write_seconds Time from queueing a request's audit "
                 "records to their durable commit.\n"
                 "# TYPE acegate_audit_write_seconds histogram\n");
  hist(b, "acegate_audit_write_seconds", "", &m->audit_write);
  ag_audit_stats as = {0};
  if (s->db)
    ag_audit_get_stats(s->db, &as);
  ag_buf_printf(b,
                "# HELP acegate_audit_commits_total Audit log transactions committed.\n"
                "# TYPE acegate_audit_commits_total counter\n"
                "acegate_audit_commits_total %llu\n"
                "# HELP acegate_audit_records_total Audit records committed.\n"
                "# TYPE acegate_audit_records_total counter\n"
                "acegate_audit_records_total %llu\n"
                "# HELP acegate_audit_syncs_total fsyncs of the audit write-ahead log (one "
                "may make several commits durable).\n"
                "# TYPE acegate_audit_syncs_total counter\n"
                "acegate_audit_syncs_total %llu\n"
                "# HELP acegate_audit_checkpoints_total Checkpoints of the audit write-ahead "
                "log into the database file.\n"
                "# TYPE acegate_audit_checkpoints_total counter\n"
                "acegate_audit_checkpoints_total %llu\n"
                "# HELP acegate_audit_failures_total Requests answered 503 because their "
                "records could not be written.\n"
                "# TYPE acegate_audit_failures_total counter\n"
                "acegate_audit_failures_total %llu\n",
                (unsigned long long)as.commits, (unsigned long long)as.records,
                (unsigned long long)as.syncs, (unsigned long long)as.checkpoints,
                (unsigned long long)get(&m->audit_failures));
  ag_buf_printf(b,
                "# HELP acegate_auth_failures_total Requests refused for a missing or invalid "
                "API key.\n"
                "# TYPE acegate_auth_failures_total counter\n"
                "acegate_auth_failures_total %llu\n"
                "# HELP acegate_rate_limited_total Requests refused by a per-key rate limit.\n"
                "# TYPE acegate_rate_limited_total counter\n"
                "acegate_rate_limited_total %llu\n"
                "# HELP acegate_reloads_total Reloads of the tables and lists, by result.\n"
                "# TYPE acegate_reloads_total counter\n"
                "acegate_reloads_total{result=\"ok\"} %llu\n"
                "acegate_reloads_total{result=\"failed\"} %llu\n"
                "# HELP acegate_inflight_requests Requests begun and not yet answered.\n"
                "# TYPE acegate_inflight_requests gauge\n"
                "acegate_inflight_requests %lld\n",
                (unsigned long long)get(&m->auth_failures),
                (unsigned long long)get(&m->rate_limited), (unsigned long long)get(&m->reloads_ok),
                (unsigned long long)get(&m->reloads_failed),
                (long long)atomic_load_explicit(&m->inflight, memory_order_relaxed));
  /* the open review queue's read at start (warm.c): one state at 1 */
  static const char *const warm_states[] = {"off", "reading", "warm", "failed", "stopped"};
  int ws = atomic_load(&s->warm.state);
  ag_buf_puts(b, "# HELP acegate_review_queue_state The read of the open review queue from the "
                 "audit log as the service starts: 1 for its state (off: not started, the first "
                 "request reads it).\n"
                 "# TYPE acegate_review_queue_state gauge\n");
  for (int i = 0; i < (int)(sizeof warm_states / sizeof warm_states[0]); i++)
    ag_buf_printf(b, "acegate_review_queue_state{state=\"%s\"} %d\n", warm_states[i], i == ws);
  int64_t took = atomic_load(&s->warm.took_ns), began = atomic_load(&s->warm.started_ns);
  if (!took && began && ws == SRV_WARM_READING)
    took = srv_now_ns() - began;
  ag_buf_printf(b,
                "# HELP acegate_review_queue_read_seconds How long the read took (so far, while "
                "reading).\n"
                "# TYPE acegate_review_queue_read_seconds gauge\n"
                "acegate_review_queue_read_seconds %.6f\n"
                "# HELP acegate_review_queue_read_records Records of the log the read has read.\n"
                "# TYPE acegate_review_queue_read_records gauge\n"
                "acegate_review_queue_read_records %lld\n"
                "# HELP acegate_review_queue_read_head The log's last record when the read began: "
                "it reads up to it.\n"
                "# TYPE acegate_review_queue_read_head gauge\n"
                "acegate_review_queue_read_head %lld\n",
                (double)took * 1e-9, (long long)atomic_load(&s->warm.read),
                (long long)atomic_load(&s->warm.head));
  srv_snapshot *snap = srv_snapshot_get(s);
  ag_buf_puts(b, "# HELP acegate_data_info The regulation tables and screening lists in force.\n"
                 "# TYPE acegate_data_info gauge\nacegate_data_info{rules_version=\"");
  label_value(b, snap->rules->version);
  ag_buf_puts(b, "\",lists_version=\"");
  label_value(b, snap->lists ? snap->lists_version : "");
  ag_buf_puts(b, "\"} 1\n");
  srv_snapshot_put(snap);
}
