/* cn_fetch (src/fetch): the exchange itself against a server inside this
 * process (test_fetch_server.h), its refusals, request memoization and the
 * Data Cache with a frozen clock. */
#include "check.h"

#include "test_fetch_server.h"

#include "cache/cache.h"
#include "fetch/fetch.h"
#include "server/server.h"

static cn_app *app;

static cn_req *new_req(void) {
  cn_req *r = cn__req_detached(app, "/");
  CHECK(r != NULL);
  return r;
}

/* The echo server's view of a fetch, as JSON (NULL when not 200). */
static json_t *echo(const cn_fetch_opts *o, const char *path) {
  cn_fetch_res r;
  int rc = cn_fetch(NULL, srv_url(path), o, &r);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    return NULL;
  CHECK_EQ_INT(r.status, 200);
  json_t *j = cn_fetch_json(&r);
  cn_fetch_res_free(&r);
  return j;
}

static const char *echo_header(json_t *j, const char *name) {
  return json_string_value(json_object_get(json_object_get(j, "headers"),
                                           name));
}

/* ------------------------------------------------------------ basics */

TEST(get_ok) {
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/ok"), NULL, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_SLICE(r.body, "{\"ok\":true,\"n\":42}");
  CHECK_EQ_SLICE(r.content_type, "application/json");
  CHECK_EQ_STR(r.cache, "SKIP");
  CHECK_EQ_INT(r.body.ptr[r.body.len], '\0');
  CHECK_EQ_STR(cn_fetch_error(), "");
  json_t *j = cn_fetch_json(&r);
  CHECK(j && json_integer_value(json_object_get(j, "n")) == 42);
  json_decref(j);
  cn_fetch_res_free(&r);
  CHECK(r.body.ptr == NULL && r.priv_ == NULL);
  cn_fetch_res_free(&r); /* twice is harmless */
  cn_fetch_res_free(NULL);
}

TEST(json_helper_refuses) {
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/text"), NULL, &r), 0);
  CHECK_EQ_SLICE(r.body, "hello");
  CHECK(cn_fetch_json(&r) == NULL);
  cn_fetch_res_free(&r);
  CHECK(cn_fetch_json(&r) == NULL); /* freed: no body */
  CHECK(cn_fetch_json(NULL) == NULL);
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/notype"), NULL, &r), 0);
  CHECK_EQ_SLICE(r.content_type, "");
  CHECK_EQ_SLICE(r.body, "plain");
  cn_fetch_res_free(&r);
}

TEST(post_body_and_headers) {
  const char *h[] = {"X-One: 1", "x-two:two", "X-Empty:", "X-Tab:\tv",
                     "User-Agent: mine", NULL};
  char big[3000];
  memset(big, 'b', sizeof big);
  cn_fetch_opts o = {.headers = h, .body = "a=1&b=\0x", .body_len = 8};
  json_t *j = echo(&o, "/echo");
  CHECK_EQ_STR(json_string_value(json_object_get(j, "method")), "POST");
  CHECK_EQ_INT(json_string_length(json_object_get(j, "body")), 8);
  CHECK(!memcmp(json_string_value(json_object_get(j, "body")), "a=1&b=\0x", 8));
  CHECK_EQ_STR(echo_header(j, "x-one"), "1");
  CHECK_EQ_STR(echo_header(j, "x-two"), "two");
  CHECK_EQ_STR(echo_header(j, "x-empty"), "");
  CHECK_EQ_STR(echo_header(j, "x-tab"), "\tv");
  CHECK_EQ_STR(echo_header(j, "user-agent"), "mine");
  CHECK_EQ_STR(echo_header(j, "content-length"), "8");
  /* curl's own form type and Expect: 100-continue never go out. */
  CHECK(echo_header(j, "content-type") == NULL);
  CHECK(echo_header(j, "expect") == NULL);
  json_decref(j);
  const char *typed[] = {"Content-Type: application/json", NULL};
  o = (cn_fetch_opts){.headers = typed, .body = big, .body_len = sizeof big};
  j = echo(&o, "/echo");
  CHECK_EQ_STR(echo_header(j, "content-type"), "application/json");
  CHECK(echo_header(j, "expect") == NULL);
  CHECK_EQ_INT(json_string_length(json_object_get(j, "body")), sizeof big);
  json_decref(j);
  /* Without headers: our User-Agent. */
  j = echo(NULL, "/echo?q=1");
  CHECK_EQ_STR(json_string_value(json_object_get(j, "target")), "/echo?q=1");
  CHECK(echo_header(j, "user-agent") &&
        !strncmp(echo_header(j, "user-agent"), "cairn/", 6));
  json_decref(j);
}

