/*
 * cli_common.c - error reporting, exit codes and bounded reads for the
 * subcommands.
 */
#include "cli_common.h"
#include "cli.h"

#include <stdlib.h>

void ag_cli_print_error(const char *cmd, const ag_error *err) {
  if (err->field[0])
    fprintf(stderr, "acegate %s: %s: %s\n", cmd, err->field, err->reason);
  else
    fprintf(stderr, "acegate %s: %s\n", cmd, err->reason);
}

int ag_cli_exit_for(ag_status st) {
  switch (st) {
  case AG_OK: return AG_EXIT_OK;
  case AG_ERR_INPUT:
  case AG_ERR_LIMIT:
  case AG_ERR_NOTFOUND:
  case AG_ERR_AUTH:
  case AG_ERR_FORBIDDEN: return AG_EXIT_INPUT;
  case AG_ERR_RULES:
  case AG_ERR_LIST: return AG_EXIT_DATA;
  case AG_ERR_IO:
  case AG_ERR_DB: return AG_EXIT_IO;
  case AG_ERR_NOMEM:
  case AG_ERR_INTERNAL: return AG_EXIT_INTERNAL;
  }
  return AG_EXIT_INTERNAL;
}

ag_status ag_cli_read_all(FILE *f, size_t max, char **out, size_t *len, ag_error *err) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(buf);
        return ag_error_set(err, AG_ERR_LIMIT, "", "the input is longer than %zu bytes", max);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    free(buf);
    return ag_error_set(err, AG_ERR_IO, "", "error reading the input");
  }
  if (n > max) {
    free(buf);
    return ag_error_set(err, AG_ERR_LIMIT, "", "the input is longer than %zu bytes", max);
  }
  if (n == cap) {
    char *nb = realloc(buf, n + 1);
    if (!nb) {
      free(buf);
      return ag_error_set(err, AG_ERR_NOMEM, "", "out of memory");
    }
    buf = nb;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return AG_OK;
}
