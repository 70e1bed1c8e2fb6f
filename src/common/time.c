/* Clocks and HTTP dates. */
#include <time.h>

#include "common.h"

uint64_t cn__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cn__now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void cn__http_date(int64_t t, char out[30]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  /* Written by hand: strftime's %a/%b follow the locale. */
  static const char d2[] = "0123456789";
  char *p = out;
  memcpy(p, days[tm.tm_wday], 3), p += 3;
  *p++ = ',', *p++ = ' ';
  *p++ = d2[tm.tm_mday / 10], *p++ = d2[tm.tm_mday % 10], *p++ = ' ';
  memcpy(p, months[tm.tm_mon], 3), p += 3;
  *p++ = ' ';
  int y = tm.tm_year + 1900;
  *p++ = d2[(y / 1000) % 10], *p++ = d2[(y / 100) % 10];
  *p++ = d2[(y / 10) % 10], *p++ = d2[y % 10], *p++ = ' ';
  *p++ = d2[tm.tm_hour / 10], *p++ = d2[tm.tm_hour % 10], *p++ = ':';
  *p++ = d2[tm.tm_min / 10], *p++ = d2[tm.tm_min % 10], *p++ = ':';
  *p++ = d2[tm.tm_sec / 10], *p++ = d2[tm.tm_sec % 10];
  memcpy(p, " GMT", 5);
}

static int num(const char *p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

int cn__parse_http_date(cn_str s, int64_t *out) {
  /* Only IMF-fixdate, the one format senders must generate (RFC 9110). */
  if (s.len != 29 || s.ptr[3] != ',' || memcmp(s.ptr + 25, " GMT", 4))
    return CN_EINVAL;
  const char *p = s.ptr;
  struct tm tm = {0};
  int mon = -1;
  for (int i = 0; i < 12; i++)
    if (!memcmp(p + 8, months[i], 3))
      mon = i;
  if (mon < 0 || num(p + 5, 2, &tm.tm_mday) || num(p + 12, 4, &tm.tm_year) ||
      num(p + 17, 2, &tm.tm_hour) || num(p + 20, 2, &tm.tm_min) ||
      num(p + 23, 2, &tm.tm_sec) || p[16] != ' ' || p[19] != ':' ||
      p[22] != ':')
    return CN_EINVAL;
  tm.tm_mon = mon;
  tm.tm_year -= 1900;
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return CN_EINVAL;
  *out = (int64_t)timegm(&tm);
  return 0;
}
