/* pages/api/mw/[...parts].c: a pages/api route (one handler for every method) answering with
 * its own name and params (pages/api/mw/[...parts]). */
#include "../../../lib/t.h"

static const char *const params[] = {"parts", NULL};

static int handle(cn_req *req, cn_res *res) {
  return t_route(req, res, "pages/api/mw/[...parts]", params);
}

CN_ROUTE(.handler = handle);
