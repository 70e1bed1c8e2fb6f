/* /isr: regenerated in the background 60 s after it was rendered. Its
 * loader is slow (100 ms) so requests arriving during a regeneration show
 * whether they wait for it. ?fail is not read (that would make the page
 * dynamic): /api/renders?fail toggles failure through a counter. */
#include <time.h>

#include "../../lib/counters.h"

static int load(cn_req *req, json_t **props) {
  struct timespec ts = {0, 100000000};
  counter_bump("isr-start"); /* before the wait: every render under way */
  nanosleep(&ts, NULL);
  if (counter_get("isr-fail") % 2)
    return cn_fail(req, "the regeneration was told to fail");
  *props = json_pack("{s:i}", "n", counter_bump("isr"));
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .revalidate = 60);
