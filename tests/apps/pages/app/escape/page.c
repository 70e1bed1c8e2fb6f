/* Hostile props: only {{{x}}} and {{&x}} may write them raw. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:{s:s}}", "script",
                     "<script>alert('x')</script>", "attr",
                     "\" onmouseover=\"alert(1)", "amp", "Tom & Jerry",
                     "single", "it's", "list", "<i>", "&", "obj", "html",
                     "<b>\"bold\"</b>");
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
