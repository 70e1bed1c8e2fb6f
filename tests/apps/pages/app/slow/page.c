/* /slow?k=K blocks its handler thread until the test opens gate K. */
#include <stdio.h>

#include "../../lib/t.h"

static int load(cn_req *req, json_t **props) {
  cn_str k = cn_req_query_get(req, "k");
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr ? k.ptr : "");
  if (gate_wait(key, 15000))
    return cn_fail(req, "gate %s was never opened", key);
  *props = json_pack("{s:s}", "k", key);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
