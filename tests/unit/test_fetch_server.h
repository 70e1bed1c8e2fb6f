/*
 * A tiny HTTP/1.1 server for the fetch tests, inside the test process: a
 * thread accepting on 127.0.0.1 (an ephemeral port), one detached thread
 * per connection, one request per connection (Connection: close) but for
 * /ka. srv_conns counts the connections accepted. Every
 * request target is counted (srv_hits), so a test can tell how often the
 * network was really used without asking the server over HTTP.
 *
 *   /ok            200 application/json {"ok":true,"n":42}
 *   /text          200 text/plain "hello"
 *   /notype        200 without Content-Type
 *   /echo...       200 JSON: method, target, headers (lower-cased), body
 *   /count...      200 text/plain: how often this exact target was asked
 *                  (?delay=MS waits first; with "hold" in it, waits while
 *                  srv_holding; 500 while srv_failing)
 *   /ka            200 "ka", and the connection stays open (the only
 *                  target that keeps it; idle ones close after 0.5 s)
 *   /slow          waits (up to 5 s) for the client to go away
 *   /big           Content-Length 32 MiB + 1
 *   /bigchunked    chunked, 32 MiB + 1 bytes
 *   /exact         32 MiB exactly
 *   /status/404    404 "not found"
 *   /close         resets the connection without answering
 *   /redirect      302 to /ok; /redirect-loop to itself; /redirect-ftp to
 *                  ftp:; /redirect303 303 to /echo
 */
#ifndef CN_TEST_FETCH_SERVER_H
#define CN_TEST_FETCH_SERVER_H

#include <arpa/inet.h>
#include "server/server.h"
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SRV_BIG ((size_t)32 << 20)

static int srv_fd = -1, srv_port;
static pthread_t srv_thread;
static atomic_int srv_live; /* connection threads running */
static atomic_int srv_conns; /* connections accepted */
static atomic_int srv_failing; /* set: /count... answers 500 */
static atomic_int srv_holding; /* set: /count...hold... waits (up to 10 s) */
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char target[256];
  int n;
} srv_counts[256];

/* Count target; returns its new count. */
static int srv_count(const char *target) {
  int n = 0;
  pthread_mutex_lock(&srv_mu);
  for (size_t i = 0; i < sizeof srv_counts / sizeof srv_counts[0]; i++)
    if (!srv_counts[i].target[0] || !strcmp(srv_counts[i].target, target)) {
      snprintf(srv_counts[i].target, sizeof srv_counts[i].target, "%s",
               target);
      n = ++srv_counts[i].n;
      break;
    }
  pthread_mutex_unlock(&srv_mu);
  return n;
}

/* How often target was asked. */
static int srv_hits(const char *target) {
  int n = 0;
  pthread_mutex_lock(&srv_mu);
  for (size_t i = 0; i < sizeof srv_counts / sizeof srv_counts[0]; i++)
    if (!strcmp(srv_counts[i].target, target))
      n = srv_counts[i].n;
  pthread_mutex_unlock(&srv_mu);
  return n;
}

static int srv_send(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    c += w, n -= (size_t)w;
  }
  return 0;
}

static void srv_answer(int fd, int status, const char *ctype,
                       const char *extra, const char *body, size_t len) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d X\r\n%s%s%s%sContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                   ctype ? "\r\n" : "", extra ? extra : "", len);
  if (srv_send(fd, head, (size_t)n) == 0 && len)
    srv_send(fd, body, len);
}

/* n bytes of 'x' in 64 KiB writes, stopping when the client leaves. */
static void srv_stream(int fd, size_t n, int chunked) {
  static _Thread_local char block[65536];
  memset(block, 'x', sizeof block);
  while (n) {
    size_t k = n < sizeof block ? n : sizeof block;
    char size[32];
    int m = snprintf(size, sizeof size, "%zx\r\n", k);
    if ((chunked && srv_send(fd, size, (size_t)m)) || srv_send(fd, block, k) ||
        (chunked && srv_send(fd, "\r\n", 2)))
      return;
    n -= k;
  }
  if (chunked)
    srv_send(fd, "0\r\n\r\n", 5);
}

