/*
 * benchtool: the small measurements bench/run.sh cannot make well from a
 * shell. Compiled by run.sh into its temporary directory; not part of cairn.
 *
 *   benchtool startup PORT PATH TIMEOUT_MS -- CMD [ARGS...]
 *       Spawns CMD in a process group of its own, polls GET PATH on
 *       127.0.0.1:PORT in a tight loop until it answers 200, prints
 *       "startup_ms X listen_ms Y" (Y: the first accepted connect, so the
 *       split between getting to listen() and answering shows), then
 *       stops the whole group (TERM, KILL after 10 s).
 *       The clock starts just before the spawn, so exec and the dynamic
 *       loader are included, as a user starting the server would see.
 *   benchtool hold PORT PATH N
 *       Opens N keep-alive connections, makes one request on each, prints
 *       "held N" and waits. On SIGTERM it prints "open K of N": how many the
 *       server still kept open, so a server that quietly dropped idle
 *       connections cannot pass the memory test.
 *   benchtool wshold PORT PATH N
 *       The same with WebSocket: N upgrades of PATH, each waiting for its
 *       101 and the server's first message, then idle until SIGTERM, which
 *       prints "open K of N" as hold does.
 *   benchtool serve
 *       The least a server can do: listen on $PORT, answer every request
 *       with a 200 and close. Its start-up is the floor (fork, exec, loader)
 *       on this machine, against which cairn's is read.
 *   benchtool stat PGID
 *       Prints "TICKS RSS_KIB NPROCS": utime+stime (clock ticks) and VmRSS
 *       summed over every process in process group PGID.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in me;
  socklen_t ml = sizeof me;
  /* Polling a port nobody listens on yet can connect a socket to itself
   * when the kernel picks that same port as the ephemeral one. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) ||
      getsockname(fd, (struct sockaddr *)&me, &ml) ||
      me.sin_port == sa.sin_port) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads one response with a Content-Length or chunked body (chunked: up to
 * the terminating 0-size chunk) into buf. Returns the status code, or -1. */
static int read_response(int fd, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n <= 0)
      return -1;
    len += (size_t)n;
    buf[len] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end)
      goto more;
    size_t head = (size_t)(end + 4 - buf);
    for (char *p = buf; p < end; p++)
      *p = (char)tolower((unsigned char)*p);
    char *cl = strstr(buf, "\r\ncontent-length:");
    if (cl && cl < end) {
      if (len >= head + strtoul(cl + 17, NULL, 10))
        break;
    } else if (strstr(buf, "\r\ntransfer-encoding: chunked")) {
      if (strstr(end, "\r\n0\r\n\r\n"))
        break;
    } else {
      return -1; /* a keep-alive response must be delimited */
    }
  more:
    if (len + 1 >= cap)
      return -1;
  }
  if (strncmp(buf, "http/1.", 7) || len < 12)
    return -1;
  return atoi(buf + 9);
}

static int get(int fd, const char *path, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                   path);
  if (write(fd, buf, (size_t)n) != n)
    return -1;
  return read_response(fd, buf, cap);
}

static void stop_group(pid_t pid) {
  kill(-pid, SIGTERM);
  for (int i = 0; i < 1000; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      /* The leader is gone; make sure nothing else in its group stays. */
      kill(-pid, SIGKILL);
      return;
    }
    usleep(10000);
  }
  kill(-pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static int cmd_startup(int port, const char *path, int timeout_ms,
                       char **argv) {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawn_file_actions_init(&fa);
  /* The server's banner must not mix with our one line of output. */
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  char buf[65536];
  int rc = 1;
  pid_t pid;
  double listen_ms = -1, t0 = now_ms();
  if (posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ)) {
    perror("benchtool: spawn");
    goto cleanup;
  }
  for (;;) {
    double t = now_ms() - t0;
    if (t > timeout_ms) {
      fprintf(stderr, "benchtool: no 200 from :%d%s within %d ms\n", port,
              path, timeout_ms);
      break;
    }
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      fprintf(stderr, "benchtool: %s exited before answering\n", argv[0]);
      goto cleanup;
    }
    int fd = connect_to(port);
    if (fd >= 0) {
      if (listen_ms < 0)
        listen_ms = now_ms() - t0;
      int status = get(fd, path, buf, sizeof buf);
      close(fd);
      if (status == 200) {
        printf("startup_ms %.2f listen_ms %.2f\n", now_ms() - t0, listen_ms);
        rc = 0;
        break;
      }
    }
    usleep(100); /* a 0.1 ms poll: finer than anything we report */
  }
  stop_group(pid);
cleanup:
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  fflush(stdout);
  return rc;
}

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig, stopping = 1; }

