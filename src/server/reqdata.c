/*
 * What a route handler reads beyond the head: the decoded query, cookies,
 * the body parsed by Content-Type. A multipart body is parsed while it
 * arrives (uploads go to temporary files); everything else is parsed on the
 * handler's own thread just before it runs, so a large JSON body never
 * stalls a loop. A request whose query or body is malformed is answered
 * 400 (413, 415) before its handler runs.
 */
#include <stdio.h>
#include <strings.h>

#include "parsers/parsers.h"
#include "server.h"

#define MAX_QUERY_PAIRS 1000

typedef struct cn__reqdata {
  cn__pairs query;
  int query_done, query_bad;
  cn__pairs cookies;
  int cookies_done;
  cn_body_kind kind;
  json_t *json;
  cn__pairs form;
  cn__mp *mp; /* a streamed multipart body, or NULL */
  const cn_file *files;
  size_t nfiles;
  cn__perr perr;
} cn__reqdata;

static cn__reqdata *data_of(const cn_req *creq) {
  cn_req *req = (cn_req *)creq;
  if (!req->data) {
    req->data = cn__arena_alloc(&req->arena, sizeof(cn__reqdata));
    if (req->data)
      memset(req->data, 0, sizeof(cn__reqdata));
  }
  return req->data;
}

void cn__req_data_free(cn_req *req) {
  cn__reqdata *d = req->data;
  if (!d)
    return;
  json_decref(d->json);
  cn__mp_cleanup(d->mp); /* removes the uploaded files */
  req->data = NULL;
}

/* ------------------------------------------------------------ uploads */

static int multipart_sink(void *ud, const char *at, size_t len,
                          const char **why) {
  cn__reqdata *d = ud;
  int rc = cn__mp_feed(d->mp, at, len);
  *why = cn__mp_error(d->mp);
  return rc == 0 ? 0 : rc == CN_ETOOBIG ? 413 : rc == CN_EPARSE ? 400 : 500;
}

int cn__req_stream_body(cn_req *req) {
  const cn__route *r = req->hit.route;
  cn_str ct = cn__req_header(req, "content-type");
  if (!r || r->config.raw_body || !ct.ptr || ct.len < 19 ||
      strncasecmp(ct.ptr, "multipart/form-data", 19))
    return 0;
  cn__reqdata *d = data_of(req);
  cn__ctype type;
  if (!d || cn__ctype_parse(&req->arena, ct, &type, NULL))
    return 415;
  /* Files are bounded by the route's body limit like everything else. */
  cn__mp_limits lim = {.max_file_bytes = req->msg.body_limit,
                       .max_total_file_bytes = req->msg.body_limit};
  if (cn__mp_new(&req->arena, type.boundary, &lim, &d->mp, &d->perr))
    return 400;
  req->msg.sink = multipart_sink;
  req->msg.sink_ud = d;
  return 0;
}

/* ------------------------------------------------------------ bodies */

static int refuse(cn_req *req, int status, const char *why) {
  cn_res_error(&req->res, status, why);
  return status;
}

static int parse_json(cn_req *req, cn__reqdata *d) {
  cn__buf *b = &req->msg.body;
  if (cn__json_parse(cn__str(b->ptr ? b->ptr : "", b->len), &d->json,
                     &d->perr))
    return refuse(req, 400, d->perr.msg);
  return 0;
}

static int finish_multipart(cn_req *req, cn__reqdata *d) {
  if (cn__mp_finish(d->mp))
    return refuse(req, 400, cn__mp_error(d->mp));
  if (cn__mp_fields(d->mp, &req->arena, &d->form) ||
      cn__mp_files(d->mp, &req->arena, &d->files, &d->nfiles))
    return refuse(req, 503, "Server out of memory");
  return 0;
}

static int parse_body(cn_req *req, cn__reqdata *d) {
  cn_str ct = cn__req_header(req, "content-type");
  if (d->mp) {
    d->kind = CN_BODY_MULTIPART;
    return finish_multipart(req, d);
  }
  if (!req->msg.body.len && !ct.ptr) {
    d->kind = CN_BODY_NONE;
    return 0;
  }
  cn__ctype type = {.type = CN_STR("text/plain")};
  if (ct.ptr && cn__ctype_parse(&req->arena, ct, &type, &d->perr))
    return refuse(req, 415, d->perr.msg);
  d->kind = cn__body_classify(type.type);
  cn__buf *b = &req->msg.body;
  switch (d->kind) {
  case CN_BODY_JSON:
    return parse_json(req, d);
  case CN_BODY_FORM:
    if (cn__form_parse(&req->arena, cn__str(b->ptr ? b->ptr : "", b->len), 0,
                       &d->form, &d->perr))
      return refuse(req, 400, d->perr.msg);
    return 0;
  case CN_BODY_MULTIPART: /* no boundary: the stream never started */
    return refuse(req, 400, "Malformed multipart body");
  default:
    return 0;
  }
}

