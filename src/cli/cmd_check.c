/*
 * cmd_check.c - `acegate check`: one determination from flags or from a
 * JSON transaction on stdin, or a stream of them (--batch, JSONL in and
 * out, in order, in constant memory).
 *
 * Flags are turned into the same JSON transaction the API takes and go
 * through the same decoder, so the command line and the service accept
 * and reject exactly the same things.
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/parties.h"
#include "acegate/pipeline.h"
#include "acegate/remember.h"
#include "acegate/webhook.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: acegate check [OPTIONS]            one determination from flags\n"
          "       acegate check [OPTIONS] -          one JSON transaction from stdin\n"
          "       acegate check [OPTIONS] --batch    JSONL transactions in, JSONL decisions out\n"
          "\n"
          "transaction flags (docs/decision-model.md):\n"
          "  --eccn PARAGRAPH          CCL paragraph, e.g. 4D004, 5A001.j, or EAR99 (required\n"
          "                            unless --classification-id gives it); an item outside\n"
          "                            740.22(b)(1) is answered OUT_OF_SCOPE\n"
          "  --for PARAGRAPH           the \"for\" qualifier, e.g. --eccn 4D001.a --for 4A005\n"
          "  --classification-id ID    take the ECCN (and for) from this classification record\n"
          "                            of the audit log (acegate classify --db); its trace\n"
          "                            cites the record (in JSON: \"item\": {\"classification_id\"})\n"
          "  --to CODE                 destination: ISO 3166-1 alpha-2, or UA-43 etc. (required)\n"
          "  --transaction KIND        export (default), reexport, transfer, deemed_export,\n"
          "                            deemed_reexport\n"
          "  --end-user-type TYPE      government, non_government (default),\n"
          "                            favorable_treatment_cybersecurity, individual\n"
          "  --end-user NAME           end user's name (screened when lists are loaded)\n"
          "  --end-user-country CODE   the end user's country, e.g. US for a U.S. agency abroad\n"
          "  --end-user-address TEXT   the end user's street address: screening evidence\n"
          "  --end-user-city TEXT      the end user's city: screening evidence\n"
          "  --end-user-id ID          an identifier of the end user (registration, tax, IMO\n"
          "                            number, SWIFT/BIC): a listed entry that lists it is a\n"
          "                            confident match\n"
          "  --police-or-judicial      the government end user is a police or judicial body\n"
          "  --national-csirt          the government end user is a national CSIRT\n"
          "  --end-use USE             none (default), vulnerability_disclosure,\n"
          "                            cyber_incident_response, digital_artifacts_investigation\n"
          "  --knows-unauthorized-use  the exporter knows or has reason to know of use without\n"
          "                            the owner's authorization (740.22(c)(2))\n"
          "  --as-of YYYY-MM-DD        date of the transaction (default: today, UTC)\n"
          "  --due-diligence FILE      due-diligence answers, a JSON object {\"answers\": {\"RF02\":\n"
          "                            true, \"CF01\": false, ...}, \"resolved\": {\"RF02\": \"note\"}}\n"
          "                            (docs/due-diligence.md; in JSON input: \"due_diligence\")\n"
          "\n"
          "  --consignee NAME, --intermediate-consignee NAME, --purchaser NAME\n"
          "                            other parties, screened like the end user\n"
          "  --ref TEXT                your reference (order, shipment, customer; at most 128\n"
          "                            characters): echoed, recorded, searchable\n"
          "                            (acegate audit search --ref); in JSON input: \"ref\"\n"
          "\n"
          "output and data:\n"
          "  --json                    print the decision as JSON\n"
          "  --rules DIR               use the tables in DIR instead of the built-in ones\n"
          "  --lists PATH[,PATH...]    screen against these list files or directories instead of\n"
          "                            the lists in force (acegate lists)\n"
          "  --no-screen               do not screen party names (the decision says so)\n"
          "  --db PATH                 audit log every decision is recorded in before it is\n"
          "                            shown (default $ACEGATE_DB, else\n"
          "                            $XDG_STATE_HOME/acegate/audit.db, else\n"
          "                            ~/.local/state/acegate/audit.db; :memory: keeps none)\n"
          "  --policy FILE             company due-diligence policy: the questions whose raised,\n"
          "                            unresolved flag makes the outcome REVIEW\n"
          "  --max-list-age DAYS       warn when a list screened against is older (default 7,\n"
          "                            $ACEGATE_MAX_LIST_AGE; off: never)\n"
          "  --remember-max-age DAYS   apply a reviewer's remembered clearance or confirmation\n"
          "                            for this many days (default 365; 0: none applies)\n"
          "  --webhook-url URL         POST each new review-queue item (a REVIEW, a possible\n"
          "                            match) there, signed with HMAC-SHA256 and the secret in\n"
          "  --webhook-secret-file FILE  FILE; waits for delivery before exit\n"
          "  --format csv|jsonl        --batch input and output (default jsonl); csv: a header\n"
          "                            row of field names (eccn, destination, end_user.name,\n"
          "                            ref, ...), one transaction per row, one answer row each\n"
          "  --columns F=COL[,...]     csv: which column gives which field, e.g.\n"
          "                            end_user.name=Customer,destination=Ctry,ref=OrderID\n"
          "  --fail-on OUTCOME[,...]   exit 7 when a decision has one of these outcomes\n"
          "                            (NLR, LICENSE_EXCEPTION_ACE, LICENSE_REQUIRED,\n"
          "                            PROHIBITED, REVIEW)\n"
          "\n"
          "exit status: 0 determination made (whatever the outcome), 2 bad input (for --batch:\n"
          "some line was rejected; the others were decided), 3 invalid tables or lists, 4 I/O\n"
          "or audit log error, 7 --fail-on matched (and no line was rejected).\n");
}

/* ---- output ---- */

