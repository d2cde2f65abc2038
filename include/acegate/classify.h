/*
 * acegate/classify.h - the classification questionnaire: yes/no questions
 * on a product that lead to the CCL paragraph it falls under among the
 * cybersecurity paragraphs of 740.22(b)(1) and their non-ACE neighbours
 * (5A004.b, 5D002.a.3.b, 5D002.c.3.b, 5D001.e), to one of their exclusion
 * notes, or to the questions still unanswered.
 *
 * The questions and the logic joining them are data (data/rules/
 * classification.tsv): each row is a question, a defined term ("intrusion
 * software", the 5A001.j criteria) or a result paragraph; a term or result
 * requires clauses that must all hold (AND), a clause holds when any of its
 * atoms holds (OR), and any atom of its exclusions takes the item out
 * (EXCL). Atoms name rows defined above, so one pass in file order decides
 * every row. Answers are three-valued (yes, no, not known); a row whose
 * value the known answers do not settle is undecided, and the unanswered
 * questions it still depends on are the ones worth asking.
 *
 * Ownership: ag_classify_load_* allocate the questionnaire; it keeps a
 * pointer to the ag_rules given (used to say whether a result paragraph is
 * a 740.22(b)(1) cybersecurity item), which must outlive it. A loaded
 * questionnaire is read-only and may be shared between threads.
 * ag_classify_evaluate fills a caller-owned ag_classify_result whose arrays
 * ag_classify_result_free releases; its row pointers point into the
 * questionnaire.
 */
#ifndef ACEGATE_CLASSIFY_H
#define ACEGATE_CLASSIFY_H

#include "acegate/common.h"
#include "acegate/rules.h"

typedef enum { AG_CLASSIFY_QUESTION, AG_CLASSIFY_TERM, AG_CLASSIFY_RESULT } ag_classify_kind;

/* How the cited text of a row is known. */
typedef enum {
  AG_PROVENANCE_VERBATIM,     /* read in the eCFR CCL extract or the 772.1 text */
  AG_PROVENANCE_SUMMARY,      /* our words */
  AG_PROVENANCE_RECONSTRUCTED /* not read; to be verified */
} ag_classify_provenance;
const char *ag_classify_provenance_name(ag_classify_provenance p);

typedef struct {
  ag_classify_kind kind;
  const char *id;   /* "IS1", "intrusion_software", "4D001.a" */
  const char *for_; /* results: the "for" qualifier, or NULL */
  ag_date from, to; /* inclusive; AG_DATE_NONE / AG_DATE_MAX when open */
  ag_classify_provenance provenance;
  const char *cite;       /* short citation: "Note 1 to 4E001" */
  const char *source;     /* where the text was read */
  const char *question;   /* questions: the plain-language question; else NULL */
  const char *cited_text; /* the regulation text the row rests on */
  const char *requires;   /* the logic as written ("IS1,IS2a|IS2b"), or NULL */
  const char *excludes;
  int line;
  /* compiled logic: row indexes; clause i is req[req_start[i] .. req_start[i+1]) */
  int n_clauses;
  const int *req_start;
  const int *req;
  int n_excl;
  const int *excl;
} ag_classify_row;

typedef struct ag_classify ag_classify;

/* Loads data/rules/classification.tsv as compiled into the binary. */
ag_status ag_classify_load_default(const ag_rules *rules, ag_classify **out, ag_error *err);
/* Loads DIR/classification.tsv (an edited copy); errors as "file:line". */
ag_status ag_classify_load_dir(const ag_rules *rules, const char *dir, ag_classify **out,
                               ag_error *err);
/* Loads from bytes; name is the file name used in error locations. */
ag_status ag_classify_load_buffer(const ag_rules *rules, const char *name, const char *data,
                                  size_t len, ag_classify **out, ag_error *err);
void ag_classify_free(ag_classify *q);

size_t ag_classify_count(const ag_classify *q);
const ag_classify_row *ag_classify_row_at(const ag_classify *q, size_t i);
/* Row index of id, or -1. */
int ag_classify_find(const ag_classify *q, const char *id, size_t len);
/* "classification.tsv+1a2b3c4d": the file and a hash of its content. */
const char *ag_classify_version(const ag_classify *q);
bool ag_classify_in_force(const ag_classify_row *row, ag_date on);

/* One answer per row (indexed like the rows; only question rows are read).
 * NONE: not asked yet; UNKNOWN: asked, and the answer is not known. */
typedef enum {
  AG_ANSWER_NONE = 0,
  AG_ANSWER_YES,
  AG_ANSWER_NO,
  AG_ANSWER_UNKNOWN
} ag_classify_answer;

/* Reads a JSON object mapping question ids to true, false or "unknown"
 * into answers (ag_classify_count entries, set to NONE first). An unknown
 * id, a term or result id, a question not in force on as_of, another value
 * type, a duplicate key or malformed JSON is AG_ERR_INPUT naming the id
 * (or "answers" for the document). */
ag_status ag_classify_answers_from_json(const ag_classify *q, ag_date as_of, const char *json,
                                        size_t len, ag_classify_answer *answers, ag_error *err);

typedef enum {
  AG_CLASSIFY_CLASSIFIED,     /* at least one result paragraph holds */
  AG_CLASSIFY_NOT_CONTROLLED, /* every result paragraph is ruled out */
  AG_CLASSIFY_CANNOT_TELL     /* none holds, and some still depend on unanswered questions */
} ag_classify_status;
const char *ag_classify_status_name(ag_classify_status s); /* "classified" ... */

typedef struct {
  const ag_classify_row *row; /* a result row: row->id is the ECCN paragraph */
  bool cyber_item;            /* a 740.22(b)(1) cybersecurity item (ccl-items.tsv) */
} ag_classify_candidate;

/* Why result paragraphs were ruled out: an exclusion that applies, or a
 * requirement none of whose atoms holds. */
typedef struct {
  bool excluded;
  const ag_classify_row *because[8]; /* the exclusion, or the atoms of the unmet clause */
  size_t n_because;
  const ag_classify_row **paragraphs; /* the result rows it rules out */
  size_t n_paragraphs;
} ag_classify_reason;

/* An answered question the result rests on. decisive: its answer decided
 * a requirement or an exclusion (not merely an exclusion that did not apply). */
typedef struct {
  const ag_classify_row *row;
  ag_classify_answer answer;
  bool decisive;
} ag_classify_used;

typedef struct {
  ag_classify_status status;
  ag_date as_of;
  int cyber_item; /* 1 yes, 0 no, -1 not known yet */
  ag_classify_candidate *candidates;
  size_t n_candidates;
  const ag_classify_row **missing; /* questions still needed, in asking order */
  size_t n_missing;
  ag_classify_reason *reasons; /* not_controlled: what ruled each paragraph out */
  size_t n_reasons;
  ag_classify_used *basis; /* in file order */
  size_t n_basis;
  bool reconstructed; /* a decisive row rests on reconstructed text */
} ag_classify_result;

ag_status ag_classify_evaluate(const ag_classify *q, const ag_classify_answer *answers,
                               ag_date as_of, ag_classify_result *out, ag_error *err);
void ag_classify_result_free(ag_classify_result *r);

/* The next question worth asking: the first still-relevant question not
 * yet asked (NONE), or -1 when no answer could change the result. */
int ag_classify_next_question(const ag_classify *q, const ag_classify_answer *answers,
                              ag_date as_of);

/* Appends the result as a JSON object (no trailing newline). */
void ag_classify_result_json(const ag_classify *q, const ag_classify_result *r, ag_buf *out);

#endif
