/* app/route.c: "/", the root index. */
#include "../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "(root index)", NULL);
}

CN_ROUTE(.GET = handle);
