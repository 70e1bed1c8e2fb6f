/* The request's identity as a route handler sees it. */
#include <cairn.h>

static int get(cn_req *req, cn_res *res) {
  const cn_identity *who = NULL;
  int rc = cn_req_identity(req, &who);
  if (rc == CN_EUNAUTH)
    return cn_res_error(res, 401, "the token is not valid");
  if (rc)
    return cn_res_error(res, 500, cn_strerror(rc));
  json_t *out = who ? json_pack("{s:s,s:s,s:I,s:O}", "sub", who->subject,
                                "iss", who->issuer, "exp",
                                (json_int_t)who->expires, "claims",
                                who->claims)
                    : json_pack("{s:n}", "sub");
  rc = cn_res_json(res, 200, out);
  json_decref(out);
  return rc;
}

CN_ROUTE(.GET = get);
