/* pages/api/post/[pid].c: a pages/api route (one handler for every method) answering with
 * its own name and params (pages/api/post/[pid]). */
#include "../../../lib/t.h"

static const char *const params[] = {"pid", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pages/api/post/[pid]", params);
}

CN_ROUTE(.handler = handle);
