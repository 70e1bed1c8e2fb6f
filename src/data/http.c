/*
 * The data layer over HTTP, in Convex's shape:
 *
 *   POST /_cairn/query | /_cairn/mutation | /_cairn/action
 *   Content-Type: application/json
 *   {"path": "tasks:list", "args": {...}}
 *
 *   200 {"status": "success", "value": V}            (+ "ts": "N" for a
 *                                                      mutation's commit)
 *   4xx/5xx {"status": "error", "code": C, "errorMessage": M}
 *                                     (+ "errors": {field: message})
 *
 * Codes: invalid_args (400, the arguments or the function's own
 * CN_EINVAL), invalid_request (400: no path, a malformed one, a function
 * of another kind), unauthenticated (401), forbidden (403), not_found
 * (404), conflict (409), internal (500: the detail only in the log, and
 * in the answer under --dev), unavailable (503, shutting down),
 * method_not_allowed (405, Allow: POST) and unsupported_media_type (415).
 * Answers are never cached. The body is read whole (raw) and parsed here,
 * so that every refusal has this shape.
 */
#include <stdio.h>

#include "data/data.h"
#include "server/server.h"

static int send_json(cn_res *res, int status, json_t *j) {
  int rc = j ? 0 : CN_ENOMEM;
  if (!rc)
    rc = cn_res_header(res, "Cache-Control", "no-store");
  if (!rc)
    rc = cn_res_json(res, status, j);
  json_decref(j);
  return rc;
}

/* An error answer; errors (stolen, may be NULL) is the field map. */
static int refuse(cn_res *res, int status, const char *code,
                  const char *message, json_t *errors) {
  json_t *j = json_pack("{s:s,s:s,s:s}", "status", "error", "code", code,
                        "errorMessage", message);
  if (!j) /* a function's message that is not UTF-8 */
    j = json_pack("{s:s,s:s,s:s}", "status", "error", "code", code,
                  "errorMessage", "(the message is not valid UTF-8)");
  if (j && errors)
    json_object_set_new(j, "errors", errors);
  else
    json_decref(errors);
  return send_json(res, status, j);
}

int cn__data_status(int rc, const cn__call *c, const char **code) {
  if (c->internal) {
    *code = "internal";
    return 500;
  }
  switch (rc) {
  case CN_EINVAL:
    *code = c->fn ? "invalid_args" : "invalid_request";
    return 400;
  case CN_EUNAUTH:
    *code = "unauthenticated";
    return 401;
  case CN_EFORBIDDEN:
    *code = "forbidden";
    return 403;
  case CN_ENOENT:
    *code = c->wrong_kind ? "invalid_request" : "not_found";
    return c->wrong_kind ? 400 : 404;
  case CN_ECONFLICT:
    *code = "conflict";
    return 409;
  case CN_ECLOSED:
    *code = "unavailable";
    return 503;
  default:
    *code = "internal";
    return 500;
  }
}

/* application/json, with any parameters (charset). */
static int is_json(cn_str ct) {
  size_t n = 0;
  while (n < ct.len && ct.ptr[n] != ';')
    n++;
  cn_str type = cn__str_trim(cn__str(ct.ptr, n));
  return type.ptr && cn_str_ieq(type, "application/json");
}

/* The success answer's text into b. 0, CN_ENOMEM, or CN_TOOBIG for a
 * value nested too deeply to encode. */
static int success(const cn__call *c, cn__buf *b) {
  json_t *j = json_pack("{s:s,s:O}", "status", "success", "value",
                        c->result);
  if (j && c->kind == CN_MUTATION) {
    char ts[24];
    snprintf(ts, sizeof ts, "%llu", (unsigned long long)c->ts);
    json_object_set_new(j, "ts", json_string(ts));
  }
  int rc = j ? cn__json_write(b, j, 0) : CN_ENOMEM;
  json_decref(j);
  return rc;
}

static int answer(cn_ctx *ctx, cn_res *res, cn__call *c, int rc) {
  if (!rc) {
    cn__buf b = {0};
    int wrc = success(c, &b);
    if (!wrc)
      rc = cn__data_outbound(ctx, c, 0, b.ptr, b.len);
    if (!wrc && !rc) {
      wrc = cn_res_header(res, "Cache-Control", "no-store");
      if (!wrc)
        wrc = cn_res_status(res, 200);
      if (!wrc)
        wrc = cn_res_header(res, "Content-Type", "application/json");
      if (!wrc)
        wrc = cn_res_send(res, b.ptr, b.len);
    }
    cn__buf_free(&b);
    if (!rc && !wrc)
      return 0;
    if (!rc) {
      /* The value did not encode (nested too deeply for the encoder). */
      fprintf(stderr, "cairn: %s returned a value that cannot be sent as "
                      "JSON\n", c->fn ? c->fn->path : "?");
      return refuse(res, 500, "internal", "Server Error", NULL);
    }
  }
  const char *code;
  int status = cn__data_status(rc, c, &code);
  cn__data *d = cn__data_global();
  const char *msg = c->message ? c->message : cn_strerror(rc);
  if (status == 500)
    msg = d && d->dev && c->detail ? c->detail : "Server Error";
  json_t *errors = rc == CN_EINVAL && c->errors ? json_incref(c->errors)
                                                : NULL;
  return refuse(res, status, code, msg, errors);
}