static void print_text(const ag_decision *d, FILE *out) {
  ag_buf b;
  ag_buf_init(&b);
  const ag_txn *t = d->txn;
  char date[11];
  ag_date_format(t->as_of, date);
  fprintf(out, "%s", ag_outcome_name(d->outcome));
  const char *eccn = d->item ? d->item->paragraph : t->eccn;
  const char *for_ = d->item ? d->item->for_ : t->for_[0] ? t->for_ : NULL;
  fprintf(out, "  %s%s%s to %s, %s, %s, as of %s\n", eccn, for_ ? " for " : "", for_ ? for_ : "",
          d->rules->destinations[d->dest].code, ag_end_user_type_name(t->end_user_type),
          ag_txn_kind_name(t->transaction), date);
  fprintf(out, "  decided by: %s\n", d->decided_by ? d->decided_by : "-");
  fprintf(out, "  licence required by the Country Chart: %s\n",
          !d->chart_read                 ? "not determined (see the reasoning)"
          : d->license_required_by_chart ? "yes"
                                         : "no");
  fprintf(out, "  License Exception ACE: %s", d->ace_available ? "available" : "not available");
  for (int i = 0; i < d->n_blocked; i++)
    fprintf(out, "%s%s", i ? ", " : " (blocked by ", d->blocked_by[i]);
  fprintf(out, "%s\n", d->n_blocked ? ")" : "");
  if (d->ace_reconstructed)
    fprintf(out, "  note: depends on a reconstructed row of 740.22 (%s)\n",
            d->rules->final_rule_cite);
  if (d->red_flags_reconstructed)
    fprintf(out, "  note: rests on a due-diligence question held as reconstructed text (verify "
                 "it; docs/due-diligence.md)\n");
  if (d->n_red_flags) {
    fprintf(out, "  red flags:");
    for (int i = 0; i < d->n_red_flags; i++)
      fprintf(out, " %s (%s)", d->red_flags[i].row->id,
              ag_flag_effect_name(d->red_flags[i].effect));
    fprintf(out, "\n");
  }
  fprintf(out, "\nreasoning:\n");
  for (int i = 0; i < d->n_steps; i++) {
    ag_buf_reset(&b);
    ag_decision_step_text(d, i, &b);
    fprintf(out, "  %2d. [%s] %s: %.*s\n", i + 1, d->steps[i].cite,
            ag_step_result_name(d->steps[i].result), (int)b.len, b.data ? b.data : "");
  }
  if (d->n_alternatives) {
    fprintf(out, "\nalternatives:\n");
    for (int i = 0; i < d->n_alternatives; i++) {
      ag_buf_reset(&b);
      ag_decision_alternative_text(d, i, &b);
      fprintf(out, "  - %.*s\n", (int)b.len, b.data ? b.data : "");
    }
  }
  fprintf(out, "\nrules: %s\n", d->rules->version);
  ag_buf_free(&b);
}

