/* GET /api/sse-state?k=K: {"closed": n} (1: the handler saw CN_ECLOSED;
 * 11: and cn_req_aborted said so too). */
#include <stdio.h>

#include "../../../lib/gates.h"

static int state(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "k");
  char key[80];
  snprintf(key, sizeof key, "%.*s:closed", (int)k.len, k.ptr ? k.ptr : "");
  json_t *j = json_pack("{s:i}", "closed", counter_add(key, 0));
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = state);
