/* /dashboard: the page's shell goes out at once; "stats" (a slow query,
 * one second here) and "activity" stream in as each finishes, replacing
 * their fallbacks. Both loaders start with the page's own. */
#include <cairn.h>
#include <time.h>

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int stats(cn_req *req, json_t **props) {
  (void)req;
  pause_ms(1000); /* stands for a slow database query */
  static const char *days[] = {"Mon", "Tue", "Wed", "Thu", "Fri"};
  json_t *list = json_array();
  for (int i = 0; list && i < 5; i++)
    json_array_append_new(list, json_pack("{s:s,s:i}", "day", days[i],
                                          "visitors", 120 + 37 * i));
  *props = list ? json_pack("{s:o}", "stats", list) : NULL;
  return *props ? 0 : CN_ENOMEM;
}

static int activity(cn_req *req, json_t **props) {
  (void)req;
  pause_ms(300);
  *props = json_pack("{s:[s,s,s]}", "events", "ann signed up",
                     "bob wrote a post", "cid left a comment");
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.dynamic = 1, .metadata = {.title = "Dashboard"},
        .deferred = {{"stats", stats}, {"activity", activity}});
