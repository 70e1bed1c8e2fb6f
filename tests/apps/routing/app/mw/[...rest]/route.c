/* app/mw/[...rest]/route.c: the handler behind the middleware tests. It
 * counts its runs, so the suite can tell that a request the middleware
 * answered (401, redirects) never reached it; /mw/count reads the count
 * without adding to it. */
#include <stdatomic.h>

#include "../../../lib/t.h"

static atomic_int runs;

static const char *const params[] = {"rest", NULL};

static int handle(cn_req *req, cn_res *res) {
  const cn_str *rest;
  size_t n = cn_req_param_all(req, "rest", &rest);
  if (n == 1 && cn_str_eq(rest[0], "count"))
    return t_reply(res, 200, json_pack("{s:i}", "runs", atomic_load(&runs)));
  atomic_fetch_add(&runs, 1);
  return t_route(req, res, "mw/[...rest]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
