/*
 * The full-route cache's keys (src/page/cache.c): canonical paths built
 * from a pattern and params (cn__page_path at build, cn__page_key per
 * request), encoded as encodeURIComponent encodes, the same either way so
 * that what the build kept is found; wrong params refused, never turned
 * into another page's key. Then the pages kept in the Data Cache
 * (cn__page_store / cn__page_lookup / cn__page_cached): the entry's bytes,
 * its ETag, the implicit tags that revalidate it, ISR staleness, another
 * build's entries, corrupt entries, and every allocation failing.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ctype.h>

#include "cache/cache.h"
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
static const cn_page_def isr_def = {.revalidate = 10};

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
    {"app/isr/page.html", "isr", 3, NULL},
    {"app/isr/page.c", NULL, 0, &isr_def},
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
  cn__header hdr;
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
  r->msg.rl.method = CN_STR("GET"); /* the cache answers GET and HEAD only */
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

/* --------------------------------------------- kept pages (Data Cache) */

static void fake_if_none_match(fake *f, const char *v) {
  f->hdr.name = CN_STR("If-None-Match");
  f->hdr.value = cn__cstr(v);
  f->req.msg.headers = &f->hdr;
  f->req.msg.nheaders = 1;
}

static cn_str res_header(const cn_res *res, const char *name) {
  for (size_t i = 0; i < res->nheaders; i++)
    if (cn_str_eq(res->headers[i].name, name))
      return res->headers[i].value;
  return CN_STR_NULL;
}

static int is_etag(const char *s, size_t n) {
  if (n != 18 || s[0] != '"' || s[17] != '"')
    return 0;
  for (size_t i = 1; i < 17; i++)
    if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
      return 0;
  return 1;
}

/* A fresh process cache on a frozen clock for each test. */
static cn__cache *fresh_cache(void) {
  cn__cache *c = NULL;
  cn__cache_opts o = {0};
  if (cn__cache_new(&c, &o))
    return NULL;
  cn__cache_set_global(c);
  cn__clock_set(1700000000000ull);
  return c;
}

static cn__pentry entry(int status, const char *loc, const char *body) {
  cn__pentry e = {.status = status, .location = loc, .body = body,
                  .len = body ? strlen(body) : 0};
  return e;
}

TEST(store_lookup_roundtrip) {
  cn__cache *c = fresh_cache();
  cn__pages *p = make_set();
  cn__page *home = page_of(p, "/"), *post = page_of(p, "/blog/[slug]");
  CHECK(c && home && post);
  if (!c || !home || !post) {
    cn__pages_free(p);
    return;
  }
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  static const struct {
    const char *key;
    int status;
    const char *loc, *body;
  } cases[] = {
      {"/", 200, NULL, "<p>home</p>"},
      {"/blog/a%20b", 200, NULL, "<p>a b</p>"},
      {"/blog/old", 308, "/blog/new?x=1", ""},
      {"/blog/nf", 404, NULL, "not found"},
      {"/blog/empty", 200, NULL, NULL},
      {"/blog/bin", 200, NULL, "PG1\x01\x02"}, /* the header's magic inside */
  };
  char etags[CN__ARRAY_LEN(cases)][24];
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__pentry e = entry(cases[i].status, cases[i].loc, cases[i].body);
    cn__page *pg = i ? post : home;
    CHECK_EQ_INT(cn__page_store(&a, pg, cases[i].key, &e, NULL, 0), 0);
  }
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__pentry e;
    int stale = -1;
    memset(&e, 0x55, sizeof e);
    CHECK_EQ_INT(cn__page_lookup(&a, p, cases[i].key, &e, &stale), 0);
    CHECK_EQ_INT(stale, 0);
    CHECK_EQ_INT(e.status, cases[i].status);
    if (cases[i].loc)
      CHECK_EQ_STR(e.location, cases[i].loc);
    else
      CHECK(e.location == NULL);
    const char *b = cases[i].body ? cases[i].body : "";
    CHECK(e.len == strlen(b) && (!e.len || !memcmp(e.body, b, e.len)));
    CHECK(is_etag(e.etag, strlen(e.etag)));
    snprintf(etags[i], sizeof etags[i], "%s", e.etag);
  }
  /* A validator of the body: different bodies, different tags. */
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++)
    for (size_t j = i + 1; j < CN__ARRAY_LEN(cases); j++)
      if (strcmp(cases[i].body ? cases[i].body : "",
                 cases[j].body ? cases[j].body : ""))
        CHECK(strcmp(etags[i], etags[j]) != 0);
  /* Absent keys, near misses. */
  static const char *const absent[] = {"/blog/a b", "/blog/a%20B", "/blog",
                                       "", "/blog/a%20b/", "//"};
  for (size_t i = 0; i < CN__ARRAY_LEN(absent); i++) {
    cn__pentry e;
    int stale;
    CHECK_EQ_INT(cn__page_lookup(&a, p, absent[i], &e, &stale), CN_ENOENT);
  }
  /* Another build's set never sees these entries. */
  snprintf(p->build_id, sizeof p->build_id, "other-build");
  cn__pentry e;
  int stale;
  CHECK_EQ_INT(cn__page_lookup(&a, p, "/", &e, &stale), CN_ENOENT);
  cn__arena_destroy(&a);
  cn__pages_free(p);
}

