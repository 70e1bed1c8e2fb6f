/* app/prec/[...rest]/route.c: answers with its own name and params (prec/[...rest]). */
#include "../../../lib/t.h"

static const char *const params[] = {"rest", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec/[...rest]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
