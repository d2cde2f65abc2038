/*
 * batch.c - JSONL streams of checks or screenings (ag_pipeline_batch) and
 * the one line reader every batch uses.
 *
 * Lines are read in chunks of CHUNK and answered by a few threads (each
 * with its own worker; the tables and lists are shared read-only), which
 * take the chunk's lines a few at a time. A chunk is recorded in the audit
 * log in one transaction and only then written, in input order. Two chunks
 * are in hand at a time: while the threads answer one, the main thread
 * records and writes the one before it (the log's writes and fsync are one
 * after the other by nature), reads the next, then answers lines beside
 * the threads. Memory does not grow with the input, and no answer is
 * written whose record is not durable (15 CFR 762.2).
 *
 * A CSV batch (csv.c) goes the same way: each row is made into the JSON
 * request a JSONL line would be, and each answer is written as a CSV row
 * (made by the worker threads too) instead of a JSON line.
 */
#include "pipeline_int.h"
#include "acegate/parties.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
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
  ag_audit_record record;
  ag_audit_prehash *prehash; /* its hash, begun for the seq it is expected at */
  size_t rec;        /* its index among the chunk's records */
  /* CSV: the row's ref cell, a row that could not be made a request, and
   * the answer row without its audit id */
  char ref[AG_JSON_REF_BYTES + 1];
  bool bad_row;
  ag_error row_err;
  ag_buf row;
} item;

/* A chunk being answered: the threads take its lines GRAIN at a time, so
 * a thread that was busy elsewhere (the main thread recording the chunk
 * before) leaves the rest to the others. */
typedef struct {
  const ag_pipeline_data *d;
  const ag_pipeline_batch_options *o;
  item *items;
  size_t n;
  int64_t first_seq; /* where its first record is expected in the log */
  atomic_size_t next;
} chunk;

#define GRAIN 8

typedef struct {
  chunk *c;
  ag_pipeline_worker *w;
  ag_audit_packer *packer; /* NULL without a log */
} job;

/* The item's record, compressed and its hash begun, in parallel rather
 * than by the append under the log's write lock. Its seq is a guess: the
 * records before it in the chunk and in the chunk before all decided, and
 * nobody else appending; when it is wrong, the append hashes the record
 * itself. */
static void prepare_record(const chunk *c, ag_audit_packer *packer, item *it) {
  const ag_pipeline_batch_options *o = c->o;
  it->packed_len = 0;
  ag_buf_reset(&it->packed);
  if (it->res.st != AG_OK)
    return;
  ag_pipeline_record(c->d, &it->res, it->line.text, it->line.len, it->answer.data, "", "",
                     &it->record);
  if (it->answer.failed)
    return; /* out of memory making it: nothing more is made ahead */
  ag_error err;
  if (packer && ag_audit_pack(o->db, packer, it->answer.data, it->answer.len, &it->packed,
                              &it->packed_len, &err) != AG_OK)
    it->packed_len = 0;
  if (it->packed_len && !it->packed.failed) {
    it->record.packed = it->packed.data;
    it->record.packed_len = it->packed_len;
  }
  if (it->prehash && c->first_seq > 0 &&
      ag_audit_prehash_make(o->db, it->prehash, &it->record,
                            c->first_seq + (int64_t)(it - c->items), &err) == AG_OK)
    it->record.prehash = it->prehash;
}

static void answer(const chunk *c, ag_pipeline_worker *w, ag_audit_packer *packer, item *it) {
  const ag_pipeline_batch_options *o = c->o;
  ag_buf_reset(&it->answer);
  if (it->bad_row) {
    it->res.kind = o->kind;
    it->res.st = it->row_err.status;
    it->res.err = it->row_err;
  } else if (it->line.too_long) {
    it->res.kind = o->kind;
    it->res.st = ag_error_set(&it->res.err, AG_ERR_LIMIT, "", "the line is longer than %zu bytes",
                              AG_JSON_MAX_REQUEST);
  } else if (o->kind == AG_AUDIT_SCREENING) {
    ag_pipeline_screening(c->d, w, it->line.text, it->line.len, &it->answer, &it->res);
  } else {
    ag_pipeline_check(c->d, w, it->line.text, it->line.len, &it->answer, &it->res);
  }
  if (o->db)
    prepare_record(c, packer, it);
  if (o->format == AG_PIPELINE_CSV) {
    ag_buf_reset(&it->row);
    pl_csv_row(o->kind, it->line.number, it->ref, &it->res, it->answer.data, it->answer.len,
               &it->row);
  }
}

