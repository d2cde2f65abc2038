/*
 * cmd_rules.c - `acegate rules`: which regulation tables are in force,
 * their version, sources and dates; `--table NAME` prints one table's rows
 * as loaded; `--rules DIR` validates and shows an edited copy.
 */
#include "cli.h"
#include "cli_common.h"

#include "acegate/decide.h"
#include "acegate/rules.h"

#include "acegate/json.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: acegate rules [--rules DIR] [--table NAME | --json]\n"
             "  shows the version of the regulation tables, each table with its rows, sources\n"
             "  and dates. NAME: destinations, country-groups, country-chart, ccl-items,\n"
             "  ccl-paragraphs, embargoes, ace-restrictions, ace-exceptions.\n"
             "  --rules DIR  validate and show the tables in DIR instead of the built-in ones;\n"
             "               an invalid table is reported as FILE:LINE: reason (exit 3).\n"
             "  --json       the summary as JSON, as GET /v1/rules answers it.\n");
}

static void date_range(const ag_row_meta *m, char *out, size_t cap) {
  char a[11] = "-", b[11] = "-";
  if (m->from != AG_DATE_NONE)
    ag_date_format(m->from, a);
  if (m->to != AG_DATE_MAX)
    ag_date_format(m->to, b);
  snprintf(out, cap, "%s..%s", a, b);
}

static void put_groups(ag_groupset g) {
  if (!g) {
    printf("*");
    return;
  }
  for (int i = 0, first = 1; i < AG_GROUP_COUNT; i++)
    if (g & (1u << i)) {
      printf("%s%s", first ? "" : ",", ag_group_name((ag_group)i));
      first = 0;
    }
}

static void print_summary(const ag_rules *r) {
  char d1[11], d2[11];
  ag_date_format(r->rule_in_force_from, d1);
  ag_date_format(r->final_rule_from, d2);
  printf("%s\nversion: %s\neCFR issue of the extracted tables: %s\n", r->name, r->version,
         r->ecfr_issue);
  printf("740.22 in force from %s (%s)\n", d1, r->rule_in_force_source);
  printf("740.22 as amended from %s (%s)\n\n", d2, r->final_rule_source);
  size_t reconstructed = 0;
  for (size_t i = 0; i < r->n_restrictions; i++)
    reconstructed += r->restrictions[i].meta.status == AG_TEXT_RECONSTRUCTED;
  for (size_t i = 0; i < r->n_exceptions; i++)
    reconstructed += r->exceptions[i].meta.status == AG_TEXT_RECONSTRUCTED;
  printf("%-22s %5s  %s\n", "table", "rows", "what");
  printf("%-22s %5zu  %s\n", "destinations", r->n_destinations,
         "EAR destinations (Supp. 1 to part 738 rows, territories, regions of Ukraine)");
  printf("%-22s %5zu  %s\n", "country-groups", r->n_groups,
         "Country Group membership periods (Supp. 1 to part 740; D:5 by the State Department's "
         "list where it differs: d5-state-list.tsv)");
  printf("%-22s %5zu  %s\n", "country-chart", r->n_chart,
         "Commerce Country Chart NS1, NS2, AT1 (Supp. 1 to part 738) and EI (742.15)");
  printf("%-22s %5zu  %s\n", "ccl-paragraphs", r->n_paragraphs,
         "paragraphs of the carried CCL entries (Supp. 1 to part 774)");
  printf("%-22s %5zu  %s\n", "ccl-items", r->n_items,
         "paragraphs acegate determines: 740.22(b)(1) cybersecurity items and neighbours");
  printf("%-22s %5zu  %s\n", "embargoes", r->n_embargoes, "Part 746 embargoes");
  printf("%-22s %5zu  %s\n", "ace-restrictions", r->n_restrictions,
         "740.22(c) restrictions (and the 740.17 ENC mirror)");
  printf("%-22s %5zu  %s\n", "ace-exceptions", r->n_exceptions, "exceptions to them");
  size_t new_items = 0;
  for (size_t i = 0; i < r->n_items; i++)
    new_items += r->items[i].on_ccl_from != AG_DATE_NONE;
  printf("%-22s %5zu  %s\n", "ccl-new-items", new_items,
         "items with no CCL entry before a date (the paragraphs the cybersecurity rule added)");
  printf("%-22s %5zu  %s\n", "outside-scope", r->n_scope,
         "items acegate answers OUT_OF_SCOPE, and where their requirement is read");
  printf("%-22s %5zu  %s\n", "list-meanings", r->n_list_rows,
         "what a confident restricted-party list match means (736.2(b)(4), part 744, OFAC)");
  printf("\n%zu restriction/exception rows are reconstructed from summaries of %s "
         "(docs/rule-coverage.md); `acegate rules --table ace-exceptions` shows them.\n",
         reconstructed, r->final_rule_cite);
}

