/* pages/api/post/[pid].c: one handler for every method. */
#include <cairn.h>

static int handler(cn_req *req, cn_res *res) {
  cn_str pid = cn_req_param(req, "pid");
  cn_str m = cn_req_method(req);
  json_t *j = json_pack("{s:s%,s:s%}", "pid", pid.ptr, pid.len, "method",
                        m.ptr, m.len);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.handler = handler);
