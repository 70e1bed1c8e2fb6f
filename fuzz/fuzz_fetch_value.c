/*
 * fuzz_fetch_value: arbitrary bytes as a fetch's cached value
 * (src/fetch/spec.c, cn__fetch_value_decode), as a second-level store
 * could hand them back. The format is canonical, so the oracle is
 * exact: whatever decodes must encode back to the very same bytes, and
 * its slices must lie inside the input and be NUL-terminated.
 * Seeds: fuzz/corpus/fetch_value/.
 */
#include <stdlib.h>

#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  int status;
  cn_str ctype, body;
  const char *p = (const char *)data;
  if (cn__fetch_value_decode(data, size, &status, &ctype, &body))
    return 0;
  if (status < 100 || status > 999 || ctype.ptr < p || body.ptr < p ||
      ctype.ptr + ctype.len >= p + size || body.ptr + body.len >= p + size ||
      ctype.ptr[ctype.len] || body.ptr[body.len] ||
      strlen(ctype.ptr) != ctype.len)
    abort();
  cn__buf again = {0};
  if (cn__fetch_value_encode(status, ctype, body, &again) ||
      again.len != size || memcmp(again.ptr, data, size))
    abort();
  cn__buf_free(&again);
  return 0;
}
