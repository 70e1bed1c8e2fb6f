/*
 * The WebSocket pieces that need no socket: UTF-8 validation, the accept
 * key, header token lists, and the protocol layer over buffers (a masked
 * client frame in, the server's frames out).
 */
#include "check.h"
#include "ws/ws.h"

TEST(utf8_table) {
  static const struct {
    const char *s;
    size_t n;
    int ok;
  } cases[] = {
      {"", 0, 1},
      {"plain ascii", 11, 1},
      {"h\xc3\xa9llo", 6, 1},                /* é */
      {"\xe2\x9c\x93", 3, 1},                /* ✓ */
      {"\xf0\x9f\x98\x80", 4, 1},            /* U+1F600 */
      {"\xf4\x8f\xbf\xbf", 4, 1},            /* U+10FFFF, the last */
      {"\xc3\x28", 2, 0},                    /* bad continuation */
      {"\xc3", 1, 0},                        /* truncated */
      {"\xe2\x9c", 2, 0},                    /* truncated */
      {"\xc0\xaf", 2, 0},                    /* overlong '/' */
      {"\xe0\x80\xaf", 3, 0},                /* overlong */
      {"\xf0\x80\x80\xaf", 4, 0},            /* overlong */
      {"\xed\xa0\x80", 3, 0},                /* surrogate U+D800 */
      {"\xed\xbf\xbf", 3, 0},                /* surrogate U+DFFF */
      {"\xf4\x90\x80\x80", 4, 0},            /* past U+10FFFF */
      {"\xf8\x88\x80\x80\x80", 5, 0},        /* 5-byte form */
      {"\xff", 1, 0},
      {"\x80", 1, 0},                        /* lone continuation */
      {"a\0b", 3, 1},                        /* NUL is a character */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (cn__utf8_valid(cases[i].s, cases[i].n) != cases[i].ok) {
      fprintf(stderr, "utf8 case %zu\n", i);
      CHECK(0);
    }
}

TEST(accept_key_rfc_example) {
  char out[29];
  cn__ws_accept_key(CN_STR("dGhlIHNhbXBsZSBub25jZQ=="), out);
  CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(token_lists) {
  CHECK(cn__ws_has_token(CN_STR("Upgrade"), "upgrade"));
  CHECK(cn__ws_has_token(CN_STR("keep-alive, Upgrade"), "upgrade"));
  CHECK(cn__ws_has_token(CN_STR(" keep-alive ,\tUPGRADE\t"), "upgrade"));
  CHECK(!cn__ws_has_token(CN_STR("upgrader"), "upgrade"));
  CHECK(!cn__ws_has_token(CN_STR("no-upgrade"), "upgrade"));
  CHECK(!cn__ws_has_token(CN_STR(""), "upgrade"));
  CHECK(!cn__ws_has_token(CN_STR(",,,"), "upgrade"));
  CHECK(cn__ws_has_token(CN_STR("a,,websocket"), "websocket"));
}

static char got[256];
static size_t got_len;
static int got_binary, got_count;

static void on_msg(void *ud, const char *data, size_t len, int binary) {
  (void)ud;
  got_len = len < sizeof got ? len : sizeof got;
  memcpy(got, data, got_len);
  got_binary = binary;
  got_count++;
}

static const cn__wsp_hooks hooks = {on_msg, NULL};

/* A masked client frame (payload < 126 bytes). */
static size_t client_frame(unsigned char *out, int b0, const char *payload,
                           size_t n) {
  static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  out[0] = (unsigned char)b0;
  out[1] = (unsigned char)(0x80 | n);
  memcpy(out + 2, key, 4);
  for (size_t i = 0; i < n; i++)
    out[6 + i] = (unsigned char)payload[i] ^ key[i % 4];
  return 6 + n;
}

TEST(protocol_message_ping_close) {
  cn__wsp p;
  CHECK_EQ_INT(cn__wsp_init(&p, 1024, &hooks, NULL), 0);
  unsigned char f[200];
  got_count = 0;
  /* RFC 6455 §5.7's masked "Hello", fed one byte at a time */
  size_t n = client_frame(f, 0x81, "Hello", 5);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f + i, 1), 0);
  CHECK_EQ_INT(got_count, 1);
  CHECK(got_len == 5 && !memcmp(got, "Hello", 5) && !got_binary);
  /* the server's unmasked "Hello" is exactly §5.7's bytes */
  CHECK_EQ_INT(cn__wsp_queue(&p, "Hello", 5, 0), 0);
  CHECK_EQ_INT(cn__wsp_flush(&p), 0);
  CHECK(p.out.len == 7 && !memcmp(p.out.ptr, "\x81\x05Hello", 7));
  p.out.len = 0;
  /* a ping is answered with a pong carrying its payload */
  n = client_frame(f, 0x89, "ab", 2);
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f, n), 0);
  CHECK(p.out.len == 4 && !memcmp(p.out.ptr, "\x8a\x02" "ab", 4));
  p.out.len = 0;
  /* a close with 1000 is echoed, and then nothing more is read */
  n = client_frame(f, 0x88, "\x03\xe8", 2);
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f, n), 0);
  CHECK(p.out.len == 4 && !memcmp(p.out.ptr, "\x88\x02\x03\xe8", 4));
  CHECK(cn__wsp_close_received(&p) && cn__wsp_close_sent(&p));
  CHECK_EQ_INT(cn__wsp_peer_code(&p), 1000);
  CHECK(!cn__wsp_reading(&p));
  CHECK_EQ_INT(cn__wsp_queue(&p, "late", 4, 0), CN_ECLOSED);
  cn__wsp_free(&p);
}