static int report_error(const ag_error *err, bool json) {
  if (json) {
    ag_buf b;
    ag_buf_init(&b);
    ag_json_encode_error(err, &b);
    printf("%.*s\n", (int)b.len, b.data ? b.data : "");
    ag_buf_free(&b);
  }
  ag_cli_print_error("check", err);
  return ag_cli_exit_for(err->status);
}

/* ---- flags -> JSON transaction ---- */

/* Paths one --lists may name. */
#define LISTS_MAX 64

static bool lists_arg_ok(const char *paths) {
  size_t n = 1;
  for (const char *p = paths; *p; p++)
    n += *p == ',';
  return n <= LISTS_MAX;
}

typedef struct {
  const char *flag;
  const char *path; /* JSON path; a "." splits object and key */
  bool is_bool;
} flag_map;

static const flag_map flags[] = {
    {"--eccn", "item.eccn", false},
    {"--for", "item.for", false},
    {"--classification-id", "item.classification_id", false},
    {"--to", "destination", false},
    {"--transaction", "transaction", false},
    {"--end-user-type", "end_user.type", false},
    {"--end-user", "end_user.name", false},
    {"--end-user-country", "end_user.country", false},
    {"--end-user-address", "end_user.address", false},
    {"--end-user-city", "end_user.city", false},
    {"--end-user-id", "end_user.ids", false},
    {"--consignee", "consignee.name", false},
    {"--intermediate-consignee", "intermediate_consignee.name", false},
    {"--purchaser", "purchaser.name", false},
    {"--police-or-judicial", "end_user.police_or_judicial", true},
    {"--national-csirt", "end_user.national_csirt", true},
    {"--end-use", "end_use", false},
    {"--knows-unauthorized-use", "knows_unauthorized_use", true},
    {"--as-of", "as_of", false},
    {"--ref", "ref", false},
};

static const char *flag_for_path(const char *path) {
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (!strcmp(flags[i].path, path))
      return flags[i].flag;
  return NULL;
}

/* The object holding path's key (created when missing), and the key. */
static json_t *parent_of(json_t *root, const char *path, const char **key) {
  const char *dot = strchr(path, '.');
  *key = dot ? dot + 1 : path;
  if (!dot)
    return root;
  char obj[64];
  snprintf(obj, sizeof obj, "%.*s", (int)(dot - path), path);
  json_t *child = json_object_get(root, obj);
  if (!child && json_object_set_new(root, obj, child = json_object()) != 0)
    return NULL;
  return child;
}

/* Sets one flag's value in the transaction; an exit status on failure, or
 * -1. A value given twice is refused: the last one silently winning could
 * decide for another destination than the one meant. */
static int set_flag(json_t *root, const flag_map *m, const char *value) {
  const char *key;
  json_t *parent = parent_of(root, m->path, &key);
  if (parent && json_object_get(parent, key)) {
    fprintf(stderr, "acegate check: %s (%s): given more than once\n", m->path, m->flag);
    return AG_EXIT_INPUT;
  }
  /* json_string() refuses invalid UTF-8; a name dropped here would go
   * unscreened, so it is an error like in a JSON transaction */
  json_t *v = m->is_bool ? json_true() : json_string(value);
  if (!v) {
    fprintf(stderr, "acegate check: %s (%s): not valid UTF-8\n", m->path, m->flag);
    return AG_EXIT_INPUT;
  }
  if (!parent || json_object_set_new(parent, key, v) != 0) {
    fprintf(stderr, "acegate check: out of memory\n");
    return AG_EXIT_INTERNAL;
  }
  return -1;
}