TEST(methods) {
  static const struct {
    const char *method, *body;
    int rc;
    const char *sent;     /* as the server saw it */
    const char *clen;     /* Content-Length sent, NULL: none */
  } t[] = {
      {NULL, NULL, 0, "GET", NULL},
      {NULL, "x", 0, "POST", "1"},
      {"post", NULL, 0, "POST", "0"},
      {"put", "x", 0, "PUT", "1"},
      {"Put", NULL, 0, "PUT", "0"},
      {"delete", NULL, 0, "DELETE", NULL},
      {"DELETE", "x", 0, "DELETE", "1"},
      {"patch", "x", 0, "patch", "1"},
      {"PATCH", NULL, 0, "PATCH", "0"},
      {"options", NULL, 0, "OPTIONS", NULL},
      {"MKCOL", NULL, 0, "MKCOL", NULL},
      {"get", NULL, 0, "GET", NULL},
      {"GET", "x", CN_EINVAL, NULL, NULL},
      {"HEAD", "x", CN_EINVAL, NULL, NULL},
      {"", NULL, CN_EINVAL, NULL, NULL},
      {"GE T", NULL, CN_EINVAL, NULL, NULL},
      {"G\r\nX", NULL, CN_EINVAL, NULL, NULL},
      {"CONNECT", NULL, CN_EINVAL, NULL, NULL},
      {"trace", NULL, CN_EINVAL, NULL, NULL},
      {"Track", NULL, CN_EINVAL, NULL, NULL},
      {"GET/", NULL, CN_EINVAL, NULL, NULL},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG", NULL, CN_EINVAL, NULL, NULL},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF", NULL, 0,
       "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF", NULL},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn_fetch_opts o = {.method = t[i].method, .body = t[i].body,
                       .body_len = t[i].body ? strlen(t[i].body) : 0};
    cn_fetch_res r;
    int rc = cn_fetch(NULL, srv_url("/echo"), &o, &r);
    if (rc != t[i].rc)
      fprintf(stderr, "  case %zu (%s)\n", i, t[i].method ? t[i].method : "");
    CHECK_EQ_INT(rc, t[i].rc);
    if (rc) {
      CHECK(cn_fetch_error()[0] != '\0');
      CHECK(r.body.ptr == NULL && !strcmp(r.cache, "SKIP"));
      continue;
    }
    json_t *j = cn_fetch_json(&r);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "method")), t[i].sent);
    const char *cl = echo_header(j, "content-length");
    CHECK(t[i].clen ? cl && !strcmp(cl, t[i].clen) : cl == NULL);
    json_decref(j);
    cn_fetch_res_free(&r);
  }
  /* HEAD: the status and type, no body. */
  cn_fetch_opts o = {.method = "head"};
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/ok"), &o, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_INT(r.body.len, 0);
  CHECK(r.body.ptr && r.body.ptr[0] == '\0');
  CHECK_EQ_SLICE(r.content_type, "application/json");
  cn_fetch_res_free(&r);
}

TEST(bad_headers) {
  static const char *const bad[] = {
      "NoColon", "Bad Name: x", ": value", "X-A: a\r\nInjected: b",
      "X-A: a\nb", "X-A: a\rb", "X-\x01: v", "X-A: \x7f", "X(A): v",
      " X-A: v",
  };
  int before = srv_hits("/echo");
  for (size_t i = 0; i < CN__ARRAY_LEN(bad); i++) {
    const char *h[] = {"X-Good: 1", bad[i], NULL};
    cn_fetch_opts o = {.headers = h};
    cn_fetch_res r;
    CHECK_EQ_INT(cn_fetch(NULL, srv_url("/echo"), &o, &r), CN_EINVAL);
    CHECK(strstr(cn_fetch_error(), "header 1") != NULL);
  }
  CHECK_EQ_INT(srv_hits("/echo"), before); /* nothing was sent */
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/ok"), NULL, NULL), CN_EINVAL);
}

