/* GET /api/whoami: which instance answered (its pid). */
#include <unistd.h>

#include <cairn.h>

static int get(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_pack("{s:I}", "pid", (json_int_t)getpid());
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = get);
