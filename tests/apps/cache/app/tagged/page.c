/* /tagged: a page whose data comes from a cached function tagged "posts":
 * revalidating "posts" must refresh the function's value and the page. */
#include <stdio.h>

#include "../../lib/counters.h"

static int posts(cn_req *req, void *arg, json_t **out) {
  (void)req, (void)arg;
  *out = json_integer(counter_bump("fn"));
  return *out ? 0 : CN_ENOMEM;
}

/* And a fetch, cached until revalidated, under the same tag: FETCH_URL is
 * a server the test runs (it counts its hits); at build there is none, and
 * the page says so. */
static int load(cn_req *req, json_t **props) {
  static const char *const key[] = {"posts", "all", NULL};
  static const char *const tags[] = {"posts", NULL};
  json_t *v = NULL;
  int rc = cn_cached(req, key, 0, tags, posts, NULL, &v);
  if (rc)
    return rc;
  const char *u = cn_env("FETCH_URL");
  cn_fetch_opts o = {.cache = CN_FETCH_FORCE_CACHE, .tags = tags};
  cn_fetch_res f;
  char fetched[64] = "none";
  if (u && cn_fetch(req, u, &o, &f) == 0)
    snprintf(fetched, sizeof fetched, "%.*s", (int)f.body.len, f.body.ptr);
  *props = json_pack("{s:i,s:o,s:s}", "n", counter_bump("tagged"), "fn", v,
                     "fetched", fetched);
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load);
