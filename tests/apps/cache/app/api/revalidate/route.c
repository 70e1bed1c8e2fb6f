/* POST /api/revalidate?tag=T | ?path=/p[&type=page|layout]: on-demand
 * revalidation from a route handler; ?fail=1 flips the ISR page's loader
 * into failing (and back). */
#include "../../../lib/counters.h"

static int post(cn_req *req, cn_res *res) {
  cn_str t = cn_req_query_get(req, "tag"), p = cn_req_query_get(req, "path"),
         ty = cn_req_query_get(req, "type");
  int rc = 0;
  if (cn_req_query_get(req, "fail").ptr)
    counter_bump("isr-fail");
  if (t.ptr)
    rc = cn_revalidate_tag(cn_req_strndup(req, t.ptr, t.len));
  if (!rc && p.ptr)
    rc = cn_revalidate_path(cn_req_strndup(req, p.ptr, p.len),
                            ty.ptr ? cn_req_strndup(req, ty.ptr, ty.len)
                                   : NULL);
  return rc ? cn_res_error(res, 400, cn_strerror(rc))
            : cn_res_text(res, 200, "ok");
}

CN_ROUTE(.POST = post);
