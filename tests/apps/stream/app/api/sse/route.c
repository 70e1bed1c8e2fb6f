/* GET /api/sse?k=K&count=N: N events "n" with ids 1..N, 20 ms apart (no
 * count: until the client leaves). When a write reports that the client
 * has gone, counter K:closed goes up: /api/sse-state?k=K shows it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../../lib/gates.h"

static int sse(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "k"), c = cn_req_query_get(req, "count");
  char key[80], id[24], data[64];
  long count = c.ptr ? strtol(c.ptr, NULL, 10) : 0;
  snprintf(key, sizeof key, "%.*s:closed", (int)k.len, k.ptr ? k.ptr : "");
  int rc = cn_sse_retry(res, 1500);
  if (!rc)
    rc = cn_sse_comment(res, "hello");
  for (long i = 1; !rc && (!count || i <= count); i++) {
    snprintf(id, sizeof id, "%ld", i);
    snprintf(data, sizeof data, "line one %ld\nline two", i);
    rc = cn_sse_event(res, "n", id, data);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  if (rc == CN_ECLOSED) {
    counter_add(key, 1 + cn_req_aborted(req) * 10);
    return 0;
  }
  return rc ? rc : cn_res_end(res);
}

CN_ROUTE(.GET = sse);
