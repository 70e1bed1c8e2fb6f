/* /stream: the shell goes out, then a deferred section that would show a
 * secret: it fails as a section, the rest of the page stands. */
#include <cairn.h>

static int secret(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s}", "token", cn_env("SECRET_TOKEN"));
  return *props ? 0 : CN_ENOMEM;
}

static int fine(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s}", "word", "harmless");
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.dynamic = 1, .deferred = {{"secret", secret}, {"fine", fine}});
