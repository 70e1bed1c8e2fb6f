/* /fields: a tainted object whose public fields are rendered one by one,
 * and given to an island as props made of those fields only. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  json_t *user = json_pack("{s:s,s:s}", "name", "Ada", "password_hash",
                           "pbkdf2$not-for-the-browser");
  if (!user || cn_taint_object(user, "the user's database record")) {
    json_decref(user);
    return CN_ENOMEM;
  }
  *props = json_pack("{s:o,s:{s:O}}", "user", user, "echo", "name",
                     json_object_get(user, "name"));
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
