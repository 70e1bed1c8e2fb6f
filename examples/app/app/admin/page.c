/* /admin: an action that revalidates the tag "posts", as an editor's
 * "publish" button would after changing posts behind cairn's back. (A real
 * admin page would check who is asking: the data layer brings auth.) */
#include <cairn.h>

static int refresh(cn_req *req, const json_t *bound, json_t **state) {
  (void)req, (void)bound;
  int rc = cn_revalidate_tag("posts");
  if (rc)
    return rc;
  *state = json_pack("{s:b}", "refreshed", 1);
  return *state ? 0 : CN_ENOMEM;
}

CN_PAGE(.metadata = {.title = "Admin", .robots = "noindex"},
        .actions = {{"refresh", refresh}});
