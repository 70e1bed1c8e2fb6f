/* /_cairn/health/live and /_cairn/health/ready (health.h). */
#include <stdio.h>

#include "health/health.h"
#include "server/server.h"

static struct {
  cn__health_check *fn;
  void *arg;
} checks[CN__HEALTH_MAX];
static size_t nchecks;

int cn__health_add(cn__health_check *check, void *arg) {
  if (nchecks == CN__HEALTH_MAX)
    return CN_ETOOBIG;
  checks[nchecks].fn = check;
  checks[nchecks++].arg = arg;
  return 0;
}

static int answer(cn_res *res, int status, const char *reason) {
  json_t *j = reason ? json_pack("{s:s,s:s}", "status", "unavailable",
                                 "reason", reason)
                     : json_pack("{s:s}", "status", "ok");
  int rc = j ? cn_res_header(res, "Cache-Control", "no-store") : CN_ENOMEM;
  if (!rc)
    rc = cn_res_json(res, status, j);
  json_decref(j);
  return rc;
}

static int live(cn_req *req, cn_res *res) {
  (void)req;
  return answer(res, 200, NULL);
}

static int ready(cn_req *req, cn_res *res) {
  /* Draining: the balancer should send what comes next elsewhere. */
  if (req->loop && atomic_load(&req->loop->server->stopping))
    return answer(res, 503, "shutting down");
  char why[160];
  for (size_t i = 0; i < nchecks; i++) {
    why[0] = '\0';
    if (checks[i].fn(checks[i].arg, why, sizeof why))
      return answer(res, 503, why[0] ? why : "a dependency is unavailable");
  }
  return answer(res, 200, NULL);
}

int cn__health_mount(cn_app *app) {
  int rc = cn_app_route(app, "GET", "/_cairn/health/live", live, NULL);
  if (!rc)
    rc = cn_app_route(app, "GET", "/_cairn/health/ready", ready, NULL);
  return rc;
}
