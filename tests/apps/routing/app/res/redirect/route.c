/* app/res/redirect/route.c: cn_res_redirect to ?to= with ?code= (0, the
 * default, means 307). */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  cn_str to = cn_req_query_get(req, "to");
  char *loc = to.ptr ? cn_req_strndup(req, to.ptr, to.len) : "/res/landing";
  int rc = cn_res_redirect(res, (int)t_qnum(req, "code", 0), loc);
  if (rc)
    return t_reply(res, 400, json_pack("{s:i,s:s}", "redirect_rc", rc, "name",
                                       cn_err_name(rc)));
  return 0;
}

CN_ROUTE(.GET = handle);
