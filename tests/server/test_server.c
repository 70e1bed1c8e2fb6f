/*
 * cn-test-server: the server the end-to-end suite drives. Its routes exist
 * to exercise the core (blocking handlers, echo, streaming, failures); see
 * tests/e2e for what each is for.
 *   cn-test-server --public DIR [--config FILE]     (PORT, HOSTNAME apply)
 */
#include <cairn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_long counter;

static long query_long(cn_req *req, const char *key, long dflt) {
  cn_str q = cn_req_query(req);
  size_t kl = strlen(key);
  for (size_t i = 0; q.ptr && i + kl < q.len; i++)
    if ((i == 0 || q.ptr[i - 1] == '&') && !memcmp(q.ptr + i, key, kl) &&
        q.ptr[i + kl] == '=')
      return strtol(q.ptr + i + kl + 1, NULL, 10);
  return dflt;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int hello(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "application/json");
  return cn_res_send(res, "{\"message\":\"Hello\"}", 19);
}

static int do_sleep(cn_req *req, cn_res *res) {
  long ms = query_long(req, "ms", 100);
  sleep_ms(ms);
  return cn_res_text(res, 200, cn_req_printf(req, "slept %ld", ms));
}

static int fast(cn_req *req, cn_res *res) {
  (void)req;
  return cn_res_text(res, 200, "fast");
}

static int echo(cn_req *req, cn_res *res) {
  cn_str body = cn_req_body(req);
  cn_res_header(res, "Content-Type", "application/octet-stream");
  cn_res_header(res, "x-body-length", cn_req_printf(req, "%zu", body.len));
  return cn_res_send(res, body.ptr, body.len);
}