static int print_table(const ag_rules *r, const char *name) {
  char range[32];
  if (!strcmp(name, "destinations")) {
    for (size_t i = 0; i < r->n_destinations; i++) {
      const ag_destination *d = &r->destinations[i];
      date_range(&d->meta, range, sizeof range);
      printf("%-6s %-40s as %-3s %-23s %-13s %s\n", d->code, d->name,
             r->destinations[d->chart_as].code, range, ag_text_status_name(d->meta.status),
             d->meta.source);
    }
  } else if (!strcmp(name, "country-groups")) {
    for (size_t i = 0; i < r->n_groups; i++) {
      const ag_group_row *g = &r->groups[i];
      date_range(&g->meta, range, sizeof range);
      printf("%-4s %-3s %-23s %-13s %s\n", ag_group_name(g->group), r->destinations[g->dest].code,
             range, ag_text_status_name(g->meta.status), g->meta.source);
    }
  } else if (!strcmp(name, "country-chart")) {
    static const char mark[] = {'-', 'X', '7'};
    for (size_t i = 0; i < r->n_chart; i++) {
      const ag_chart_row *c = &r->chart[i];
      date_range(&c->meta, range, sizeof range);
      printf("%-3s %-23s NS1=%c NS2=%c AT1=%c EI=%c %-13s %s\n", r->destinations[c->dest].code,
             range, mark[c->mark[0]], mark[c->mark[1]], mark[c->mark[2]], mark[c->mark[3]],
             ag_text_status_name(c->meta.status), c->meta.source);
    }
  } else if (!strcmp(name, "ccl-items")) {
    for (size_t i = 0; i < r->n_items; i++) {
      const ag_item *it = &r->items[i];
      date_range(&it->meta, range, sizeof range);
      printf("%-12s for %-8s %-16s cyber=%-3s %-23s %-13s %s\n", it->paragraph,
             it->for_ ? it->for_ : "-", ag_family_name(it->family), it->cyber_item ? "yes" : "no",
             range, ag_text_status_name(it->meta.status), it->meta.source);
    }
  } else if (!strcmp(name, "ccl-paragraphs")) {
    for (size_t i = 0; i < r->n_paragraphs; i++) {
      const ag_ccl_paragraph *p = &r->paragraphs[i];
      printf("%-14s %-6s %-13s %s\n", p->paragraph, p->entry, ag_text_status_name(p->meta.status),
             p->meta.source);
    }
  } else if (!strcmp(name, "embargoes")) {
    for (size_t i = 0; i < r->n_embargoes; i++) {
      const ag_embargo *e = &r->embargoes[i];
      date_range(&e->meta, range, sizeof range);
      printf("%-6s %-6s %-12s %-9s %-23s %-13s %s\n", r->destinations[e->dest].code, e->section,
             e->exceptions_cite,
             e->all_items ? "all_items" : e->reach_columns ? "by_reasons" : "ccl_items", range,
             ag_text_status_name(e->meta.status), e->meta.source);
    }
  } else if (!strcmp(name, "ace-restrictions")) {
    for (size_t i = 0; i < r->n_restrictions; i++) {
      const ag_restriction *x = &r->restrictions[i];
      date_range(&x->meta, range, sizeof range);
      printf("%-11s %s %-20s %-23s groups=", x->id, x->exception == AG_EXC_ACE ? "ACE" : "ENC",
             x->paragraph, range);
      put_groups(x->dest_groups);
      printf("%s %-13s %s\n", x->groups_of_end_user ? " (of the end user's country)" : "",
             ag_text_status_name(x->meta.status), x->meta.source);
    }
  } else if (!strcmp(name, "ace-exceptions")) {
    for (size_t i = 0; i < r->n_exceptions; i++) {
      const ag_exception *e = &r->exceptions[i];
      date_range(&e->meta, range, sizeof range);
      printf("%-11s %-22s %-23s %-13s %s\n", r->restrictions[e->restriction].id, e->paragraph,
             range, ag_text_status_name(e->meta.status), e->meta.source);
    }
  } else if (!strcmp(name, "ccl-new-items")) {
    for (size_t i = 0; i < r->n_items; i++) {
      const ag_item *it = &r->items[i];
      if (it->on_ccl_from == AG_DATE_NONE)
        continue;
      char from[11];
      ag_date_format(it->on_ccl_from, from);
      printf("%-12s for %-8s on the CCL from %s  %s\n", it->paragraph, it->for_ ? it->for_ : "-",
             from, it->on_ccl_source);
    }
  } else if (!strcmp(name, "outside-scope")) {
    for (size_t i = 0; i < r->n_scope; i++) {
      const ag_scope_row *x = &r->scope[i];
      date_range(&x->meta, range, sizeof range);
      printf("%-6s %-16s see %-17s %-23s %-13s %s\n", x->match, x->decided_by, x->refer_to, range,
             ag_text_status_name(x->meta.status), x->meta.source);
    }
  } else if (!strcmp(name, "list-meanings")) {
    for (size_t i = 0; i < r->n_list_rows; i++) {
      const ag_list_row *x = &r->list_rows[i];
      date_range(&x->meta, range, sizeof range);
      printf("%-4s %-6s %-17s %-28s %-23s %-13s %s\n", x->list, x->program ? x->program : "-",
             ag_outcome_name((ag_outcome)x->outcome), x->cite, range,
             ag_text_status_name(x->meta.status), x->meta.source);
    }
  } else {
    fprintf(stderr, "acegate rules: --table: unknown table '%s'\n", name);
    return AG_EXIT_INPUT;
  }
  return AG_EXIT_OK;
}

