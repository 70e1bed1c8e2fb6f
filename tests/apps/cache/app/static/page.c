#include "../../lib/counters.h"

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:i}", "n", counter_bump("static"));
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
