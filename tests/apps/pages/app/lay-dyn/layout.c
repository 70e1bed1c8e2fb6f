/* A layout that reads a header makes the pages under it dynamic. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_str h = cn_req_header(req, "x-theme");
  *props = json_pack("{s:s%}", "theme", h.ptr ? h.ptr : "none",
                     h.ptr ? h.len : 4);
  return *props ? 0 : CN_ENOMEM;
}

CN_LAYOUT(.loader = load);
