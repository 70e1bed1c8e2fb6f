/*
 * The full-route cache's keys (src/page/cache.c): canonical paths built
 * from a pattern and params (cn__page_path at build, cn__page_key per
 * request), encoded as encodeURIComponent encodes, the same either way so
 * that what the build kept is found; wrong params refused, never turned
 * into another page's key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "page/page.h"
#include "router/router.h"
#include "server/server.h"

/* ------------------------------------------------------ cn__page_path */

#define EINVAL_ NULL /* want: CN_EINVAL */

static const struct {
  const char *pattern;
  const char *params; /* JSON */
  const char *want;   /* NULL: CN_EINVAL */
} path_cases[] = {
    /* Static patterns ignore the params. */
    {"/", "{}", "/"},
    {"/", "{\"x\":\"y\"}", "/"},
    {"/a/b", "{}", "/a/b"},
    {"/a/b", "{\"a\":\"z\"}", "/a/b"},
    /* One dynamic segment. */
    {"/blog/[slug]", "{\"slug\":\"hello\"}", "/blog/hello"},
    {"/[slug]", "{\"slug\":\"x\"}", "/x"},
    {"/blog/[slug]/edit", "{\"slug\":\"x\"}", "/blog/x/edit"},
    {"/[a]/[b]", "{\"b\":\"2\",\"a\":\"1\",\"c\":\"3\"}", "/1/2"},
    {"/blog/[slug]", "{}", EINVAL_},                       /* missing */
    {"/blog/[slug]", "{\"Slug\":\"x\"}", EINVAL_},         /* case matters */
    {"/blog/[slug]", "{\"slug\":\"\"}", EINVAL_},          /* empty */
    {"/blog/[slug]", "{\"slug\":null}", EINVAL_},
    {"/blog/[slug]", "{\"slug\":5}", EINVAL_},
    {"/blog/[slug]", "{\"slug\":true}", EINVAL_},
    {"/blog/[slug]", "{\"slug\":{\"a\":\"b\"}}", EINVAL_},
    {"/blog/[slug]", "{\"slug\":[\"a\",\"b\"]}", EINVAL_}, /* array */
    {"/blog/[slug]", "{\"slug\":[\"a\"]}", EINVAL_},       /* array of 1 */
    {"/blog/[slug]", "{\"slug\":[]}", EINVAL_},
    {"/[a]/[b]", "{\"a\":\"1\"}", EINVAL_},
    /* encodeURIComponent: unreserved and -_.!~*'() kept, all else %XX. */
    {"/blog/[slug]", "{\"slug\":\"a b\"}", "/blog/a%20b"},
    {"/blog/[slug]", "{\"slug\":\"a/b\"}", "/blog/a%2Fb"},
    {"/blog/[slug]", "{\"slug\":\"\\u2713\"}", "/blog/%E2%9C%93"},
    {"/blog/[slug]", "{\"slug\":\"\\ud83d\\ude00\"}", "/blog/%F0%9F%98%80"},
    {"/blog/[slug]", "{\"slug\":\"-_.!~*'()\"}", "/blog/-_.!~*'()"},
    {"/blog/[slug]", "{\"slug\":\"AZaz09\"}", "/blog/AZaz09"},
    {"/blog/[slug]", "{\"slug\":\"%\"}", "/blog/%25"},
    {"/blog/[slug]", "{\"slug\":\"%20\"}", "/blog/%2520"},
    {"/blog/[slug]", "{\"slug\":\"?#&=+\"}", "/blog/%3F%23%26%3D%2B"},
    {"/blog/[slug]", "{\"slug\":\":@,;$\"}", "/blog/%3A%40%2C%3B%24"},
    {"/blog/[slug]", "{\"slug\":\"[]{}|\\\\^`\\\"<>\"}",
     "/blog/%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"},
    {"/blog/[slug]", "{\"slug\":\"\\u0001\\u001f\\u007f\"}",
     "/blog/%01%1F%7F"},
    {"/blog/[slug]", "{\"slug\":\".\"}", "/blog/."},
    {"/blog/[slug]", "{\"slug\":\"..\"}", "/blog/.."},
    /* Catch-all: an array of segments, each encoded. */
    {"/docs/[...slug]", "{\"slug\":[\"a\"]}", "/docs/a"},
    {"/docs/[...slug]", "{\"slug\":[\"a\",\"b\",\"c\"]}", "/docs/a/b/c"},
    {"/docs/[...slug]", "{\"slug\":[\"a b\",\"c/d\"]}", "/docs/a%20b/c%2Fd"},
    {"/docs/[...slug]/x", "{\"slug\":[\"a\",\"b\"]}", "/docs/a/b/x"},
    {"/docs/[...slug]", "{\"slug\":[]}", EINVAL_},
    {"/docs/[...slug]", "{}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":null}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":[\"a\",\"\"]}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":[\"\"]}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":[\"a\",5]}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":[\"a\",[\"b\"]]}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":[null]}", EINVAL_},
    /* Next.js: "A required parameter (slug) was not provided as an array". */
    {"/docs/[...slug]", "{\"slug\":\"a\"}", EINVAL_},
    {"/docs/[...slug]", "{\"slug\":5}", EINVAL_},
    /* Optional catch-all: absent or empty is the bare prefix. */
    {"/opt/[[...slug]]", "{}", "/opt"},
    {"/opt/[[...slug]]", "{\"slug\":[]}", "/opt"},
    {"/opt/[[...slug]]", "{\"slug\":[\"x\"]}", "/opt/x"},
    {"/opt/[[...slug]]", "{\"slug\":[\"x\",\"y z\"]}", "/opt/x/y%20z"},
    {"/[[...slug]]", "{}", "/"},
    {"/[[...slug]]", "{\"slug\":[\"a\"]}", "/a"},
    {"/opt/[[...slug]]", "{\"slug\":[\"\"]}", EINVAL_},
    /* Present but of the wrong type is not "absent". */
    {"/opt/[[...slug]]", "{\"slug\":[5]}", EINVAL_},
    {"/opt/[[...slug]]", "{\"slug\":[\"a\",5]}", EINVAL_},
    {"/opt/[[...slug]]", "{\"slug\":5}", EINVAL_},
    {"/opt/[[...slug]]", "{\"slug\":{}}", EINVAL_},
};

TEST(path_table) {
  cn__buf out = {0};
  for (size_t i = 0; i < CN__ARRAY_LEN(path_cases); i++) {
    json_error_t je;
    json_t *params = json_loads(path_cases[i].params, 0, &je);
    CHECK(params != NULL);
    /* A stale value in out must not leak into the result. */
    out.len = 0;
    cn__buf_append(&out, "STALE", 5);
    int rc = cn__page_path(path_cases[i].pattern, params, &out);
    const char *want = path_cases[i].want;
    int bad = want ? rc != 0 || out.len != strlen(want) ||
                         memcmp(out.ptr, want, out.len) ||
                         out.ptr[out.len] != '\0'
                   : rc != CN_EINVAL;
    if (bad) {
      fprintf(stderr, "  %s %s: rc %d, got \"%.*s\", want %s\n",
              path_cases[i].pattern, path_cases[i].params, rc,
              rc ? 0 : (int)out.len, out.ptr ? out.ptr : "",
              want ? want : "CN_EINVAL");
      CHECK(!"path case");
    }
    json_decref(params);
  }
  cn__buf_free(&out);
}

TEST(path_odd_inputs) {
  cn__buf out = {0};
  /* Params that are not an object. */
  json_t *arr = json_pack("[s]", "x");
  CHECK_EQ_INT(cn__page_path("/", NULL, &out), CN_EINVAL);
  CHECK_EQ_INT(cn__page_path("/blog/[slug]", arr, &out), CN_EINVAL);
  json_decref(arr);
  /* A NUL inside a value is encoded, not a terminator. */
  json_t *p = json_object();
  json_object_set_new(p, "slug", json_stringn("a\0b", 3));
  CHECK_EQ_INT(cn__page_path("/blog/[slug]", p, &out), 0);
  CHECK_EQ_SLICE(out, "/blog/a%00b");
  /* A long value: every byte encoded, nothing cut. */
  size_t big = 100000;
  char *v = malloc(big + 1);
  memset(v, ' ', big);
  v[big] = '\0';
  json_object_set_new(p, "slug", json_string(v));
  CHECK_EQ_INT(cn__page_path("/blog/[slug]", p, &out), 0);
  CHECK_EQ_INT(out.len, 6 + 3 * big);
  free(v);
  json_decref(p);
  cn__buf_free(&out);
}

/* More segments than a URL the router matches can have. Two different
 * lists must never give the same key (a 129-segment list and its first
 * 128 segments here); failing is fine, silently dropping is not. */
TEST(path_catchall_many_segments) {
  static const char *const patterns[] = {"/docs/[...slug]",
                                         "/opt/[[...slug]]"};
  for (size_t k = 0; k < 2; k++) {
    json_t *segs = json_array();
    for (int i = 0; i < 200; i++) {
      char s[8];
      snprintf(s, sizeof s, "%d", i);
      json_array_append_new(segs, json_string(s));
    }
    json_t *p = json_pack("{s:o}", "slug", segs);
    cn__buf out = {0};
    int rc = cn__page_path(patterns[k], p, &out);
    if (!rc) /* accepted: all 200 segments are there, "/opt" is wrong */
      CHECK(out.len > 8 &&
            !strcmp(out.ptr + out.len - 8, "/198/199"));
    else
      CHECK(rc == CN_EINVAL || rc == CN_ETOOBIG);
    if (rc == 0 && out.len < 100)
      fprintf(stderr, "  %s with 200 segments: \"%s\"\n", patterns[k],
              out.ptr);
    json_decref(p);
    cn__buf_free(&out);
  }
}

/* ------------------------------------------------------- a set to use */

static int no_params(json_t **params) {
  *params = json_array();
  return 0;
}

static const cn_page_def listed_def = {.static_params = no_params};
static const cn_page_def dynamic_def = {.dynamic = 1};

static const cn_manifest_file set_files[] = {
    {"app/page.html", "home", 4, NULL},
    {"app/blog/[slug]/page.html", "post", 4, NULL},
    {"app/blog/[slug]/page.c", NULL, 0, &listed_def},
    {"app/docs/[...slug]/page.html", "doc", 3, NULL},
    {"app/docs/[...slug]/page.c", NULL, 0, &listed_def},
    {"app/opt/[[...slug]]/page.html", "opt", 3, NULL},
    {"app/opt/[[...slug]]/page.c", NULL, 0, &listed_def},
    {"app/dyn/page.html", "dyn", 3, NULL},
    {"app/dyn/page.c", NULL, 0, &dynamic_def},
};

static cn__pages *make_set(void) {
  cn__pages *p = NULL;
  char err[256];
  int rc = cn__pages_new(set_files, CN__ARRAY_LEN(set_files), 0, &p, err,
                         sizeof err);
  if (rc)
    fprintf(stderr, "cn__pages_new: %d %s\n", rc, err);
  return p;
}

static cn__page *page_of(cn__pages *p, const char *pattern) {
  for (size_t i = 0; p && i < p->npages; i++)
    if (!strcmp(p->pages[i].pattern, pattern))
      return &p->pages[i];
  return NULL;
}

/* A routed request without a connection. values: the param's values. */
typedef struct fake {
  cn_req req;
  cn__endpoint ep;
  cn__route_param param;
  cn_str vals[300];
} fake;

static fake *fake_new(cn__page *pg, const char *param, const char *const *v,
                      size_t nv, int catchall, int inline_arena) {
  fake *f = calloc(1, sizeof(*f));
  cn_req *r = &f->req;
  if (inline_arena)
    cn__arena_init(&r->arena, r->inline_mem, sizeof r->inline_mem);
  else
    cn__arena_init(&r->arena, NULL, 0);
  r->res.req = r;
  r->res.status = 200;
  r->sreply.fd = -1;
  r->msg.arena = &r->arena;
  f->ep.page = pg;
  r->hit.endpoint = &f->ep;
  if (param) {
    for (size_t i = 0; i < nv; i++)
      f->vals[i] = cn__cstr(v[i]);
    f->param.name = cn__cstr(param);
    f->param.values = f->vals;
    f->param.nvalues = nv;
    f->param.is_catchall = catchall;
    r->hit.match.params = &f->param;
    r->hit.match.nparams = 1;
  }
  return f;
}

static void fake_free(fake *f) {
  cn__arena_destroy(&f->req.arena);
  free(f);
}

/* ------------------------------------------------------- cn__page_key */

TEST(key_matches_path) {
  /* The key of a routed request is the path cn__page_path builds from
   * the same (decoded) values: the build's entries are found. */
  cn__pages *p = make_set();
  CHECK(p != NULL);
  if (!p)
    return;
  static const struct {
    const char *pattern, *param;
    const char *vals[3];
    size_t n;
    int catchall;
    const char *want;
  } cases[] = {
      {"/", NULL, {NULL}, 0, 0, "/"},
      {"/blog/[slug]", "slug", {"a b"}, 1, 0, "/blog/a%20b"},
      {"/blog/[slug]", "slug", {"x/y?\xe2\x9c\x93"}, 1, 0,
       "/blog/x%2Fy%3F%E2%9C%93"},
      {"/docs/[...slug]", "slug", {"a", "b c", "'"}, 3, 1, "/docs/a/b%20c/'"},
      {"/opt/[[...slug]]", NULL, {NULL}, 0, 1, "/opt"},
      {"/opt/[[...slug]]", "slug", {"z"}, 1, 1, "/opt/z"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__page *pg = page_of(p, cases[i].pattern);
    CHECK(pg != NULL);
    if (!pg)
      continue;
    fake *f = fake_new(pg, cases[i].param, cases[i].vals, cases[i].n,
                       cases[i].catchall, 1);
    char *key = cn__page_key(&f->req, pg);
    CHECK_EQ_STR(key, cases[i].want);
    fake_free(f);
  }
  cn__pages_free(p);
}

/* A catch-all request with more segments than the key builder's array:
 * its key must differ from the key of its first 128 segments, or one
 * page's rendering is served for the other. */
TEST(key_long_catchall_no_collision) {
  cn__pages *p = make_set();
  cn__page *pg = page_of(p, "/docs/[...slug]");
  CHECK(pg != NULL);
  if (!pg) {
    cn__pages_free(p);
    return;
  }
  static char segs[200][8];
  const char *v[200];
  for (int i = 0; i < 200; i++) {
    snprintf(segs[i], sizeof segs[i], "%d", i);
    v[i] = segs[i];
  }
  fake *a = fake_new(pg, "slug", v, 129, 1, 1);
  fake *b = fake_new(pg, "slug", v, 128, 1, 1);
  char *ka = cn__page_key(&a->req, pg), *kb = cn__page_key(&b->req, pg);
  CHECK(kb != NULL);
  CHECK(!ka || !kb || strcmp(ka, kb) != 0);
  fake_free(a);
  fake_free(b);
  cn__pages_free(p);
}

int main(void) {
  RUN(path_table);
  RUN(path_odd_inputs);
  RUN(path_catchall_many_segments);
  RUN(key_matches_path);
  RUN(key_long_catchall_no_collision);
  return check_summary();
}
