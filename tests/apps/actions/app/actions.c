/* Actions shared by every page of the app (a "use server" file): any
 * page's template may render a form for them. */
#include "../lib/counter.h"

static int shared_bump(cn_req *req, const json_t *bound, json_t **state) {
  (void)bound;
  long n = counter_add(req, 100);
  *state = json_pack("{s:I}", "count", (json_int_t)n);
  return n < 0 ? CN_EINVAL : *state ? 0 : CN_ENOMEM;
}

CN_ACTIONS({"shared_bump", shared_bump});