TEST(store_implicit_tags_and_isr) {
  cn__cache *c = fresh_cache();
  cn__pages *p = make_set();
  cn__page *home = page_of(p, "/"), *post = page_of(p, "/blog/[slug]");
  cn__page *isr = page_of(p, "/isr");
  CHECK(c && home && post && isr);
  if (!c || !home || !post || !isr) {
    cn__pages_free(p);
    return;
  }
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  static const struct {
    const char *tag;
    int home, hello, other; /* revalidated afterwards */
  } cases[] = {
      {"_N_T_/nothing", 0, 0, 0},
      {"_N_T_/blog/hello", 0, 1, 0},
      {"_N_T_/blog/[slug]/page", 0, 1, 1},
      {"_N_T_/blog/layout", 0, 1, 1},
      {"_N_T_/blog/[slug]/layout", 0, 1, 1},
      {"_N_T_/page", 1, 0, 0},
      {"_N_T_/", 1, 0, 0},
      {"_N_T_/layout", 1, 1, 1},
      {"extra-tag", 0, 1, 0},
  };
  const char *extra[] = {"extra-tag"};
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__pentry e = entry(200, NULL, "x");
    cn__clock_set(1700000000000ull + 1000 * i);
    CHECK_EQ_INT(cn__page_store(&a, home, "/", &e, NULL, 0), 0);
    CHECK_EQ_INT(cn__page_store(&a, post, "/blog/hello", &e, extra, 1), 0);
    CHECK_EQ_INT(cn__page_store(&a, post, "/blog/other", &e, NULL, 0), 0);
    cn__clock_set(1700000000000ull + 1000 * i + 500);
    CHECK_EQ_INT(cn__cache_revalidate_tag(c, cases[i].tag), 0);
    cn__clock_set(1700000000000ull + 1000 * i + 600);
    /* Revalidated on demand: not served (CN_ENOENT), *stale 2, rendered
     * afresh by the next request, as Next.js purges it. */
    int st[3] = {-1, -1, -1};
    const char *keys[3] = {"/", "/blog/hello", "/blog/other"};
    const int want[3] = {cases[i].home, cases[i].hello, cases[i].other};
    for (int k = 0; k < 3; k++) {
      cn__pentry got;
      int rc = cn__page_lookup(&a, p, keys[k], &got, &st[k]);
      CHECK_EQ_INT(rc, want[k] ? CN_ENOENT : 0);
      st[k] = st[k] == 2;
    }
    if (st[0] != cases[i].home || st[1] != cases[i].hello ||
        st[2] != cases[i].other) {
      fprintf(stderr, "  revalidate %s: stale %d %d %d, want %d %d %d\n",
              cases[i].tag, st[0], st[1], st[2], cases[i].home,
              cases[i].hello, cases[i].other);
      CHECK(!"implicit tag case");
    }
  }
  /* .revalidate = 10: fresh for 10 s, then stale (still answered). */
  cn__clock_set(1800000000000ull);
  cn__pentry e = entry(200, NULL, "isr");
  CHECK_EQ_INT(cn__page_store(&a, isr, "/isr", &e, NULL, 0), 0);
  int stale = -1;
  cn__clock_set(1800000000000ull + 9999);
  CHECK_EQ_INT(cn__page_lookup(&a, p, "/isr", &e, &stale), 0);
  CHECK_EQ_INT(stale, 0);
  cn__clock_set(1800000000000ull + 10001);
  CHECK_EQ_INT(cn__page_lookup(&a, p, "/isr", &e, &stale), 0);
  CHECK_EQ_INT(stale, 1);
  /* A static page never goes stale by age. */
  CHECK_EQ_INT(cn__page_store(&a, home, "/", &e, NULL, 0), 0);
  cn__clock_set(1800000000000ull + 86400000ull * 300);
  CHECK_EQ_INT(cn__page_lookup(&a, p, "/", &e, &stale), 0);
  CHECK_EQ_INT(stale, 0);
  /* Cache-Control as Next.js sends it. */
  CHECK_EQ_STR(cn__page_cache_control(home, 200), "s-maxage=31536000");
  CHECK_EQ_STR(cn__page_cache_control(home, 404), "s-maxage=31536000");
  CHECK_EQ_STR(cn__page_cache_control(home, 308), "no-store");
  CHECK_EQ_STR(cn__page_cache_control(home, 500), "no-store");
  CHECK_EQ_STR(cn__page_cache_control(isr, 200),
               "s-maxage=10, stale-while-revalidate=31535990");
  cn__arena_destroy(&a);
  cn__pages_free(p);
  cn__clock_set(0);
}

