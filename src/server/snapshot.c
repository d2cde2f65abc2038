/*
 * snapshot.c - the regulation tables and screening lists in force, as one
 * reference-counted snapshot.
 *
 * A reload builds a complete new snapshot first; only when both the tables
 * and the lists have loaded and validated is it swapped in, under a short
 * lock. Requests hold a reference to the snapshot they started with, so a
 * reload never changes the data under a running determination and never
 * drops a request; the old snapshot is freed by whoever drops the last
 * reference. A failed reload leaves the old snapshot in force.
 */
#include "server_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lists version: the newest source date and a hash of the source files'
 * own SHA-256s, so it names the list data itself (the same files give the
 * same version whenever and wherever the index was built), e.g.
 * "2026-07-31+1a2b3c4d5e6f". */
static void lists_version(const ag_screen *l, char *out, size_t cap) {
  char newest[11] = "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  for (size_t i = 0; i < ag_screen_list_count(l); i++) {
    const ag_screen_list_info *li = ag_screen_list(l, i);
    if (li->date && strlen(li->date) == 10 && strcmp(li->date, newest) > 0)
      snprintf(newest, sizeof newest, "%s", li->date);
    if (ok)
      ok = EVP_DigestUpdate(ctx, li->code, strlen(li->code) + 1) &&
           EVP_DigestUpdate(ctx, li->sha256 ? li->sha256 : "",
                            li->sha256 ? strlen(li->sha256) + 1 : 1);
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 6;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    const ag_screen_index_info *info = ag_screen_info(l);
    snprintf(out, cap, "%s+%.12s", newest[0] ? newest : "undated",
             info && info->checksum ? info->checksum : "");
    return;
  }
  snprintf(out, cap, "%s+%02x%02x%02x%02x%02x%02x", newest[0] ? newest : "undated", md[0], md[1],
           md[2], md[3], md[4], md[5]);
}

ag_status srv_snapshot_load(const ag_server_config *cfg, srv_snapshot **out, ag_error *err) {
  *out = NULL;
  srv_snapshot *snap = calloc(1, sizeof *snap);
  if (!snap)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  atomic_init(&snap->refs, 1);
  ag_status st = cfg->rules_dir ? ag_rules_load_dir(cfg->rules_dir, &snap->rules, err)
                                : ag_rules_load_default(&snap->rules, err);
  if (st == AG_OK && !cfg->no_lists) {
    st = cfg->n_list_paths
             ? ag_screen_open_paths(cfg->list_paths, cfg->n_list_paths, &snap->lists, err)
             : ag_screen_open_dir(cfg->lists_dir, &snap->lists, err);
    if (st == AG_OK)
      lists_version(snap->lists, snap->lists_version, sizeof snap->lists_version);
  }
  if (st != AG_OK) {
    srv_snapshot_put(snap);
    return st;
  }
  snprintf(snap->rules_source, sizeof snap->rules_source, "%s",
           cfg->rules_dir ? cfg->rules_dir : "built-in");
  *out = snap;
  return AG_OK;
}

srv_snapshot *srv_snapshot_get(ag_server *s) {
  pthread_mutex_lock(&s->snap_mu);
  srv_snapshot *snap = s->snap;
  atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&s->snap_mu);
  return snap;
}

void srv_snapshot_put(srv_snapshot *snap) {
  if (!snap || atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) != 1)
    return;
  ag_rules_free(snap->rules);
  ag_screen_close(snap->lists);
  free(snap);
}
