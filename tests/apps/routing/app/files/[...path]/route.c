/* app/files/[...path]/route.c: answers with its own name and params (files/[...path]). */
#include "../../../lib/t.h"

static const char *const params[] = {"path", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "files/[...path]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
