/* /order?k=K: three sections whose loaders first wait until all three
 * (and the page's own loader) have started, which only happens if they
 * run at the same time, and then each waits at its own gate (K:a, K:b,
 * K:c) for the test. */
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

/* Wait at gate K:me, which the test opens once the section before has
 * arrived, so the order of arrival is the test's to choose. */
static int step(cn_req *req, const char *me) {
  char k[80];
  if (barrier(req))
    return cn_fail(req, "section %s: the loaders did not run together", me);
  key(req, me, k, sizeof k);
  if (gate_wait(k, 10000))
    return cn_fail(req, "section %s: gate %s never opened", me, k);
  return 0;
}

static int a(cn_req *req, json_t **p) { (void)p; return step(req, "a"); }
static int b(cn_req *req, json_t **p) { (void)p; return step(req, "b"); }
static int c(cn_req *req, json_t **p) { (void)p; return step(req, "c"); }

CN_PAGE(.loader = page, .dynamic = 1,
        .deferred = {{"a", a}, {"b", b}, {"c", c}});
