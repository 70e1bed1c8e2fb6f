/*
 * Putting responses on the wire, on the loop thread: the head is built once
 * in the request's arena and goes out with the body in one writev; streamed
 * responses go out chunk by chunk as handler threads post them.
 */
#include <stdio.h>
#include <time.h>

#include "dev/dev.h"
#include "server.h"

void cn__loop_date(cn__loop *l, char out[30]) {
  time_t now = time(NULL);
  if ((uint64_t)now != l->date_sec) {
    cn__http_date((int64_t)now, l->date);
    l->date_sec = (uint64_t)now;
  }
  memcpy(out, l->date, 30);
}

/* ---------------------------------------------------------- the head */

typedef struct head_writer {
  char *p, *start;
} head_writer;

static void put(head_writer *w, const char *s, size_t n) {
  memcpy(w->p, s, n);
  w->p += n;
}

static void put_header(head_writer *w, cn_str name, cn_str value) {
  put(w, name.ptr, name.len);
  put(w, ": ", 2);
  put(w, value.ptr, value.len);
  put(w, "\r\n", 2);
}

/* The head of req's response. framing: 0 Content-Length body_len, 1 chunked,
 * 2 close-delimited, 3 none (1xx/204/304). extra: preformatted header lines
 * (static files). NULL when out of memory. */
static cn_str build_head(cn_req *req, int framing, uint64_t body_len,
                         cn_str extra) {
  cn_res *res = &req->res;
  cn_str sl = cn__status_line(res->status);
  size_t size = sl.len + 64 + 40 + 32 + extra.len + 2;
  for (size_t i = 0; i < res->nheaders; i++)
    size += res->headers[i].name.len + res->headers[i].value.len + 4;
  head_writer w;
  w.start = w.p = cn__arena_alloc(&req->arena, size);
  if (!w.p)
    return CN_STR_NULL;
  put(&w, sl.ptr, sl.len);
  char date[30];
  cn__loop_date(req->loop, date);
  put(&w, "Date: ", 6);
  put(&w, date, 29);
  put(&w, "\r\n", 2);
  for (size_t i = 0; i < res->nheaders; i++)
    put_header(&w, res->headers[i].name, res->headers[i].value);
  if (extra.len)
    put(&w, extra.ptr, extra.len);
  if (framing == 0)
    w.p += sprintf(w.p, "Content-Length: %llu\r\n",
                   (unsigned long long)body_len);
  else if (framing == 1)
    put(&w, "Transfer-Encoding: chunked\r\n", 28);
  if (res->status == 101)
    put(&w, "Connection: Upgrade\r\n", 21);
  else if (!req->msg.keep_alive)
    put(&w, "Connection: close\r\n", 19);
  else if (req->msg.rl.minor == 0)
    put(&w, "Connection: keep-alive\r\n", 24);
  put(&w, "\r\n", 2);
  return cn__str(w.start, (size_t)(w.p - w.start));
}

/* ---------------------------------------------------------- settling */

void cn__req_settle(cn_req *req) {
  if (!req->done || req->writes_pending || req->sreply.fd >= 0)
    return;
  cn__conn *c = req->conn;
  if (c && c->cur == req)
    c->cur = NULL;
  cn__req_free(req);
  if (c && !c->closing)
    cn__conn_request_finished(c);
}

/* One of req's writes completed: count it, and a failed write means the
 * client is gone (no lingering). Returns the connection, NULL if gone. */
static cn__conn *write_done(cn_req *req, int status) {
  cn__conn *c = req->conn;
  req->writes_pending--;
  if (c) {
    c->writes--;
    if (status < 0) {
      atomic_store(&req->aborted, 1);
      c->close_after = 2;
    }
  }
  return c;
}

/* Bytes a handler thread posted have left (written or dropped): wake it if
 * it waits for room. */
static void stream_release(cn_req *req, cn__event *ev) {
  if (ev->kind != CN__EV_CHUNK || req->where != CN__REQ_POOL)
    return;
  pthread_mutex_lock(&req->stream_mu);
  req->stream_pending -= ev->len;
  pthread_cond_signal(&req->stream_cv);
  pthread_mutex_unlock(&req->stream_mu);
}

