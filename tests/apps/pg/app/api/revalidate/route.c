/* POST /api/revalidate?tag=T */
#include <cairn.h>

static int post(cn_req *req, cn_res *res) {
  cn_str t = cn_req_query_get(req, "tag");
  int rc = t.ptr ? cn_revalidate_tag(cn_req_strndup(req, t.ptr, t.len))
                 : CN_EINVAL;
  return rc ? cn_res_error(res, 400, cn_strerror(rc))
            : cn_res_text(res, 200, "ok");
}

CN_ROUTE(.POST = post);
