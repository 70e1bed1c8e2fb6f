/* app/opt/fixed/route.c: answers with its own name and params (opt/fixed). */
#include "../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "opt/fixed", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
