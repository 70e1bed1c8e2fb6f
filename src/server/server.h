/*
 * server.h: the request's life, from accept to the last byte written.
 *
 * Threads. N I/O threads each run a libuv loop with its own SO_REUSEPORT
 * listener; a connection lives its whole life on the loop that accepted it.
 * Handlers that may block run on a shared pool of handler threads; a handler
 * marked nonblocking runs inline on the I/O thread. A request handed to the
 * pool is owned by the pool thread until it posts a DONE event back to the
 * connection's loop (a lock-free queue, woken by uv_async only when the loop
 * may be asleep: see cn__loop_post), so the two threads
 * never touch a request at the same time. Streamed writes from a handler
 * thread travel the same queue, in order.
 *
 * Memory. Each request owns an arena whose first block sits inside the
 * request struct; requests are recycled through a per-loop free list, so a
 * keep-alive request that fits the inline block costs no malloc. The head of
 * a request is copied into its arena before parsing, so nothing a handler
 * sees points into a read buffer. A connection holds a read buffer only
 * while it has unparsed bytes: idle connections cost their struct alone.
 *
 * Ownership of a cn_req: created by its connection when a head is complete;
 * freed by the connection after its response's last write callback (or when
 * the connection closes, once no handler thread holds it).
 */
#ifndef CN_SERVER_H
#define CN_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "common/common.h"
#include "http/http.h"
#include "router/router.h"
#include "static/static.h"

typedef struct cn__server cn__server;
typedef struct cn__loop cn__loop;
typedef struct cn__conn cn__conn;
typedef struct cn__route cn__route;

/* ------------------------------------------------------------- routes */

enum {
  CN__M_GET, CN__M_HEAD, CN__M_POST, CN__M_PUT, CN__M_PATCH, CN__M_DELETE,
  CN__M_OPTIONS, CN__METHODS,
  CN__M_ANY = CN__METHODS, /* pages/api: one handler for every method */
};

/* One method's handler with its configuration, parsed. */
struct cn__route {
  cn_handler *handler;
  cn_route_config config; /* strings cleared: only the parsed values stay */
  size_t body_limit;      /* 0: server default */
  size_t response_limit;  /* SIZE_MAX: never warn */
  /* NULL, or asked on the I/O thread once the request is read, when that
   * loop holds few connections (CN__INLINE_MAX_CONNS): 1 runs this
   * request's handler there, as if nonblocking (cn__app_route_inline). A
   * loop with many connections hands work to the pool anyway, where the
   * cores share it: measured, running short queries inline there cost a
   * fifth of the throughput, while on a quiet loop it saves a third of
   * the latency. */
  int (*inline_if)(cn_req *req);
};

/* An endpoint's handlers, immutable once published: `cairn dev` swaps in
 * a new table when a route file changes, and requests already routed keep
 * the one they saw. Replaced tables are kept until the app is freed (a
 * request may still be running a handler from one). */
typedef struct cn__table {
  cn__route slots[CN__METHODS + 1];
  char allow[64]; /* the Allow header value */
  struct cn__table *retired;
} cn__table;

/* A URL pattern in the route tree. */
typedef struct cn__endpoint {
  char *pattern;
  int dynamic; /* has params: public/ files are tried first */
  _Atomic(cn__table *) table;
  struct cn__page *page; /* a page (src/page), NULL for other routes */
  struct cn__endpoint *next;
} cn__endpoint;

typedef struct cn__middleware cn__middleware;

struct cn_app {
  cn__router *router;
  cn__endpoint *endpoints;
  int finished; /* the router validated the whole set */
  char *public_dir;
  cn__middleware *mw;
  struct cn__pages *pages; /* app/ pages (src/page); owned, may be NULL */
  cn__route not_found;     /* renders the root not-found page */
};

/* What routing decided for one request. */
typedef struct cn__hit {
  cn__route_match match; /* params in the request's arena */
  cn__endpoint *endpoint;
  const cn__table *table; /* the handlers as they were when routed */
  const cn__route *route; /* NULL: no handler for this method */
} cn__hit;

int cn__method_index(cn_str method);
/* cn_app_add for a page: the endpoint carries it (page.h). */
int cn__app_add_page(cn_app *app, const char *pattern, const char *source,
                     const cn_route_def *def, struct cn__page *page,
                     char *err, size_t errlen);
#define CN__INLINE_MAX_CONNS 8

