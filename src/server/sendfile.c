/*
 * Zero-copy bodies for large static files. libuv has no sendfile for
 * sockets, so the connection's fd is dup'd and watched for writability with
 * a uv_poll of its own (epoll keys registrations by fd, so the dup does not
 * disturb the stream's own watcher); sendfile(2) runs on the loop thread
 * until EAGAIN, then waits for the socket to drain. The connection parses
 * nothing while a file is being sent, so bytes never interleave.
 */
#include <errno.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "server.h"

typedef struct sf_job {
  uv_poll_t poll;
  cn_req *req;
  int sock;
  off_t off;
  uint64_t left;
} sf_job;

static void sf_closed(uv_handle_t *h) {
  sf_job *j = h->data;
  cn_req *req = j->req;
  cn__conn *c = req->conn;
  close(j->sock);
  cn__free(j);
  close(req->sreply.fd);
  req->sreply.fd = -1;
  if (c)
    c->sending_file = 0;
  cn__req_settle(req);
}

static void sf_finish(sf_job *j, int failed) {
  cn__conn *c = j->req->conn;
  if (failed && c)
    c->close_after = 2;
  uv_close((uv_handle_t *)&j->poll, sf_closed);
}

static void sf_pump(uv_poll_t *p, int status, int events) {
  sf_job *j = p->data;
  CN__UNUSED(events);
  cn__conn *c = j->req->conn;
  if (status < 0 || !c || c->closing) {
    sf_finish(j, 1);
    return;
  }
  while (j->left) {
    size_t chunk = j->left > (1u << 30) ? (1u << 30) : (size_t)j->left;
    ssize_t n = sendfile(j->sock, j->req->sreply.fd, &j->off, chunk);
    if (n > 0) {
      j->left -= (uint64_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      uv_poll_start(&j->poll, UV_WRITABLE, sf_pump);
      return;
    }
    sf_finish(j, 1); /* error, or the file shrank under us */
    return;
  }
  sf_finish(j, 0);
}

int cn__sendfile_start(cn_req *req) {
  cn__conn *c = req->conn;
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd))
    return CN_ESYS;
  sf_job *j = cn__calloc(1, sizeof(*j));
  if (!j)
    return CN_ENOMEM;
  j->sock = dup(fd);
  if (j->sock < 0 || uv_poll_init(&c->loop->uv, &j->poll, j->sock)) {
    if (j->sock >= 0)
      close(j->sock);
    cn__free(j);
    return CN_ESYS;
  }
  j->poll.data = j;
  j->req = req;
  j->off = (off_t)req->sreply.offset;
  j->left = req->sreply.body_len;
  c->sending_file = 1;
  sf_pump(&j->poll, 0, UV_WRITABLE);
  return 0;
}
