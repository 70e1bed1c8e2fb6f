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

#include "server.h"

#define MAX_BUFFERED_WHILE_BUSY (64 * 1024)
#define WRITE_QUEUE_HIGH (256 * 1024)

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_feed(cn__conn *c, const char *base, size_t len);
static void conn_resume(cn__conn *c);

static const cn_limits *limits_of(cn__conn *c) {
  return &c->loop->server->config.limits;
}

/* --------------------------------------------------------- llhttp glue */

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  cn_req *req = ((cn__conn *)p->data)->cur;
  if (req->nheaders && req->headers[req->nheaders - 1].value.ptr == NULL) {
    req->headers[req->nheaders - 1].name.len += len; /* continued span */
    return 0;
  }
  if (req->nheaders == req->cap_headers) {
    size_t cap = req->cap_headers ? req->cap_headers * 2 : 16;
    cn__header *h = cn__arena_alloc(&req->arena, cap * sizeof(*h));
    if (!h)
      return -1;
    if (req->nheaders)
      memcpy(h, req->headers, req->nheaders * sizeof(*h));
    req->headers = h;
    req->cap_headers = cap;
  }
  req->headers[req->nheaders].name = cn__str(at, len);
  req->headers[req->nheaders].value = CN_STR_NULL;
  req->nheaders++;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  cn_req *req = ((cn__conn *)p->data)->cur;
  cn__header *h = &req->headers[req->nheaders - 1];
  if (h->value.ptr)
    h->value.len += len;
  else
    h->value = cn__str(at, len);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  cn_req *req = ((cn__conn *)p->data)->cur;
  cn__header *h = &req->headers[req->nheaders - 1];
  if (!h->value.ptr)
    h->value = cn__str(h->name.ptr + h->name.len, 0);
  h->value = cn__str_trim(h->value);
  cn__head_info_add(&req->info, h->name, h->value);
  return 0;
}

static int fail(cn_req *req, int status, const char *message) {
  req->error_status = status;
  req->error_message = message;
  return -1;
}

static void send_continue(cn__conn *c) {
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
  /* Ahead of any response on this connection, so a try-write suffices;
   * a full socket buffer this early means the client is not reading. */
  if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != (int)b.len)
    c->close_after = 1;
}

static int on_headers_complete(llhttp_t *p) {
  cn__conn *c = p->data;
  cn_req *req = c->cur;
  int status = cn__head_check(&req->info, &req->rl, &req->chunked,
                              &req->content_length, &req->expect_continue);
  if (status)
    return fail(req, status, NULL);
  req->host = req->rl.authority.ptr ? req->rl.authority : req->info.host;
  req->keep_alive = req->rl.minor == 1 ? !req->info.conn_close
                                       : req->info.conn_keep &&
                                             !req->info.conn_close;
  if (req->info.upgrade)
    req->keep_alive = 0; /* never tunnelled: answer, then close */
  req->is_head = cn_str_eq(req->rl.method, "HEAD");
  req->route = cn__app_find(c->loop->server->app, req->rl.method,
                            req->rl.path, &req->path_exists);
  req->body_limit = req->route && req->route->config.body_limit
                        ? req->route->config.body_limit
                        : limits_of(c)->body;
  if (!req->chunked && req->content_length > req->body_limit)
    return fail(req, 413, "Body exceeded the size limit");
  if (req->expect_continue && (req->chunked || req->content_length))
    send_continue(c);
  if (!req->chunked && req->content_length &&
      cn__buf_reserve(&req->body, (size_t)req->content_length))
    return fail(req, 500, "out of memory");
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  cn_req *req = ((cn__conn *)p->data)->cur;
  if (req->body.len + len > req->body_limit)
    return fail(req, 413, "Body exceeded the size limit");
  if (cn__buf_append(&req->body, at, len))
    return fail(req, 500, "out of memory");
  return 0;
}

static int on_chunk_ext(llhttp_t *p, const char *at, size_t len) {
  cn__conn *c = p->data;
  cn_req *req = c->cur;
  req->chunk_ext += len;
  if (req->chunk_ext > limits_of(c)->chunk_ext_bytes)
    return fail(req, 413, "Chunk extensions exceeded the size limit");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  CN__UNUSED(p);
  return HPE_PAUSED; /* one request at a time: see the file comment */
}

static const llhttp_settings_t settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_ext,
    .on_chunk_extension_value = on_chunk_ext,
    .on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------- timers */

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
    break;
  }
}

static void arm(cn__conn *c, uint64_t deadline_ms) {
  uint64_t now = uv_now(&c->loop->uv);
  uv_timer_start(&c->timer, on_timer, deadline_ms > now ? deadline_ms - now : 0,
                 0);
}

/* ---------------------------------------------------------- dispatch */

/* A complete request: answer it inline, or hand it to a handler thread.
 * Returns 1 when parsing may go on with the next pipelined request. */
