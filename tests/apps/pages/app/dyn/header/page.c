#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_str h = cn_req_header(req, "x-who");
  *props = json_pack("{s:s%}", "who", h.ptr ? h.ptr : "", h.ptr ? h.len : 0);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
