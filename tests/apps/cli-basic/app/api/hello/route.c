/* GET /api/hello; POST echoes the JSON body back. */
#include <cairn.h>

static int get(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_pack("{s:s}", "message", "hello");
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static int post(cn_req *req, cn_res *res) {
  return cn_res_json(res, 201, cn_req_json(req));
}

CN_ROUTE(.GET = get, .POST = post);
