/* app/_hidden/route.c: answers with its own name and params (_hidden (must never run)). */
#include "../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "_hidden (must never run)", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
