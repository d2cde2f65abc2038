/*
 * acegate/parties.h - the party registry, watched: the parties a company
 * deals with (imported from a CSV, and the parties of audited checks made
 * with a `ref`), keyed by ref, re-screened whenever the lists change.
 *
 * Why: a customer cleared last month may be added to the Entity List this
 * morning (15 CFR 744.11); every export to it from then on needs a licence.
 * After a list update or reload the registry is screened again, and a hit
 * on an entry the update added or changed that was not known for that
 * party becomes a screening record in the audit log with a "cause" naming
 * the list change, so it is in the review queue (acegate/review.h).
 *
 * Storage: a SQLite database beside the audit log ("<log>-parties"; an
 * in-memory one for a ":memory:" log), or, with a PostgreSQL log, tables
 * of its database shared by every replica on it: derived data, like the
 * search index. The records it makes are in the log itself.
 *
 * Threads: a handle may be shared by any number of threads; each call
 * takes its lock.
 */
#ifndef ACEGATE_PARTIES_H
#define ACEGATE_PARTIES_H

#include "acegate/audit.h"
#include "acegate/pipeline.h"

#define AG_PARTIES_SUFFIX "-parties"
#define AG_PARTIES_ADDRESS_MAX 1024 /* bytes of an address */

typedef struct ag_parties ag_parties;

/* Opens (creating) the registry of the audit log at log_path. */
ag_status ag_parties_open(const char *log_path, ag_parties **out, ag_error *err);
void ag_parties_close(ag_parties *p);

/* Imports a CSV of parties (columns name, country, address, ref, or mapped
 * by cols as for batches). Appends {"imported": N, "updated": M,
 * "errors": [{"line", "error": {"code","message","field"}}]}: a row
 * without name or ref, with a bad country or too long a field is an error
 * and the others are imported. Returns the header's error (field
 * "columns" or "input"). */
ag_status ag_parties_import(ag_parties *p, FILE *in, const ag_pipeline_csv_columns *cols,
                            ag_buf *out, ag_error *err);

/* Adds the party of a recorded check made with ref (its first screened
 * party: the end user, else the consignee ...; name and the country it was
 * screened with), screened now, unless the registry already has ref from
 * an import (which is then only marked screened). The pipeline calls it
 * for every recorded check (ag_pipeline_recorded); p NULL: nothing. */
ag_status ag_parties_note(ag_parties *p, const char *ref, const char *name, const char *country,
                          ag_error *err);

/* Makes the notes between them one transaction, held by the calling
 * thread (a batch notes a chunk at once). ag_parties_end commits, or rolls
 * back and returns the error; either way the handle is free again. */
ag_status ag_parties_begin(ag_parties *p, ag_error *err);
ag_status ag_parties_end(ag_parties *p, ag_error *err);

/* {"items":[{"ref","name","country","address","source","last_screened",
 * "open_items"}...],"next_cursor"}: by ref, q (NULL or "") a substring of
 * ref or name, case-insensitive; open_items counted in db's queue. */
ag_status ag_parties_list(ag_parties *p, ag_audit_db *db, const char *q, const char *cursor,
                          size_t limit, ag_buf *out, ag_error *err);
/* {"party":{...},"history":[{"audit_id","kind","at","outcome","lists_version"}],
 * "open":[queue items]}; AG_ERR_NOTFOUND ("ref") for an unknown ref. */
ag_status ag_parties_show(ag_parties *p, ag_audit_db *db, const char *ref, ag_buf *out,
                          ag_error *err);

typedef struct {
  ag_audit_db *db;              /* where the queue items are recorded */
  const ag_pipeline_data *data; /* the lists now in force (data->lists), remembered decisions */
  const ag_screen *before;      /* the lists before the change; NULL: every entry counts */
  const char *cause_audit_id;   /* the record of the update or reload, or "" */
  const char *key_id, *client;  /* who asked ("" on the command line) */
  /* each new queue item: its audit id, and its answer as recorded with
   * that id spliced in */
  void (*on_item)(void *ctx, const char *audit_id, const char *json, size_t len);
  void *on_item_ctx;
} ag_parties_rescreen_options;

typedef struct {
  uint64_t parties;  /* screened */
  uint64_t entries;  /* entries added or changed by the update (or all) */
  uint64_t items;    /* queue items recorded */
  uint64_t kept;     /* items an interrupted re-screening made, found in the log: their hits
                        are not named again */
  double seconds;
  bool skipped;      /* the change was re-screened by another process: nothing done */
} ag_parties_rescreen_stats;

/* Screens every party of the registry against the lists in force and, for
 * each party with a hit on an entry added or changed since `before` that
 * it did not have (by the entry's list code and id, and content hash),
 * records a screening with "cause": {"kind":"list_change","lists_version",
 * "entries":[...],"entry_lists":[...],"entry_hashes":[...],"audit_id"}
 * and its ref. A hit a remembered clearance covers is no new item. A
 * change (before given) is re-screened once: a process that finds it
 * claimed by another (replicas reloading the same lists) does nothing and
 * sets stats->skipped. A re-screening that died midway is finished by the
 * next, however much later: a hit (entry and content) that an item made
 * by a re-screening since the unfinished one began names already makes no
 * second item (that item, counted in stats->kept, goes to on_item again).
 * A full re-screening (no `before`) finishes every unfinished one of its
 * lists. */
ag_status ag_parties_rescreen(ag_parties *p, const ag_parties_rescreen_options *o,
                              ag_parties_rescreen_stats *stats, ag_error *err);

#endif
