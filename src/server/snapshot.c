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

ag_status srv_snapshot_load(const ag_server_config *cfg, srv_snapshot **out, ag_error *err) {
  *out = NULL;
  srv_snapshot *snap = calloc(1, sizeof *snap);
  if (!snap)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  atomic_init(&snap->refs, 1);
  ag_status st = cfg->rules_dir ? ag_rules_load_dir(cfg->rules_dir, &snap->rules, err)
                                : ag_rules_load_default(&snap->rules, err);
  /* the policy names questions of these tables: read again on every reload */
  if (st == AG_OK && cfg->policy_path)
    st = ag_policy_load(snap->rules->diligence, cfg->policy_path, &snap->policy, err);
  if (st == AG_OK)
    st = cfg->rules_dir ? ag_classify_load_dir(snap->rules, cfg->rules_dir, &snap->classify, err)
                        : ag_classify_load_default(snap->rules, &snap->classify, err);
  if (st == AG_OK && !cfg->no_lists) {
    st = cfg->n_list_paths
             ? ag_screen_open_paths(cfg->list_paths, cfg->n_list_paths, &snap->lists, err)
             : ag_screen_open_dir(cfg->lists_dir, &snap->lists, err);
    if (st == AG_OK)
      ag_pipeline_lists_version(snap->lists, snap->lists_version, sizeof snap->lists_version);
  }
  if (st != AG_OK) {
    srv_snapshot_put(snap);
    return st;
  }
  snprintf(snap->rules_source, sizeof snap->rules_source, "%s",
           cfg->rules_dir ? cfg->rules_dir : "built-in");
  snap->data = (ag_pipeline_data){.rules = snap->rules,
                                   .lists = snap->lists,
                                   .lists_version = snap->lists_version,
                                   .policy = snap->policy,
                                   .max_list_age_days = cfg->max_list_age_days,
                                   .classify = snap->classify};
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
  ag_policy_free(snap->policy);
  ag_classify_free(snap->classify);
  ag_rules_free(snap->rules);
  ag_screen_close(snap->lists);
  free(snap);
}
