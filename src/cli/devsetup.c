/*
 * The start of a `cairn dev` session: its options, the listening socket
 * every server process of the session shares, and the sweep of objects an
 * earlier session left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/dev.h"

/* The socket every server process of the session accepts on (dev.h).
 * Bound here, listening once the first process takes it (with the core's
 * hook); bound with SO_REUSEPORT so a process that opens its own socket
 * (without the hook) can share the port. */
static int open_listener(cn__dev_cmd *d, const char *host, int port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, "0", &hints, &ai) || !ai) {
    cn__cli_error(d->c, "cannot resolve hostname '%s'", host);
    return 1;
  }
  struct sockaddr_storage sa;
  socklen_t len = ai->ai_addrlen;
  memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  freeaddrinfo(ai);
  if (sa.ss_family == AF_INET)
    ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
      bind(fd, (struct sockaddr *)&sa, len) ||
      getsockname(fd, (struct sockaddr *)&sa, &len)) {
    cn__cli_error(d->c, "cannot listen on %s:%d: %s", host, port,
                  strerror(errno));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  d->listen_fd = fd;
  d->port = sa.ss_family == AF_INET
                ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
                : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
  snprintf(d->host, sizeof d->host, "%s", host);
  return 0;
}

int cn__dev_cmd_options(cn__dev_cmd *d, int argc, char **argv,
                        const char **dir, const char **port,
                        const char **host) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      cn__cli_usage(stdout, "dev");
      return 0;
    }
    int used = cn__cli_listen_opt(d->c, argc, argv, i, port, host);
    if (used < 0)
      return 2;
    if (used) {
      i += used - 1;
      continue;
    }
    if (argv[i][0] == '-' || *dir) {
      cn__cli_error(d->c, "dev: unexpected argument '%s'", argv[i]);
      cn__cli_usage(stderr, "dev");
      return 2;
    }
    *dir = argv[i];
  }
  return -1;
}

/* Options in the order `next dev` applies them: cairn.json, then PORT and
 * HOSTNAME, then -p and -H. */
int cn__dev_cmd_listen(cn__dev_cmd *d, const char *port, const char *host) {
  cn_config cfg;
  if (cn__cli_config(d->c, &cfg))
    return 1;
  if (cn_config_env(&cfg)) {
    cn__cli_error(d->c, "PORT must be a number from 0 to 65535");
    return 1;
  }
  if (port) {
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) {
      cn__cli_error(d->c, "--port must be a number from 0 to 65535");
      return 1;
    }
    cfg.port = (int)p;
  }
  return open_listener(d, host ? host : cfg.hostname, cfg.port);
}

/* Objects of earlier sessions that no stamp names any more. */
void cn__dev_cmd_sweep(void) {
  DIR *dir = opendir(".cairn/dev");
  if (!dir)
    return;
  char keep[256][CN__CLI_PATH / 16];
  size_t nkeep = 0;
  struct dirent *de;
  while ((de = readdir(dir)) && nkeep < CN__ARRAY_LEN(keep)) {
    size_t n = strlen(de->d_name);
    char path[CN__CLI_PATH], line[CN__CLI_PATH + 128];
    if (n < 7 || strcmp(de->d_name + n - 6, ".stamp"))
      continue;
    snprintf(path, sizeof path, ".cairn/dev/%s", de->d_name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, "out ", 4))
        continue;
      line[strcspn(line, "\n")] = '\0';
      const char *slash = strrchr(line, '/');
      snprintf(keep[nkeep++], sizeof keep[0], "%.255s",
               slash ? slash + 1 : line);
      break;
    }
    if (f)
      fclose(f);
  }
  rewinddir(dir);
  while ((de = readdir(dir))) {
    size_t n = strlen(de->d_name), i = 0;
    if (n < 4 || strcmp(de->d_name + n - 3, ".so"))
      continue;
    while (i < nkeep && strcmp(keep[i], de->d_name))
      i++;
    if (i == nkeep) {
      char path[CN__CLI_PATH];
      snprintf(path, sizeof path, ".cairn/dev/%s", de->d_name);
      remove(path);
    }
  }
  closedir(dir);
}
