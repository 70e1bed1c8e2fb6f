/* GET /api/files/[...path]: a catch-all, always an array. */
#include <cairn.h>

const char *helper(void);
const char *helper(void) { return "files"; }

static int get(cn_req *req, cn_res *res) {
  const cn_str *parts;
  size_t n = cn_req_param_all(req, "path", &parts);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_stringn(parts[i].ptr, parts[i].len));
  json_t *j = json_pack("{s:o,s:s}", "path", a, "from", helper());
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = get);
