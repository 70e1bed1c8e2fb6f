/*
 * The connection's request-parsing path (scan gate, request line, llhttp,
 * framing rules, bodies), fed arbitrary bytes in arbitrary pieces the way
 * a socket delivers them. Checks the invariants a handler relies on.
 */
#include <assert.h>
#include <stdlib.h>

#include "http/http.h"

static const cn__parser_limits LIM = {{512, 2048, 20}, 4096, 256};

typedef struct ctx {
  cn__arena arena;
  cn__message msgs[4];
  int n;
} ctx;

static cn__message *new_message(void *ud) {
  ctx *c = ud;
  if (c->n == 4) { /* recycle, as a connection does after each response */
    for (int i = 0; i < 4; i++)
      cn__buf_free(&c->msgs[i].body);
    c->n = 0;
    cn__arena_reset(&c->arena);
  }
  cn__message *m = &c->msgs[c->n++];
  memset(m, 0, sizeof(*m));
  m->arena = &c->arena;
  return m;
}

static int on_head(void *ud, cn__message *m) {
  (void)ud;
  if (m->rl.path.len > 1 && m->rl.path.ptr[1] == 's')
    m->body_limit = 16; /* some routes have a small limit */
  return 0;
}

static const cn__parser_hooks HOOKS = {.new_message = new_message,
                                       .on_head = on_head};

static void check_message(const cn__message *m) {
  assert(cn__method_known(m->rl.method));
  assert(m->rl.path.len > 0);
  assert(m->rl.path.ptr[0] == '/' || m->rl.path.ptr[0] == '*');
  assert(m->body.len <= m->body_limit);
  assert(!(m->chunked && m->info.cl_count));
  assert(m->rl.minor == 0 || m->info.host_count == 1);
  for (size_t i = 0; i < m->nheaders; i++) {
    assert(cn__header_name_valid(m->headers[i].name.ptr,
                                 m->headers[i].name.len));
    assert(cn__header_value_valid(m->headers[i].value.ptr,
                                  m->headers[i].value.len));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t step = (data[0] % 16) + 1; /* the socket's piece size */
  data++, size--;
  ctx c;
  memset(&c, 0, sizeof c);
  cn__arena_init(&c.arena, NULL, 0);
  cn__parser p;
  cn__parser_init(&p, &LIM, &HOOKS, &c);
  char *buf = malloc(size + 1);
  size_t have = 0, fed = 0;
  int stop = 0;
  while (!stop && fed < size) {
    size_t take = step < size - fed ? step : size - fed;
    memcpy(buf + have, data + fed, take);
    have += take;
    fed += take;
    size_t off = 0;
    while (!stop) {
      size_t used = 0;
      int rc = cn__parser_feed(&p, buf + off, have - off, &used);
      assert(used <= have - off);
      off += used;
      if (rc == CN__PARSE_DONE) {
        check_message(p.msg);
        if (!p.msg->keep_alive)
          stop = 1; /* nothing after a close is parsed */
        p.msg = NULL;
        continue;
      }
      if (rc != CN__PARSE_MORE) {
        assert(rc == 400 || rc == 413 || rc == 414 || rc == 417 ||
               rc == 431 || rc == 501 || rc == 503 || rc == 505);
        stop = 1;
      }
      break;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
  }
  free(buf);
  for (int i = 0; i < c.n; i++)
    cn__buf_free(&c.msgs[i].body);
  cn__arena_destroy(&c.arena);
  return 0;
}