TEST(lookup_corrupt_entries) {
  /* Whatever bytes sit under a page's key, lookup answers ENOENT (and
   * drops them) rather than reading past them. */
  cn__cache *c = fresh_cache();
  cn__pages *p = make_set();
  CHECK(c && p);
  if (!c || !p) {
    cn__pages_free(p);
    return;
  }
  static const struct {
    const char *data;
    size_t len;
  } bad[] = {
      {"", 0},
      {"PG1", 3},
      {"PG2\xc8\0\0\0\0\0\0\0\"0000000000000000\"", 29},
      /* status 200, a location longer than the value */
      {"PG1\xc8\0\0\0\x10\0\0\0\"0000000000000000\"abc", 32},
      {"PG1\xc8\0\0\0\xff\xff\xff\xff\"0000000000000000\"", 29},
      /* status 0 and 70000 */
      {"PG1\0\0\0\0\0\0\0\0\"0000000000000000\"body", 33},
      {"PG1\x70\x11\x01\0\0\0\0\0\"0000000000000000\"body", 33},
  };
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  char ck[128];
  snprintf(ck, sizeof ck, "page:%s:/bad", p->build_id);
  for (size_t i = 0; i < CN__ARRAY_LEN(bad); i++) {
    cn__cval v = {bad[i].data, bad[i].len, 0, 0, 0, NULL, 0};
    CHECK_EQ_INT(cn__cache_put(c, ck, &v), 0);
    cn__pentry e;
    int stale;
    CHECK_EQ_INT(cn__page_lookup(&a, p, "/bad", &e, &stale), CN_ENOENT);
    cn__cval got;
    cn__cstate st = CN__CACHE_HIT;
    CHECK_EQ_INT(cn__cache_get(c, ck, &a, &got, &st), 0);
    CHECK_EQ_INT(st, CN__CACHE_MISS); /* dropped */
  }
  /* The smallest valid entry decodes. */
  cn__cval v = {"PG1\xc8\0\0\0\0\0\0\0\"0123456789abcdef\"", 29, 0, 0, 0,
                NULL, 0};
  CHECK_EQ_INT(cn__cache_put(c, ck, &v), 0);
  cn__pentry e;
  int stale;
  CHECK_EQ_INT(cn__page_lookup(&a, p, "/bad", &e, &stale), 0);
  CHECK_EQ_INT(e.status, 200);
  CHECK_EQ_INT(e.len, 0);
  CHECK_EQ_STR(e.etag, "\"0123456789abcdef\"");
  cn__arena_destroy(&a);
  cn__pages_free(p);
}

