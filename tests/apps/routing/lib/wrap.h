/*
 * wrap.h: handler wrappers in the style of Next.js's
 * withAuth(withErrorHandler(handler)), composed in plain C. A wrapper takes
 * the request, the response and the next handler; T_WRAP names one
 * composition step so that compositions nest:
 *
 *     T_WRAP(safe_get, with_error_handler, get)
 *     T_WRAP(authed_safe_get, with_auth, safe_get)
 *     CN_ROUTE(.GET = authed_safe_get);
 *
 * Each wrapper leaves a mark in the x-wrapped response header, so the
 * suite sees the order in which they ran.
 */
#ifndef T_WRAP_H
#define T_WRAP_H

#include <cairn.h>

#define T_WRAP(name, wrapper, inner)                                           \
  static int name(cn_req *req, cn_res *res) { return wrapper(req, res, inner); }

/* A failing inner handler becomes the app's own JSON 500 with a message of
 * its choosing, in production too (it is the app's message, not an
 * internal one). */
static inline int with_error_handler(cn_req *req, cn_res *res,
                                     cn_handler *next) {
  cn_res_header_add(res, "x-wrapped", "error-handler");
  int rc = next(req, res);
  if (rc)
    return cn_res_error(res, 500, "Something went wrong (wrapped)");
  return 0;
}

/* A bearer token equal to "letmein", or 401 before the inner handler runs. */
static inline int with_auth(cn_req *req, cn_res *res, cn_handler *next) {
  cn_res_header_add(res, "x-wrapped", "auth");
  cn_str auth = cn_req_header(req, "authorization");
  if (!auth.ptr || !cn_str_eq(auth, "Bearer letmein"))
    return cn_res_error(res, 401, "Authentication required");
  return next(req, res);
}

#endif
