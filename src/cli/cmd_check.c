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

#include "acegate/check.h"
#include "acegate/decide.h"
#include "acegate/json.h"
#include "acegate/rules.h"
#include "acegate/screen.h"

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
          "  --eccn PARAGRAPH          CCL paragraph, e.g. 4D004, 5A001.j, or EAR99 (required);\n"
          "                            an item outside 740.22(b)(1) is answered OUT_OF_SCOPE\n"
          "  --for PARAGRAPH           the \"for\" qualifier, e.g. --eccn 4D001.a --for 4A005\n"
          "  --to CODE                 destination: ISO 3166-1 alpha-2, or UA-43 etc. (required)\n"
          "  --transaction KIND        export (default), reexport, transfer, deemed_export,\n"
          "                            deemed_reexport\n"
          "  --end-user-type TYPE      government, non_government (default),\n"
          "                            favorable_treatment_cybersecurity, individual\n"
          "  --end-user NAME           end user's name (screened when lists are loaded)\n"
          "  --end-user-country CODE   the end user's country, e.g. US for a U.S. agency abroad\n"
          "  --police-or-judicial      the government end user is a police or judicial body\n"
          "  --national-csirt          the government end user is a national CSIRT\n"
          "  --end-use USE             none (default), vulnerability_disclosure,\n"
          "                            cyber_incident_response, digital_artifacts_investigation\n"
          "  --knows-unauthorized-use  the exporter knows or has reason to know of use without\n"
          "                            the owner's authorization (740.22(c)(2))\n"
          "  --as-of YYYY-MM-DD        date of the transaction (default: today, UTC)\n"
          "\n"
          "  --consignee NAME, --intermediate-consignee NAME, --purchaser NAME\n"
          "                            other parties, screened like the end user\n"
          "\n"
          "output and data:\n"
          "  --json                    print the decision as JSON\n"
          "  --rules DIR               use the tables in DIR instead of the built-in ones\n"
          "  --lists PATH[,PATH...]    screen against these list files or directories instead of\n"
          "                            the lists in force (acegate lists)\n"
          "  --no-screen               do not screen party names (the decision says so)\n"
          "\n"
          "exit status: 0 determination made (whatever the outcome), 2 bad input (for --batch:\n"
          "some line was rejected; the others were decided), 3 invalid tables, 4 I/O error.\n");
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

typedef struct {
  const char *flag;
  const char *path; /* JSON path; a "." splits object and key */
  bool is_bool;
} flag_map;

