/* lib/big.h: the body of /res/big and /res/big-unlimited, which differ
 * only in their response_limit: ?bytes=N of 'x' (default 5 MiB), sent
 * whole, or with ?stream=1 in 64 KiB writes. */
#ifndef T_BIG_H
#define T_BIG_H

#include "t.h"

static int big_handle(cn_req *req, cn_res *res) {
  long long n = t_qnum(req, "bytes", 5 << 20);
  cn_res_header(res, "Content-Type", "application/octet-stream");
  if (t_qnum(req, "stream", 0)) {
    char *chunk = cn_req_alloc(req, 65536);
    if (!chunk)
      return CN_ENOMEM;
    memset(chunk, 'x', 65536);
    for (long long left = n; left > 0;) {
      size_t k = left < 65536 ? (size_t)left : 65536;
      int rc = cn_res_write(res, chunk, k);
      if (rc)
        return rc;
      left -= (long long)k;
    }
    return cn_res_end(res);
  }
  char *body = cn_req_alloc(req, n ? (size_t)n : 1);
  if (!body)
    return CN_ENOMEM;
  memset(body, 'x', (size_t)n);
  return cn_res_send(res, body, (size_t)n);
}

#endif
