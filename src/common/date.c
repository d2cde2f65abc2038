/*
 * date.c - calendar dates as day numbers, so "in force on" checks are
 * integer comparisons. Days are counted from 1970-01-01 in the proleptic
 * Gregorian calendar (H. Hinnant's days_from_civil algorithm).
 */
#include "acegate/common.h"

#include <stdio.h>
#include <time.h>

ag_date ag_date_from_ymd(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (ag_date)(era * 146097 + (int)doe - 719468);
}

static void ymd_from_days(ag_date z, int *y, int *m, int *d) {
  long zz = (long)z + 719468;
  const long era = (zz >= 0 ? zz : zz - 146096) / 146097;
  const unsigned doe = (unsigned)(zz - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)((long)yoe + era * 400 + (*m <= 2));
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool ag_date_parse(const char *s, size_t len, ag_date *out) {
  if (len != 10 || s[4] != '-' || s[7] != '-')
    return false;
  int v[3] = {0, 0, 0};
  const int start[3] = {0, 5, 8}, width[3] = {4, 2, 2};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < width[i]; j++) {
      char c = s[start[i] + j];
      if (c < '0' || c > '9')
        return false;
      v[i] = v[i] * 10 + (c - '0');
    }
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (v[0] < 1900 || v[1] < 1 || v[1] > 12 || v[2] < 1)
    return false;
  int maxd = mdays[v[1] - 1] + (v[1] == 2 && is_leap(v[0]));
  if (v[2] > maxd)
    return false;
  *out = ag_date_from_ymd(v[0], v[1], v[2]);
  return true;
}

void ag_date_format(ag_date d, char out[11]) {
  int y, m, dd;
  ymd_from_days(d, &y, &m, &dd);
  y = (y % 10000 + 10000) % 10000;
  /* by hand: dates are formatted for every decision written */
  out[0] = (char)('0' + y / 1000);
  out[1] = (char)('0' + y / 100 % 10);
  out[2] = (char)('0' + y / 10 % 10);
  out[3] = (char)('0' + y % 10);
  out[4] = '-';
  out[5] = (char)('0' + m / 10);
  out[6] = (char)('0' + m % 10);
  out[7] = '-';
  out[8] = (char)('0' + dd / 10);
  out[9] = (char)('0' + dd % 10);
  out[10] = '\0';
}

ag_date ag_date_today(void) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  return ag_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}
