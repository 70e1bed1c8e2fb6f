/* GET /api/cached?key=K&tag=T: a cached function's value, which says
 * which instance computed it (the cache is shared through Redis) and how
 * many runs that instance had made, so every new value differs. */
#include <stdatomic.h>
#include <unistd.h>

#include <cairn.h>

static atomic_long runs;

static int run(cn_req *req, void *arg, json_t **out) {
  (void)req, (void)arg;
  *out = json_pack("{s:I,s:I}", "computed_by", (json_int_t)getpid(), "run",
                   (json_int_t)atomic_fetch_add(&runs, 1) + 1);
  return *out ? 0 : CN_ENOMEM;
}

static int get(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "key"), t = cn_req_query_get(req, "tag");
  const char *keys[] = {cn_req_strndup(req, k.ptr ? k.ptr : "", k.len), NULL};
  const char *tags[] = {t.ptr ? cn_req_strndup(req, t.ptr, t.len) : NULL,
                        NULL};
  json_t *v = NULL;
  int rc = cn_cached(req, keys, 3600, tags, run, NULL, &v);
  if (rc)
    return rc;
  rc = cn_res_json(res, 200, v);
  json_decref(v);
  return rc;
}

CN_ROUTE(.GET = get);
