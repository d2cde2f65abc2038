/*
 * file.c - opening an input file (a regulation table, a list file, an
 * index) only when it is a regular file.
 *
 * fopen() of a FIFO blocks until something writes to it, possibly forever,
 * and a device or directory is never a table: the file is opened without
 * blocking, its type checked with fstat(), and only then read.
 */
#include "acegate/common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ag_status ag_file_open(const char *path, FILE **out, size_t *size, ag_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return ag_error_set(err, errno == ENOENT ? AG_ERR_NOTFOUND : AG_ERR_IO, path,
                        "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ag_error_set(err, AG_ERR_IO, path, "cannot read: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return ag_error_set(err, AG_ERR_IO, path, "not a regular file (%s)",
                        S_ISFIFO(st.st_mode)   ? "a FIFO, which could block forever"
                        : S_ISDIR(st.st_mode)  ? "a directory"
                        : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                      : "a socket");
  }
  int flags = fcntl(fd, F_GETFL);
  FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ? NULL : fdopen(fd, "rb");
  if (!f) {
    int e = errno;
    close(fd);
    return ag_error_set(err, AG_ERR_IO, path, "cannot open: %s", strerror(e));
  }
  if (size)
    *size = (size_t)st.st_size;
  *out = f;
  return AG_OK;
}
