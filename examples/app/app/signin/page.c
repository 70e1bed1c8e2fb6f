/* /signin: a name, then a session (lib/session.h) and the way to /tasks. */
#include <stdio.h>

#include "../../lib/session.h"

static int signin(cn_req *req, const json_t *bound, json_t **state) {
  static const cn_rule rules[] = {
      {"name", "required len:2..40", "must be 2 to 40 characters"},
  };
  json_t *errors;
  (void)bound;
  int rc = cn_validate(req, rules, 1, &errors);
  if (rc == CN_EINVAL) {
    *state = json_pack("{s:o}", "errors", errors);
    return 0;
  }
  cn_str name = cn_req_form(req, "name");
  if (!rc)
    rc = session_start(req, cn_req_strndup(req, name.ptr, name.len));
  return rc ? rc : cn_redirect(req, 0, "/tasks");
}

CN_PAGE(.metadata = {.title = "Sign in"}, .actions = {{"signin", signin}});
