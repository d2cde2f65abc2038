/*
 * batch.c - JSONL streams of checks or screenings (ag_pipeline_batch) and
 * the one line reader every batch uses.
 *
 * Lines are read in chunks of CHUNK, answered by a few threads (each with
 * its own worker; the tables and lists are shared read-only), recorded in
 * the audit log in one transaction per chunk, and only then written, in
 * input order, before the next chunk is read: memory does not grow with
 * the input, and no answer is written whose record is not durable
 * (15 CFR 762.2).
 *
 * A CSV batch (csv.c) goes the same way: each row is made into the JSON
 * request a JSONL line would be, and each answer is written as a CSV row
 * (made by the worker threads too) instead of a JSON line.
 */
#include "pipeline_int.h"
#include "acegate/parties.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 512
#define THREADS_MAX 16

bool ag_pipeline_read_line(FILE *in, long *lineno, ag_pipeline_line *l) {
  for (;;) {
    l->len = 0;
    l->too_long = false;
    int c;
    bool any = false;
    while ((c = getc_unlocked(in)) != EOF) {
      any = true;
      if (c == '\n')
        break;
      if (l->len >= AG_JSON_MAX_REQUEST + 1) {
        l->too_long = true; /* read through, keep nothing more */
        continue;
      }
      if (l->len + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char *p = realloc(l->text, cap);
        if (!p) {
          l->too_long = true;
          continue;
        }
        l->text = p;
        l->cap = cap;
      }
      l->text[l->len++] = (char)c;
    }
    if (!any)
      return false;
    l->number = ++*lineno;
    if (l->len && l->text[l->len - 1] == '\r')
      l->len--;
    if (l->len > AG_JSON_MAX_REQUEST)
      l->too_long = true;
    bool blank = !l->too_long;
    for (size_t i = 0; i < l->len && blank; i++)
      blank = l->text[i] == ' ' || l->text[i] == '\t';
    if (!blank)
      return true;
  }
}

void ag_pipeline_line_free(ag_pipeline_line *l) {
  free(l->text);
  memset(l, 0, sizeof *l);
}

typedef struct {
  ag_pipeline_line line;
  ag_pipeline_result res;
  ag_buf answer;
  ag_buf packed;     /* the answer as the log stores it */
  size_t packed_len; /* 0: left to the append */
  size_t rec;        /* its index among the chunk's records */
  /* CSV: the row's ref cell, a row that could not be made a request, and
   * the answer row without its audit id */
  char ref[AG_JSON_REF_BYTES + 1];
  bool bad_row;
  ag_error row_err;
  ag_buf row;
} item;

typedef struct {
  const ag_pipeline_data *d;
  const ag_pipeline_batch_options *o;
  ag_pipeline_worker *w;
  ag_audit_packer *packer; /* NULL without a log */
  item *items;
  size_t from, to;
} job;

static void *run_job(void *p) {
  job *j = p;
  for (size_t i = j->from; i < j->to; i++) {
    item *it = &j->items[i];
    ag_buf_reset(&it->answer);
    if (it->bad_row) {
      it->res.kind = j->o->kind;
      it->res.st = it->row_err.status;
      it->res.err = it->row_err;
    } else if (it->line.too_long) {
      it->res.kind = j->o->kind;
      it->res.st = ag_error_set(&it->res.err, AG_ERR_LIMIT, "", "the line is longer than %zu bytes",
                                AG_JSON_MAX_REQUEST);
    } else if (j->o->kind == AG_AUDIT_SCREENING) {
      ag_pipeline_screening(j->d, j->w, it->line.text, it->line.len, &it->answer, &it->res);
    } else {
      ag_pipeline_check(j->d, j->w, it->line.text, it->line.len, &it->answer, &it->res);
    }
    /* compressed here, in parallel, rather than by the append under the
     * log's write lock */
    it->packed_len = 0;
    ag_buf_reset(&it->packed);
    ag_error err;
    if (j->packer && it->res.st == AG_OK && !it->answer.failed &&
        ag_audit_pack(j->o->db, j->packer, it->answer.data, it->answer.len, &it->packed,
                      &it->packed_len, &err) != AG_OK)
      it->packed_len = 0;
    if (j->o->format == AG_PIPELINE_CSV) {
      ag_buf_reset(&it->row);
      pl_csv_row(j->o->kind, it->line.number, it->ref, &it->res, it->answer.data,
                 it->answer.len, &it->row);
    }
  }
  return NULL;
}

