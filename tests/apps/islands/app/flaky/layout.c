/* /flaky's layout: a counter island whose state a retry must keep. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:{s:i}}", "counter", "start", 10);
  return *props ? 0 : CN_ENOMEM;
}

CN_LAYOUT(.loader = load);