static int parse_query(const cn_req *req, cn__reqdata *d) {
  if (d->query_done)
    return d->query_bad;
  d->query_done = 1;
  d->query_bad = cn__query_parse(&((cn_req *)req)->arena, req->msg.rl.query,
                                 MAX_QUERY_PAIRS, &d->query, &d->perr);
  return d->query_bad;
}

int cn__req_prepare(cn_req *req) {
  cn__reqdata *d = data_of(req);
  if (!d)
    return refuse(req, 503, "Server out of memory");
  if (req->msg.rl.query.ptr && parse_query(req, d))
    return refuse(req, d->query_bad == CN_ETOOBIG ? 414 : 400, d->perr.msg);
  if (req->hit.route && req->hit.route->config.raw_body) {
    d->kind = req->msg.body.len ? CN_BODY_RAW : CN_BODY_NONE;
    return 0;
  }
  return parse_body(req, d);
}

/* ---------------------------------------------------------- accessors */

cn_str cn_req_query_get(const cn_req *req, const char *key) {
  cn_str p = cn_req_param(req, key); /* params win, as in Next.js */
  if (p.ptr)
    return p;
  cn__req_mark_dynamic(req);
  cn__reqdata *d = data_of(req);
  if (!d || parse_query(req, d))
    return CN_STR_NULL;
  return cn__pairs_get(&d->query, cn__cstr(key));
}

size_t cn_req_query_all(const cn_req *req, const char *key,
                        const cn_str **values) {
  size_t n = cn_req_param_all(req, key, values);
  if (n)
    return n;
  cn__req_mark_dynamic(req);
  cn__reqdata *d = data_of(req);
  *values = NULL;
  if (!d || parse_query(req, d))
    return 0;
  size_t k = 0;
  if (cn__pairs_all(&d->query, &((cn_req *)req)->arena, cn__cstr(key),
                    values, &k))
    return 0;
  return k;
}

static void parse_cookies(const cn_req *req, cn__reqdata *d) {
  if (!d->cookies_done) {
    d->cookies_done = 1;
    cn_str hs[16], n, v;
    size_t k = 0;
    for (size_t i = 0; k < 16 && i < req->msg.nheaders; i++) {
      n = req->msg.headers[i].name;
      v = req->msg.headers[i].value;
      if (cn__str_ieq2(n, CN_STR("cookie")))
        hs[k++] = v;
    }
    if (cn__cookie_parse(&((cn_req *)req)->arena, hs, k, 0, &d->cookies,
                         NULL))
      d->cookies.len = 0; /* too many cookies: none is trusted */
  }
}

cn_str cn_req_cookie(const cn_req *req, const char *name) {
  cn__req_mark_dynamic(req);
  cn__reqdata *d = data_of(req);
  if (!d)
    return CN_STR_NULL;
  parse_cookies(req, d);
  return cn__pairs_get(&d->cookies, cn__cstr(name));
}

int cn__req_form_field_at(const cn_req *req, size_t i, cn_str *name) {
  const cn__reqdata *d = req->data;
  if (!d || i >= d->form.len)
    return CN_ENOENT;
  *name = d->form.items[i].key;
  return 0;
}

int cn__req_preparse(cn_req *req) {
  cn__reqdata *d = data_of(req);
  if (!d)
    return CN_ENOMEM;
  parse_query(req, d);
  parse_cookies(req, d);
  return 0;
}

cn_body_kind cn_req_body_kind(const cn_req *req) {
  cn__req_mark_dynamic(req);
  return req->data ? req->data->kind : CN_BODY_NONE;
}

json_t *cn_req_json(const cn_req *req) {
  cn__req_mark_dynamic(req);
  return req->data ? req->data->json : NULL;
}

cn_str cn_req_form(const cn_req *req, const char *name) {
  cn__req_mark_dynamic(req);
  return req->data ? cn__pairs_get(&req->data->form, cn__cstr(name))
                   : CN_STR_NULL;
}

size_t cn_req_form_all(const cn_req *req, const char *name,
                       const cn_str **values) {
  size_t n = 0;
  cn__req_mark_dynamic(req);
  *values = NULL;
  if (!req->data || cn__pairs_all(&req->data->form, &((cn_req *)req)->arena,
                                  cn__cstr(name), values, &n))
    return 0;
  return n;
}

const cn_file *cn_req_file(const cn_req *req, const char *field) {
  cn__req_mark_dynamic(req);
  const cn__reqdata *d = req->data;
  for (size_t i = 0; d && i < d->nfiles; i++)
    if (cn_str_eq(d->files[i].field, field))
      return &d->files[i];
  return NULL;
}

size_t cn_req_files(const cn_req *req, const cn_file **files) {
  cn__req_mark_dynamic(req);
  *files = req->data ? req->data->files : NULL;
  return req->data ? req->data->nfiles : 0;
}
