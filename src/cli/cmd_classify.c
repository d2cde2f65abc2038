/*
 * cmd_classify.c - `acegate classify`: walks a product through the
 * classification questionnaire (src/classify) to its CCL paragraph, an
 * exclusion, or the questions still needed. Asks on the terminal (only
 * the questions still relevant; '?' shows the text a question rests on),
 * or reads the answers from a JSON file with --answers. Either way the
 * answers go through the pipeline (acegate/pipeline.h) as the request
 * {"answers": {...}, "as_of": ...} and the result is recorded in the audit
 * log before it is shown, as POST /v1/classifications does.
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/classify.h"
#include "acegate/pipeline.h"
#include "acegate/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS_FILE ((size_t)64 * 1024)

static void usage(FILE *f) {
  fprintf(f,
          "usage: acegate classify [--answers FILE|-] [--json] [--as-of YYYY-MM-DD] [--rules DIR]\n"
          "                        [--db PATH]\n"
          "  asks the classification questions one at a time (only those still relevant) and\n"
          "  prints the CCL paragraph the item falls under, the exclusion or unmet criterion\n"
          "  that rules it out, or the questions still needed. Answer y, n, u (not known),\n"
          "  ? (the regulation text the question rests on) or q (stop asking). Questions go to\n"
          "  stderr; answers are read from stdin, a line each, terminal or not.\n"
          "  --answers FILE  read the answers instead: a JSON object mapping question ids to\n"
          "                  true, false or \"unknown\" (\"-\": stdin); nothing is asked\n"
          "  --json          print the result as JSON\n"
          "  --as-of DATE    the questionnaire and CCL in force on DATE (default today)\n"
          "  --rules DIR     tables from DIR (with its classification.tsv) instead of the\n"
          "                  built-in ones\n"
          "  --db PATH       audit log the classification is recorded in (default\n"
          "                  $ACEGATE_DB, else $XDG_STATE_HOME/acegate/audit.db, else\n"
          "                  ~/.local/state/acegate/audit.db; :memory: keeps none)\n"
          "  docs/classification.md lists the questions, their sources and which rest on\n"
          "  reconstructed text.\n");
}

/* Reads one line of stdin into line; false at end of input. */
static bool read_line(char *line, size_t cap) {
  if (!fgets(line, (int)cap, stdin))
    return false;
  size_t n = strlen(line);
  if (n && line[n - 1] != '\n' && !feof(stdin)) { /* over-long: drop the rest */
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n')
      ;
  }
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
    line[--n] = '\0';
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  memmove(line, p, strlen(p) + 1);
  for (p = line; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return true;
}

static void show_text(const ag_classify_row *r) {
  fprintf(stderr, "  [%s; %s]\n  %s\n  source: %s\n", r->cite,
          ag_classify_provenance_name(r->provenance), r->cited_text, r->source);
  if (r->provenance == AG_PROVENANCE_RECONSTRUCTED)
    fprintf(stderr, "  (reconstructed: not read in the regulation; verify before relying on it)\n");
}

/* Asks the relevant questions in order until none is left, the user
 * stops, or stdin ends. */
static void ask(const ag_classify *q, ag_classify_answer *answers, ag_date as_of) {
  fprintf(stderr, "Answer y (yes), n (no), u (not known), ? (the text it rests on), q (stop).\n");
  int i;
  char line[256];
  while ((i = ag_classify_next_question(q, answers, as_of)) >= 0) {
    const ag_classify_row *r = ag_classify_row_at(q, (size_t)i);
    fprintf(stderr, "\n[%s] %s\n> ", r->id, r->question);
    for (;;) {
      if (!read_line(line, sizeof line)) {
        fprintf(stderr, "\n");
        return;
      }
      if (!strcmp(line, "y") || !strcmp(line, "yes") || !strcmp(line, "true")) {
        answers[i] = AG_ANSWER_YES;
        break;
      } else if (!strcmp(line, "n") || !strcmp(line, "no") || !strcmp(line, "false")) {
        answers[i] = AG_ANSWER_NO;
        break;
      } else if (!strcmp(line, "u") || !strcmp(line, "unknown")) {
        answers[i] = AG_ANSWER_UNKNOWN;
        break;
      } else if (!strcmp(line, "q") || !strcmp(line, "quit")) {
        return;
      } else if (!strcmp(line, "?")) {
        show_text(r);
        fprintf(stderr, "> ");
      } else {
        fprintf(stderr, "  please answer y, n, u, ? or q\n> ");
      }
    }
  }
}

static const char *answer_word(ag_classify_answer a) {
  return a == AG_ANSWER_YES ? "yes" : a == AG_ANSWER_NO ? "no" : "not known";
}

static void put_paragraph(const ag_classify_row *r) {
  printf("%s%s%s", r->id, r->for_ ? " for " : "", r->for_ ? r->for_ : "");
}

static void print_text(const ag_classify *q, const ag_classify_result *r) {
  char d[11];
  ag_date_format(r->as_of, d);
  if (r->status == AG_CLASSIFY_CLASSIFIED) {
    printf("CLASSIFIED  ");
    for (size_t i = 0; i < r->n_candidates; i++) {
      printf("%s", i ? ", " : "");
      put_paragraph(r->candidates[i].row);
    }
    printf("  (CCL as of %s)\n", d);
  } else if (r->status == AG_CLASSIFY_NOT_CONTROLLED) {
    printf("NOT CONTROLLED by the paragraphs this questionnaire tests (as of %s)\n", d);
    /* say which: before 2022-03-07 the 740.22(b)(1) paragraphs were not on the CCL */
    printf("  paragraphs tested:");
    for (size_t i = 0, n = 0; i < ag_classify_count(q); i++) {
      const ag_classify_row *row = ag_classify_row_at(q, i);
      if (row->kind != AG_CLASSIFY_RESULT || !ag_classify_in_force(row, r->as_of))
        continue;
      printf("%s", n++ ? ", " : " ");
      put_paragraph(row);
    }
    printf("\n  (other CCL entries are not examined: not_controlled here is not EAR99)\n");
  } else {
    printf("CANNOT TELL  %zu question%s still needed (as of %s)\n", r->n_missing,
           r->n_missing == 1 ? "" : "s", d);
  }
  printf("  740.22(b)(1) cybersecurity item: %s\n", r->cyber_item > 0    ? "yes"
                                                    : r->cyber_item == 0 ? "no"
                                                                         : "not known yet");
  for (size_t i = 0; i < r->n_candidates; i++) {
    const ag_classify_row *row = r->candidates[i].row;
    printf("  ");
    put_paragraph(row);
    printf(" [%s]%s: %s\n", row->cite,
           r->candidates[i].cyber_item ? "" : " (not a 740.22(b)(1) item: no ACE line)",
           row->cited_text);
  }
  if (r->n_reasons)
    printf("\nruled out:\n");
  for (size_t i = 0; i < r->n_reasons; i++) {
    const ag_classify_reason *why = &r->reasons[i];
    printf("  %s ", why->excluded ? "excluded by" : "not met:");
    for (size_t k = 0; k < why->n_because; k++)
      printf("%s%s", k ? " or " : "", why->because[k]->id);
    printf(" [%s]: ", why->because[0]->cite);
    for (size_t k = 0; k < why->n_paragraphs; k++) {
      printf("%s", k ? ", " : "");
      put_paragraph(why->paragraphs[k]);
    }
    printf("\n    %s\n", why->because[0]->cited_text);
  }
  if (r->n_missing) {
    printf("\n%s:\n", r->status == AG_CLASSIFY_CANNOT_TELL
                          ? "questions still needed"
                          : "questions that could add a paragraph");
    for (size_t i = 0; i < r->n_missing; i++)
      printf("  %-10s %s\n", r->missing[i]->id, r->missing[i]->question);
  }
  if (r->n_basis)
    printf("\nanswers it rests on:\n");
  for (size_t i = 0; i < r->n_basis; i++) {
    const ag_classify_used *u = &r->basis[i];
    printf("  %-10s %-9s [%s; %s]%s\n", u->row->id, answer_word(u->answer), u->row->cite,
           ag_classify_provenance_name(u->row->provenance), u->decisive ? "" : " (did not apply)");
  }
  if (r->reconstructed) {
    printf("\nnote: this result rests on reconstructed text (");
    int n = 0;
    for (size_t i = 0; i < r->n_basis; i++)
      if (r->basis[i].decisive && r->basis[i].row->provenance == AG_PROVENANCE_RECONSTRUCTED)
        printf("%s%s", n++ ? ", " : "", r->basis[i].row->id);
    for (size_t i = 0; i < r->n_candidates; i++)
      if (r->candidates[i].row->provenance == AG_PROVENANCE_RECONSTRUCTED)
        printf("%s%s", n++ ? ", " : "", r->candidates[i].row->id);
    printf("): verify it against the regulation before relying on it.\n");
  }
  printf("\nquestionnaire: %s\n", ag_classify_version(q));
}

/* The request the pipeline decodes: the answers given, keyed by question
 * id, and the date. */
static void request_json(const ag_classify *q, const ag_classify_answer *answers, ag_date as_of,
                         ag_buf *b) {
  char d[11];
  ag_date_format(as_of, d);
  ag_buf_puts(b, "{\"answers\":{");
  for (size_t i = 0, n = 0; i < ag_classify_count(q); i++) {
    if (answers[i] == AG_ANSWER_NONE)
      continue;
    ag_buf_puts(b, n++ ? "," : "");
    ag_buf_json_cstr(b, ag_classify_row_at(q, i)->id);
    ag_buf_puts(b, answers[i] == AG_ANSWER_YES  ? ":true"
                   : answers[i] == AG_ANSWER_NO ? ":false"
                                                : ":\"unknown\"");
  }
  ag_buf_printf(b, "},\"as_of\":\"%s\"}", d);
}

int ag_cmd_classify(int argc, char **argv) {
  const char *answers_path = NULL, *as_of_s = NULL, *dir = NULL, *db_arg = NULL;
  bool json = false;
  ag_cli_seen seen = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return AG_EXIT_OK;
    }
    bool takes = !strcmp(a, "--answers") || !strcmp(a, "--as-of") || !strcmp(a, "--rules") ||
                 !strcmp(a, "--db");
    if ((takes || !strcmp(a, "--json")) && ag_cli_seen_again(&seen, a)) {
      fprintf(stderr, "acegate classify: %s: given more than once\n", a);
      return AG_EXIT_INPUT;
    }
    if (takes && (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] == '-'))) {
      fprintf(stderr, "acegate classify: %s: missing value\n", a);
      return AG_EXIT_INPUT;
    }
    if (!strcmp(a, "--answers"))
      answers_path = argv[++i];
    else if (!strcmp(a, "--as-of"))
      as_of_s = argv[++i];
    else if (!strcmp(a, "--rules"))
      dir = argv[++i];
    else if (!strcmp(a, "--db"))
      db_arg = argv[++i];
    else if (!strcmp(a, "--json"))
      json = true;
    else {
      fprintf(stderr, "acegate classify: unknown option '%s'\n", a);
      usage(stderr);
      return AG_EXIT_INPUT;
    }
  }
  ag_date as_of = ag_date_today();
  if (as_of_s && !ag_date_parse(as_of_s, strlen(as_of_s), &as_of)) {
    fprintf(stderr, "acegate classify: --as-of: '%s' is not a date (YYYY-MM-DD)\n", as_of_s);
    return AG_EXIT_INPUT;
  }

  ag_error err;
  ag_error_clear(&err);
  ag_rules *rules = NULL;
  ag_classify *q = NULL;
  ag_classify_answer *answers = NULL;
  char *text = NULL;
  ag_audit_db *db = NULL;
  ag_pipeline_worker *w = NULL;
  ag_buf request, answer, shown;
  ag_buf_init(&request);
  ag_buf_init(&answer);
  ag_buf_init(&shown);
  char db_path[AG_CLI_PATH_MAX];
  int rc = AG_EXIT_OK;
  ag_status st = dir ? ag_rules_load_dir(dir, &rules, &err) : ag_rules_load_default(&rules, &err);
  if (!st)
    st = dir ? ag_classify_load_dir(rules, dir, &q, &err)
             : ag_classify_load_default(rules, &q, &err);
  /* opened before any question is asked: a log that cannot be written
   * would lose the record */
  if (!st && (st = ag_cli_db_path(db_arg, true, db_path, sizeof db_path, &err)) == AG_OK)
    st = ag_audit_open(db_path, NULL, &db, &err);
  if (st) {
    if (!strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
    ag_cli_print_error("classify", &err);
    rc = ag_cli_exit_for(st);
    goto out;
  }
  answers = calloc(ag_classify_count(q), sizeof *answers);
  if (!answers) {
    fprintf(stderr, "acegate classify: out of memory\n");
    rc = AG_EXIT_INTERNAL;
    goto out;
  }
  if (answers_path) {
    bool from_stdin = !strcmp(answers_path, "-");
    FILE *f = from_stdin ? stdin : fopen(answers_path, "rb");
    if (!f) {
      fprintf(stderr, "acegate classify: --answers: %s: %s\n", answers_path, strerror(errno));
      rc = AG_EXIT_IO;
      goto out;
    }
    size_t len = 0;
    st = ag_cli_read_all(f, MAX_ANSWERS_FILE, &text, &len, &err);
    if (!from_stdin)
      fclose(f);
    if (!st)
      st = ag_classify_answers_from_json(q, as_of, text, len, answers, &err);
    if (st) {
      fprintf(stderr, "acegate classify: --answers: %s%s%s\n", err.field[0] ? err.field : "",
              err.field[0] ? ": " : "", err.reason);
      rc = ag_cli_exit_for(st);
      goto out;
    }
  } else {
    ask(q, answers, as_of);
  }
  /* through the pipeline, recorded before it is shown (15 CFR 762.2) */
  request_json(q, answers, as_of, &request);
  ag_pipeline_data data = {.rules = rules, .classify = q};
  ag_pipeline_result res;
  memset(&res, 0, sizeof res);
  char audit_id[AG_AUDIT_ID_MAX] = "";
  if (!(w = ag_pipeline_worker_new(AG_SCREEN_MODE_INDEX)) || request.failed)
    st = ag_error_set(&err, AG_ERR_NOMEM, "", "out of memory");
  else if ((st = ag_pipeline_classification(&data, w, request.data, request.len, &answer,
                                            &res)) != AG_OK)
    err = res.err;
  if (st == AG_OK) {
    ag_audit_record rec;
    ag_pipeline_record(&data, &res, request.data, request.len, answer.data + res.off, "", "",
                       &rec);
    if ((st = ag_audit_append(db, &rec, audit_id, &err)) != AG_OK && !strcmp(err.field, "db"))
      snprintf(err.field, sizeof err.field, "--db");
  }
  if (st) {
    ag_cli_print_error("classify", &err);
    rc = ag_cli_exit_for(st);
    goto out;
  }
  if (json) {
    ag_pipeline_splice_audit_id(&shown, audit_id, answer.data + res.off, res.len);
    ag_buf_putc(&shown, '\n');
    if (shown.failed) {
      fprintf(stderr, "acegate classify: out of memory\n");
      rc = AG_EXIT_INTERNAL;
    } else
      fwrite(shown.data, 1, shown.len, stdout);
  } else {
    print_text(q, ag_pipeline_last_classification(w));
    printf("audit id: %s\n", audit_id);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "acegate classify: writing the result failed\n");
    rc = AG_EXIT_IO;
  }
out:
  ag_buf_free(&request);
  ag_buf_free(&answer);
  ag_buf_free(&shown);
  ag_pipeline_worker_free(w);
  ag_audit_close(db);
  free(text);
  free(answers);
  ag_classify_free(q);
  ag_rules_free(rules);
  return rc;
}
