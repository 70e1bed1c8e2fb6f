/* app/(marketing)/(nested)/deeper/route.c: answers with its own name and params ((marketing)/(nested)/deeper). */
#include "../../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "(marketing)/(nested)/deeper", params);
}

CN_ROUTE(.GET = handle, .POST = handle);
