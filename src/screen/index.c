/*
 * index.c - opens and validates index images, and the handle around one.
 *
 * Validation is complete before a handle exists: magic, version, header
 * and section sizes, the SHA-256 of the contents, then every offset and id
 * a query can follow (strings, entries, names, word ids, postings,
 * deletion entries, hash buckets). A corrupt or hostile file is therefore
 * an AG_ERR_LIST error, never an out-of-bounds read at query time; the
 * matcher can trust the view without checks of its own.
 */
#include "screen_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ag_screen {
  sx_view v;
  void *map; /* mmap'ed index file, or NULL */
  size_t map_len;
  void *heap; /* heap image, or NULL */
  ag_screen_list_info *lists;
  ag_screen_index_info info;
  char *origin;
  char built[24];
  char checksum[65];
  sx_digest_slot *digests; /* one an entry: filled as they are first asked for */
};

const sx_view *sx_handle_view(const ag_screen *s) {
  return &s->v;
}

sx_digest_slot *sx_handle_digests(const ag_screen *s) {
  return s->digests;
}

static ag_status bad(ag_error *err, const char *what, const char *why) {
  return ag_error_set(err, AG_ERR_LIST, what, "%s: corrupt index: %s", what, why);
}

static bool sec_ok(const sx_header *h, size_t size, int sec, size_t elem, size_t count) {
  uint64_t off = h->sec[sec].off, len = h->sec[sec].size;
  if (off % 8 || off < h->header_size || off > size || len > size - off)
    return false;
  if (elem && (count > SIZE_MAX / elem || len != (uint64_t)(elem * count)))
    return false;
  return true;
}

static bool bucket_ok(const uint32_t *b, uint32_t bits, uint32_t n) {
  size_t nb = (size_t)1 << bits;
  for (size_t i = 0; i < nb; i++)
    if (b[i] > b[i + 1])
      return false;
  return b[nb] == n && b[0] <= n;
}

/* Opens a view; full: also the checksum and every offset and id. The
 * built-in image is checked in full when it is built (the build tool
 * re-opens what it wrote, as every update does) and is then part of the
 * binary, as unchangeable as the code: on start only its header and
 * section table are read (a third of a cold start was its SHA-256). */
