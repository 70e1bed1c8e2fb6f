/* /action: a server action whose state carries a secret (leak) or not. */
#include <cairn.h>

static int leak(cn_req *req, const json_t *bound, json_t **state) {
  (void)req;
  (void)bound;
  *state = json_pack("{s:s}", "token", cn_env("SECRET_TOKEN"));
  return *state ? 0 : CN_ENOMEM;
}

static int fine(cn_req *req, const json_t *bound, json_t **state) {
  (void)req;
  (void)bound;
  *state = json_pack("{s:s}", "token", "nothing secret");
  return *state ? 0 : CN_ENOMEM;
}

CN_PAGE(.dynamic = 1, .actions = {{"leak", leak}, {"fine", fine}});
