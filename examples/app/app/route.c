/* GET /: the example's home. A route handler may answer HTML; when pages
 * arrive (page.html with layouts), this becomes app/page.html. */
#include <cairn.h>

static int home(cn_req *req, cn_res *res) {
  (void)req;
  static const char page[] =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>cairn</title><link rel=\"stylesheet\" href=\"/style.css\">"
      "</head><body><main><h1>cairn</h1>"
      "<p>The Next.js server runtime, rebuilt in C. Every link below is a "
      "file under <code>examples/app</code>.</p><ul>"
      "<li><a href=\"/api/hello\">/api/hello</a>: app/api/hello/route.c</li>"
      "<li><a href=\"/api/users/42\">/api/users/42</a>: a dynamic segment, "
      "app/api/users/[id]/route.c</li>"
      "<li><a href=\"/api/files/a/b/c\">/api/files/a/b/c</a>: a catch-all"
      "</li>"
      "<li><a href=\"/api/post/abc?pid=123\">/api/post/abc</a>: a pages/api "
      "route</li>"
      "<li><a href=\"/api/old/x/y\">/api/old/x/y</a>: rewritten by "
      "middleware.c</li>"
      "<li><a href=\"/hello.txt\">/hello.txt</a>: a file in public/</li>"
      "</ul></main></body></html>\n";
  cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
  return cn_res_send(res, page, sizeof page - 1);
}

CN_ROUTE(.GET = home, .config = {.nonblocking = 1});
