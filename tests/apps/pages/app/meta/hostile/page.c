/* Every metadata value hostile: static and computed. */
#include <cairn.h>

static int meta(cn_req *req, const json_t *props, json_t **m) {
  (void)req, (void)props;
  *m = json_pack("{s:s,s:s,s:s}", "title",
                 "</title><script>alert(1)</script>", "og_url",
                 "\" onmouseover=\"alert(1)", "canonical",
                 "https://e.com/?a=1&b=<2>");
  return *m ? 0 : CN_ENOMEM;
}

CN_PAGE(.generate_metadata = meta,
        .metadata = {.description = "a \"quoted\" <desc> & 'more'",
                     .keywords = "<k>&\"k\"", .robots = "index, \"follow\"",
                     .og_title = "O'G <t>", .og_type = "a&b"});
