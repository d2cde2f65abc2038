/*
 * cmd_serve.c - `acegate serve`: the HTTP API service (docs/api.md).
 *
 * The service itself is libacegate's (acegate/server.h); this front end
 * parses the options and owns the signals: they are blocked in every
 * thread and taken here with sigtimedwait(), so no work runs in a signal
 * handler. SIGHUP reloads the tables and lists (a bad file is rejected and
 * the old data stays in force); SIGTERM and SIGINT drain in-flight requests
 * and close the audit database cleanly.
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: acegate serve [OPTIONS]\n"
    "\n"
    "Runs the HTTP API (docs/api.md) on the bundled tables and lists, recording every\n"
    "determination in the audit log before answering.\n"
    "\n"
    "  --listen HOST:PORT      address to listen on (default " AG_SERVER_DEFAULT_LISTEN ";\n"
    "                          loopback unless told otherwise; port 0 picks a free one)\n"
    "  --db FILE               audit log database (default $ACEGATE_DB, else\n"
    "                          $XDG_STATE_HOME/acegate/audit.db, else\n"
    "                          ~/.local/state/acegate/audit.db, created 0600); :memory:\n"
    "                          keeps nothing and is for benchmarks only\n"
    "  --keys-db FILE          database holding the API keys (default: --db; required\n"
    "                          with --db :memory:)\n"
    "  --rules DIR             regulation tables from DIR instead of the built-in ones\n"
    "  --policy FILE           company due-diligence policy: the questions whose raised,\n"
    "                          unresolved flag makes a check REVIEW (docs/due-diligence.md)\n"
    "  --lists PATH            load this list file or directory (published formats,\n"
    "                          repeatable) instead of the lists in force\n"
    "  --lists-dir DIR         data directory of the lists in force (default: see\n"
    "                          `acegate lists`); --no-lists runs without screening\n"
    "  --max-list-age DAYS     a list older is stale: answers carry a warning and\n"
    "                          /readyz names it (default 7, $ACEGATE_MAX_LIST_AGE;\n"
    "                          off: never)\n"
    "  --stale-lists-unready   /readyz answers 503 while a list is stale\n"
    "  --remember-max-age DAYS apply a reviewer's remembered clearance or confirmation\n"
    "                          for this many days (default 365; 0: none applies)\n"
    "  --max-body BYTES        largest request body (default 1048576; a single check or\n"
    "                          screening is also held to 65536)\n"
    "  --timeout SECONDS       idle connection and request-body timeout (default 30)\n"
    "  --threads N             HTTP threads (default: two per CPU)\n"
    "  --max-connections N     open connections at most (default 1024)\n"
    "  --rate-limit N          requests per second per API key, 0 = off (default 0)\n"
    "  --rate-burst N          requests a key may make at once (default: the rate)\n"
    "  --auth-cache-ttl SECS   how long a checked key is remembered, 0 = not at all\n"
    "                          (default 10); revocation takes effect within this time,\n"
    "                          or at once after SIGHUP\n"
    "  --drain-timeout SECS    how long SIGTERM waits for requests (default 30)\n"
    "  --access-log FILE       one JSON line per request: FILE, - for stderr (default),\n"
    "                          or off\n"
    "  --webhook-url URL       POST each new queue item of a re-screening there as\n"
    "                          JSON, signed (X-Acegate-Signature), retried with backoff\n"
    "  --webhook-secret-file FILE  the webhook's HMAC-SHA256 secret\n"
    "  --webhook-retention DAYS  delete an item from the webhook's outbox this many\n"
    "                          days after its delivery (default 30; off: never);\n"
    "                          undelivered items and the deliveries are kept\n"
    "  --config FILE           read options from FILE (acegate.conf(5)); by default\n"
    "                          $XDG_CONFIG_HOME/acegate/acegate.conf, else\n"
    "                          /etc/acegate/acegate.conf, when present; flags override it\n"
    "  --no-config             read no configuration file\n"
    "  --accept-damaged-log    start even when the start check finds the audit log\n"
    "                          damaged (otherwise exit 4 naming the problem); the start\n"
    "                          is recorded in the log\n"
    "\n"
    "Signals: SIGHUP reloads the tables and lists; SIGTERM or SIGINT drains and stops.\n";

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-')
    return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return false;
  *out = v;
  return true;
}

static bool parse_rate(const char *s, double *out) {
  char *end;
  if (!s || !*s)
    return false;
  double v = strtod(s, &end);
  if (*end || !(v >= 0) || v > 1e9)
    return false;
  *out = v;
  return true;
}

static int bad_option(const char *opt, const char *why) {
  fprintf(stderr, "acegate serve: %s: %s (see acegate serve --help)\n", ag_cli_config_name(opt),
          why);
  return AG_EXIT_INPUT;
}

static int serve(int argc, char **argv, const char **lists) {
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  const char *access_log = "-";
  cfg.list_paths = lists;
  ag_cli_seen seen = {0};
  bool seen_age = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return AG_EXIT_OK;
    }
    if (!strcmp(a, "--no-lists")) {
      cfg.no_lists = true;
      continue;
    }
    if (!strcmp(a, "--accept-damaged-log")) {
      cfg.accept_damaged_log = true;
      continue;
    }
    if (!strcmp(a, "--stale-lists-unready")) {
      cfg.stale_lists_unready = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0)
      return bad_option(a, "unexpected argument");
    static const char *const known[] = {
        "--listen",  "--db",          "--keys-db",         "--rules",      "--lists-dir",
        "--lists",   "--access-log",  "--max-body",        "--timeout",    "--threads",
        "--max-connections", "--rate-limit", "--rate-burst", "--auth-cache-ttl",
        "--drain-timeout", "--policy", "--max-list-age", "--remember-max-age",
        "--webhook-url", "--webhook-secret-file", "--webhook-retention"};
    bool is_known = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
      is_known |= !strcmp(a, known[k]);
    if (!is_known)
      return bad_option(a, "unknown option");
    if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
      return bad_option(a, "needs a value");
    if (strcmp(a, "--lists") && ag_cli_seen_again(&seen, a))
      return bad_option(a, "given more than once");
    const char *v = argv[++i];
    unsigned long long n = 0;
    seen_age |= !strcmp(a, "--max-list-age");
    if (!strcmp(a, "--listen"))
      cfg.listen = v;
    else if (!strcmp(a, "--db"))
      cfg.db_path = v;
    else if (!strcmp(a, "--keys-db"))
      cfg.keys_db_path = v;
    else if (!strcmp(a, "--rules"))
      cfg.rules_dir = v;
    else if (!strcmp(a, "--policy"))
      cfg.policy_path = v;
    else if (!strcmp(a, "--lists-dir"))
      cfg.lists_dir = v;
    else if (!strcmp(a, "--lists"))
      lists[cfg.n_list_paths++] = v;
    else if (!strcmp(a, "--access-log"))
      access_log = v;
    else if (!strcmp(a, "--webhook-url"))
      cfg.webhook_url = v;
    else if (!strcmp(a, "--webhook-secret-file"))
      cfg.webhook_secret_file = v;
    else if (!strcmp(a, "--max-list-age")) {
      if (!ag_cli_max_list_age("serve", v, &cfg.max_list_age_days))
        return AG_EXIT_INPUT;
    } else if (!strcmp(a, "--remember-max-age")) {
      int days;
      if (!ag_cli_remember_max_age("serve", v, &days))
        return AG_EXIT_INPUT;
      cfg.remember_max_age_days = days ? days : -1;
    }
    else if (!strcmp(a, "--webhook-retention")) {
      if (!strcmp(v, "off"))
        cfg.webhook_retention_days = -1;
      else if (parse_uint(v, 36500, &n) && n > 0)
        cfg.webhook_retention_days = (int)n;
      else
        return bad_option(a, "must be a number of days from 1 to 36500, or off");
    } else if (!strcmp(a, "--max-body")) {
      if (!parse_uint(v, 1ull << 30, &n) || n < 1024)
        return bad_option(a, "must be a number of bytes from 1024 to 1073741824");
      cfg.max_body = (size_t)n;
    } else if (!strcmp(a, "--timeout")) {
      if (!parse_uint(v, 86400, &n) || n == 0)
        return bad_option(a, "must be a number of seconds from 1 to 86400");
      cfg.timeout_s = (unsigned)n;
    } else if (!strcmp(a, "--threads")) {
      if (!parse_uint(v, 1024, &n) || n == 0)
        return bad_option(a, "must be from 1 to 1024");
      cfg.threads = (unsigned)n;
    } else if (!strcmp(a, "--max-connections")) {
      if (!parse_uint(v, 1000000, &n) || n == 0)
        return bad_option(a, "must be from 1 to 1000000");
      cfg.max_connections = (unsigned)n;
    } else if (!strcmp(a, "--rate-limit")) {
      if (!parse_rate(v, &cfg.rate_limit))
        return bad_option(a, "must be a number of requests per second, 0 for no limit");
    } else if (!strcmp(a, "--rate-burst")) {
      if (!parse_rate(v, &cfg.rate_burst) || (cfg.rate_burst > 0 && cfg.rate_burst < 1))
        return bad_option(a, "must be a number of requests, at least 1");
    } else if (!strcmp(a, "--auth-cache-ttl")) {
      if (!parse_uint(v, 3600, &n))
        return bad_option(a, "must be a number of seconds from 0 to 3600");
      cfg.auth_cache_ttl_s = n ? (int)n : -1;
    } else if (!strcmp(a, "--drain-timeout")) {
      if (!parse_uint(v, 3600, &n) || n == 0)
        return bad_option(a, "must be a number of seconds from 1 to 3600");
      cfg.drain_timeout_s = (unsigned)n;
    } else
      return bad_option(a, "unknown option");
  }
  if (!seen_age && !ag_cli_max_list_age("serve", NULL, &cfg.max_list_age_days))
    return AG_EXIT_INPUT;
  if (cfg.db_path && !strcmp(cfg.db_path, ":memory:") && !cfg.keys_db_path)
    return bad_option("--db :memory:",
                      "an in-memory audit log holds no API keys; give --keys-db FILE");

  char dbbuf[AG_CLI_PATH_MAX];
  ag_error dberr;
  /* the file itself is made by the service once its start check passes,
   * so a refused start leaves nothing behind */
  if (ag_cli_db_path(cfg.db_path, false, dbbuf, sizeof dbbuf, &dberr) != AG_OK ||
      (!cfg.db_path && ag_audit_prepare_dirs(dbbuf, &dberr) != AG_OK)) {
    snprintf(dberr.field, sizeof dberr.field, "--db");
    ag_cli_print_error("serve", &dberr);
    return ag_cli_exit_for(dberr.status);
  }
  cfg.db_path = dbbuf;

  int log_fd = 2;
  if (!strcmp(access_log, "off"))
    log_fd = -1;
  else if (strcmp(access_log, "-") != 0 &&
           (log_fd = open(access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
    fprintf(stderr, "acegate serve: --access-log: cannot open '%s': %s\n", access_log,
            strerror(errno));
    return AG_EXIT_IO;
  }
  cfg.access_log_fd = log_fd;

  /* Blocked before any thread starts, so every thread inherits the mask
   * and the signals wait for sigtimedwait() below. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* past a file-size limit (ulimit -f) a write fails with EFBIG instead of
   * killing the process: the append fails and is answered 503, as on a
   * full disk */
  signal(SIGXFSZ, SIG_IGN);

  ag_error err;
  ag_error_clear(&err);
  ag_server *s = NULL;
  ag_status st = ag_server_create(&cfg, &s, &err);
  if (st == AG_OK && (st = ag_server_listen(s, &err)) != AG_OK) {
    ag_server_free(s);
    s = NULL;
  }
  if (st != AG_OK) {
    if (!strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
    else if (!strcmp(err.field, "keys_db"))
      snprintf(err.field, sizeof err.field, "--keys-db");
    else if (!strcmp(err.field, "listen"))
      snprintf(err.field, sizeof err.field, "--listen");
    else if (!strcmp(err.field, "webhook-url"))
      snprintf(err.field, sizeof err.field, "--webhook-url");
    else if (!strcmp(err.field, "webhook-secret-file"))
      snprintf(err.field, sizeof err.field, "--webhook-secret-file");
    ag_cli_print_error("serve", &err);
    if (log_fd > 2)
      close(log_fd);
    return ag_cli_exit_for(st);
  }

  int rc = AG_EXIT_OK;
  /* between signals, the access log lines gathered are written out ten
   * times a second */
  const struct timespec tick = {.tv_sec = 0, .tv_nsec = 100000000};
  for (;;) {
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &tick);
    if (sig < 0) {
      if (errno == EAGAIN)
        ag_server_flush_log(s);
      if (errno == EINTR || errno == EAGAIN)
        continue;
      break;
    }
    if (sig == SIGHUP) {
      ag_error_clear(&err);
      /* logged and recorded by the server; the old data stays on failure */
      ag_server_reload_by(s, "signal:SIGHUP", "", &err);
      continue;
    }
    break; /* SIGTERM, SIGINT */
  }
  if (!ag_server_shutdown(s))
    rc = AG_EXIT_IO;
  ag_server_free(s);
  if (log_fd > 2)
    close(log_fd);
  return rc;
}

int ag_cmd_serve(int argc, char **argv) {
  int rc = ag_cli_config_load("serve", &argc, &argv);
  if (rc != AG_EXIT_OK)
    return rc;
  const char **lists = calloc((size_t)argc, sizeof *lists); /* --lists paths */
  if (!lists) {
    fprintf(stderr, "acegate serve: out of memory\n");
    ag_cli_config_free();
    return AG_EXIT_INTERNAL;
  }
  rc = serve(argc, argv, lists);
  free(lists);
  ag_cli_config_free();
  return rc;
}