static int small(cn_req *req, cn_res *res) {
  json_t *j = json_pack("{sI}", "length", (json_int_t)cn_req_body(req).len);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static json_t *str_or_null(cn_str s) {
  return s.ptr ? json_stringn(s.ptr, s.len) : json_null();
}

static int inspect(cn_req *req, cn_res *res) {
  json_t *headers = json_array();
  cn_str n, v;
  for (size_t i = 0; cn_req_header_at(req, i, &n, &v) == 0; i++)
    json_array_append_new(headers, json_pack("[s%s%]", n.ptr, n.len, v.ptr,
                                             v.len));
  json_t *j = json_pack(
      "{s:o,s:o,s:o,s:o,s:o,s:I}", "method", str_or_null(cn_req_method(req)),
      "path", str_or_null(cn_req_path(req)), "query",
      str_or_null(cn_req_query(req)), "host", str_or_null(cn_req_host(req)),
      "headers", headers, "body_length", (json_int_t)cn_req_body(req).len);
  json_object_set_new(j, "ip", str_or_null(cn_req_ip(req)));
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

/* POST /api/body: what the body parsers made of the request. */
static int body_info(cn_req *req, cn_res *res) {
  static const char *const kinds[] = {"none", "json", "form", "multipart",
                                      "text", "raw"};
  json_t *j = json_pack("{s:s}", "kind", kinds[cn_req_body_kind(req)]);
  if (cn_req_json(req))
    json_object_set(j, "json", cn_req_json(req));
  json_t *form = json_object();
  const char *names[] = {"a", "b", "title", "tags"};
  for (size_t i = 0; i < 4; i++) {
    const cn_str *v;
    size_t n = cn_req_form_all(req, names[i], &v);
    if (!n)
      continue;
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++)
      json_array_append_new(arr, json_stringn(v[k].ptr, v[k].len));
    json_object_set_new(form, names[i], arr);
  }
  json_object_set_new(j, "form", form);
  json_t *files = json_array();
  const cn_file *f;
  size_t nf = cn_req_files(req, &f);
  for (size_t i = 0; i < nf; i++)
    json_array_append_new(
        files, json_pack("{s:s%,s:s%,s:I,s:s}", "field", f[i].field.ptr,
                         f[i].field.len, "filename", f[i].filename.ptr,
                         f[i].filename.len, "size", (json_int_t)f[i].size,
                         "path", f[i].path));
  json_object_set_new(j, "files", files);
  cn_str q = cn_req_query_get(req, "q"), c = cn_req_cookie(req, "session");
  json_object_set_new(j, "q", str_or_null(q));
  json_object_set_new(j, "cookie", str_or_null(c));
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static int stream(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "text/plain; charset=utf-8");
  const char *parts[] = {"one\n", "two\n", "three\n"};
  for (int i = 0; i < 3; i++) {
    if (i)
      sleep_ms(50);
    int rc = cn_res_write(res, parts[i], strlen(parts[i]));
    if (rc)
      return rc;
  }
  return cn_res_end(res);
}

static int crash(cn_req *req, cn_res *res) {
  (void)req, (void)res;
  return CN_EIO;
}

static int noreply(cn_req *req, cn_res *res) {
  (void)req, (void)res;
  return 0;
}

static int count_get(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_pack("{sI}", "count", (json_int_t)atomic_load(&counter));
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static int count_post(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_pack("{sI}", "count",
                        (json_int_t)(atomic_fetch_add(&counter, 1) + 1));
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

static int home(cn_req *req, cn_res *res) {
  (void)req;
  cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
  static const char page[] =
      "<!doctype html><html><head><title>cairn test</title></head>"
      "<body><h1>cairn test server</h1></body></html>\n";
  return cn_res_send(res, page, sizeof page - 1);
}

/* GET /ws: a WebSocket that echoes each message, and obeys a few text
 * commands: "close CODE REASON" closes; "flood N SIZE" sends N messages of
 * SIZE bytes at once; "thread N" sends "t1".."tN" from another thread;
 * "open" answers how many sockets are open. */
static atomic_int ws_open;

static void ws_opened(cn_ws *ws) {
  atomic_fetch_add(&ws_open, 1);
  cn_ws_send(ws, "hello", 5, 0);
}

typedef struct ws_job {
  cn_ws *ws;
  long n;
} ws_job;

static void *ws_thread(void *arg) {
  ws_job *job = arg;
  cn_ws *ws = job->ws;
  long n = job->n;
  free(job);
  char m[32];
  for (long i = 1; i <= n; i++) {
    int len = snprintf(m, sizeof m, "t%ld", i);
    if (cn_ws_send(ws, m, (size_t)len, 0))
      break;
  }
  cn_ws_unref(ws);
  return NULL;
}

static void ws_message(cn_ws *ws, const char *data, size_t len, int binary) {
  char cmd[160];
  long a = 0, b = 0;
  snprintf(cmd, sizeof cmd, "%.*s", (int)(len < sizeof cmd ? len : sizeof cmd - 1),
           data);
  if (!binary && !strncmp(cmd, "close ", 6)) {
    char reason[128] = "";
    sscanf(cmd + 6, "%ld %127[^\n]", &a, reason);
    if (cn_ws_close(ws, (int)a, reason))
      cn_ws_send(ws, "bad close", 9, 0);
  } else if (!binary && sscanf(cmd, "flood %ld %ld", &a, &b) == 2) {
    char *big = malloc((size_t)b);
    if (!big)
      return;
    memset(big, 'x', (size_t)b);
    int rc = 0;
    for (long i = 0; i < a && !rc; i++)
      rc = cn_ws_send(ws, big, (size_t)b, 1);
    free(big);
  } else if (!binary && sscanf(cmd, "thread %ld", &a) == 1) {
    pthread_t t;
    ws_job *job = malloc(sizeof *job);
    if (!job)
      return;
    job->ws = ws;
    job->n = a;
    cn_ws_ref(ws); /* the thread's, dropped when it ends */
    if (pthread_create(&t, NULL, ws_thread, job)) {
      cn_ws_unref(ws);
      free(job);
      return;
    }
    pthread_detach(t);
  } else if (!binary && !strcmp(cmd, "open")) {
    int n = snprintf(cmd, sizeof cmd, "open %d", atomic_load(&ws_open));
    cn_ws_send(ws, cmd, (size_t)n, 0);
  } else {
    cn_ws_send(ws, data, len, binary);
  }
}

static void ws_closed(cn_ws *ws, int code) {
  (void)code;
  atomic_fetch_sub(&ws_open, 1);
  (void)ws;
}

static const cn_ws_handler ws_echo = {ws_opened, ws_message, ws_closed};

static int ws_route(cn_req *req, cn_res *res) {
  (void)res;
  int rc = cn_ws_accept(req, &ws_echo, NULL, "cairn.test");
  return rc == CN_EINVAL ? 0 : rc; /* a refused handshake has its answer */
}

int main(int argc, char **argv) {
  const char *public_dir = NULL, *config_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--public") && i + 1 < argc)
      public_dir = argv[++i];
    else if (!strcmp(argv[i], "--config") && i + 1 < argc)
      config_file = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--public DIR] [--config FILE]\n", argv[0]);
      return 2;
    }
  }
  cn_config cfg;
  cn_config_init(&cfg);
  char err[256];
  if (config_file && cn_config_load(&cfg, config_file, err, sizeof err)) {
    fprintf(stderr, "cn-test-server: %s\n", err);
    return 1;
  }
  if (cn_config_env(&cfg)) {
    fprintf(stderr, "cn-test-server: PORT must be a number from 0 to 65535\n");
    return 1;
  }
  cn_app *app = cn_app_new();
  const cn_route_config inline_cfg = {.nonblocking = 1};
  const cn_route_config small_cfg = {.body_limit = "1kb"};
  int rc = 0;
  rc |= cn_app_route(app, "GET", "/api/hello", hello, &inline_cfg);
  rc |= cn_app_route(app, "GET", "/sleep", do_sleep, NULL);
  rc |= cn_app_route(app, "GET", "/fast", fast, NULL);
  rc |= cn_app_route(app, "POST", "/echo", echo, NULL);
  rc |= cn_app_route(app, "PUT", "/echo", echo, NULL);
  rc |= cn_app_route(app, "POST", "/api/small", small, &small_cfg);
  rc |= cn_app_route(app, "GET", "/api/inspect", inspect, NULL);
  rc |= cn_app_route(app, "POST", "/api/inspect", inspect, NULL);
  rc |= cn_app_route(app, "GET", "/stream", stream, NULL);
  rc |= cn_app_route(app, "POST", "/api/body", body_info, NULL);
  rc |= cn_app_route(app, "GET", "/api/crash", crash, NULL);
  rc |= cn_app_route(app, "GET", "/api/noreply", noreply, NULL);
  rc |= cn_app_route(app, "GET", "/api/counter", count_get, &inline_cfg);
  rc |= cn_app_route(app, "POST", "/api/counter", count_post, &inline_cfg);
  rc |= cn_app_route(app, "GET", "/", home, &inline_cfg);
  rc |= cn_app_route(app, "GET", "/ws", ws_route, NULL);
  const cn_route_config bounded = {.max_duration_ms = 300};
  rc |= cn_app_route(app, "GET", "/api/bounded", do_sleep, &bounded);
  if (public_dir)
    rc |= cn_app_public_dir(app, public_dir);
  if (rc) {
    fprintf(stderr, "cn-test-server: cannot set up routes\n");
    return 1;
  }
  rc = cn_serve(app, &cfg);
  cn_app_free(app);
  return rc ? 1 : 0;
}
