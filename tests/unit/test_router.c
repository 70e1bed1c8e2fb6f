/*
 * The route tree: file paths to patterns, pattern checks, conflicts (with
 * Next.js's exact sentences), matching and precedence, listing order, and
 * insertion-order independence. The brute-force comparison with Next's
 * sorted-regex matching is in test_router_equiv.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "router/router.h"

typedef struct rdef {
  const char *pattern;
  const char *source;
} rdef;

/* A finished router holding defs (data = &defs[i]); rc and err from the
 * first failing call. */
static cn__router *build(const rdef *defs, size_t n, int *rc, char *err,
                         size_t errlen) {
  cn__router *r = cn__router_new();
  *rc = CN_ENOMEM;
  if (!r)
    return NULL;
  snprintf(err, errlen, "stale"); /* success must clear it */
  for (size_t i = 0; i < n; i++)
    if ((*rc = cn__router_add(r, defs[i].pattern, defs[i].source,
                              (void *)&defs[i], err, errlen)))
      return r;
  *rc = cn__router_finish(r, err, errlen);
  return r;
}

/* "pid=abc&slug=[a,b]": the params of a match, for one-line comparisons. */
static void repr(const cn__route_match *m, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < m->nparams && n < cap; i++) {
    const cn__route_param *p = &m->params[i];
    n += (size_t)snprintf(buf + n, cap - n, "%s%.*s=%s", i ? "&" : "",
                          (int)p->name.len, p->name.ptr,
                          p->is_catchall ? "[" : "");
    for (size_t j = 0; j < p->nvalues && n < cap; j++)
      n += (size_t)snprintf(buf + n, cap - n, "%s%.*s", j ? "," : "",
                            (int)p->values[j].len, p->values[j].ptr);
    if (p->is_catchall && n < cap)
      n += (size_t)snprintf(buf + n, cap - n, "]");
  }
}

/* ------------------------------------------------------ file -> pattern */

static const struct {
  const char *relpath;
  int rc;
  cn__route_kind kind;
  const char *out; /* the pattern, or the error sentence when rc != 0 */
} file_cases[] = {
    {"app/page.html", 0, CN__ROUTE_PAGE, "/"},
    {"app/(marketing)/about/page.html", 0, CN__ROUTE_PAGE, "/about"},
    {"app/api/users/[id]/route.c", 0, CN__ROUTE_HANDLER, "/api/users/[id]"},
    {"pages/api/post/[pid].c", 0, CN__ROUTE_API, "/api/post/[pid]"},
    {"pages/api/index.c", 0, CN__ROUTE_API, "/api"},
    {"pages/api/post/index.c", 0, CN__ROUTE_API, "/api/post"},
    {"pages/api/[id]/index.c", 0, CN__ROUTE_API, "/api/[id]"},
    {"pages/api/post/[...slug].c", 0, CN__ROUTE_API, "/api/post/[...slug]"},
    {"pages/api/hello.c", 0, CN__ROUTE_API, "/api/hello"},
    {"pages/api/data.json.c", 0, CN__ROUTE_API, "/api/data.json"},
    {"pages/api/(admin)/users.c", 0, CN__ROUTE_API, "/api/users"},
    {"app/blog/[slug]/layout.html", 0, CN__ROUTE_LAYOUT, "/blog/[slug]"},
    {"app/layout.html", 0, CN__ROUTE_LAYOUT, "/"},
    {"app/layout.c", 0, CN__ROUTE_LAYOUT_LOADER, "/"},
    {"app/blog/loading.html", 0, CN__ROUTE_LOADING, "/blog"},
    {"app/blog/error.html", 0, CN__ROUTE_ERROR, "/blog"},
    {"app/(shop)/not-found.html", 0, CN__ROUTE_NOT_FOUND, "/"},
    {"app/blog/[slug]/page.c", 0, CN__ROUTE_PAGE_LOADER, "/blog/[slug]"},
    {"app/(a)/(b)/shop/[[...path]]/page.html", 0, CN__ROUTE_PAGE,
     "/shop/[[...path]]"},
    {"app/%5Funder/page.html", 0, CN__ROUTE_PAGE, "/_under"},
    {"app/route.c", 0, CN__ROUTE_HANDLER, "/"},
    /* Not routed: private, hidden, unknown names, outside app/ pages/api/ */
    {"app/_components/x/page.html", 0, CN__ROUTE_NONE, ""},
    {"app/blog/_draft/page.html", 0, CN__ROUTE_NONE, ""},
    {"app/_lib/[[broken]]/page.html", 0, CN__ROUTE_NONE, ""},
    {"pages/api/_helpers.c", 0, CN__ROUTE_NONE, ""},
    {"pages/api/lib/_db/x.c", 0, CN__ROUTE_NONE, ""},
    {"app/.cache/page.html", 0, CN__ROUTE_NONE, ""},
    {"app/blog/util.c", 0, CN__ROUTE_NONE, ""},
    {"app/blog/page.htm", 0, CN__ROUTE_NONE, ""},
    {"app/blog/Page.html", 0, CN__ROUTE_NONE, ""},
    {"app/api/index.c", 0, CN__ROUTE_NONE, ""},
    {"pages/about.c", 0, CN__ROUTE_NONE, ""},
    {"pages/api/readme.md", 0, CN__ROUTE_NONE, ""},
    {"pages/api/.c", 0, CN__ROUTE_NONE, ""},
    {"middleware.c", 0, CN__ROUTE_NONE, ""},
    {"app", 0, CN__ROUTE_NONE, ""},
    /* Malformed */
    {"app/blog/[[id]]/page.html", CN_EINVAL, 0,
     "app/blog/[[id]]/page.html: Optional route parameters are not yet "
     "supported (\"[[id]]\")."},
    {"app/blog/[....id]/page.html", CN_EINVAL, 0,
     "app/blog/[....id]/page.html: Segment names may not start with "
     "erroneous periods ('.id')."},
    {"pages/api/[..id].c", CN_EINVAL, 0,
     "pages/api/[..id].c: Segment names may not start with erroneous "
     "periods ('..id')."},
    {"app/blog/[[...id]/route.c", CN_EINVAL, 0,
     "app/blog/[[...id]/route.c: Segment names may not start or end with "
     "extra brackets ('[...id')."},
    {"app/[id/page.html", CN_EINVAL, 0,
     "app/[id/page.html: Segment names may not start or end with extra "
     "brackets ('[id')."},
    {"app/[...slug]/x/page.html", CN_EINVAL, 0,
     "app/[...slug]/x/page.html: Catch-all must be the last part of the "
     "URL."},
    {"app/[id]/[id]/page.html", CN_EINVAL, 0,
     "app/[id]/[id]/page.html: You cannot have the same slug name \"id\" "
     "repeat within a single dynamic path"},
    {"app/[]/page.html", CN_EINVAL, 0,
     "app/[]/page.html: Parameter names cannot be empty in route \"/[]\"."},
    {"app/@modal/page.html", CN_EINVAL, 0,
     "app/@modal/page.html: Parallel routes (\"@modal\") are not supported "
     "by cairn."},
    {"app/(.)photo/page.html", CN_EINVAL, 0,
     "app/(.)photo/page.html: Intercepting routes (\"(.)photo\") are not "
     "supported by cairn."},
    {"app//page.html", CN_EINVAL, 0,
     "app//page.html: not a normalised relative path (empty, \".\" or "
     "\"..\" component)."},
    {"app/../page.html", CN_EINVAL, 0,
     "app/../page.html: not a normalised relative path (empty, \".\" or "
     "\"..\" component)."},
};

