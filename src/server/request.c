/*
 * The cn_req / cn_res API that handlers use, and the request's own life
 * (allocation from the loop's free list, release in one place).
 */
#include <stdio.h>

#include "server.h"

#define MAX_FREE_REQS 64

/* The loop this thread runs, NULL on handler threads: a streamed write from
 * the loop thread goes straight out, from elsewhere it is posted. */
_Thread_local cn__loop *cn__current_loop;

cn_req *cn__req_new(cn__conn *c) {
  cn__loop *l = c->loop;
  cn_req *req = l->free_reqs;
  if (req) {
    l->free_reqs = req->next_free;
    l->nfree_reqs--;
  } else {
    req = cn__malloc(sizeof(*req));
    if (!req)
      return NULL;
  }
  /* Clear the bookkeeping, not the 4 KiB inline arena. */
  memset(req, 0, offsetof(cn_req, inline_mem));
  cn__arena_init(&req->arena, req->inline_mem, sizeof req->inline_mem);
  req->msg.arena = &req->arena;
  req->conn = c;
  req->loop = l;
  req->res.status = 200;
  req->res.req = req;
  req->sreply.fd = -1;
  req->start_ns = uv_hrtime();
  return req;
}

void cn__req_free(cn_req *req) {
  cn__loop *l = req->loop;
  if (req->sreply.hold)
    cn__static_release(req->sreply.hold);
  if (req->sreply.fd >= 0)
    close(req->sreply.fd);
  if (req->stream_init) {
    pthread_mutex_destroy(&req->stream_mu);
    pthread_cond_destroy(&req->stream_cv);
  }
  cn__buf_free(&req->msg.body);
  cn__arena_reset(&req->arena);
  if (l->nfree_reqs < MAX_FREE_REQS && !l->stopping) {
    req->next_free = l->free_reqs;
    l->free_reqs = req;
    l->nfree_reqs++;
  } else {
    cn__free(req);
  }
}

void cn__req_run_handler(cn_req *req) {
  cn_res *res = &req->res;
  int rc = req->route->handler(req, res);
  if (res->finished || res->streaming) {
    if (res->streaming && !res->finished)
      cn_res_end(res);
    return;
  }
  cn__server *s = req->loop->server;
  char msg[160];
  if (rc && s->config.dev)
    snprintf(msg, sizeof msg, "The handler failed: %s", cn_strerror(rc));
  cn_res_error(res, 500,
               rc ? (s->config.dev ? msg : "Internal Server Error")
                  : "The handler returned without responding");
}

/* ----------------------------------------------------------- request */

cn_str cn_req_method(const cn_req *req) { return req->msg.rl.method; }
cn_str cn_req_path(const cn_req *req) { return req->msg.rl.path; }
cn_str cn_req_query(const cn_req *req) { return req->msg.rl.query; }
cn_str cn_req_host(const cn_req *req) { return req->msg.host; }
cn_res *cn_req_res(cn_req *req) { return &req->res; }
int cn_req_aborted(const cn_req *req) {
  return atomic_load(&((cn_req *)req)->aborted);
}

cn_str cn_req_body(const cn_req *req) {
  const cn__buf *b = &req->msg.body;
  return b->ptr ? cn__str(b->ptr, b->len) : CN_STR("");
}

cn_str cn_req_header(const cn_req *req, const char *name) {
  cn_str n = cn__cstr(name);
  for (size_t i = 0; i < req->msg.nheaders; i++)
    if (cn__str_ieq2(req->msg.headers[i].name, n))
      return req->msg.headers[i].value;
  return CN_STR_NULL;
}

int cn_req_header_at(const cn_req *req, size_t i, cn_str *name,
                     cn_str *value) {
  if (i >= req->msg.nheaders)
    return CN_ENOENT;
  *name = req->msg.headers[i].name;
  *value = req->msg.headers[i].value;
  return 0;
}

void *cn_req_alloc(cn_req *req, size_t size) {
  return cn__arena_alloc(&req->arena, size);
}

char *cn_req_strndup(cn_req *req, const char *s, size_t len) {
  return cn__arena_memdup(&req->arena, s, len);
}

char *cn_req_printf(cn_req *req, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = cn__arena_vprintf(&req->arena, fmt, ap);
  va_end(ap);
  return p;
}

/* ---------------------------------------------------------- response */

int cn_res_status(cn_res *res, int status) {
  if (res->finished || res->streaming)
    return CN_ESTATE;
  if (status < 100 || status > 999)
    return CN_EINVAL;
  res->status = status;
  return 0;
}

static int reserved_header(cn_str n) {
  return cn__str_ieq2(n, CN_STR("content-length")) ||
         cn__str_ieq2(n, CN_STR("transfer-encoding")) ||
         cn__str_ieq2(n, CN_STR("connection")) ||
         cn__str_ieq2(n, CN_STR("date"));
}

