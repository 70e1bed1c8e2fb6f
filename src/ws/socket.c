/*
 * A WebSocket's life on its loop, once the 101 answer is out: bytes in go
 * to the protocol layer, its output goes out with uv_write, timers ping a
 * quiet peer and close an idle one, and messages other threads send wait
 * on a list until the socket has room for them.
 *
 * Flow control. Messages move from the list into wslay only while less
 * than WRITE_HIGH bytes are in flight to the peer, so a slow reader's
 * backlog is the list alone; past limits.ws_backlog the list is dropped and
 * the socket closed with 1008, a close frame that waits behind at most
 * WRITE_HIGH bytes.
 */
#include <malloc.h>
#include <stdio.h>

#include "ws/ws.h"

#define WRITE_HIGH (64 * 1024)
#define CLOSE_WAIT_MS 2000 /* for the peer's close frame after ours */
#define LIT(s) s, sizeof(s) - 1
/* A socket quiet this long gives its protocol context back (cn__wsp_sleep):
 * long enough that a busy socket keeps it, short enough that thousands of
 * idle ones cost little. */
#define SLEEP_AFTER_MS 1000

static const cn_limits *limits(const cn_ws *ws) {
  return &ws->loop->server->config.limits;
}

static uint64_t now_ms(const cn_ws *ws) { return uv_now(&ws->loop->uv); }

void cn_ws_ref(cn_ws *ws) { atomic_fetch_add(&ws->refs, 1); }

void cn_ws_unref(cn_ws *ws) {
  if (!ws || atomic_fetch_sub(&ws->refs, 1) != 1)
    return;
  for (cn__ws_msg *m = ws->head, *n; m; m = n) {
    n = m->next;
    cn__free(m);
  }
  cn__wsp_free(&ws->p);
  pthread_mutex_destroy(&ws->mu);
  cn__free(ws);
}

void cn__ws_abandon(cn_ws *ws) { cn_ws_unref(ws); }

/* ------------------------------------------------------------ posting */

/* Wake the loop for ws (any thread). Caller holds ws->mu. */
static void post_locked(cn_ws *ws) {
  if (ws->posted)
    return;
  ws->posted = 1;
  cn_ws_ref(ws); /* the event's */
  ws->ev.kind = CN__EV_WS;
  ws->ev.data = (char *)ws;
  cn__loop_post(ws->loop, &ws->ev);
}

static int enqueue(cn_ws *ws, const char *data, size_t len, int binary,
                   int close, int code) {
  cn__ws_msg *m = cn__malloc(sizeof *m + len);
  if (!m)
    return CN_ENOMEM;
  m->next = NULL;
  m->binary = binary;
  m->close = close;
  m->code = code;
  m->len = len;
  if (len)
    memcpy(m->data, data, len);
  int rc = 0;
  pthread_mutex_lock(&ws->mu);
  if (ws->gone) {
    rc = CN_ECLOSED;
  } else if (!close && ws->pending + len > limits(ws)->ws_backlog) {
    ws->overflow = 1; /* the loop drops the list and closes with 1008 */
    post_locked(ws);
    rc = CN_ETOOBIG;
  } else {
    if (ws->tail)
      ws->tail->next = m;
    else
      ws->head = m;
    ws->tail = m;
    ws->pending += len;
    m = NULL;
    post_locked(ws);
  }
  pthread_mutex_unlock(&ws->mu);
  cn__free(m);
  return rc;
}

int cn_ws_send(cn_ws *ws, const char *data, size_t len, int binary) {
  if (!ws || (len && !data))
    return CN_EINVAL;
  return enqueue(ws, data, len, binary, 0, 0);
}

int cn_ws_close(cn_ws *ws, int code, const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  if (!ws || !(code == 1000 || (code >= 3000 && code <= 4999)) || n > 123 ||
      !cn__utf8_valid(reason ? reason : "", n))
    return CN_EINVAL;
  return enqueue(ws, reason, n, 0, 1, code);
}

size_t cn__ws_backlog(cn_ws *ws) {
  pthread_mutex_lock(&ws->mu);
  size_t n = ws->pending;
  pthread_mutex_unlock(&ws->mu);
  return n;
}

