/*
 * fetch.c - downloading the published list files (acegate/fetch.h).
 *
 * Layout of the directory given (DATA_DIR/fetch for `acegate lists fetch`):
 *   current/NAME           the files of the last download that was kept
 *   current/validators.tsv NAME, URL, ETag, Last-Modified per file, for the
 *                          next conditional request (If-None-Match,
 *                          If-Modified-Since: RFC 9110 13.1)
 *   staging-XXXXXX/NAME    one download in progress
 * A file's validators are used only while its URL is the same and its kept
 * copy exists, so a changed URL or a lost file is downloaded in full.
 */
#include "acegate/fetch.h"

#include <curl/curl.h>
#include <stddef.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define VALIDATORS "validators.tsv"

typedef struct {
  char name[64], url[2048], etag[256], last_modified[64];
} validator;

typedef struct {
  FILE *out;
  size_t bytes;
  char head[64]; /* the body's first bytes, to recognise an HTML page */
  size_t head_len;
  char etag[256], last_modified[64], content_type[128];
} transfer;

static bool ensure_dir(const char *path) {
  return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static void clean_value(char *s) {
  size_t k = 0;
  for (size_t i = 0; s[i]; i++)
    if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
      s[k++] = s[i];
  while (k && s[k - 1] == ' ')
    k--;
  s[k] = '\0';
}

static size_t read_validators(const char *dir, validator *v, size_t cap) {
  char path[4200];
  snprintf(path, sizeof path, "%s/current/%s", dir, VALIDATORS);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[2600];
  size_t n = 0;
  while (n < cap && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *fl[4] = {line, NULL, NULL, NULL};
    for (int k = 1; k < 4; k++) {
      char *t = fl[k - 1] ? strchr(fl[k - 1], '\t') : NULL;
      if (t) {
        *t = '\0';
        fl[k] = t + 1;
      }
    }
    if (!fl[3])
      continue;
    snprintf(v[n].name, sizeof v[n].name, "%.63s", fl[0]);
    snprintf(v[n].url, sizeof v[n].url, "%.2047s", fl[1]);
    snprintf(v[n].etag, sizeof v[n].etag, "%.255s", fl[2]);
    snprintf(v[n].last_modified, sizeof v[n].last_modified, "%.63s", fl[3]);
    n++;
  }
  fclose(f);
  return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  transfer *t = ud;
  size_t n = size * nmemb;
  if (t->head_len < sizeof t->head) {
    size_t k = n < sizeof t->head - t->head_len ? n : sizeof t->head - t->head_len;
    memcpy(t->head + t->head_len, p, k);
    t->head_len += k;
  }
  if (fwrite(p, 1, n, t->out) != n)
    return 0;
  t->bytes += n;
  return n;
}

/* Keeps the headers of the last response (after redirects). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  transfer *t = ud;
  size_t n = size * nmemb;
  if (n > 5 && !strncmp(p, "HTTP/", 5)) {
    t->etag[0] = t->last_modified[0] = t->content_type[0] = '\0';
    return n;
  }
  static const struct {
    const char *name;
    size_t off, cap;
  } keep[] = {{"etag:", offsetof(transfer, etag), sizeof((transfer *)0)->etag},
              {"last-modified:", offsetof(transfer, last_modified),
               sizeof((transfer *)0)->last_modified},
              {"content-type:", offsetof(transfer, content_type),
               sizeof((transfer *)0)->content_type}};
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    size_t kl = strlen(keep[i].name);
    if (n > kl && !strncasecmp(p, keep[i].name, kl)) {
      const char *v = p + kl;
      size_t vl = n - kl;
      while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
      }
      while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
      char *dst = (char *)t + keep[i].off;
      snprintf(dst, keep[i].cap, "%.*s", (int)(vl < keep[i].cap ? vl : keep[i].cap - 1), v);
      clean_value(dst);
    }
  }
  return n;
}

/* An HTML page where a list file was expected: what a portal, proxy or
 * error handler answers with 200. The lists are CSV, TSV or JSON. */
static bool is_html(const transfer *t) {
  if (!strncasecmp(t->content_type, "text/html", 9))
    return true;
  size_t i = 0;
  if (t->head_len >= 3 && !memcmp(t->head, "\xEF\xBB\xBF", 3))
    i = 3;
  while (i < t->head_len && (t->head[i] == ' ' || t->head[i] == '\n' || t->head[i] == '\r' ||
                             t->head[i] == '\t'))
    i++;
  return i < t->head_len && t->head[i] == '<';
}

static bool copy_file(const char *from, const char *to) {
  if (link(from, to) == 0)
    return true;
  FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
  bool ok = in && out;
  char buf[65536];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
    ok = fwrite(buf, 1, n, out) == n;
  ok = ok && !ferror(in);
  if (in)
    fclose(in);
  if (out && fclose(out))
    ok = false;
  struct stat st;
  if (ok && stat(from, &st) == 0) {
    struct timeval tv[2] = {{.tv_sec = st.st_mtime}, {.tv_sec = st.st_mtime}};
    utimes(to, tv);
  }
  return ok;
}

static ag_status fetch_one(CURL *c, const ag_fetch_options *o, const ag_fetch_file *f,
                           const validator *v, size_t nv, ag_fetch_file_result *r,
                           const char *staging, ag_error *err) {
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", f->name);
  int pn = snprintf(r->path, sizeof r->path, "%s/%s", staging, f->name);
  if (pn < 0 || (size_t)pn >= sizeof r->path)
    return ag_error_set(err, AG_ERR_INPUT, f->name, "the staging path is too long");
  if (strncmp(f->url, "http://", 7) && strncmp(f->url, "https://", 8) &&
      strncmp(f->url, "file://", 7))
    return ag_error_set(err, AG_ERR_INPUT, f->name, "%s: not an http, https or file URL", f->url);
  char kept[4200];
  snprintf(kept, sizeof kept, "%s/current/%s", o->dir, f->name);
  const validator *old = NULL;
  for (size_t i = 0; i < nv; i++)
    if (!strcmp(v[i].name, f->name) && !strcmp(v[i].url, f->url) && access(kept, R_OK) == 0)
      old = &v[i];
  transfer t = {.out = fopen(r->path, "wb")};
  if (!t.out)
    return ag_error_set(err, AG_ERR_IO, f->name, "%s: cannot write: %s", r->path,
                        strerror(errno));
  struct curl_slist *hdrs = NULL;
  char h[400];
  if (old && old->etag[0]) {
    snprintf(h, sizeof h, "If-None-Match: %s", old->etag);
    hdrs = curl_slist_append(hdrs, h);
  }
  if (old && old->last_modified[0]) {
    snprintf(h, sizeof h, "If-Modified-Since: %s", old->last_modified);
    hdrs = curl_slist_append(hdrs, h);
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, f->url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 300L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "acegate lists fetch");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it */
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode cc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  bool write_ok = fclose(t.out) == 0;
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (cc == CURLE_PARTIAL_FILE) {
    curl_off_t want = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
    return ag_error_set(err, AG_ERR_IO, f->name,
                        "%s: the transfer ended early (truncated body: %zu of %lld bytes)",
                        f->url, t.bytes, (long long)want);
  }
  if (cc != CURLE_OK)
    return ag_error_set(err, AG_ERR_IO, f->name, "%s: %s", f->url,
                        errbuf[0] ? errbuf : curl_easy_strerror(cc));
  if (!write_ok)
    return ag_error_set(err, AG_ERR_IO, f->name, "%s: cannot write: %s", r->path,
                        strerror(errno));
  if (status == 0 && !strncmp(f->url, "file://", 7))
    status = 200;
  r->status = status;
  if (status == 304) {
    if (!old)
      return ag_error_set(err, AG_ERR_IO, f->name,
                          "%s: HTTP 304 Not Modified, but no copy of it is kept", f->url);
    unlink(r->path);
    if (!copy_file(kept, r->path))
      return ag_error_set(err, AG_ERR_IO, f->name, "%s: cannot copy the kept file: %s", kept,
                          strerror(errno));
    snprintf(t.etag, sizeof t.etag, "%s", old->etag[0] && !t.etag[0] ? old->etag : t.etag);
    if (!t.last_modified[0])
      snprintf(t.last_modified, sizeof t.last_modified, "%s", old->last_modified);
  } else if (status != 200) {
    return ag_error_set(err, AG_ERR_IO, f->name, "%s: HTTP %ld from the server", f->url, status);
  } else if (!t.bytes) {
    return ag_error_set(err, AG_ERR_LIST, f->name, "%s: the server sent an empty file", f->url);
  } else if (is_html(&t)) {
    return ag_error_set(err, AG_ERR_LIST, f->name,
                        "%s: the server sent an HTML page, not a list file (an error or login "
                        "page?)",
                        f->url);
  } else {
    r->changed = true;
    r->bytes = t.bytes;
    curl_off_t ft = -1;
    if (curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft > 0) {
      /* the publication time, where the file itself carries none */
      struct timeval tv[2] = {{.tv_sec = (time_t)ft}, {.tv_sec = (time_t)ft}};
      utimes(r->path, tv);
    }
  }
  struct stat st;
  if (stat(r->path, &st) == 0) {
    r->bytes = (size_t)st.st_size;
    if (t.last_modified[0]) {
      struct tm tm;
      time_t mt = st.st_mtime;
      gmtime_r(&mt, &tm);
      strftime(r->last_modified, sizeof r->last_modified, "%Y-%m-%d", &tm);
    }
  }
  /* the validators to keep, beside the file until commit */
  char vpath[4300];
  snprintf(vpath, sizeof vpath, "%s.validators", r->path);
  FILE *vf = fopen(vpath, "w");
  if (vf) {
    fprintf(vf, "%s\t%s\t%s\t%s\n", f->name, f->url, t.etag, t.last_modified);
    fclose(vf);
  }
  return AG_OK;
}

static void staging_clear(const ag_fetch_result *res) {
  char p[4400];
  for (size_t i = 0; i < res->n; i++) {
    unlink(res->files[i].path);
    snprintf(p, sizeof p, "%s.validators", res->files[i].path);
    unlink(p);
  }
  if (res->staging[0])
    rmdir(res->staging);
}

ag_status ag_fetch_download(const ag_fetch_options *o, ag_fetch_result *res, ag_error *err) {
  memset(res, 0, sizeof *res);
  if (!o->n || o->n > AG_FETCH_FILES_MAX)
    return ag_error_set(err, AG_ERR_INPUT, "files", "between 1 and %d files to fetch",
                        AG_FETCH_FILES_MAX);
  snprintf(res->dir, sizeof res->dir, "%s", o->dir);
  char cur[4200];
  snprintf(cur, sizeof cur, "%s/current", o->dir);
  if (!ensure_dir(o->dir) || !ensure_dir(cur))
    return ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot create: %s", o->dir, strerror(errno));
  snprintf(res->staging, sizeof res->staging, "%s/staging-XXXXXX", o->dir);
  if (!mkdtemp(res->staging)) {
    res->staging[0] = '\0';
    return ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot create a staging directory: %s",
                        o->dir, strerror(errno));
  }
  static validator v[AG_FETCH_FILES_MAX * 2];
  size_t nv = read_validators(o->dir, v, sizeof v / sizeof *v);
  CURL *c = curl_easy_init();
  if (!c) {
    staging_clear(res);
    return ag_error_set(err, AG_ERR_NOMEM, "", "cannot start libcurl");
  }
  ag_status st = AG_OK;
  for (size_t i = 0; i < o->n && !st; i++) {
    st = fetch_one(c, o, &o->files[i], v, nv, &res->files[i], res->staging, err);
    res->n = i + 1;
    res->changed |= res->files[i].changed;
  }
  curl_easy_cleanup(c);
  if (st) {
    staging_clear(res);
    res->staging[0] = '\0';
  }
  return st;
}

