/* Always "not found": no not-found.html in app/nf, so the root's. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)props;
  return cn_not_found(req);
}

CN_PAGE(.loader = load);
