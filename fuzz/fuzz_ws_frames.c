/*
 * fuzz_ws_frames: arbitrary bytes as what a WebSocket client sends, fed to
 * the protocol layer (src/ws/proto.c) in pieces whose size the first byte
 * picks, each message echoed back as the socket layer would. Checked
 * against an oracle written here from RFC 6455: every text message
 * delivered is valid UTF-8, and everything the server writes parses as
 * unmasked server frames with known opcodes, control payloads of at most
 * 125 bytes, and close codes a server may send.
 * Seeds: fuzz/corpus/ws_frames/.
 */
#include <stdlib.h>

#include "ws/ws.h"

static cn__wsp wsp;
static size_t delivered;

static void on_msg(void *ud, const char *data, size_t len, int binary) {
  (void)ud;
  if (!binary && !cn__utf8_valid(data, len))
    abort(); /* text that is not UTF-8 must never reach the app */
  delivered += len;
  cn__wsp_queue(&wsp, data, len, binary);
}

static const cn__wsp_hooks hooks = {on_msg, NULL};

static void check_output(const unsigned char *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    if (n - off < 2)
      abort();
    unsigned op = p[off] & 15, len = p[off + 1] & 127;
    if (p[off + 1] & 0x80 || (p[off] & 0x70))
      abort(); /* masked or RSV bits from a server */
    size_t hl = 2, plen = len;
    if (len == 126) {
      if (n - off < 4)
        abort();
      plen = (size_t)p[off + 2] << 8 | p[off + 3];
      hl = 4;
    } else if (len == 127) {
      if (n - off < 10)
        abort();
      plen = 0;
      for (int i = 0; i < 8; i++)
        plen = plen << 8 | p[off + 2 + i];
      hl = 10;
    }
    if (!(op == 1 || op == 2 || op == 8 || op == 9 || op == 10))
      abort();
    if (op >= 8 && (plen > 125 || !(p[off] & 0x80)))
      abort();
    if (n - off - hl < plen)
      abort();
    if (op == 8 && plen >= 2) {
      unsigned code = (unsigned)p[off + hl] << 8 | p[off + hl + 1];
      if (code < 1000 || code == 1004 || code == 1005 || code == 1006 ||
          (code > 1011 && code < 3000) || code > 4999)
        abort();
    }
    if (op == 8 && plen == 1)
      abort();
    off += hl + plen;
  }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (!size)
    return 0;
  size_t piece = (size_t)data[0] % 17 + 1;
  data++, size--;
  if (cn__wsp_init(&wsp, 4096, &hooks, NULL))
    return 0;
  delivered = 0;
  for (size_t off = 0; off < size; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    if (cn__wsp_feed(&wsp, (const char *)data + off, n))
      break;
  }
  cn__wsp_flush(&wsp);
  check_output((const unsigned char *)wsp.out.ptr, wsp.out.len);
  cn__wsp_free(&wsp);
  return 0;
}