int cn__ws_close_code(cn_ws *ws, int code, const char *reason) {
  size_t n = reason ? strlen(reason) : 0;
  if (!ws || code < 1000 || code > 4999 || n > 123)
    return CN_EINVAL;
  return enqueue(ws, reason, n, 0, 1, code);
}

/* ------------------------------------------------------------- output */

typedef struct ws_write {
  uv_write_t w;
  cn_ws *ws;
  cn__buf buf;
} ws_write;

static void pump(cn_ws *ws);
static void touch(cn_ws *ws);

static void on_written(uv_write_t *w, int status) {
  ws_write *wr = (ws_write *)w;
  cn_ws *ws = wr->ws;
  ws->inflight -= wr->buf.len;
  cn__buf_free(&wr->buf);
  cn__free(wr);
  if (ws->conn) {
    if (status < 0)
      cn__conn_close(ws->conn);
    else
      pump(ws);
  }
  cn_ws_unref(ws);
}

static int write_out(cn_ws *ws) {
  ws_write *wr = cn__malloc(sizeof *wr);
  if (!wr)
    return CN_ENOMEM;
  wr->ws = ws;
  wr->buf = ws->p.out;
  memset(&ws->p.out, 0, sizeof ws->p.out);
  uv_buf_t b = uv_buf_init(wr->buf.ptr, (unsigned)wr->buf.len);
  if (uv_write(&wr->w, (uv_stream_t *)&ws->conn->tcp, &b, 1, on_written)) {
    cn__buf_free(&wr->buf);
    cn__free(wr);
    return CN_ECLOSED;
  }
  cn_ws_ref(ws);
  ws->inflight += wr->buf.len;
  touch(ws);
  return 0;
}

/* The next thing on the list, if it is a close or there is room. */
static cn__ws_msg *take(cn_ws *ws) {
  pthread_mutex_lock(&ws->mu);
  cn__ws_msg *m = ws->head;
  if (m && (m->close || ws->inflight + ws->p.out.len < WRITE_HIGH)) {
    ws->head = m->next;
    if (!ws->head)
      ws->tail = NULL;
    ws->pending -= m->len;
  } else {
    m = NULL;
  }
  pthread_mutex_unlock(&ws->mu);
  return m;
}

static void begin_close(cn_ws *ws, int code, const char *reason, size_t len) {
  if (cn__wsp_queue_close(&ws->p, code, reason, len) == 0 &&
      !ws->close_deadline) {
    ws->close_deadline = now_ms(ws) + CLOSE_WAIT_MS;
    cn__conn_arm(ws->conn, ws->close_deadline);
  }
}

/* Move what may go now into wslay and out to the peer; close the TCP
 * connection once the close handshake is over. Loop thread. */
static void pump(cn_ws *ws) {
  cn__conn *c = ws->conn;
  if (!c || c->closing || !ws->opened || c->state == CN__CONN_LINGER)
    return;
  if (ws->p.failed || (cn__wsp_close_sent(&ws->p) && !cn__wsp_reading(&ws->p))) {
    /* The connection failed (a protocol error, bad UTF-8): its close frame
     * goes out, then TCP closes without waiting for the peer's. */
    if (!ws->p.failed && cn__wsp_flush(&ws->p) == 0 && ws->p.out.len)
      write_out(ws);
    else if (ws->p.failed && ws->p.out.len)
      write_out(ws);
    /* The peer may still be sending (the rest of a message too big):
     * closing with unread input would reset the connection and lose the
     * close frame, so drain it for a while, as after an HTTP error. */
    if (!ws->inflight)
      cn__conn_linger(c, limits(ws)->linger_ms);
    return;
  }
  for (cn__ws_msg *m; (m = take(ws));) {
    int rc = m->close ? (begin_close(ws, m->code, m->data, m->len), 0)
                      : cn__wsp_queue(&ws->p, m->data, m->len, m->binary);
    cn__free(m);
    if (rc == CN_ENOMEM || cn__wsp_flush(&ws->p)) {
      cn__conn_close(c);
      return;
    }
  }
  if (cn__wsp_flush(&ws->p)) {
    cn__conn_close(c);
    return;
  }
  if (ws->p.out.len && write_out(ws)) {
    cn__conn_close(c);
    return;
  }
  if (ws->p.failed) {
    cn__conn_close(c);
  } else if (cn__wsp_close_received(&ws->p) && cn__wsp_close_sent(&ws->p)) {
    if (!ws->inflight)
      cn__conn_close(c); /* both frames crossed: the server closes TCP */
  } else if (cn__wsp_close_received(&ws->p) || cn__wsp_close_sent(&ws->p)) {
    if (!ws->close_deadline) {
      ws->close_deadline = now_ms(ws) + CLOSE_WAIT_MS;
      cn__conn_arm(c, ws->close_deadline);
    }
  }
}

