/* GET /api/users/[id], with a helper from lib/ and a non-static function
 * whose name another route file also uses. */
#include <cairn.h>

#include "../../../../lib/util.h"

const char *helper(void);
const char *helper(void) { return "users"; }

static int get(cn_req *req, cn_res *res) {
  cn_str id = cn_req_param(req, "id");
  json_t *j = json_pack("{s:s%,s:s,s:s}", "id", id.ptr, id.len, "from",
                        helper(), "tag", UTIL_TAG);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = get);
