/* GET /api/cached?key=K&tag=T&ttl=S: a cached function's value (a counter
 * bumped on every real run) kept under K for S seconds with tag T. */
#include <stdio.h>
#include <stdlib.h>

#include "../../../lib/counters.h"

static int run(cn_req *req, void *arg, json_t **out) {
  (void)req, (void)arg;
  *out = json_integer(counter_bump("cached"));
  return *out ? 0 : CN_ENOMEM;
}

static int get(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "key"), t = cn_req_query_get(req, "tag"),
         s = cn_req_query_get(req, "ttl");
  char *key = cn_req_strndup(req, k.ptr ? k.ptr : "", k.len);
  char *tag = t.ptr ? cn_req_strndup(req, t.ptr, t.len) : NULL;
  char *ttl = s.ptr ? cn_req_strndup(req, s.ptr, s.len) : "0";
  const char *keys[] = {key, NULL}, *tags[] = {tag, NULL};
  json_t *v = NULL;
  int rc = cn_cached(req, keys, strtoull(ttl, NULL, 10), tags, run, NULL, &v);
  if (rc)
    return rc;
  json_t *j = json_pack("{s:o}", "value", v);
  rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = get);
