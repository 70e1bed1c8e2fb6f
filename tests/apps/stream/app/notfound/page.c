/* /notfound: a non-deferred loader says not found, and a deferred one is
 * still running: the answer is a 404 all the same, decided before the
 * first byte. */
#include <cairn.h>
#include <time.h>

static int load(cn_req *req, json_t **p) { (void)p; return cn_not_found(req); }
static int slow(cn_req *req, json_t **p) {
  (void)req, (void)p;
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1, .deferred = {{"slow", slow}});