static void on_write(uv_write_t *w, int status) {
  cn_req *req = w->data;
  cn__conn *c = write_done(req, status);
  if (req->sreply.fd >= 0 && c && !c->closing && status == 0) {
    if (cn__sendfile_start(req) == 0)
      return;
  }
  if (req->sreply.fd >= 0) {
    close(req->sreply.fd);
    req->sreply.fd = -1;
  }
  cn__req_settle(req);
}

static uint64_t req_linger_ms(const cn__conn *c) {
  return c->loop->server->config.limits.linger_ms;
}

static int write_bufs(cn_req *req, uv_write_t *wr, uv_buf_t *bufs,
                      unsigned n, uv_write_cb cb) {
  cn__conn *c = req->conn;
  if (uv_write(wr, (uv_stream_t *)&c->tcp, bufs, n, cb)) {
    atomic_store(&req->aborted, 1);
    return CN_ECLOSED;
  }
  req->writes_pending++;
  c->writes++;
  return 0;
}

/* -------------------------------------------------- whole responses */

static int no_body_status(int s) {
  return (s >= 100 && s < 200) || s == 204 || s == 304;
}

int cn__respond_static_lookup(cn_req *req) {
  cn__loop *l = req->loop;
  cn__static_req sr = {
      .method = req->msg.rl.method,
      .path = req->msg.rl.path,
      .if_none_match = cn__req_header(req, "if-none-match"),
      .if_modified_since = cn__req_header(req, "if-modified-since"),
      .range = cn__req_header(req, "range"),
      .if_range = cn__req_header(req, "if-range"),
      .now_ms = uv_now(&l->uv),
  };
  int rc = cn__static_lookup(l->statics, &sr, &req->arena, &req->sreply);
  if (rc) {
    req->sreply.status = 0;
    req->sreply.fd = -1;
  }
  return rc;
}

/* Answer what routing decided when no handler ran: a public/ file, a
 * redirect, 204/405 with Allow, 400, 404. */
static void settle_routing(cn_req *req) {
  cn__loop *l = req->loop;
  cn_res *res = &req->res;
  cn__static_reply *sr = &req->sreply;
  int d = req->decision;
  if (!sr->status && d == 404 && l->statics) {
    int rc = cn__respond_static_lookup(req);
    if (rc) {
      cn_res_error(res, rc == CN_ENOMEM ? 503 : 500, NULL);
      return;
    }
  }
  if (sr->status >= 400 && sr->status != 416 && sr->status != 405) {
    d = sr->status; /* a refused path: our own error body */
    sr->status = 0;
  }
  if (sr->status) {
    res->status = sr->status;
    res->finished = 1;
    return;
  }
  const char *allow = req->hit.table ? req->hit.table->allow : NULL;
  switch (d) {
  case 308: {
    cn_str p = req->hit.match.path, q = req->msg.rl.query;
    char *loc = cn_req_printf(req, "%.*s%s%.*s", (int)p.len, p.ptr,
                              q.ptr ? "?" : "", q.ptr ? (int)q.len : 0,
                              q.ptr ? q.ptr : "");
    if (!loc || cn_res_redirect(res, 308, loc))
      cn_res_error(res, 500, NULL);
    return;
  }
  case 204:
    cn_res_header(res, "Allow", allow);
    cn_res_status(res, 204);
    cn_res_send(res, "", 0);
    return;
  case 405:
    cn_res_header(res, "Allow", allow);
    cn_res_error(res, 405, "Method Not Allowed");
    return;
  case 400:
    cn_res_error(res, 400, "Malformed percent-encoding in the path");
    return;
  case 404:
    cn_res_error(res, 404, "This page could not be found.");
    return;
  default:
    cn_res_error(res, d >= 400 ? d : 500, NULL);
  }
}

