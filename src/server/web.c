/*
 * web.c - the workbench: the page at "/" and its files under /ui/, compiled
 * into the binary (web/ and the rule tables it shows, $(BUILD)/gen/web_files.c),
 * so `serve` needs no files beside it. The pages call the /v1 API with the
 * key the user signs in with; nothing here needs one. GET /v1/whoami tells
 * the page whose key it holds.
 */
#include "server_int.h"

#include <string.h>

extern const ag_embedded_file ag_web_files[];
extern const size_t ag_web_files_count;

static const char *content_type(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".tsv", "text/tab-separated-values; charset=utf-8"},
      {".svg", "image/svg+xml"},
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(dot, types[i].ext))
      return types[i].type;
  return "application/octet-stream";
}

/* GET / and GET /ui/{file} */
srv_next srv_h_web(srv_req *r) {
  const char *name = r->route == R_WEB_INDEX ? "index.html" : r->param;
  for (size_t i = 0; i < ag_web_files_count; i++) {
    const ag_embedded_file *f = &ag_web_files[i];
    if (strcmp(f->name, name) != 0)
      continue;
    ag_buf_reset(&r->out);
    ag_buf_append(&r->out, f->data, f->len);
    r->status = 200;
    r->content_type_out = content_type(name);
    r->web_page = true;
    return SRV_DONE;
  }
  srv_error(r, 404, "not_found", NULL, "no such resource: %.200s", r->path);
  return SRV_DONE;
}

/* GET /v1/whoami: the key's id, name and role, never the key */
srv_next srv_h_whoami(srv_req *r) {
  ag_buf *b = &r->out;
  ag_buf_reset(b);
  ag_buf_puts(b, "{\"id\":");
  ag_buf_json_cstr(b, r->key.id);
  ag_buf_puts(b, ",\"name\":");
  ag_buf_json_cstr(b, r->key.name);
  ag_buf_puts(b, ",\"role\":");
  ag_buf_json_cstr(b, ag_keys_role_name(r->key.role));
  ag_buf_puts(b, "}");
  r->status = 200;
  r->content_type_out = "application/json";
  return SRV_DONE;
}