static int dispatch(cn__conn *c, cn_req *req) {
  uv_timer_stop(&c->timer);
  c->requests++;
  if (c->requests >= limits_of(c)->keepalive_requests ||
      c->loop->stopping)
    req->keep_alive = 0;
  if (req->route && !req->route->config.nonblocking) {
    c->state = CN__CONN_HANDLING;
    req->where = CN__REQ_POOL;
    cn__pool_submit(&c->loop->server->pool, req);
    return 0;
  }
  if (req->route) {
    cn__req_run_handler(req);
    req->done = 1;
  }
  c->state = req->keep_alive ? CN__CONN_IDLE : CN__CONN_CLOSING;
  if (cn__respond(req))
    return 0;
  return c->state == CN__CONN_IDLE && !c->paused && !c->sending_file;
}

/* Scan, copy and parse one head starting at p. OUT: *used. Returns 1 to go
 * on parsing, 0 to stop (need more bytes, handler busy, or closing). */
static int step_head(cn__conn *c, const char *p, size_t n, size_t *used) {
  const cn_limits *lim = limits_of(c);
  cn__scan_limits sl = {lim->request_line, lim->header_bytes,
                        lim->header_count};
  size_t head_len = 0, skip = 0;
  *used = 0;
  if (c->state == CN__CONN_IDLE) {
    uint64_t now = uv_now(&c->loop->uv);
    c->state = CN__CONN_HEAD;
    c->head_deadline = now + lim->header_timeout_ms;
    c->request_deadline = now + lim->request_timeout_ms;
    cn__head_scan_reset(&c->scan);
  }
  int rc = cn__head_scan_feed(&c->scan, p, n, &sl, &head_len, &skip);
  if (rc == CN__SCAN_MORE) {
    arm(c, c->head_deadline);
    return 0;
  }
  if (rc != CN__SCAN_DONE) {
    cn__respond_error(c, NULL, rc, NULL);
    return 0;
  }
  cn_req *req = cn__req_new(c);
  if (!req) {
    cn__respond_error(c, NULL, 503, "Server out of memory");
    return 0;
  }
  c->cur = req;
  *used = head_len;
  char *head = cn__arena_memdup(&req->arena, p + skip, head_len - skip);
  if (!head) {
    cn__respond_error(c, req, 503, "Server out of memory");
    return 0;
  }
  const char *eol = memchr(head, '\r', head_len - skip);
  rc = cn__request_line_parse(cn__str(head, (size_t)(eol - head)), &req->rl);
  if (rc) {
    cn__respond_error(c, req, rc, NULL);
    return 0;
  }
  llhttp_errno_t err = llhttp_execute(&c->parser, head, head_len - skip);
  if (err == HPE_OK) {
    c->state = CN__CONN_BODY;
    return 1;
  }
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    llhttp_resume(&c->parser);
    return dispatch(c, req);
  }
  cn__respond_error(c, req, req->error_status ? req->error_status : 400,
                    req->error_message ? req->error_message
                                       : llhttp_get_error_reason(&c->parser));
  return 0;
}

static int step_body(cn__conn *c, const char *p, size_t n, size_t *used) {
  cn_req *req = c->cur;
  llhttp_errno_t err = llhttp_execute(&c->parser, p, n);
  if (err == HPE_OK) {
    *used = n;
    arm(c, c->request_deadline);
    return 0;
  }
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    *used = (size_t)(llhttp_get_error_pos(&c->parser) - p);
    llhttp_resume(&c->parser);
    return dispatch(c, req);
  }
  *used = n;
  cn__respond_error(c, req, req->error_status ? req->error_status : 400,
                    req->error_message ? req->error_message
                                       : llhttp_get_error_reason(&c->parser));
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
    int more = c->state == CN__CONN_BODY
                   ? step_body(c, base + off, len - off, &used)
                   : step_head(c, base + off, len - off, &used);
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

void cn__conn_request_finished(cn__conn *c) {
  if (c->closing)
    return;
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
  req->done = 1;
  if (!c) { /* the connection is gone; only the request is left */
    cn__req_settle(req);
    return;
  }
  c->state = req->keep_alive && !c->close_after ? CN__CONN_IDLE
                                                : CN__CONN_CLOSING;
  if (cn__respond(req))
    return;
  if (c->state == CN__CONN_IDLE)
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

void cn__conn_shutdown(cn__conn *c) {
  if (c->closing)
    return;
  if (c->state == CN__CONN_IDLE && !c->in.len && !c->writes &&
      !c->sending_file) {
    cn__conn_close(c);
    return;
  }
  c->close_after = c->close_after ? c->close_after : 1;
  if (c->cur)
    c->cur->keep_alive = 0;
}

void cn__conn_on_connection(uv_stream_t *listener, int status) {
  cn__loop *l = listener->data;
  if (status < 0)
    return; /* libuv already shed the connection (EMFILE trick) */
  cn__conn *c = cn__calloc(1, sizeof(*c));
  if (!c)
    return;
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
  if (uv_accept(listener, (uv_stream_t *)&c->tcp)) {
    cn__conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
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
