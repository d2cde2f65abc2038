/*
 * acegate/diligence.h - the due-diligence questions as data
 * (data/rules/due-diligence.tsv): the BIS "Know Your Customer" red flags
 * of Supp. No. 3 to part 732 (RF01-RF13), questions for the 740.22(c)(2)
 * end-use restriction (CF01-CF06) and the State Department's 2020-09-30
 * guidance on surveillance products (SG-*), each with the answer that
 * raises it, what a raised flag means for a determination, its citation
 * and the provenance of its text.
 *
 * Loading validates the table ("file:line: reason"); nothing decides on it
 * yet. Ownership: ag_diligence_load_* allocate; ag_diligence_free releases
 * the table and every string of it. Read-only once loaded.
 */
#ifndef ACEGATE_DILIGENCE_H
#define ACEGATE_DILIGENCE_H

#include "acegate/common.h"

typedef enum {
  AG_DD_BIS_RED_FLAG,        /* RF01-RF13: Supp. No. 3 to part 732 */
  AG_DD_CYBER_FLAG,          /* CF01-CF06: 740.22(c)(2) */
  AG_DD_STATE_SCOPE,         /* SG-S*: whether the State guidance applies */
  AG_DD_STATE_CONSIDERATION, /* SG-C*: its considerations */
  AG_DD_STATE_RED_FLAG       /* SG-RF*: its red flags */
} ag_diligence_group;

/* What a later determination does with a raised flag. */
typedef enum {
  AG_DD_REVIEW,        /* reason to inquire (Supp. No. 3 to part 732 (a)(2)) */
  AG_DD_SCREENING,     /* decided by the restricted-party screen */
  AG_DD_END_USER_TYPE, /* decided by the end-user type (740.22(c)(1)(ii)) */
  AG_DD_SCOPE,         /* whether the State guidance applies */
  AG_DD_HUMAN_RIGHTS   /* recorded; never by itself a licence requirement */
} ag_diligence_effect;

typedef enum {
  AG_DD_VERBATIM,
  AG_DD_SUMMARY,
  AG_DD_RECONSTRUCTED,
  AG_DD_DRAFT_2019
} ag_diligence_provenance;

typedef struct {
  const char *id; /* "RF02", "CF01", "SG-C2a" */
  ag_diligence_group group;
  const char *question;
  bool raises_on_yes; /* false: the answer "no" raises the flag */
  const char *flag;   /* RF: the BIS red flag as published; else its meaning */
  ag_diligence_effect effect;
  const char *cite;
  ag_diligence_provenance provenance;
  const char *source;
  ag_date from, to; /* inclusive; AG_DATE_NONE / AG_DATE_MAX when open */
  int line;
} ag_diligence_item;

typedef struct ag_diligence ag_diligence;

/* The table compiled into the binary. */
ag_status ag_diligence_load_default(ag_diligence **out, ag_error *err);
/* DIR/due-diligence.tsv. */
ag_status ag_diligence_load_dir(const char *dir, ag_diligence **out, ag_error *err);
ag_status ag_diligence_load_buffer(const char *name, const char *data, size_t len,
                                   ag_diligence **out, ag_error *err);
void ag_diligence_free(ag_diligence *d);

size_t ag_diligence_count(const ag_diligence *d);
const ag_diligence_item *ag_diligence_at(const ag_diligence *d, size_t i);
/* The item with this id, or NULL. */
const ag_diligence_item *ag_diligence_find(const ag_diligence *d, const char *id, size_t len);

const char *ag_diligence_group_name(ag_diligence_group g);
const char *ag_diligence_effect_name(ag_diligence_effect e);
const char *ag_diligence_provenance_name(ag_diligence_provenance p);

#endif
