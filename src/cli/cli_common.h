/*
 * cli_common.h - helpers shared by the subcommands: error reporting with
 * field and reason, exit codes for statuses, bounded reads.
 */
#ifndef ACEGATE_CLI_COMMON_H
#define ACEGATE_CLI_COMMON_H

#include "acegate/common.h"

#include <stdio.h>

/* Prints "acegate CMD: FIELD: REASON" to stderr. */
void ag_cli_print_error(const char *cmd, const ag_error *err);
/* The documented exit code for a status (cli.h). */
int ag_cli_exit_for(ag_status st);
/* Reads all of f into a malloc'd NUL-terminated buffer; AG_ERR_LIMIT past max. */
ag_status ag_cli_read_all(FILE *f, size_t max, char **out, size_t *len, ag_error *err);

#endif