TEST(pattern_from_file_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(file_cases); i++) {
    char out[256], err[512];
    cn__route_kind kind = (cn__route_kind)-1;
    int rc = cn__route_pattern_from_file(file_cases[i].relpath, &kind, out,
                                         sizeof out, err, sizeof err);
    if (rc != file_cases[i].rc)
      fprintf(stderr, "case %s\n", file_cases[i].relpath);
    CHECK_EQ_INT(rc, file_cases[i].rc);
    if (rc == 0) {
      CHECK_EQ_INT(kind, file_cases[i].kind);
      CHECK_EQ_STR(out, file_cases[i].out);
      /* What comes out of a file is always a pattern the tree accepts. */
      if (kind != CN__ROUTE_NONE)
        CHECK_EQ_INT(cn__route_pattern_check(out, err, sizeof err), 0);
    } else {
      CHECK_EQ_INT(kind, CN__ROUTE_NONE);
      CHECK_EQ_STR(err, file_cases[i].out);
    }
  }
}

TEST(pattern_from_file_small_buffer) {
  char out[4], err[128];
  cn__route_kind kind;
  CHECK_EQ_INT(cn__route_pattern_from_file("app/about/page.html", &kind, out,
                                           sizeof out, err, sizeof err),
               CN_ETOOBIG);
  CHECK_EQ_INT(kind, CN__ROUTE_NONE);
  CHECK_EQ_STR(out, "");
  char exact[7]; /* "/about" and its NUL */
  CHECK_EQ_INT(cn__route_pattern_from_file("app/about/page.html", &kind,
                                           exact, sizeof exact, NULL, 0), 0);
  CHECK_EQ_STR(exact, "/about");
  CHECK_EQ_INT(cn__route_kind_is_endpoint(CN__ROUTE_API), 1);
  CHECK_EQ_INT(cn__route_kind_is_endpoint(CN__ROUTE_LAYOUT), 0);
  CHECK_EQ_STR(cn__route_kind_name(CN__ROUTE_HANDLER), "route handler");
}

/* -------------------------------------------------- one pattern alone */

