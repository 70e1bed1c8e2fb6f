/* /barrier?k=K&n=N: each render sleeps 200 ms, then waits until N renders
 * of key K have arrived; they all answer only if they run at once. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/t.h"

static int load(cn_req *req, json_t **props) {
  cn_str k = cn_req_query_get(req, "k"), n = cn_req_query_get(req, "n");
  char key[64], num[16];
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr ? k.ptr : "");
  snprintf(num, sizeof num, "%.*s", (int)n.len, n.ptr ? n.ptr : "1");
  usleep(200000);
  if (barrier(key, atoi(num), 15000))
    return cn_fail(req, "barrier %s: not everyone arrived", key);
  *props = json_pack("{s:s}", "n", num);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1);
