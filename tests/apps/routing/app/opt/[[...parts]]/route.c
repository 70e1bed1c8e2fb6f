/* app/opt/[[...parts]]/route.c: answers with its own name and params (opt/[[...parts]]). */
#include "../../../lib/t.h"

static const char *const params[] = {"parts", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "opt/[[...parts]]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
