/* pages/api/small.c: the same report under a body limit of "1kb". */
#include "../../lib/body.h"

static int handle(cn_req *req, cn_res *res) {
  return t_reply(res, 200, json_pack("{s:s,s:o}", "route", "pages/api/small",
                                     "body", t_body_json(req)));
}

CN_ROUTE(.handler = handle, .config = {.body_limit = "1kb"});