static void srv_echo(int fd, const char *method, const char *target,
                     char *headers, const char *body, size_t blen) {
  json_t *h = json_object();
  for (char *line = strtok(headers, "\r\n"); line; line = strtok(NULL, "\r\n")) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = '\0';
    for (char *p = line; *p; p++)
      *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    const char *v = colon + 1;
    while (*v == ' ')
      v++;
    json_t *old = json_object_get(h, line);
    if (old) { /* repeated: joined as fetch's Headers joins them */
      char *j = NULL;
      if (asprintf(&j, "%s, %s", json_string_value(old), v) > 0)
        json_object_set_new(h, line, json_string(j));
      free(j);
    } else {
      json_object_set_new(h, line, json_string(v));
    }
  }
  json_t *j = json_pack("{s:s,s:s,s:o,s:s%}", "method", method, "target",
                        target, "headers", h, "body", body, blen);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (text)
    srv_answer(fd, 200, "application/json", NULL, text, strlen(text));
  else
    srv_answer(fd, 500, "text/plain", NULL, "not UTF-8", 9);
  free(text);
  json_decref(j);
}

static void srv_route(int fd, const char *method, const char *target,
                      char *headers, const char *body, size_t blen) {
  char num[32];
  int hits = srv_count(target);
  if (!strcmp(target, "/ok")) {
    const char *b = "{\"ok\":true,\"n\":42}";
    srv_answer(fd, 200, "application/json", NULL, b, strlen(b));
  } else if (!strcmp(target, "/text")) {
    srv_answer(fd, 200, "text/plain", NULL, "hello", 5);
  } else if (!strcmp(target, "/notype")) {
    srv_answer(fd, 200, NULL, NULL, "plain", 5);
  } else if (!strncmp(target, "/echo", 5)) {
    srv_echo(fd, method, target, headers, body, blen);
  } else if (!strncmp(target, "/count", 6)) {
    const char *d = strstr(target, "delay=");
    if (d)
      usleep((useconds_t)atoi(d + 6) * 1000);
    for (int i = 0; strstr(target, "hold") && atomic_load(&srv_holding) &&
                    i < 10000; i++)
      usleep(1000);
    if (atomic_load(&srv_failing)) {
      srv_answer(fd, 500, "text/plain", NULL, "failing", 7);
      return;
    }
    int n = snprintf(num, sizeof num, "%d", hits);
    srv_answer(fd, 200, "text/plain", NULL, num, (size_t)n);
  } else if (!strcmp(target, "/slow")) {
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 5000); /* the client's close wakes us */
    srv_answer(fd, 200, "text/plain", NULL, "late", 4);
  } else if (!strcmp(target, "/big")) {
    int n = snprintf(num, sizeof num, "%zu", SRV_BIG + 1);
    char head[160];
    int m = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: "
                     "%.*s\r\nConnection: close\r\n\r\n", n, num);
    if (!srv_send(fd, head, (size_t)m))
      srv_stream(fd, SRV_BIG + 1, 0);
  } else if (!strcmp(target, "/bigchunked") || !strcmp(target, "/exact")) {
    int chunked = !strcmp(target, "/bigchunked");
    char head[160];
    int m = chunked ? snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "Connection: close\r\n\r\n")
                    : snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
                               "Content-Length: %zu\r\nConnection: close"
                               "\r\n\r\n", SRV_BIG);
    if (!srv_send(fd, head, (size_t)m))
      srv_stream(fd, chunked ? SRV_BIG + 1 : SRV_BIG, chunked);
  } else if (!strcmp(target, "/status/404")) {
    srv_answer(fd, 404, "text/plain", NULL, "not found", 9);
  } else if (!strcmp(target, "/close")) {
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l); /* RST on close */
  } else if (!strcmp(target, "/redirect")) {
    srv_answer(fd, 302, NULL, "Location: /ok\r\n", NULL, 0);
  } else if (!strcmp(target, "/redirect-loop")) {
    srv_answer(fd, 302, NULL, "Location: /redirect-loop\r\n", NULL, 0);
  } else if (!strcmp(target, "/redirect-ftp")) {
    srv_answer(fd, 302, NULL, "Location: ftp://127.0.0.1/x\r\n", NULL, 0);
  } else if (!strcmp(target, "/redirect303")) {
    srv_answer(fd, 303, NULL, "Location: /echo\r\n", NULL, 0);
  } else {
    srv_answer(fd, 404, "text/plain", NULL, "no route", 8);
  }
}