/* ---- --due-diligence ---- */

/* Puts the answers file's object into the transaction as "due_diligence",
 * where the decoder checks it as it checks the JSON contract. An exit
 * status on failure, or -1. */
static int load_due_diligence(json_t *root, const char *path) {
  FILE *f;
  ag_error err;
  ag_error_clear(&err);
  if (ag_file_open(path, &f, NULL, &err) != AG_OK) {
    /* a missing file too: a file failure, exit 4 as for every file */
    fprintf(stderr, "acegate check: --due-diligence %s: %s\n", path, err.reason);
    return AG_EXIT_IO;
  }
  json_error_t jerr;
  /* a key given twice is an error, as in a transaction, not the last one winning */
  json_t *dd = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
  fclose(f);
  if (!dd) {
    fprintf(stderr, "acegate check: --due-diligence %s: line %d: %s\n", path, jerr.line,
            jerr.text);
    return AG_EXIT_INPUT;
  }
  if (json_object_set_new(root, "due_diligence", dd) != 0) {
    fprintf(stderr, "acegate check: out of memory\n");
    return AG_EXIT_INTERNAL;
  }
  return -1;
}

/* ---- --fail-on ---- */

/* Parses "OUTCOME[,OUTCOME...]" into a bit per ag_outcome. */
static bool parse_fail_on(const char *v, unsigned *mask) {
  *mask = 0;
  char word[64];
  for (const char *p = v;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == 0 || n >= sizeof word)
      return false;
    memcpy(word, p, n);
    word[n] = '\0';
    bool found = false;
    for (unsigned o = 0; o < AG_OUTCOME_COUNT; o++)
      if (!strcmp(word, ag_outcome_name((ag_outcome)o))) {
        *mask |= 1u << o;
        found = true;
      }
    if (!found)
      return false;
    if (!comma)
      return true;
    p = comma + 1;
  }
}

/* The data a check is decided with: tables, and the lists unless
 * --no-screen. A list that cannot be opened is an error: a named party is
 * never passed unscreened by accident. */
static ag_status open_lists(const char *paths, ag_screen **out, ag_error *err) {
  if (!paths)
    return ag_screen_open_default(out, err);
  char *copy = strdup(paths);
  if (!copy)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  const char *parts[LISTS_MAX];
  size_t n = 0;
  for (char *save = NULL, *p = strtok_r(copy, ",", &save); p && n < LISTS_MAX;
       p = strtok_r(NULL, ",", &save))
    parts[n++] = p;
  ag_status st = ag_screen_open_paths(parts, n, out, err);
  if (st != AG_OK && !strcmp(err->field, ""))
    snprintf(err->field, sizeof err->field, "--lists");
  free(copy);
  return st;
}

