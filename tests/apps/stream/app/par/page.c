/* The page's loader and the layout's (app/par/layout.c) wait for each other:
 * the page renders only if they run at the same time. */
#include <stdio.h>

#include "../../lib/gates.h"

static int load(cn_req *req, json_t **props) {
  cn_str k = cn_req_query_get(req, "k");
  char key[80];
  snprintf(key, sizeof key, "%.*s:par", (int)k.len, k.ptr ? k.ptr : "");
  counter_add(key, 1);
  if (counter_wait(key, 2, 5000))
    return cn_fail(req, "the page's loader ran alone");
  *props = json_pack("{s:s}", "who", "page");
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1);
