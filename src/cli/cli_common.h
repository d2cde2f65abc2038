/*
 * cli_common.h - helpers shared by the subcommands: error reporting with
 * field and reason, exit codes for statuses, bounded reads.
 */
#ifndef ACEGATE_CLI_COMMON_H
#define ACEGATE_CLI_COMMON_H

#include "acegate/audit.h"
#include "acegate/common.h"
#include "acegate/pipeline.h"
#include "acegate/screen.h"

#include <stdio.h>

/* Prints "acegate CMD: FIELD: REASON" to stderr. */
void ag_cli_print_error(const char *cmd, const ag_error *err);
/* The documented exit code for a status (cli.h). */
int ag_cli_exit_for(ag_status st);
/* Writes b and a newline to stdout and frees b: AG_EXIT_OK, or AG_EXIT_IO
 * when the output could not be made or written. */
int ag_cli_print_line(ag_buf *b);
/* --limit N of a paged listing: false unless N is a number from 1 to
 * AG_AUDIT_PAGE_MAX (AG_CLI_LIMIT_RULE says so). */
#define AG_CLI_LIMIT_RULE "must be a number from 1 to 1000"
bool ag_cli_parse_limit(const char *text, size_t *out);
/* A library error field and the command-line flag that sets it. */
typedef struct {
  const char *field;
  const char *flag;
} ag_cli_flag_name;

/* Prints "acegate CMD SUB: FIELD: REASON", naming the flag for a library
 * field found in names; returns the exit code for the status. */
int ag_cli_fail(const char *cmd, const char *sub, const ag_error *err,
                const ag_cli_flag_name *names, size_t n);

/* Runs the subcommand argv[1] of cmd from subs, or prints usage. */
typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
} ag_cli_sub;
int ag_cli_dispatch(const char *cmd, int argc, char **argv, const ag_cli_sub *subs, size_t n,
                    const char *usage);

/* The flags a command has read so far, to refuse one given twice (the
 * last value silently winning could change a decision or drop a check). */
typedef struct {
  const char *names[32];
  size_t n;
} ag_cli_seen;
/* True when flag was read before; remembers it otherwise. */
bool ag_cli_seen_again(ag_cli_seen *seen, const char *flag);

/* Reads all of f into a malloc'd NUL-terminated buffer; AG_ERR_LIMIT past max. */
ag_status ag_cli_read_all(FILE *f, size_t max, char **out, size_t *len, ag_error *err);

/* The audit database a command uses: given (--db), else the default
 * (ag_audit_default_path). When create, a missing file is made 0600 (and,
 * for the default, its directories 0700). */
#define AG_CLI_PATH_MAX 4096
ag_status ag_cli_db_path(const char *given, bool create, char *out, size_t cap, ag_error *err);

/* --format and --columns of a --batch: sets o->format and o->columns
 * (cols is filled and must be freed with ag_pipeline_csv_columns_free);
 * and progress on stderr when it is a terminal. False, with a message,
 * for a bad value. */
bool ag_cli_batch_format(const char *cmd, const char *format, const char *columns,
                         ag_pipeline_csv_columns *cols, ag_pipeline_batch_options *o);

/* Ends the progress line, if one was drawn. */
void ag_cli_batch_done(void);

/* The age in days past which a list is stale: --max-list-age given, else
 * $ACEGATE_MAX_LIST_AGE, else 0 (AG_PIPELINE_MAX_LIST_AGE); "off" is -1
 * (never stale). False, with a message on stderr, for a bad value. */
bool ag_cli_max_list_age(const char *cmd, const char *given, int *out);
/* --remember-max-age DAYS (0 to 36500; 0: no remembered decision applies;
 * default AG_REMEMBER_MAX_AGE): false after printing why it is refused. */
bool ag_cli_remember_max_age(const char *cmd, const char *given, int *out);
/* The reviewers' remembered decisions of the log db, aged days (cmd names
 * the command in a message); NULL with the error printed on failure. */
struct ag_remember;
struct ag_remember *ag_cli_remembered(const char *cmd, ag_audit_db *db, int days);
/* The webhook new review-queue items are posted to (acegate/webhook.h),
 * from --webhook-url and --webhook-secret-file (both or neither), its
 * deliveries recorded beside the log at db_path: *out NULL when neither is
 * given. Returns AG_EXIT_OK, or the exit status after printing why it is
 * refused, naming the option. */
struct ag_webhook;
int ag_cli_webhook_open(const char *cmd, const char *url, const char *secret_file,
                         const char *db_path, struct ag_webhook **out);
/* How long a command waits, before it exits, for the webhook to deliver
 * (retries included). */
#define AG_CLI_WEBHOOK_WAIT_S 30.0
/* Prints "warning: ..." per list older than the maximum age, for the
 * readable output of a determination or screening. */
void ag_cli_print_stale(FILE *f, const ag_screen *lists, int max_age_days);

#endif
