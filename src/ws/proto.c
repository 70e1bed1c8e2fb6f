/*
 * The WebSocket protocol over buffers: wslay's event API, fed from a slice
 * and writing into a buffer. wslay checks the framing (masking, opcodes,
 * control frame sizes, fragments) and the UTF-8 of text and close reasons
 * (1007), answers pings and closes, and closes with 1009 past the message
 * limit. What it gets wrong for us: a frame its frame layer rejects gets a
 * close without a code, so we write the 1002 ourselves.
 */
#include "ws/ws.h"

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  cn__wsp *p = ud;
  CN__UNUSED(flags);
  if (!p->in_len) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = CN__MIN(len, p->in_len);
  memcpy(buf, p->in, n);
  p->in += n;
  p->in_len -= n;
  return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  cn__wsp *p = ud;
  CN__UNUSED(flags);
  if (cn__buf_append(&p->out, (const char *)data, len)) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a,
                           void *ud) {
  cn__wsp *p = ud;
  CN__UNUSED(ctx);
  CN__UNUSED(a);
  if (p->hooks->activity)
    p->hooks->activity(p->ud);
}

static void on_message(wslay_event_context_ptr ctx,
                       const struct wslay_event_on_msg_recv_arg *a, void *ud) {
  cn__wsp *p = ud;
  const char *data = (const char *)a->msg;
  CN__UNUSED(ctx);
  if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME) {
    if (p->hooks->message) /* wslay gives NULL for an empty message */
      p->hooks->message(p->ud, data ? data : "", a->msg_length,
                        a->opcode == WSLAY_BINARY_FRAME);
  }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .on_frame_recv_start_callback = on_frame_start,
    .on_msg_recv_callback = on_message,
};

int cn__wsp_init(cn__wsp *p, size_t max_message, const cn__wsp_hooks *hooks,
                 void *ud) {
  memset(p, 0, sizeof *p);
  p->hooks = hooks;
  p->ud = ud;
  p->max_message = max_message;
  p->hdr_need = 2;
  return 0;
}

static int wake(cn__wsp *p) {
  if (p->ctx)
    return 0;
  if (wslay_event_context_server_init(&p->ctx, &callbacks, p)) {
    p->ctx = NULL;
    return CN_ENOMEM;
  }
  wslay_event_config_set_max_recv_msg_length(p->ctx, p->max_message);
  return 0;
}

/* Follow frame boundaries in what the client sends (RFC 6455 §5.2), only
 * as far as knowing where each frame ends and whether a fragmented message
 * is open; wslay does the checking. */
static void track(cn__wsp *p, const unsigned char *s, size_t n) {
  while (n) {
    if (p->payload_left) {
      uint64_t take = p->payload_left < n ? p->payload_left : n;
      p->payload_left -= take;
      s += take, n -= (size_t)take;
      continue;
    }
    p->hdr[p->hdr_have++] = *s++, n--;
    if (p->hdr_have == 2) {
      unsigned len = p->hdr[1] & 127;
      p->hdr_need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) +
                    (p->hdr[1] & 0x80 ? 4 : 0);
    }
    if (p->hdr_have < 2 || p->hdr_have < p->hdr_need)
      continue;
    unsigned len = p->hdr[1] & 127, op = p->hdr[0] & 15, fin = p->hdr[0] >> 7;
    uint64_t plen = len;
    if (len >= 126) {
      plen = 0;
      for (unsigned i = 0; i < (len == 126 ? 2u : 8u); i++)
        plen = plen << 8 | p->hdr[2 + i];
    }
    if ((op == 1 || op == 2) && !fin)
      p->in_message = 1;
    else if (op == 0 && fin)
      p->in_message = 0;
    p->payload_left = plen;
    p->hdr_have = 0;
    p->hdr_need = 2;
  }
}

int cn__wsp_sleep(cn__wsp *p) {
  if (!p->ctx || p->failed || p->hdr_have || p->payload_left ||
      p->in_message || p->out.len || wslay_event_want_write(p->ctx) ||
      wslay_event_get_queued_msg_count(p->ctx) ||
      wslay_event_get_close_sent(p->ctx) ||
      wslay_event_get_close_received(p->ctx) ||
      !wslay_event_get_read_enabled(p->ctx))
    return 0;
  wslay_event_context_free(p->ctx);
  p->ctx = NULL;
  return 1;
}

