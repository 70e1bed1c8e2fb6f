/* app/opt-mw/[[...p]]/route.c: answers with its own name and params (opt-mw/[[...p]]). */
#include "../../../lib/t.h"

static const char *const params[] = {"p", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "opt-mw/[[...p]]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
