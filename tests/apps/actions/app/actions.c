/* Actions shared by every page of the app (a "use server" file): any
 * page's template may render a form for them. */
#include <stdatomic.h>

#include "../lib/counter.h"

static int shared_bump(cn_req *req, const json_t *bound, json_t **state) {
  (void)req, (void)bound;
  long n = counter_add(100);
  *state = json_pack("{s:I}", "count", (json_int_t)n);
  return 0;
}

CN_ACTIONS({"shared_bump", shared_bump});