static const struct {
  const char *pattern;
  int rc;
  const char *err; /* after "x.c: " */
} add_cases[] = {
    {"/blog/[...id]/[...id2]", CN_EINVAL,
     "Catch-all must be the last part of the URL."},
    {"/blog/[...id]/abc", CN_EINVAL,
     "Catch-all must be the last part of the URL."},
    {"/blog/[[...id]]/abc", CN_EINVAL,
     "Catch-all must be the last part of the URL."},
    {"/blog/[....id]/abc", CN_EINVAL,
     "Segment names may not start with erroneous periods ('.id')."},
    {"/blog/[..id]/abc", CN_EINVAL,
     "Segment names may not start with erroneous periods ('..id')."},
    {"/blog/[[...id]", CN_EINVAL,
     "Segment names may not start or end with extra brackets ('[...id')."},
    {"/blog/[[[...id]]", CN_EINVAL,
     "Segment names may not start or end with extra brackets ('[...id')."},
    {"/blog/[...id]]", CN_EINVAL,
     "Segment names may not start or end with extra brackets ('id]')."},
    {"/blog/[[...id]]]", CN_EINVAL,
     "Segment names may not start or end with extra brackets ('id]')."},
    {"/blog/[[[...id]]]", CN_EINVAL,
     "Segment names may not start or end with extra brackets ('[...id]')."},
    {"/[[blog]]", CN_EINVAL,
     "Optional route parameters are not yet supported (\"[[blog]]\")."},
    {"/abc/[[blog]]/def", CN_EINVAL,
     "Optional route parameters are not yet supported (\"[[blog]]\")."},
    {"/blog/[id]/comments/[id]", CN_EINVAL,
     "You cannot have the same slug name \"id\" repeat within a single "
     "dynamic path"},
    {"/blog/[id]/[...id]", CN_EINVAL,
     "You cannot have the same slug name \"id\" repeat within a single "
     "dynamic path"},
    {"/blog/[helloworld]/[hello-world]", CN_EINVAL,
     "You cannot have the slug names \"helloworld\" and \"hello-world\" "
     "differ only by non-word symbols within a single dynamic path"},
    {"/x/[\xE2\x80\xA6slug]", CN_EINVAL,
     "Detected a three-dot character ('\xE2\x80\xA6') in parameter "
     "\"\xE2\x80\xA6slug\" in route \"/x/[\xE2\x80\xA6slug]\". Did you mean "
     "('...')?"},
    {"/a/[...]", CN_EINVAL,
     "Parameter names cannot be empty in route \"/a/[...]\"."},
    {"blog", CN_EINVAL, "Route patterns must start with \"/\" (\"blog\")."},
    {"", CN_EINVAL, "Route patterns must start with \"/\" (\"\")."},
    {"/blog/", CN_EINVAL,
     "Route patterns may not end with \"/\" (\"/blog/\")."},
    {"/a//b", CN_EINVAL,
     "Route patterns may not contain empty, \".\" or \"..\" segments "
     "(\"/a//b\")."},
    {"/a/../b", CN_EINVAL,
     "Route patterns may not contain empty, \".\" or \"..\" segments "
     "(\"/a/../b\")."},
    {"/", 0, ""},
    {"/v1.0/[id]/a[b]c/[[...rest]]", 0, ""},
    {"/[a]/[b]/[...c]", 0, ""},
};

TEST(add_checks_one_pattern) {
  for (size_t i = 0; i < CN__ARRAY_LEN(add_cases); i++) {
    cn__router *r = cn__router_new();
    char err[512] = "", want[512];
    int rc = cn__router_add(r, add_cases[i].pattern, "x.c", NULL, err,
                            sizeof err);
    CHECK_EQ_INT(rc, add_cases[i].rc);
    if (add_cases[i].rc) {
      snprintf(want, sizeof want, "x.c: %s", add_cases[i].err);
      CHECK_EQ_STR(err, want);
      CHECK_EQ_INT(cn__route_pattern_check(add_cases[i].pattern, err,
                                           sizeof err), add_cases[i].rc);
      CHECK_EQ_STR(err, add_cases[i].err);
    }
    /* A refused pattern never reaches the tree. */
    CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
    cn__router_free(r);
  }
}

TEST(too_deep_and_too_long) {
  char pat[CN__ROUTE_PATTERN_MAX + 16], err[256];
  size_t n = 0;
  for (int i = 0; i <= CN__ROUTE_DEPTH_MAX; i++)
    n += (size_t)snprintf(pat + n, sizeof pat - n, "/a");
  CHECK_EQ_INT(cn__route_pattern_check(pat, err, sizeof err), CN_ETOOBIG);
  CHECK_EQ_STR(err, "Route patterns may not be deeper than 128 segments.");
  pat[2 * CN__ROUTE_DEPTH_MAX] = '\0';
  CHECK_EQ_INT(cn__route_pattern_check(pat, err, sizeof err), 0);
  memset(pat, 'a', sizeof pat - 1);
  pat[0] = '/';
  pat[sizeof pat - 1] = '\0';
  CHECK_EQ_INT(cn__route_pattern_check(pat, err, sizeof err), CN_ETOOBIG);
}