static void *run_job(void *p) {
  job *j = p;
  chunk *c = j->c;
  for (;;) {
    size_t from = atomic_fetch_add_explicit(&c->next, GRAIN, memory_order_relaxed);
    if (from >= c->n)
      break;
    size_t to = from + GRAIN < c->n ? from + GRAIN : c->n;
    for (size_t i = from; i < to; i++)
      answer(c, j->w, j->packer, &c->items[i]);
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
static ag_status record_chunk(ag_audit_db *db, item *items, size_t n,
                              ag_audit_record *recs, char (*ids)[AG_AUDIT_ID_MAX], ag_error *err) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    item *it = &items[i];
    if (it->res.st != AG_OK)
      continue;
    it->rec = k;
    recs[k++] = it->record;
  }
  return k ? ag_audit_append_batch(db, recs, k, ids, err) : AG_OK;
}

/* What the batch keeps from one chunk to the next. */
typedef struct {
  const ag_pipeline_data *d;
  const ag_pipeline_batch_options *o;
  FILE *in, *out;
  ag_pipeline_batch_stats *stats;
  ag_audit_record *recs;
  char (*ids)[AG_AUDIT_ID_MAX];
  ag_buf line_out; /* answers to write, up to WRITE_BYTES */
  long lineno;
  bool eof;
  pl_csv_in *csv;
  ag_pipeline_progress progress;
} batch;

/* Reads up to CHUNK lines (or CSV rows) into items; their count. */
static size_t read_chunk(batch *b, item *items) {
  size_t n = 0;
  while (n < CHUNK && !b->eof) {
    item *it = &items[n];
    it->bad_row = false;
    if (b->csv) {
      ag_error_clear(&it->row_err);
      int r = pl_csv_next(b->csv, b->in, &b->lineno, &it->line, it->ref, &it->row_err);
      if (!(b->eof = r == 0))
        it->bad_row = r == 2;
    } else {
      b->eof = !ag_pipeline_read_line(b->in, &b->lineno, &it->line);
    }
    if (!b->eof)
      n++;
  }
  return n;
}

/* Records an answered chunk, then writes it in input order, in writes of
 * about WRITE_BYTES: an answer is larger than stdio's buffer, so line by
 * line each would be a system call of its own, and a buffer of this size
 * stays in the cache. Nothing of a chunk whose record failed is written. */
#define WRITE_BYTES 65536

static ag_status write_out(batch *b, ag_error *err) {
  ag_buf *text = &b->line_out;
  bool ok = fwrite(text->data, 1, text->len, b->out) == text->len;
  ag_buf_reset(text);
  return ok ? AG_OK : ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
}

static ag_status finish_chunk(batch *b, item *items, size_t n, ag_error *err) {
  const ag_pipeline_batch_options *o = b->o;
  bool is_csv = b->csv != NULL;
  assert(!o->db || (b->recs && b->ids)); /* ok: allocated when there is a log */
  ag_status st = o->db ? record_chunk(o->db, items, n, b->recs, b->ids, err) : AG_OK;
  if (st == AG_OK && o->db)
    after_chunk(b->d, items, n, b->ids, b->stats);
  ag_buf *text = &b->line_out;
  ag_buf_reset(text);
  for (size_t i = 0; st == AG_OK && i < n; i++) {
    item *it = &items[i];
    b->stats->lines++;
    if (it->res.st == AG_OK) {
      b->stats->decided++;
      if (it->res.outcome_index >= 0 && it->res.outcome_index < AG_PIPELINE_OUTCOMES)
        b->stats->outcomes[it->res.outcome_index]++;
      if (is_csv)
        ag_buf_append(text, it->row.data, it->row.len);
      else if (o->db)
        ag_pipeline_splice_audit_id(text, b->ids[it->rec], it->answer.data, it->answer.len);
      else
        ag_buf_append(text, it->answer.data, it->answer.len);
    } else {
      b->stats->rejected++;
      if (is_csv)
        ag_buf_append(text, it->row.data, it->row.len);
      else
        ag_json_encode_batch_error(it->line.number, &it->res.err, text);
    }
    if (is_csv)
      pl_csv_finish(it->res.st == AG_OK && o->db ? b->ids[it->rec] : NULL, text);
    else
      ag_buf_putc(text, '\n');
    if (text->failed)
      st = ag_error_set(err, AG_ERR_NOMEM, "", "out of memory at line %ld", it->line.number);
    else if ((text->len >= WRITE_BYTES || i + 1 == n) && (st = write_out(b, err)) != AG_OK)
      break;
  }
  if (o->progress && st == AG_OK) {
    off_t at = ftello(b->in);
    b->progress.lines = b->stats->lines;
    b->progress.bytes_read = at > 0 ? (uint64_t)at : 0;
    o->progress(o->progress_ctx, &b->progress);
  }
  return st;
}

