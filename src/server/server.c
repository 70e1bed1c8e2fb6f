/*
 * cn_serve: start one loop per I/O thread, each with its own SO_REUSEPORT
 * listener on the same address, wait for SIGTERM/SIGINT on the main thread,
 * then drain: stop accepting, let requests in flight finish, close idle
 * keep-alive connections, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/dev.h"
#include "server.h"
#include "ws/ws.h"

extern _Thread_local cn__loop *cn__current_loop;

/* ------------------------------------------------------- listening */

static int open_listener(const struct addrinfo *ai, int port) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_storage sa;
  memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
  if (sa.ss_family == AF_INET)
    ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&sa, ai->ai_addrlen) ||
      listen(fd, 4096)) {
    close(fd);
    return -1;
  }
  return fd;
}

static int bound_port(int fd) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len))
    return -1;
  return sa.ss_family == AF_INET
             ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
             : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
}

/* ------------------------------------------------------------ loops */

/* The drain took too long: close what is left; a handler still running is
 * abandoned with its connection. */
static void on_shutdown_timeout(uv_timer_t *t) {
  cn__loop *l = t->data;
  for (cn__conn *c = l->conns, *n; c; c = n) {
    n = c->next;
    cn__conn_close(c);
  }
  uv_stop(&l->uv);
}

/* Handle what handler threads posted, oldest first. The stack is taken
 * whole, so a worker's CHUNK events and its DONE keep their order. */
static void drain_posted(cn__loop *l) {
  cn__event *ev = atomic_exchange(&l->events, NULL), *fifo = NULL;
  while (ev) {
    cn__event *next = ev->next;
    ev->next = fifo;
    fifo = ev;
    ev = next;
  }
  for (ev = fifo; ev;) {
    cn__event *next = ev->next;
    if (ev->kind == CN__EV_DONE)
      cn__conn_handler_done(ev->req);
    else if (ev->kind == CN__EV_WS)
      cn__ws_event(ev);
    else
      cn__conn_stream_event(ev);
    ev = next;
  }
}

/* Last thing before the loop may sleep in poll: from here on a post must
 * wake it (cn__loop_post). What was posted while the loop was busy is
 * handled now, without a wake-up; the poll timeout is computed after this,
 * so work it queues makes the poll return at once. */
static void before_poll(uv_prepare_t *h) {
  cn__loop *l = h->data;
  for (;;) {
    drain_posted(l);
    atomic_store(&l->polling, 1);
    if (!atomic_load(&l->events))
      return;
    atomic_store_explicit(&l->polling, 0, memory_order_relaxed);
  }
}

static void after_poll(uv_check_t *h) {
  cn__loop *l = h->data;
  atomic_store_explicit(&l->polling, 0, memory_order_relaxed);
}

static void drain_events(uv_async_t *a) {
  cn__loop *l = a->data;
  atomic_store_explicit(&l->polling, 0, memory_order_relaxed);
  drain_posted(l);
  if (atomic_load(&l->server->stopping) && !l->stopping) {
    l->stopping = 1;
    cn__accept_stop(l);
    for (cn__conn *c = l->conns, *n; c; c = n) {
      n = c->next;
      cn__conn_shutdown(c);
    }
    uv_timer_start(&l->shutdown_timer, on_shutdown_timeout,
                   l->server->config.limits.shutdown_timeout_ms, 0);
  }
  if (l->stopping && !l->nconns && !uv_is_closing((uv_handle_t *)&l->wake)) {
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_close((uv_handle_t *)&l->shutdown_timer, NULL);
  }
}

static void *loop_main(void *arg) {
  cn__loop *l = arg;
  char name[16];
  /* what top -H and /proc/<pid>/task/<tid>/comm show */
  snprintf(name, sizeof name, "cairn-io-%d", l->index);
  pthread_setname_np(pthread_self(), name);
  cn__current_loop = l;
  uv_run(&l->uv, UV_RUN_DEFAULT);
  return NULL;
}

