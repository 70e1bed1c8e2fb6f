/* middleware.c: runs before routing for the paths its matcher accepts.
 * Here: every API response carries x-powered-by, and /api/old/... is
 * rewritten to /api/files/... without the client seeing it. */
#include <cairn.h>
#include <string.h>

static int middleware(cn_req *req, cn_res *res) {
  cn_res_header(res, "x-powered-by", "cairn");
  cn_str path = cn_req_path(req);
  if (path.len > 9 && !strncmp(path.ptr, "/api/old/", 9)) {
    char *to = cn_req_printf(req, "/api/files/%.*s", (int)(path.len - 9),
                             path.ptr + 9);
    return to ? cn_req_rewrite(req, to) : CN_ENOMEM;
  }
  return 0;
}

CN_MIDDLEWARE(.handler = middleware, .matcher = {"/api/:path*"},
              .nonblocking = 1);
