/*
 * The cn_req / cn_res API that handlers use, and the request's own life
 * (allocation from the loop's free list, release in one place).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "auth/auth.h"
#include "ws/ws.h"
#include "static/static_int.h"

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
  req->peer = c->peer;
  return req;
}

void cn__req_free(cn_req *req) {
  cn__loop *l = req->loop;
  if (req->memo_free)
    req->memo_free(req->memo);
  cn__auth_req_done(req);
  if (req->ws) /* an upgrade that never happened */
    cn__ws_abandon(req->ws);
  if (req->sreply.hold)
    cn__static_release(req->sreply.hold);
  if (req->sreply.fd >= 0)
    close(req->sreply.fd);
  if (req->stream_init) {
    pthread_mutex_destroy(&req->stream_mu);
    pthread_cond_destroy(&req->stream_cv);
  }
  cn__req_data_free(req);
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

int cn__req_collect_tag(cn_req *req, const char *tag) {
  pthread_mutex_t *mu = req->arena.lock;
  int rc = 0;
  if (mu)
    pthread_mutex_lock(mu);
  size_t i = 0;
  while (i < req->ntags && strcmp(req->tags[i], tag))
    i++;
  if (i == req->ntags) {
    if (req->ntags == req->captags) {
      size_t cap = req->captags ? req->captags * 2 : 8;
      /* The arena's own lock is held: allocate under it. */
      const char **t = cn__arena_alloc_held(&req->arena, cap * sizeof(char *));
      if (t && req->ntags)
        memcpy(t, req->tags, req->ntags * sizeof(char *));
      if (t)
        req->tags = t, req->captags = cap;
      else
        rc = CN_ENOMEM;
    }
    if (!rc) {
      size_t n = strlen(tag);
      char *copy = cn__arena_alloc_held(&req->arena, n + 1);
      if (copy) {
        memcpy(copy, tag, n + 1);
        req->tags[req->ntags++] = copy;
      }
      else
        rc = CN_ENOMEM;
    }
  }
  if (mu)
    pthread_mutex_unlock(mu);
  return rc;
}

cn_req *cn__req_detached(cn_app *app, const char *path) {
  cn_req *req = cn__calloc(1, sizeof(*req));
  if (!req)
    return NULL;
  cn__arena_init(&req->arena, req->inline_mem, sizeof req->inline_mem);
  req->msg.arena = &req->arena;
  req->res.status = 200;
  req->res.req = req;
  req->sreply.fd = -1;
  req->msg.rl.method = CN_STR("GET");
  req->msg.rl.path = cn__cstr(cn__arena_memdup(&req->arena, path,
                                               strlen(path)));
  req->phase = CN__PHASE_ROUTE;
  if (!req->msg.rl.path.ptr) {
    cn__free(req);
    return NULL;
  }
  req->decision = cn__app_match(app, req->msg.rl.method, req->msg.rl.path,
                                &req->arena, &req->hit);
  return req;
}

void cn__req_free_detached(cn_req *req) {
  if (!req)
    return;
  if (req->memo_free)
    req->memo_free(req->memo);
  cn__auth_req_done(req);
  cn__req_data_free(req);
  cn__buf_free(&req->msg.body);
  cn__arena_reset(&req->arena);
  cn__free(req);
}

void cn__req_run_handler(cn_req *req) {
  cn_res *res = &req->res;
  cn__server *s = req->loop->server;
  int mw = req->phase == CN__PHASE_MW;
  cn_handler *fn = mw ? cn__middleware_handler(s->app->mw)
                      : req->hit.route->handler;
  if (!mw && cn__req_prepare(req))
    return; /* the body or query was refused: res holds the 400/415 */
  int rc = fn(req, res);
  if (res->finished || res->streaming) {
    if (res->streaming && !res->finished)
      cn_res_end(res);
    return;
  }
  if (mw && !rc)
    return; /* go on to routing */
  char msg[160];
  if (rc && s->config.dev)
    snprintf(msg, sizeof msg, "The %s failed: %s",
             mw ? "middleware" : "handler", cn_strerror(rc));
  cn_res_error(res, 500,
               rc ? (s->config.dev ? msg : "Internal Server Error")
                  : "The handler returned without responding");
}

/* ----------------------------------------------------------- request */