int ag_cmd_rules(int argc, char **argv) {
  const char *dir = NULL, *table = NULL;
  bool json = false;
  ag_cli_seen seen = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return AG_EXIT_OK;
    } else if (ag_cli_seen_again(&seen, argv[i]) &&
               (!strcmp(argv[i], "--rules") || !strcmp(argv[i], "--table"))) {
      fprintf(stderr, "acegate rules: %s: given more than once\n", argv[i]);
      return AG_EXIT_INPUT;
    } else if (!strcmp(argv[i], "--json"))
      json = true;
    else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--table") && i + 1 < argc)
      table = argv[++i];
    else {
      fprintf(stderr, "acegate rules: unknown or incomplete option '%s'\n", argv[i]);
      usage(stderr);
      return AG_EXIT_INPUT;
    }
  }
  if (json && table) {
    fprintf(stderr, "acegate rules: --json shows the summary; it cannot be combined with "
                    "--table\n");
    return AG_EXIT_INPUT;
  }
  ag_error err;
  ag_error_clear(&err);
  ag_rules *r = NULL;
  ag_status st = dir ? ag_rules_load_dir(dir, &r, &err) : ag_rules_load_default(&r, &err);
  if (st) {
    ag_cli_print_error("rules", &err);
    return ag_cli_exit_for(st);
  }
  int rc = AG_EXIT_OK;
  if (json) {
    ag_buf b;
    ag_buf_init(&b);
    ag_json_encode_rules(r, dir ? dir : "built-in", &b);
    ag_buf_putc(&b, '\n');
    if (b.failed || fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout))
      rc = AG_EXIT_IO;
    ag_buf_free(&b);
  } else {
    rc = table ? print_table(r, table) : (print_summary(r), AG_EXIT_OK);
  }
  ag_rules_free(r);
  return rc;
}
