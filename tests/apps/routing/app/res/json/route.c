/* app/res/json/route.c: cn_res_json with a status and a value whose
 * compact encoding the suite compares byte for byte. */
#include "../../../lib/t.h"

static int handle(cn_req *req, cn_res *res) {
  (void)req;
  json_t *v = json_pack("{s:i,s:s,s:[i,b,n,f],s:{s:s}}", "id", 42, "text",
                        "caf\xc3\xa9 \"quoted\" </script>", "list", 1, 1, 2.5,
                        "nested", "k", "v");
  int rc = cn_res_json(res, 201, v);
  json_decref(v);
  return rc;
}

CN_ROUTE(.GET = handle);