static const flag_map flags[] = {
    {"--eccn", "item.eccn", false},
    {"--for", "item.for", false},
    {"--to", "destination", false},
    {"--transaction", "transaction", false},
    {"--end-user-type", "end_user.type", false},
    {"--end-user", "end_user.name", false},
    {"--end-user-country", "end_user.country", false},
    {"--consignee", "consignee.name", false},
    {"--intermediate-consignee", "intermediate_consignee.name", false},
    {"--purchaser", "purchaser.name", false},
    {"--police-or-judicial", "end_user.police_or_judicial", true},
    {"--national-csirt", "end_user.national_csirt", true},
    {"--end-use", "end_use", false},
    {"--knows-unauthorized-use", "knows_unauthorized_use", true},
    {"--as-of", "as_of", false},
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

/* ---- the restricted-party lists, opened on first need ---- */

/* Paths one --lists may name. */
#define LISTS_MAX 64

static bool lists_arg_ok(const char *paths) {
  size_t n = 1;
  for (const char *p = paths; *p; p++)
    n += *p == ',';
  return n <= LISTS_MAX;
}

typedef struct {
  bool disabled;       /* --no-screen */
  const char *paths;   /* --lists, comma-separated; NULL = the lists in force */
  ag_screen *lists;
  bool tried;
  ag_error open_err;
} lists_ctx;

static bool has_names(const ag_txn *t) {
  for (int r = 0; r < AG_PARTY_COUNT; r++)
    if (t->parties[r].name)
      return true;
  return false;
}

/* The lists for this transaction, or NULL when none are needed or
 * screening is off. A list that cannot be opened is an error: a named
 * party is never passed unscreened by accident. */
static ag_status lists_for(lists_ctx *c, const ag_txn *t, const ag_screen **out,
                           ag_error *err) {
  *out = NULL;
  if (c->disabled || !has_names(t))
    return AG_OK;
  if (!c->tried) {
    c->tried = true;
    ag_error_clear(&c->open_err);
    if (c->paths) {
      char *copy = strdup(c->paths);
      const char *parts[LISTS_MAX];
      size_t n = 0;
      for (char *save = NULL, *p = copy ? strtok_r(copy, ",", &save) : NULL; p && n < LISTS_MAX;
           p = strtok_r(NULL, ",", &save))
        parts[n++] = p;
      if (copy)
        ag_screen_open_paths(parts, n, &c->lists, &c->open_err);
      else
        ag_error_set(&c->open_err, AG_ERR_NOMEM, "", "out of memory");
      free(copy);
    } else {
      ag_screen_open_default(&c->lists, &c->open_err);
    }
  }
  if (!c->lists) {
    *err = c->open_err;
    return err->status ? err->status : AG_ERR_LIST;
  }
  *out = c->lists;
  return AG_OK;
}

/* Decodes nothing: screens the parties (when lists apply) and decides. */
static ag_status check_txn(const ag_rules *rules, lists_ctx *lc, ag_txn *txn,
                           ag_check_scratch *scratch, ag_decision *d, ag_error *err) {
  const ag_screen *lists;
  ag_status st = lists_for(lc, txn, &lists, err);
  if (st)
    return st;
  return ag_check(rules, lists, txn, scratch, d, err);
}

/* ---- batch: JSONL in, JSONL out, lines bounded by AG_JSON_MAX_REQUEST ---- */

static int run_batch(const ag_rules *rules, lists_ctx *lc, FILE *in, FILE *out) {
  size_t cap = AG_JSON_MAX_REQUEST + 1;
  char *line = malloc(cap);
  if (!line) {
    fprintf(stderr, "acegate check: out of memory\n");
    return AG_EXIT_INTERNAL;
  }
  static char outbuf[1 << 20];
  setvbuf(out, outbuf, _IOFBF, sizeof outbuf);
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_buf b;
  ag_buf_init(&b);
  ag_txn txn;
  ag_decision d;
  ag_check_scratch scratch;
  ag_check_scratch_init(&scratch);
  ag_json_encoder *enc = ag_json_encoder_new();
  if (!enc) {
    fprintf(stderr, "acegate check: out of memory\n");
    free(line);
    return AG_EXIT_INTERNAL;
  }
  long lineno = 0;
  bool any_failed = false;
  int c = 0;
  while (c != EOF) {
    size_t len = 0;
    bool too_long = false;
    while ((c = getc_unlocked(in)) != EOF && c != '\n') {
      if (len < cap)
        line[len++] = (char)c;
      else
        too_long = true;
    }
    if (c == EOF && len == 0 && !too_long)
      break;
    lineno++;
    if (len > 0 && line[len - 1] == '\r')
      len--;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++)
      blank = line[i] == ' ' || line[i] == '\t';
    if (blank && !too_long)
      continue;
    ag_error err;
    ag_error_clear(&err);
    ag_buf_reset(&b);
    ag_arena_reset(&arena);
    ag_status st;
    if (too_long || len > AG_JSON_MAX_REQUEST)
      st = ag_error_set(&err, AG_ERR_LIMIT, "", "the line is longer than %zu bytes",
                        AG_JSON_MAX_REQUEST);
    else if ((st = ag_json_decode_txn(line, len, &txn, &arena, &err)) == AG_OK)
      st = check_txn(rules, lc, &txn, &scratch, &d, &err);
    if (st) {
      any_failed = true;
      /* {"line":N,"error":{...}}: the error object without its opening brace */
      ag_buf_printf(&b, "{\"line\":%ld,", lineno);
      size_t at = b.len;
      ag_json_encode_error(&err, &b);
      if (!b.failed) {
        memmove(b.data + at, b.data + at + 1, b.len - at - 1);
        b.len--;
      }
    } else {
      ag_json_encoder_decision(enc, &d, &b);
    }
    ag_buf_putc(&b, '\n');
    if (b.failed) {
      fprintf(stderr, "acegate check: out of memory at line %ld\n", lineno);
      any_failed = true;
      break;
    }
    fwrite(b.data, 1, b.len, out);
  }
  int rc = any_failed ? AG_EXIT_INPUT : AG_EXIT_OK;
  if (ferror(in)) {
    fprintf(stderr, "acegate check: error reading standard input\n");
    rc = AG_EXIT_IO;
  }
  if (fflush(out) != 0) {
    fprintf(stderr, "acegate check: error writing standard output\n");
    rc = AG_EXIT_IO;
  }
  ag_json_encoder_free(enc);
  ag_check_scratch_free(&scratch);
  ag_buf_free(&b);
  ag_arena_free(&arena);
  free(line);
  return rc;
}

