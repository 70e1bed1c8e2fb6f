/* app/(marketing)/about/route.c: answers with its own name and params ((marketing)/about). */
#include "../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "(marketing)/about", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
