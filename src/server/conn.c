/*
 * A connection's life on its loop: read, gate and parse heads, collect
 * bodies, hand requests to handlers, keep responses in order, time out,
 * close. Only the loop thread that accepted a connection ever touches it.
 *
 * Bytes are parsed straight out of the loop's shared read buffer; only what
 * is left unparsed when a read callback ends is copied into the
 * connection's own buffer, so an idle connection holds no buffer at all.
 * One request is in progress at a time: while a handler thread has it, the
 * next pipelined request waits, unparsed, in c->in. That is what keeps
 * responses in order without a reorder queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "server.h"
#include "page/page.h"
#include "ws/ws.h"

#define MAX_BUFFERED_WHILE_BUSY (64 * 1024)
#define WRITE_QUEUE_HIGH (256 * 1024)

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_feed(cn__conn *c, const char *base, size_t len);
static void conn_resume(cn__conn *c);

static const cn_limits *limits_of(cn__conn *c) {
  return &c->loop->server->config.limits;
}

/* ------------------------------------------------------ parser hooks */

static cn__message *new_message(void *ud) {
  cn__conn *c = ud;
  cn_req *req = cn__req_new(c);
  if (!req)
    return NULL;
  c->cur = req;
  return &req->msg;
}

/* x-cairn-* headers carry the server's own decisions: a client may never
 * send them (Next.js's CVE-2025-29927 was a forged middleware header). */
static void strip_internal_headers(cn__message *m) {
  size_t k = 0;
  for (size_t i = 0; i < m->nheaders; i++) {
    cn_str n = m->headers[i].name;
    if (n.len >= 8 && !strncasecmp(n.ptr, "x-cairn-", 8))
      continue;
    m->headers[k++] = m->headers[i];
  }
  m->nheaders = k;
}

static int on_head(void *ud, cn__message *m) {
  cn__conn *c = ud;
  cn_req *req = c->cur;
  strip_internal_headers(m);
  req->decision = cn__app_match(c->loop->server->app, m->rl.method,
                                m->rl.path, &req->arena, &req->hit);
  if (req->hit.route && req->hit.route->body_limit)
    m->body_limit = req->hit.route->body_limit;
  return req->decision ? 0 : cn__req_stream_body(req);
}

static void on_continue(void *ud) {
  cn__conn *c = ud;
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
  /* Ahead of any response on this connection, so a try-write suffices;
   * a full socket buffer this early means the client is not reading. */
  if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != (int)b.len)
    c->close_after = 1;
}

static const cn__parser_hooks hooks = {
    .new_message = new_message,
    .on_head = on_head,
    .on_continue = on_continue,
};

/* ------------------------------------------------------------- timers */

/* The route's max_duration passed with its handler still running. The
 * thread cannot be stopped: the request is cut loose (its late response is
 * dropped when it comes) and the client gets a 504, or, when a stream had
 * already begun, a closed connection. */
static void handler_timeout(cn__conn *c) {
  cn_req *req = c->cur;
  if (!req)
    return;
  atomic_store(&req->aborted, 1);
  req->conn = NULL;
  c->cur = NULL;
  fprintf(stderr, "cairn: %.*s %.*s: the handler exceeded its max_duration\n",
          (int)req->msg.rl.method.len, req->msg.rl.method.ptr,
          (int)req->msg.rl.path.len, req->msg.rl.path.ptr);
  if (req->res.head_sent) {
    cn__conn_close(c);
    return;
  }
  /* The answer reuses the request line for the log and the error format;
   * the old request is freed on this thread only, after this returns. */
  cn_req *answer = cn__req_new(c);
  if (!answer) {
    cn__conn_close(c);
    return;
  }
  answer->msg.rl = req->msg.rl;
  answer->msg.info.accept = req->msg.info.accept;
  cn__respond_error(c, answer, 504, "The handler did not respond in time");
}

static void on_timer(uv_timer_t *t) {
  cn__conn *c = t->data;
  switch (c->state) {
  case CN__CONN_HEAD:
  case CN__CONN_BODY:
    cn__respond_error(c, c->cur, 408, "Request timed out");
    break;
  case CN__CONN_IDLE:
    cn__conn_close(c);
    break;
  case CN__CONN_LINGER:
  case CN__CONN_CLOSING:
    cn__conn_close(c);
    break;
  case CN__CONN_HANDLING:
    handler_timeout(c);
    break;
  case CN__CONN_WS:
    cn__ws_timer(c);
    break;
  }
}