/* Before serving: give the handler cn_app_route registered for path and
 * method ("*" for every method) a per-request choice of running on the I/O
 * thread (cn__route.inline_if). 0, or CN_ENOENT when there is none. */
int cn__app_route_inline(cn_app *app, const char *method, const char *path,
                         int (*inline_if)(cn_req *req));
/* Validate the whole route set once before serving (router_finish). */
int cn__app_finish(cn_app *app, char *err, size_t errlen);
/* Route method + raw path. Returns 0 (hit->route set), or the status that
 * answers instead: 308 (trailing slash), 400 (bad escape), 404, 405, 204
 * (OPTIONS with no handler: answered with Allow). */
int cn__app_match(const cn_app *app, cn_str method, cn_str path,
                  cn__arena *arena, cn__hit *hit);

/* middleware.c */
int cn__middleware_matches(const cn__middleware *mw, cn_str path);
void cn__middleware_free(cn__middleware *mw);
cn_handler *cn__middleware_handler(const cn__middleware *mw);
int cn__middleware_nonblocking(const cn__middleware *mw);

/* --------------------------------------------------------- responses */

typedef struct cn__resp_header {
  cn_str name;
  cn_str value;
} cn__resp_header;

struct cn_res {
  int status;
  int finished;      /* send/text/json/error/end was called */
  int streaming;     /* cn_res_write was called */
  int head_sent;     /* loop thread: the head is on the wire */
  int has_type;      /* a Content-Type was set */
  cn__resp_header *headers;
  size_t nheaders, cap_headers;
  cn_str body;
  cn_req *req;
};

typedef enum cn__event_kind {
  CN__EV_CHUNK, /* a streamed write: data follows */
  CN__EV_END,   /* the stream is over */
  CN__EV_DONE,  /* the handler returned */
  CN__EV_WS,    /* a WebSocket has messages from another thread (src/ws) */
} cn__event_kind;

/* Handler threads talk to a loop only through these, in FIFO order. A
 * CHUNK event is malloc'd with its data behind it and freed by its write
 * callback; the DONE event lives inside its request. */
typedef struct cn__event {
  struct cn__event *next;
  cn__event_kind kind;
  cn_req *req;
  size_t len;
  char *data;
  uv_write_t wreq;
  char size_line[24];
} cn__event;

/* ------------------------------------------------------------ requests */

enum cn__req_where { CN__REQ_LOOP, CN__REQ_POOL };
enum cn__phase { CN__PHASE_MW, CN__PHASE_ROUTE };

#define CN__REQ_INLINE 4096

struct cn_req {
  cn__conn *conn;
  cn__loop *loop;
  cn__arena arena;
  cn__message msg;          /* head, headers and body as parsed */
  cn__hit hit;              /* routing's answer, params included */
  int decision;             /* 0: run hit.route; else the status to answer */
  int phase;                /* CN__PHASE_*: what the next run executes */
  cn_str rewrite;           /* middleware's cn_req_rewrite target */
  struct cn__reqdata *data; /* parsed query, cookies, body (lazy parts) */
  cn_res res;
  uint64_t bytes_out;
  atomic_int aborted;       /* the client went away */
  enum cn__req_where where;
  /* Streaming from a handler thread: bytes posted and not yet written. */
  pthread_mutex_t stream_mu;
  pthread_cond_t stream_cv;
  size_t stream_pending;
  int stream_init;
  int writes_pending;       /* uv_write requests in flight for this req */
  int done;                 /* the handler returned / response complete */
  cn__static_reply sreply;
  cn__event done_ev;
  uint64_t start_ns;
  /* Pages: a loader read request-time data (a header, a cookie, the
   * query...), so what it rendered may not be kept; and why it failed. */
  atomic_int dynamic_used;
  const char *fail_msg, *fail_file;
  int fail_line;
  /* Render fully, never stream (prerendering, ISR regeneration). */
  int offline;
  /* A server action runs: cn_redirect's default status is 303. */
  int action;
  /* The kept page was revalidated on demand: this render replaces it. */
  int revalidated;
  /* Tags of what this request fetched or cached (cn__req_collect_tag):
   * a page rendered by it carries them. In the arena. */
  const char **tags;
  size_t ntags, captags;
  /* fetch's request memoization (src/fetch): released with the request. */
  void *memo;
  void (*memo_free)(void *memo);
  /* cn_req_identity's answer, worked out once (src/auth): NULL not yet,
   * else the identity or one of src/auth's markers for anonymous and a
   * bad token. The identity and the data layer's context live in the
   * arena; the identity's claims are released with the request. */
  const struct cn_identity *identity;
  struct cn_ctx *data_ctx;
  /* cn_ws_accept's socket, until the connection takes it (src/ws). */
  struct cn_ws *ws;
  struct sockaddr_storage peer; /* copied from the connection */
  char ip[48];                  /* formatted on first use */
  cn_req *next_free;
  uv_write_t wreq;
  _Alignas(16) char inline_mem[CN__REQ_INLINE];
};

