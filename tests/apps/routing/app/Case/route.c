/* app/Case/route.c: answers with its own name and params (Case). */
#include "../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "Case", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
