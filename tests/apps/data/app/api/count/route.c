/* fetchQuery from a route handler: the counter, in-process. */
#include <cairn.h>

static int get(cn_req *req, cn_res *res) {
  cn_ctx *ctx = cn_req_ctx(req);
  json_t *n = NULL;
  int rc = cn_run_query(ctx, "counter:get", NULL, &n);
  if (rc)
    return cn_res_error(res, 500, cn_ctx_error(ctx));
  json_t *body = json_pack("{s:o,s:s?}", "count", n, "who",
                           cn_ctx_subject(ctx));
  rc = cn_res_json(res, 200, body);
  json_decref(body);
  return rc;
}

CN_ROUTE(.GET = get);