TEST(cached_answers) {
  cn__cache *c = fresh_cache();
  cn__pages *p = make_set();
  cn__page *home = page_of(p, "/"), *post = page_of(p, "/blog/[slug]");
  cn__page *dyn = page_of(p, "/dyn");
  CHECK(c && home && post && dyn);
  if (!c || !home || !post || !dyn) {
    cn__pages_free(p);
    return;
  }
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pentry e = entry(200, NULL, "<p>home</p>");
  CHECK_EQ_INT(cn__page_store(&a, home, "/", &e, NULL, 0), 0);
  e = entry(200, NULL, "<p>a b</p>");
  CHECK_EQ_INT(cn__page_store(&a, post, "/blog/a%20b", &e, NULL, 0), 0);
  e = entry(308, "/new", "");
  CHECK_EQ_INT(cn__page_store(&a, post, "/blog/old", &e, NULL, 0), 0);
  e = entry(200, NULL, "dyn");
  CHECK_EQ_INT(cn__page_store(&a, dyn, "/dyn", &e, NULL, 0), 0);
  cn__arena_destroy(&a);

  fake *f = fake_new(home, NULL, NULL, 0, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 1);
  CHECK_EQ_INT(f->req.res.status, 200);
  CHECK_EQ_SLICE(f->req.res.body, "<p>home</p>");
  CHECK_EQ_SLICE(res_header(&f->req.res, "X-Cairn-Cache"), "HIT");
  CHECK_EQ_SLICE(res_header(&f->req.res, "Content-Type"),
                 "text/html; charset=utf-8");
  CHECK_EQ_SLICE(res_header(&f->req.res, "Cache-Control"),
                 "s-maxage=31536000");
  cn_str etag = res_header(&f->req.res, "ETag");
  CHECK(etag.ptr && is_etag(etag.ptr, etag.len));
  char tag[32];
  snprintf(tag, sizeof tag, "%.*s", (int)etag.len, etag.ptr);
  fake_free(f);

  /* If-None-Match: the tag, a list holding it, "*" -> 304, no body. */
  static const struct {
    const char *inm;
    int status;
  } inm[] = {{NULL, 200},  {"", 200},          {"*", 304},
             {"\"0\"", 200}, {"W/\"x\", TAG", 304}, {"TAG", 304},
             {"**", 200}};
  for (size_t i = 0; i < CN__ARRAY_LEN(inm); i++) {
    char v[96];
    f = fake_new(home, NULL, NULL, 0, 0, 1);
    if (inm[i].inm) {
      const char *t = strstr(inm[i].inm, "TAG");
      if (t)
        snprintf(v, sizeof v, "%.*s%s%s", (int)(t - inm[i].inm), inm[i].inm,
                 tag, t + 3);
      else
        snprintf(v, sizeof v, "%s", inm[i].inm);
      fake_if_none_match(f, v);
    }
    CHECK_EQ_INT(cn__page_cached(&f->req), 1);
    CHECK_EQ_INT(f->req.res.status, inm[i].status);
    CHECK_EQ_INT(f->req.res.body.len, inm[i].status == 304 ? 0 : 11);
    CHECK_EQ_SLICE(res_header(&f->req.res, "ETag"), tag);
    fake_free(f);
  }
  /* Decoded params find the encoded key. */
  f = fake_new(post, "slug", (const char *[]){"a b"}, 1, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 1);
  CHECK_EQ_SLICE(f->req.res.body, "<p>a b</p>");
  fake_free(f);
  /* A kept redirect: its Location, no-store, never a 304. */
  f = fake_new(post, "slug", (const char *[]){"old"}, 1, 0, 1);
  fake_if_none_match(f, "*");
  CHECK_EQ_INT(cn__page_cached(&f->req), 1);
  CHECK_EQ_INT(f->req.res.status, 308);
  CHECK_EQ_SLICE(res_header(&f->req.res, "Location"), "/new");
  CHECK_EQ_SLICE(res_header(&f->req.res, "Cache-Control"), "no-store");
  fake_free(f);
  /* A miss renders: "a%20b" decoded is the key "/blog/a%2520b". */
  f = fake_new(post, "slug", (const char *[]){"a%20b"}, 1, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 0);
  CHECK_EQ_INT(f->req.res.finished, 0);
  fake_free(f);
  /* Dynamic pages, pages seen reading request data, development: never
   * from the cache, whatever it holds. */
  f = fake_new(dyn, NULL, NULL, 0, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 0);
  fake_free(f);
  atomic_store(&home->saw_dynamic, 1);
  f = fake_new(home, NULL, NULL, 0, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 0);
  fake_free(f);
  atomic_store(&home->saw_dynamic, 0);
  p->dev = 1;
  f = fake_new(home, NULL, NULL, 0, 0, 1);
  CHECK_EQ_INT(cn__page_cached(&f->req), 0);
  fake_free(f);
  p->dev = 0;
  cn__pages_free(p);
}

