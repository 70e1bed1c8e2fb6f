/* GET /api/hello: the benchmark's route. It never blocks, so it runs on
 * the I/O thread, the fastest path. */
#include <cairn.h>

static int hello(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

CN_ROUTE(.GET = hello, .config = {.nonblocking = 1});
