/* pages/api/post/[pid].c: a Pages-Router API route, one handler for every
 * method. As in Next.js, the route param wins over a query key of the same
 * name: /api/post/abc?pid=123 gives pid = "abc". */
#include <cairn.h>

static int post(cn_req *req, cn_res *res) {
  cn_str pid = cn_req_param(req, "pid");
  cn_str m = cn_req_method(req);
  json_t *body = json_pack("{s:s%,s:s%}", "pid", pid.ptr, pid.len, "method",
                           m.ptr, m.len);
  int rc = cn_res_json(res, 200, body);
  json_decref(body);
  return rc;
}

CN_ROUTE(.handler = post);