int ag_cmd_check(int argc, char **argv) {
  bool json = false, batch = false, from_stdin = false;
  const char *rules_dir = NULL;
  lists_ctx lc = {0};
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
      lc.disabled = true;
      continue;
    }
    /* --flag VALUE or --flag=VALUE */
    const char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
    size_t alen = eq ? (size_t)(eq - a) : strlen(a);
    char name[48];
    snprintf(name, sizeof name, "%.*s", (int)(alen < sizeof name ? alen : sizeof name - 1), a);
    const char **dir_slot = !strcmp(name, "--lists")   ? &lc.paths
                            : !strcmp(name, "--rules") ? &rules_dir
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
      const char *why = *dir_slot                             ? "given more than once"
                        : dir_slot == &lc.paths && !lists_arg_ok(value) ? "at most 64 paths"
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
  if (batch && from_stdin) {
    fprintf(stderr, "acegate check: - and --batch cannot be combined: - reads one JSON "
                    "transaction, --batch one per line\n");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  bool have_flags = json_object_size(root) > 0;
  if ((batch || from_stdin) && have_flags) {
    fprintf(stderr, "acegate check: transaction flags cannot be combined with %s\n",
            batch ? "--batch" : "-");
    json_decref(root);
    return AG_EXIT_INPUT;
  }
  if (!batch && !from_stdin && !have_flags) {
    usage(stderr);
    json_decref(root);
    return AG_EXIT_INPUT;
  }

  ag_error err;
  ag_error_clear(&err);
  ag_rules *rules = NULL;
  ag_status st = rules_dir ? ag_rules_load_dir(rules_dir, &rules, &err)
                           : ag_rules_load_default(&rules, &err);
  if (st) {
    json_decref(root);
    return report_error(&err, false);
  }
  if (batch) {
    json_decref(root);
    rc = run_batch(rules, &lc, stdin, stdout);
    ag_screen_close(lc.lists);
    ag_rules_free(rules);
    return rc;
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
  ag_arena arena;
  ag_arena_init(&arena, 4096);
  ag_txn txn;
  ag_decision d;
  ag_check_scratch scratch;
  ag_check_scratch_init(&scratch);
  if (!st)
    st = ag_json_decode_txn(text, len, &txn, &arena, &err);
  if (!st)
    st = check_txn(rules, &lc, &txn, &scratch, &d, &err);
  if (st) {
    if (!from_stdin && err.field[0]) {
      const char *flag = flag_for_path(err.field);
      if (flag) {
        char field[sizeof err.field + 48];
        snprintf(field, sizeof field, "%s (%s)", err.field, flag);
        snprintf(err.field, sizeof err.field, "%.*s", (int)sizeof err.field - 1, field);
      }
    }
    rc = report_error(&err, json);
  } else if (json) {
    ag_buf b;
    ag_buf_init(&b);
    ag_json_encode_decision(&d, &b);
    printf("%.*s\n", (int)b.len, b.data ? b.data : "");
    ag_buf_free(&b);
  } else {
    print_text(&d, stdout);
  }
  if (fflush(stdout) != 0 && rc == AG_EXIT_OK)
    rc = AG_EXIT_IO;
  free(text);
  ag_check_scratch_free(&scratch);
  ag_screen_close(lc.lists);
  ag_arena_free(&arena);
  ag_rules_free(rules);
  return rc;
}
