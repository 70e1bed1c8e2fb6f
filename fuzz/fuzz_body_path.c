/*
 * fuzz_body_path: the scan that finds a data call's "path" in a request
 * body without parsing it (cn__data_body_path), on any bytes. Properties:
 *   - a slice found lies inside the body, between two double quotes, and
 *     holds neither a quote nor a backslash;
 *   - a body that starts {"path":"X" with X free of quotes and
 *     backslashes gives X.
 * Seeds: fuzz/corpus/body_path/.
 */
#include <stdlib.h>

#include "data/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of its own size, so reading past it is ASan's to catch */
  char *b = malloc(size ? size : 1);
  if (!b)
    return 0;
  memcpy(b, data, size);
  cn_str p = cn__data_body_path(cn__str(b, size));
  if (p.ptr) {
    if (p.ptr <= b || p.ptr + p.len >= b + size || p.ptr[-1] != '"' ||
        p.ptr[p.len] != '"' || memchr(p.ptr, '"', p.len) ||
        memchr(p.ptr, '\\', p.len))
      abort();
  }
  static const char head[] = "{\"path\":\"";
  size_t h = sizeof head - 1;
  if (size > h && !memcmp(b, head, h)) {
    const char *end = memchr(b + h, '"', size - h);
    const char *esc = memchr(b + h, '\\', size - h);
    if (end && (!esc || esc > end) &&
        (!p.ptr || p.ptr != b + h || p.len != (size_t)(end - (b + h))))
      abort();
  }
  free(b);
  return 0;
}
