/*
 * config.c - the configuration file of `acegate serve` (acegate.conf(5)).
 *
 * A file of KEY = VALUE lines, KEY one of serve's long options without its
 * dashes; blank lines and lines starting with '#' are skipped. The file's
 * options are placed before the command line's, leaving out every key the
 * command line gives itself: flags override the file, and serve's own
 * parser checks every value the same way wherever it came from. An option
 * read from the file keeps the file, line and key it came from, and serve
 * reports a bad one under that name (ag_cli_config_name).
 *
 * Which file: --config PATH (it must exist); none with --no-config; else
 * $ACEGATE_CONFIG when set (it must exist; the tests set /dev/null so that
 * no file of the machine's is read); else
 * $XDG_CONFIG_HOME/acegate/acegate.conf ($HOME/.config when unset) if it
 * exists; else /etc/acegate/acegate.conf if it exists.
 *
 * The state is the command's own (one configuration per process run), so
 * it lives here rather than in the library.
 */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSTEM_CONFIG "/etc/acegate/acegate.conf"
#define MAX_LINE 4096

typedef struct {
  char *flag;  /* "--key", the pointer serve reports errors with */
  char *value; /* NULL for a switch */
  char *where; /* "FILE:LINE: key" */
} config_option;

static config_option *options;
static size_t n_options, cap_options;
static char **merged_argv;

/* Options that take no value: in the file, KEY = true or KEY = false. */
static const char *const switches[] = {"no-lists", "accept-damaged-log", "stale-lists-unready"};

/* Keys of `acegate lists fetch` (the lists' addresses); serve leaves them
 * out and fetch reads only these. */
static const char *const fetch_keys[] = {"csl-url", "ofac-url",      "dpl-url",
                                         "mirror",  "fetch-timeout", "max-shrink"};

/* Keys both read: the webhook of new queue items, which the service's
 * reloads and the timer's fetches both make. */
static const char *const shared_keys[] = {"webhook-url", "webhook-secret-file"};

static bool key_applies(const char *cmd, const char *key) {
  for (size_t i = 0; i < sizeof shared_keys / sizeof shared_keys[0]; i++)
    if (!strcmp(key, shared_keys[i]))
      return true;
  bool fetch_key = false;
  for (size_t i = 0; i < sizeof fetch_keys / sizeof fetch_keys[0]; i++)
    fetch_key |= !strcmp(key, fetch_keys[i]);
  return fetch_key == !strcmp(cmd, "lists fetch");
}

static bool is_switch(const char *key) {
  for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++)
    if (!strcmp(key, switches[i]))
      return true;
  return false;
}

static int config_error(const char *cmd, const char *file, unsigned line, const char *key,
                        const char *why) {
  if (key)
    fprintf(stderr, "acegate %s: %s:%u: %s: %s\n", cmd, file, line, key, why);
  else
    fprintf(stderr, "acegate %s: %s:%u: %s\n", cmd, file, line, why);
  return AG_EXIT_INPUT;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

/* True when argv (the command line) gives --key itself. */
static bool on_command_line(int argc, char **argv, const char *key) {
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, key))
      return true;
  return false;
}

static bool add_option(const char *key, const char *value, const char *file, unsigned line) {
  if (n_options == cap_options) {
    size_t cap = cap_options ? 2 * cap_options : 16;
    config_option *o = realloc(options, cap * sizeof *o);
    if (!o)
      return false;
    options = o;
    cap_options = cap;
  }
  config_option *o = &options[n_options];
  size_t wn = strlen(file) + strlen(key) + 32;
  o->flag = malloc(strlen(key) + 3);
  o->value = value ? strdup(value) : NULL;
  o->where = malloc(wn);
  if (!o->flag || (value && !o->value) || !o->where) {
    free(o->flag);
    free(o->value);
    free(o->where);
    return false;
  }
  sprintf(o->flag, "--%s", key);
  snprintf(o->where, wn, "%s:%u: %s", file, line, key);
  n_options++;
  return true;
}

/* Reads file into options, leaving out the keys the command line gives. */
static int read_file(const char *cmd, const char *file, FILE *f, int argc, char **argv) {
  char buf[MAX_LINE + 2];
  unsigned line = 0;
  while (fgets(buf, sizeof buf, f)) {
    line++;
    size_t len = strlen(buf);
    if (len == sizeof buf - 1 && buf[len - 1] != '\n')
      return config_error(cmd, file, line, NULL, "line longer than 4096 bytes");
    if (len + 1 < sizeof buf && !feof(f) && (len == 0 || buf[len - 1] != '\n'))
      return config_error(cmd, file, line, NULL, "contains a NUL byte");
    char *s = trim(buf);
    if (!*s || *s == '#')
      continue;
    char *eq = strchr(s, '=');
    if (!eq)
      return config_error(cmd, file, line, NULL, "expected KEY = VALUE");
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (!*key)
      return config_error(cmd, file, line, NULL, "expected KEY = VALUE (no key)");
    for (const char *k = key; *k; k++)
      if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-'))
        return config_error(cmd, file, line, key,
                            "not a key (keys are option names: lower-case letters, digits, -)");
    if (!strcmp(key, "config") || !strcmp(key, "no-config") || !strcmp(key, "help"))
      return config_error(cmd, file, line, key, "not an option of the configuration file");
    if (!*value)
      return config_error(cmd, file, line, key, "needs a value");
    if (!strncmp(value, "--", 2))
      return config_error(cmd, file, line, key, "a value may not start with --");
    if (on_command_line(argc, argv, key) || !key_applies(cmd, key))
      continue; /* the flag overrides the file; another command's key */
    if (is_switch(key)) {
      bool on = strcmp(value, "true") == 0;
      if (!on && strcmp(value, "false") != 0)
        return config_error(cmd, file, line, key, "must be true or false");
      if (!on)
        continue;
      value = NULL;
    }
    if (!add_option(key, value, file, line)) {
      fprintf(stderr, "acegate %s: out of memory\n", cmd);
      return AG_EXIT_INTERNAL;
    }
  }
  if (ferror(f)) {
    fprintf(stderr, "acegate %s: %s: cannot read: %s\n", cmd, file, strerror(errno));
    return AG_EXIT_IO;
  }
  return AG_EXIT_OK;
}