static void arm(cn__conn *c, uint64_t deadline_ms) {
  uint64_t now = uv_now(&c->loop->uv);
  uv_timer_start(&c->timer, on_timer, deadline_ms > now ? deadline_ms - now : 0,
                 0);
}

void cn__conn_arm(cn__conn *c, uint64_t deadline_ms) { arm(c, deadline_ms); }

/* ---------------------------------------------------------- dispatch */

/* ---------------------------------------------------------- running */

static int route_phase(cn__conn *c, cn_req *req);

/* The request's run finished (its handler returned, here or on a handler
 * thread): go on to routing after middleware, or answer. Returns 1 when
 * parsing may go on with the next pipelined request. */
static int after_run(cn__conn *c, cn_req *req) {
  cn_res *res = &req->res;
  if (req->phase == CN__PHASE_MW && !res->finished && !res->streaming)
    return route_phase(c, req);
  c->state = req->msg.keep_alive && !c->close_after ? CN__CONN_IDLE
                                                    : CN__CONN_CLOSING;
  cn_ws *ws = NULL;
  if (req->ws && res->status == 101 && !res->streaming && !c->close_after) {
    ws = req->ws; /* the connection takes the socket over */
    req->ws = NULL;
    c->state = CN__CONN_WS;
  }
  if (cn__respond(req)) {
    if (ws)
      cn__ws_abandon(ws);
    return 0;
  }
  if (ws) {
    cn__ws_start(c, ws);
    return 0;
  }
  return c->state == CN__CONN_IDLE && !c->paused && !c->sending_file;
}

static int run(cn__conn *c, cn_req *req, int on_loop) {
  if (!on_loop) {
    c->state = CN__CONN_HANDLING;
    req->where = CN__REQ_POOL;
    uint64_t limit = req->phase == CN__PHASE_ROUTE && req->hit.route &&
                             req->hit.route->config.max_duration_ms
                         ? req->hit.route->config.max_duration_ms
                         : c->loop->server->config.handler_timeout_ms;
    if (limit)
      arm(c, uv_now(&c->loop->uv) + limit);
    cn__pool_submit(&c->loop->server->pool, req);
    return 0;
  }
  req->where = CN__REQ_LOOP;
  cn__req_run_handler(req);
  return after_run(c, req);
}

/* Public files come before dynamic routes, as in Next.js; 1 when one
 * answers this request. */
static int try_static(cn__conn *c, cn_req *req) {
  if (!c->loop->statics || !(cn_str_eq(req->msg.rl.method, "GET") ||
                             req->msg.is_head))
    return 0;
  if (cn__respond_static_lookup(req))
    return 0;
  int st = req->sreply.status;
  if (st == 200 || st == 206 || st == 304 || st == 416)
    return 1;
  /* Not a file (or a path public/ refuses, such as an encoded '/', which
   * a route param may carry): the route answers. */
  if (req->sreply.hold)
    cn__static_release(req->sreply.hold);
  memset(&req->sreply, 0, sizeof req->sreply);
  req->sreply.fd = -1;
  return 0;
}

/* A URL that matched nothing gets the app's not-found page, as in Next.js,
 * unless a public/ file answers it; API paths keep their JSON 404. */
static int not_found_page(cn__conn *c, cn_req *req) {
  const cn_app *app = c->loop->server->app;
  cn_str p = req->hit.match.path.ptr ? req->hit.match.path : req->msg.rl.path;
  if (req->decision != 404 || !app->not_found.handler ||
      !(cn_str_eq(req->msg.rl.method, "GET") || req->msg.is_head))
    return 0;
  if (p.len >= 4 && !memcmp(p.ptr, "/api", 4) && (p.len == 4 || p.ptr[4] == '/'))
    return 0;
  if (try_static(c, req))
    return 0;
  req->decision = 0;
  req->hit.route = &app->not_found;
  return 1;
}

