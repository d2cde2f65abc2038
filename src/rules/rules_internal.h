/*
 * rules_internal.h - helpers shared by the table loader files.
 */
#ifndef ACEGATE_RULES_INTERNAL_H
#define ACEGATE_RULES_INTERNAL_H

#include "acegate/rules.h"
#include "../common/tsv.h"

int ag_rules_group_parse(const char *s, size_t n);
int ag_rules_column_parse(const char *s, size_t n);
int ag_rules_family_parse(const char *s, size_t n);
int ag_rules_status_parse(const char *s, size_t n);

#endif
