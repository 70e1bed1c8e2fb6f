/*
 * fuzz_static_range: arbitrary bytes as the Range, If-Range and
 * If-None-Match headers of a GET for a file of a size taken from the first
 * bytes, through cn__static_decide. Checks the answer, not only memory:
 * a 206 selects a non-empty span inside the file and says so in its
 * Content-Range; a 416 selects nothing; a 200 is the whole file.
 * Seeds: fuzz/corpus/static_range/.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "static/static_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t fsize = 0;
  if (size >= 2) { /* sizes near 0, near 2^16 and near 2^64 all matter */
    fsize = (uint64_t)data[0] | (uint64_t)data[1] << 8;
    if (data[0] & 0x80)
      fsize = UINT64_MAX - fsize;
    data += 2;
    size -= 2;
  }
  char hdr[CN__STATIC_HDR_MAX];
  cn__static_view v;
  cn__static_format(hdr, "text/plain; charset=utf-8", 784111777, fsize, &v);
  cn_str in = cn__str((const char *)data, size);
  /* The same bytes as Range, and (on odd sizes) as If-Range / INM. */
  cn__static_req rq = {.method = CN_STR("GET"), .path = CN_STR("/x"),
                       .range = in};
  if (size & 1)
    rq.if_range = in;
  if (size & 2)
    rq.if_none_match = in;
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__static_reply r = {.fd = -1};
  if (cn__static_decide(&v, &rq, 0, &a, &r) != 0)
    abort();
  char want[128];
  switch (r.status) {
  case 304:
    if (r.body_len || r.headers.len != v.hdr304_len)
      abort();
    break;
  case 200:
    if (r.body_len != fsize || r.offset || r.headers.ptr != v.hdr)
      abort();
    break;
  case 206:
    if (!r.body_len || r.offset >= fsize || r.body_len > fsize - r.offset)
      abort();
    snprintf(want, sizeof want,
             "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
             r.offset, r.offset + r.body_len - 1, fsize);
    if (r.headers.len != v.hdr_len + strlen(want) ||
        memcmp(r.headers.ptr + v.hdr_len, want, strlen(want)))
      abort();
    break;
  case 416:
    snprintf(want, sizeof want, "Content-Range: bytes */%" PRIu64 "\r\n",
             fsize);
    if (r.body_len || r.headers.len != strlen(want) ||
        memcmp(r.headers.ptr, want, r.headers.len))
      abort();
    break;
  default:
    abort();
  }
  cn__arena_destroy(&a);
  return 0;
}