TEST(bad_urls) {
  static const char *const urls[] = {
      "", "not a url", "ftp://127.0.0.1/", "file:///etc/passwd",
      "gopher://127.0.0.1/", "//127.0.0.1/ok", "/ok", "127.0.0.1/ok",
      "http://", "https://", "http://[::1", "http://a b/", "HTTPX://a/",
      "javascript:alert(1)", "data:text/plain,hi",
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(urls); i++) {
    cn_fetch_res r;
    int rc = cn_fetch(NULL, urls[i], NULL, &r);
    if (rc != CN_EINVAL)
      fprintf(stderr, "  url \"%s\": %d %s\n", urls[i], rc, cn_fetch_error());
    CHECK_EQ_INT(rc, CN_EINVAL);
    CHECK(cn_fetch_error()[0] != '\0');
    CHECK(r.body.ptr == NULL);
  }
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, NULL, NULL, &r), CN_EINVAL);
  /* The scheme is read in any case, as URLs are. */
  char upper[600];
  snprintf(upper, sizeof upper, "HTTP://127.0.0.1:%d/ok", srv_port);
  CHECK_EQ_INT(cn_fetch(NULL, upper, NULL, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  cn_fetch_res_free(&r);
}

TEST(timeout_and_connection_failures) {
  cn_fetch_opts o = {.timeout_ms = 200};
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/slow"), &o, &r), CN_EIO);
  CHECK(strstr(cn_fetch_error(), "timed out") != NULL);
  CHECK(r.body.ptr == NULL);
  CHECK_EQ_STR(r.cache, "SKIP");
  /* The connection is reset without an answer. */
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/close"), NULL, &r), CN_EIO);
  CHECK(cn_fetch_error()[0] != '\0');
  /* Nobody listens on a port just released. */
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &alen));
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
  CHECK_EQ_INT(cn_fetch(NULL, url, NULL, &r), CN_EIO);
  CHECK(cn_fetch_error()[0] != '\0');
  /* The next success clears the sentence. */
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/ok"), NULL, &r), 0);
  CHECK_EQ_STR(cn_fetch_error(), "");
  cn_fetch_res_free(&r);
}

TEST(body_limit) {
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/big"), NULL, &r), CN_ETOOBIG);
  CHECK(strstr(cn_fetch_error(), "32 MiB") != NULL);
  CHECK(r.body.ptr == NULL);
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/bigchunked"), NULL, &r), CN_ETOOBIG);
  CHECK(r.body.ptr == NULL);
  /* Exactly the limit is fine, with a request as without. */
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/exact"), NULL, &r), 0);
  CHECK_EQ_INT(r.body.len, SRV_BIG);
  CHECK(r.body.ptr && r.body.ptr[0] == 'x' && r.body.ptr[SRV_BIG - 1] == 'x' &&
        r.body.ptr[SRV_BIG] == '\0');
  cn_fetch_res_free(&r);
  cn_req *req = new_req();
  CHECK_EQ_INT(cn_fetch(req, srv_url("/bigchunked"), NULL, &r), CN_ETOOBIG);
  CHECK_EQ_INT(cn_fetch(req, srv_url("/exact"), NULL, &r), 0);
  CHECK_EQ_INT(r.body.len, SRV_BIG);
  CHECK(cn__arena_owns(&req->arena, r.body.ptr));
  cn__req_free_detached(req);
}

TEST(statuses_and_redirects) {
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/status/404"), NULL, &r), 0);
  CHECK_EQ_INT(r.status, 404);
  CHECK_EQ_SLICE(r.body, "not found");
  cn_fetch_res_free(&r);
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/redirect"), NULL, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_SLICE(r.body, "{\"ok\":true,\"n\":42}");
  cn_fetch_res_free(&r);
  int before = srv_hits("/redirect-loop");
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/redirect-loop"), NULL, &r), CN_EIO);
  CHECK_EQ_INT(srv_hits("/redirect-loop") - before, 1 + CN__FETCH_MAX_REDIRECTS);
  /* Where a redirect leads is the server's doing: not CN_EINVAL. */
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/redirect-ftp"), NULL, &r), CN_EIO);
  /* 303 after a POST: GET, without the body. */
  cn_fetch_opts o = {.body = "x", .body_len = 1};
  CHECK_EQ_INT(cn_fetch(NULL, srv_url("/redirect303"), &o, &r), 0);
  json_t *j = cn_fetch_json(&r);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "method")), "GET");
  CHECK_EQ_STR(json_string_value(json_object_get(j, "body")), "");
  json_decref(j);
  cn_fetch_res_free(&r);
}

