/* Development support: the script injection hook on hand-made responses,
 * the inherited listening socket, the build-error page's escaping, the
 * dev middleware's installation. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "dev/dev.h"
#include "dev/dev_int.h"
#include "server/server.h"

/* A response as a handler leaves it, without a connection. */
static cn_req *fake_req(void) {
  cn_req *r = calloc(1, sizeof(*r));
  cn__arena_init(&r->arena, r->inline_mem, sizeof r->inline_mem);
  r->res.req = r;
  r->res.status = 200;
  r->sreply.fd = -1;
  return r;
}

static void free_req(cn_req *r) {
  cn__arena_reset(&r->arena);
  free(r);
}

static cn_str filtered(const char *type, const char *body, int streaming,
                       int static_reply) {
  static char out[4096];
  cn_req *r = fake_req();
  if (type)
    cn_res_header(&r->res, "Content-Type", type);
  cn_res_send(&r->res, body, strlen(body));
  r->res.streaming = streaming;
  r->sreply.status = static_reply ? 200 : 0;
  cn__dev_filter(r);
  size_t n = CN__MIN(r->res.body.len, sizeof out - 1);
  memcpy(out, r->res.body.ptr, n);
  out[n] = '\0';
  free_req(r);
  return cn__str(out, n);
}

static char *with_script(const char *before, const char *after) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s%s%s", before, cn__dev_script(), after);
  return buf;
}

