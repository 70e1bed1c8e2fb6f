/* /fail: one section fails (the nearest error.html goes in its place),
 * one has no template, one works; the page still completes with 200. */
#include <cairn.h>

static int ok(cn_req *req, json_t **p) { (void)req; (void)p; return 0; }
static int bad(cn_req *req, json_t **p) {
  (void)p;
  return cn_fail(req, "the stats database is down");
}
static int missing(cn_req *req, json_t **p) { (void)req; (void)p; return 0; }

CN_PAGE(.dynamic = 1,
        .deferred = {{"ok", ok}, {"bad", bad}, {"missing", missing}});
