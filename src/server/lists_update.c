/*
 * lists_update.c - POST /v1/lists:update: an administrator installs a
 * list file sent as the body through the guarded update (the same as
 * `acegate lists update`): the shrink guard, refusal unless forced, one
 * audit record of kind lists, then the service reloads, which records the
 * reload and re-screens the party registry against what changed.
 */
#include "server_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* one update at a time: each compares against the lists in force */
static pthread_mutex_t update_mu = PTHREAD_MUTEX_INITIALIZER;

/* The extension the body is stored under, from its Content-Type (the
 * loader recognises the format from the content itself). */
const char *srv_lists_upload_ext(const char *ct) {
  if (!ct)
    return NULL;
  size_t n = strcspn(ct, "; \t");
  if (n == 8 && !strncasecmp(ct, "text/csv", 8))
    return "csv";
  if (n == 16 && !strncasecmp(ct, "application/json", 16))
    return "json";
  return NULL;
}

static void put_changes(ag_buf *b, const ag_pipeline_lists_report *rep) {
  ag_buf_puts(b, "\"changes\":[");
  for (size_t i = 0; i < rep->n; i++) {
    const ag_pipeline_list_change *c = &rep->lists[i];
    ag_buf_puts(b, i ? ",{\"code\":" : "{\"code\":");
    ag_buf_json_cstr(b, c->code);
    ag_buf_puts(b, ",\"name\":");
    ag_buf_json_cstr(b, c->name);
    ag_buf_printf(b, ",\"before\":%u,\"after\":%u,\"added\":%u,\"removed\":%u,\"changed\":%u}",
                  c->before, c->after, c->added, c->removed, c->changed);
  }
  ag_buf_putc(b, ']');
}

/* The body as a file the loader reads: a private directory under TMPDIR. */
static bool write_body(srv_req *r, const char *ext, char *dir, size_t dcap, char *path,
                       size_t pcap) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, dcap, "%s/acegate-upload-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return false;
  snprintf(path, pcap, "%s/uploaded.%s", dir, ext);
  FILE *f = fopen(path, "wb");
  bool ok = f && (r->body.len == 0 || fwrite(r->body.data, 1, r->body.len, f) == r->body.len);
  if (f && fclose(f))
    ok = false;
  if (!ok) {
    unlink(path);
    rmdir(dir);
  }
  return ok;
}