/* One thread's fetches share its handle, and so its connections; a thread
 * that ends releases its handle (a leak otherwise, which ASan reports). */
TEST(connection_reuse) {
  cn_fetch_res r;
  int before = atomic_load(&srv_conns);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(cn_fetch(NULL, srv_url("/ka"), NULL, &r), 0);
    CHECK_EQ_SLICE(r.body, "ka");
    cn_fetch_res_free(&r);
  }
  CHECK_EQ_INT(atomic_load(&srv_conns) - before, 1);
  CHECK_EQ_INT(srv_hits("/ka"), 3);
}

TEST(client_gone) {
  cn_req *req = new_req();
  atomic_store(&req->aborted, 1);
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(req, srv_url("/slow"), NULL, &r), CN_ECLOSED);
  CHECK(strstr(cn_fetch_error(), "went away") != NULL);
  cn__req_free_detached(req);
}

/* ------------------------------------------------------- memoization */

TEST(memo_sequential) {
  cn_req *req = new_req();
  const char *u = srv_url("/count?t=memo");
  const char *h1[] = {"X-A: 1", NULL}, *h2[] = {"X-A: 2", NULL};
  cn_fetch_opts o1 = {.headers = h1}, o2 = {.headers = h2};
  cn_fetch_res a, b, c, d;
  CHECK_EQ_INT(cn_fetch(req, u, &o1, &a), 0);
  CHECK_EQ_INT(cn_fetch(req, u, &o1, &b), 0);
  CHECK_EQ_INT(srv_hits("/count?t=memo"), 1);
  CHECK_EQ_STR(a.cache, "SKIP");
  CHECK_EQ_STR(b.cache, "MEMO");
  CHECK_EQ_SLICE(b.body, "1");
  CHECK_EQ_SLICE(b.content_type, "text/plain");
  CHECK(cn__arena_owns(&req->arena, a.body.ptr) && a.priv_ == NULL);
  /* Another header, another fetch; then it is memoized too. */
  CHECK_EQ_INT(cn_fetch(req, u, &o2, &c), 0);
  CHECK_EQ_SLICE(c.body, "2");
  CHECK_EQ_INT(cn_fetch(req, u, &o2, &d), 0);
  CHECK_EQ_SLICE(d.body, "2");
  CHECK_EQ_INT(srv_hits("/count?t=memo"), 2);
  cn_fetch_res_free(&a); /* no-op with a request */
  /* HEAD is not GET. */
  cn_fetch_opts head = {.method = "HEAD", .headers = h1};
  CHECK_EQ_INT(cn_fetch(req, u, &head, &d), 0);
  CHECK_EQ_STR(d.cache, "SKIP");
  CHECK_EQ_INT(srv_hits("/count?t=memo"), 3);
  cn__req_free_detached(req);
  /* A new request starts afresh. */
  req = new_req();
  CHECK_EQ_INT(cn_fetch(req, u, &o1, &a), 0);
  CHECK_EQ_SLICE(a.body, "4");
  cn__req_free_detached(req);
}

TEST(memo_not_for_posts_or_failures) {
  cn_req *req = new_req();
  cn_fetch_opts post = {.method = "POST"};
  cn_fetch_res r;
  CHECK_EQ_INT(cn_fetch(req, srv_url("/count?t=post"), &post, &r), 0);
  CHECK_EQ_INT(cn_fetch(req, srv_url("/count?t=post"), &post, &r), 0);
  CHECK_EQ_SLICE(r.body, "2");
  CHECK_EQ_STR(r.cache, "SKIP");
  int before = srv_hits("/close");
  CHECK_EQ_INT(cn_fetch(req, srv_url("/close"), NULL, &r), CN_EIO);
  CHECK_EQ_INT(cn_fetch(req, srv_url("/close"), NULL, &r), CN_EIO);
  CHECK_EQ_INT(srv_hits("/close") - before, 2);
  cn__req_free_detached(req);
}

