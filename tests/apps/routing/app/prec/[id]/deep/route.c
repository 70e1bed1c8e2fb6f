/* app/prec/[id]/deep/route.c: answers with its own name and params (prec/[id]/deep). */
#include "../../../../lib/t.h"

static const char *const params[] = {"id", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "prec/[id]/deep", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
