/* GET /api/count: how many times the actions ran, in total. */
#include "../../../lib/counter.h"

static int get(cn_req *req, cn_res *res) {
  (void)req;
  json_t *o = json_pack("{s:I}", "count", (json_int_t)counter_get());
  int rc = cn_res_json(res, 200, o);
  json_decref(o);
  return rc;
}

CN_ROUTE(.GET = get);
