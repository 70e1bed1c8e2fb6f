/* A static page that redirects: decided at build. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)props;
  return cn_redirect(req, 0, "/docs/intro");
}

CN_PAGE(.loader = load);
