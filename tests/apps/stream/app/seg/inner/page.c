/* /seg/inner?k=K: behind app/seg/loading.html; its loader waits at gate K;
 * ?missing=1 says not found from behind the fallback. */
#include <stdio.h>

#include "../../../lib/gates.h"

static int load(cn_req *req, json_t **props) {
  cn_str k = cn_req_query_get(req, "k");
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr ? k.ptr : "");
  if (gate_wait(key, 10000))
    return cn_fail(req, "gate %s was never opened", key);
  if (cn_req_query_get(req, "missing").ptr)
    return cn_not_found(req);
  *props = json_pack("{s:i}", "v", 7);
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1);
