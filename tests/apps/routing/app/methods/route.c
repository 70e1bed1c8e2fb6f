/* app/methods/route.c: GET and POST only. HEAD runs GET without the body;
 * OPTIONS is answered 204 with Allow; PUT, PATCH and DELETE get 405 with
 * the same Allow. */
#include "../../lib/t.h"

static int get(cn_req *req, cn_res *res) {
  cn_res_header(res, "x-handler", "get");
  cn_res_header(res, "x-method-seen", cn_req_printf(req, "%.*s",
                (int)cn_req_method(req).len, cn_req_method(req).ptr));
  return cn_res_text(res, 200, "GET body\n");
}

static int post(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "x-handler", "post");
  return cn_res_text(res, 201, "POST body\n");
}

CN_ROUTE(.GET = get, .POST = post);
