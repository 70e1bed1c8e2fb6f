/*
 * Arbitrary bytes as file paths and as patterns: one per line, into
 * cn__route_pattern_from_file and cn__router_add, then finish, foreach and
 * match. Never crash, and hold the promises of router.h:
 *   - what pattern_from_file gives for a routed file passes the pattern check;
 *   - the same lines added in reverse order give the same finish result, the
 *     same messages and the same listing (order independence);
 *   - an accepted pattern made only of static segments without '%' is found
 *     by matching it as a path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "router/router.h"

#define MAX_LINES 48

typedef struct listing {
  char buf[1 << 15];
  size_t len;
  size_t n;
} listing;

static int collect(const cn__route_info *info, void *ud) {
  listing *l = ud;
  int w = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s\n%s\n",
                   info->pattern, info->source_file ? info->source_file : "");
  if (w > 0 && (size_t)w < sizeof l->buf - l->len)
    l->len += (size_t)w;
  l->n++;
  return 0;
}

static int static_only(const char *p) {
  return strchr(p, '[') == NULL && strchr(p, '%') == NULL;
}

static cn__router *build(char **lines, size_t n, int reverse, int *frc,
                         char *err, size_t errlen, listing *l) {
  cn__router *r = cn__router_new();
  char e[512];
  if (!r)
    abort();
  for (size_t k = 0; k < n; k++) {
    size_t i = reverse ? n - 1 - k : k;
    int rc = cn__router_add(r, lines[i], lines[i], NULL, e, sizeof e);
    if (rc != 0 && rc != CN_EINVAL && rc != CN_ETOOBIG)
      abort();
    if (rc != cn__route_pattern_check(lines[i], e, sizeof e))
      abort();
  }
  *frc = cn__router_finish(r, err, errlen);
  if (*frc != 0 && *frc != CN_EINVAL && *frc != CN_EEXIST)
    abort();
  l->len = l->n = 0;
  l->buf[0] = '\0';
  if (cn__router_foreach(r, collect, l))
    abort();
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static listing l1, l2;
  static char err1[1 << 15], err2[1 << 15];
  char *text = malloc(size + 1), *lines[MAX_LINES];
  size_t n = 0;
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  for (char *s = text; n < MAX_LINES;) {
    lines[n++] = s;
    char *nl = strchr(s, '\n');
    if (!nl)
      break;
    *nl = '\0';
    s = nl + 1;
  }
  for (size_t i = 0; i < n; i++) {
    char out[CN__ROUTE_PATTERN_MAX + 1], err[512];
    cn__route_kind kind;
    int rc = cn__route_pattern_from_file(lines[i], &kind, out, sizeof out,
                                         err, sizeof err);
    if (rc != 0 && rc != CN_EINVAL && rc != CN_ETOOBIG)
      abort();
    if (rc == 0 && kind != CN__ROUTE_NONE &&
        (out[0] != '/' || cn__route_pattern_check(out, err, sizeof err)))
      abort();
    if ((rc != 0 || kind == CN__ROUTE_NONE) && out[0] != '\0')
      abort();
  }
  int frc1, frc2;
  cn__router *r1 = build(lines, n, 0, &frc1, err1, sizeof err1, &l1);
  cn__router *r2 = build(lines, n, 1, &frc2, err2, sizeof err2, &l2);
  if (frc1 != frc2 || strcmp(err1, err2) != 0 || l1.n != l2.n ||
      strcmp(l1.buf, l2.buf) != 0)
    abort();
  for (size_t i = 0; i < n; i++) {
    cn__arena arena;
    cn__route_match m;
    cn__arena_init(&arena, NULL, 0);
    int rc = cn__router_match(r1, cn__cstr(lines[i]), &arena, &m);
    if (rc != 0 && rc != CN_ENOENT && rc != CN_EPARSE)
      abort();
    if (rc == 0 && (!m.pattern || !m.source_file))
      abort();
    cn__arena_destroy(&arena);
  }
  /* Accepted static patterns are found as themselves. */
  for (char *line = l1.buf; *line;) {
    char *sep = strchr(line, '\n'), *nl = sep ? strchr(sep + 1, '\n') : NULL;
    if (!nl)
      abort();
    *sep = '\0';
    if (static_only(line)) {
      cn__arena arena;
      cn__route_match m;
      cn__arena_init(&arena, NULL, 0);
      if (cn__router_match(r1, cn__cstr(line), &arena, &m) != 0 ||
          strcmp(m.pattern, line) != 0)
        abort();
      cn__arena_destroy(&arena);
    }
    line = nl + 1;
  }
  cn__router_free(r1);
  cn__router_free(r2);
  free(text);
  return 0;
}