static int cmd_hold(int port, const char *path, int n) {
  int *fds = calloc((size_t)n, sizeof *fds);
  char buf[4096];
  if (!fds)
    return 1;
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  for (int i = 0; i < n; i++) {
    fds[i] = connect_to(port);
    if (fds[i] < 0 || get(fds[i], path, buf, sizeof buf) != 200) {
      fprintf(stderr, "benchtool: connection %d of %d failed: %s\n", i + 1,
              n, strerror(errno));
      return 1;
    }
  }
  printf("held %d\n", n);
  fflush(stdout);
  while (!stopping)
    pause();
  /* A connection the server closed polls readable (EOF) or hung up. */
  int open = 0;
  for (int i = 0; i < n; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) == 0)
      open++;
    close(fds[i]);
  }
  printf("open %d of %d\n", open, n);
  free(fds);
  return 0;
}

/* Upgrade fd to a WebSocket on path and read the 101 and the server's
 * first frame (the test server greets every socket). 0 when both came. */
static int ws_upgrade(int fd, const char *path) {
  char req[512], buf[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: "
                   "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path);
  if (write(fd, req, (size_t)n) != n)
    return -1;
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
    buf[got] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end && strncmp(buf, "HTTP/1.1 101 ", 13))
      return -1;
    /* the head, then a frame: 2 header bytes and its payload */
    if (end && got >= (size_t)(end + 4 - buf) + 2 &&
        got >= (size_t)(end + 4 - buf) + 2 + (unsigned char)end[5])
      return 0;
    if (got == sizeof buf - 1)
      return -1;
  }
}

static int cmd_wshold(int port, const char *path, int n) {
  int *fds = calloc((size_t)n, sizeof *fds);
  if (!fds)
    return 1;
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  for (int i = 0; i < n; i++) {
    fds[i] = connect_to(port);
    if (fds[i] < 0 || ws_upgrade(fds[i], path)) {
      fprintf(stderr, "benchtool: websocket %d of %d failed: %s\n", i + 1, n,
              strerror(errno));
      return 1;
    }
  }
  printf("held %d\n", n);
  fflush(stdout);
  while (!stopping)
    pause();
  int open = 0;
  for (int i = 0; i < n; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) == 0)
      open++;
    close(fds[i]);
  }
  printf("open %d of %d\n", open, n);
  free(fds);
  return 0;
}

static int cmd_serve(void) {
  const char *port = getenv("PORT");
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(port ? atoi(port) : 0)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64))
    return 1;
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\nok";
  for (;;) {
    char buf[4096];
    int c = accept(fd, NULL, NULL);
    if (c < 0)
      continue;
    if (read(c, buf, sizeof buf) > 0 && write(c, ok, sizeof ok - 1) < 0)
      perror("benchtool: write");
    close(c);
  }
}

static int cmd_stat(long pgid) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  unsigned long long ticks = 0;
  long rss = 0, procs = 0;
  char path[300], line[1024];
  if (!d)
    return 1;
  while ((e = readdir(d))) {
    if (!isdigit((unsigned char)e->d_name[0]))
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL; /* comm may hold spaces */
    long pg;
    unsigned long long ut, st;
    /* After "pid (comm)": state ppid pgrp ... field 14 utime, 15 stime. */
    if (!p || sscanf(p + 2, "%*c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%llu %llu", &pg, &ut, &st) != 3 || pg != pgid)
      continue;
    ticks += ut + st;
    procs++;
    snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
    if ((f = fopen(path, "r"))) {
      while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
          rss += strtol(line + 6, NULL, 10);
      fclose(f);
    }
  }
  closedir(d);
  printf("%llu %ld %ld\n", ticks, rss, procs);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 7 && !strcmp(argv[1], "startup") && !strcmp(argv[5], "--"))
    return cmd_startup(atoi(argv[2]), argv[3], atoi(argv[4]), argv + 6);
  if (argc == 5 && !strcmp(argv[1], "hold"))
    return cmd_hold(atoi(argv[2]), argv[3], atoi(argv[4]));
  if (argc == 5 && !strcmp(argv[1], "wshold"))
    return cmd_wshold(atoi(argv[2]), argv[3], atoi(argv[4]));
  if (argc == 2 && !strcmp(argv[1], "serve"))
    return cmd_serve();
  if (argc == 3 && !strcmp(argv[1], "stat"))
    return cmd_stat(atol(argv[2]));
  fprintf(stderr, "usage: benchtool startup PORT PATH TIMEOUT_MS -- CMD...\n"
                  "       benchtool hold PORT PATH N\n"
                  "       benchtool wshold PORT PATH N\n"
                  "       benchtool serve\n"
                  "       benchtool stat PGID\n");
  return 2;
}
