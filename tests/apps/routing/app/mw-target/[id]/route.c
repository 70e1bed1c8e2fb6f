/* app/mw-target/[id]/route.c: answers with its own name and params (mw-target/[id]). */
#include "../../../lib/t.h"

static const char *const params[] = {"id", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "mw-target/[id]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
