/* Marks every API response. */
#include <cairn.h>

static int mw(cn_req *req, cn_res *res) {
  (void)req;
  return cn_res_header(res, "x-mw", "yes");
}

CN_MIDDLEWARE(.handler = mw, .matcher = {"/api/:path*"}, .nonblocking = 1);