/* -------------------------------------------------------- connections */

enum cn__conn_state {
  CN__CONN_IDLE,     /* between requests */
  CN__CONN_HEAD,     /* receiving a head */
  CN__CONN_BODY,     /* receiving a body */
  CN__CONN_HANDLING, /* a handler thread has the request */
  CN__CONN_CLOSING,  /* no more requests; finishing writes */
  CN__CONN_LINGER,   /* after an error answer: draining input, then close */
  CN__CONN_WS,       /* upgraded: the bytes are WebSocket frames (src/ws) */
};

struct cn__conn {
  uv_tcp_t tcp; /* first: the handle's pointer is the connection's */
  uv_timer_t timer;
  cn__loop *loop;
  cn__parser parser;
  cn__buf in;             /* unparsed bytes owned by the connection */
  enum cn__conn_state state;
  cn_req *cur;            /* the request being received or handled */
  uint64_t requests;      /* served on this connection */
  uint64_t head_deadline, request_deadline;
  int writes;             /* uv_write requests in flight */
  int reading;            /* uv_read_start is active */
  int closing;            /* uv_close has been called */
  int close_after;        /* close once the current writes complete */
  int paused;             /* parsing stopped until writes drain */
  int in_shared;          /* the bytes being parsed are in loop->rbuf */
  int sending_file;       /* a sendfile is in progress */
  struct sockaddr_storage peer; /* the client, for cn_req_ip */
  struct cn_ws *ws;       /* CN__CONN_WS: the socket it became */
  cn__conn *prev, *next;  /* the loop's list of live connections */
};

/* ----------------------------------------------------- loops and pool */


struct cn__loop {
  uv_loop_t uv;
  int listen_fd;          /* this loop's SO_REUSEPORT socket, or -1 */
  uv_poll_t listen_poll;  /* accepting is ours, not libuv's: see accept.c */
  uv_timer_t accept_pause;
  int spare_fd;           /* given up to shed a connection at EMFILE */
  uv_async_t wake;      /* events from handler threads, or stop */
  uv_prepare_t before_poll; /* drains events posted while the loop ran */
  uv_check_t after_poll;
  uv_timer_t shutdown_timer;
  pthread_t thread;
  cn__server *server;
  int index;
  /* Events from handler threads, newest first (a lock-free stack the loop
   * empties at once and reverses). `polling` is set while the loop may be
   * asleep in poll: only then does a post pay for uv_async_send. On their
   * own cache line: handler threads write it, the loop's fields nearby are
   * the loop's alone. */
  char pad_before[64];
  _Atomic(cn__event *) events;
  atomic_int polling;
  char pad_after[64];
  cn__conn *conns;      /* live connections */
  size_t nconns;
  cn_req *free_reqs;
  size_t nfree_reqs;
  cn__static *statics;  /* this loop's view of public/ (no locks) */
  int stopping;
  char date[30];
  uint64_t date_sec;
  char rbuf[64 * 1024]; /* read buffer shared by the loop's connections */
};

typedef struct cn__pool_worker cn__pool_worker;

/* The handler pool (pool.c explains the hand-off). */
typedef struct cn__pool {
  pthread_mutex_t mu;
  pthread_cond_t exited; /* a thread left (cn__pool_stop waits on it) */
  cn_req *head, *tail;   /* queued requests (linked through next_free) */
  cn__pool_worker *idle; /* sleeping threads, most recently active first */
  int threads, max;
  /* Threads awake and not inside a handler, bound to look at the queue
   * under mu before they sleep. Changed under mu, except that a thread
   * leaving a handler adds itself without it. */
  atomic_int seekers;
  atomic_int queued; /* length of the queue, for seekers that spin */
  int stop;
} cn__pool;

struct cn__server {
  cn_app *app;
  cn_config config;
  cn__loop *loops;
  int nloops;
  cn__pool pool;
  cn__parser_limits parser_limits;
  atomic_long conns;    /* open connections across loops */
  atomic_int stopping;
  int listen_fd_port;
  char *public_dir;
};

