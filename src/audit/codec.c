/*
 * codec.c - decisions stored compressed (zstd with a dictionary).
 *
 * A decision is about 3.5 KB of JSON, most of it reasoning texts that recur
 * from one decision to the next, so against a dictionary trained on
 * decisions (data/audit/decisions.dict, compiled in) it shrinks twenty-fold
 * or more. The log keeps every dictionary it has used in audit_dict, keyed
 * by the id zstd writes into each frame, so a record reads back with the
 * dictionary it was written with whatever the binary ships later.
 *
 * The decision column holds either the JSON itself or one zstd frame. A
 * frame starts with 28 B5 2F FD; 0xB5 cannot start a UTF-8 character and
 * stored JSON is always valid UTF-8, so the first four bytes tell which.
 * Decisions are stored as they are when compression would not make them
 * smaller. The hash chain covers the decision as sent, never the stored
 * bytes, so a tampered frame or dictionary shows up as changed content.
 *
 * Locking: the compression context is the writer's (wmu held); the
 * decompression dictionaries are shared by all readers under zmu, and each
 * connection has its own decompression context (audit_conn.unpack), kept
 * from one read to the next.
 */
#include "audit_int.h"

#include <stdlib.h>
#include <string.h>

/* Fast and still compact with a dictionary: 3.5 KB decisions to about
 * 130 bytes at level 1; higher levels save a few bytes for much more time. */
#define PACK_LEVEL 1
/* Shorter decisions are stored as they are: a frame header alone is ~10 bytes. */
#define PACK_MIN 64

/* data/audit/decisions.dict, compiled in by the build (tools/embed.c) */
extern const ag_embedded_file ag_audit_dict_embedded[];

static const unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};

struct audit_ddict {
  unsigned id;
  ZSTD_DDict *dd;
};

unsigned audit_codec_dict_id(const void **data, size_t *len) {
  const ag_embedded_file *f = &ag_audit_dict_embedded[0];
  *data = f->data;
  *len = f->len;
  return ZSTD_getDictID_fromDict(f->data, f->len);
}

ag_status audit_codec_prepare(ag_audit_db *db, ag_error *err) {
  const ag_embedded_file *f = &ag_audit_dict_embedded[0];
  db->zc = ZSTD_createCCtx();
  db->cdict = ZSTD_createCDict(f->data, f->len, PACK_LEVEL);
  if (!db->zc || !db->cdict)
    return ag_error_set(err, AG_ERR_NOMEM, "dict", "out of memory");
  return AG_OK;
}

