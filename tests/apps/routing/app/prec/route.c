/* app/prec/route.c: answers with its own name and params (prec (index)). */
#include "../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec (index)", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
