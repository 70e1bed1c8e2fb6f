/* /blog: the list of posts. It reads no request data, so `cairn build`
 * renders it once and the server answers it from memory. */
#include <cairn.h>

#include "../../lib/posts.h"

/* The list, as a database query would give it: kept in the Data Cache
 * under the tag "posts", so revalidating that tag (POST
 * /_cairn/revalidate?tag=posts with the secret) refreshes it and this page. */
static int list_posts(cn_req *req, void *arg, json_t **out) {
  (void)req, (void)arg;
  json_t *list = json_array(), *more = post_added_list();
  for (size_t i = 0; list && i < sizeof posts / sizeof posts[0]; i++)
    json_array_append_new(list, post_json(&posts[i]));
  if (list && more)
    json_array_extend(list, more);
  json_decref(more);
  *out = list;
  return list ? 0 : CN_ENOMEM;
}

static int load(cn_req *req, json_t **props) {
  static const char *const key[] = {"posts", NULL}, *const tags[] = {"posts",
                                                                    NULL};
  json_t *list = NULL;
  int rc = cn_cached(req, key, 0, tags, list_posts, NULL, &list);
  if (rc)
    return rc;
  *props = json_pack("{s:o}", "posts", list);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .metadata = {.title = "Blog",
                                     .description = "Notes on cairn."});
