/* /act: a server action that runs the counter's mutation in-process; its
 * form may be rendered by one instance and posted to another. */
#include <cairn.h>

static int bump(cn_req *req, const json_t *bound, json_t **state) {
  (void)bound;
  json_t *n = NULL;
  int rc = cn_run_mutation(cn_req_ctx(req), "counter:inc", NULL, &n);
  if (!rc)
    *state = json_pack("{s:o}", "count", n);
  return rc;
}

CN_PAGE(.dynamic = 1, .actions = {{"bump", bump}});