TEST(filter_table) {
  cn__dev *d;
  cn_app *app = cn_app_new();
  CHECK_EQ_INT(cn__dev_new(&d, "b1"), 0);
  /* Not active yet: a production server's responses are left alone. */
  CHECK_EQ_SLICE(filtered("text/html", "<body>x</body>", 0, 0),
                 "<body>x</body>");
  CHECK_EQ_INT(cn__dev_install(d, app, NULL, NULL, 0), 0);
  static const struct {
    const char *type, *body, *before, *after;
    int streaming, static_reply;
  } cases[] = {
      {"text/html", "<body>x</body>", "<body>x", "</body>", 0, 0},
      {"text/html; charset=utf-8", "<p>a</p></body></html>", "<p>a</p>",
       "</body></html>", 0, 0},
      {"TEXT/HTML", "<BODY>y</BODY>", "<BODY>y", "</BODY>", 0, 0},
      /* the last </body> wins (one in a string earlier stays put) */
      {"text/html", "a</body>b</body>c", "a</body>b", "</body>c", 0, 0},
      {"text/html", "no body tag", "no body tag", "", 0, 0},
      {"text/html", "</bod", "</bod", "", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK_EQ_SLICE(filtered(cases[i].type, cases[i].body, 0, 0),
                   with_script(cases[i].before, cases[i].after));
  /* Left alone: not HTML, no type, streamed, a public/ file, already
   * carrying the script, empty. */
  CHECK_EQ_SLICE(filtered("application/json", "{\"a\":1}", 0, 0),
                 "{\"a\":1}");
  CHECK_EQ_SLICE(filtered("text/plain", "</body>", 0, 0), "</body>");
  CHECK_EQ_SLICE(filtered(NULL, "<body></body>", 0, 0), "<body></body>");
  CHECK_EQ_SLICE(filtered("text/htm", "<body></body>", 0, 0),
                 "<body></body>");
  CHECK_EQ_SLICE(filtered("text/html", "<body></body>", 1, 0),
                 "<body></body>");
  CHECK_EQ_SLICE(filtered("text/html", "<body></body>", 0, 1),
                 "<body></body>");
  const char *once = with_script("<body>", "</body>");
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", once);
  CHECK_EQ_SLICE(filtered("text/html", copy, 0, 0), copy);
  cn_req *r = fake_req();
  cn_res_header(&r->res, "Content-Type", "text/html");
  cn_res_send(&r->res, "", 0);
  cn__dev_filter(r);
  CHECK_EQ_INT(r->res.body.len, 0);
  free_req(r);
  /* Unfinished (the handler has not answered): nothing to change. */
  r = fake_req();
  cn_res_header(&r->res, "Content-Type", "text/html");
  cn__dev_filter(r);
  CHECK_EQ_INT(r->res.body.len, 0);
  free_req(r);
  cn_app_free(app);
  cn__dev_free(d);
  /* Freed: inactive again. */
  CHECK_EQ_SLICE(filtered("text/html", "<body>x</body>", 0, 0),
                 "<body>x</body>");
}

TEST(filter_out_of_arena) {
  cn__dev *d;
  cn_app *app = cn_app_new();
  CHECK_EQ_INT(cn__dev_new(&d, "b1"), 0);
  CHECK_EQ_INT(cn__dev_install(d, app, NULL, NULL, 0), 0);
  cn_req *r = fake_req();
  cn_res_header(&r->res, "Content-Type", "text/html");
  cn_res_send(&r->res, "<body></body>", 13);
  cn__alloc_fail_after(0);
  /* Fill the inline block so the copy needs a new (failing) block. */
  while (cn__arena_alloc(&r->arena, 256))
    ;
  cn__dev_filter(r);
  cn__alloc_fail_after(-1);
  CHECK_EQ_SLICE(r->res.body, "<body></body>");
  free_req(r);
  cn_app_free(app);
  cn__dev_free(d);
}

TEST(listen_fd) {
  unsetenv("CAIRN_LISTEN_FD");
  CHECK_EQ_INT(cn__dev_listen_fd(), -1);
  static const char *const bad[] = {"", "abc", "2", "-1", "99999", "4x",
                                    "1000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("CAIRN_LISTEN_FD", bad[i], 1);
    CHECK_EQ_INT(cn__dev_listen_fd(), -1);
  }
  /* A file is not a socket; a datagram socket is not a stream socket. */
  int file = open("/dev/null", O_RDONLY);
  char num[16];
  snprintf(num, sizeof num, "%d", file);
  setenv("CAIRN_LISTEN_FD", num, 1);
  CHECK_EQ_INT(cn__dev_listen_fd(), -1);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  snprintf(num, sizeof num, "%d", udp);
  setenv("CAIRN_LISTEN_FD", num, 1);
  CHECK_EQ_INT(cn__dev_listen_fd(), -1);
  /* A bound stream socket: put into listening, handed out duplicated. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ_INT(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  snprintf(num, sizeof num, "%d", s);
  setenv("CAIRN_LISTEN_FD", num, 1);
  int a = cn__dev_listen_fd(), b = cn__dev_listen_fd();
  CHECK(a >= 3 && b >= 3 && a != b && a != s && b != s);
  int on = 0;
  socklen_t len = sizeof on;
  CHECK_EQ_INT(getsockopt(a, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
  CHECK_EQ_INT(on, 1);
  CHECK(fcntl(a, F_GETFD) & FD_CLOEXEC);
  CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
  /* The duplicates are the same socket: one connection, seen by both. */
  socklen_t sl = sizeof sa;
  getsockname(s, (struct sockaddr *)&sa, &sl);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ_INT(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
  int acc = accept(b, NULL, NULL);
  CHECK(acc >= 0);
  close(acc);
  close(c);
  close(a);
  close(b);
  close(s);
  close(udp);
  close(file);
  unsetenv("CAIRN_LISTEN_FD");
}

TEST(error_page_escapes) {
  cn__dev *d;
  CHECK_EQ_INT(cn__dev_new(&d, "b1"), 0);
  cn_req *r = fake_req();
  const char *text =
      "app/x/route.c: In function 'f':\n"
      "app/x/route.c:3:9: error: <script>alert(1)</script> & \"q\"\n";
  CHECK_EQ_INT(cn__dev_error_page(r, &r->res, text), 0);
  cn_str b = r->res.body;
  char *page = strndup(b.ptr, b.len);
  CHECK_EQ_INT(r->res.status, 500);
  CHECK(strstr(page, "<p class=\"where\">app/x/route.c:3:9</p>") != NULL);
  CHECK(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                     "&quot;q&quot;") != NULL);
  CHECK(strstr(page, "<script>alert") == NULL);
  CHECK(strstr(page, "In function &#39;f&#39;") != NULL);
  CHECK(strstr(page, "data-cairn-dev") != NULL);
  free(page);
  free_req(r);
  /* No "error:" line: the first line heads the page. */
  r = fake_req();
  CHECK_EQ_INT(cn__dev_error_page(r, &r->res, "cairn.json: unknown key "
                                              "\"prot\"\nmore\n"),
               0);
  page = strndup(r->res.body.ptr, r->res.body.len);
  CHECK(strstr(page, "<p class=\"where\">cairn.json: unknown key "
                     "&quot;prot&quot;</p>") != NULL);
  free(page);
  free_req(r);
  cn__dev_free(d);
}

static int mw_handler(cn_req *req, cn_res *res) {
  (void)req, (void)res;
  return 0;
}

TEST(install_and_errors) {
  cn__dev *d;
  char err[256] = "";
  cn_app *app = cn_app_new();
  CHECK_EQ_INT(cn__dev_new(&d, NULL), 0);
  static const cn_middleware_def bad = {.handler = mw_handler,
                                        .matcher = {"/((?!api"}};
  CHECK_EQ_INT(cn__dev_install(d, app, &bad, err, sizeof err), CN_EINVAL);
  CHECK(err[0] != '\0');
  static const cn_middleware_def none = {.handler = NULL};
  CHECK_EQ_INT(cn__dev_install(d, app, &none, err, sizeof err), CN_EINVAL);
  static const cn_middleware_def good = {.handler = mw_handler,
                                         .matcher = {"/api/:path*"}};
  CHECK_EQ_INT(cn__dev_install(d, app, &good, err, sizeof err), 0);
  /* /_cairn/events is a route of the app now: a second install clashes. */
  CHECK_EQ_INT(cn__dev_install(d, app, &good, err, sizeof err), CN_EEXIST);
  /* Errors: set, replaced, cleared, and an allocation failure keeps the
   * old one. */
  CHECK_EQ_INT(cn__dev_set_error(d, "one"), 0);
  CHECK_EQ_INT(cn__dev_set_error(d, "two"), 0);
  cn__alloc_fail_after(0);
  CHECK_EQ_INT(cn__dev_set_error(d, "three"), CN_ENOMEM);
  cn__alloc_fail_after(-1);
  CHECK_EQ_INT(cn__dev_set_error(d, ""), 0);
  CHECK_EQ_INT(cn__dev_set_error(d, NULL), 0);
  cn__dev_reload(d);
  cn__dev_shutdown(d);
  cn_app_free(app);
  cn__dev_free(d);
  cn__dev_free(NULL);
}

int main(void) {
  RUN(filter_table);
  RUN(filter_out_of_arena);
  RUN(listen_fd);
  RUN(error_page_escapes);
  RUN(install_and_errors);
  return check_summary();
}
