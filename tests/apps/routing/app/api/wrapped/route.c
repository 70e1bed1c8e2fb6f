/* app/api/wrapped/route.c: withAuth(withErrorHandler(handler)) in C. GET
 * answers 200, or fails with CN_EIO when ?fail=1 (the error wrapper turns
 * that into its own JSON 500). DELETE has the error handler only. */
#include "../../../lib/t.h"
#include "../../../lib/wrap.h"

static int get(cn_req *req, cn_res *res) {
  if (t_qnum(req, "fail", 0))
    return CN_EIO;
  cn_res_header_add(res, "x-wrapped", "handler");
  return t_reply(res, 200, json_pack("{s:s}", "route", "api/wrapped"));
}

T_WRAP(get_safe, with_error_handler, get)
T_WRAP(get_authed_safe, with_auth, get_safe)

CN_ROUTE(.GET = get_authed_safe, .DELETE = get_safe);
