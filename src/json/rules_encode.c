/*
 * rules_encode.c - the regulation tables in force as JSON: what GET
 * /v1/rules answers and `acegate rules --json` prints.
 */
#include "acegate/json.h"

void ag_json_encode_rules(const ag_rules *x, const char *source, ag_buf *b) {
  char d1[11], d2[11];
  ag_date_format(x->rule_in_force_from, d1);
  ag_date_format(x->final_rule_from, d2);
  ag_buf_puts(b, "{\"version\":");
  ag_buf_json_cstr(b, x->version);
  ag_buf_puts(b, ",\"name\":");
  ag_buf_json_cstr(b, x->name);
  ag_buf_puts(b, ",\"edition\":");
  ag_buf_json_cstr(b, x->edition);
  ag_buf_puts(b, ",\"ecfr_issue\":");
  ag_buf_json_cstr(b, x->ecfr_issue);
  ag_buf_puts(b, ",\"source\":");
  ag_buf_json_cstr(b, source);
  ag_buf_printf(b, ",\"rule_in_force_from\":\"%s\",\"rule_in_force_source\":", d1);
  ag_buf_json_cstr(b, x->rule_in_force_source);
  ag_buf_printf(b, ",\"final_rule_from\":\"%s\",\"final_rule_source\":", d2);
  ag_buf_json_cstr(b, x->final_rule_source);
  ag_buf_printf(b,
                ",\"tables\":{\"destinations\":%zu,\"country_groups\":%zu,\"country_chart\":%zu,"
                "\"ccl_paragraphs\":%zu,\"ccl_items\":%zu,\"embargoes\":%zu,"
                "\"ace_restrictions\":%zu,\"ace_exceptions\":%zu}}",
                x->n_destinations, x->n_groups, x->n_chart, x->n_paragraphs, x->n_items,
                x->n_embargoes, x->n_restrictions, x->n_exceptions);
}
