/* POST /api/auth/token {"user": "ann"} → {"token": "eyJ…"}: the same token
 * the sign-in page puts in its cookie, for clients that send
 * `Authorization: Bearer` (scripts, apps, the live protocol's
 * authenticate message). No password, as everywhere in this example. */
#include "../../../../lib/session.h"

static int post(cn_req *req, cn_res *res) {
  const char *user = json_string_value(json_object_get(cn_req_json(req),
                                                       "user"));
  size_t n = user ? strlen(user) : 0;
  if (n < 2 || n > 40)
    return cn_res_error(res, 400, "user must be a string of 2 to 40 "
                                  "characters");
  const char *token = NULL;
  int rc = session_token(req, user, &token);
  if (rc)
    return cn_res_error(res, 500, cn_strerror(rc));
  json_t *out = json_pack("{s:s,s:s}", "token", token, "token_type",
                          "Bearer");
  rc = out ? cn_res_json(res, 200, out) : CN_ENOMEM;
  json_decref(out);
  return rc;
}

CN_ROUTE(.POST = post);
