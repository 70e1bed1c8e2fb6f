/* app/seg/[a]/[b]/route.c: answers with its own name and params (seg/[a]/[b]). */
#include "../../../../lib/t.h"

static const char *const params[] = {"a", "b", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "seg/[a]/[b]", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
