/* app/pub/[name]/route.c: answers with its own name and params (pub/[name]). */
#include "../../../lib/t.h"

static const char *const params[] = {"name", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pub/[name]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
