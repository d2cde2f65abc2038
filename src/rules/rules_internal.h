/*
 * rules_internal.h - helpers shared by the table loader files.
 */
#ifndef ACEGATE_RULES_INTERNAL_H
#define ACEGATE_RULES_INTERNAL_H

#include "acegate/rules.h"

int ag_rules_group_parse(const char *s, size_t n);
int ag_rules_column_parse(const char *s, size_t n);
int ag_rules_family_parse(const char *s, size_t n);
int ag_rules_status_parse(const char *s, size_t n);

#define AG_TSV_MAX_COLS 16

/* A TSV table being read: '#' lines are comments, the first other line is
 * the header, which must name exactly the expected columns. The buffer is
 * tokenised in place. */
typedef struct {
  const char *file;
  char *p, *end;
  int line;
  int ncols;
  const char *const *cols;
  char *field[AG_TSV_MAX_COLS];
} ag_tsv;

ag_status ag_tsv_open(ag_tsv *t, const char *file, char *buf, size_t len,
                      const char *const *cols, int ncols, ag_error *err);
/* Reads the next data row into t->field; returns false at the end (err
 * untouched) or on error (err set, *failed true). */
bool ag_tsv_next(ag_tsv *t, bool *failed, ag_error *err);
/* Reports an error at the current row, naming the column. */
ag_status ag_tsv_fail(const ag_tsv *t, ag_error *err, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
