/* app/api/fail/nb/route.c: the same failures from a nonblocking handler,
 * which runs on the I/O thread. */
#include "../../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  cn_str mode = cn_req_query_get(req, "mode");
  if (cn_str_eq(mode, "error"))
    return CN_EINVAL;
  if (cn_str_eq(mode, "silent"))
    return 0;
  return t_reply(res, 200, json_pack("{s:s}", "route", "api/fail/nb"));
}

CN_ROUTE(.GET = handle, .config = {.nonblocking = 1});
