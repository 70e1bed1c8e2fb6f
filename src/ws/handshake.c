/*
 * The opening handshake (RFC 6455 §4.2): a GET handler calls cn_ws_accept;
 * a valid request gets its 101 answer set and a socket attached to the
 * request, which the connection takes over once the answer is written.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>

#include "ws/ws.h"

int cn__ws_has_token(cn_str v, const char *token) {
  size_t tl = strlen(token);
  const char *p = v.ptr, *e = v.ptr + v.len;
  while (p < e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
      p++;
    const char *s = p;
    while (p < e && *p != ',')
      p++;
    const char *t = p;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - s) == tl && !strncasecmp(s, token, tl))
      return 1;
  }
  return 0;
}

/* Whether any header named name lists token: a client may split
 * Connection over several lines ("keep-alive" and "Upgrade"). */
static int header_has(const cn_req *req, const char *name, const char *token) {
  cn_str n, v;
  for (size_t i = 0; cn_req_header_at(req, i, &n, &v) == 0; i++)
    if (cn_str_ieq(n, name) && cn__ws_has_token(v, token))
      return 1;
  return 0;
}

void cn__ws_accept_key(cn_str key, char out[29]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[SHA_DIGEST_LENGTH];
  char buf[24 + sizeof guid];
  size_t n = CN__MIN(key.len, (size_t)24); /* a checked key is 24 bytes */
  memcpy(buf, key.ptr, n);
  memcpy(buf + n, guid, sizeof guid - 1);
  SHA1((const unsigned char *)buf, n + sizeof guid - 1, md);
  EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* 16 bytes in base64: 22 characters of the alphabet, then "==". */
static int key_ok(cn_str k) {
  if (k.len != 24 || k.ptr[22] != '=' || k.ptr[23] != '=')
    return 0;
  for (size_t i = 0; i < 22; i++) {
    char c = k.ptr[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return 0;
  }
  return 1;
}

static int refuse(cn_res *res, int status, const char *why) {
  cn_res_header(res, "Sec-WebSocket-Version", "13");
  if (status == 426)
    cn_res_header(res, "Upgrade", "websocket");
  cn_res_error(res, status, why);
  return CN_EINVAL;
}

int cn_ws_accept(cn_req *req, const cn_ws_handler *h, void *user,
                 const char *protocol) {
  cn_res *res = cn_req_res(req);
  if (!h)
    return CN_EINVAL;
  if (!cn_str_eq(req->msg.rl.method, "GET") || req->msg.rl.minor != 1)
    return refuse(res, 400, "A WebSocket handshake is a GET in HTTP/1.1");
  if (!header_has(req, "upgrade", "websocket") ||
      !header_has(req, "connection", "upgrade"))
    return refuse(res, 426, "This URL speaks WebSocket: send Upgrade: "
                            "websocket and Connection: Upgrade");
  cn_str ver = cn__req_header(req, "sec-websocket-version");
  if (!ver.ptr || !cn_str_eq(ver, "13"))
    return refuse(res, 426, "Only WebSocket version 13 is spoken here");
  cn_str key = cn__req_header(req, "sec-websocket-key");
  if (!key.ptr || !key_ok(key))
    return refuse(res, 400, "Sec-WebSocket-Key must be 16 bytes in base64");
  if (req->ws)
    return CN_ESTATE;

  cn_ws *ws = cn__calloc(1, sizeof *ws);
  if (!ws)
    return CN_ENOMEM;
  atomic_init(&ws->refs, 1); /* the connection's */
  ws->h = h;
  ws->user = user;
  ws->loop = req->loop;
  pthread_mutex_init(&ws->mu, NULL);

  char accept[29];
  cn__ws_accept_key(key, accept);
  /* Connection: Upgrade is the server's to write (respond.c) */
  int rc = cn_res_header(res, "Upgrade", "websocket");
  if (!rc)
    rc = cn_res_header(res, "Sec-WebSocket-Accept", accept);
  if (!rc && protocol && header_has(req, "sec-websocket-protocol", protocol))
    rc = cn_res_header(res, "Sec-WebSocket-Protocol", protocol);
  if (!rc)
    rc = cn_res_send(res, "", 0);
  if (!rc)
    res->status = 101; /* cn_res_status refuses 1xx: only an upgrade is */
  if (rc) {
    pthread_mutex_destroy(&ws->mu);
    cn__free(ws);
    return rc;
  }
  req->ws = ws;
  return 0;
}

void *cn_ws_user(const cn_ws *ws) { return ws->user; }