TEST(protocol_errors_close_with_codes) {
  static const struct {
    int b0;
    const char *payload;
    size_t n;
    int mask;
    unsigned code;
  } cases[] = {
      {0x81, "x", 1, 0, 1002},          /* unmasked */
      {0x83, "x", 1, 1, 1002},          /* reserved opcode */
      {0xC1, "x", 1, 1, 1002},          /* RSV1 */
      {0x09, "x", 1, 1, 1002},          /* fragmented ping */
      {0x80, "x", 1, 1, 1002},          /* continuation of nothing */
      {0x81, "\xc3\x28", 2, 1, 1007},   /* not UTF-8 */
      {0x88, "\x03\xed", 2, 1, 1002},   /* close code 1005 is not sendable */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cn__wsp p;
    CHECK_EQ_INT(cn__wsp_init(&p, 1024, &hooks, NULL), 0);
    unsigned char f[64];
    size_t n = client_frame(f, cases[i].b0, cases[i].payload, cases[i].n);
    if (!cases[i].mask) { /* drop the mask bit and key */
      f[1] &= 0x7f;
      memcpy(f + 2, cases[i].payload, cases[i].n);
      n = 2 + cases[i].n;
    }
    got_count = 0;
    cn__wsp_feed(&p, (const char *)f, n);
    unsigned code = p.out.len >= 4 && (unsigned char)p.out.ptr[0] == 0x88
                        ? (unsigned)(unsigned char)p.out.ptr[2] << 8 |
                              (unsigned char)p.out.ptr[3]
                        : 0;
    if (code != cases[i].code || got_count) {
      fprintf(stderr, "case %zu: close %u, %d messages\n", i, code, got_count);
      CHECK(0);
    }
    cn__wsp_free(&p);
  }
}

TEST(message_too_big_is_1009) {
  cn__wsp p;
  CHECK_EQ_INT(cn__wsp_init(&p, 4, &hooks, NULL), 0);
  unsigned char f[64];
  got_count = 0;
  size_t n = client_frame(f, 0x82, "12345", 5);
  cn__wsp_feed(&p, (const char *)f, n);
  CHECK(p.out.len >= 4 && !memcmp(p.out.ptr, "\x88\x02\x03\xf1", 4));
  CHECK_EQ_INT(got_count, 0);
  cn__wsp_free(&p);
}

/* The context sleeps only between messages, and wakes whole. */
TEST(sleep_only_at_rest) {
  cn__wsp p;
  CHECK_EQ_INT(cn__wsp_init(&p, 1024, &hooks, NULL), 0);
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0); /* nothing to give back yet */
  unsigned char f[64];
  got_count = 0;
  size_t n = client_frame(f, 0x01, "par", 3); /* first fragment */
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f, 3), 0); /* part of it */
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0);                   /* mid-frame */
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f + 3, n - 3), 0);
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0);                   /* mid-message */
  n = client_frame(f, 0x80, "ts", 2);
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)f, n), 0);
  CHECK(got_count == 1 && got_len == 5 && !memcmp(got, "parts", 5));
  CHECK_EQ_INT(cn__wsp_sleep(&p), 1);
  CHECK(p.ctx == NULL);
  /* asleep: still reading, nothing queued, no close */
  CHECK(cn__wsp_reading(&p) && !cn__wsp_close_sent(&p) && !cn__wsp_queued(&p));
  /* a 16-bit length header split over two feeds, after waking */
  char big[200];
  memset(big, 'b', sizeof big);
  unsigned char g[256] = {0x82, 0x80 | 126, 0, 200, 1, 2, 3, 4};
  for (size_t i = 0; i < 200; i++)
    g[8 + i] = (unsigned char)big[i] ^ g[4 + i % 4];
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)g, 3), 0);
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0);
  CHECK_EQ_INT(cn__wsp_feed(&p, (const char *)g + 3, 205), 0);
  CHECK(got_count == 2 && got_binary && got_len == 200);
  /* a message queued but not flushed keeps it awake */
  CHECK_EQ_INT(cn__wsp_queue(&p, "x", 1, 0), 0);
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0);
  CHECK_EQ_INT(cn__wsp_flush(&p), 0);
  CHECK_EQ_INT(cn__wsp_sleep(&p), 0); /* its bytes are not written yet */
  p.out.len = 0;
  CHECK_EQ_INT(cn__wsp_sleep(&p), 1);
  cn__wsp_free(&p);
}

int main(void) {
  RUN(utf8_table);
  RUN(accept_key_rfc_example);
  RUN(token_lists);
  RUN(protocol_message_ping_close);
  RUN(protocol_errors_close_with_codes);
  RUN(message_too_big_is_1009);
  RUN(sleep_only_at_rest);
  return check_summary();
}