static int route_phase(cn__conn *c, cn_req *req) {
  req->phase = CN__PHASE_ROUTE;
  if (req->rewrite.ptr)
    req->decision = cn__app_match(c->loop->server->app, req->msg.rl.method,
                                  req->rewrite, &req->arena, &req->hit);
  const cn__route *r = req->decision ? NULL : req->hit.route;
  if (r && req->hit.endpoint->dynamic && try_static(c, req))
    r = NULL;
  else if (r && req->hit.endpoint->page && cn__page_cached(req))
    r = NULL; /* a kept page, answered from here */
  else if (!r && not_found_page(c, req))
    r = &c->loop->server->app->not_found;
  if (!r)
    return after_run(c, req); /* routing itself answers */
  return run(c, req,
             r->config.nonblocking ||
                 (r->inline_if &&
                  c->loop->nconns <= CN__INLINE_MAX_CONNS && r->inline_if(req)));
}

/* A complete request. Returns 1 when parsing may go on. */
static int dispatch(cn__conn *c, cn_req *req) {
  uv_timer_stop(&c->timer);
  c->requests++;
  if (c->requests >= limits_of(c)->keepalive_requests ||
      c->loop->stopping)
    req->msg.keep_alive = 0;
  const cn__middleware *mw = c->loop->server->app->mw;
  if (mw && cn__middleware_matches(mw, req->msg.rl.path)) {
    req->phase = CN__PHASE_MW;
    return run(c, req, cn__middleware_nonblocking(mw));
  }
  return route_phase(c, req);
}

/* A head refused before it became a request (414, 431, a bad byte): its
 * answer should still be JSON for an API path, so take the path from the
 * first line as far as it is there. */
static cn_req *sniffed_request(cn__conn *c, const char *p, size_t n) {
  cn_req *req = cn__req_new(c);
  if (!req)
    return NULL;
  const char *end = p + CN__MIN(n, 512);
  const char *sp = memchr(p, ' ', (size_t)(end - p));
  if (sp) {
    const char *t = sp + 1, *e = t;
    while (e < end && *e != ' ' && *e != '?' && *e != '\r')
      e++;
    /* Copied: the read buffer is reused before the request is freed. */
    char *m = cn__arena_memdup(&req->arena, p, (size_t)(sp - p));
    char *path = cn__arena_memdup(&req->arena, t, (size_t)(e - t));
    if (m && path) {
      req->msg.rl.method = cn__str(m, (size_t)(sp - p));
      req->msg.rl.path = cn__str(path, (size_t)(e - t));
    }
  }
  return req;
}

/* Parse from p. OUT: *used. Returns 1 to go on parsing, 0 to stop (need
 * more bytes, a handler has the request, or the connection is closing). */
static int step(cn__conn *c, const char *p, size_t n, size_t *used) {
  const cn_limits *lim = limits_of(c);
  if (c->state == CN__CONN_IDLE) {
    uint64_t now = uv_now(&c->loop->uv);
    c->state = CN__CONN_HEAD;
    c->head_deadline = now + lim->header_timeout_ms;
    c->request_deadline = now + lim->request_timeout_ms;
  }
  int rc = cn__parser_feed(&c->parser, p, n, used);
  if (rc == CN__PARSE_DONE) {
    c->parser.msg = NULL;
    return dispatch(c, c->cur);
  }
  if (rc == CN__PARSE_MORE) {
    if (c->parser.in_body) {
      c->state = CN__CONN_BODY;
      arm(c, c->request_deadline);
    } else {
      arm(c, c->head_deadline);
    }
    return 0;
  }
  cn__message *m = c->parser.msg;
  c->parser.msg = NULL;
  cn_req *req = c->cur;
  if (!m && !(req = sniffed_request(c, p, n))) {
    cn__conn_close(c);
    return 0;
  }
  cn__respond_error(c, req, rc, m ? m->error_message : NULL);
  return 0;
}

static int can_parse(const cn__conn *c) {
  return !c->closing && !c->paused && !c->sending_file &&
         (c->state == CN__CONN_IDLE || c->state == CN__CONN_HEAD ||
          c->state == CN__CONN_BODY);
}

