/*
 * lists.c - the screening lists in force: updates that cannot silently
 * replace a list with a fragment of it, a record of every change in the
 * audit log, and the age of each list.
 *
 * Why: a screening is only as good as the lists it ran against (15 CFR
 * 744.11, 764.3, 31 CFR 501: a party listed yesterday is listed today). A
 * 1-entry file or a truncated download must not become the lists in force
 * unnoticed, and which lists a determination used must be provable later
 * (15 CFR 762.2(a)), so every update, refused update and reload is an
 * audit record of kind "lists" in the same hash chain as the decisions.
 *
 * Invariant: a record is durable before the index it describes is
 * installed; a failed append leaves the lists in force untouched.
 */
#include "acegate/pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ag_pipeline_lists_report_free(ag_pipeline_lists_report *r) {
  free(r->lists);
  r->lists = NULL;
  r->n = 0;
}

/* ---- comparing two sets of lists ---- */

typedef struct {
  const char *code;
  const char *source_id;
  uint8_t digest[16];
} entry_key;

static int cmp_key(const void *a, const void *b) {
  const entry_key *x = a, *y = b;
  int c = strcmp(x->code, y->code);
  return c ? c : strcmp(x->source_id, y->source_id);
}

static entry_key *collect(const ag_screen *s, size_t *n) {
  *n = s ? ag_screen_entry_count(s) : 0;
  entry_key *k = malloc((*n ? *n : 1) * sizeof *k);
  if (!k)
    return NULL;
  for (size_t i = 0; i < *n; i++) {
    ag_screen_entry_info e;
    ag_screen_entry_get(s, i, &e);
    k[i].code = ag_screen_list(s, e.list)->code;
    k[i].source_id = e.source_id;
    memcpy(k[i].digest, e.digest, sizeof k[i].digest);
  }
  qsort(k, *n, sizeof *k, cmp_key);
  return k;
}

static ag_pipeline_list_change *change_for(ag_pipeline_lists_report *r, const char *code,
                                           const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->lists[i].code, code))
      return &r->lists[i];
  ag_pipeline_list_change *grown = realloc(r->lists, (r->n + 1) * sizeof *grown);
  if (!grown)
    return NULL;
  r->lists = grown;
  ag_pipeline_list_change *c = &r->lists[r->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->code, sizeof c->code, "%s", code);
  snprintf(c->name, sizeof c->name, "%s", name);
  return c;
}

/* The newest date of a code's sources. */
static void newer(char dst[11], const char *date) {
  if (date && strlen(date) == 10 && strcmp(date, dst) > 0)
    snprintf(dst, 11, "%s", date);
}

static ag_status compare(const ag_screen *before, const ag_screen *after,
                         ag_pipeline_lists_report *r, ag_error *err) {
  for (int side = 0; side < 2; side++) {
    const ag_screen *s = side ? after : before;
    for (size_t i = 0; s && i < ag_screen_list_count(s); i++) {
      const ag_screen_list_info *l = ag_screen_list(s, i);
      ag_pipeline_list_change *c = change_for(r, l->code, l->name);
      if (!c)
        return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
      if (side) {
        c->after_present = true;
        c->after += l->entries;
        newer(c->date_after, l->date);
      } else {
        c->before_present = true;
        c->before += l->entries;
        newer(c->date_before, l->date);
      }
    }
  }
  size_t nb, na;
  entry_key *b = collect(before, &nb), *a = collect(after, &na);
  if (!a || !b) {
    free(a);
    free(b);
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  }
  size_t i = 0, j = 0;
  while (i < nb || j < na) {
    int c = i == nb ? 1 : j == na ? -1 : cmp_key(&b[i], &a[j]);
    ag_pipeline_list_change *ch = change_for(r, c <= 0 ? b[i].code : a[j].code, "");
    if (!ch) {
      free(a);
      free(b);
      return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    }
    if (c < 0) {
      ch->removed++;
      i++;
    } else if (c > 0) {
      ch->added++;
      j++;
    } else {
      if (memcmp(b[i].digest, a[j].digest, sizeof b[i].digest))
        ch->changed++;
      i++;
      j++;
    }
  }
  free(a);
  free(b);
  return AG_OK;
}

/* The guard: a dropped source, or one that lost more than max_shrink of
 * its entries, is refused with the numbers. */
