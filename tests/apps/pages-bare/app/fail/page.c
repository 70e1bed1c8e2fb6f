#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)props;
  return cn_fail(req, "BARE FAILURE %d <b>", 42);
}

CN_PAGE(.loader = load, .dynamic = 1);
