/* /api/files/a/b/c: a catch-all; its param is always an array. */
#include <cairn.h>

static int list(cn_req *req, cn_res *res) {
  const cn_str *parts;
  size_t n = cn_req_param_all(req, "path", &parts);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, json_stringn(parts[i].ptr, parts[i].len));
  json_t *body = json_pack("{s:o}", "path", arr);
  int rc = cn_res_json(res, 200, body);
  json_decref(body);
  return rc;
}

CN_ROUTE(.GET = list);