/* ------------------------------------------------------------ conflicts */

#define MAXR 6
static const struct {
  rdef routes[MAXR];
  int rc;
  const char *err;
} conflict_cases[] = {
    {{{"/blog/[id]", "app/blog/[id]/page.html"},
      {"/blog/[cid]", "app/blog/[cid]/page.html"}},
     CN_EINVAL,
     "app/blog/[id]/page.html: You cannot use different slug names for the "
     "same dynamic path ('cid' !== 'id'). (conflicts with "
     "app/blog/[cid]/page.html)"},
    /* Next's own "catches mismatched param names" set: two conflicts. */
    {{{"/", "a"}, {"/blog", "b"}, {"/blog/[id]", "c"},
      {"/blog/[id]/comments/[cid]", "d"}, {"/blog/[cid]", "e"}},
     CN_EINVAL,
     "c: You cannot use different slug names for the same dynamic path "
     "('cid' !== 'id'). (conflicts with e)\n"
     "d: You cannot use different slug names for the same dynamic path "
     "('cid' !== 'id'). (conflicts with e)"},
    {{{"/[...one]", "pages/api/x/[...one].c"},
      {"/[[...one]]", "pages/api/x/[[...one]].c"}},
     CN_EINVAL,
     "pages/api/x/[[...one]].c: You cannot use both a required and optional "
     "catch-all route at the same level (\"[...one]\" and \"[[...one]]\" ). "
     "(conflicts with pages/api/x/[...one].c)"},
    {{{"/", "app/page.html"}, {"/[[...all]]", "app/[[...all]]/page.html"}},
     CN_EINVAL,
     "app/[[...all]]/page.html: You cannot define a route with the same "
     "specificity as an optional catch-all route (\"/\" and "
     "\"/[[...all]]\"). (conflicts with app/page.html)"},
    {{{"/sub/[[...all]]", "b.c"}, {"/sub", "a.c"}},
     CN_EINVAL,
     "b.c: You cannot define a route with the same specificity as an "
     "optional catch-all route (\"/sub\" and \"/sub/[[...all]]\"). "
     "(conflicts with a.c)"},
    {{{"/sub/[[...all]]", "a.c"}, {"/sub/[[...rest]]", "b.c"}},
     CN_EINVAL,
     "b.c: You cannot use different slug names for the same dynamic path "
     "('all' !== 'rest'). (conflicts with a.c)"},
    {{{"/d/[...b]", "b.c"}, {"/d/[...a]", "a.c"}},
     CN_EINVAL,
     "b.c: You cannot use different slug names for the same dynamic path "
     "('a' !== 'b'). (conflicts with a.c)"},
    {{{"/api/[id]", "app/api/[id]/route.c"},
      {"/api/[slug]/x", "pages/api/[slug]/x.c"}},
     CN_EINVAL,
     "pages/api/[slug]/x.c: You cannot use different slug names for the "
     "same dynamic path ('id' !== 'slug'). (conflicts with "
     "app/api/[id]/route.c)"},
    {{{"/api/hello", "pages/api/hello.c"},
      {"/api/hello", "app/api/hello/route.c"}},
     CN_EEXIST,
     "Conflicting app and page file found: \"app/api/hello/route.c\" and "
     "\"pages/api/hello.c\". Please remove one to continue."},
    {{{"/x", "app/x/route.c"}, {"/x", "app/x/page.html"}},
     CN_EEXIST,
     "Conflicting route and page at /x: route at app/x/route.c and page at "
     "app/x/page.html"},
    {{{"/about", "app/(b)/about/page.html"},
      {"/about", "app/(a)/about/page.html"}},
     CN_EEXIST,
     "You cannot have two parallel pages that resolve to the same path. "
     "Please check app/(a)/about/page.html and app/(b)/about/page.html."},
    {{{"/api/a", "pages/api/a/index.c"}, {"/api/a", "pages/api/a.c"}},
     CN_EEXIST,
     "Duplicate page detected. pages/api/a.c and pages/api/a/index.c both "
     "resolve to /api/a."},
    {{{"/d/[...a]", "y.c"}, {"/d/[...a]", "x.c"}},
     CN_EEXIST, "Duplicate page detected. x.c and y.c both resolve to "
                "/d/[...a]."},
    {{{"/d/[[...a]]", "y.c"}, {"/d/[[...a]]", "x.c"}, {"/d/[[...a]]", "z.c"}},
     CN_EEXIST,
     "Duplicate page detected. x.c and y.c both resolve to /d/[[...a]].\n"
     "Duplicate page detected. x.c and z.c both resolve to /d/[[...a]]."},
    /* Index and optional catch-all reached through the same param. */
    {{{"/[lang]/docs", "a.c"}, {"/[lang]/docs/[[...p]]", "b.c"},
      {"/[lang]", "c.c"}},
     CN_EINVAL,
     "b.c: You cannot define a route with the same specificity as an "
     "optional catch-all route (\"/[lang]/docs\" and "
     "\"/[lang]/docs/[[...p]]\"). (conflicts with a.c)"},
    /* Fine together: the same param name, catch-all beside [x], statics. */
    {{{"/p2/[id]", "a"}, {"/p2/[id]/abc", "b"}, {"/p2/[...rest]", "c"},
      {"/p2", "d"}, {"/p2/x", "e"}, {"/[root]", "f"}},
     0, ""},
};

