/*
 * tsv.h - the one reader of the tab-separated tables (the .tsv files of data/rules),
 * shared by every module that loads one: src/rules, src/classify and
 * src/diligence. Internal to the library: not a public header.
 *
 * A loader reads its file whole (ag_tsv_read_file, or the bytes compiled
 * into the binary), opens it (ag_tsv_open: '#' comments, then a header that
 * must name exactly the expected columns), and reads row after row
 * (ag_tsv_next) into fields it validates, reporting a bad value with
 * ag_tsv_fail ("file:line: column: reason"). The buffer is tokenised in
 * place.
 */
#ifndef ACEGATE_COMMON_TSV_H
#define ACEGATE_COMMON_TSV_H

#include "acegate/common.h"

#define AG_TSV_MAX_COLS 16

typedef struct {
  const char *file;
  char *p, *end;
  int line;
  int ncols;
  const char *const *cols;
  char *field[AG_TSV_MAX_COLS];
} ag_tsv;

/* Reads the regular file at path whole into *buf (malloc'd, the caller
 * frees it; NUL-terminated, *len without the NUL). A file that cannot be
 * read, a missing one included, is AG_ERR_IO (exit 4); one longer than max
 * bytes AG_ERR_RULES; errors name path. */
ag_status ag_tsv_read_file(const char *path, size_t max, char **buf, size_t *len, ag_error *err);

ag_status ag_tsv_open(ag_tsv *t, const char *file, char *buf, size_t len,
                      const char *const *cols, int ncols, ag_error *err);
/* Reads the next data row into t->field; returns false at the end (err
 * untouched) or on error (err set, *failed true). */
bool ag_tsv_next(ag_tsv *t, bool *failed, ag_error *err);
/* Reports an error at the current row, naming the column. */
ag_status ag_tsv_fail(const ag_tsv *t, ag_error *err, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A date column: YYYY-MM-DD, or "-" for open (AG_DATE_NONE as a start,
 * AG_DATE_MAX as an end). */
ag_status ag_tsv_date(const ag_tsv *t, int col, bool is_end, ag_date *out, ag_error *err);

#endif
