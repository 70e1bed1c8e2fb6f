/*
 * Accepting connections. libuv's own accept loop answers EMFILE by closing
 * a spare descriptor, accepting and dropping one connection, and reopening
 * the spare; with several loops in one process another thread can take the
 * freed descriptor first, the trick fails, and libuv calls accept again at
 * once, forever, without returning to its loop (the server spins and no
 * longer sees SIGTERM). So each loop polls its listening socket itself and,
 * like nginx, stops accepting for a moment when descriptors run out, after
 * shedding the connection at the head of the queue with its own spare.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

#define ACCEPTS_PER_WAKEUP 64
#define PAUSE_MS 100

static void on_readable(uv_poll_t *p, int status, int events);

static void resume(uv_timer_t *t) {
  cn__loop *l = t->data;
  if (l->listen_fd >= 0 && !l->stopping)
    uv_poll_start(&l->listen_poll, UV_READABLE, on_readable);
}

/* Out of descriptors: drop one waiting connection (so a client is told
 * rather than left hanging) and pause accepting; connections being served
 * will close and give descriptors back. */
static void exhausted(cn__loop *l) {
  if (l->spare_fd >= 0) {
    close(l->spare_fd);
    l->spare_fd = -1;
    int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
      close(fd);
    l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  uv_poll_stop(&l->listen_poll);
  uv_timer_start(&l->accept_pause, resume, PAUSE_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  cn__loop *l = p->data;
  CN__UNUSED(events);
  if (status < 0)
    return;
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(l->listen_fd, (struct sockaddr *)&peer, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      cn__conn_accept(l, fd, &peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM)
      exhausted(l);
    return; /* EAGAIN: the queue is empty */
  }
}

int cn__accept_start(cn__loop *l, int listen_fd) {
  l->listen_fd = listen_fd;
  l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  uv_timer_init(&l->uv, &l->accept_pause);
  l->accept_pause.data = l;
  if (uv_poll_init(&l->uv, &l->listen_poll, listen_fd))
    return CN_ESYS;
  l->listen_poll.data = l;
  return uv_poll_start(&l->listen_poll, UV_READABLE, on_readable) ? CN_ESYS
                                                                 : 0;
}

/* Stop accepting (shutdown): connections already accepted go on. */
void cn__accept_stop(cn__loop *l) {
  if (l->listen_fd < 0)
    return;
  uv_close((uv_handle_t *)&l->listen_poll, NULL);
  uv_close((uv_handle_t *)&l->accept_pause, NULL);
  close(l->listen_fd);
  l->listen_fd = -1;
  if (l->spare_fd >= 0)
    close(l->spare_fd);
  l->spare_fd = -1;
}