static size_t count_routes(const rdef *defs) {
  size_t n = 0;
  while (n < MAXR && defs[n].pattern)
    n++;
  return n;
}

static int factorial_perm(size_t *idx, size_t n, unsigned k) {
  /* The k-th permutation of 0..n-1 (k < n!), 0 when k is out of range. */
  size_t pool[MAXR], fact = 1;
  for (size_t i = 1; i <= n; i++)
    fact *= i;
  if (k >= fact)
    return 0;
  for (size_t i = 0; i < n; i++)
    pool[i] = i;
  for (size_t i = 0; i < n; i++) {
    fact /= n - i;
    size_t pick = k / fact;
    k %= (unsigned)fact;
    idx[i] = pool[pick];
    memmove(pool + pick, pool + pick + 1, (n - i - pick - 1) * sizeof(*pool));
  }
  return 1;
}

TEST(conflicts_every_order) {
  for (size_t c = 0; c < CN__ARRAY_LEN(conflict_cases); c++) {
    size_t n = count_routes(conflict_cases[c].routes), idx[MAXR];
    for (unsigned k = 0; factorial_perm(idx, n, k); k++) {
      rdef defs[MAXR];
      char err[2048];
      int rc;
      for (size_t i = 0; i < n; i++)
        defs[i] = conflict_cases[c].routes[idx[i]];
      cn__router *r = build(defs, n, &rc, err, sizeof err);
      if (rc != conflict_cases[c].rc ||
          strcmp(err, conflict_cases[c].err) != 0)
        fprintf(stderr, "conflict case %zu, permutation %u\n", c, k);
      CHECK_EQ_INT(rc, conflict_cases[c].rc);
      CHECK_EQ_STR(err, conflict_cases[c].err);
      cn__router_free(r);
    }
  }
}

TEST(conflict_message_truncates) {
  rdef defs[] = {{"/a", "pages/api/a.c"}, {"/a", "pages/api/a/index.c"}};
  char err[16];
  int rc;
  cn__router *r = build(defs, 2, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, CN_EEXIST);
  CHECK_EQ_STR(err, "Duplicate page ");
  cn__router_free(r);
}

/* ------------------------------------------------------------- matching */

static const rdef tree1[] = {
    {"/", "app/page.html"},
    {"/about", "app/(marketing)/about/page.html"},
    {"/api", "pages/api/index.c"},
    {"/api/post/create", "pages/api/post/create.c"},
    {"/api/post/[pid]", "pages/api/post/[pid].c"},
    {"/api/post/[...slug]", "pages/api/post/[...slug].c"},
    {"/api/users/[id]", "app/api/users/[id]/route.c"},
    {"/api/users/[id]/posts", "app/api/users/[id]/posts/route.c"},
    {"/shop/[[...path]]", "app/shop/[[...path]]/page.html"},
    {"/docs", "app/docs/page.html"},
    {"/docs/[...slug]", "app/docs/[...slug]/page.html"},
    {"/blog/[slug]/comments", "app/blog/[slug]/comments/page.html"},
    {"/blog/featured/x", "app/blog/featured/x/page.html"},
    {"/[lang]/settings", "app/[lang]/settings/page.html"},
    {"/Case", "app/Case/page.html"},
    {"/caf\xC3\xA9", "app/caf\xC3\xA9/page.html"},
    {"/_under", "app/%5Funder/page.html"},
    {"/files/[name]", "app/files/[name]/route.c"},
};

