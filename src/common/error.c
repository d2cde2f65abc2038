/*
 * error.c - status names and error reports (field + reason).
 */
#include "acegate/common.h"

#include <stdio.h>
#include <string.h>

const char *ag_status_name(ag_status s) {
  switch (s) {
  case AG_OK: return "ok";
  case AG_ERR_INPUT: return "invalid_input";
  case AG_ERR_RULES: return "invalid_rules";
  case AG_ERR_LIST: return "invalid_list";
  case AG_ERR_LIMIT: return "too_large";
  case AG_ERR_IO: return "io_error";
  case AG_ERR_NOMEM: return "out_of_memory";
  case AG_ERR_DB: return "database_error";
  case AG_ERR_AUTH: return "unauthorized";
  case AG_ERR_FORBIDDEN: return "forbidden";
  case AG_ERR_NOTFOUND: return "not_found";
  case AG_ERR_INTERNAL: return "internal_error";
  }
  return "unknown_status";
}

ag_status ag_error_set(ag_error *err, ag_status status, const char *field,
                       const char *fmt, ...) {
  if (err) {
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
  }
  return status;
}

void ag_error_clear(ag_error *err) {
  if (err) {
    err->status = AG_OK;
    err->field[0] = '\0';
    err->reason[0] = '\0';
  }
}
