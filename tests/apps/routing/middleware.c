/* middleware.c: the test app's middleware. It runs only for the paths its
 * matcher accepts (every path-to-regexp form, and a negative lookahead that
 * takes everything but /api, /_cairn, /mw-skip, /opt-mw and /plus-mw), and
 * on each it:
 *   - marks the response (x-mw: 1) and says whether it saw any x-cairn-*
 *     request header (x-mw-saw-internal: yes/no; the server must have
 *     stripped them all before it ran);
 *   - /mw/private/...: answers 401 JSON itself unless the request carries
 *     "Authorization: Bearer letmein";
 *   - /mw/redirect, /mw/redirect-permanent: redirects 307 / 308;
 *   - /old/<rest>: rewrites to /mw-target/<rest> (the client's URL stays);
 *   - /mw/rewrite-missing: rewrites to a path no route answers;
 *   - /mw/fail: fails (CN_EIO), which the server answers 500;
 *   - otherwise continues with the request header x-from-mw: hello (which
 *     replaces a client's) and the response header x-mw-response: yes. */
#include <strings.h>

#include "lib/t.h"

static int saw_internal(cn_req *req) {
  cn_str n, v;
  for (size_t i = 0; cn_req_header_at(req, i, &n, &v) == 0; i++)
    if (n.len >= 8 && !strncasecmp(n.ptr, "x-cairn-", 8))
      return 1;
  return 0;
}

static int middleware(cn_req *req, cn_res *res) {
  cn_str path = cn_req_path(req);
  cn_res_header(res, "x-mw", "1");
  cn_res_header(res, "x-mw-saw-internal", saw_internal(req) ? "yes" : "no");
  if (t_has_prefix(path, "/mw/private")) {
    cn_str auth = cn_req_header(req, "authorization");
    if (!auth.ptr || !cn_str_eq(auth, "Bearer letmein"))
      return t_reply(res, 401, json_pack("{s:s,s:i}", "error",
                                         "Authentication required", "status",
                                         401));
  }
  if (cn_str_eq(path, "/mw/redirect"))
    return cn_res_redirect(res, 0, "/mw/landing?from=mw");
  if (cn_str_eq(path, "/mw/redirect-permanent"))
    return cn_res_redirect(res, 308, "/mw/landing");
  if (t_has_prefix(path, "/old/")) {
    char *to = cn_req_printf(req, "/mw-target/%.*s", (int)(path.len - 5),
                             path.ptr + 5);
    return to ? cn_req_rewrite(req, to) : CN_ENOMEM;
  }
  if (cn_str_eq(path, "/mw/rewrite-missing"))
    return cn_req_rewrite(req, "/nowhere/at/all");
  if (cn_str_eq(path, "/mw/fail"))
    return CN_EIO;
  int rc = cn_req_set_header(req, "x-from-mw", "hello");
  if (!rc)
    rc = cn_res_header(res, "x-mw-response", "yes");
  return rc;
}

CN_MIDDLEWARE(.handler = middleware,
              .matcher = {"/mw/:path*", "/old/:path*", "/api/mw/:slug",
                          "/opt-mw/:x?", "/plus-mw/:x+",
                          "/((?!api|_cairn|mw-skip|opt-mw|plus-mw).*)"},
              .nonblocking = 1);