/* Parse what can be parsed of base[0..len), then keep the rest in c->in. */
static void conn_feed(cn__conn *c, const char *base, size_t len) {
  size_t off = 0;
  while (off < len && can_parse(c)) {
    size_t used = 0;
    int more = step(c, base + off, len - off, &used);
    off += used;
    if (!more)
      break;
  }
  if (c->closing)
    return;
  if (c->state == CN__CONN_CLOSING || c->state == CN__CONN_LINGER)
    off = len; /* nothing after a close is ever parsed */
  if (base == c->in.ptr) {
    cn__buf_consume(&c->in, off);
  } else if (off < len && cn__buf_append(&c->in, base + off, len - off)) {
    cn__respond_error(c, NULL, 503, "Server out of memory");
    return;
  }
  if (!c->in.len)
    cn__buf_free(&c->in);
  if (c->in.len > MAX_BUFFERED_WHILE_BUSY && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp); /* resumed by conn_resume */
    c->reading = 0;
  }
}

/* ----------------------------------------------------------- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  cn__conn *c = (cn__conn *)h;
  CN__UNUSED(suggested);
  if (!c->in.len) {
    *buf = uv_buf_init(c->loop->rbuf, sizeof c->loop->rbuf);
    return;
  }
  size_t want = 16 * 1024;
  if (cn__buf_reserve(&c->in, want)) {
    *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init(c->in.ptr + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  cn__conn *c = (cn__conn *)s;
  if (n == 0)
    return;
  if (c->ws) {
    cn__ws_read(c, buf->base, n);
    return;
  }
  if (n < 0) {
    if (c->cur)
      atomic_store(&c->cur->aborted, 1);
    if (c->state == CN__CONN_HANDLING || c->writes || c->sending_file) {
      /* A half-closed client may still read the answer: finish, then go. */
      uv_read_stop(s);
      c->reading = 0;
      c->close_after = 1;
      if (n != UV_EOF)
        c->close_after = 2; /* reset: no point in lingering */
      return;
    }
    cn__conn_close(c);
    return;
  }
  if (c->state == CN__CONN_LINGER)
    return; /* draining after an error answer */
  if (buf->base == c->loop->rbuf) {
    conn_feed(c, buf->base, (size_t)n);
  } else {
    c->in.len += (size_t)n;
    conn_feed(c, c->in.ptr, c->in.len);
  }
  /* Answers written at once complete no write request, so the idle timer
   * starts here. */
  if (!c->closing && c->state == CN__CONN_IDLE && !c->in.len && !c->writes &&
      !c->sending_file)
    arm(c, uv_now(&c->loop->uv) + limits_of(c)->keepalive_timeout_ms);
}

/* Parsing may go on: after a handler returned or the write queue drained. */
static void conn_resume(cn__conn *c) {
  if (c->closing)
    return;
  if (!c->reading && c->state != CN__CONN_CLOSING &&
      c->state != CN__CONN_LINGER && !c->close_after) {
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->reading = 1;
  }
  if (c->in.len && can_parse(c))
    conn_feed(c, c->in.ptr, c->in.len);
  if (c->state == CN__CONN_IDLE && !c->in.len && !c->closing &&
      !c->writes && !c->sending_file) {
    if (c->loop->stopping)
      cn__conn_close(c);
    else
      arm(c, uv_now(&c->loop->uv) + limits_of(c)->keepalive_timeout_ms);
  }
}

void cn__conn_read_start(cn__conn *c) {
  if (!c->closing && !c->reading &&
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = 1;
}

void cn__conn_request_finished(cn__conn *c) {
  if (c->closing || c->state == CN__CONN_WS)
    return; /* a WebSocket's 101 was written: the socket has it now */
  size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
  if (c->paused && queued < WRITE_QUEUE_HIGH / 2)
    c->paused = 0;
  if (c->writes || c->sending_file)
    return;
  if (c->state == CN__CONN_CLOSING || c->close_after) {
    if (c->state == CN__CONN_HANDLING)
      return;
    cn__conn_linger(c, c->close_after == 2 ? 0 : limits_of(c)->linger_ms);
    return;
  }
  conn_resume(c);
}

void cn__conn_check_backpressure(cn__conn *c) {
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
      WRITE_QUEUE_HIGH)
    c->paused = 1;
}

void cn__conn_handler_done(cn_req *req) {
  cn__conn *c = req->conn;
  if (!c) { /* the connection is gone; only the request is left */
    req->done = 1;
    cn__req_settle(req);
    return;
  }
  uv_timer_stop(&c->timer);
  if (after_run(c, req))
    conn_resume(c);
}