srv_next srv_h_lists_update(srv_req *r) {
  ag_server *s = r->srv;
  if (s->cfg.no_lists || s->cfg.n_list_paths) {
    srv_error(r, 409, "conflict", NULL,
              "the service screens against %s; lists are updated through the data directory: "
              "start serve with --lists-dir DIR (or neither --lists nor --no-lists)",
              s->cfg.no_lists ? "no lists (--no-lists)" : "files named by --lists");
    return SRV_DONE;
  }
  bool force = false;
  for (size_t i = 0; i < r->nargs; i++) {
    if (strcmp(r->args[i].key, "force") != 0) {
      srv_error(r, 400, "invalid_input", r->args[i].key,
                "unknown query parameter: /v1/lists:update takes force=true|false");
      return SRV_DONE;
    }
    if (!strcmp(r->args[i].value, "true"))
      force = true;
    else if (!strcmp(r->args[i].value, "false"))
      force = false;
    else {
      srv_error(r, 400, "invalid_input", "force", "must be true or false, not %.40s",
                r->args[i].value);
      return SRV_DONE;
    }
  }
  if (r->args_overflow) {
    srv_error(r, 400, "invalid_input", NULL, "too many query parameters");
    return SRV_DONE;
  }
  const char *ext = srv_lists_upload_ext(r->content_type);
  if (!ext) {
    srv_error(r, 415, "unsupported_media_type", "content-type",
              "the list file must be text/csv or application/json");
    return SRV_DONE;
  }
  /* the declared type must be what the body is: JSON opens with { or [ */
  const char *b = r->body.data ? r->body.data : "";
  size_t k = 0;
  if (r->body.len >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3))
    k = 3;
  while (k < r->body.len && strchr(" \t\r\n", b[k]))
    k++;
  bool looks_json = k < r->body.len && (b[k] == '{' || b[k] == '[');
  if (k == r->body.len) {
    srv_error(r, 400, "invalid_input", "body", "the list file is empty");
    return SRV_DONE;
  }
  if (looks_json != !strcmp(ext, "json")) {
    srv_error(r, 400, "invalid_input", "content-type",
              "the body is %s, but the Content-Type says %s", looks_json ? "JSON" : "not JSON",
              ext);
    return SRV_DONE;
  }

  char dir[512], path[600];
  if (!write_body(r, ext, dir, sizeof dir, path, sizeof path)) {
    srv_error(r, 503, "unavailable", NULL, "the list file could not be stored for loading: %s",
              strerror(errno));
    return SRV_DONE;
  }
  const char *paths[] = {path};
  ag_pipeline_lists_update_options o = {.data_dir = s->cfg.lists_dir,
                                        .paths = paths,
                                        .n = 1,
                                        .force = force,
                                        .max_shrink = AG_PIPELINE_MAX_SHRINK,
                                        .db = s->db,
                                        .actor = r->key.id,
                                        .client = r->client};
  ag_pipeline_lists_report rep;
  ag_error err;
  ag_error_clear(&err);
  pthread_mutex_lock(&update_mu);
  ag_status st = ag_pipeline_lists_update(&o, &rep, &err);
  /* the new index answers once the service has reloaded: recorded, and
   * the party registry re-screened against what it added or changed */
  ag_error rerr;
  ag_error_clear(&rerr);
  ag_status rst = st == AG_OK ? ag_server_reload_by(s, r->key.id, r->client, &rerr) : AG_OK;
  pthread_mutex_unlock(&update_mu);
  unlink(path);
  rmdir(dir);

  ag_buf_reset(&r->out);
  const char *result = rep.result ? rep.result : "";
  /* a refusal is only answered as one once it is on record */
  bool recorded = rep.audit_id[0] && (!strcmp(result, "refused") || !strcmp(result, "invalid"));
  if (st != AG_OK && !recorded) {
    srv_fail(r, &err); /* the audit log, or the lists in force could not be read */
    if (r->status < 500)
      r->status = 500;
  } else if (st != AG_OK) {
    bool refused = !strcmp(result, "refused");
    char msg[2300];
    snprintf(msg, sizeof msg, "%s%s", refused ? rep.reason : err.reason,
             refused ? " (the lists in force are unchanged; force=true installs the file anyway)"
                     : " (the lists in force are unchanged)");
    ag_buf_puts(&r->out, "{\"error\":{\"code\":");
    ag_buf_json_cstr(&r->out, refused ? "lists_update_refused" : "invalid_list");
    ag_buf_puts(&r->out, ",\"message\":");
    ag_buf_json_cstr(&r->out, msg);
    ag_buf_puts(&r->out, ",\"field\":\"lists\"},\"result\":");
    ag_buf_json_cstr(&r->out, result);
    ag_buf_puts(&r->out, ",");
    put_changes(&r->out, &rep);
    ag_buf_puts(&r->out, ",\"audit_id\":");
    ag_buf_json_cstr(&r->out, rep.audit_id[0] ? rep.audit_id : NULL);
    ag_buf_putc(&r->out, '}');
    r->status = refused ? 409 : 422;
    r->content_type_out = "application/json";
  } else if (rst != AG_OK) {
    srv_error(r, 500, "reload_failed", NULL,
              "the lists were installed (audit id %s) but the service could not reload them: "
              "%.300s; the previous lists still answer",
              rep.audit_id, rerr.reason);
  } else {
    ag_buf_puts(&r->out, "{\"result\":\"updated\",\"forced_past\":");
    if (rep.reason[0])
      ag_buf_json_cstr(&r->out, rep.reason);
    else
      ag_buf_puts(&r->out, "null");
    ag_buf_puts(&r->out, ",");
    put_changes(&r->out, &rep);
    ag_buf_puts(&r->out, ",\"index_sha256\":");
    ag_buf_json_cstr(&r->out, rep.index_after);
    ag_buf_puts(&r->out, ",\"audit_id\":");
    ag_buf_json_cstr(&r->out, rep.audit_id);
    ag_buf_putc(&r->out, '}');
    r->status = 200;
    r->content_type_out = "application/json";
  }
  ag_pipeline_lists_report_free(&rep);
  return SRV_DONE;
}