/* Opens the file to read: the named one, or the first default that exists.
 * Sets *f to NULL when there is none to read. */
static int open_config(const char *cmd, const char *named, char *path, size_t cap, FILE **f) {
  *f = NULL;
  const char *env = getenv("ACEGATE_CONFIG");
  if (!named && env && *env) {
    if (!(*f = fopen(env, "r"))) {
      fprintf(stderr, "acegate %s: ACEGATE_CONFIG: cannot open '%s': %s\n", cmd, env,
              strerror(errno));
      return AG_EXIT_IO;
    }
    snprintf(path, cap, "%s", env);
    return AG_EXIT_OK;
  }
  if (named) {
    snprintf(path, cap, "%s", named);
    if (!(*f = fopen(path, "r"))) {
      fprintf(stderr, "acegate %s: --config: cannot open '%s': %s\n", cmd, path, strerror(errno));
      return AG_EXIT_IO;
    }
    return AG_EXIT_OK;
  }
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  const char *candidates[2] = {NULL, SYSTEM_CONFIG};
  char user[4096];
  int n = -1;
  /* the base directory specification ignores a relative XDG_CONFIG_HOME */
  if (xdg && xdg[0] == '/')
    n = snprintf(user, sizeof user, "%s/acegate/acegate.conf", xdg);
  else if (home && *home)
    n = snprintf(user, sizeof user, "%s/.config/acegate/acegate.conf", home);
  if (n > 0 && (size_t)n < sizeof user)
    candidates[0] = user;
  for (int i = 0; i < 2; i++) {
    if (!candidates[i])
      continue;
    snprintf(path, cap, "%s", candidates[i]);
    if ((*f = fopen(path, "r")))
      return AG_EXIT_OK;
    if (errno != ENOENT && errno != ENOTDIR) {
      fprintf(stderr, "acegate %s: %s: cannot open: %s\n", cmd, path, strerror(errno));
      return AG_EXIT_IO;
    }
  }
  return AG_EXIT_OK;
}

int ag_cli_config_load(const char *cmd, int *argc, char ***argv) {
  int ac = *argc;
  char **av = *argv;
  const char *named = NULL;
  bool none = false;
  for (int i = 1; i < ac; i++) {
    if (!strcmp(av[i], "--help") || !strcmp(av[i], "-h"))
      return AG_EXIT_OK; /* help is printed whatever the file holds */
    if (!strcmp(av[i], "--no-config"))
      none = true;
    else if (!strcmp(av[i], "--config")) {
      if (named) {
        fprintf(stderr, "acegate %s: --config: given more than once\n", cmd);
        return AG_EXIT_INPUT;
      }
      if (i + 1 >= ac || !strncmp(av[i + 1], "--", 2) || !av[i + 1][0]) {
        fprintf(stderr, "acegate %s: --config: needs a value (see acegate %s --help)\n", cmd, cmd);
        return AG_EXIT_INPUT;
      }
      named = av[++i];
    }
  }
  if (none && named) {
    fprintf(stderr, "acegate %s: --no-config: cannot be given with --config\n", cmd);
    return AG_EXIT_INPUT;
  }

  char path[4200];
  FILE *f = NULL;
  int rc = none ? AG_EXIT_OK : open_config(cmd, named, path, sizeof path, &f);
  if (rc != AG_EXIT_OK)
    return rc;
  if (f) {
    rc = read_file(cmd, path, f, ac, av);
    fclose(f);
    if (rc != AG_EXIT_OK)
      return rc;
  }

  /* argv[0], the file's options, then the command line less --config */
  merged_argv = calloc((size_t)ac + 2 * n_options + 1, sizeof *merged_argv);
  if (!merged_argv) {
    fprintf(stderr, "acegate %s: out of memory\n", cmd);
    return AG_EXIT_INTERNAL;
  }
  int m = 0;
  merged_argv[m++] = av[0];
  for (size_t k = 0; k < n_options; k++) {
    merged_argv[m++] = options[k].flag;
    if (options[k].value)
      merged_argv[m++] = options[k].value;
  }
  for (int i = 1; i < ac; i++) {
    if (!strcmp(av[i], "--no-config"))
      continue;
    if (!strcmp(av[i], "--config")) {
      i++;
      continue;
    }
    merged_argv[m++] = av[i];
  }
  *argc = m;
  *argv = merged_argv;
  return AG_EXIT_OK;
}

const char *ag_cli_config_name(const char *opt) {
  for (size_t k = 0; k < n_options; k++)
    if (options[k].flag == opt)
      return options[k].where;
  return opt;
}

void ag_cli_config_free(void) {
  for (size_t k = 0; k < n_options; k++) {
    free(options[k].flag);
    free(options[k].value);
    free(options[k].where);
  }
  free(options);
  free(merged_argv);
  options = NULL;
  merged_argv = NULL;
  n_options = cap_options = 0;
}
