/* fetchQuery from a page's loader: rendered per request (data changes). */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_ctx *ctx = cn_req_ctx(req);
  json_t *n = NULL, *tasks = NULL;
  int rc = cn_run_query(ctx, "counter:get", NULL, &n);
  if (!rc)
    rc = cn_run_query(ctx, "tasks:list", NULL, &tasks);
  if (rc) {
    json_decref(n);
    return cn_fail(req, "%s", cn_ctx_error(ctx));
  }
  *props = json_pack("{s:o,s:o}", "count", n, "tasks", tasks);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
