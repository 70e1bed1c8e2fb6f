/* /streamed: a quick section with an island, then a slow one (3 s): the
 * island must mount while the slow one is still on its way. */
#include <time.h>

#include <cairn.h>

static int quick(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:{s:i}}", "counter", "start", 7);
  return *props ? 0 : CN_ENOMEM;
}

static int slow(cn_req *req, json_t **props) {
  (void)req;
  struct timespec ts = {3, 0};
  nanosleep(&ts, NULL);
  *props = json_pack("{s:s}", "word", "late");
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.dynamic = 1, .deferred = {{"quick", quick}, {"slow", slow}});
