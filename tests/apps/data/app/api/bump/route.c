/* fetchMutation and fetchAction from a route handler; their errors as
 * the caller sees them. */
#include <string.h>

#include <cairn.h>

static int post(cn_req *req, cn_res *res) {
  cn_ctx *ctx = cn_req_ctx(req);
  cn_str how = cn_req_query_get(req, "how");
  json_t *out = NULL, *args = NULL;
  int rc;
  if (how.ptr && cn_str_eq(how, "action")) {
    rc = cn_run_action(ctx, "counter:bump_twice", NULL, &out);
  } else if (how.ptr && cn_str_eq(how, "bad")) {
    args = json_pack("{s:s}", "by", "x");
    rc = cn_run_mutation(ctx, "counter:inc", args, &out);
  } else if (how.ptr && cn_str_eq(how, "kind")) {
    rc = cn_run_query(ctx, "counter:inc", NULL, &out);
  } else {
    args = json_pack("{s:i}", "by", 2);
    rc = cn_run_mutation(ctx, "counter:inc", args, &out);
  }
  json_decref(args);
  json_t *body = rc ? json_pack("{s:i,s:s}", "rc", rc, "error",
                                cn_ctx_error(ctx))
                    : json_pack("{s:i,s:o}", "rc", 0, "value", out);
  rc = cn_res_json(res, 200, body);
  json_decref(body);
  return rc;
}

CN_ROUTE(.POST = post);