static int handle(cn_req *req, cn_res *res, cn_fn_kind kind) {
  if (!cn_str_eq(cn_req_method(req), "POST")) {
    cn_res_header(res, "Allow", "POST");
    return refuse(res, 405, "method_not_allowed",
                  "call data functions with POST", NULL);
  }
  if (!is_json(cn_req_header(req, "content-type")))
    return refuse(res, 415, "unsupported_media_type",
                  "the body must be application/json", NULL);
  cn_str body = cn_req_body(req);
  json_error_t e;
  json_t *j = body.len ? json_loadb(body.ptr, body.len,
                                    JSON_REJECT_DUPLICATES, &e)
                       : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    return refuse(res, 400, "invalid_request",
                  "the body must be a JSON object {\"path\": "
                  "\"module:name\", \"args\": {...}}",
                  NULL);
  }
  json_t *path = json_object_get(j, "path"), *args = json_object_get(j,
                                                                      "args");
  int rc;
  if (!json_is_string(path)) {
    rc = refuse(res, 400, "invalid_request",
                "\"path\" must be a string such as \"tasks:list\"", NULL);
    goto cleanup;
  }
  cn_ctx *ctx = cn_req_ctx(req);
  if (!ctx) {
    rc = CN_ENOMEM;
    goto cleanup;
  }
  cn__call c = {.kind = kind,
                .path = cn__str(json_string_value(path),
                                json_string_length(path)),
                .args = json_is_null(args) ? NULL : args};
  rc = answer(ctx, res, &c, cn__data_run(ctx, &c));
  json_decref(c.result);
  json_decref(c.errors);
cleanup:
  json_decref(j);
  return rc;
}

static int h_query(cn_req *req, cn_res *res) {
  return handle(req, res, CN_QUERY);
}

cn_str cn__data_body_path(cn_str b) {
  static const char key[] = "\"path\"";
  const char *p = b.ptr, *end = b.ptr + b.len;
  while (p && (p = memmem(p, (size_t)(end - p), key, sizeof key - 1))) {
    const char *q = p + sizeof key - 1;
    while (q < end && (*q == ' ' || *q == ':'))
      q++;
    if (q < end && *q == '"') {
      const char *s = ++q;
      while (q < end && *q != '"' && *q != '\\')
        q++;
      if (q < end && *q == '"')
        return cn__str(s, (size_t)(q - s));
    }
    p = q;
  }
  return cn__str(NULL, 0);
}

/* A query of a function whose recent runs were short, on a store that can
 * read at once (SQLite with a reader free), runs on the I/O thread: the
 * hop to a handler thread and back would cost as much as the query. */
static int query_inline(cn_req *req) {
  cn__data *d = cn__data_global();
  cn_str path = cn__data_body_path(cn_req_body(req));
  const cn__fn *fn = d && path.ptr ? cn__fns_find(&d->fns, path) : NULL;
  return fn && fn->def->kind == CN_QUERY &&
         cn__fn_inline_ok(&d->fns, fn, d->inline_query_us) &&
         cn__store_read_ready(cn__data_store(d));
}
static int h_mutation(cn_req *req, cn_res *res) {
  return handle(req, res, CN_MUTATION);
}
static int h_action(cn_req *req, cn_res *res) {
  return handle(req, res, CN_ACTION);
}

int cn__data_mount(cn_app *app) {
  /* The arguments' own cap (1 MiB) plus room for the envelope. */
  static const cn_route_config config = {.body_limit = "1040kb",
                                         .raw_body = 1};
  int rc = cn_app_route(app, "*", "/_cairn/query", h_query, &config);
  if (!rc)
    rc = cn__app_route_inline(app, "*", "/_cairn/query", query_inline);
  if (!rc)
    rc = cn_app_route(app, "*", "/_cairn/mutation", h_mutation, &config);
  if (!rc)
    rc = cn_app_route(app, "*", "/_cairn/action", h_action, &config);
  return rc;
}
