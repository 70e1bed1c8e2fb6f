/* app/res/stream/route.c: a streamed response the suite can hold open.
 * GET writes "first\n", then waits (up to 10 s) until a POST to this route
 * has been made since it started, then writes "second\n" and "third\n" and
 * ends. So the suite sees the first chunk arrive while the handler is
 * still running, without timing anything. ?hold=0 writes all three at once. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <time.h>

#include "../../../lib/t.h"

static atomic_int releases;

static int get(cn_req *req, cn_res *res) {
  int seen = atomic_load(&releases);
  cn_res_header(res, "Content-Type", "text/plain; charset=utf-8");
  cn_res_header(res, "x-streamed", "yes");
  int rc = cn_res_write(res, "first\n", 6);
  if (rc)
    return rc;
  if (t_qnum(req, "hold", 1)) {
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 10000 && atomic_load(&releases) == seen &&
                    !cn_req_aborted(req);
         i++)
      nanosleep(&ms, NULL);
  }
  if ((rc = cn_res_write(res, "second\n", 7)) ||
      (rc = cn_res_write(res, "third\n", 6)))
    return rc;
  return cn_res_end(res);
}

static int release(cn_req *req, cn_res *res) {
  (void)req;
  atomic_fetch_add(&releases, 1);
  return cn_res_text(res, 200, "released\n");
}

CN_ROUTE(.GET = get, .POST = release);
