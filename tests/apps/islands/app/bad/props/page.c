/* /bad/props: an island whose props are not an object. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:[i,i]}", "echo", 1, 2);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