ag_status ag_fetch_commit(ag_fetch_result *res, ag_error *err) {
  char vtmp[4320], vpath[4300], line[2600];
  snprintf(vpath, sizeof vpath, "%s/current/%s", res->dir, VALIDATORS);
  snprintf(vtmp, sizeof vtmp, "%s.tmp", vpath);
  FILE *out = fopen(vtmp, "w");
  if (!out)
    return ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot write: %s", vtmp, strerror(errno));
  /* the files fetched this time, then those kept from before */
  for (size_t i = 0; i < res->n; i++) {
    char p[4400];
    snprintf(p, sizeof p, "%s.validators", res->files[i].path);
    FILE *vf = fopen(p, "r");
    if (vf) {
      if (fgets(line, sizeof line, vf))
        fputs(line, out);
      fclose(vf);
    }
  }
  static validator v[AG_FETCH_FILES_MAX * 2];
  size_t nv = read_validators(res->dir, v, sizeof v / sizeof *v);
  for (size_t k = 0; k < nv; k++) {
    bool fetched = false;
    for (size_t i = 0; i < res->n && !fetched; i++)
      fetched = !strcmp(v[k].name, res->files[i].name);
    if (!fetched)
      fprintf(out, "%s\t%s\t%s\t%s\n", v[k].name, v[k].url, v[k].etag, v[k].last_modified);
  }
  ag_status st = AG_OK;
  if (fclose(out))
    st = ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot write: %s", vtmp, strerror(errno));
  for (size_t i = 0; i < res->n && !st; i++) {
    char dst[4400];
    snprintf(dst, sizeof dst, "%s/current/%s", res->dir, res->files[i].name);
    if (rename(res->files[i].path, dst))
      st = ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot keep: %s", dst, strerror(errno));
  }
  if (!st && rename(vtmp, vpath))
    st = ag_error_set(err, AG_ERR_IO, "dir", "%s: cannot write: %s", vpath, strerror(errno));
  staging_clear(res);
  res->staging[0] = '\0';
  return st;
}

void ag_fetch_discard(ag_fetch_result *res) {
  staging_clear(res);
  res->staging[0] = '\0';
}
