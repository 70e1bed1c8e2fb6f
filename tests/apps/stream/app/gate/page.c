/* /gate?k=K: the shell, then the "slow" section once the test opens gate
 * K (or fails after 10 s). */
#include <stdio.h>

#include "../../lib/gates.h"

static int slow(cn_req *req, json_t **props) {
  cn_str k = cn_req_query_get(req, "k");
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr ? k.ptr : "");
  if (gate_wait(key, 10000))
    return cn_fail(req, "gate %s was never opened", key);
  *props = json_pack("{s:i,s:s}", "v", 1, "k", key);
  return 0;
}

CN_PAGE(.dynamic = 1, .deferred = {{"slow", slow}});