static ag_status view_open(sx_view *v, const void *data, size_t size, const char *what, bool full,
                           ag_error *err) {
  memset(v, 0, sizeof *v);
  const unsigned char *base = data;
  if (!data || size < sizeof(sx_header))
    return bad(err, what, "shorter than its header");
  if ((uintptr_t)data % 8)
    return bad(err, what, "misaligned image");
  const sx_header *h = data;
  if (memcmp(h->magic, SX_MAGIC, 8))
    return ag_error_set(err, AG_ERR_LIST, what, "%s: not an acegate list index (bad magic)", what);
  if (h->version != SX_VERSION)
    return ag_error_set(err, AG_ERR_LIST, what,
                        "%s: index format version %u, this build reads version %u (rebuild it "
                        "with 'acegate lists update')",
                        what, h->version, SX_VERSION);
  if (h->header_size != sizeof(sx_header))
    return bad(err, what, "wrong header size");
  if (h->file_size != size)
    return ag_error_set(err, AG_ERR_LIST, what,
                        "%s: corrupt index: %zu bytes, header says %llu (truncated?)", what, size,
                        (unsigned long long)h->file_size);
  uint8_t dg[32];
  if (full && !sx_sha256(base + h->header_size, size - h->header_size, dg))
    return ag_error_set(err, AG_ERR_INTERNAL, what, "%s: cannot compute SHA-256", what);
  if (full && memcmp(dg, h->sha256, 32))
    return bad(err, what, "checksum mismatch");
  if (h->tok_bits < 1 || h->tok_bits > 24 || h->del_bits < 1 || h->del_bits > 24)
    return bad(err, what, "bucket sizes");
  if (!sec_ok(h, size, SX_SEC_STR, 0, 0) ||
      !sec_ok(h, size, SX_SEC_LISTS, sizeof(sx_list), h->n_lists) ||
      !sec_ok(h, size, SX_SEC_ENTRIES, sizeof(sx_entry), h->n_entries) ||
      !sec_ok(h, size, SX_SEC_NAMES, sizeof(sx_name), h->n_names) ||
      !sec_ok(h, size, SX_SEC_NAMETOKS, 4, h->n_nametoks) ||
      !sec_ok(h, size, SX_SEC_TOKENS, sizeof(sx_token), h->n_tokens) ||
      !sec_ok(h, size, SX_SEC_TOKBUCKETS, 4, ((size_t)1 << h->tok_bits) + 1) ||
      !sec_ok(h, size, SX_SEC_POSTINGS, 4, h->n_postings) ||
      !sec_ok(h, size, SX_SEC_DELS, sizeof(sx_del), h->n_dels) ||
      !sec_ok(h, size, SX_SEC_DELBUCKETS, 4, ((size_t)1 << h->del_bits) + 1))
    return bad(err, what, "section table");
  v->base = base;
  v->size = size;
  v->h = h;
  v->str = (const char *)base + h->sec[SX_SEC_STR].off;
  v->str_size = h->sec[SX_SEC_STR].size;
  v->lists = (const sx_list *)(base + h->sec[SX_SEC_LISTS].off);
  v->entries = (const sx_entry *)(base + h->sec[SX_SEC_ENTRIES].off);
  v->names = (const sx_name *)(base + h->sec[SX_SEC_NAMES].off);
  v->nametoks = (const uint32_t *)(base + h->sec[SX_SEC_NAMETOKS].off);
  v->tokens = (const sx_token *)(base + h->sec[SX_SEC_TOKENS].off);
  v->tokbuckets = (const uint32_t *)(base + h->sec[SX_SEC_TOKBUCKETS].off);
  v->postings = (const uint32_t *)(base + h->sec[SX_SEC_POSTINGS].off);
  v->dels = (const sx_del *)(base + h->sec[SX_SEC_DELS].off);
  v->delbuckets = (const uint32_t *)(base + h->sec[SX_SEC_DELBUCKETS].off);
  if (!full)
    return AG_OK;

  size_t ss = v->str_size;
  if (ss < 1 || v->str[0] || v->str[ss - 1])
    return bad(err, what, "string pool");
  if (!h->n_lists || !h->n_entries)
    return bad(err, what, "no lists");
#define STR_OK(o) ((o) < ss)
  for (uint32_t i = 0; i < h->n_lists; i++) {
    const sx_list *l = &v->lists[i];
    if (!STR_OK(l->code) || !STR_OK(l->name) || !STR_OK(l->files) || !STR_OK(l->format) ||
        !STR_OK(l->date) || !STR_OK(l->sha256))
      return bad(err, what, "list record");
  }
  for (uint32_t i = 0; i < h->n_entries; i++) {
    const sx_entry *e = &v->entries[i];
    if (e->list >= h->n_lists || e->first_name > h->n_names ||
        e->name_count > h->n_names - e->first_name)
      return bad(err, what, "entry record");
    for (int f = 0; f < SX_F_COUNT; f++)
      if (!STR_OK(e->f[f]))
        return bad(err, what, "entry string");
  }
  for (uint32_t i = 0; i < h->n_names; i++) {
    const sx_name *n = &v->names[i];
    if (n->entry >= h->n_entries || !STR_OK(n->display) || !STR_OK(n->simple) ||
        n->tok_off > h->n_nametoks || n->ntok > h->n_nametoks - n->tok_off ||
        n->ntok > SX_NORM_TOKENS_MAX || !isfinite(n->weight) || n->weight < 0)
      return bad(err, what, "name record");
    /* names of an entry are contiguous and in entry order (dedup relies on it) */
    if (i && n->entry < v->names[i - 1].entry)
      return bad(err, what, "name order");
  }
  for (uint32_t i = 0; i < h->n_nametoks; i++)
    if (v->nametoks[i] >= h->n_tokens)
      return bad(err, what, "word id");
  for (uint32_t i = 0; i < h->n_tokens; i++) {
    const sx_token *t = &v->tokens[i];
    if (!STR_OK(t->str) || t->len > ss - 1 - t->str || t->len == 0 || t->len > 64 ||
        t->post_off > h->n_postings || t->post_len > h->n_postings - t->post_off ||
        !isfinite(t->weight) || t->weight <= 0 || t->weight > 100)
      return bad(err, what, "word record");
  }
  for (uint32_t i = 0; i < h->n_postings; i++)
    if (v->postings[i] >= h->n_names)
      return bad(err, what, "posting");
  for (uint32_t i = 0; i < h->n_dels; i++)
    if (v->dels[i].token >= h->n_tokens)
      return bad(err, what, "deletion record");
  if (!bucket_ok(v->tokbuckets, h->tok_bits, h->n_tokens) ||
      !bucket_ok(v->delbuckets, h->del_bits, h->n_dels))
    return bad(err, what, "hash buckets");
#undef STR_OK
  return AG_OK;
}

ag_status sx_view_open(sx_view *v, const void *data, size_t size, const char *what, ag_error *err) {
  return view_open(v, data, size, what, true, err);
}

uint32_t sx_view_find_hashed(const sx_view *v, uint32_t h, const char *w, size_t len) {
  uint32_t b = h >> (32 - v->h->tok_bits);
  for (uint32_t i = v->tokbuckets[b]; i < v->tokbuckets[b + 1]; i++) {
    const sx_token *t = &v->tokens[i];
    if (t->hash == h && t->len == len && !memcmp(v->str + t->str, w, len))
      return i;
  }
  return UINT32_MAX;
}

/* ---- the handle ---- */

