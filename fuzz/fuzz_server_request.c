/*
 * fuzz_server_request.c - libFuzzer target: any bytes as an HTTP request to
 * the service, through routing, keys, body and query decoding, the
 * handlers and the audit log (ag_server_handle). The first byte chooses the
 * route and the key; the rest is the body, the query string or the path
 * parameter; selector 7 takes "METHOD TARGET\n" from the input as well.
 * Searches and exports (selectors 3 and 5) go to a second service on a
 * file log of 300 records with its search index built, so that filters,
 * cursors and the other query parameters reach the index's code.
 *
 * Whatever comes in, the service must answer with a status it documents
 * and, except for exports and metrics, a valid JSON body; an error is
 * {"error":{...}}; a 200 for a check or screening carries its audit id
 * first. No crash, leak or undefined behaviour.
 */
#include "acegate/server.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ag_server *srv, *srv_log; /* in-memory log; file log with an index */
static char log_dir[64], log_bearer[AG_KEYS_TOKEN_MAX + 8]; /* an auditor of srv_log */
static char bearer[3][AG_KEYS_TOKEN_MAX + 8]; /* admin, checker, auditor */
static char list_path[64];
static unsigned runs;

static void remove_list(void) {
  unlink(list_path);
}

static void write_list(void) {
  snprintf(list_path, sizeof list_path, "/tmp/fuzz_server_list_XXXXXX");
  int fd = mkstemp(list_path);
  if (fd < 0)
    abort();
  static const char csv[] =
      "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
      "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
      "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
      "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
      "source_information_url,ids\n"
      ",Entity List (EL) - Bureau of Industry and Security,,,,\"Huawei Technologies Co., Ltd. "
      "(Huawei)\",,CN,84 FR 22963,,,,For all items subject to the EAR,Presumption of denial,,,,,"
      ",,,https://www.bis.gov,Huawei Technology,,,,,,\n"
      ",Denied Persons List (DPL) - Bureau of Industry and Security,,,,Acme Export Diversion "
      "LLC,,US,,,,,,,,,,,,,,,,,,,,,\n";
  if (write(fd, csv, sizeof csv - 1) != (ssize_t)(sizeof csv - 1))
    abort();
  close(fd);
  atexit(remove_list);
}

static void remove_log(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", log_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", log_dir);
}

/* A file log with 300 records of a few destinations, ECCNs, outcomes and
 * dates, indexed, for searches; nothing the fuzzer sends appends to it
 * except key changes, which are refused to the auditor key it uses. */
static void start_log(void) {
  snprintf(log_dir, sizeof log_dir, "/tmp/fuzz_server_log_XXXXXX");
  if (!mkdtemp(log_dir))
    abort();
  atexit(remove_log);
  char path[128];
  snprintf(path, sizeof path, "%s/audit.db", log_dir);
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.db_path = path;
  cfg.no_lists = true;
  cfg.access_log_fd = -1;
  cfg.event_log_fd = -1;
  ag_error err;
  if (ag_server_create(&cfg, &srv_log, &err) != AG_OK) {
    fprintf(stderr, "ag_server_create: %s: %s\n", err.field, err.reason);
    abort();
  }
  ag_audit_db *db = ag_server_keys_db(srv_log);
  static const char *const dest[] = {"BR", "CN", "DE", "IR"}, *const outc[] = {"NLR", "PROHIBITED"};
  ag_audit_record recs[300];
  char asof[300][16], (*ids)[AG_AUDIT_ID_MAX] = malloc(300 * sizeof *ids);
  for (int i = 0; i < 300; i++) {
    snprintf(asof[i], sizeof asof[i], "2026-11-%02d", 1 + i % 28);
    recs[i] = (ag_audit_record){.kind = i % 5 ? AG_AUDIT_CHECK : AG_AUDIT_SCREENING,
                                .request = "{}",
                                .request_len = 2,
                                .decision = "{}",
                                .decision_len = 2,
                                .as_of = asof[i],
                                .destination = dest[i % 4],
                                .eccn = i % 3 ? "4D004" : "5A001.j",
                                .outcome = outc[i % 2]};
  }
  if (!ids || ag_audit_append_batch(db, recs, 300, ids, &err) != AG_OK ||
      ag_audit_index_update(db, &err) != AG_OK)
    abort();
  free(ids);
  char tok[AG_KEYS_TOKEN_MAX];
  if (ag_keys_add(db, AG_KEYS_ROLE_AUDITOR, NULL, tok, NULL, &err) != AG_OK)
    abort();
  snprintf(log_bearer, sizeof log_bearer, "Bearer %s", tok);
}

