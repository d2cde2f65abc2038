/*
 * main.c - the acegate command: dispatches to one subcommand.
 */
#include "cli.h"

#include "acegate/pipeline.h"

#include <stdio.h>
#include <string.h>

#ifndef AG_VERSION
#define AG_VERSION "unknown" /* the Makefile passes VERSION */
#endif

/* `acegate version` and `acegate --version`: the program's version, then
 * the versions of the tables and lists it decides with by default, as
 * every decision names them. */
int ag_cmd_version(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("acegate %s\n", AG_VERSION);
  ag_error err;
  ag_rules *rules = NULL;
  if (ag_rules_load_default(&rules, &err) == AG_OK)
    printf("rules_version %s\n", rules->version);
  ag_rules_free(rules);
  ag_screen *lists = NULL;
  if (ag_screen_open_default(&lists, &err) == AG_OK) {
    char v[AG_PIPELINE_LISTS_VERSION_MAX];
    ag_pipeline_lists_version(lists, v, sizeof v);
    printf("lists_version %s\n", v);
  }
  ag_screen_close(lists);
  return fflush(stdout) == 0 ? AG_EXIT_OK : AG_EXIT_IO;
}

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"check", ag_cmd_check, "determine whether License Exception ACE authorizes a transaction"},
    {"classify", ag_cmd_classify, "find an item's CCL paragraph by yes/no questions on the CCL text"},
    {"rules", ag_cmd_rules, "show the regulation tables in force, their sources and dates"},
    {"screen", ag_cmd_screen, "screen a party name against the restricted-party lists"},
    {"lists", ag_cmd_lists, "show or replace the restricted-party lists in force"},
    {"audit", ag_cmd_audit, "verify, export, back up or read the audit log of determinations"},
    {"review", ag_cmd_review, "resolve REVIEW outcomes and possible matches; the review queue"},
    {"parties", ag_cmd_parties, "the party registry: import, list, show, re-screen after list changes"},
    {"keys", ag_cmd_keys, "create, list and revoke API keys for the HTTP service"},
    {"serve", ag_cmd_serve, "run the HTTP API service, recording every decision in the audit log"},
    {"version", ag_cmd_version, "print the version of acegate (also --version)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: acegate COMMAND [OPTIONS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n'acegate COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return AG_EXIT_INPUT;
  }
  if (!strcmp(argv[1], "--version"))
    return ag_cmd_version(argc - 1, argv + 1);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return AG_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "acegate: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return AG_EXIT_INPUT;
}