/* -------------------------------------------------- accept and close */

static void on_close(uv_handle_t *h) {
  cn__conn *c = h->data;
  if (--c->closing > 0)
    return; /* the timer and the socket each call back once */
  cn__loop *l = c->loop;
  if (c->prev)
    c->prev->next = c->next;
  else
    l->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  l->nconns--;
  atomic_fetch_sub(&l->server->conns, 1);
  cn__buf_free(&c->in);
  cn__free(c);
  if (l->stopping && !l->nconns)
    uv_async_send(&l->wake); /* let the loop finish its shutdown */
}

void cn__conn_close(cn__conn *c) {
  if (c->closing)
    return;
  if (c->cur) {
    cn_req *req = c->cur;
    atomic_store(&req->aborted, 1);
    c->cur = NULL;
    if (req->where == CN__REQ_POOL && !req->done)
      req->conn = NULL; /* the handler thread still has it */
    else if (!req->writes_pending)
      cn__req_free(req);
    else
      req->conn = NULL;
  }
  if (c->ws)
    cn__ws_conn_closed(c);
  c->closing = 2;
  uv_close((uv_handle_t *)&c->timer, on_close);
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *sr, int status) {
  CN__UNUSED(status);
  cn__free(sr);
}

/* Stop sending, drain what the client still sends for a while, then close:
 * closing with unread input makes the kernel send RST, which can destroy
 * the answer before the client reads it. */
void cn__conn_linger(cn__conn *c, uint64_t ms) {
  if (c->closing)
    return;
  if (!ms) {
    cn__conn_close(c);
    return;
  }
  c->state = CN__CONN_LINGER;
  uv_shutdown_t *sr = cn__malloc(sizeof(*sr));
  if (!sr || uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown)) {
    cn__free(sr);
    cn__conn_close(c);
    return;
  }
  cn__buf_free(&c->in);
  if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc,
                                   on_read) == 0)
    c->reading = 1;
  arm(c, uv_now(&c->loop->uv) + ms);
}

/* How long a connection accepted just before a drain may take to send its
 * first request: closing it at once would drop a request already on its
 * way (cairn dev hands the socket to a new process this way). */
#define FIRST_REQUEST_GRACE_MS 1000

void cn__conn_shutdown(cn__conn *c) {
  if (c->closing)
    return;
  if (c->state == CN__CONN_WS) {
    if (c->ws)
      cn__ws_shutdown(c);
    else
      cn__conn_close(c); /* its socket has not started yet */
    return;
  }
  if (c->state == CN__CONN_IDLE && !c->in.len && !c->writes &&
      !c->sending_file) {
    if (c->requests == 0) {
      arm(c, uv_now(&c->loop->uv) + FIRST_REQUEST_GRACE_MS);
      return;
    }
    cn__conn_close(c);
    return;
  }
  c->close_after = c->close_after ? c->close_after : 1;
  if (c->cur)
    c->cur->msg.keep_alive = 0;
}

/* A connection the loop accepted (fd is non-blocking, close-on-exec). */
void cn__conn_accept(cn__loop *l, int fd, const struct sockaddr_storage *peer) {
  cn__conn *c = cn__calloc(1, sizeof(*c));
  if (!c) {
    close(fd);
    return;
  }
  uv_tcp_init(&l->uv, &c->tcp);
  uv_timer_init(&l->uv, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->loop = l;
  c->next = l->conns;
  if (l->conns)
    l->conns->prev = c;
  l->conns = c;
  l->nconns++;
  long open = atomic_fetch_add(&l->server->conns, 1) + 1;
  if (uv_tcp_open(&c->tcp, fd)) {
    close(fd);
    cn__conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->peer = *peer;
  cn__parser_init(&c->parser, &l->server->parser_limits, &hooks, c);
  if ((uint64_t)open > l->server->config.limits.max_connections ||
      l->stopping) {
    cn__respond_error(c, NULL, 503, "Too many connections");
    return;
  }
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
    cn__conn_close(c);
    return;
  }
  c->reading = 1;
  arm(c, uv_now(&l->uv) + l->server->config.limits.keepalive_timeout_ms);
}
