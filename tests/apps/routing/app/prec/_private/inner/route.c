/* app/prec/_private/inner/route.c: answers with its own name and params (prec/_private/inner (must never run)). */
#include "../../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec/_private/inner (must never run)", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
