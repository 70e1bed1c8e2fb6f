/* /api/users/[id]: a route handler with a dynamic segment, one function
 * per method, wrapped the way Next.js apps wrap handlers:
 * with_errors(with_auth(handler)) composes in plain C. */
#include <cairn.h>
#include <string.h>

#include "../../../../lib/wrap.h"

static int get_user(cn_req *req, cn_res *res) {
  cn_str id = cn_req_param(req, "id");
  json_t *user = json_pack("{s:s%,s:s}", "id", id.ptr, id.len, "name",
                           "Ada Lovelace");
  int rc = cn_res_json(res, 200, user);
  json_decref(user);
  return rc;
}

static int delete_user(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_status(res, 204);
  return cn_res_send(res, "", 0);
}

CN_WRAP(get_user_checked, with_errors, get_user)
CN_WRAP(delete_user_authed, with_auth, delete_user)

CN_ROUTE(.GET = get_user_checked, .DELETE = delete_user_authed);