int cn__respond(cn_req *req) {
  cn__conn *c = req->conn;
  cn_res *res = &req->res;
  if (c->cur == req)
    c->cur = NULL;
  req->done = 1;
  if (res->streaming) {
    if (!res->finished)
      cn_res_end(res);
    cn__req_settle(req);
    return 0;
  }
  if (!res->finished && (req->decision || req->sreply.status ||
                         req->phase == CN__PHASE_MW))
    settle_routing(req);
  else if (!res->finished)
    cn_res_error(res, 500, "The handler returned without responding");
  if (!req->sreply.status)
    cn__dev_filter(req); /* cairn dev: the live-reload script in HTML */
  int framing = no_body_status(res->status) ? 3 : 0;
  cn__static_reply *sr = &req->sreply;
  uint64_t len = sr->status ? sr->body_len : res->body.len;
  cn_str head = build_head(req, framing, len, sr->status ? sr->headers
                                                         : CN_STR_NULL);
  if (!head.ptr) {
    cn__conn_close(c);
    return CN_ENOMEM;
  }
  uv_buf_t bufs[2];
  unsigned n = 0;
  bufs[n++] = uv_buf_init((char *)head.ptr, (unsigned)head.len);
  int send_body = !req->msg.is_head && framing == 0 && len;
  if (send_body && sr->status && sr->body)
    bufs[n++] = uv_buf_init((char *)sr->body, (unsigned)len);
  else if (send_body && !sr->status)
    bufs[n++] = uv_buf_init((char *)res->body.ptr, (unsigned)len);
  if (!(send_body && sr->status && sr->fd >= 0) && sr->fd >= 0) {
    close(sr->fd); /* HEAD or 304: the file is not needed */
    sr->fd = -1;
  }
  if (send_body && sr->status && sr->fd >= 0)
    c->sending_file = 1; /* nothing else is written until the file is */
  if (req->hit.route && len > req->hit.route->response_limit)
    cn__warn_response_limit(req, len);
  req->bytes_out = send_body ? len : 0;
  cn__access_log(req, res->status);
  req->wreq.data = req;
  if (sr->fd < 0 && !c->writes) {
    /* Most answers fit the socket buffer: write them now and queue only
     * what is left, sparing libuv's queue its epoll_ctl round trip. */
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
      total += bufs[i].len;
    int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (w == (int)total) {
      cn__req_free(req);
      if (c->state == CN__CONN_CLOSING || c->close_after)
        cn__conn_linger(c, c->close_after == 2
                               ? 0
                               : req_linger_ms(c));
      return 0;
    }
    if (w < 0 && w != UV_EAGAIN) {
      cn__req_free(req);
      cn__conn_close(c);
      return CN_ECLOSED;
    }
    for (unsigned i = 0; w > 0 && i < n; i++) {
      size_t take = CN__MIN((size_t)w, bufs[i].len);
      bufs[i].base += take;
      bufs[i].len -= take;
      w -= (int)take;
    }
  }
  if (write_bufs(req, &req->wreq, bufs, n, on_write)) {
    if (sr->fd >= 0) {
      close(sr->fd);
      sr->fd = -1;
    }
    cn__req_settle(req);
    cn__conn_close(c);
    return CN_ECLOSED;
  }
  cn__conn_check_backpressure(c);
  return 0;
}

int cn__respond_error(cn__conn *c, cn_req *req, int status,
                      const char *message) {
  if (!req) {
    req = cn__req_new(c);
    if (!req) {
      cn__conn_close(c);
      return CN_ENOMEM;
    }
  }
  if (c->cur && c->cur != req)
    cn__req_free(c->cur); /* cannot happen: one request at a time */
  c->cur = NULL;
  c->state = CN__CONN_CLOSING;
  c->close_after = c->close_after ? c->close_after : 1;
  req->msg.keep_alive = 0;
  req->decision = 0;
  req->sreply.status = 0;
  cn_res *res = &req->res;
  res->nheaders = 0;
  res->finished = 0;
  res->streaming = 0;
  res->has_type = 0;
  cn_res_error(res, status, message);
  return cn__respond(req);
}

/* -------------------------------------------------------- streaming */

static void on_stream_write(uv_write_t *w, int status) {
  cn__event *ev = w->data;
  cn_req *req = ev->req;
  write_done(req, status);
  stream_release(req, ev);
  cn__free(ev);
  cn__req_settle(req);
}

