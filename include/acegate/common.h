/*
 * acegate/common.h - status codes, error reports, dates, arenas and string
 * buffers shared by every acegate module.
 *
 * Ownership: an ag_error is caller-owned storage (no heap). An ag_arena owns
 * every block it hands out; ag_arena_free() releases them all at once. An
 * ag_buf owns its bytes; ag_buf_free() releases them.
 */
#ifndef ACEGATE_COMMON_H
#define ACEGATE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  AG_OK = 0,
  AG_ERR_INPUT,   /* a request field is missing, malformed or unknown */
  AG_ERR_RULES,   /* a regulation table is malformed or inconsistent */
  AG_ERR_LIST,    /* a screening list file is malformed */
  AG_ERR_LIMIT,   /* input exceeds a documented size limit */
  AG_ERR_IO,      /* a file or stream could not be read or written */
  AG_ERR_NOMEM,   /* memory allocation failed */
  AG_ERR_DB,      /* the audit database failed */
  AG_ERR_AUTH,    /* missing or invalid credentials */
  AG_ERR_FORBIDDEN,
  AG_ERR_NOTFOUND,
  AG_ERR_INTERNAL
} ag_status;

/* A readable name for a status, e.g. "invalid_input". Never NULL. */
const char *ag_status_name(ag_status s);

/*
 * An error report: which field (JSON path, CLI flag, or "file:line"
 * location) and why. Every failing function fills one when given one.
 */
typedef struct {
  ag_status status;
  char field[128];
  char reason[384];
} ag_error;

/* Sets err (if non-NULL) and returns status, so callers can
 * `return ag_error_set(err, AG_ERR_INPUT, "destination", "...", ...);` */
ag_status ag_error_set(ag_error *err, ag_status status, const char *field,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ag_error_clear(ag_error *err);

/* ---- dates: days since 1970-01-01 (proleptic Gregorian), UTC ---- */
typedef int32_t ag_date;
#define AG_DATE_NONE INT32_MIN /* open end of a date range */
#define AG_DATE_MAX INT32_MAX

/* Parses exactly "YYYY-MM-DD" (len bytes) with real calendar checks. */
bool ag_date_parse(const char *s, size_t len, ag_date *out);
/* Writes "YYYY-MM-DD" plus NUL into out (at least 11 bytes). */
void ag_date_format(ag_date d, char out[11]);
ag_date ag_date_from_ymd(int y, int m, int d);
ag_date ag_date_today(void);

/* ---- arena: bump allocator for per-request work ---- */
typedef struct ag_arena_block ag_arena_block;
typedef struct {
  ag_arena_block *head;
  size_t block_size;
} ag_arena;

void ag_arena_init(ag_arena *a, size_t block_size);
/* 16-byte aligned; NULL on out of memory. */
void *ag_arena_alloc(ag_arena *a, size_t n);
char *ag_arena_strndup(ag_arena *a, const char *s, size_t n);
/* Keeps the first block for reuse, frees the rest. */
void ag_arena_reset(ag_arena *a);
void ag_arena_free(ag_arena *a);

/* ---- growable byte buffer for building output ---- */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
  bool failed; /* set once an allocation failed; later appends are no-ops */
} ag_buf;

void ag_buf_init(ag_buf *b);
void ag_buf_free(ag_buf *b);
void ag_buf_reset(ag_buf *b);
/* Grows the buffer so that extra more bytes (plus a NUL) fit. */
bool ag_buf_grow(ag_buf *b, size_t extra);
static inline bool ag_buf_reserve(ag_buf *b, size_t extra) {
  return (!b->failed && b->cap - b->len > extra) || ag_buf_grow(b, extra);
}
/* Appends are inline: output paths append many short pieces. */
static inline void ag_buf_append(ag_buf *b, const char *s, size_t n) {
  if (!ag_buf_reserve(b, n))
    return;
  __builtin_memcpy(b->data + b->len, s, n);
  b->len += n;
}
void ag_buf_append_long(ag_buf *b, const char *s, size_t n);
void ag_buf_puts(ag_buf *b, const char *s);
static inline void ag_buf_putc(ag_buf *b, char c) {
  if (!ag_buf_reserve(b, 1))
    return;
  b->data[b->len++] = c;
}
void ag_buf_printf(ag_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. Invalid UTF-8 bytes
 * are replaced by U+FFFD so the output is always valid JSON. */
void ag_buf_json_str(ag_buf *b, const char *s, size_t n);
/* The same for a NUL-terminated string; NULL is written as null. */
void ag_buf_json_cstr(ag_buf *b, const char *s);
/* NUL-terminates (not counted in len) and returns data, or NULL if failed. */
const char *ag_buf_cstr(ag_buf *b);

/* ---- files compiled into the binary (tools/embed.c): the regulation
 * tables, the audit log's compression dictionary ---- */
typedef struct {
  const char *name;
  const char *data;
  size_t len;
} ag_embedded_file;

/* ---- input files ---- */
/* Opens path for reading only if it is a regular file: a FIFO (which would
 * block), a directory or a device is refused without blocking, the error
 * naming path. *size gets the file's size (size may be NULL). */
ag_status ag_file_open(const char *path, FILE **out, size_t *size, ag_error *err);

/* ---- UTF-8 ---- */
/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool ag_utf8_valid(const char *s, size_t n);

#endif
