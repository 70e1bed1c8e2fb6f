/* /files/[...path]: a catch-all with listed params (arrays of segments). */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s}", "kind", "files");
  return *props ? 0 : CN_ENOMEM;
}

static int params(json_t **out) {
  *out = json_pack("[{s:[s,s]},{s:[s,s]}]", "path", "a", "b", "path", "x y",
                   "\xc3\xbc");
  return *out ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .static_params = params);
