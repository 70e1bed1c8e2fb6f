/* Static fields, some overridden by generate_metadata from the props. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:s}", "name", "Gen <Name>");
  return *props ? 0 : CN_ENOMEM;
}

static int meta(cn_req *req, const json_t *props, json_t **m) {
  (void)req;
  *m = json_pack("{s:O,s:s,s:s}", "title", json_object_get(props, "name"),
                 "og_image", "/gen.png", "canonical", "https://example.com/g");
  return *m ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .generate_metadata = meta,
        .metadata = {.title = "Static Title",
                     .description = "static description",
                     .keywords = "k1,k2", .og_title = "Static OG"});
