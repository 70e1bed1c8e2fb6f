/* GET /api/env?k=A&k=B: {"A": value or null, ...} read with cn_env. */
#include <cairn.h>

static int get(cn_req *req, cn_res *res) {
  const cn_str *keys;
  size_t n = cn_req_query_all(req, "k", &keys);
  json_t *j = json_object();
  for (size_t i = 0; i < n; i++) {
    char *k = cn_req_strndup(req, keys[i].ptr, keys[i].len);
    const char *v = cn_env(k);
    json_object_set_new(j, k, v ? json_string(v) : json_null());
  }
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = get);
