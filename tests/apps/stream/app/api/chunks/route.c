/* GET /api/chunks?k=K: a streamed (chunked) answer in three pieces; the
 * third waits for gate K, so the test sees the first two arrive first. */
#include <stdio.h>

#include "../../../lib/gates.h"

static int chunks(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "k");
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr ? k.ptr : "");
  cn_res_header(res, "Content-Type", "text/plain; charset=utf-8");
  int rc = cn_res_write(res, "one\n", 4);
  if (!rc)
    rc = cn_res_write(res, "two\n", 4);
  if (!rc && gate_wait(key, 10000))
    rc = cn_res_write(res, "timeout\n", 8);
  else if (!rc)
    rc = cn_res_write(res, "three\n", 6);
  return rc ? rc : cn_res_end(res);
}

CN_ROUTE(.GET = chunks);