int ag_cmd_check(int argc, char **argv) {
  bool json = false, batch = false, from_stdin = false, no_screen = false;
  const char *rules_dir = NULL, *lists_paths = NULL, *db_arg = NULL, *fail_on_arg = NULL;
  const char *dd_path = NULL, *policy_path = NULL;
  const char *max_age_arg = NULL, *format_arg = NULL, *columns_arg = NULL;
  const char *remember_arg = NULL, *hook_url = NULL, *hook_secret = NULL;
  ag_remember *remembered = NULL;
  ag_webhook *hook = NULL;
  ag_parties *parties = NULL;
  unsigned fail_on = 0;
  json_t *root = json_object();
  int rc = AG_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      json_decref(root);
      return AG_EXIT_OK;
    }
    if (!strcmp(a, "--json")) {
      json = true;
      continue;
    }
    if (!strcmp(a, "--batch")) {
      batch = true;
      continue;
    }
    if (!strcmp(a, "-")) {
      from_stdin = true;
      continue;
    }
    if (!strcmp(a, "--no-screen")) {
      no_screen = true;
      continue;
    }
    /* --flag VALUE or --flag=VALUE */
    const char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
    size_t alen = eq ? (size_t)(eq - a) : strlen(a);
    char name[48];
    snprintf(name, sizeof name, "%.*s", (int)(alen < sizeof name ? alen : sizeof name - 1), a);
    const char **dir_slot = !strcmp(name, "--lists")     ? &lists_paths
                            : !strcmp(name, "--rules")   ? &rules_dir
                            : !strcmp(name, "--db")      ? &db_arg
                            : !strcmp(name, "--fail-on") ? &fail_on_arg
                            : !strcmp(name, "--due-diligence") ? &dd_path
                            : !strcmp(name, "--policy")        ? &policy_path
                            : !strcmp(name, "--max-list-age")  ? &max_age_arg
                            : !strcmp(name, "--format")        ? &format_arg
                            : !strcmp(name, "--columns")       ? &columns_arg
                            : !strcmp(name, "--remember-max-age") ? &remember_arg
                            : !strcmp(name, "--webhook-url")      ? &hook_url
                            : !strcmp(name, "--webhook-secret-file") ? &hook_secret
                                                                     : NULL;
    const flag_map *m = NULL;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
      if (!strcmp(name, flags[k].flag))
        m = &flags[k];
    if (!m && !dir_slot) {
      fprintf(stderr, "acegate check: unknown option '%s' (see acegate check --help)\n", a);
      json_decref(root);
      return AG_EXIT_INPUT;
    }
    const char *value = NULL;
    if (m && m->is_bool) {
      if (eq) {
        fprintf(stderr, "acegate check: %s takes no value\n", name);
        json_decref(root);
        return AG_EXIT_INPUT;
      }
    } else if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
      value = argv[++i]; /* "--eccn --to CN" is a missing value, not ECCN "--to" */
    } else {
      fprintf(stderr, "acegate check: %s needs a value\n", name);
      json_decref(root);
      return AG_EXIT_INPUT;
    }
    if (dir_slot) {
      const char *why = *dir_slot ? "given more than once"
                        : dir_slot == &lists_paths && !lists_arg_ok(value) ? "at most 64 paths"
                        : dir_slot == &fail_on_arg && !parse_fail_on(value, &fail_on)
                            ? "a comma-separated list of NLR, LICENSE_EXCEPTION_ACE, "
                              "LICENSE_REQUIRED, PROHIBITED, REVIEW"
                            : NULL;
      if (why) {
        fprintf(stderr, "acegate check: %s: %s\n", name, why);
        json_decref(root);
        return AG_EXIT_INPUT;
      }
      *dir_slot = value;
      continue;
    }
    int flag_rc = set_flag(root, m, value);
    if (flag_rc >= 0) {
      json_decref(root);
      return flag_rc;
    }
  }
  if ((format_arg || columns_arg) && !batch) {
    fprintf(stderr, "acegate check: --format and --columns are for --batch\n");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  if (batch && from_stdin) {
    fprintf(stderr, "acegate check: - and --batch cannot be combined: - reads one JSON "
                    "transaction, --batch one per line\n");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  bool have_flags = json_object_size(root) > 0;
  bool only_ref = json_object_size(root) == 1 && json_object_get(root, "ref");
  if ((batch || from_stdin) && have_flags) {
    fprintf(stderr, "acegate check: %s cannot be combined with %s%s\n",
            only_ref ? "--ref" : "transaction flags", batch ? "--batch" : "-",
            only_ref ? " (give \"ref\" in the JSON)" : "");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  if (!batch && !from_stdin && (!have_flags || only_ref)) {
    usage(stderr);
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  if (dd_path && (batch || from_stdin)) {
    fprintf(stderr, "acegate check: --due-diligence cannot be combined with %s (give "
                    "\"due_diligence\" in the JSON)\n",
            batch ? "--batch" : "-");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  if (dd_path) {
    int dd_rc = load_due_diligence(root, dd_path);
    if (dd_rc >= 0) {
      json_decref(root);
      return dd_rc;
    }
  }
  if (no_screen && lists_paths) {
    fprintf(stderr, "acegate check: --no-screen and --lists cannot be combined\n");
    json_decref(root);
    return AG_EXIT_INPUT;
  }

  ag_error err;
  ag_error_clear(&err);
  ag_rules *rules = NULL;
  ag_policy *policy = NULL;
  ag_screen *lists = NULL;
  ag_audit_db *db = NULL;
  char lists_version[AG_PIPELINE_LISTS_VERSION_MAX] = "";
  char db_path[AG_CLI_PATH_MAX];
  ag_status st = rules_dir ? ag_rules_load_dir(rules_dir, &rules, &err)
                           : ag_rules_load_default(&rules, &err);
  if (st == AG_OK && policy_path &&
      (st = ag_policy_load(rules->diligence, policy_path, &policy, &err)) != AG_OK) {
    char field[sizeof err.field];
    snprintf(field, sizeof field, "--policy %.*s", (int)sizeof field - 10, err.field);
    memcpy(err.field, field, sizeof field);
  }
  if (st == AG_OK && !no_screen && (st = open_lists(lists_paths, &lists, &err)) == AG_OK)
    ag_pipeline_lists_version(lists, lists_version, sizeof lists_version);
  if (st == AG_OK && (st = ag_cli_db_path(db_arg, true, db_path, sizeof db_path, &err)) == AG_OK)
    st = ag_audit_open(db_path, NULL, &db, &err);
  if (st) {
    if (!strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
    json_decref(root);
    rc = report_error(&err, false);
    goto out;
  }
  int max_age;
  if (!ag_cli_max_list_age("check", max_age_arg, &max_age)) {
    json_decref(root);
    rc = AG_EXIT_INPUT;
    goto out;
  }
  int remember_days;
  if (!ag_cli_remember_max_age("check", remember_arg, &remember_days)) {
    json_decref(root);
    rc = AG_EXIT_INPUT;
    goto out;
  }
  /* checks screen parties: the reviewers' remembered decisions apply */
  if (lists && !(remembered = ag_cli_remembered("check", db, remember_days))) {
    json_decref(root);
    rc = AG_EXIT_IO;
    goto out;
  }
  /* new queue items are posted; a bad webhook is refused before any check */
  if ((rc = ag_cli_webhook_open("check", hook_url, hook_secret, db_path, &hook)) != AG_EXIT_OK) {
    json_decref(root);
    goto out;
  }
  /* a check made with a ref adds its party to the registry beside the log
   * (acegate/parties.h); the checks stand without it */
  if (strcmp(db_path, ":memory:") != 0 && ag_parties_open(db_path, &parties, &err) != AG_OK) {
    fprintf(stderr, "acegate check: warning: the party registry cannot be opened: %s\n",
            err.reason);
    ag_error_clear(&err);
  }
  ag_pipeline_data data = {.rules = rules, .lists = lists, .lists_version = lists_version,
                           .policy = policy, .max_list_age_days = max_age, .audit = db,
                           .remembered = remembered, .parties = parties, .webhook = hook};
  if (batch) {
    json_decref(root);
    ag_pipeline_batch_options o = {.kind = AG_AUDIT_CHECK, .db = db};
    ag_pipeline_batch_stats stats;
    ag_pipeline_csv_columns cols;
    if (!ag_cli_batch_format("check", format_arg, columns_arg, &cols, &o)) {
      rc = AG_EXIT_INPUT;
      goto out;
    }
    st = ag_pipeline_batch(&data, &o, stdin, stdout, &stats, &err);
    ag_cli_batch_done();
    if (stats.unnoted)
      fprintf(stderr,
              "acegate check: warning: %llu parties were not added to the party registry: %s\n",
              (unsigned long long)stats.unnoted, stats.unnoted_err.reason);
    ag_pipeline_csv_columns_free(&cols);
    if (st != AG_OK) {
      ag_cli_print_error("check", &err);
      rc = ag_cli_exit_for(st);
    } else if (stats.rejected) {
      rc = AG_EXIT_INPUT;
    } else {
      for (unsigned k = 0; k < AG_PIPELINE_OUTCOMES; k++)
        if ((fail_on >> k & 1u) && stats.outcomes[k])
          rc = AG_EXIT_FAIL_ON;
    }
    goto out;
  }

  char *text = NULL;
  size_t len = 0;
  if (from_stdin) {
    st = ag_cli_read_all(stdin, AG_JSON_MAX_REQUEST, &text, &len, &err);
  } else {
    text = json_dumps(root, JSON_COMPACT);
    len = text ? strlen(text) : 0;
    if (!text)
      st = ag_error_set(&err, AG_ERR_NOMEM, "", "out of memory");
  }
  json_decref(root);
  ag_pipeline_worker *w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX);
  ag_buf answer, b;
  ag_buf_init(&answer);
  ag_buf_init(&b);
  ag_pipeline_result res;
  char audit_id[AG_AUDIT_ID_MAX] = "";
  if (!st && !w)
    st = ag_error_set(&err, AG_ERR_NOMEM, "", "out of memory");
  if (!st && (st = ag_pipeline_check(&data, w, text, len, &answer, &res)) != AG_OK)
    err = res.err;
  if (!st) { /* recorded before it is shown (15 CFR 762.2) */
    ag_audit_record rec;
    ag_pipeline_record(&data, &res, text, len, answer.data + res.off, "", "", &rec);
    if ((st = ag_audit_append(db, &rec, audit_id, &err)) != AG_OK && !strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
  }
  ag_error nerr;
  if (!st && ag_pipeline_recorded(&data, &res, audit_id, answer.data + res.off, &nerr) != AG_OK)
    fprintf(stderr, "acegate check: warning: the party registry was not updated: %s\n",
            nerr.reason);
  if (st) {
    if (!from_stdin && err.field[0]) {
      const char *flag = flag_for_path(err.field);
      if (!flag && dd_path && !strncmp(err.field, "due_diligence", 13))
        flag = "--due-diligence";
      if (flag) {
        char field[sizeof err.field + 48];
        snprintf(field, sizeof field, "%s (%s)", err.field, flag);
        snprintf(err.field, sizeof err.field, "%.*s", (int)sizeof err.field - 1, field);
      }
    }
    rc = report_error(&err, json);
  } else {
    if (json) {
      ag_pipeline_splice_audit_id(&b, audit_id, answer.data + res.off, res.len);
      printf("%.*s\n", (int)b.len, b.data ? b.data : "");
    } else {
      print_text(ag_pipeline_last_decision(w), stdout);
      printf("lists: %s\n", lists_version[0] ? lists_version : "none (parties not screened)");
      const ag_decision *dec = ag_pipeline_last_decision(w);
      bool screened = false;
      for (int k = 0; k < AG_PARTY_COUNT; k++)
        screened |= dec->txn->parties[k].screened;
      if (screened)
        ag_cli_print_stale(stdout, lists, max_age);
      if (res.ref[0])
        printf("ref: %s\n", res.ref);
      printf("audit id: %s\n", audit_id);
    }
    if (fail_on >> res.outcome_index & 1u)
      rc = AG_EXIT_FAIL_ON;
  }
  if (fflush(stdout) != 0 && rc == AG_EXIT_OK)
    rc = AG_EXIT_IO;
  free(text);
  ag_buf_free(&answer);
  ag_buf_free(&b);
  ag_pipeline_worker_free(w);
out:
  ag_webhook_close(hook, AG_CLI_WEBHOOK_WAIT_S);
  ag_parties_close(parties);
  ag_remember_free(remembered);
  ag_audit_close(db);
  ag_screen_close(lists);
  ag_policy_free(policy);
  ag_rules_free(rules);
  return rc;
}
