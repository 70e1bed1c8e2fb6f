/* pages/api/post/create.c: a pages/api route (one handler for every method) answering with
 * its own name and params (pages/api/post/create). */
#include "../../../lib/t.h"

static const char *const params[] = {NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pages/api/post/create", params);
}

CN_ROUTE(.handler = handle);
