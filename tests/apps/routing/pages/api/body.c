/* pages/api/body.c: reports the body as parsed by Content-Type, for every
 * method, under the default body limit (1 MiB). */
#include "../../lib/body.h"

static int handle(cn_req *req, cn_res *res) {
  return t_reply(res, 200, json_pack("{s:s,s:o,s:o}", "route",
                                     "pages/api/body", "body",
                                     t_body_json(req), "echo", t_echo(req)));
}

CN_ROUTE(.handler = handle);