typedef struct par {
  cn_req *req;
  pthread_t th;
  int rc;
  cn_fetch_res res;
} par;

static void *par_run(void *arg) {
  par *p = arg;
  p->rc = cn_fetch(p->req, srv_url("/count?t=par&delay=300"), NULL, &p->res);
  return NULL;
}

TEST(memo_parallel) {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  cn_req *req = new_req();
  par p[4];
  req->arena.lock = &lock; /* as a page's parallel loaders run */
  for (int i = 0; i < 4; i++) {
    p[i] = (par){.req = req};
    CHECK_EQ_INT(pthread_create(&p[i].th, NULL, par_run, &p[i]), 0);
  }
  int memo = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(p[i].th, NULL);
    CHECK_EQ_INT(p[i].rc, 0);
    CHECK_EQ_SLICE(p[i].res.body, "1");
    memo += !strcmp(p[i].res.cache, "MEMO");
  }
  req->arena.lock = NULL;
  CHECK_EQ_INT(memo, 3);
  CHECK_EQ_INT(srv_hits("/count?t=par&delay=300"), 1);
  cn__req_free_detached(req);
}

/* -------------------------------------------------------------- keys */

TEST(keys_differ) {
  static const char *const h_ab[] = {"a: b", NULL}, *const h_a[] = {"a:", NULL},
                           *const h_two[] = {"a: 1", "b: 2", NULL},
                           *const h_owt[] = {"b: 2", "a: 1", NULL};
  struct {
    const char *url;
    cn_fetch_opts o;
  } t[] = {
      {"http://h/x", {0}},
      {"http://h/x", {.method = "HEAD"}},
      {"http://h/x", {.method = "POST"}},
      {"http://h/x", {.body = "a", .body_len = 1}},
      {"http://h/x", {.body = "1:a", .body_len = 3}},
      {"http://h/x", {.headers = h_ab}},
      {"http://h/x", {.headers = h_a}},
      {"http://h/x", {.headers = h_two}},
      {"http://h/x", {.headers = h_owt}},
      {"http://h/x ", {0}},
      {"http://h/X", {0}},
  };
  char keys[CN__ARRAY_LEN(t)][CN__FETCH_KEY_LEN];
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn__fetch_spec s;
    cn__buf b = {0};
    CHECK_EQ_INT(cn__fetch_spec_init(&s, t[i].url, &t[i].o), 0);
    CHECK_EQ_INT(cn__fetch_key(&s, &b, keys[i]), 0);
    CHECK(!strncmp(keys[i], "fetch:", 6) && strlen(keys[i]) == 70);
    for (size_t k = 0; k < i; k++)
      CHECK(strcmp(keys[i], keys[k]) != 0);
    cn__buf_free(&b);
  }
  /* The same fetch twice, and a POST with an empty body or none (the
   * same bytes on the wire): one key. */
  cn__fetch_spec s;
  cn__buf b = {0};
  char again[CN__FETCH_KEY_LEN];
  CHECK_EQ_INT(cn__fetch_spec_init(&s, t[7].url, &t[7].o), 0);
  CHECK_EQ_INT(cn__fetch_key(&s, &b, again), 0);
  CHECK_EQ_STR(again, keys[7]);
  cn_fetch_opts empty = {.body = "", .body_len = 0};
  CHECK_EQ_INT(cn__fetch_spec_init(&s, t[2].url, &empty), 0);
  CHECK_EQ_INT(cn__fetch_key(&s, &b, again), 0);
  CHECK_EQ_STR(again, keys[2]);
  cn__buf_free(&b);
}

int main(void) {
  if (fixture_start(&app))
    return 1;
  RUN(get_ok);
  RUN(json_helper_refuses);
  RUN(post_body_and_headers);
  RUN(methods);
  RUN(bad_headers);
  RUN(bad_urls);
  RUN(timeout_and_connection_failures);
  RUN(body_limit);
  RUN(statuses_and_redirects);
  RUN(connection_reuse);
  RUN(client_gone);
  RUN(memo_sequential);
  RUN(memo_not_for_posts_or_failures);
  RUN(memo_parallel);
  RUN(keys_differ);
  cn_app_free(app);
  srv_stop();
  return check_summary();
}
