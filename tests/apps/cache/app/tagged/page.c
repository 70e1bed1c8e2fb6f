/* /tagged: a page whose data comes from a cached function tagged "posts":
 * revalidating "posts" must refresh the function's value and the page. */
#include "../../lib/counters.h"

static int posts(cn_req *req, void *arg, json_t **out) {
  (void)req, (void)arg;
  *out = json_integer(counter_bump("fn"));
  return *out ? 0 : CN_ENOMEM;
}

static int load(cn_req *req, json_t **props) {
  static const char *const key[] = {"posts", "all", NULL};
  static const char *const tags[] = {"posts", NULL};
  json_t *v = NULL;
  int rc = cn_cached(req, key, 0, tags, posts, NULL, &v);
  if (rc)
    return rc;
  *props = json_pack("{s:i,s:o}", "n", counter_bump("tagged"), "fn", v);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
