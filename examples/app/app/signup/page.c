/* /signup: a form with validation. Errors come back next to their fields
 * with what was typed kept; success sets a cookie and says welcome. It
 * works without JavaScript (the page renders again after the POST) and
 * with it (cairn's script posts with fetch and swaps the page in). */
#include <cairn.h>
#include <stdio.h>

static int signup(cn_req *req, const json_t *bound, json_t **state) {
  static const cn_rule rules[] = {
      {"name", "required len:2..40", NULL},
      {"email", "required email", NULL},
      {"age", "required int:13..130", NULL},
      {"plan", "required oneof:free,pro", NULL},
  };
  json_t *errors;
  (void)bound;
  int rc = cn_validate(req, rules, 4, &errors);
  if (rc == CN_EINVAL) {
    *state = json_pack("{s:o}", "errors", errors);
    return 0;
  }
  if (rc)
    return rc;
  cn_cookie_opts opts = {.path = "/", .http_only = 1, .same_site = "Lax",
                         .max_age = 86400 * 30, .has_max_age = 1};
  rc = cn_res_cookie(cn_req_res(req), "member", "1", &opts);
  *state = json_pack("{s:b}", "welcome", 1);
  return rc ? rc : (*state ? 0 : CN_ENOMEM);
}

CN_PAGE(.metadata = {.title = "Sign up"}, .actions = {{"signup", signup}});