static bool refuse(const ag_pipeline_lists_report *r, double max_shrink, char *why, size_t cap) {
  size_t used = 0;
  why[0] = '\0';
  for (size_t i = 0; i < r->n; i++) {
    const ag_pipeline_list_change *c = &r->lists[i];
    int k = 0;
    if (c->before_present && !c->after_present)
      k = snprintf(why + used, cap - used, "%s%s dropped (%u entries in force, none in the update)",
                   used ? "; " : "", c->code, c->before);
    else if (c->before_present && c->before > 0 &&
             (double)(c->before - (c->after < c->before ? c->after : c->before)) >
                 max_shrink * (double)c->before)
      k = snprintf(why + used, cap - used, "%s%s shrinks from %u to %u entries (-%.1f %%, more than %.1f %%)",
                   used ? "; " : "", c->code, c->before, c->after,
                   100.0 * (double)(c->before - c->after) / (double)c->before, 100.0 * max_shrink);
    if (k > 0)
      used = used + (size_t)k < cap ? used + (size_t)k : cap - 1;
  }
  return used > 0;
}

/* ---- the record ---- */

static void put_side(ag_buf *b, const ag_screen *s) {
  if (!s) {
    ag_buf_puts(b, "null");
    return;
  }
  const ag_screen_index_info *ii = ag_screen_info(s);
  char version[AG_PIPELINE_LISTS_VERSION_MAX];
  ag_pipeline_lists_version(s, version, sizeof version);
  ag_buf_puts(b, "{\"origin\":");
  ag_buf_json_cstr(b, ii->origin);
  ag_buf_puts(b, ",\"index_sha256\":");
  ag_buf_json_cstr(b, ii->checksum);
  ag_buf_puts(b, ",\"lists_version\":");
  ag_buf_json_cstr(b, version);
  ag_buf_printf(b, ",\"entries\":%u,\"lists\":[", ii->entries);
  for (size_t i = 0; i < ag_screen_list_count(s); i++) {
    const ag_screen_list_info *l = ag_screen_list(s, i);
    ag_buf_puts(b, i ? ",{\"code\":" : "{\"code\":");
    ag_buf_json_cstr(b, l->code);
    ag_buf_printf(b, ",\"entries\":%u,\"date\":", l->entries);
    if (l->date[0])
      ag_buf_json_cstr(b, l->date);
    else
      ag_buf_puts(b, "null");
    ag_buf_puts(b, ",\"files\":");
    ag_buf_json_cstr(b, l->files);
    ag_buf_puts(b, ",\"sha256\":");
    ag_buf_json_cstr(b, l->sha256);
    ag_buf_putc(b, '}');
  }
  ag_buf_puts(b, "]}");
}

static void put_changes(ag_buf *b, const ag_pipeline_lists_report *r) {
  ag_buf_puts(b, ",\"changes\":[");
  for (size_t i = 0; i < r->n; i++) {
    const ag_pipeline_list_change *c = &r->lists[i];
    ag_buf_puts(b, i ? ",{\"code\":" : "{\"code\":");
    ag_buf_json_cstr(b, c->code);
    ag_buf_printf(b, ",\"before\":%u,\"after\":%u,\"added\":%u,\"removed\":%u,\"changed\":%u}",
                  c->before, c->after, c->added, c->removed, c->changed);
  }
  ag_buf_putc(b, ']');
}

static void put_files(ag_buf *b, const char *const *paths, size_t n) {
  ag_buf_puts(b, ",\"files\":[");
  for (size_t i = 0; i < n; i++) {
    if (i)
      ag_buf_putc(b, ',');
    ag_buf_json_cstr(b, paths[i]);
  }
  ag_buf_putc(b, ']');
}

static ag_status append(ag_audit_db *db, const ag_buf *req, const ag_buf *dec, const char *outcome,
                        const ag_screen *version_of, const char *actor, const char *client,
                        char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  if (req->failed || dec->failed)
    return ag_error_set(err, AG_ERR_NOMEM, "record", "out of memory");
  char version[AG_PIPELINE_LISTS_VERSION_MAX] = "";
  if (version_of)
    ag_pipeline_lists_version(version_of, version, sizeof version);
  ag_audit_record rec = {.kind = AG_AUDIT_LISTS,
                         .request = req->data,
                         .request_len = req->len,
                         .decision = dec->data,
                         .decision_len = dec->len,
                         .lists_version = version,
                         .key_id = actor,
                         .client_addr = client,
                         .outcome = outcome};
  return ag_audit_append(db, &rec, id_out, err);
}

