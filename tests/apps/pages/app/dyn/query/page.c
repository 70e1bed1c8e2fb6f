#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_str q = cn_req_query_get(req, "q");
  *props = json_pack("{s:s%}", "q", q.ptr ? q.ptr : "", q.ptr ? q.len : 0);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