/* Read and answer one request. 1 when the connection stays open for
 * another (a keep-alive target), 0 when it is over. */
static int srv_one(int fd) {
  static _Thread_local char buf[1 << 16];
  size_t len = 0;
  char *end = NULL;
  while (!end && len < sizeof buf - 1) {
    ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (r <= 0)
      return 0;
    len += (size_t)r;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end)
    return 0;
  *end = '\0';
  char method[40], target[256];
  if (sscanf(buf, "%39s %255s", method, target) != 2)
    return 0;
  char *headers = strstr(buf, "\r\n");
  headers = headers ? headers + 2 : end;
  size_t clen = 0;
  for (char *p = headers; p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
    if (!strncasecmp(p, "content-length:", 15))
      clen = strtoul(p + 15, NULL, 10);
  char *body = end + 4;
  size_t have = len - (size_t)(body - buf);
  while (have < clen && (size_t)(body - buf) + clen < sizeof buf) {
    ssize_t r = recv(fd, body + have, clen - have, 0);
    if (r <= 0)
      return 0;
    have += (size_t)r;
  }
  body[have] = '\0';
  if (!strcmp(target, "/ka")) {
    srv_count(target);
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nka";
    return srv_send(fd, a, strlen(a)) == 0;
  }
  srv_route(fd, method, target, headers, body, have);
  return 0;
}

static void *srv_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  struct pollfd p = {fd, POLLIN, 0};
  /* An idle kept-alive connection is closed after half a second. */
  while (srv_one(fd) && poll(&p, 1, 500) == 1)
    ;
  close(fd);
  atomic_fetch_sub(&srv_live, 1);
  return NULL;
}

static void *srv_accept(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(srv_fd, NULL, NULL);
    if (fd < 0 && errno == EINTR)
      continue;
    if (fd < 0)
      return NULL; /* shut down */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&srv_live, 1);
    atomic_fetch_add(&srv_conns, 1);
    if (pthread_create(&t, &attr, srv_conn, (void *)(intptr_t)fd)) {
      atomic_fetch_sub(&srv_live, 1);
      close(fd);
    }
    pthread_attr_destroy(&attr);
  }
}

static int srv_start(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  srv_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (srv_fd < 0 || bind(srv_fd, (struct sockaddr *)&a, sizeof a) ||
      listen(srv_fd, 64) ||
      getsockname(srv_fd, (struct sockaddr *)&a, &alen))
    return -1;
  srv_port = ntohs(a.sin_port);
  return pthread_create(&srv_thread, NULL, srv_accept, NULL) ? -1 : 0;
}

/* Stop accepting and wait (at most 10 s) for the connection threads. */
static void srv_stop(void) {
  shutdown(srv_fd, SHUT_RDWR);
  pthread_join(srv_thread, NULL);
  close(srv_fd);
  for (int i = 0; i < 10000 && atomic_load(&srv_live); i++)
    usleep(1000);
}

/* http://127.0.0.1:<port><path>, in one of a few rotating buffers. */
static const char *srv_url(const char *path) {
  static _Thread_local char bufs[4][512];
  static _Thread_local int next;
  char *b = bufs[next++ & 3];
  snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", srv_port, path);
  return b;
}

/* Both fetch tests start the same way: the server, and a finished app
 * for cn__req_detached. OUT: *app. 0, or 1 after saying why. */
static int fixture_start(cn_app **app) {
  char err[256];
  if (srv_start()) {
    fprintf(stderr, "cannot start the test server\n");
    return 1;
  }
  *app = cn_app_new();
  if (!*app || cn__app_finish(*app, err, sizeof err)) {
    fprintf(stderr, "cannot make an app\n");
    return 1;
  }
  return 0;
}

#endif