cn_str cn_req_method(const cn_req *req) { return req->msg.rl.method; }
cn_str cn_req_path(const cn_req *req) { return req->msg.rl.path; }
cn_str cn_req_query(const cn_req *req) {
  cn__req_mark_dynamic(req);
  return req->msg.rl.query;
}
cn_str cn_req_host(const cn_req *req) { return req->msg.host; }
cn_res *cn_req_res(cn_req *req) { return &req->res; }
int cn_req_aborted(const cn_req *req) {
  return atomic_load(&((cn_req *)req)->aborted);
}

cn_str cn_req_body(const cn_req *req) {
  cn__req_mark_dynamic(req);
  const cn__buf *b = &req->msg.body;
  return b->ptr ? cn__str(b->ptr, b->len) : CN_STR("");
}

cn_str cn_req_header(const cn_req *req, const char *name) {
  cn__req_mark_dynamic(req);
  return cn__req_header(req, name);
}

cn_str cn__req_header(const cn_req *req, const char *name) {
  cn_str n = cn__cstr(name);
  for (size_t i = 0; i < req->msg.nheaders; i++)
    if (cn__str_ieq2(req->msg.headers[i].name, n))
      return req->msg.headers[i].value;
  return CN_STR_NULL;
}

int cn_req_header_at(const cn_req *req, size_t i, cn_str *name,
                     cn_str *value) {
  cn__req_mark_dynamic(req);
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
  /* 1xx answers are the server's: 100 Continue is automatic and 101 is
   * what cn_ws_accept sets */
  if (status < 200 || status > 999)
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

int cn_res_json(cn_res *res, int status, const json_t *json) {
  cn__buf b = {0};
  int jrc = cn__json_write(&b, json, 0);
  if (jrc) {
    cn__buf_free(&b);
    return jrc;
  }
  int rc = send_typed(res, status, "application/json", b.ptr ? b.ptr : "",
                      b.len);
  cn__buf_free(&b);
  return rc;
}

int cn_res_error(cn_res *res, int status, const char *message) {
  cn_req *req = res->req;
  int json = cn__wants_json(req->msg.rl.path, cn__req_header(req, "accept"));
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

/* ------------------------------------------------------------- params */

static const cn__route_param *find_param(const cn_req *req, const char *n) {
  const cn__route_match *m = &req->hit.match;
  for (size_t i = 0; i < m->nparams; i++)
    if (cn_str_eq(m->params[i].name, n))
      return &m->params[i];
  return NULL;
}

cn_str cn_req_param(const cn_req *req, const char *name) {
  const cn__route_param *p = find_param(req, name);
  return p && p->nvalues ? p->values[0] : CN_STR_NULL;
}

size_t cn_req_param_all(const cn_req *req, const char *name,
                        const cn_str **values) {
  const cn__route_param *p = find_param(req, name);
  *values = p ? p->values : NULL;
  return p ? p->nvalues : 0;
}

int cn_req_set_header(cn_req *req, const char *name, const char *value) {
  cn_str n = cn__cstr(name), v = cn__cstr(value);
  if (!name || !value || !cn__header_name_valid(n.ptr, n.len) ||
      !cn__header_value_valid(v.ptr, v.len))
    return CN_EHEADER;
  cn__message *m = &req->msg;
  char *nc = cn__arena_memdup(&req->arena, n.ptr, n.len);
  char *vc = cn__arena_memdup(&req->arena, v.ptr, v.len);
  if (!nc || !vc)
    return CN_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < m->nheaders; i++)
    if (!cn__str_ieq2(m->headers[i].name, n))
      m->headers[k++] = m->headers[i];
  m->nheaders = k;
  if (m->nheaders == m->cap_headers) {
    size_t cap = m->cap_headers ? m->cap_headers * 2 : 8;
    cn__header *h = cn__arena_alloc(&req->arena, cap * sizeof(*h));
    if (!h)
      return CN_ENOMEM;
    if (m->nheaders)
      memcpy(h, m->headers, m->nheaders * sizeof(*h));
    m->headers = h;
    m->cap_headers = cap;
  }
  m->headers[m->nheaders].name = cn__str(nc, n.len);
  m->headers[m->nheaders].value = cn__str(vc, v.len);
  m->nheaders++;
  return 0;
}

cn_str cn_req_ip(const cn_req *creq) {
  cn_req *req = (cn_req *)creq;
  cn__req_mark_dynamic(req);
  if (req->loop && req->loop->server->config.trust_proxy) {
    cn_str xff = cn__req_header(req, "x-forwarded-for");
    if (xff.ptr && xff.len) {
      const char *comma = memchr(xff.ptr, ',', xff.len);
      cn_str first = cn__str_trim(
          cn__str(xff.ptr, comma ? (size_t)(comma - xff.ptr) : xff.len));
      if (first.len)
        return first;
    }
  }
  if (!req->ip[0]) {
    const struct sockaddr_storage *sa = &req->peer;
    if (sa->ss_family == AF_INET)
      uv_ip4_name((const struct sockaddr_in *)sa, req->ip, sizeof req->ip);
    else if (sa->ss_family == AF_INET6)
      uv_ip6_name((const struct sockaddr_in6 *)sa, req->ip, sizeof req->ip);
  }
  return cn__cstr(req->ip);
}

int cn_req_rewrite(cn_req *req, const char *path) {
  if (req->phase != CN__PHASE_MW)
    return CN_ESTATE;
  if (!path || path[0] != '/' || !cn__header_value_valid(path, strlen(path)))
    return CN_EINVAL;
  char *p = cn__arena_memdup(&req->arena, path, strlen(path));
  if (!p)
    return CN_ENOMEM;
  /* Routing sees the path without its query, as for a request line. */
  char *q = strchr(p, '?');
  req->rewrite = cn__str(p, q ? (size_t)(q - p) : strlen(p));
  return 0;
}

/* ------------------------------------------------------ more responses */

int cn_res_redirect(cn_res *res, int status, const char *location) {
  if (!status)
    status = 307;
  if (status < 300 || status > 399 || !location)
    return CN_EINVAL;
  int rc = cn_res_header(res, "Location", location);
  if (rc)
    return rc;
  return cn_res_text(res, status, location);
}

/* RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon or
 * backslash. */
static int cookie_value_ok(const char *v) {
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' ||
        c == '\\')
      return 0;
  }
  return 1;
}