/* ------------------------------------------------------------- events */

static void on_message(void *ud, const char *data, size_t len, int binary) {
  cn_ws *ws = ud;
  ws->last_msg = now_ms(ws);
  if (ws->h->on_message && !ws->closed)
    ws->h->on_message(ws, data, len, binary);
}

static void on_activity(void *ud) {
  cn_ws *ws = ud;
  ws->last_rx = now_ms(ws);
  ws->ping_sent = 0;
}

static const cn__wsp_hooks hooks = {on_message, on_activity};

/* The next time the timer has something to look at. */
static void schedule(cn_ws *ws) {
  const cn_limits *l = limits(ws);
  if (ws->close_deadline) { /* closing: only the peer's answer matters */
    cn__conn_arm(ws->conn, ws->close_deadline);
    return;
  }
  uint64_t next = ws->ping_sent ? ws->ping_sent + l->ws_ping_ms
                                : ws->last_rx + l->ws_ping_ms;
  if (l->ws_idle_ms && ws->last_msg + l->ws_idle_ms < next)
    next = ws->last_msg + l->ws_idle_ms;
  uint64_t now = now_ms(ws), sleep_at = ws->last_io + SLEEP_AFTER_MS;
  if (sleep_at <= now) /* it could not sleep (mid-message): look again later */
    sleep_at = now + SLEEP_AFTER_MS;
  if (ws->p.ctx && sleep_at < next)
    next = sleep_at;
  /* Never a deadline already passed: libuv would run this timer again and
   * again without its clock moving. */
  if (next <= now)
    next = now + 1;
  ws->armed = next;
  cn__conn_arm(ws->conn, next);
}

/* Bytes moved: the protocol context is awake; make sure the timer comes
 * back to put it to sleep (only an earlier deadline needs re-arming). */
static void touch(cn_ws *ws) {
  ws->last_io = now_ms(ws);
  if (ws->armed > ws->last_io + SLEEP_AFTER_MS && ws->conn &&
      ws->conn->state == CN__CONN_WS)
    schedule(ws);
}

static void start(cn_ws *ws) {
  cn__conn *c = ws->conn;
  if (!c || c->closing)
    return;
  if (cn__wsp_init(&ws->p, limits(ws)->ws_message, &hooks, ws)) {
    cn__conn_close(c);
    return;
  }
  ws->opened = 1;
  ws->last_rx = ws->last_msg = ws->last_io = now_ms(ws);
  if (ws->h->on_open)
    ws->h->on_open(ws);
  if (!ws->conn)
    return;
  /* Frames the client sent right behind its handshake. */
  if (c->in.len) {
    cn__buf in = c->in;
    memset(&c->in, 0, sizeof c->in);
    cn__wsp_feed(&ws->p, in.ptr, in.len); /* a failure: pump closes */
    cn__buf_free(&in);
  }
  cn__conn_read_start(c);
  schedule(ws);
  pump(ws);
}

void cn__ws_start(cn__conn *c, cn_ws *ws) {
  c->ws = ws;
  ws->conn = c;
  pthread_mutex_lock(&ws->mu);
  ws->starting = 1;
  post_locked(ws); /* not from inside the parser that is still running */
  pthread_mutex_unlock(&ws->mu);
}

