/* app/res/status/route.c: cn_res_status with the code in ?code=, then a
 * text body; out-of-range codes are refused and the refusal reported. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  long long code = t_qnum(req, "code", 200);
  int rc = cn_res_status(res, (int)code);
  if (rc)
    return t_reply(res, 200, json_pack("{s:i,s:s}", "status_rc", rc,
                                       "name", cn_err_name(rc)));
  cn_res_header(res, "Content-Type", "text/plain; charset=utf-8");
  char *body = cn_req_printf(req, "status %lld\n", code);
  return cn_res_send(res, body, strlen(body));
}

CN_ROUTE(.GET = handle);