static void close_any(uv_handle_t *h, void *arg) {
  CN__UNUSED(arg);
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void loop_destroy(cn__loop *l) {
  if (l->listen_fd >= 0)
    close(l->listen_fd);
  if (l->spare_fd >= 0)
    close(l->spare_fd);
  uv_walk(&l->uv, close_any, NULL);
  uv_run(&l->uv, UV_RUN_DEFAULT);
  uv_loop_close(&l->uv);
  while (l->free_reqs) {
    cn_req *r = l->free_reqs;
    l->free_reqs = r->next_free;
    cn__free(r);
  }
  if (l->statics)
    cn__static_free(l->statics);
}

static int loop_init(cn__server *s, cn__loop *l, int index, int fd) {
  l->server = s;
  l->index = index;
  l->listen_fd = l->spare_fd = -1;
  if (uv_loop_init(&l->uv))
    return CN_ESYS;
  uv_async_init(&l->uv, &l->wake, drain_events);
  l->wake.data = l;
  /* Unreferenced: they run every iteration but never keep a loop alive. */
  uv_prepare_init(&l->uv, &l->before_poll);
  l->before_poll.data = l;
  uv_prepare_start(&l->before_poll, before_poll);
  uv_unref((uv_handle_t *)&l->before_poll);
  uv_check_init(&l->uv, &l->after_poll);
  l->after_poll.data = l;
  uv_check_start(&l->after_poll, after_poll);
  uv_unref((uv_handle_t *)&l->after_poll);
  uv_timer_init(&l->uv, &l->shutdown_timer);
  l->shutdown_timer.data = l;
  if (cn__accept_start(l, fd))
    return CN_ESYS;
  if (s->app->public_dir &&
      cn__static_new(&l->statics, s->app->public_dir, NULL))
    return CN_ECONFIG;
  return 0;
}

/* ------------------------------------------------------------ signals */

static void on_signal(uv_signal_t *h, int signum) {
  CN__UNUSED(signum);
  cn__server *s = h->data;
  if (atomic_exchange(&s->stopping, 1)) {
    _exit(1); /* a second signal: stop now */
  }
  for (int i = 0; i < s->nloops; i++)
    uv_async_send(&s->loops[i].wake);
  /* The main loop ends once both signal watchers are gone; a second
   * signal then falls to the default action, as users expect of Ctrl-C. */
  uv_walk(h->loop, close_any, NULL);
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int resolve(const char *host, struct addrinfo **out) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  return getaddrinfo(host, "0", &hints, out) ? CN_ECONFIG : 0;
}

int cn_serve(cn_app *app, const cn_config *config) {
  cn__server s = {0};
  struct addrinfo *ai = NULL;
  uv_loop_t main_loop;
  uv_signal_t sigterm, sigint;
  int rc = 0, nloops_ok = 0, port = config->port;

  s.app = app;
  s.config = *config;
  s.parser_limits = (cn__parser_limits){
      .scan = {config->limits.request_line, config->limits.header_bytes,
               config->limits.header_count},
      .body = config->limits.body,
      .chunk_ext_bytes = config->limits.chunk_ext_bytes,
  };
  s.nloops = config->io_threads > 0 ? config->io_threads
                                    : (int)uv_available_parallelism();
  char err[2048];
  if (cn__app_finish(app, err, sizeof err)) {
    fprintf(stderr, "cairn: route conflicts:\n%s\n", err);
    return CN_ECONFIG;
  }
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  setvbuf(stdout, NULL, _IOLBF, 0);
  if ((rc = resolve(config->hostname, &ai))) {
    fprintf(stderr, "cairn: cannot resolve hostname '%s'\n",
            config->hostname);
    return rc;
  }
  if ((rc = cn__pool_init(&s.pool, config->handler_threads)))
    goto cleanup;
  s.loops = cn__calloc((size_t)s.nloops, sizeof(cn__loop));
  if (!s.loops) {
    rc = CN_ENOMEM;
    goto cleanup;
  }
  for (int i = 0; i < s.nloops; i++) {
    /* cairn dev hands its server processes one socket, so a restart
     * never refuses a connection; otherwise each loop opens its own. */
    int fd = cn__dev_listen_fd();
    if (fd >= 0)
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    else
      fd = open_listener(ai, port);
    if (fd < 0) {
      fprintf(stderr, "cairn: cannot listen on %s:%d: %s\n",
              config->hostname, port, strerror(errno));
      rc = CN_ESYS;
      goto cleanup;
    }
    if (port == 0)
      port = bound_port(fd);
    if ((rc = loop_init(&s, &s.loops[i], i, fd))) {
      fprintf(stderr, "cairn: cannot start loop %d: %s\n", i,
              cn_strerror(rc));
      nloops_ok = i + 1;
      goto cleanup;
    }
    nloops_ok = i + 1;
  }
  uv_loop_init(&main_loop);
  uv_signal_init(&main_loop, &sigterm);
  uv_signal_init(&main_loop, &sigint);
  sigterm.data = sigint.data = &s;
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  for (int i = 0; i < s.nloops; i++)
    pthread_create(&s.loops[i].thread, NULL, loop_main, &s.loops[i]);
  printf("cairn listening on http://%s%s%s:%d\n",
         strchr(config->hostname, ':') ? "[" : "", config->hostname,
         strchr(config->hostname, ':') ? "]" : "", port);
  uv_run(&main_loop, UV_RUN_DEFAULT);
  for (int i = 0; i < s.nloops; i++)
    pthread_join(s.loops[i].thread, NULL);
  uv_walk(&main_loop, close_any, NULL);
  uv_run(&main_loop, UV_RUN_DEFAULT);
  uv_loop_close(&main_loop);
  cn__pool_stop(&s.pool);
  rc = 0;
cleanup:
  for (int i = 0; i < nloops_ok; i++)
    loop_destroy(&s.loops[i]);
  cn__free(s.loops);
  if (ai)
    freeaddrinfo(ai);
  return rc;
}