/* The seq the next record appended to the log takes as things stand; 0
 * when the head cannot be read (then no hash is begun ahead). */
static int64_t next_seq(ag_audit_db *db) {
  int64_t seq;
  char hash[AG_AUDIT_HASH_HEX];
  ag_error e;
  return ag_audit_head(db, &seq, hash, &e) == AG_OK ? seq + 1 : 0;
}

static void free_items(item *items) {
  if (!items)
    return;
  for (size_t i = 0; i < CHUNK; i++) {
    ag_pipeline_line_free(&items[i].line);
    ag_buf_free(&items[i].answer);
    ag_buf_free(&items[i].packed);
    ag_audit_prehash_free(items[i].prehash);
    ag_buf_free(&items[i].row);
  }
  free(items);
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
  batch b = {.d = d, .o = o, .in = in, .out = out, .stats = stats};
  item *bufs[2] = {calloc(CHUNK, sizeof(item)), calloc(CHUNK, sizeof(item))};
  b.recs = o->db ? calloc(CHUNK, sizeof *b.recs) : NULL;
  b.ids = o->db ? calloc(CHUNK, sizeof *b.ids) : NULL;
  ag_pipeline_worker *workers[THREADS_MAX] = {NULL};
  ag_audit_packer *packers[THREADS_MAX] = {NULL};
  ag_status st = AG_OK;
  bool ok = bufs[0] && bufs[1] && (!o->db || (b.recs && b.ids));
  for (int k = 0; ok && o->db && k < 2; k++)
    for (size_t i = 0; ok && i < CHUNK; i++)
      ok = (bufs[k][i].prehash = ag_audit_prehash_new()) != NULL;
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
  ag_buf_init(&b.line_out);
  if (st == AG_OK && o->format == AG_PIPELINE_CSV &&
      (st = pl_csv_open(in, o->kind, o->columns, &b.csv, err)) == AG_OK) {
    b.lineno = 1;
    pl_csv_header(o->kind, &b.line_out);
    if (fwrite(b.line_out.data, 1, b.line_out.len, out) != b.line_out.len)
      st = ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
  }
  struct stat sb;
  if (o->progress && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode))
    b.progress.bytes_all = (uint64_t)sb.st_size;
  /* bufs[cur] is being answered, bufs[!cur] holds the chunk before it
   * (n_done lines, answered, not yet recorded) */
  int cur = 0;
  size_t n_cur = ok && st == AG_OK ? read_chunk(&b, bufs[cur]) : 0, n_done = 0;
  int64_t seq_cur = o->db ? next_seq(o->db) : 0; /* where bufs[cur]'s records are expected */
  while (ok && st == AG_OK && (n_cur || n_done)) {
    chunk c = {.d = d, .o = o, .items = bufs[cur], .n = n_cur, .first_seq = seq_cur};
    atomic_init(&c.next, 0);
    job jobs[THREADS_MAX];
    for (int t = 0; t < THREADS_MAX; t++)
      jobs[t] = (job){.c = &c, .w = workers[t], .packer = packers[t]};
    pthread_t th[THREADS_MAX];
    bool started[THREADS_MAX] = {false};
    /* a thread that is not started leaves its share to the others */
    for (int t = 1; t < nt; t++)
      if (n_cur > (size_t)t * GRAIN)
        started[t] = pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0;
    int64_t seq_next = seq_cur ? seq_cur + (int64_t)n_cur : 0;
    if (n_done && (st = finish_chunk(&b, bufs[!cur], n_done, err)) == AG_OK && o->db) {
      int64_t after = next_seq(o->db); /* the chunk before, recorded: guessed anew */
      seq_next = after ? after + (int64_t)n_cur : 0;
    }
    size_t n_next = st == AG_OK ? read_chunk(&b, bufs[!cur]) : 0;
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++)
      if (started[t])
        pthread_join(th[t], NULL);
    n_done = n_cur;
    n_cur = n_next;
    seq_cur = seq_next;
    cur = !cur;
  }
  pl_csv_free(b.csv);
  if (st == AG_OK && ferror(in))
    st = ag_error_set(err, AG_ERR_IO, "input", "reading the input failed");
  if (fflush(out) != 0 && st == AG_OK)
    st = ag_error_set(err, AG_ERR_IO, "output", "writing the answers failed");
  ag_buf_free(&b.line_out);
  for (int t = 0; t < THREADS_MAX; t++) {
    ag_pipeline_worker_free(workers[t]);
    ag_audit_packer_free(packers[t]);
  }
  free_items(bufs[0]);
  free_items(bufs[1]);
  free(b.recs);
  free(b.ids);
  return st;
}
