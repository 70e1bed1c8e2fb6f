/* /public: a CN_PUBLIC_ variable may be shown. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s}", "greeting", cn_env("CN_PUBLIC_GREETING"));
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
