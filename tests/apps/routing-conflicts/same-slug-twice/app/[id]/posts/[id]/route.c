/* A route of a deliberately broken app: cairn build must refuse the app. */
#include <cairn.h>

static int handle(cn_req *req, cn_res *res) {
  (void)req;
  return cn_res_text(res, 200, "app/[id]/posts/[id]/route.c\n");
}

CN_ROUTE(.GET = handle);
