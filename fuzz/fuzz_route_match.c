/*
 * Arbitrary bytes as a request path against a fixed route tree. Never crash,
 * never read past the path, and keep the promises of router.h: only 0,
 * CN_ENOENT or CN_EPARSE; a match has a pattern and non-empty values; a
 * decoded value holds no NUL and is NUL-terminated; a value that needed no
 * decoding is a slice of the path; `path` is the input minus one trailing
 * slash.
 */
#include <stdint.h>
#include <stdlib.h>

#include "router/router.h"

static const char *const routes[] = {
    "/", "/about", "/api", "/api/post/create", "/api/post/[pid]",
    "/api/post/[...slug]", "/api/users/[id]", "/api/users/[id]/posts",
    "/shop/[[...path]]", "/docs", "/docs/[...slug]", "/blog/[slug]/comments",
    "/blog/featured/x", "/[lang]/settings", "/caf\xC3\xA9", "/_under",
    "/files/[name]", "/a/[b]/c/[d]/e/[f]/[...g]",
};

static cn__router *tree(void) {
  static cn__router *r;
  char err[256];
  if (r)
    return r;
  r = cn__router_new();
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
    if (cn__router_add(r, routes[i], routes[i], (void *)routes[i], err,
                       sizeof err))
      abort();
  if (cn__router_finish(r, err, sizeof err))
    abort();
  return r;
}

static int inside(const char *p, const uint8_t *data, size_t size) {
  return (const uint8_t *)p >= data && (const uint8_t *)p < data + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so reading one byte too far is caught. */
  uint8_t *copy = malloc(size ? size : 1);
  char inline_mem[512];
  cn__arena arena;
  cn__route_match m;
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  cn__arena_init(&arena, inline_mem, sizeof inline_mem);
  cn_str path = {(const char *)copy, size};
  int rc = cn__router_match(tree(), path, &arena, &m);
  if (rc != 0 && rc != CN_ENOENT && rc != CN_EPARSE)
    abort();
  if (m.path.ptr != path.ptr || m.path.len + (size_t)m.trailing_slash != size)
    abort();
  if (rc == 0) {
    if (!m.pattern || !m.data || strcmp(m.data, m.pattern) != 0)
      abort();
    for (size_t i = 0; i < m.nparams; i++) {
      const cn__route_param *p = &m.params[i];
      if (!p->name.ptr || !p->nvalues || (!p->is_catchall && p->nvalues != 1))
        abort();
      for (size_t j = 0; j < p->nvalues; j++) {
        cn_str v = p->values[j];
        if (!v.ptr || !v.len)
          abort();
        if (!inside(v.ptr, copy, size) &&
            (memchr(v.ptr, '\0', v.len) || v.ptr[v.len] != '\0'))
          abort();
        if (inside(v.ptr, copy, size) && memchr(v.ptr, '%', v.len))
          abort();
      }
    }
  } else if (m.data || m.pattern || m.nparams) {
    abort();
  }
  cn__arena_destroy(&arena);
  free(copy);
  return 0;
}
