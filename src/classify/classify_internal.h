/*
 * classify_internal.h - the loaded questionnaire, shared by the files of
 * the classify module.
 */
#ifndef ACEGATE_CLASSIFY_INTERNAL_H
#define ACEGATE_CLASSIFY_INTERNAL_H

#include "acegate/classify.h"

struct ag_classify {
  const ag_rules *rules; /* not owned */
  char version[64];
  ag_classify_row *rows;
  size_t n_rows;
  int *logic;  /* every row's atoms: requires, then excludes */
  int *starts; /* clause starts into logic, each row's followed by its end */
  char *text;  /* the table, tokenised in place; rows point into it */
  size_t text_len;
};

#endif
