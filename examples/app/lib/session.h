/* Signing in, for the example: a token of the example's issuer
 * (cairn.json) for a name, kept in the HttpOnly session cookie that
 * cairn reads on every request and on the live connection. There is no
 * password here: put your own check (or your identity provider) in front
 * of session_start. */
#ifndef EXAMPLE_SESSION_H
#define EXAMPLE_SESSION_H

#include <cairn.h>

#define SESSION_ISSUER "cairn-example"
#define SESSION_COOKIE "session"

/* Sign a token for user. OUT: *token, in req's arena. */
static inline int session_token(cn_req *req, const char *user,
                                const char **token) {
  json_t *claims = json_pack("{s:s,s:s}", "sub", user, "name", user);
  int rc = claims ? cn_auth_sign(req, SESSION_ISSUER, claims, 0, token)
                  : CN_ENOMEM;
  json_decref(claims);
  return rc;
}

static inline int session_start(cn_req *req, const char *user) {
  const char *token = NULL;
  int rc = session_token(req, user, &token);
  cn_cookie_opts o = {.path = "/", .http_only = 1, .same_site = "Lax",
                      .max_age = 86400, .has_max_age = 1};
  return rc ? rc : cn_res_cookie(cn_req_res(req), SESSION_COOKIE, token, &o);
}

static inline int session_end(cn_req *req) {
  cn_cookie_opts o = {.path = "/"};
  return cn_res_cookie_delete(cn_req_res(req), SESSION_COOKIE, &o);
}

#endif
