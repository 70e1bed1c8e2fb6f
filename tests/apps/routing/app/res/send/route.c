/* app/res/send/route.c: cn_res_send with bytes (a NUL and high bytes
 * included) and a type of the handler's choice; ?as=text for cn_res_text;
 * ?as=json-string for cn_res_send of a JSON text. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  cn_str as = cn_req_query_get(req, "as");
  if (cn_str_eq(as, "text"))
    return cn_res_text(res, 202, "plain text\n");
  if (cn_str_eq(as, "json-string")) {
    cn_res_header(res, "Content-Type", "application/json");
    return cn_res_send(res, "{\"sent\":true}", 13);
  }
  if (cn_str_eq(as, "empty")) {
    cn_res_status(res, 200);
    return cn_res_send(res, "", 0);
  }
  static const char bytes[] = {'b', 'i', 'n', 0, '\x01', '\xff', '\xfe',
                               '\r', '\n', 'e', 'n', 'd'};
  cn_res_header(res, "Content-Type", "application/octet-stream");
  return cn_res_send(res, bytes, sizeof bytes);
}

CN_ROUTE(.GET = handle);