static const struct {
  const char *path;
  int rc;
  const char *pattern; /* NULL when rc != 0 */
  const char *params;
  int trailing;
} match_cases[] = {
    {"/", 0, "/", "", 0},
    {"/about", 0, "/about", "", 0},
    {"/about/", 0, "/about", "", 1},
    {"/api", 0, "/api", "", 0},
    {"/api/post/create", 0, "/api/post/create", "", 0},
    {"/api/post/abc", 0, "/api/post/[pid]", "pid=abc", 0},
    {"/api/post/a/b", 0, "/api/post/[...slug]", "slug=[a,b]", 0},
    {"/api/post/create/x", 0, "/api/post/[...slug]", "slug=[create,x]", 0},
    {"/api/post/a/b/", 0, "/api/post/[...slug]", "slug=[a,b]", 1},
    {"/api/post", CN_ENOENT, NULL, "", 0}, /* no index; [lang] wants more */
    {"/api/users/42", 0, "/api/users/[id]", "id=42", 0},
    {"/api/users/42/posts", 0, "/api/users/[id]/posts", "id=42", 0},
    {"/api/users/42/other", CN_ENOENT, NULL, "", 0},
    {"/shop", 0, "/shop/[[...path]]", "", 0},
    {"/shop/", 0, "/shop/[[...path]]", "", 1},
    {"/shop/a", 0, "/shop/[[...path]]", "path=[a]", 0},
    {"/shop/a/b/c", 0, "/shop/[[...path]]", "path=[a,b,c]", 0},
    {"/docs", 0, "/docs", "", 0},
    {"/docs/x", 0, "/docs/[...slug]", "slug=[x]", 0},
    {"/blog/featured/x", 0, "/blog/featured/x", "", 0},
    {"/blog/featured/comments", 0, "/blog/[slug]/comments", "slug=featured",
     0},
    {"/blog/other/comments", 0, "/blog/[slug]/comments", "slug=other", 0},
    {"/blog/featured", CN_ENOENT, NULL, "", 0},
    {"/en/settings", 0, "/[lang]/settings", "lang=en", 0},
    {"/about/settings", 0, "/[lang]/settings", "lang=about", 0},
    {"/Case", 0, "/Case", "", 0},
    {"/case", CN_ENOENT, NULL, "", 0},
    {"/CASE", CN_ENOENT, NULL, "", 0},
    {"/caf%C3%A9", 0, "/caf\xC3\xA9", "", 0},
    {"/caf%c3%a9", 0, "/caf\xC3\xA9", "", 0},
    {"/%61bout", 0, "/about", "", 0},
    {"/_under", 0, "/_under", "", 0},
    {"/%5Funder", 0, "/_under", "", 0},
    {"/files/a%2Fb", 0, "/files/[name]", "name=a/b", 0},
    {"/files/a%2fb/", 0, "/files/[name]", "name=a/b", 1},
    {"/api/post/a%2Fb/c", 0, "/api/post/[...slug]", "slug=[a/b,c]", 0},
    {"/files/a+b%20c", 0, "/files/[name]", "name=a+b c", 0},
    {"/files/%E2%82%AC", 0, "/files/[name]", "name=\xE2\x82\xAC", 0},
    {"/files/\xC3\xA9", 0, "/files/[name]", "name=\xC3\xA9", 0},
    {"/files/%zz", CN_EPARSE, NULL, "", 0},
    {"/files/%", CN_EPARSE, NULL, "", 0},
    {"/files/%4", CN_EPARSE, NULL, "", 0},
    {"/files/ab%4/", CN_EPARSE, NULL, "", 1},
    {"/nomatch/at/all/%zz", CN_EPARSE, NULL, "", 0},
    {"//x/%zz", CN_EPARSE, NULL, "", 0},
    {"/files/%00", CN_EPARSE, NULL, "", 0},
    {"/files/%C3", CN_EPARSE, NULL, "", 0},
    {"/files/%C3x", CN_EPARSE, NULL, "", 0},
    {"/files/%C3%28", CN_EPARSE, NULL, "", 0},
    {"/files/%ED%A0%80", CN_EPARSE, NULL, "", 0},
    {"/files/%C0%AF", CN_EPARSE, NULL, "", 0},
    {"/files/%F4%90%80%80", CN_EPARSE, NULL, "", 0},
    {"//", CN_ENOENT, NULL, "", 1},
    {"///", CN_ENOENT, NULL, "", 1},
    {"/api//post/x", CN_ENOENT, NULL, "", 0},
    {"/about//", CN_ENOENT, NULL, "", 1},
    {"/api/post/./x", CN_ENOENT, NULL, "", 0},
    {"/files/..", CN_ENOENT, NULL, "", 0},
    {"/files/%2E%2e", CN_ENOENT, NULL, "", 0},
    {"/files/.x", 0, "/files/[name]", "name=.x", 0},
    {"", CN_ENOENT, NULL, "", 0},
    {"about", CN_ENOENT, NULL, "", 0},
    {"/nothing/here/at/all", CN_ENOENT, NULL, "", 0},
};