/* What follows the chunk's records (ag_pipeline_recorded), the registry's
 * notes of the chunk in one transaction. */
static void after_chunk(const ag_pipeline_data *d, item *items, size_t n,
                        char (*ids)[AG_AUDIT_ID_MAX], ag_pipeline_batch_stats *stats) {
  bool in_tx = d->parties && ag_parties_begin(d->parties, &(ag_error){.status = AG_OK}) == AG_OK;
  uint64_t noted = 0;
  for (size_t i = 0; i < n; i++) {
    item *it = &items[i];
    ag_error e;
    if (it->res.st != AG_OK)
      continue;
    if (ag_pipeline_recorded(d, &it->res, ids[it->rec], it->answer.data, &e) != AG_OK) {
      if (!stats->unnoted++)
        stats->unnoted_err = e;
    } else if (d->parties && it->res.kind == AG_AUDIT_CHECK && it->res.ref[0]) {
      noted++;
    }
  }
  ag_error e;
  if (in_tx && ag_parties_end(d->parties, &e) != AG_OK) {
    if (!stats->unnoted)
      stats->unnoted_err = e;
    stats->unnoted += noted; /* rolled back */
  }
}

/* Records the chunk's answers; ids[k] receives record k's id. */
static ag_status record_chunk(const ag_pipeline_data *d, ag_audit_db *db, item *items, size_t n,
                              ag_audit_record *recs, char (*ids)[AG_AUDIT_ID_MAX], ag_error *err) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    item *it = &items[i];
    if (it->res.st != AG_OK)
      continue;
    it->rec = k;
    ag_audit_record *rec = &recs[k++];
    ag_pipeline_record(d, &it->res, it->line.text, it->line.len, it->answer.data, "", "", rec);
    if (it->packed_len && !it->packed.failed) {
      rec->packed = it->packed.data;
      rec->packed_len = it->packed_len;
    }
  }
  return k ? ag_audit_append_batch(db, recs, k, ids, err) : AG_OK;
}

