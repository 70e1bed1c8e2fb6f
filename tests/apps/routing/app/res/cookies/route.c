/* app/res/cookies/route.c: one Set-Cookie per attribute combination, and a
 * deletion. Expires is a fixed instant so the suite can compare it. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  (void)req;
  int rc = cn_res_cookie(res, "plain", "v1", NULL);
  if (!rc)
    rc = cn_res_cookie(res, "full", "abc123",
                       &(cn_cookie_opts){.path = "/app",
                                         .domain = "example.com",
                                         .max_age = 3600,
                                         .has_max_age = 1,
                                         .expires = 1767225600,
                                         .http_only = 1,
                                         .secure = 1,
                                         .same_site = "Strict"});
  if (!rc)
    rc = cn_res_cookie(res, "lax", "x", &(cn_cookie_opts){.same_site = "Lax",
                                                           .path = "/"});
  if (!rc)
    rc = cn_res_cookie(res, "none", "y",
                       &(cn_cookie_opts){.same_site = "None", .secure = 1});
  if (!rc)
    rc = cn_res_cookie(res, "zero", "z",
                       &(cn_cookie_opts){.max_age = 0, .has_max_age = 1});
  if (!rc)
    rc = cn_res_cookie_delete(res, "session", &(cn_cookie_opts){.path = "/"});
  if (rc)
    return rc;
  return cn_res_text(res, 200, "cookies set\n");
}

CN_ROUTE(.GET = handle);
