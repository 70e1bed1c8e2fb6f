/* Fails without saying why (no cn_fail), on every request. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req, (void)props;
  return CN_EIO;
}

CN_PAGE(.loader = load, .dynamic = 1);
