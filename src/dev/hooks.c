/*
 * The two places where the server core calls into development support
 * (dev.h): putting the live-reload script into HTML responses, and taking
 * the listening socket that `cairn dev` hands down. Both cost nothing
 * worth measuring in a production server.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/dev_int.h"
#include "server/server.h"

static int is_html(const cn_res *res) {
  for (size_t i = 0; i < res->nheaders; i++) {
    const cn__resp_header *h = &res->headers[i];
    if (!cn_str_ieq(h->name, "content-type"))
      continue;
    return h->value.len >= 9 && cn_str_ieq(cn__str(h->value.ptr, 9),
                                           "text/html");
  }
  return 0;
}

/* Where the script goes: before the last "</body" (any case), else at the
 * end. */
static size_t insert_at(cn_str body) {
  for (size_t i = body.len; i >= 6; i--) {
    if (cn_str_ieq(cn__str(body.ptr + i - 6, 6), "</body"))
      return i - 6;
  }
  return body.len;
}

void cn__dev_filter(cn_req *req) {
  if (!cn__dev_active())
    return;
  cn_res *res = &req->res;
  cn_str body = res->body;
  if (!res->finished || res->streaming || req->sreply.status || !body.len ||
      !is_html(res))
    return;
  const char *script = cn__dev_script();
  size_t slen = strlen(script);
  /* Already there (the build-error page carries its own). */
  for (size_t i = 0; i + 15 <= body.len; i++)
    if (!memcmp(body.ptr + i, "data-cairn-dev>", 15))
      return;
  char *out = cn__arena_alloc(&req->arena, body.len + slen);
  if (!out)
    return;
  size_t at = insert_at(body);
  memcpy(out, body.ptr, at);
  memcpy(out + at, script, slen);
  memcpy(out + at + slen, body.ptr + at, body.len - at);
  res->body = cn__str(out, body.len + slen);
}

int cn__dev_listen_fd(void) {
  const char *s = getenv("CAIRN_LISTEN_FD");
  if (!s || !*s)
    return -1;
  char *end;
  long fd = strtol(s, &end, 10);
  int type = 0;
  socklen_t len = sizeof type;
  if (*end || fd < 3 || fd > 65535 ||
      getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
      type != SOCK_STREAM)
    return -1;
  /* Handlers may run programs: the inherited socket must not follow. */
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  if (listen((int)fd, 4096))
    return -1;
  return fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
}
