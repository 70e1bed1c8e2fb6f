/* /order?k=K: three sections whose loaders first wait until all three
 * (and the page's own loader) have started, which only happens if they
 * run at the same time, and then finish in the order c, b, a. */
#include <stdio.h>

#include "../../lib/gates.h"

static void key(cn_req *req, const char *what, char *out, size_t n) {
  cn_str k = cn_req_query_get(req, "k");
  snprintf(out, n, "%.*s:%s", (int)k.len, k.ptr ? k.ptr : "", what);
}

/* All four loaders started, or fail. */
static int barrier(cn_req *req) {
  char k[80];
  key(req, "started", k, sizeof k);
  counter_add(k, 1);
  return counter_wait(k, 4, 5000);
}

static int page(cn_req *req, json_t **props) {
  (void)props;
  return barrier(req) ? cn_fail(req, "the loaders did not run together") : 0;
}

/* Finish after `after` has finished. */
static int step(cn_req *req, const char *me, const char *after) {
  char k[80];
  if (barrier(req))
    return cn_fail(req, "section %s: the loaders did not run together", me);
  if (after) {
    key(req, after, k, sizeof k);
    if (counter_wait(k, 1, 5000))
      return cn_fail(req, "section %s: %s never finished", me, after);
  }
  key(req, me, k, sizeof k);
  counter_add(k, 1);
  return 0;
}

static int a(cn_req *req, json_t **p) { (void)p; return step(req, "a", "b"); }
static int b(cn_req *req, json_t **p) { (void)p; return step(req, "b", "c"); }
static int c(cn_req *req, json_t **p) { (void)p; return step(req, "c", NULL); }

CN_PAGE(.loader = page, .dynamic = 1,
        .deferred = {{"a", a}, {"b", b}, {"c", c}});