ag_status audit_codec_open(ag_audit_db *db, ag_error *err) {
  const void *data;
  size_t len;
  unsigned id = audit_codec_dict_id(&data, &len);
  if (!id)
    return ag_error_set(err, AG_ERR_INTERNAL, "dict",
                        "the compiled-in dictionary is not a zstd dictionary");
  /* A read-only log is read with the dictionaries it holds, and only those:
   * one missing from it must show up in verify, not be put back. */
  if (db->readonly)
    return AG_OK;
  /* The log must hold the dictionary before any record uses it; looked up
   * first, so opening a log that has it writes nothing. */
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->w.h, "SELECT 1 FROM audit_dict WHERE id = ?1", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  s = NULL;
  if (rc == SQLITE_DONE &&
      (rc = sqlite3_prepare_v2(db->w.h, "INSERT INTO audit_dict(id, dict) VALUES(?1, ?2)", -1, &s,
                               NULL)) == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_blob(s, 2, data, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(s);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return audit_db_error(err, db->w.h, "store the compression dictionary");
  return audit_codec_prepare(db, err);
}

void audit_codec_close(ag_audit_db *db) {
  ZSTD_freeCCtx(db->zc);
  ZSTD_freeCDict(db->cdict);
  for (size_t i = 0; i < db->nddicts; i++)
    ZSTD_freeDDict(db->ddicts[i].dd);
  free(db->ddicts);
  free(db->zbuf);
  db->zc = NULL;
  db->cdict = NULL;
  db->ddicts = NULL;
  db->nddicts = 0;
  db->zbuf = NULL;
  db->zcap = 0;
}

/* Compresses src into dst (cap at least ZSTD_compressBound(len)) with the
 * log's dictionary; the frame's length, or 0 when the decision is stored as
 * it is (short, or no smaller compressed). Both paths below make the same
 * frame through here. */
static size_t pack_frame(const ag_audit_db *db, ZSTD_CCtx *zc, const char *src, size_t len,
                         char *dst, size_t cap) {
  if (len < PACK_MIN || !db->cdict)
    return 0;
  size_t n = ZSTD_compress_usingCDict(zc, dst, cap, src, len, db->cdict);
  return ZSTD_isError(n) || n >= len ? 0 : n;
}

audit_bytes audit_pack(ag_audit_db *db, audit_bytes raw) {
  if (raw.n < PACK_MIN)
    return raw;
  size_t bound = ZSTD_compressBound(raw.n);
  if (bound > db->zcap) {
    char *p = realloc(db->zbuf, bound);
    if (!p)
      return raw; /* stored as it is: still a valid record */
    db->zbuf = p;
    db->zcap = bound;
  }
  size_t n = pack_frame(db, db->zc, raw.p, raw.n, db->zbuf, db->zcap);
  return n ? (audit_bytes){db->zbuf, n} : raw;
}

struct ag_audit_packer {
  ZSTD_CCtx *zc;
};

ag_audit_packer *ag_audit_packer_new(void) {
  ag_audit_packer *p = calloc(1, sizeof *p);
  if (p && !(p->zc = ZSTD_createCCtx())) {
    free(p);
    p = NULL;
  }
  return p;
}

void ag_audit_packer_free(ag_audit_packer *p) {
  if (!p)
    return;
  ZSTD_freeCCtx(p->zc);
  free(p);
}

size_t audit_pack_append(ag_audit_db *db, audit_bytes raw, ag_buf *out) {
  if (raw.n < PACK_MIN || !db->cdict || !ag_buf_reserve(out, ZSTD_compressBound(raw.n)))
    return 0;
  size_t n = pack_frame(db, db->zc, raw.p, raw.n, out->data + out->len, ZSTD_compressBound(raw.n));
  out->len += n;
  return n;
}

/* The same frame audit_pack() makes: the prepared dictionary is read-only,
 * so threads share it, each with its own context. */
ag_status ag_audit_pack(ag_audit_db *db, ag_audit_packer *p, const char *decision, size_t len,
                        ag_buf *out, size_t *packed_len, ag_error *err) {
  *packed_len = 0;
  if (!db || !p || !out || (!decision && len))
    return ag_error_set(err, AG_ERR_INPUT, "decision", "missing argument");
  if (len < PACK_MIN || !db->cdict) /* a log without the dictionary stores them as they are */
    return AG_OK;
  size_t bound = ZSTD_compressBound(len);
  if (!ag_buf_reserve(out, bound))
    return ag_error_set(err, AG_ERR_NOMEM, "decision", "out of memory");
  *packed_len = pack_frame(db, p->zc, decision, len, out->data + out->len, bound);
  out->len += *packed_len;
  return AG_OK;
}

bool audit_packed_fits(const void *packed, size_t packed_len, size_t decision_len) {
  if (packed_len < sizeof zstd_magic || memcmp(packed, zstd_magic, sizeof zstd_magic) != 0)
    return false;
  return ZSTD_getFrameContentSize(packed, packed_len) == decision_len;
}

/* The dictionary with this id: cached, or read from the log by fetch. */
static const ZSTD_DDict *ddict_get(ag_audit_db *db, audit_dict_fetch fetch, void *ctx,
                                   unsigned id) {
  const ZSTD_DDict *found = NULL;
  pthread_mutex_lock(&db->zmu);
  for (size_t i = 0; i < db->nddicts && !found; i++)
    if (db->ddicts[i].id == id)
      found = db->ddicts[i].dd;
  if (!found) {
    ZSTD_DDict *dd = fetch(ctx, id);
    struct audit_ddict *v = dd ? realloc(db->ddicts, (db->nddicts + 1) * sizeof *v) : NULL;
    if (v) {
      db->ddicts = v;
      v[db->nddicts++] = (struct audit_ddict){id, dd};
      found = dd;
    } else {
      ZSTD_freeDDict(dd);
    }
  }
  pthread_mutex_unlock(&db->zmu);
  return found;
}

static ZSTD_DDict *sqlite_dict(void *ctx, unsigned id) {
  sqlite3_stmt *s = NULL;
  ZSTD_DDict *dd = NULL;
  if (sqlite3_prepare_v2(ctx, "SELECT dict FROM audit_dict WHERE id = ?1", -1, &s, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW)
      dd = ZSTD_createDDict(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
  }
  sqlite3_finalize(s);
  return dd;
}

ag_status audit_unpack(ag_audit_db *db, sqlite3 *h, audit_unpacker *u, audit_bytes *b,
                       ag_error *err) {
  return audit_unpack_with(db, sqlite_dict, h, u, b, err);
}

ag_status audit_unpack_with(ag_audit_db *db, audit_dict_fetch fetch, void *ctx, audit_unpacker *u,
                            audit_bytes *b, ag_error *err) {
  if (b->n < sizeof zstd_magic || memcmp(b->p, zstd_magic, sizeof zstd_magic) != 0)
    return AG_OK; /* stored as sent */
  unsigned long long size = ZSTD_getFrameContentSize(b->p, b->n);
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > AG_AUDIT_BODY_MAX)
    return ag_error_set(err, AG_ERR_DB, "decision", "the stored decision is not a valid frame");
  unsigned id = ZSTD_getDictID_fromFrame(b->p, b->n);
  const ZSTD_DDict *dd = id ? ddict_get(db, fetch, ctx, id) : NULL;
  if (id && !dd)
    return ag_error_set(err, AG_ERR_DB, "decision",
                        "the dictionary %u the decision was stored with is not in the log's"
                        " audit_dict, or may not be read there",
                        id);
  if (!u->dctx && !(u->dctx = ZSTD_createDCtx()))
    return ag_error_set(err, AG_ERR_NOMEM, "decision", "out of memory");
  if (size + 1 > u->cap) {
    char *p = realloc(u->p, (size_t)size + 1);
    if (!p)
      return ag_error_set(err, AG_ERR_NOMEM, "decision", "out of memory");
    u->p = p;
    u->cap = (size_t)size + 1;
  }
  size_t n = ZSTD_decompress_usingDDict(u->dctx, u->p, u->cap, b->p, b->n, dd);
  if (ZSTD_isError(n) || n != size)
    return ag_error_set(err, AG_ERR_DB, "decision", "the stored decision does not decompress (%s)",
                        ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
  u->p[n] = '\0';
  *b = (audit_bytes){u->p, n};
  return AG_OK;
}

void audit_unpacker_free(audit_unpacker *u) {
  ZSTD_freeDCtx(u->dctx);
  free(u->p);
  *u = (audit_unpacker){0};
}