TEST(store_and_answer_out_of_memory) {
  cn__cache *c = fresh_cache();
  cn__pages *p = make_set();
  cn__page *post = page_of(p, "/blog/[slug]");
  CHECK(c && post);
  if (!c || !post) {
    cn__pages_free(p);
    return;
  }
  /* Store: each allocation failing in turn, CN_ENOMEM, nothing leaked;
   * then it goes in. */
  int stored = 0, failures = 0;
  for (long n = 0; n < 500 && !stored; n++) {
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__pentry e = entry(308, "/somewhere", "<p>a b</p>");
    cn__alloc_fail_after(n);
    int rc = cn__page_store(&a, post, "/blog/a%20b", &e, NULL, 0);
    cn__alloc_fail_after(-1);
    if (rc) {
      CHECK_EQ_INT(rc, CN_ENOMEM);
      failures++;
    } else {
      stored = 1;
    }
    cn__arena_destroy(&a);
  }
  CHECK(stored);
  CHECK(failures > 0);
  /* Answer: either render (0, the response untouched) or a finished
   * response (the page, or a 503). */
  int done = 0;
  for (long n = 0; n < 500 && !done; n++) {
    fake *f = fake_new(post, "slug", (const char *[]){"a b"}, 1, 0, 0);
    cn__alloc_fail_after(n);
    int hit = cn__page_cached(&f->req);
    cn__alloc_fail_after(-1);
    if (hit) {
      if (!f->req.res.finished)
        fprintf(stderr, "  fail_after(%ld): a hit with no response\n", n);
      CHECK(f->req.res.finished);
      if (f->req.res.status == 308) {
        CHECK_EQ_SLICE(res_header(&f->req.res, "Location"), "/somewhere");
        done = 1;
      } else {
        CHECK_EQ_INT(f->req.res.status, 503);
      }
    } else {
      CHECK_EQ_INT(f->req.res.finished, 0);
      CHECK_EQ_INT(f->req.res.nheaders, 0);
    }
    fake_free(f);
  }
  CHECK(done);
  cn__pages_free(p);
}

int main(void) {
  RUN(path_table);
  RUN(path_odd_inputs);
  RUN(path_catchall_many_segments);
  RUN(key_matches_path);
  RUN(key_long_catchall_no_collision);
  RUN(store_lookup_roundtrip);
  RUN(store_implicit_tags_and_isr);
  RUN(lookup_corrupt_entries);
  RUN(cached_answers);
  RUN(store_and_answer_out_of_memory);
  return check_summary();
}