static int attr_ok(const char *v) {
  return !v || (cn__header_value_valid(v, strlen(v)) && !strchr(v, ';'));
}

int cn_res_cookie(cn_res *res, const char *name, const char *value,
                  const cn_cookie_opts *o) {
  if (!name || !value || !cn__header_name_valid(name, strlen(name)) ||
      !cookie_value_ok(value))
    return CN_EHEADER;
  cn_cookie_opts none = {0};
  if (!o)
    o = &none;
  if (!attr_ok(o->path) || !attr_ok(o->domain) || !attr_ok(o->same_site))
    return CN_EHEADER;
  cn__buf b = {0};
  int rc = cn__buf_appendf(&b, "%s=%s", name, value);
  if (!rc && o->path)
    rc = cn__buf_appendf(&b, "; Path=%s", o->path);
  if (!rc && o->domain)
    rc = cn__buf_appendf(&b, "; Domain=%s", o->domain);
  if (!rc && o->has_max_age)
    rc = cn__buf_appendf(&b, "; Max-Age=%lld", (long long)o->max_age);
  if (!rc && o->expires) {
    char d[30];
    cn__http_date(o->expires, d);
    rc = cn__buf_appendf(&b, "; Expires=%s", d);
  }
  if (!rc && o->http_only)
    rc = cn__buf_appendf(&b, "; HttpOnly");
  if (!rc && o->secure)
    rc = cn__buf_appendf(&b, "; Secure");
  if (!rc && o->same_site)
    rc = cn__buf_appendf(&b, "; SameSite=%s", o->same_site);
  if (!rc)
    rc = cn_res_header_add(res, "Set-Cookie", b.ptr);
  cn__buf_free(&b);
  return rc;
}

int cn_res_cookie_delete(cn_res *res, const char *name,
                         const cn_cookie_opts *opts) {
  cn_cookie_opts o = opts ? *opts : (cn_cookie_opts){0};
  o.expires = 1; /* Thu, 01 Jan 1970 00:00:01 GMT */
  o.has_max_age = 1;
  o.max_age = 0;
  return cn_res_cookie(res, name, "", &o);
}

int cn_res_send_file(cn_res *res, const char *path) {
  if (res->finished || res->streaming)
    return CN_ESTATE;
  cn_req *req = res->req;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return CN_ENOENT;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return CN_ENOENT;
  }
  if (!res->has_type)
    cn_res_header(res, "Content-Type",
                  cn__static_content_type(path, strlen(path)));
  req->sreply.fd = fd;
  req->sreply.offset = 0;
  req->sreply.body_len = (uint64_t)st.st_size;
  req->sreply.status = res->status;
  req->sreply.headers = CN_STR_NULL;
  res->finished = 1;
  return 0;
}
