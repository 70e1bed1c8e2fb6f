/* app/prec/static/route.c: answers with its own name and params (prec/static). */
#include "../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec/static", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
