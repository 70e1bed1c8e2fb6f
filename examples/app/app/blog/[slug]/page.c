/* /blog/[slug]: one post. static_params lists the posts to prerender at
 * build; any other slug is rendered on its first request and then kept,
 * and an unknown one answers the blog's not-found page. Kept pages are
 * regenerated in the background a minute after they were rendered. */
#include <cairn.h>

#include "../../../lib/posts.h"

static int load(cn_req *req, json_t **props) {
  cn_str slug = cn_req_param(req, "slug");
  const post *p = post_find(slug);
  post written;
  char mem[2400];
  if (!p && post_added_find(slug, &written, mem, sizeof mem))
    p = &written;
  if (!p)
    return cn_not_found(req);
  *props = post_json(p);
  return *props ? 0 : CN_ENOMEM;
}

/* The title and the Open Graph card come from the post. */
static int metadata(cn_req *req, const json_t *props, json_t **meta) {
  (void)req;
  *meta = json_pack("{s:O,s:O,s:O,s:s}", "title",
                    json_object_get(props, "title"), "description",
                    json_object_get(props, "summary"), "og_title",
                    json_object_get(props, "title"), "og_type", "article");
  return *meta ? 0 : CN_ENOMEM;
}

static int params(json_t **out) {
  *out = json_pack("[{s:s},{s:s}]", "slug", "hello-cairn", "slug", "layouts");
  return *out ? 0 : CN_ENOMEM;
}

/* Regenerated in the background at most once a minute (ISR). */
CN_PAGE(.loader = load, .generate_metadata = metadata,
        .static_params = params, .revalidate = 60);