static ag_status finish_open(ag_screen *s, const char *origin, ag_error *err) {
  const sx_view *v = &s->v;
  s->origin = strdup(origin);
  s->lists = calloc(v->h->n_lists, sizeof *s->lists);
  /* calloc'd pages cost nothing until an entry's digest is kept in them */
  s->digests = calloc(v->h->n_entries ? v->h->n_entries : 1, sizeof *s->digests);
  if (!s->origin || !s->lists || !s->digests)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory opening the lists");
  for (uint32_t i = 0; i < v->h->n_lists; i++) {
    const sx_list *l = &v->lists[i];
    s->lists[i] = (ag_screen_list_info){.code = sx_str(v, l->code),
                                        .name = sx_str(v, l->name),
                                        .files = sx_str(v, l->files),
                                        .format = sx_str(v, l->format),
                                        .date = sx_str(v, l->date),
                                        .sha256 = sx_str(v, l->sha256),
                                        .entries = l->entries,
                                        .names = l->names};
  }
  time_t t = (time_t)v->h->built;
  struct tm tm;
  if (gmtime_r(&t, &tm))
    strftime(s->built, sizeof s->built, "%Y-%m-%dT%H:%M:%SZ", &tm);
  sx_hex(v->h->sha256, 32, s->checksum);
  s->info = (ag_screen_index_info){.origin = s->origin,
                                   .built = s->built,
                                   .checksum = s->checksum,
                                   .entries = v->h->n_entries,
                                   .names = v->h->n_names,
                                   .tokens = v->h->n_tokens,
                                   .bytes = v->size};
  return AG_OK;
}

void ag_screen_close(ag_screen *s) {
  if (!s)
    return;
  if (s->map)
    munmap(s->map, s->map_len);
  free(s->heap);
  free(s->lists);
  free(s->digests);
  free(s->origin);
  free(s);
}

static ag_status open_image(const void *data, size_t len, bool copy, const char *origin, bool full,
                            ag_screen **out, ag_error *err) {
  *out = NULL;
  ag_screen *s = calloc(1, sizeof *s);
  if (!s)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory opening the lists");
  const void *img = data;
  if (copy) {
    /* aligned heap copy: the image is read in place as structs */
    s->heap = aligned_alloc(64, (len + 63) & ~(size_t)63);
    if (!s->heap && len) {
      free(s);
      return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory opening the lists");
    }
    if (len)
      memcpy(s->heap, data, len);
    img = s->heap;
  }
  ag_status st = view_open(&s->v, img, len, origin, full, err);
  if (!st)
    st = finish_open(s, origin, err);
  if (st) {
    ag_screen_close(s);
    return st;
  }
  *out = s;
  return AG_OK;
}

ag_status sx_open_image(const void *data, size_t len, bool copy, const char *origin,
                        ag_screen **out, ag_error *err) {
  return open_image(data, len, copy, origin, true, out, err);
}

ag_status ag_screen_open_index_mem(const void *data, size_t len, ag_screen **out, ag_error *err) {
  return sx_open_image(data, len, true, "memory", out, err);
}

ag_status ag_screen_open_builtin(ag_screen **out, ag_error *err) {
  size_t len;
  const unsigned char *img = sx_builtin_image(&len);
  *out = NULL;
  if (!img || !len)
    return ag_error_set(err, AG_ERR_NOTFOUND, "lists",
                        "this build has no built-in lists; load list files with --lists or run "
                        "'acegate lists update FILE...'");
  return open_image(img, len, false, "built-in", false, out, err);
}

ag_status ag_screen_open_index(const char *path, ag_screen **out, ag_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
  if (fd < 0)
    return ag_error_set(err, errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO, path,
                        "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return ag_error_set(err, AG_ERR_IO, path, "%s: not a regular file", path);
  }
  size_t len = (size_t)st.st_size;
  if (len < sizeof(sx_header)) {
    close(fd);
    return bad(err, path, "shorter than its header");
  }
  void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED)
    return ag_error_set(err, AG_ERR_IO, path, "%s: cannot map: %s", path, strerror(errno));
  ag_screen *s = calloc(1, sizeof *s);
  if (!s) {
    munmap(m, len);
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory opening the lists");
  }
  s->map = m;
  s->map_len = len;
  ag_status rc = sx_view_open(&s->v, m, len, path, err);
  if (!rc)
    rc = finish_open(s, path, err);
  if (rc) {
    ag_screen_close(s);
    return rc;
  }
  *out = s;
  return AG_OK;
}

size_t ag_screen_list_count(const ag_screen *s) {
  return s ? s->v.h->n_lists : 0;
}

const ag_screen_list_info *ag_screen_list(const ag_screen *s, size_t i) {
  return s && i < s->v.h->n_lists ? &s->lists[i] : NULL;
}

const ag_screen_index_info *ag_screen_info(const ag_screen *s) {
  return s ? &s->info : NULL;
}

const char *ag_screen_level_name(ag_screen_level level) {
  switch (level) {
  case AG_SCREEN_LEVEL_CONFIDENT: return "confident";
  case AG_SCREEN_LEVEL_POSSIBLE: return "possible";
  default: return "none";
  }
}