TEST(match_table) {
  int rc;
  char err[256], got[512];
  cn__router *r = build(tree1, CN__ARRAY_LEN(tree1), &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_STR(err, "");
  for (size_t i = 0; i < CN__ARRAY_LEN(match_cases); i++) {
    cn__arena arena;
    cn__route_match m;
    const char *path = match_cases[i].path;
    const char *pattern = match_cases[i].pattern;
    int want = match_cases[i].rc;
    cn__arena_init(&arena, NULL, 0);
    rc = cn__router_match(r, cn__cstr(path), &arena, &m);
    if (rc != want)
      fprintf(stderr, "path \"%s\"\n", path);
    CHECK_EQ_INT(rc, want);
    CHECK_EQ_INT(m.trailing_slash, match_cases[i].trailing);
    CHECK_EQ_INT(m.path.len, strlen(path) - (size_t)m.trailing_slash);
    if (rc == 0 && pattern) {
      CHECK_EQ_STR(m.pattern, pattern);
      const rdef *d = m.data;
      CHECK(d && strcmp(d->pattern, pattern) == 0);
      CHECK(d && m.source_file && strcmp(m.source_file, d->source) == 0);
      repr(&m, got, sizeof got);
      if (strcmp(got, match_cases[i].params) != 0)
        fprintf(stderr, "path \"%s\"\n", path);
      CHECK_EQ_STR(got, match_cases[i].params);
    } else {
      CHECK(m.data == NULL && m.pattern == NULL && m.nparams == 0);
    }
    cn__arena_destroy(&arena);
  }
  cn__router_free(r);
}

/* -------------------------------------------------- order, permutations */

/* Next's page-route-sorter test input, and the order it expects. */
static const char *const next_input[] = {
    "/posts", "/[root-slug]", "/", "/posts/[id]", "/blog/[id]/comments/[cid]",
    "/blog/abc/[id]", "/[...rest]", "/blog/abc/post", "/blog/abc",
    "/p1/[[...incl]]", "/p/[...rest]", "/p2/[...rest]", "/p2/[id]",
    "/p2/[id]/abc", "/p3/[[...rest]]", "/p3/[id]", "/p3/[id]/abc",
    "/blog/[id]", "/foo/[d]/bar/baz/[f]", "/apples/[ab]/[cd]/ef",
};
static const char *const next_sorted[] = {
    "/", "/apples/[ab]/[cd]/ef", "/blog/abc", "/blog/abc/post",
    "/blog/abc/[id]", "/blog/[id]", "/blog/[id]/comments/[cid]",
    "/foo/[d]/bar/baz/[f]", "/p/[...rest]", "/p1/[[...incl]]", "/p2/[id]",
    "/p2/[id]/abc", "/p2/[...rest]", "/p3/[id]", "/p3/[id]/abc",
    "/p3/[[...rest]]", "/posts", "/posts/[id]", "/[root-slug]", "/[...rest]",
};
#define NNEXT CN__ARRAY_LEN(next_input)

typedef struct listing {
  const char *patterns[64];
  size_t n;
} listing;

static int collect(const cn__route_info *info, void *ud) {
  listing *l = ud;
  if (l->n < 64)
    l->patterns[l->n++] = info->pattern;
  return 0;
}

static int stop_at_third(const cn__route_info *info, void *ud) {
  return ++*(int *)ud == 3 ? 42 : 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static const char *const probe_paths[] = {
    "/", "/blog/abc", "/blog/abc/x", "/blog/abc/post", "/blog/q",
    "/blog/q/comments/7", "/blog/q/comments", "/p", "/p/a/b", "/p1", "/p1/",
    "/p1/z/y", "/p2/1", "/p2/1/abc", "/p2/1/abd", "/p3", "/p3/1", "/p3/1/abc",
    "/p3/1/2/3", "/posts", "/posts/9", "/posts/9/x", "/zzz", "/zzz/y",
    "/apples/1/2/ef", "/apples/1/2/eg", "/foo/1/bar/baz/2", "/foo/1/bar",
};

/* Every insertion order gives the same listing and the same answers. */
TEST(next_sorted_order_any_insertion_order) {
  char base[CN__ARRAY_LEN(probe_paths)][256];
  for (int round = 0; round < 40; round++) {
    const char *in[NNEXT];
    memcpy(in, next_input, sizeof in);
    if (round == 1)
      for (size_t i = 0; i < NNEXT; i++)
        in[i] = next_input[NNEXT - 1 - i];
    else if (round > 1)
      for (size_t i = NNEXT - 1; i > 0; i--) {
        size_t j = (size_t)(rnd() % (i + 1));
        const char *t = in[i];
        in[i] = in[j];
        in[j] = t;
      }
    cn__router *r = cn__router_new();
    char err[256] = "";
    for (size_t i = 0; i < NNEXT; i++)
      CHECK_EQ_INT(cn__router_add(r, in[i], in[i], (void *)in[i], err,
                                  sizeof err), 0);
    CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
    listing l = {{0}, 0};
    CHECK_EQ_INT(cn__router_foreach(r, collect, &l), 0);
    CHECK_EQ_INT(l.n, NNEXT);
    for (size_t i = 0; i < l.n && i < NNEXT; i++)
      CHECK_EQ_STR(l.patterns[i], next_sorted[i]);
    for (size_t p = 0; p < CN__ARRAY_LEN(probe_paths); p++) {
      cn__arena arena;
      cn__route_match m;
      char got[256];
      cn__arena_init(&arena, NULL, 0);
      int rc = cn__router_match(r, cn__cstr(probe_paths[p]), &arena, &m);
      size_t n = (size_t)snprintf(got, sizeof got, "%d %s ", rc,
                                  m.pattern ? m.pattern : "-");
      repr(&m, got + n, sizeof got - n);
      if (round == 0)
        memcpy(base[p], got, sizeof got);
      else
        CHECK_EQ_STR(got, base[p]);
      cn__arena_destroy(&arena);
    }
    cn__router_free(r);
  }
  /* A few answers spelled out, so the baseline itself is checked. */
  CHECK_EQ_STR(base[2], "0 /blog/abc/[id] id=x");
  CHECK_EQ_STR(base[4], "0 /blog/[id] id=q");
  CHECK_EQ_STR(base[7], "0 /[root-slug] root-slug=p");
  CHECK_EQ_STR(base[9], "0 /p1/[[...incl]] ");
  CHECK_EQ_STR(base[14], "0 /p2/[...rest] rest=[1,abd]");
  CHECK_EQ_STR(base[16], "0 /p3/[id] id=1");
  CHECK_EQ_STR(base[18], "0 /p3/[[...rest]] rest=[1,2,3]");
  CHECK_EQ_STR(base[23], "0 /[...rest] rest=[zzz,y]");
  CHECK_EQ_STR(base[25], "0 /[...rest] rest=[apples,1,2,eg]");
  CHECK_EQ_STR(base[27], "0 /[...rest] rest=[foo,1,bar]");
}

TEST(sortable_routes_example_and_foreach_stop) {
  const char *in[] = {"/[slug]", "/api/v1/[...path]", "/api/v1/auth/login",
                      "/api/users", "/"};
  cn__router *r = cn__router_new();
  char err[128];
  for (size_t i = 0; i < CN__ARRAY_LEN(in); i++)
    CHECK_EQ_INT(cn__router_add(r, in[i], NULL, NULL, err, sizeof err), 0);
  CHECK_EQ_INT(cn__router_foreach(r, collect, NULL), CN_ESTATE);
  CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
  listing l = {{0}, 0};
  CHECK_EQ_INT(cn__router_foreach(r, collect, &l), 0);
  CHECK_EQ_INT(l.n, 5);
  for (size_t i = 0; i < l.n; i++)
    CHECK_EQ_STR(l.patterns[i], in[CN__ARRAY_LEN(in) - 1 - i]);
  int seen = 0;
  CHECK_EQ_INT(cn__router_foreach(r, stop_at_third, &seen), 42);
  CHECK_EQ_INT(seen, 3);
  cn__router_free(r);
}

/* Static children sort as JavaScript sorts strings (UTF-16 code units):
 * U+FF01 (EF BC 81) after U+1F600 (F0 9F 98 80), unlike byte order. */
TEST(static_children_js_order) {
  const char *in[] = {"/\xEF\xBC\x81", "/\xF0\x9F\x98\x80", "/b", "/B",
                      "/a/x", "/a", "/ab", "/\xC3\xA9"};
  const char *want[] = {"/B", "/a", "/a/x", "/ab", "/b", "/\xC3\xA9",
                        "/\xF0\x9F\x98\x80", "/\xEF\xBC\x81"};
  cn__router *r = cn__router_new();
  char err[128];
  for (size_t i = 0; i < CN__ARRAY_LEN(in); i++)
    CHECK_EQ_INT(cn__router_add(r, in[i], NULL, NULL, err, sizeof err), 0);
  CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
  listing l = {{0}, 0};
  cn__router_foreach(r, collect, &l);
  CHECK_EQ_INT(l.n, CN__ARRAY_LEN(want));
  for (size_t i = 0; i < l.n; i++)
    CHECK_EQ_STR(l.patterns[i], want[i]);
  for (size_t i = 0; i < CN__ARRAY_LEN(in); i++) {
    cn__arena arena;
    cn__route_match m;
    cn__arena_init(&arena, NULL, 0);
    CHECK_EQ_INT(cn__router_match(r, cn__cstr(in[i]), &arena, &m), 0);
    CHECK_EQ_STR(m.pattern, in[i]);
    cn__arena_destroy(&arena);
  }
  cn__router_free(r);
}

int main(void) {
  RUN(pattern_from_file_table);
  RUN(pattern_from_file_small_buffer);
  RUN(add_checks_one_pattern);
  RUN(too_deep_and_too_long);
  RUN(conflicts_every_order);
  RUN(conflict_message_truncates);
  RUN(match_table);
  RUN(next_sorted_order_any_insertion_order);
  RUN(sortable_routes_example_and_foreach_stop);
  RUN(static_children_js_order);
  return check_summary();
}
