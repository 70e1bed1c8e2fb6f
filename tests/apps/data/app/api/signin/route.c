/* A sign-in of the kind an app writes: POST {"user": "...", "roles": [...]}
 * answers a token of the issuer named by ?iss= (default "cairn-test") and
 * sets it as the session cookie. No password: the test is about what
 * happens to the token afterwards. */
#include <cairn.h>

static int post(cn_req *req, cn_res *res) {
  json_t *body = cn_req_json(req);
  const char *user = json_string_value(json_object_get(body, "user"));
  if (!user || !*user)
    return cn_res_error(res, 400, "user is required");
  cn_str iss = cn_req_query_get(req, "iss");
  const char *issuer = iss.ptr ? cn_req_strndup(req, iss.ptr, iss.len)
                               : "cairn-test";
  json_t *claims = json_pack("{s:s}", "sub", user);
  json_t *roles = json_object_get(body, "roles");
  if (claims && roles)
    json_object_set(claims, "roles", roles);
  const char *token = NULL;
  int rc = claims ? cn_auth_sign(req, issuer, claims, 0, &token) : CN_ENOMEM;
  json_decref(claims);
  if (rc == CN_ENOENT)
    return cn_res_error(res, 404, "no such issuer with a signing key");
  if (rc)
    return cn_res_error(res, 500, cn_strerror(rc));
  cn_cookie_opts o = {.path = "/", .http_only = 1, .same_site = "Lax"};
  if ((rc = cn_res_cookie(res, "session", token, &o)))
    return rc;
  json_t *out = json_pack("{s:s}", "token", token);
  rc = cn_res_json(res, 200, out);
  json_decref(out);
  return rc;
}

CN_ROUTE(.POST = post);
