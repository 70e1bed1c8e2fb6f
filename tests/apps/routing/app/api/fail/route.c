/* app/api/fail/route.c: handlers that go wrong in each way the server must
 * turn into an answer. ?mode=
 *   error       return CN_EIO without responding             -> 500
 *   silent      return 0 without responding                  -> 500
 *   dirty       set a status and a header, then CN_EIO        -> 500
 *   after-send  respond 200, then return CN_EIO               -> the 200
 *   ok          respond 200 */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  cn_str mode = cn_req_query_get(req, "mode");
  if (cn_str_eq(mode, "error"))
    return CN_EIO;
  if (cn_str_eq(mode, "silent"))
    return 0;
  if (cn_str_eq(mode, "dirty")) {
    cn_res_status(res, 201);
    cn_res_header(res, "Content-Type", "text/x-half-done");
    return CN_EIO;
  }
  if (cn_str_eq(mode, "after-send")) {
    cn_res_text(res, 200, "sent before failing\n");
    return CN_EIO;
  }
  return t_reply(res, 200, json_pack("{s:s}", "route", "api/fail"));
}

CN_ROUTE(.GET = handle);
