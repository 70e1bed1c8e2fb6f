/* pages/api/post/[...slug].c: a pages/api route (one handler for every method) answering with
 * its own name and params (pages/api/post/[...slug]). */
#include "../../../lib/t.h"

static const char *const params[] = {"slug", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pages/api/post/[...slug]", params);
}

CN_ROUTE(.handler = handle);