ag_status ag_pipeline_lists_update(const ag_pipeline_lists_update_options *o,
                                   ag_pipeline_lists_report *rep, ag_error *err) {
  memset(rep, 0, sizeof *rep);
  if (!o->db)
    return ag_error_set(err, AG_ERR_INPUT, "db", "an update is recorded: name the audit log");
  ag_screen *before = NULL, *after = NULL;
  /* a data directory the update will create holds no lists yet: the
   * built-in ones are in force */
  struct stat sb;
  ag_status st = o->data_dir && stat(o->data_dir, &sb) != 0 && errno == ENOENT
                     ? ag_screen_open_builtin(&before, err)
                     : ag_screen_open_dir(o->data_dir, &before, err);
  if (st)
    return st;
  snprintf(rep->index_before, sizeof rep->index_before, "%s", ag_screen_info(before)->checksum);
  ag_error load_err;
  ag_error_clear(&load_err);
  ag_status load_st = ag_screen_open_paths(o->paths, o->n, &after, &load_err);
  if (!load_st)
    st = compare(before, after, rep, err);
  if (st) {
    ag_screen_close(before);
    ag_screen_close(after);
    return st;
  }
  const char *outcome;
  if (load_st) {
    rep->result = "invalid";
    outcome = "lists_update_invalid";
    snprintf(rep->reason, sizeof rep->reason, "%s", load_err.reason);
  } else if (refuse(rep, o->max_shrink, rep->reason, sizeof rep->reason) && !o->force) {
    rep->result = "refused";
    outcome = "lists_update_refused";
  } else {
    rep->result = "updated";
    outcome = "lists_updated";
    snprintf(rep->index_after, sizeof rep->index_after, "%s", ag_screen_info(after)->checksum);
  }
  bool install = !strcmp(rep->result, "updated");

  ag_buf req, dec;
  ag_buf_init(&req);
  ag_buf_init(&dec);
  ag_buf_puts(&req, "{\"action\":\"update\",\"by\":");
  ag_buf_json_cstr(&req, o->actor ? o->actor : "");
  put_files(&req, o->paths, o->n);
  ag_buf_printf(&req, ",\"force\":%s,\"max_shrink\":%.4g}", o->force ? "true" : "false",
                o->max_shrink);
  ag_buf_puts(&dec, "{\"result\":");
  ag_buf_json_cstr(&dec, rep->result);
  ag_buf_puts(&dec, ",\"reason\":");
  if (rep->reason[0])
    ag_buf_json_cstr(&dec, rep->reason);
  else
    ag_buf_puts(&dec, "null");
  /* a forced update names what the guard would have said */
  ag_buf_puts(&dec, ",\"before\":");
  put_side(&dec, before);
  ag_buf_puts(&dec, ",\"after\":");
  put_side(&dec, load_st ? NULL : after);
  put_changes(&dec, rep);
  ag_buf_putc(&dec, '}');
  st = append(o->db, &req, &dec, outcome, install ? after : before, o->actor, o->client,
              rep->audit_id, err);
  ag_buf_free(&req);
  ag_buf_free(&dec);

  if (!st && install)
    st = ag_screen_install(o->data_dir, after, rep->written, sizeof rep->written, err);
  if (!st && load_st) {
    *err = load_err;
    st = load_st;
  } else if (!st && !install) {
    st = ag_error_set(err, AG_ERR_LIST, "lists", "%s", rep->reason);
  }
  ag_screen_close(before);
  ag_screen_close(after);
  return st;
}

/* A reload or reset: what was in force, what is now, and the changes. */
static ag_status change_record(ag_audit_db *db, const char *action, const ag_screen *before,
                               const ag_screen *after, const char *why_failed,
                               const char *outcome, const char *actor, const char *client,
                               char id_out[AG_AUDIT_ID_MAX], ag_error *err);

ag_status ag_pipeline_lists_reload_record(ag_audit_db *db, const ag_screen *before,
                                          const ag_screen *after, const char *why_failed,
                                          const char *actor, const char *client,
                                          char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  return change_record(db, "reload", before, after, why_failed,
                       why_failed ? "lists_reload_failed" : "lists_reloaded", actor, client,
                       id_out, err);
}