static int header_edit(cn_res *res, const char *name, const char *value,
                       int replace) {
  if (res->finished || res->streaming)
    return CN_ESTATE;
  cn_str n = cn__cstr(name);
  if (!name || !cn__header_name_valid(n.ptr, n.len) || reserved_header(n))
    return CN_EHEADER;
  cn_str v = cn__cstr(value);
  if (value && !cn__header_value_valid(v.ptr, v.len))
    return CN_EHEADER;
  if (replace) {
    size_t k = 0;
    for (size_t i = 0; i < res->nheaders; i++)
      if (!cn__str_ieq2(res->headers[i].name, n))
        res->headers[k++] = res->headers[i];
    res->nheaders = k;
  }
  if (!value)
    return 0;
  cn__arena *a = &res->req->arena;
  if (res->nheaders == res->cap_headers) {
    size_t cap = res->cap_headers ? res->cap_headers * 2 : 8;
    cn__resp_header *h = cn__arena_alloc(a, cap * sizeof(*h));
    if (!h)
      return CN_ENOMEM;
    if (res->nheaders)
      memcpy(h, res->headers, res->nheaders * sizeof(*h));
    res->headers = h;
    res->cap_headers = cap;
  }
  char *nc = cn__arena_memdup(a, n.ptr, n.len);
  char *vc = cn__arena_memdup(a, v.ptr, v.len);
  if (!nc || !vc)
    return CN_ENOMEM;
  res->headers[res->nheaders].name = cn__str(nc, n.len);
  res->headers[res->nheaders].value = cn__str(vc, v.len);
  res->nheaders++;
  if (cn__str_ieq2(n, CN_STR("content-type")))
    res->has_type = 1;
  return 0;
}

int cn_res_header(cn_res *res, const char *name, const char *value) {
  if (!value)
    return CN_EINVAL;
  return header_edit(res, name, value, 1);
}

int cn_res_header_add(cn_res *res, const char *name, const char *value) {
  if (!value)
    return CN_EINVAL;
  return header_edit(res, name, value, 0);
}

int cn_res_header_remove(cn_res *res, const char *name) {
  int rc = header_edit(res, name, NULL, 1);
  if (rc == 0 && !strcasecmp(name, "content-type"))
    res->has_type = 0;
  return rc;
}

int cn_res_send(cn_res *res, const void *body, size_t len) {
  if (res->finished || res->streaming)
    return CN_ESTATE;
  cn__arena *a = &res->req->arena;
  if (len && !cn__arena_owns(a, body)) {
    void *copy = cn__arena_alloc(a, len);
    if (!copy)
      return CN_ENOMEM;
    memcpy(copy, body, len);
    body = copy;
  }
  res->body = cn__str(body, len);
  res->finished = 1;
  return 0;
}

static int send_typed(cn_res *res, int status, const char *type,
                      const void *body, size_t len) {
  int rc = cn_res_status(res, status);
  if (!rc && !res->has_type)
    rc = cn_res_header(res, "Content-Type", type);
  return rc ? rc : cn_res_send(res, body, len);
}

int cn_res_text(cn_res *res, int status, const char *text) {
  return send_typed(res, status, "text/plain; charset=utf-8", text,
                    strlen(text));
}

static int dump_cb(const char *buf, size_t size, void *data) {
  return cn__buf_append(data, buf, size) ? -1 : 0;
}

int cn_res_json(cn_res *res, int status, const json_t *json) {
  cn__buf b = {0};
  if (json_dump_callback(json, dump_cb, &b, JSON_COMPACT | JSON_ENCODE_ANY)) {
    cn__buf_free(&b);
    return CN_ENOMEM;
  }
  int rc = send_typed(res, status, "application/json", b.ptr ? b.ptr : "",
                      b.len);
  cn__buf_free(&b);
  return rc;
}

int cn_res_error(cn_res *res, int status, const char *message) {
  cn_req *req = res->req;
  int json = cn__wants_json(req->msg.rl.path, cn_req_header(req, "accept"));
  size_t len = 0;
  char *body = cn__error_body(&req->arena, json, status, message, &len);
  if (!body)
    return CN_ENOMEM;
  res->has_type = 0;
  header_edit(res, "Content-Type", NULL, 1);
  return send_typed(res, status,
                    json ? "application/json" : "text/html; charset=utf-8",
                    body, len);
}

/* ---------------------------------------------------------- streaming */

static int post_stream(cn_res *res, cn__event_kind kind, const void *data,
                       size_t len) {
  cn_req *req = res->req;
  cn__event *ev = cn__malloc(sizeof(*ev) + len);
  if (!ev)
    return CN_ENOMEM;
  memset(ev, 0, sizeof(*ev));
  ev->kind = kind;
  ev->req = req;
  ev->len = len;
  ev->data = (char *)(ev + 1);
  if (len)
    memcpy(ev->data, data, len);
  if (cn__current_loop == req->loop) {
    cn__conn_stream_event(ev);
    return 0;
  }
  if (kind == CN__EV_CHUNK) {
    /* Backpressure: a slow client blocks this handler thread, not memory. */
    pthread_mutex_lock(&req->stream_mu);
    while (req->stream_pending > (1u << 20) && !atomic_load(&req->aborted))
      pthread_cond_wait(&req->stream_cv, &req->stream_mu);
    req->stream_pending += len;
    pthread_mutex_unlock(&req->stream_mu);
  }
  cn__loop_post(req->loop, ev);
  return 0;
}

int cn_res_write(cn_res *res, const void *data, size_t len) {
  cn_req *req = res->req;
  if (res->finished)
    return CN_ESTATE;
  if (atomic_load(&req->aborted))
    return CN_ECLOSED;
  if (!req->stream_init) {
    pthread_mutex_init(&req->stream_mu, NULL);
    pthread_cond_init(&req->stream_cv, NULL);
    req->stream_init = 1;
  }
  res->streaming = 1;
  if (!len)
    return 0;
  return post_stream(res, CN__EV_CHUNK, data, len);
}

int cn_res_end(cn_res *res) {
  if (res->finished)
    return CN_ESTATE;
  if (!res->streaming) {
    int rc = cn_res_write(res, NULL, 0);
    if (rc)
      return rc;
  }
  res->finished = 1;
  return post_stream(res, CN__EV_END, NULL, 0);
}
