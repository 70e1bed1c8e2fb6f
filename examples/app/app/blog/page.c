/* /blog: the list of posts. It reads no request data, so `cairn build`
 * renders it once and the server answers it from memory. */
#include <cairn.h>

#include "../../lib/posts.h"

static int load(cn_req *req, json_t **props) {
  (void)req;
  json_t *list = json_array();
  for (size_t i = 0; list && i < sizeof posts / sizeof posts[0]; i++)
    json_array_append_new(list, post_json(&posts[i]));
  *props = list ? json_pack("{s:o}", "posts", list) : NULL;
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .metadata = {.title = "Blog",
                                     .description = "Notes on cairn."});
