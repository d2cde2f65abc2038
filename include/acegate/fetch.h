/*
 * acegate/fetch.h - downloads the published screening list files over
 * HTTP(S) with libcurl, with conditional requests, for `acegate lists
 * fetch` (docs/screening.md, "Fetching the published lists").
 *
 * Every file is downloaded into a staging directory; nothing the caller
 * keeps is touched until it decides to keep the result (ag_fetch_commit).
 * A download is refused, with the URL and the reason, when the server
 * answers anything but 200 or 304, when the body ends before its announced
 * length (a truncated transfer), when it is empty, or when it is an HTML
 * page (an error or login page served with 200). A 304 reuses the copy kept
 * from the last download. The server's Last-Modified time becomes the
 * file's modification time, which dates a list whose file carries no date
 * of its own (the OFAC legacy CSV files).
 *
 * Not thread-safe across calls that share a directory.
 */
#ifndef ACEGATE_FETCH_H
#define ACEGATE_FETCH_H

#include "acegate/common.h"

#include <stdbool.h>
#include <stddef.h>

#define AG_FETCH_FILES_MAX 16

/* One file to download: the name it is kept under (which tells the list
 * loaders what it is, e.g. "sdn.csv", "cons_prim.csv") and its URL. */
typedef struct {
  const char *name;
  const char *url;
} ag_fetch_file;

typedef struct {
  const char *dir; /* where downloads and their validators are kept; created if needed */
  const ag_fetch_file *files;
  size_t n;
  long timeout_s; /* per file; 0 means 300 */
} ag_fetch_options;

typedef struct {
  char name[64];
  char path[4200];     /* the staged file (new body, or the kept copy on 304) */
  long status;         /* 200 or 304 */
  bool changed;        /* a new body was downloaded */
  size_t bytes;
  char last_modified[40]; /* "YYYY-MM-DD" from the server's Last-Modified, or "" */
} ag_fetch_file_result;

typedef struct {
  ag_fetch_file_result files[AG_FETCH_FILES_MAX];
  size_t n;
  bool changed;         /* at least one file has a new body */
  char staging[4200];   /* the staging directory (removed by ag_fetch_commit/_discard) */
  char dir[4096];
} ag_fetch_result;

/* Downloads every file into a fresh staging directory under o->dir.
 * Errors name the file's URL in the reason: AG_ERR_IO (connection,
 * timeout, HTTP status, truncated body), AG_ERR_LIST (an HTML page or an
 * empty body), AG_ERR_INPUT (a URL that is not http(s) or file). On error
 * the staging directory is removed and nothing kept changes. */
ag_status ag_fetch_download(const ag_fetch_options *o, ag_fetch_result *res, ag_error *err);

/* Keeps the staged files as the last download (with their ETag and
 * Last-Modified for the next conditional request) and removes the staging
 * directory. */
ag_status ag_fetch_commit(ag_fetch_result *res, ag_error *err);

/* Removes the staging directory; the last download stays as it was. */
void ag_fetch_discard(ag_fetch_result *res);

#endif
