/*
 * Handler wrappers in the spirit of withAuth(withErrorHandler(handler)):
 * a wrapper is a function taking the request, the response and the next
 * handler; CN_WRAP names the composition so a route can use it.
 * Not a route: folders outside app/ and pages/ are never routed.
 */
#ifndef EXAMPLE_WRAP_H
#define EXAMPLE_WRAP_H

#include <cairn.h>
#include <string.h>

typedef int wrapper(cn_req *req, cn_res *res, cn_handler *next);

#define CN_WRAP(name, wrap, inner)                                             \
  static int name(cn_req *req, cn_res *res) { return wrap(req, res, inner); }

/* Any failure of the inner handler becomes a JSON 500 with a message,
 * instead of the server's generic one. */
static inline int with_errors(cn_req *req, cn_res *res, cn_handler *next) {
  int rc = next(req, res);
  if (rc)
    return cn_res_error(res, 500, "Something went wrong");
  return 0;
}

/* The example's idea of authentication: a bearer token equal to "secret".
 * A real app checks a JWT (the data layer's auth). */
static inline int with_auth(cn_req *req, cn_res *res, cn_handler *next) {
  cn_str auth = cn_req_header(req, "authorization");
  if (!auth.ptr || !cn_str_eq(auth, "Bearer secret"))
    return cn_res_error(res, 401, "Authentication required");
  return next(req, res);
}

#endif
