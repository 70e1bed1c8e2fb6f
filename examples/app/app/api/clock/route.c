/* GET /api/clock: Server-Sent Events, the server's time once a second
 * (?count=N stops after N events, ?every=MS changes the pace). A client
 * that goes away ends the loop at its next write. */
#include <cairn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long query_long(cn_req *req, const char *key, long dflt, long max) {
  cn_str v = cn_req_query_get(req, key);
  char buf[24];
  if (!v.ptr || !v.len || v.len >= sizeof buf)
    return dflt;
  snprintf(buf, sizeof buf, "%.*s", (int)v.len, v.ptr);
  long n = strtol(buf, NULL, 10);
  return n > 0 && n <= max ? n : dflt;
}

static int clock_stream(cn_req *req, cn_res *res) {
  long count = query_long(req, "count", 0, 1000000);
  long every = query_long(req, "every", 1000, 60000);
  int rc = cn_sse_retry(res, 2000);
  for (long i = 0; !rc && (!count || i < count); i++) {
    char now[32], id[24];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%H:%M:%S", gmtime_r(&t, &tm));
    snprintf(id, sizeof id, "%ld", i + 1);
    rc = cn_sse_event(res, "tick", id, now);
    if (!rc && (i + 1) % 15 == 0)
      rc = cn_sse_comment(res, "heartbeat");
    struct timespec ts = {every / 1000, (every % 1000) * 1000000L};
    if (!rc && (!count || i + 1 < count))
      nanosleep(&ts, NULL);
  }
  if (rc == CN_ECLOSED)
    return 0; /* the client left: nothing more to do */
  return rc ? rc : cn_res_end(res);
}

CN_ROUTE(.GET = clock_stream, .config = {.max_duration_ms = 0});
