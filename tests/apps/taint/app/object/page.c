/* /object: the tainted object itself as an island's prop. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  json_t *user = json_pack("{s:s,s:s}", "name", "Ada", "password_hash",
                           "pbkdf2$not-for-the-browser");
  if (!user || cn_taint_object(user, "the user's database record")) {
    json_decref(user);
    return CN_ENOMEM;
  }
  *props = json_pack("{s:{s:o}}", "echo", "user", user);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