/* The head of a streamed response, before its first chunk. */
static int stream_head(cn_req *req) {
  cn_res *res = &req->res;
  if (res->head_sent)
    return 0;
  res->head_sent = 1;
  int framing = req->msg.rl.minor == 1 ? 1 : 2;
  if (framing == 2)
    req->msg.keep_alive = 0;
  if (no_body_status(res->status) || req->msg.is_head)
    framing = 3;
  cn_str head = build_head(req, framing, 0, CN_STR_NULL);
  if (!head.ptr)
    return CN_ENOMEM;
  cn__access_log(req, res->status);
  cn__event *ev = cn__calloc(1, sizeof(*ev));
  if (!ev)
    return CN_ENOMEM;
  ev->kind = CN__EV_END; /* not a chunk: no stream accounting */
  ev->req = req;
  ev->wreq.data = ev;
  uv_buf_t b = uv_buf_init((char *)head.ptr, (unsigned)head.len);
  int rc = write_bufs(req, &ev->wreq, &b, 1, on_stream_write);
  if (rc)
    cn__free(ev);
  return rc;
}

void cn__conn_stream_event(cn__event *ev) {
  cn_req *req = ev->req;
  cn__conn *c = req->conn;
  int chunked = req->msg.rl.minor == 1;
  if (!c || c->closing || stream_head(req)) {
    atomic_store(&req->aborted, 1);
    goto drop;
  }
  if (req->msg.is_head || no_body_status(req->res.status))
    goto drop;
  uv_buf_t bufs[3];
  unsigned n = 0;
  if (ev->kind == CN__EV_CHUNK) {
    int l = snprintf(ev->size_line, sizeof ev->size_line, "%zx\r\n", ev->len);
    if (chunked)
      bufs[n++] = uv_buf_init(ev->size_line, (unsigned)l);
    bufs[n++] = uv_buf_init(ev->data, (unsigned)ev->len);
    if (chunked)
      bufs[n++] = uv_buf_init("\r\n", 2);
    if (req->hit.route && req->bytes_out <= req->hit.route->response_limit &&
        req->bytes_out + ev->len > req->hit.route->response_limit)
      cn__warn_response_limit(req, req->bytes_out + ev->len);
    req->bytes_out += ev->len;
  } else if (chunked) {
    bufs[n++] = uv_buf_init("0\r\n\r\n", 5);
  } else {
    goto drop;
  }
  ev->wreq.data = ev;
  if (write_bufs(req, &ev->wreq, bufs, n, on_stream_write))
    goto drop;
  return;
drop:
  stream_release(req, ev);
  cn__free(ev);
  cn__req_settle(req);
}

/* Next.js's responseLimit: a big answer is usually a mistake (a query with
 * no LIMIT), so say which route made it; config "off" silences it. */
void cn__warn_response_limit(cn_req *req, uint64_t len) {
  const cn__endpoint *e = req->hit.endpoint;
  fprintf(stderr,
          "cairn: warning: %s answered %.*s %.*s with %llu bytes, over its "
          "response limit of %zu; set .config.response_limit to raise it or "
          "\"off\"\n",
          e ? e->pattern : "a route", (int)req->msg.rl.method.len,
          req->msg.rl.method.ptr, (int)req->msg.rl.path.len,
          req->msg.rl.path.ptr, (unsigned long long)len,
          req->hit.route->response_limit);
}

/* ------------------------------------------------------- access log */

void cn__access_log(cn_req *req, int status) {
  cn__server *s = req->loop->server;
  if (!s->config.access_log)
    return;
  double ms = (double)(uv_hrtime() - req->start_ns) / 1e6;
  const char *m = req->msg.rl.method.ptr ? req->msg.rl.method.ptr : "-";
  int ml = req->msg.rl.method.ptr ? (int)req->msg.rl.method.len : 1;
  const char *p = req->msg.rl.path.ptr ? req->msg.rl.path.ptr : "-";
  int pl = req->msg.rl.path.ptr ? (int)CN__MIN(req->msg.rl.path.len, 2048) : 1;
  printf("%.*s %.*s %d %llu %.2fms\n", ml, m, pl, p, status,
         (unsigned long long)req->bytes_out, ms);
}
