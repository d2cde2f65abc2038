/*
 * pipeline_int.h - what batch.c and csv.c share: reading a CSV batch as
 * the contract's JSON requests, and writing answers as CSV rows.
 */
#ifndef ACEGATE_PIPELINE_INT_H
#define ACEGATE_PIPELINE_INT_H

#include "acegate/pipeline.h"

typedef struct pl_csv_in pl_csv_in;

/* The worker remembers its last party screenings (ag_check_scratch_remember):
 * for a batch, whose lists do not change while it runs. */
bool pl_worker_remember(ag_pipeline_worker *w);

/* Reads the header row of in and resolves the mapping against it: a
 * mapped column missing from the header, or no column for the request's
 * required field (name, or eccn and destination), is AG_ERR_INPUT naming
 * "columns". */
ag_status pl_csv_open(FILE *in, ag_audit_kind kind, const ag_pipeline_csv_columns *cols,
                      pl_csv_in **out, ag_error *err);
void pl_csv_free(pl_csv_in *c);

/* Reads the next non-empty row into line->text as a JSON request (line
 * number of its first line in line->number) and its ref cell into ref.
 * Returns 0 at the end of the input, 1 for a request, 2 for a row that
 * cannot be one (err says why: too long, not UTF-8, an open quote). */
int pl_csv_next(pl_csv_in *c, FILE *in, long *lineno, ag_pipeline_line *line,
                char ref[AG_JSON_REF_BYTES + 1], ag_error *err);

/* The answer header row, and one answer row (without audit id and line
 * end: pl_csv_finish adds them). */
void pl_csv_header(ag_audit_kind kind, ag_buf *out);
void pl_csv_row(ag_audit_kind kind, long line, const char *ref, const ag_pipeline_result *res,
                const char *answer, size_t len, ag_buf *out);
void pl_csv_finish(const char *audit_id, ag_buf *out);

/* item.classification_id (classification_ref.c): looks the record up in
 * d->audit, refuses a result that gives no single ECCN or one the
 * transaction's item.eccn / item.for contradicts, and sets t->eccn,
 * t->for_ and t->classification (= c). Errors name the field. */
ag_status pl_classification_apply(const ag_pipeline_data *d, ag_txn *t, ag_txn_classification *c,
                                  ag_error *err);

#endif
