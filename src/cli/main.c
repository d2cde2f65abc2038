/*
 * main.c - the acegate command: dispatches to one subcommand.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

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
    {"keys", ag_cmd_keys, "create, list and revoke API keys for the HTTP service"},
    {"serve", ag_cmd_serve, "run the HTTP API service, recording every decision in the audit log"},
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
