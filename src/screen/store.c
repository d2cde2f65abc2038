/*
 * store.c - where the lists in force live, and replacing them safely.
 *
 * The lists in force are the index in the data directory if
 * `acegate lists update` wrote one, else the snapshot built into the
 * library. An update parses and validates every new file completely,
 * builds the index, re-opens the built image through the same validation
 * a reader uses, and only then replaces the old index: written to a
 * temporary file in the same directory, fsync'ed, renamed over the old
 * one (atomic on POSIX file systems), and the directory fsync'ed. A
 * reader sees the old index or the new one, never a mix; a failed update
 * leaves the old one in force.
 */
#include "screen_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_FILE "lists.agx"

ag_status ag_screen_data_dir(char *out, size_t cap, ag_error *err) {
  const char *home = getenv("ACEGATE_HOME"), *xdg = getenv("XDG_DATA_HOME"),
             *user = getenv("HOME");
  int n;
  if (home && *home)
    n = snprintf(out, cap, "%s", home);
  else if (xdg && *xdg)
    n = snprintf(out, cap, "%s/acegate", xdg);
  else if (user && *user)
    n = snprintf(out, cap, "%s/.local/share/acegate", user);
  else
    return ag_error_set(err, AG_ERR_NOTFOUND, "data-dir",
                        "no data directory: set ACEGATE_HOME or HOME");
  if (n < 0 || (size_t)n >= cap)
    return ag_error_set(err, AG_ERR_LIMIT, "data-dir", "data directory path too long");
  return AG_OK;
}

ag_status ag_screen_index_path(const char *data_dir, char *out, size_t cap, ag_error *err) {
  char dir[4096];
  if (!data_dir) {
    ag_status st = ag_screen_data_dir(dir, sizeof dir, err);
    if (st)
      return st;
    data_dir = dir;
  }
  int n = snprintf(out, cap, "%s/%s", data_dir, INDEX_FILE);
  if (n < 0 || (size_t)n >= cap)
    return ag_error_set(err, AG_ERR_LIMIT, "data-dir", "data directory path too long");
  return AG_OK;
}

ag_status ag_screen_open_dir(const char *data_dir, ag_screen **out, ag_error *err) {
  char path[4200];
  ag_error e2;
  *out = NULL;
  if (ag_screen_index_path(data_dir, path, sizeof path, &e2) == AG_OK) {
    struct stat st;
    if (!stat(path, &st))
      return ag_screen_open_index(path, out, err);
    if (errno != ENOENT)
      return ag_error_set(err, AG_ERR_IO, path, "%s: %s", path, strerror(errno));
    /* a directory named that does not exist is a mistake, not "no update
     * yet": falling back to the built-in lists would hide it */
    if (data_dir && (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
      return ag_error_set(err, AG_ERR_IO, "data-dir", "'%.200s' is not a directory", data_dir);
  } else if (data_dir) {
    if (err)
      *err = e2;
    return e2.status;
  }
  return ag_screen_open_builtin(out, err);
}

ag_status ag_screen_open_default(ag_screen **out, ag_error *err) {
  return ag_screen_open_dir(NULL, out, err);
}

ag_status ag_screen_open_paths(const char *const *paths, size_t n, ag_screen **out, ag_error *err) {
  *out = NULL;
  sx_set set;
  sx_set_init(&set);
  ag_buf img;
  ag_buf_init(&img);
  ag_status st = sx_load_paths(&set, paths, n, err);
  if (!st)
    st = sx_build_image(&set, &img, err);
  sx_set_free(&set);
  if (!st) {
    /* name the origin after the paths */
    ag_buf o;
    ag_buf_init(&o);
    for (size_t i = 0; i < n; i++) {
      if (i)
        ag_buf_puts(&o, ",");
      ag_buf_puts(&o, paths[i]);
    }
    const char *origin = ag_buf_cstr(&o);
    st = sx_open_image(img.data, img.len, true, origin ? origin : "lists", out, err);
    ag_buf_free(&o);
  }
  ag_buf_free(&img);
  return st;
}

static ag_status write_atomic(const char *path, const void *data, size_t len, ag_error *err) {
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 16);
  if (!tmp)
    return ag_error_set(err, AG_ERR_NOMEM, path, "out of memory");
  snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    ag_status st = ag_error_set(err, AG_ERR_IO, path, "%s: cannot create a temporary file: %s",
                                path, strerror(errno));
    free(tmp);
    return st;
  }
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    p += w;
    left -= (size_t)w;
  }
  int saved = errno;
  bool ok = left == 0 && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
  if (!ok && !saved)
    saved = errno;
  if (close(fd) != 0)
    ok = false;
  if (!ok || rename(tmp, path) != 0) {
    if (ok)
      saved = errno;
    unlink(tmp);
    free(tmp);
    return ag_error_set(err, AG_ERR_IO, path, "%s: cannot write the index: %s", path,
                        strerror(saved ? saved : EIO));
  }
  free(tmp);
  /* make the rename itself durable */
  char *dir = strdup(path);
  if (dir) {
    char *slash = strrchr(dir, '/');
    if (slash)
      *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  return AG_OK;
}

