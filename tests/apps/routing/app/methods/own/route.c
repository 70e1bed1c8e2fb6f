/* app/methods/own/route.c: declares HEAD and OPTIONS itself, so neither
 * falls back to the server's answer. */
#include "../../../lib/t.h"

static int get(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "x-handler", "get");
  return cn_res_text(res, 200, "GET body\n");
}

static int head(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "x-handler", "head");
  cn_res_header(res, "Content-Type", "text/plain; charset=utf-8");
  return cn_res_send(res, "", 0);
}

static int options(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "x-handler", "options");
  cn_res_header(res, "Allow", "GET, HEAD, OPTIONS, DELETE");
  cn_res_status(res, 200);
  return cn_res_text(res, 200, "custom options\n");
}

static int del(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_status(res, 204);
  return cn_res_send(res, "", 0);
}

CN_ROUTE(.GET = get, .HEAD = head, .OPTIONS = options, .DELETE = del);
