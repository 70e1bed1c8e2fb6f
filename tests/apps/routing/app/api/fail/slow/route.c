/* app/api/fail/slow/route.c: max_duration 300 ms; the handler sleeps
 * ?ms= (default 1500) before answering, so the client gets a 504 and the
 * late answer must be dropped. ?ms=0 answers at once. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "../../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  long long ms = t_qnum(req, "ms", 1500);
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  cn_res_header(res, "x-late", "yes");
  return t_reply(res, 200, json_pack("{s:s,s:I}", "route", "api/fail/slow",
                                     "slept_ms", (json_int_t)ms));
}

CN_ROUTE(.GET = handle, .config = {.max_duration_ms = 300});
