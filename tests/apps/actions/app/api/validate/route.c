/* POST /api/validate: the Server Actions' validation rules from a route
 * handler, over a form or a JSON body: 200 {} or 422 {field: message}. */
#include <cairn.h>

static int post(cn_req *req, cn_res *res) {
  static const cn_rule rules[] = {
      {"name", "required len:2..5", NULL},
      {"age", "int:13..130", NULL},
      {"score", "number:0..1", NULL},
      {"email", "email", NULL},
      {"site", "url", NULL},
      {"plan", "oneof:free,pro", NULL},
      {"code", "required int", "needs a code"},
      {"bad", "frobnicate", NULL},
  };
  json_t *errors = NULL;
  int rc = cn_validate(req, rules, sizeof rules / sizeof rules[0], &errors);
  if (rc && rc != CN_EINVAL)
    return rc;
  json_t *body = errors ? errors : json_object();
  rc = body ? cn_res_json(res, errors ? 422 : 200, body) : CN_ENOMEM;
  json_decref(body);
  return rc;
}

CN_ROUTE(.POST = post);