ag_status ag_screen_build_index(const char *const *paths, size_t n, const char *out_path,
                                ag_error *err) {
  sx_set set;
  sx_set_init(&set);
  ag_buf img;
  ag_buf_init(&img);
  ag_status st = sx_load_paths(&set, paths, n, err);
  if (!st)
    st = sx_build_image(&set, &img, err);
  sx_set_free(&set);
  if (!st) {
    /* the reader's own validation, before anything is replaced */
    ag_screen *check;
    st = sx_open_image(img.data, img.len, true, out_path, &check, err);
    ag_screen_close(check);
  }
  if (!st)
    st = write_atomic(out_path, img.data, img.len, err);
  ag_buf_free(&img);
  return st;
}

static ag_status mkdirs(const char *dir, ag_error *err) {
  char p[4096];
  size_t n = strlen(dir);
  if (n >= sizeof p)
    return ag_error_set(err, AG_ERR_LIMIT, "data-dir", "data directory path too long");
  memcpy(p, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char c = p[i];
      p[i] = '\0';
      if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return ag_error_set(err, AG_ERR_IO, "data-dir", "%s: cannot create: %s", p,
                            strerror(errno));
      p[i] = c;
    }
  }
  return AG_OK;
}

ag_status ag_screen_update(const char *data_dir, const char *const *paths, size_t n, char *written,
                           size_t cap, ag_error *err) {
  char dir[4096], path[4200];
  if (!data_dir) {
    ag_status st = ag_screen_data_dir(dir, sizeof dir, err);
    if (st)
      return st;
    data_dir = dir;
  }
  ag_status st = ag_screen_index_path(data_dir, path, sizeof path, err);
  if (!st)
    st = mkdirs(data_dir, err);
  if (!st)
    st = ag_screen_build_index(paths, n, path, err);
  if (!st && written && cap)
    snprintf(written, cap, "%s", path);
  return st;
}

ag_status ag_screen_install(const char *data_dir, const ag_screen *s, char *written, size_t cap,
                            ag_error *err) {
  char dir[4096], path[4200];
  if (!data_dir) {
    ag_status st = ag_screen_data_dir(dir, sizeof dir, err);
    if (st)
      return st;
    data_dir = dir;
  }
  ag_status st = ag_screen_index_path(data_dir, path, sizeof path, err);
  if (!st)
    st = mkdirs(data_dir, err);
  if (!st) {
    /* the handle was validated when opened: its image is written as is */
    const sx_view *v = sx_handle_view(s);
    st = write_atomic(path, v->base, v->size, err);
  }
  if (!st && written && cap)
    snprintf(written, cap, "%s", path);
  return st;
}

ag_status ag_screen_reset(const char *data_dir, ag_error *err) {
  char path[4200];
  ag_status st = ag_screen_index_path(data_dir, path, sizeof path, err);
  if (st)
    return st;
  if (unlink(path) != 0 && errno != ENOENT)
    return ag_error_set(err, AG_ERR_IO, path, "%s: cannot remove: %s", path, strerror(errno));
  return AG_OK;
}