static void start(void) {
  if (!list_path[0])
    write_list();
  const char *paths[] = {list_path};
  ag_server_config cfg;
  ag_server_config_init(&cfg);
  cfg.db_path = ":memory:";
  cfg.list_paths = paths;
  cfg.n_list_paths = 1;
  cfg.access_log_fd = -1;
  cfg.event_log_fd = -1;
  cfg.rate_limit = 0;
  ag_error err;
  if (ag_server_create(&cfg, &srv, &err) != AG_OK) {
    fprintf(stderr, "ag_server_create: %s: %s\n", err.field, err.reason);
    abort();
  }
  static const ag_keys_role roles[3] = {AG_KEYS_ROLE_ADMIN, AG_KEYS_ROLE_CHECKER,
                                        AG_KEYS_ROLE_AUDITOR};
  for (int i = 0; i < 3; i++) {
    char tok[AG_KEYS_TOKEN_MAX];
    if (ag_keys_add(ag_server_keys_db(srv), roles[i], NULL, tok, NULL, &err) != AG_OK)
      abort();
    snprintf(bearer[i], sizeof bearer[i], "Bearer %s", tok);
  }
}

static bool documented(unsigned status) {
  static const unsigned ok[] = {200, 201, 400, 401, 403, 404, 405, 413, 415, 429, 500, 503};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (status == ok[i])
      return true;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  /* the in-memory log grows with every decision: start afresh now and then */
  if (srv && ++runs % 2000 == 0) {
    ag_server_free(srv);
    srv = NULL;
  }
  if (!srv)
    start();
  if (!srv_log)
    start_log();
  unsigned sel = data[0];
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  const char *auth = (sel >> 3 & 3) == 3 ? NULL : bearer[sel >> 3 & 3];
  char *text = malloc(n + 1); /* NUL-terminated copy for paths and queries */
  char target[512], method[16] = "GET";
  memcpy(text, rest, n);
  text[n] = '\0';
  const char *body = NULL;
  size_t body_len = 0;
  switch (sel & 7) {
  case 0: snprintf(target, sizeof target, "/v1/checks"), body = rest, body_len = n; break;
  case 1: snprintf(target, sizeof target, "/v1/checks:batch"), body = rest, body_len = n; break;
  case 2: snprintf(target, sizeof target, "/v1/screenings"), body = rest, body_len = n; break;
  case 3: snprintf(target, sizeof target, "/v1/audit?%.400s", text); break;
  case 4: snprintf(target, sizeof target, "/v1/checks/%.400s", text); break;
  case 5: snprintf(target, sizeof target, "/v1/audit/export?%.400s", text); break;
  case 6: snprintf(target, sizeof target, "/v1/keys"), body = rest, body_len = n; break;
  default: {
    /* "METHOD TARGET\n" then the body */
    char *nl = memchr(text, '\n', n);
    char *sp = memchr(text, ' ', nl ? (size_t)(nl - text) : n);
    if (!nl || !sp) {
      free(text);
      return 0;
    }
    snprintf(method, sizeof method, "%.*s", (int)(sp - text), text);
    snprintf(target, sizeof target, "%.*s", (int)(nl - sp - 1), sp + 1);
    body = rest + (nl - text) + 1;
    body_len = n - (size_t)(nl - text) - 1;
  }
  }
  if ((sel & 7) <= 2 || (sel & 7) == 6)
    snprintf(method, sizeof method, "POST");
  unsigned status = 0;
  ag_buf out;
  ag_buf_init(&out);
  /* the file log's service has keys of its own: any key given is its
   * auditor's there */
  ag_server *to = srv;
  if ((sel & 7) == 3 || (sel & 7) == 5) {
    to = srv_log;
    auth = auth ? log_bearer : NULL;
  }
  ag_status st = ag_server_handle(to, method, target, auth, body ? "application/json" : NULL, body,
                                  body_len, &status, &out);
  if (st == AG_OK) {
    if (!documented(status))
      abort();
    /* the workbench's pages (/ and /ui/...) are HTML, CSS and JavaScript */
    bool workbench = target[0] == '/' && (target[1] == '\0' || target[1] == '?' ||
                                          !strncmp(target, "/ui/", 4));
    bool is_json = !workbench && !strstr(target, "/metrics") &&
                   !(strstr(target, "/v1/audit/export") && status == 200);
    if (is_json && strcmp(method, "HEAD") != 0) {
      json_error_t jerr;
      json_t *v = json_loadb(out.data ? out.data : "", out.len, 0, &jerr);
      if (!v)
        abort();
      if (status >= 400 && !json_is_object(json_object_get(v, "error")))
        abort();
      json_decref(v);
    }
    if (status == 200 && (sel & 7) <= 2 && (sel & 7) != 1 && !strcmp(method, "POST") &&
        (out.len < 12 || memcmp(out.data, "{\"audit_id\":", 12) != 0))
      abort();
  }
  ag_buf_free(&out);
  free(text);
  return 0;
}
