#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_str c = cn_req_cookie(req, "who");
  *props = json_pack("{s:s%}", "who", c.ptr ? c.ptr : "", c.ptr ? c.len : 0);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
