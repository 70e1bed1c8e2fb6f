/* /docs/[slug]: two listed params (prerendered), others on demand; a few
 * slugs answer not found, fail, or redirect. */
#include "../../../lib/t.h"

static int load(cn_req *req, json_t **props) {
  cn_str s = cn_req_param(req, "slug");
  if (SEQ(s, "missing"))
    return cn_not_found(req);
  if (SEQ(s, "boom"))
    return cn_fail(req, "NO DOC <%.*s> & \"secret\"", (int)s.len, s.ptr);
  if (SEQ(s, "redirect"))
    return cn_redirect(req, 0, "/docs/intro");
  if (SEQ(s, "moved"))
    return cn_redirect(req, 308, "/docs/setup?from=moved");
  *props = json_pack("{s:s+%}", "title", "Doc ", s.ptr, s.len);
  return *props ? 0 : CN_ENOMEM;
}

static int meta(cn_req *req, const json_t *props, json_t **m) {
  (void)req;
  *m = json_pack("{s:O}", "title", json_object_get(props, "title"));
  return *m ? 0 : CN_ENOMEM;
}

static int params(json_t **out) {
  *out = json_pack("[{s:s},{s:s}]", "slug", "intro", "slug", "setup");
  return *out ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .generate_metadata = meta, .static_params = params);
