/* pages/api/post/index.c: a pages/api route (one handler for every method) answering with
 * its own name and params (pages/api/post/index). */
#include "../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pages/api/post/index", params);
}

CN_ROUTE(.handler = handle);
