/*
 * cli.h - the acegate command's subcommands. Each returns the process
 * exit status (see README.md, "Exit codes").
 */
#ifndef ACEGATE_CLI_H
#define ACEGATE_CLI_H

enum {
  AG_EXIT_OK = 0,        /* success; for check: every determination made */
  AG_EXIT_INPUT = 2,     /* bad input: usage, request field, or a batch line */
  AG_EXIT_DATA = 3,      /* a rules table or list file is invalid */
  AG_EXIT_IO = 4,        /* a file, stream or database failed */
  AG_EXIT_INTERNAL = 5,  /* out of memory or internal error */
  AG_EXIT_VERIFY = 6,    /* audit verification found a broken record */
  AG_EXIT_FAIL_ON = 7    /* check --fail-on: a decision had one of the named outcomes */
};

int ag_cmd_check(int argc, char **argv);
int ag_cmd_rules(int argc, char **argv);
int ag_cmd_classify(int argc, char **argv);
int ag_cmd_screen(int argc, char **argv);
int ag_cmd_lists(int argc, char **argv);
int ag_cmd_audit(int argc, char **argv);
int ag_cmd_keys(int argc, char **argv);
int ag_cmd_serve(int argc, char **argv);
int ag_cmd_review(int argc, char **argv);
int ag_cmd_parties(int argc, char **argv);
int ag_cmd_version(int argc, char **argv);

/* The configuration file (config.c, acegate.conf(5)). Load reads it and
 * replaces argc and argv with the arguments to parse: the file's options,
 * less those the command line gives, then the command line's, less
 * --config PATH and --no-config. Returns AG_EXIT_OK, or an exit code after
 * printing why. ag_cli_config_name gives "FILE:LINE: KEY" for an option
 * that came from the file, else opt; free releases what load made. */
int ag_cli_config_load(const char *cmd, int *argc, char ***argv);
const char *ag_cli_config_name(const char *opt);
void ag_cli_config_free(void);

#endif