/* conn.c */
/* A connection the loop accepted; the loop owns fd from here. */
void cn__conn_accept(cn__loop *l, int fd, const struct sockaddr_storage *peer);

/* accept.c: the loop's listening socket. */
int cn__accept_start(cn__loop *l, int listen_fd);
void cn__accept_stop(cn__loop *l);
void cn__conn_close(cn__conn *c);
/* The handler returned (pool thread) or the stream advanced: loop thread. */
void cn__conn_handler_done(cn_req *req);
void cn__conn_stream_event(cn__event *ev);
/* Arm c's timer for loop time deadline_ms; start reading if stopped
 * (the WebSocket layer's use of the connection). */
void cn__conn_arm(cn__conn *c, uint64_t deadline_ms);
void cn__conn_read_start(cn__conn *c);
/* Stop accepting more work on c; close it at once when idle. */
void cn__conn_shutdown(cn__conn *c);
/* Shut down our side, drain the client's bytes for up to ms, then close. */
void cn__conn_linger(cn__conn *c, uint64_t ms);
/* A request's last write completed: go on with the connection. */
void cn__conn_request_finished(cn__conn *c);
/* After queueing a response: pause parsing if the client reads slowly. */
void cn__conn_check_backpressure(cn__conn *c);

/* request.c: life of a cn_req */
/* A header for the server's own use: unlike cn_req_header, reading it
 * does not make a page dynamic. */
cn_str cn__req_header(const cn_req *req, const char *name);
/* What the public accessors of request-time data call. */
static inline void cn__req_mark_dynamic(const cn_req *req) {
  atomic_store_explicit(&((cn_req *)req)->dynamic_used, 1,
                        memory_order_relaxed);
}
/* Note that the request used something cached under tag (copied into the
 * arena; duplicates ignored). Any thread: parallel loaders are fine. 0 or
 * CN_ENOMEM. */
int cn__req_collect_tag(cn_req *req, const char *tag);
/* The name of the i-th form field in arrival order (repeats included).
 * 0 or CN_ENOENT past the end. */
int cn__req_form_field_at(const cn_req *req, size_t i, cn_str *name);
/* Parse the query and the cookies now, so that threads reading them at
 * once (a page's parallel loaders) find them parsed. 0 or CN_ENOMEM. */
int cn__req_preparse(cn_req *req);
/* A request made without a connection, for rendering a page at build
 * (prerender): GET path, no headers. Free with cn__req_free_detached. */
cn_req *cn__req_detached(cn_app *app, const char *path);
void cn__req_free_detached(cn_req *req);
cn_req *cn__req_new(cn__conn *c);
void cn__req_free(cn_req *req);
/* Before a route's handler: parse the query and the body by Content-Type
 * (reqdata.c). Non-zero when the request was refused; res then holds the
 * 400/415 answer. */
int cn__req_prepare(cn_req *req);
/* After routing (loop thread): set up a streamed multipart body when the
 * route takes one. 0, or a status refusing the request. */
int cn__req_stream_body(cn_req *req);
/* Release what cn__req_prepare made (temporary upload files, JSON). */
void cn__req_data_free(cn_req *req);
/* Run the route's handler and settle the response (500 if it sent none). */
void cn__req_run_handler(cn_req *req);

/* respond.c: putting responses on the wire (loop thread) */
int cn__respond(cn_req *req);
int cn__respond_error(cn__conn *c, cn_req *req, int status,
                      const char *message);
/* Look req's path up in public/ into req->sreply (loop thread). */
int cn__respond_static_lookup(cn_req *req);
/* Free the request once its handler is done and its writes completed. */
void cn__req_settle(cn_req *req);
void cn__loop_date(cn__loop *l, char out[30]);

/* pool.c */
int cn__pool_init(cn__pool *p, int max_threads);
void cn__pool_submit(cn__pool *p, cn_req *req);
void cn__pool_stop(cn__pool *p);
/* Post an event to the request's loop (any thread). */
void cn__loop_post(cn__loop *l, cn__event *ev);

/* A response over its route's response_limit: one line on stderr. */
void cn__warn_response_limit(cn_req *req, uint64_t len);

/* access log */
void cn__access_log(cn_req *req, int status);

/* sendfile.c: zero-copy body of a large static file (loop thread). */
int cn__sendfile_start(cn_req *req);

#endif /* CN_SERVER_H */
