/*
 * WebSocket connections (RFC 6455), on the HTTP port.
 *
 * Three layers, so that each can be tested alone:
 *   handshake.c  cn_ws_accept: checks the upgrade request and sets the 101
 *                answer; the connection switches once that answer is out.
 *   proto.c      cn__wsp: the protocol over byte buffers, no sockets:
 *                wslay's event API fed from a slice and writing into a
 *                buffer. The fuzz harness drives this layer directly.
 *   socket.c     the connection's life on its loop: reads into cn__wsp,
 *                writes its output, ping and idle timers, the backlog
 *                limit, and sends from other threads.
 *
 * Threads. A socket lives on the I/O loop of the connection that was
 * upgraded; wslay's context is touched on that thread only. Other threads
 * call cn_ws_send/cn_ws_close, which put the message on a locked list and
 * post one event to the loop (at most one outstanding per socket).
 *
 * Ownership. struct cn_ws is reference counted: the connection holds one
 * reference until it closes (after on_close), a posted event holds one, and
 * cn_ws_ref/unref let other threads keep it. Freed at zero.
 */
#ifndef CN_WS_H
#define CN_WS_H

#include <pthread.h>
#include <stdatomic.h>
#include <wslay/wslay.h>

#include "server/server.h"

/* ------------------------------------------------------------ protocol */

typedef struct cn__wsp cn__wsp;

/* What the protocol layer reports to its owner, synchronously from
 * cn__wsp_feed. */
typedef struct cn__wsp_hooks {
  void (*message)(void *ud, const char *data, size_t len, int binary);
  void (*activity)(void *ud); /* any frame arrived (a pong included) */
} cn__wsp_hooks;

/* wslay's context costs about 9 KiB (two 4 KiB frame buffers), which is
 * most of an idle socket. It is made when bytes arrive or a message is
 * queued and given back by cn__wsp_sleep once the stream rests between
 * messages; a light frame-header tracker here knows where frames end, so
 * that nothing is lost when it goes. */
struct cn__wsp {
  wslay_event_context_ptr ctx; /* NULL while asleep */
  size_t max_message;
  const char *in; /* the slice cn__wsp_feed is consuming */
  size_t in_len;
  cn__buf out;    /* bytes to write to the peer */
  const cn__wsp_hooks *hooks;
  void *ud;
  int failed;     /* wslay reported a fatal error: drop the connection */
  /* where the client's byte stream is: header bytes seen of the current
   * frame, how many it has, payload bytes still to come, and whether a
   * fragmented message is open */
  unsigned char hdr[14];
  unsigned hdr_have, hdr_need;
  uint64_t payload_left;
  int in_message;
};

/* A server-side protocol state (asleep until used). max_message: longer
 * messages close with 1009. Always 0. */
int cn__wsp_init(cn__wsp *p, size_t max_message, const cn__wsp_hooks *hooks,
                 void *ud);
void cn__wsp_free(cn__wsp *p);
/* Consume data (all of it), deliver complete messages through the hooks,
 * answer pings and closes into p->out. 0, or CN_EIO once the peer broke
 * the protocol badly enough that the connection must simply be dropped
 * (wslay's fatal errors); ordinary protocol errors queue a close frame
 * instead. */
int cn__wsp_feed(cn__wsp *p, const char *data, size_t len);
/* Queue a message or a close frame; then cn__wsp_flush moves what wslay
 * has queued into p->out. */
int cn__wsp_queue(cn__wsp *p, const char *data, size_t len, int binary);
int cn__wsp_queue_close(cn__wsp *p, int code, const char *reason,
                        size_t len);
int cn__wsp_queue_ping(cn__wsp *p);
int cn__wsp_flush(cn__wsp *p);
/* Give wslay's context back when the stream rests: no partial frame or
 * message in, nothing queued or unwritten out, no close under way. 1 when
 * it went to sleep. */
int cn__wsp_sleep(cn__wsp *p);
/* Bytes queued in wslay, not yet in p->out. */
size_t cn__wsp_queued(const cn__wsp *p);
/* The close handshake: 1 when a close frame was sent and one received (or
 * none will be: a fatal error). */
int cn__wsp_close_sent(const cn__wsp *p);
int cn__wsp_close_received(const cn__wsp *p);
/* 0 once the peer's input is no longer read: its close arrived, or the
 * connection failed (protocol error, bad UTF-8). */
int cn__wsp_reading(const cn__wsp *p);
/* The peer's close code (1005 when its frame had none), 0 before. */
int cn__wsp_peer_code(const cn__wsp *p);

/* 1 when s is well-formed UTF-8 (no overlongs, no surrogates, nothing past
 * U+10FFFF), as RFC 6455 requires of text. */
int cn__utf8_valid(const char *s, size_t len);

/* ------------------------------------------------------------ handshake */

/* The Sec-WebSocket-Accept value for key (28 bytes of base64 and a NUL). */
void cn__ws_accept_key(cn_str key, char out[29]);
/* 1 when value, a comma-separated header list, holds token (any case). */
int cn__ws_has_token(cn_str value, const char *token);

/* -------------------------------------------------------------- sockets */

typedef struct cn__ws_msg {
  struct cn__ws_msg *next;
  int binary, close, code;
  size_t len;
  char data[];
} cn__ws_msg;

struct cn_ws {
  atomic_int refs;
  const cn_ws_handler *h;
  void *user;
  cn__conn *conn;         /* loop thread only; NULL once closed */
  cn__loop *loop;
  cn__wsp p;
  int opened, closed;     /* on_open / on_close were called */
  uint64_t last_rx, last_msg, ping_sent; /* loop time, ms */
  uint64_t last_io; /* bytes in or out: the protocol sleeps after a rest */
  uint64_t armed;   /* the deadline the connection's timer is set for */
  size_t inflight;        /* bytes in uv_write requests */
  uint64_t close_deadline; /* after our close frame: wait this long */
  /* From other threads: messages to queue, the event that wakes the loop. */
  pthread_mutex_t mu;
  cn__ws_msg *head, *tail;
  size_t pending;         /* bytes on that list */
  int posted;             /* ev is on the loop's stack */
  int gone;               /* the connection closed: sends fail */
  int starting;           /* the event starts the socket */
  int overflow;           /* the backlog overflowed: close with 1008 */
  cn__event ev;
};

/* The 101 answer is queued (loop thread): the connection now belongs to
 * ws, which starts from a posted event, so that the parser that produced
 * the request has finished with c->in (the bytes the client sent right
 * behind its handshake, fed to the socket first). */
void cn__ws_start(cn__conn *c, cn_ws *ws);
/* Connection events, loop thread (conn.c dispatches on c->ws). */
void cn__ws_read(cn__conn *c, const char *data, ssize_t n);
void cn__ws_timer(cn__conn *c);
void cn__ws_shutdown(cn__conn *c); /* the server stops: close 1001 */
void cn__ws_conn_closed(cn__conn *c);
/* A CN__EV_WS event posted by another thread (loop thread). */
void cn__ws_event(cn__event *ev);
/* For the server's own protocols (live queries): the bytes sent and not
 * yet taken for writing (a slow reader's backlog), and a close with any
 * valid code (1008, 4400...) rather than cn_ws_close's application range.
 * Any thread. */
size_t cn__ws_backlog(cn_ws *ws);
int cn__ws_close_code(cn_ws *ws, int code, const char *reason);
/* A request that was given an upgrade it will not use (the connection
 * went before the 101 was written): drop the socket's reference. */
void cn__ws_abandon(cn_ws *ws);

#endif
