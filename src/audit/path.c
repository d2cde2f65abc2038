/*
 * path.c - where the audit log lives when no --db is given, and creating
 * it private to its owner.
 *
 * One default for every command (check, screen, serve, audit, keys), not a
 * file in the current directory: a second log silently started by running
 * `serve` from another directory would split the record of 15 CFR 762.2
 * in two. The log holds parties' names and business references, so a new
 * file and its directory are readable by their owner only.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ag_status ag_audit_default_path(char *out, size_t cap, ag_error *err) {
  const char *env = getenv("ACEGATE_DB"), *state = getenv("XDG_STATE_HOME"),
             *home = getenv("HOME");
  int n;
  if (env && *env)
    n = snprintf(out, cap, "%s", env);
  else if (state && *state == '/')
    n = snprintf(out, cap, "%s/acegate/audit.db", state);
  else if (home && *home)
    n = snprintf(out, cap, "%s/.local/state/acegate/audit.db", home);
  else
    return ag_error_set(err, AG_ERR_INPUT, "db",
                        "no audit database: give --db, or set ACEGATE_DB or HOME");
  if (n < 0 || (size_t)n >= cap)
    return ag_error_set(err, AG_ERR_INPUT, "db", "the audit database path is too long");
  return AG_OK;
}

/* mkdir -p for the directories above path, each new one 0700. */
static ag_status make_parents(const char *path, ag_error *err) {
  char dir[4096];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
    return ag_error_set(err, AG_ERR_INPUT, "db", "the audit database path is too long");
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return AG_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      return ag_error_set(err, AG_ERR_IO, "db", "cannot create '%s': %s", dir, strerror(errno));
    *p = '/';
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return ag_error_set(err, AG_ERR_IO, "db", "cannot create '%s': %s", dir, strerror(errno));
  return AG_OK;
}

ag_status ag_audit_prepare_dirs(const char *path, ag_error *err) {
  if (!path || !*path || !strcmp(path, ":memory:") || audit_is_pg_uri(path))
    return AG_OK;
  return make_parents(path, err);
}

ag_status ag_audit_prepare_path(const char *path, bool make_dirs, ag_error *err) {
  if (!path || !*path || !strcmp(path, ":memory:") || audit_is_pg_uri(path))
    return AG_OK;
  if (make_dirs) {
    ag_status st = make_parents(path, err);
    if (st != AG_OK)
      return st;
  }
  /* SQLite gives the -wal and -shm files the database file's mode */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    close(fd);
    return AG_OK;
  }
  if (errno == EEXIST)
    return AG_OK;
  return ag_error_set(err, AG_ERR_IO, "db", "cannot create '%s': %s", path, strerror(errno));
}
