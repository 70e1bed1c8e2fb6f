/* /island: a secret in an island's props. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:{s:i,s:s}}", "echo", "n", 1, "token",
                     cn_env("SECRET_TOKEN"));
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
