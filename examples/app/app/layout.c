/* The root layout's loader and the site's metadata: every title below is
 * "<page title> | cairn". */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s,s:s}", "site", "cairn", "version",
                     CN_VERSION_STRING);
  return *props ? 0 : CN_ENOMEM;
}

CN_LAYOUT(.loader = load,
          .metadata = {.title = "cairn",
                       .title_template = "%s | cairn",
                       .description = "The Next.js server runtime, rebuilt "
                                      "in C.",
                       .og_site_name = "cairn",
                       .og_type = "website"});
