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

#include "form/form.h"
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
  cn__multipart mp;
  int mp_on;
  cn_file *files;
  size_t nfiles;
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
  if (d->mp_on)
    cn__multipart_cleanup(&d->mp);
  req->data = NULL;
}

/* ------------------------------------------------------------ uploads */

static int multipart_sink(void *ud, const char *at, size_t len,
                          const char **why) {
  cn__reqdata *d = ud;
  int rc = cn__multipart_feed(&d->mp, at, len);
  *why = d->mp.why;
  return rc == 0 ? 0 : rc == CN_ETOOBIG ? 413 : rc == CN_EPARSE ? 400 : 500;
}

int cn__req_stream_body(cn_req *req) {
  const cn__route *r = req->hit.route;
  cn_str ct = cn_req_header(req, "content-type");
  if (!r || r->config.raw_body || !ct.ptr || ct.len < 19 ||
      strncasecmp(ct.ptr, "multipart/form-data", 19))
    return 0;
  cn__reqdata *d = data_of(req);
  cn_str type, boundary;
  if (!d || cn__media_type(ct, &req->arena, "boundary", &type, &boundary))
    return 415;
  cn__multipart_limits lim = {.file_bytes = req->msg.body_limit};
  if (cn__multipart_init(&d->mp, boundary, &lim, &req->arena, NULL))
    return 400;
  d->mp_on = 1;
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
  if (!b->len) { /* Next.js: an empty JSON body is {} */
    d->json = json_object();
    return d->json ? 0 : refuse(req, 503, "Server out of memory");
  }
  json_error_t je;
  d->json = json_loadb(b->ptr, b->len, JSON_DECODE_ANY, &je);
  if (d->json)
    return 0;
  char *msg = cn_req_printf(req, "Invalid JSON at line %d, column %d: %s",
                            je.line, je.column, je.text);
  return refuse(req, 400, msg ? msg : "Invalid JSON");
}

static int finish_multipart(cn_req *req, cn__reqdata *d) {
  if (cn__multipart_finish(&d->mp))
    return refuse(req, 400, d->mp.why);
  d->form = d->mp.fields;
  d->nfiles = d->mp.nfiles;
  d->files = cn__arena_alloc(&req->arena, (d->nfiles + 1) * sizeof(cn_file));
  if (!d->files)
    return refuse(req, 503, "Server out of memory");
  for (size_t i = 0; i < d->nfiles; i++) {
    const cn__upload *u = &d->mp.files[i];
    d->files[i] = (cn_file){u->field, u->filename, u->content_type, u->path,
                            u->size};
  }
  return 0;
}

static int parse_body(cn_req *req, cn__reqdata *d) {
  cn_str ct = cn_req_header(req, "content-type");
  if (d->mp_on) {
    d->kind = CN_BODY_MULTIPART;
    return finish_multipart(req, d);
  }
  if (!req->msg.body.len && !ct.ptr) {
    d->kind = CN_BODY_NONE;
    return 0;
  }
  cn_str type = CN_STR("text/plain"), unused;
  if (ct.ptr && cn__media_type(ct, &req->arena, NULL, &type, &unused))
    return refuse(req, 415, "Malformed Content-Type");
  if (cn_str_eq(type, "application/json") ||
      cn_str_eq(type, "application/ld+json")) {
    d->kind = CN_BODY_JSON;
    return parse_json(req, d);
  }
  if (cn_str_eq(type, "application/x-www-form-urlencoded")) {
    d->kind = CN_BODY_FORM;
    const char *why;
    cn__buf *b = &req->msg.body;
    int rc = cn__urlencoded_parse(cn__str(b->ptr ? b->ptr : "", b->len),
                                  &req->arena, MAX_QUERY_PAIRS, &d->form,
                                  &why);
    return rc ? refuse(req, rc == CN_ENOMEM ? 503 : 400, why) : 0;
  }
  if (cn_str_eq(type, "multipart/form-data"))
    return refuse(req, 400, "Malformed multipart body");
  d->kind = cn_str_eq(type, "text/plain") ? CN_BODY_TEXT : CN_BODY_RAW;
  return 0;
}

static int parse_query(const cn_req *req, cn__reqdata *d) {
  if (d->query_done)
    return d->query_bad;
  d->query_done = 1;
  const char *why;
  int rc = cn__urlencoded_parse(req->msg.rl.query, &((cn_req *)req)->arena,
                                MAX_QUERY_PAIRS, &d->query, &why);
  d->query_bad = rc;
  return rc;
}

int cn__req_prepare(cn_req *req) {
  cn__reqdata *d = data_of(req);
  if (!d)
    return refuse(req, 503, "Server out of memory");
  if (req->msg.rl.query.ptr && parse_query(req, d))
    return refuse(req, d->query_bad == CN_ETOOBIG ? 413 : 400,
                  d->query_bad == CN_ETOOBIG
                      ? "Too many query parameters"
                      : "Malformed percent-encoding in the query string");
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
  cn__reqdata *d = data_of(req);
  if (!d || parse_query(req, d))
    return CN_STR_NULL;
  return cn__pairs_find(&d->query, cn__cstr(key));
}

size_t cn_req_query_all(const cn_req *req, const char *key,
                        const cn_str **values) {
  size_t n = cn_req_param_all(req, key, values);
  if (n)
    return n;
  cn__reqdata *d = data_of(req);
  *values = NULL;
  if (!d || parse_query(req, d))
    return 0;
  return cn__pairs_list(&d->query, cn__cstr(key), &((cn_req *)req)->arena,
                       values);
}

cn_str cn_req_cookie(const cn_req *req, const char *name) {
  cn__reqdata *d = data_of(req);
  if (!d)
    return CN_STR_NULL;
  if (!d->cookies_done) {
    d->cookies_done = 1;
    cn_str n, v;
    for (size_t i = 0; cn_req_header_at(req, i, &n, &v) == 0; i++)
      if (cn__str_ieq2(n, CN_STR("cookie")))
        cn__cookies_parse(v, &((cn_req *)req)->arena, &d->cookies);
  }
  return cn__pairs_find(&d->cookies, cn__cstr(name));
}

cn_body_kind cn_req_body_kind(const cn_req *req) {
  return req->data ? req->data->kind : CN_BODY_NONE;
}

json_t *cn_req_json(const cn_req *req) {
  return req->data ? req->data->json : NULL;
}

cn_str cn_req_form(const cn_req *req, const char *name) {
  return req->data ? cn__pairs_find(&req->data->form, cn__cstr(name))
                   : CN_STR_NULL;
}

size_t cn_req_form_all(const cn_req *req, const char *name,
                       const cn_str **values) {
  *values = NULL;
  return req->data ? cn__pairs_list(&req->data->form, cn__cstr(name),
                                   &((cn_req *)req)->arena, values)
                   : 0;
}

const cn_file *cn_req_file(const cn_req *req, const char *field) {
  const cn__reqdata *d = req->data;
  for (size_t i = 0; d && i < d->nfiles; i++)
    if (cn_str_eq(d->files[i].field, field))
      return &d->files[i];
  return NULL;
}

size_t cn_req_files(const cn_req *req, const cn_file **files) {
  *files = req->data ? req->data->files : NULL;
  return req->data ? req->data->nfiles : 0;
}
