/* app/prec/(group)/grouped/route.c: answers with its own name and params (prec/(group)/grouped). */
#include "../../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec/(group)/grouped", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
