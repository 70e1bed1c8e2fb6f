/* The docs section's layout: its loader sees the params too, and can say
 * "not found" or fail for the whole section (the boundary above it then
 * answers, not app/docs/not-found.html or app/docs/error.html). */
#include "../../lib/t.h"

static int load(cn_req *req, json_t **props) {
  cn_str s = cn_req_param(req, "slug");
  if (SEQ(s, "layout-missing"))
    return cn_not_found(req);
  if (SEQ(s, "layout-boom"))
    return cn_fail(req, "DOCS LAYOUT EXPLODED");
  if (SEQ(s, "layout-redirect"))
    return cn_redirect(req, 308, "/docs");
  *props = json_pack("{s:s,s:s%}", "section", "Docs", "lslug",
                     s.ptr ? s.ptr : "", s.ptr ? s.len : 0);
  return *props ? 0 : CN_ENOMEM;
}

CN_LAYOUT(.loader = load,
          .metadata = {.title = "Docs Home", .title_template = "%s · Docs",
                       .description = "docs description"});
