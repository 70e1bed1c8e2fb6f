/*
 * The example app: what `make run` serves on http://127.0.0.1:3000.
 * Routes are declared in code for now; the file-system router turns
 * app/ and pages/ folders into this same table.
 */
#include <cairn.h>
#include <stdio.h>
#include <string.h>

/* GET /api/hello: the benchmark's route. Never blocks, so it runs on the
 * I/O thread. */
static int hello(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

/* GET /api/time: a JSON route built with jansson, on a handler thread. */
static int now(cn_req *req, cn_res *res) {
  json_t *j = json_pack("{s:s%}", "path", cn_req_path(req).ptr,
                        cn_req_path(req).len);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static int home(cn_req *req, cn_res *res) {
  (void)req;
  static const char page[] =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>cairn</title><link rel=\"stylesheet\" href=\"/style.css\">"
      "</head><body><main><h1>cairn</h1>"
      "<p>The Next.js server runtime, rebuilt in C.</p>"
      "<ul><li><a href=\"/api/hello\">/api/hello</a></li>"
      "<li><a href=\"/hello.txt\">/hello.txt</a> (a static file)</li></ul>"
      "</main></body></html>\n";
  cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
  return cn_res_send(res, page, sizeof page - 1);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  cn_config cfg;
  cn_config_init(&cfg);
  snprintf(path, sizeof path, "%s/cairn.json", dir);
  char err[256];
  FILE *f = fopen(path, "r");
  if (f) {
    fclose(f);
    if (cn_config_load(&cfg, path, err, sizeof err)) {
      fprintf(stderr, "cairn: %s\n", err);
      return 1;
    }
  }
  if (cn_config_env(&cfg)) {
    fprintf(stderr, "cairn: PORT must be a number from 0 to 65535\n");
    return 1;
  }
  cn_app *app = cn_app_new();
  if (!app)
    return 1;
  const cn_route_config io = {.nonblocking = 1};
  snprintf(path, sizeof path, "%s/public", dir);
  int rc = cn_app_route(app, "GET", "/api/hello", hello, &io);
  if (!rc)
    rc = cn_app_route(app, "GET", "/api/time", now, NULL);
  if (!rc)
    rc = cn_app_route(app, "GET", "/", home, &io);
  if (!rc)
    rc = cn_app_public_dir(app, path);
  if (!rc)
    rc = cn_serve(app, &cfg);
  if (rc)
    fprintf(stderr, "cairn: %s\n", cn_strerror(rc));
  cn_app_free(app);
  return rc ? 1 : 0;
}
