/*
 * The route tree's contracts about memory and state: where match results
 * live, what allocates, calls in the wrong state, and every allocation
 * failing in turn (LeakSanitizer checks that nothing leaks).
 */
#include <stdio.h>

#include "check.h"
#include "router/router.h"

static const char *const tree1[][2] = {
    {"/", "app/page.html"},
    {"/about", "app/(marketing)/about/page.html"},
    {"/api/post/create", "pages/api/post/create.c"},
    {"/api/post/[pid]", "pages/api/post/[pid].c"},
    {"/api/post/[...slug]", "pages/api/post/[...slug].c"},
    {"/shop/[[...path]]", "app/shop/[[...path]]/page.html"},
    {"/files/[name]", "app/files/[name]/route.c"},
};

static cn__router *build(int *rc) {
  char err[256];
  cn__router *r = cn__router_new();
  *rc = 0;
  for (size_t i = 0; i < CN__ARRAY_LEN(tree1) && !*rc; i++)
    *rc = cn__router_add(r, tree1[i][0], tree1[i][1], NULL, err, sizeof err);
  if (!*rc)
    *rc = cn__router_finish(r, err, sizeof err);
  return r;
}

TEST(match_values_ownership) {
  int rc;
  cn__router *r = build(&rc);
  CHECK_EQ_INT(rc, 0);
  cn__arena arena;
  cn__route_match m;
  cn__arena_init(&arena, NULL, 0);
  /* A plain value is a slice of the request path, with no allocation. */
  const char *path = "/api/post/abc";
  CHECK_EQ_INT(cn__router_match(r, cn__cstr(path), &arena, &m), 0);
  CHECK(m.params[0].values[0].ptr == path + 10);
  CHECK_EQ_INT(m.params[0].is_catchall, 0);
  CHECK_EQ_STR(m.params[0].name.ptr, "pid"); /* NUL-terminated */
  /* A static path allocates nothing at all. */
  cn__arena_reset(&arena);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/api/post/create"), &arena, &m), 0);
  CHECK(arena.blocks == NULL && m.params == NULL);
  /* Decoded values are NUL-terminated copies in the arena. */
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/files/x%20y"), &arena, &m), 0);
  CHECK(cn__arena_owns(&arena, m.params[0].values[0].ptr));
  CHECK_EQ_STR(m.params[0].values[0].ptr, "x y");
  /* The path need not be NUL-terminated: only len bytes are read. */
  cn_str cut = {"/api/post/abcdef", 13};
  CHECK_EQ_INT(cn__router_match(r, cut, &arena, &m), 0);
  CHECK_EQ_SLICE(m.params[0].values[0], "abc");
  /* A NUL byte, raw as well as escaped, is refused wherever it is. */
  cn_str nul = {"/files/x\0y", 10};
  CHECK_EQ_INT(cn__router_match(r, nul, &arena, &m), CN_EPARSE);
  cn_str nul2 = {"/nomatch/\0/", 11};
  CHECK_EQ_INT(cn__router_match(r, nul2, &arena, &m), CN_EPARSE);
  /* More segments than the inline array: the catch-all gets them all. */
  char deep[400];
  size_t n = (size_t)snprintf(deep, sizeof deep, "/api/post");
  for (int i = 0; i < 60; i++)
    n += (size_t)snprintf(deep + n, sizeof deep - n, "/%d", i);
  CHECK_EQ_INT(cn__router_match(r, cn__cstr(deep), &arena, &m), 0);
  CHECK_EQ_INT(m.params[0].nvalues, 60);
  CHECK_EQ_SLICE(m.params[0].values[59], "59");
  cn__arena_destroy(&arena);
  cn__router_free(r);
}

/* ------------------------------------------------- states, out of memory */

TEST(states_and_bad_arguments) {
  cn__router *r = cn__router_new();
  cn__arena arena;
  cn__route_match m;
  char err[128];
  cn__arena_init(&arena, NULL, 0);
  CHECK_EQ_INT(cn__router_add(r, "/a", "a.c", NULL, err, sizeof err), 0);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/a"), &arena, &m), CN_ESTATE);
  CHECK_EQ_INT(cn__router_add(r, NULL, "a.c", NULL, err, sizeof err),
               CN_EINVAL);
  CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
  CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), CN_ESTATE);
  CHECK_EQ_INT(cn__router_add(r, "/b", "b.c", NULL, err, sizeof err),
               CN_ESTATE);
  CHECK_EQ_STR(err, "b.c: routes cannot be added after cn__router_finish");
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/a"), &arena, &m), 0);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/b"), &arena, &m), CN_ENOENT);
  CHECK_EQ_INT(cn__router_match(NULL, CN_STR("/a"), &arena, &m), CN_EINVAL);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/a"), NULL, &m), CN_EINVAL);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/a"), &arena, NULL), CN_EINVAL);
  cn__router_free(r);
  cn__router_free(NULL);
  /* An empty router matches nothing, not even "/". */
  r = cn__router_new();
  CHECK_EQ_INT(cn__router_finish(r, err, sizeof err), 0);
  CHECK_EQ_INT(cn__router_match(r, CN_STR("/"), &arena, &m), CN_ENOENT);
  cn__router_free(r);
  cn__arena_destroy(&arena);
}

/* Every allocation, in turn, fails: each call reports CN_ENOMEM (finish
 * may be retried) and nothing leaks (LeakSanitizer checks at exit). */
TEST(out_of_memory_everywhere) {
  int finished_ok = 0;
  for (long n = 0; n < 400 && !finished_ok; n++) {
    char err[256];
    int rc = 0;
    cn__alloc_fail_after(n);
    cn__router *r = cn__router_new();
    for (size_t i = 0; r && !rc && i < CN__ARRAY_LEN(tree1); i++)
      rc = cn__router_add(r, tree1[i][0], tree1[i][1], NULL, err,
                          sizeof err);
    if (r && !rc) {
      rc = cn__router_finish(r, err, sizeof err);
      if (rc == CN_ENOMEM) {
        cn__alloc_fail_after(-1);
        rc = cn__router_finish(r, err, sizeof err); /* retry succeeds */
        CHECK_EQ_INT(rc, 0);
        cn__alloc_fail_after(0);
      }
    }
    if (r && !rc) {
      cn__arena arena;
      cn__route_match m;
      cn__arena_init(&arena, NULL, 0);
      int mrc = cn__router_match(r, CN_STR("/api/post/a%20/b"), &arena, &m);
      CHECK(mrc == 0 || mrc == CN_ENOMEM);
      if (mrc == CN_ENOMEM)
        CHECK(m.params == NULL && m.data == NULL);
      finished_ok = mrc == 0 && n > 0;
      cn__arena_destroy(&arena);
    } else if (r) {
      CHECK_EQ_INT(rc, CN_ENOMEM);
    }
    cn__alloc_fail_after(-1);
    cn__router_free(r);
  }
  CHECK(finished_ok);
}

int main(void) {
  RUN(match_values_ownership);
  RUN(states_and_bad_arguments);
  RUN(out_of_memory_everywhere);
  return check_summary();
}
