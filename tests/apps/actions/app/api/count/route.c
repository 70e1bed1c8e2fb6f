/* GET /api/count: how many times the actions ran, in total. */
#include "../../../lib/counter.h"

static int get(cn_req *req, cn_res *res) {
  long n = counter_get(req);
  if (n < 0)
    return cn_res_error(res, 500, "the count cannot be read");
  json_t *o = json_pack("{s:I}", "count", (json_int_t)n);
  int rc = cn_res_json(res, 200, o);
  json_decref(o);
  return rc;
}

CN_ROUTE(.GET = get);