ag_status ag_pipeline_lists_reset(const char *data_dir, ag_audit_db *db, const char *actor,
                                  char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  ag_screen *before = NULL, *after = NULL;
  /* a damaged index is what a reset is for: recorded as unreadable */
  ag_error be;
  ag_error_clear(&be);
  char why[sizeof be.reason + 48] = "";
  if (ag_screen_open_dir(data_dir, &before, &be) != AG_OK)
    snprintf(why, sizeof why, "the lists in force could not be read: %s", be.reason);
  ag_status st = ag_screen_open_builtin(&after, err);
  if (!st)
    st = change_record(db, "reset", before, after, why[0] ? why : NULL, "lists_reset", actor, "",
                       id_out, err);
  if (!st)
    st = ag_screen_reset(data_dir, err);
  ag_screen_close(before);
  ag_screen_close(after);
  return st;
}

static ag_status change_record(ag_audit_db *db, const char *action, const ag_screen *before,
                               const ag_screen *after, const char *why_failed,
                               const char *outcome, const char *actor, const char *client,
                               char id_out[AG_AUDIT_ID_MAX], ag_error *err) {
  ag_pipeline_lists_report r = {0};
  ag_status st = AG_OK;
  if (after)
    st = compare(before, after, &r, err);
  if (st) {
    ag_pipeline_lists_report_free(&r);
    return st;
  }
  ag_buf req, dec;
  ag_buf_init(&req);
  ag_buf_init(&dec);
  ag_buf_printf(&req, "{\"action\":\"%s\",\"by\":", action);
  ag_buf_json_cstr(&req, actor ? actor : "");
  ag_buf_putc(&req, '}');
  ag_buf_puts(&dec, "{\"result\":");
  ag_buf_json_cstr(&dec, outcome + strlen("lists_"));
  ag_buf_puts(&dec, ",\"reason\":");
  if (why_failed)
    ag_buf_json_cstr(&dec, why_failed);
  else
    ag_buf_puts(&dec, "null");
  ag_buf_puts(&dec, ",\"before\":");
  put_side(&dec, before);
  ag_buf_puts(&dec, ",\"after\":");
  put_side(&dec, after);
  put_changes(&dec, &r);
  ag_buf_putc(&dec, '}');
  st = append(db, &req, &dec, outcome, after ? after : before, actor, client, id_out, err);
  ag_buf_free(&req);
  ag_buf_free(&dec);
  ag_pipeline_lists_report_free(&r);
  return st;
}

/* ---- age ---- */

size_t ag_pipeline_stale_lists(const ag_screen *lists, int max_age_days, ag_date today,
                               ag_pipeline_stale_list *out, size_t cap) {
  if (!lists || max_age_days < 0)
    return 0;
  if (max_age_days == 0)
    max_age_days = AG_PIPELINE_MAX_LIST_AGE;
  size_t n = 0;
  for (size_t i = 0; i < ag_screen_list_count(lists); i++) {
    const ag_screen_list_info *l = ag_screen_list(lists, i);
    ag_date d;
    bool dated = l->date && strlen(l->date) == 10 && ag_date_parse(l->date, 10, &d);
    int age = dated ? (int)(today - d) : -1;
    if (dated && age <= max_age_days)
      continue;
    if (n < cap)
      out[n] = (ag_pipeline_stale_list){l->code, l->name, dated ? l->date : "", age};
    n++;
  }
  return n;
}

void ag_pipeline_stale_json(const ag_pipeline_stale_list *s, size_t n, ag_buf *out) {
  /* short: it is part of every answer made with the lists, and stored */
  for (size_t i = 0; i < n; i++) {
    ag_buf_puts(out, i ? ",{\"code\":\"lists_stale\",\"list\":" : "{\"code\":\"lists_stale\",\"list\":");
    ag_buf_json_cstr(out, s[i].code);
    ag_buf_puts(out, ",\"date\":");
    if (s[i].date[0])
      ag_buf_json_cstr(out, s[i].date);
    else
      ag_buf_puts(out, "null");
    if (s[i].age_days >= 0)
      ag_buf_printf(out, ",\"age_days\":%d}", s[i].age_days);
    else
      ag_buf_puts(out, ",\"age_days\":null}");
  }
}
