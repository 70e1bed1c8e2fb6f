/* /hello?name=...: reading the query makes the page dynamic, as reading
 * searchParams does in Next.js. */
#include <cairn.h>

static int load(cn_req *req, json_t **props) {
  cn_str name = cn_req_query_get(req, "name");
  if (name.ptr && name.len > 64)
    return cn_fail(req, "a name of %zu bytes is too long", name.len);
  *props = json_pack("{s:s%}", "name", name.ptr ? name.ptr : "stranger",
                     name.ptr ? name.len : 8);
  return *props ? 0 : CN_ENOMEM;
}

static int metadata(cn_req *req, const json_t *props, json_t **meta) {
  (void)req;
  (void)props;
  *meta = json_pack("{s:s}", "title", "Hello");
  return *meta ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .generate_metadata = metadata);
