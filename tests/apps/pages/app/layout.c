/* The root layout: its loader sees the page's params (rslug). */
#include "../lib/t.h"

static int load(cn_req *req, json_t **props) {
  cn_str s = cn_req_param(req, "slug");
  *props = json_pack("{s:s,s:s%}", "site", "Pages & <Co>", "rslug",
                     s.ptr ? s.ptr : "", s.ptr ? s.len : 0);
  return *props ? 0 : CN_ENOMEM;
}

CN_LAYOUT(.loader = load,
          .metadata = {.title = "Root Title", .title_template = "%s | Site",
                       .description = "root description",
                       .og_title = "Root OG", .og_site_name = "Site"});
