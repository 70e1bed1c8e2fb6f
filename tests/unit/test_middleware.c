/* middleware/: path-to-regexp matchers, translated to PCRE2. */
#include "check.h"
#include "middleware/middleware.h"

typedef struct {
  const char *pattern;
  const char *path;
  int match;
} mcase;

static const mcase cases[] = {
    {"/about", "/about", 1},
    {"/about", "/about/", 1},
    {"/about", "/about/x", 0},
    {"/about", "/About", 0},
    {"/about", "/aboutx", 0},
    {"/api/:path*", "/api", 1},
    {"/api/:path*", "/api/", 1},
    {"/api/:path*", "/api/a", 1},
    {"/api/:path*", "/api/a/b/c", 1},
    {"/api/:path*", "/apix", 0},
    {"/api/:path*", "/x/api", 0},
    {"/api/:path+", "/api", 0},
    {"/api/:path+", "/api/a", 1},
    {"/api/:path+", "/api/a/b", 1},
    {"/blog/:slug", "/blog/x", 1},
    {"/blog/:slug", "/blog", 0},
    {"/blog/:slug", "/blog/x/y", 0},
    {"/blog/:slug?", "/blog", 1},
    {"/blog/:slug?", "/blog/x", 1},
    {"/blog/:slug?", "/blog/x/y", 0},
    {"/user/:id(\\d+)", "/user/42", 1},
    {"/user/:id(\\d+)", "/user/ab", 0},
    {"/((?!api|_cairn|favicon.ico).*)", "/", 1},
    {"/((?!api|_cairn|favicon.ico).*)", "/dashboard", 1},
    {"/((?!api|_cairn|favicon.ico).*)", "/dashboard/x", 1},
    {"/((?!api|_cairn|favicon.ico).*)", "/api/hello", 0},
    {"/((?!api|_cairn|favicon.ico).*)", "/_cairn/x", 0},
    {"/((?!api|_cairn|favicon.ico).*)", "/favicon.ico", 0},
    {"/files/a.b", "/files/a.b", 1},
    {"/files/a.b", "/files/aXb", 0}, /* '.' is literal */
    {"/a+b", "/a+b", 1},
    {"/a+b", "/aab", 0},
    {"/", "/", 1},
    {"/", "/x", 0},
    {"/shop/:cat/:item", "/shop/a/b", 1},
    {"/shop/:cat/:item", "/shop/a", 0},
};

TEST(matching) {
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    const char *pats[] = {cases[i].pattern, NULL};
    cn__matcher *m = NULL;
    char err[256];
    int rc = cn__matcher_new(&m, pats, 2, err, sizeof err);
    CHECK(rc == 0);
    if (rc) {
      fprintf(stderr, "%s: %s\n", cases[i].pattern, err);
      continue;
    }
    int got = cn__matcher_match(m, cn__cstr(cases[i].path));
    if (got != cases[i].match)
      fprintf(stderr, "pattern %s path %s: got %d\n", cases[i].pattern,
              cases[i].path, got);
    CHECK(got == cases[i].match);
    cn__matcher_free(m);
  }
}

TEST(lists) {
  const char *pats[] = {"/a", "/b/:x*", NULL};
  cn__matcher *m;
  CHECK(cn__matcher_new(&m, pats, 3, NULL, 0) == 0);
  CHECK(cn__matcher_match(m, CN_STR("/a")));
  CHECK(cn__matcher_match(m, CN_STR("/b/c/d")));
  CHECK(!cn__matcher_match(m, CN_STR("/c")));
  cn__matcher_free(m);
  const char *none[] = {NULL};
  CHECK(cn__matcher_new(&m, none, 1, NULL, 0) == 0);
  CHECK(cn__matcher_match(m, CN_STR("/anything"))); /* empty: every path */
  cn__matcher_free(m);
}

TEST(errors) {
  char err[256];
  cn__matcher *m = NULL;
  const char *bad1[] = {"/a/(b", NULL};
  CHECK(cn__matcher_new(&m, bad1, 2, err, sizeof err) == CN_EINVAL);
  CHECK(strstr(err, "unbalanced") != NULL);
  const char *bad2[] = {"/a/:/b", NULL};
  CHECK(cn__matcher_new(&m, bad2, 2, err, sizeof err) == CN_EINVAL);
  CHECK(strstr(err, "name") != NULL);
  const char *bad3[] = {"/a/:x([)", NULL};
  CHECK(cn__matcher_new(&m, bad3, 2, err, sizeof err) == CN_EINVAL);
  CHECK(strstr(err, "/a/:x([)") != NULL);
  char out[8];
  CHECK(cn__matcher_translate("/a/long/pattern", out, sizeof out, NULL, 0) ==
        CN_ETOOBIG);
}

int main(void) {
  RUN(matching);
  RUN(lists);
  RUN(errors);
  return check_summary();
}