ag_status ag_pipeline_batch(const ag_pipeline_data *d, const ag_pipeline_batch_options *o,
                            FILE *in, FILE *out, ag_pipeline_batch_stats *stats, ag_error *err) {
  memset(stats, 0, sizeof *stats);
  int nt = o->threads;
  if (nt <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    nt = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (int)cpus;
  }
  if (nt > THREADS_MAX)
    nt = THREADS_MAX;
  item *items = calloc(CHUNK, sizeof *items);
  ag_audit_record *recs = o->db ? calloc(CHUNK, sizeof *recs) : NULL;
  char(*ids)[AG_AUDIT_ID_MAX] = o->db ? calloc(CHUNK, sizeof *ids) : NULL;
  ag_pipeline_worker *workers[THREADS_MAX] = {NULL};
  ag_audit_packer *packers[THREADS_MAX] = {NULL};
  ag_status st = AG_OK;
  bool ok = items && (!o->db || (recs && ids));
  for (int t = 0; ok && t < nt; t++) {
    ok = (workers[t] = ag_pipeline_worker_new(o->mode)) != NULL;
    /* the same customers come back in a batch of orders; without the
     * memory, each is screened afresh (same answers, more time) */
    if (ok && o->kind == AG_AUDIT_CHECK)
      pl_worker_remember(workers[t]);
    if (ok && o->db)
      packers[t] = ag_audit_packer_new(); /* NULL: the append packs */
  }
  if (!ok)
    st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  ag_buf line_out;
  ag_buf_init(&line_out);
  long lineno = 0;
  bool eof = false;
  pl_csv_in *csv = NULL;
  bool is_csv = o->format == AG_PIPELINE_CSV;
  if (st == AG_OK && is_csv && (st = pl_csv_open(in, o->kind, o->columns, &csv, err)) == AG_OK) {
    lineno = 1;
    pl_csv_header(o->kind, &line_out);
    if (fwrite(line_out.data, 1, line_out.len, out) != line_out.len)
      st = ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
  }
  ag_pipeline_progress progress = {0};
  struct stat sb;
  if (o->progress && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode))
    progress.bytes_all = (uint64_t)sb.st_size;
  while (ok && st == AG_OK && !eof) {
    size_t n = 0;
    while (n < CHUNK) {
      item *it = &items[n];
      if (is_csv) {
        ag_error_clear(&it->row_err);
        int r = pl_csv_next(csv, in, &lineno, &it->line, it->ref, &it->row_err);
        if (!(eof = r == 0))
          it->bad_row = r == 2;
      } else {
        eof = !ag_pipeline_read_line(in, &lineno, &it->line);
      }
      if (eof)
        break;
      n++;
    }
    int use = nt > (int)n ? (int)n : nt; /* nt >= 1: none only when no line is left */
    if (use < 1)
      break;
    job jobs[THREADS_MAX];
    pthread_t th[THREADS_MAX];
    bool started[THREADS_MAX] = {false};
    for (int t = 0; t < use; t++) {
      jobs[t] = (job){d, o, workers[t], packers[t], items, n * (size_t)t / (size_t)use,
                      n * (size_t)(t + 1) / (size_t)use};
      if (t > 0)
        started[t] = pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0;
    }
    run_job(&jobs[0]);
    for (int t = 1; t < use; t++) {
      if (started[t])
        pthread_join(th[t], NULL);
      else
        run_job(&jobs[t]); /* no thread: do its share here */
    }
    assert(!o->db || (recs && ids)); /* ok: allocated when there is a log */
    if (o->db && (st = record_chunk(d, o->db, items, n, recs, ids, err)) != AG_OK)
      break; /* nothing of this chunk is written: it is not recorded */
    if (o->db)
      after_chunk(d, items, n, ids, stats);
    for (size_t i = 0; i < n; i++) {
      item *it = &items[i];
      ag_buf_reset(&line_out);
      stats->lines++;
      if (it->res.st == AG_OK) {
        stats->decided++;
        if (it->res.outcome_index >= 0 && it->res.outcome_index < AG_PIPELINE_OUTCOMES)
          stats->outcomes[it->res.outcome_index]++;
        if (is_csv)
          ag_buf_append(&line_out, it->row.data, it->row.len);
        else if (o->db)
          ag_pipeline_splice_audit_id(&line_out, ids[it->rec], it->answer.data, it->answer.len);
        else
          ag_buf_append(&line_out, it->answer.data, it->answer.len);
      } else {
        stats->rejected++;
        if (is_csv)
          ag_buf_append(&line_out, it->row.data, it->row.len);
        else
          ag_json_encode_batch_error(it->line.number, &it->res.err, &line_out);
      }
      if (is_csv)
        pl_csv_finish(it->res.st == AG_OK && o->db ? ids[it->rec] : NULL, &line_out);
      else
        ag_buf_putc(&line_out, '\n');
      if (line_out.failed) {
        st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory at line %ld", it->line.number);
        break;
      }
      if (fwrite(line_out.data, 1, line_out.len, out) != line_out.len) {
        st = ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
        break;
      }
    }
    if (o->progress && st == AG_OK) {
      off_t at = ftello(in);
      progress.lines = stats->lines;
      progress.bytes_read = at > 0 ? (uint64_t)at : 0;
      o->progress(o->progress_ctx, &progress);
    }
  }
  pl_csv_free(csv);
  if (st == AG_OK && ferror(in))
    st = ag_error_set(err, AG_ERR_IO, "input", "reading the input failed");
  if (fflush(out) != 0 && st == AG_OK)
    st = ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
  ag_buf_free(&line_out);
  for (int t = 0; t < THREADS_MAX; t++) {
    ag_pipeline_worker_free(workers[t]);
    ag_audit_packer_free(packers[t]);
  }
  if (items)
    for (size_t i = 0; i < CHUNK; i++) {
      ag_pipeline_line_free(&items[i].line);
      ag_buf_free(&items[i].answer);
      ag_buf_free(&items[i].packed);
      ag_buf_free(&items[i].row);
    }
  free(items);
  free(recs);
  free(ids);
  return st;
}