void cn__wsp_free(cn__wsp *p) {
  if (p->ctx)
    wslay_event_context_free(p->ctx);
  p->ctx = NULL;
  cn__buf_free(&p->out);
}

int cn__wsp_feed(cn__wsp *p, const char *data, size_t len) {
  if (p->failed)
    return CN_EIO;
  if (wake(p)) {
    p->failed = 1;
    return CN_EIO;
  }
  track(p, (const unsigned char *)data, len);
  p->in = data;
  p->in_len = len;
  /* Once a close was received or the reading side shut, wslay reads no
   * more; what the peer sends after its close is ignored, as §5.5.1 says. */
  while (p->in_len && wslay_event_get_read_enabled(p->ctx)) {
    if (wslay_event_recv(p->ctx)) {
      /* wslay gives up on some broken frames (a control frame too long
       * or fragmented) without a close frame: send 1002 ourselves, then
       * the connection is dropped. */
      if (!wslay_event_get_close_sent(p->ctx)) {
        /* wslay queued a close without a code; ours goes instead, written
         * by hand since its context takes no more frames */
        static const char close_1002[] = {(char)0x88, 2, 0x03, (char)0xEA};
        if (cn__buf_append(&p->out, close_1002, sizeof close_1002))
          p->out.len = 0;
      }
      p->failed = 1;
      return CN_EIO;
    }
  }
  p->in = NULL;
  p->in_len = 0;
  return cn__wsp_flush(p);
}

int cn__wsp_queue(cn__wsp *p, const char *data, size_t len, int binary) {
  if (wake(p))
    return CN_ENOMEM;
  struct wslay_event_msg m = {
      .opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
      .msg = (const uint8_t *)data,
      .msg_length = len,
  };
  int rc = wslay_event_queue_msg(p->ctx, &m);
  if (rc == WSLAY_ERR_NO_MORE_MSG)
    return CN_ECLOSED;
  return rc ? CN_ENOMEM : 0;
}

int cn__wsp_queue_close(cn__wsp *p, int code, const char *reason, size_t n) {
  if (wake(p))
    return CN_ENOMEM;
  int rc = wslay_event_queue_close(p->ctx, (uint16_t)code,
                                   (const uint8_t *)reason, n);
  if (rc == WSLAY_ERR_NO_MORE_MSG)
    return CN_ECLOSED;
  return rc ? CN_EINVAL : 0;
}

int cn__wsp_queue_ping(cn__wsp *p) {
  if (wake(p))
    return CN_ENOMEM;
  struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = NULL,
                              .msg_length = 0};
  return wslay_event_queue_msg(p->ctx, &m) ? CN_ECLOSED : 0;
}

int cn__wsp_flush(cn__wsp *p) {
  if (p->failed)
    return CN_EIO;
  if (p->ctx && wslay_event_want_write(p->ctx) && wslay_event_send(p->ctx)) {
    p->failed = 1;
    return CN_EIO;
  }
  return 0;
}

/* Asleep, the context had nothing queued and no close under way. */
size_t cn__wsp_queued(const cn__wsp *p) {
  return p->ctx ? wslay_event_get_queued_msg_length(p->ctx) : 0;
}

int cn__wsp_close_sent(const cn__wsp *p) {
  return p->failed || (p->ctx && wslay_event_get_close_sent(p->ctx));
}

int cn__wsp_reading(const cn__wsp *p) {
  return !p->failed && (!p->ctx || wslay_event_get_read_enabled(p->ctx));
}

int cn__wsp_close_received(const cn__wsp *p) {
  return p->failed || (p->ctx && wslay_event_get_close_received(p->ctx));
}

int cn__wsp_peer_code(const cn__wsp *p) {
  if (!p->ctx || !wslay_event_get_close_received(p->ctx))
    return 0;
  return wslay_event_get_status_code_received(p->ctx);
}

/* ---------------------------------------------------------------- UTF-8 */

int cn__utf8_valid(const char *str, size_t len) {
  if (!len)
    return 1;
  const unsigned char *s = (const unsigned char *)str, *e = s + len;
  while (s < e) {
    unsigned c = *s;
    if (c < 0x80) {
      s++;
      continue;
    }
    size_t n;
    unsigned min, cp;
    if ((c & 0xE0) == 0xC0)
      n = 1, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      n = 2, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      n = 3, min = 0x10000, cp = c & 0x07;
    else
      return 0;
    if ((size_t)(e - s) <= n)
      return 0;
    for (size_t i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    s += n + 1;
  }
  return 1;
}