void cn__ws_event(cn__event *ev) {
  cn_ws *ws = (cn_ws *)ev->data;
  pthread_mutex_lock(&ws->mu);
  ws->posted = 0;
  int starting = ws->starting, overflow = ws->overflow;
  ws->starting = 0;
  ws->overflow = 0;
  cn__ws_msg *dropped = NULL;
  if (overflow) {
    dropped = ws->head;
    ws->head = ws->tail = NULL;
    ws->pending = 0;
  }
  pthread_mutex_unlock(&ws->mu);
  while (dropped) {
    cn__ws_msg *n = dropped->next;
    cn__free(dropped);
    dropped = n;
  }
  if (starting)
    start(ws);
  if (overflow && ws->conn && ws->opened)
    begin_close(ws, 1008, LIT("the client reads too slowly"));
  pump(ws);
  cn_ws_unref(ws);
}

void cn__ws_read(cn__conn *c, const char *data, ssize_t n) {
  cn_ws *ws = c->ws;
  if (n < 0) {
    cn__conn_close(c);
    return;
  }
  if (c->state == CN__CONN_LINGER)
    return; /* after a failure: input is drained, not read */
  touch(ws);
  if (!ws->opened) { /* before the start event: keep the bytes for it */
    int rc = 0;
    if (data == c->in.ptr + c->in.len)
      c->in.len += (size_t)n; /* on_alloc lent c->in's own room */
    else
      rc = cn__buf_append(&c->in, data, (size_t)n);
    if (rc || c->in.len > limits(ws)->ws_message + 64 * 1024)
      cn__conn_close(c);
    return;
  }
  cn__wsp_feed(&ws->p, data, (size_t)n); /* a failure: pump closes */
  pump(ws);
}

/* Contexts given back go to malloc's free lists, which keep them resident;
 * after many (a wave of sockets going quiet together), hand the memory
 * back to the system, at most once a second. */
static atomic_uint slept_since_trim;
static _Atomic uint64_t last_trim;

static void slept(uint64_t now) {
  if (atomic_fetch_add(&slept_since_trim, 1) + 1 < 256)
    return;
  uint64_t last = atomic_load(&last_trim);
  if (now < last + 1000 || !atomic_compare_exchange_strong(&last_trim, &last, now))
    return;
  atomic_store(&slept_since_trim, 0);
  malloc_trim(0);
}

void cn__ws_timer(cn__conn *c) {
  cn_ws *ws = c->ws;
  const cn_limits *l = limits(ws);
  uint64_t now = now_ms(ws);
  if (!ws->opened)
    return;
  if (ws->close_deadline && now >= ws->close_deadline) {
    cn__conn_close(c); /* the peer never answered our close */
    return;
  }
  if (ws->ping_sent && now >= ws->ping_sent + l->ws_ping_ms) {
    cn__conn_close(c); /* no pong, nor anything else */
    return;
  }
  if (l->ws_idle_ms && now >= ws->last_msg + l->ws_idle_ms &&
      !ws->close_deadline)
    begin_close(ws, 1001, LIT("idle"));
  else if (!ws->ping_sent && now >= ws->last_rx + l->ws_ping_ms &&
           cn__wsp_queue_ping(&ws->p) == 0)
    ws->ping_sent = now;
  pump(ws);
  if (ws->conn && now >= ws->last_io + SLEEP_AFTER_MS && !ws->inflight &&
      cn__wsp_sleep(&ws->p))
    slept(now);
  if (ws->conn && c->state == CN__CONN_WS)
    schedule(ws);
}

void cn__ws_shutdown(cn__conn *c) {
  cn_ws *ws = c->ws;
  if (!ws->opened) {
    cn__conn_close(c);
    return;
  }
  begin_close(ws, 1001, LIT("the server is shutting down"));
  pump(ws);
}

void cn__ws_conn_closed(cn__conn *c) {
  cn_ws *ws = c->ws;
  c->ws = NULL;
  ws->conn = NULL;
  pthread_mutex_lock(&ws->mu);
  ws->gone = 1;
  pthread_mutex_unlock(&ws->mu);
  if (ws->opened && !ws->closed) {
    ws->closed = 1;
    int code = cn__wsp_peer_code(&ws->p);
    if (ws->h->on_close)
      ws->h->on_close(ws, code ? code : 1006);
  }
  cn_ws_unref(ws); /* the connection's */
}
