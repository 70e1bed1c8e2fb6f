#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)props;
  return cn_redirect(req, 308, "/docs");
}

CN_PAGE(.loader = load);
