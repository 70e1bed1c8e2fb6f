/* app/res/file/route.c: cn_res_send_file of assets/<name> (the server runs
 * in the app's directory); a file that cannot be opened is reported. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  cn_str name = cn_req_query_get(req, "name");
  if (!name.ptr || memchr(name.ptr, '/', name.len))
    return cn_res_error(res, 400, "name= is one file name");
  char *path = cn_req_printf(req, "assets/%.*s", (int)name.len, name.ptr);
  if (cn_str_eq(cn_req_query_get(req, "type"), "own"))
    cn_res_header(res, "Content-Type", "application/x-own");
  cn_res_header(res, "x-sent-file", path);
  int rc = cn_res_send_file(res, path);
  if (rc)
    return t_reply(res, 404, json_pack("{s:i,s:s}", "send_file_rc", rc,
                                       "name", cn_err_name(rc)));
  return 0;
}

CN_ROUTE(.GET = handle);
