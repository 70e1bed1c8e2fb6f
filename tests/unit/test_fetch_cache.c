/* cn_fetch and the Data Cache (src/fetch with src/cache), on a frozen
 * clock: what is kept, HIT/STALE/MISS, the background refresh, tags; the
 * cached value's codec; every allocation failing. */
#include "check.h"

#include "test_fetch_server.h"

#include "cache/cache.h"
#include "fetch/fetch.h"
#include "server/server.h"

#define T0 ((uint64_t)1700000000000)

static cn_app *app;

/* GET path with opts; returns the body as a number (-1 on failure) and
 * the cache state in *state. */
static int get(cn_req *req, const char *path, const cn_fetch_opts *o,
               const char **state) {
  cn_fetch_res r;
  int rc = cn_fetch(req, srv_url(path), o, &r);
  CHECK_EQ_INT(rc, 0);
  if (rc) {
    *state = "ERROR";
    return -1;
  }
  *state = r.cache;
  int n = r.status == 200 ? atoi(r.body.ptr) : -r.status;
  CHECK(req ? r.priv_ == NULL && cn__arena_owns(&req->arena, r.body.ptr)
            : r.priv_ != NULL);
  cn_fetch_res_free(&r);
  return n;
}

/* Read path until the cache says HIT (at most ~10 s), each read checked
 * to give body want_stale while the refresh runs. Returns the HIT's body. */
static int until_hit(const char *path, const cn_fetch_opts *o,
                     int want_stale) {
  const char *st = "";
  for (int i = 0; i < 10000; i++) {
    int n = get(NULL, path, o, &st);
    if (!strcmp(st, "HIT"))
      return n;
    CHECK_EQ_STR(st, "STALE");
    CHECK_EQ_INT(n, want_stale);
    usleep(1000);
  }
  CHECK(!"the refresh never landed");
  return -1;
}

TEST(force_cache_without_request) {
  const char *st, *h[] = {"X-A: 1", NULL};
  cn_fetch_opts o = {.cache = CN_FETCH_FORCE_CACHE};
  cn_fetch_opts oh = {.cache = CN_FETCH_FORCE_CACHE, .headers = h};
  cn__clock_set(T0);
  CHECK_EQ_INT(get(NULL, "/count?t=force", &o, &st), 1);
  CHECK_EQ_STR(st, "MISS");
  CHECK_EQ_INT(get(NULL, "/count?t=force", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(srv_hits("/count?t=force"), 1);
  /* Until revalidated: a year later still. */
  cn__clock_set(T0 + 365ull * 86400000);
  CHECK_EQ_INT(get(NULL, "/count?t=force", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  /* Another header is another entry. */
  CHECK_EQ_INT(get(NULL, "/count?t=force", &oh, &st), 2);
  CHECK_EQ_STR(st, "MISS");
  CHECK_EQ_INT(get(NULL, "/count?t=force", &oh, &st), 2);
  CHECK_EQ_STR(st, "HIT");
  /* Not asked to cache: the network, and nothing read from the cache. */
  CHECK_EQ_INT(get(NULL, "/count?t=force", NULL, &st), 3);
  CHECK_EQ_STR(st, "SKIP");
  CHECK_EQ_INT(srv_hits("/count?t=force"), 3);
}

TEST(revalidate_stale_then_refreshed) {
  const char *st;
  cn_fetch_opts o = {.revalidate_s = 10};
  cn__clock_set(T0);
  CHECK_EQ_INT(get(NULL, "/count?t=reval", &o, &st), 1);
  CHECK_EQ_STR(st, "MISS");
  cn__clock_set(T0 + 9999);
  CHECK_EQ_INT(get(NULL, "/count?t=reval", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(srv_hits("/count?t=reval"), 1);
  cn__clock_set(T0 + 10001);
  cn_req *req = cn__req_detached(app, "/");
  CHECK_EQ_INT(get(req, "/count?t=reval", &o, &st), 1);
  CHECK_EQ_STR(st, "STALE");
  cn__req_free_detached(req); /* the refresh must not need it */
  CHECK_EQ_INT(until_hit("/count?t=reval", &o, 1), 2);
  CHECK_EQ_INT(srv_hits("/count?t=reval"), 2);
  /* The refreshed value has its own ten seconds. */
  cn__clock_set(T0 + 20000);
  CHECK_EQ_INT(get(NULL, "/count?t=reval", &o, &st), 2);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(srv_hits("/count?t=reval"), 2);
}

TEST(one_refresh_at_a_time) {
  const char *st, *p = "/count?t=dedupe&hold";
  cn_fetch_opts o = {.revalidate_s = 1};
  cn__clock_set(T0);
  CHECK_EQ_INT(get(NULL, p, &o, &st), 1);
  cn__clock_set(T0 + 1001);
  /* The refresh reaches the server and is held there while more readers
   * find the value stale: none of them starts another. */
  atomic_store(&srv_holding, 1);
  CHECK_EQ_INT(get(NULL, p, &o, &st), 1);
  CHECK_EQ_STR(st, "STALE");
  for (int i = 0; i < 10000 && srv_hits(p) < 2; i++)
    usleep(1000);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ_INT(get(NULL, p, &o, &st), 1);
    CHECK_EQ_STR(st, "STALE");
  }
  CHECK_EQ_INT(srv_hits(p), 2);
  atomic_store(&srv_holding, 0);
  CHECK_EQ_INT(until_hit(p, &o, 1), 2);
  CHECK_EQ_INT(srv_hits(p), 2);
}

TEST(failed_refresh_keeps_stale) {
  const char *st;
  cn_fetch_opts o = {.revalidate_s = 1};
  cn__clock_set(T0);
  CHECK_EQ_INT(get(NULL, "/count?t=fail", &o, &st), 1);
  atomic_store(&srv_failing, 1);
  cn__clock_set(T0 + 1001);
  /* Each failed refresh leaves the stale value; the next read starts
   * another: wait for a third attempt, every read stale and whole. */
  for (int i = 0; i < 10000 && srv_hits("/count?t=fail") < 4; i++) {
    CHECK_EQ_INT(get(NULL, "/count?t=fail", &o, &st), 1);
    CHECK_EQ_STR(st, "STALE");
    usleep(1000);
  }
  CHECK(srv_hits("/count?t=fail") >= 4);
  atomic_store(&srv_failing, 0);
  int n = until_hit("/count?t=fail", &o, 1);
  CHECK(n >= 5 && n == srv_hits("/count?t=fail"));
}

TEST(tags_revalidate) {
  const char *st, *tags[] = {"t", "u", NULL};
  cn__cache *c = cn__cache_global();
  cn_fetch_opts o = {.cache = CN_FETCH_FORCE_CACHE, .tags = tags};
  cn__clock_set(T0);
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 1);
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(cn__cache_revalidate_tag(c, "other"), 0);
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  /* Data whose tag was revalidated is fetched again before use. */
  CHECK_EQ_INT(cn__cache_revalidate_tag(c, "t"), 0);
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 2);
  CHECK_EQ_STR(st, "MISS");
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 2);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(cn_revalidate_tag("u"), 0);
  CHECK_EQ_INT(get(NULL, "/count?t=tags", &o, &st), 3);
  CHECK_EQ_STR(st, "MISS");
  CHECK_EQ_INT(srv_hits("/count?t=tags"), 3);
}

TEST(what_is_not_kept) {
  const char *st;
  cn_fetch_opts force = {.cache = CN_FETCH_FORCE_CACHE};
  cn_fetch_opts post = {.method = "POST", .cache = CN_FETCH_FORCE_CACHE,
                        .revalidate_s = 60};
  cn__clock_set(T0);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ_INT(get(NULL, "/status/404", &force, &st), -404);
    CHECK_EQ_STR(st, "MISS");
  }
  CHECK_EQ_INT(get(NULL, "/count?t=postc", &post, &st), 1);
  CHECK_EQ_STR(st, "SKIP");
  CHECK_EQ_INT(get(NULL, "/count?t=postc", &post, &st), 2);
  /* A 500 is not kept either: the next read fetches. */
  atomic_store(&srv_failing, 1);
  CHECK_EQ_INT(get(NULL, "/count?t=err", &force, &st), -500);
  atomic_store(&srv_failing, 0);
  CHECK_EQ_INT(get(NULL, "/count?t=err", &force, &st), 2);
  CHECK_EQ_STR(st, "MISS");
  /* HEAD is kept, on its own key. */
  cn_fetch_opts head = {.method = "HEAD", .cache = CN_FETCH_FORCE_CACHE};
  cn_fetch_res r;
  for (int i = 0; i < 2; i++) {
    CHECK_EQ_INT(cn_fetch(NULL, srv_url("/count?t=head"), &head, &r), 0);
    CHECK_EQ_STR(r.cache, i ? "HIT" : "MISS");
    CHECK_EQ_INT(r.body.len, 0);
    CHECK_EQ_SLICE(r.content_type, "text/plain");
    cn_fetch_res_free(&r);
  }
  CHECK_EQ_INT(srv_hits("/count?t=head"), 1);
}

TEST(with_a_request) {
  const char *st, *tags[] = {"a", "b", NULL};
  cn_fetch_opts o = {.cache = CN_FETCH_FORCE_CACHE, .tags = tags};
  cn__clock_set(T0);
  cn_req *req = cn__req_detached(app, "/");
  CHECK_EQ_INT(get(req, "/count?t=req", &o, &st), 1);
  CHECK_EQ_STR(st, "MISS");
  /* The request carries the tags (a page rendered by it is tagged). */
  CHECK_EQ_INT(req->ntags, 2);
  CHECK(req->ntags == 2 && !strcmp(req->tags[0], "a") &&
        !strcmp(req->tags[1], "b"));
  /* Memoization comes before the cache. */
  CHECK_EQ_INT(get(req, "/count?t=req", &o, &st), 1);
  CHECK_EQ_STR(st, "MEMO");
  cn__req_free_detached(req);
  req = cn__req_detached(app, "/");
  CHECK_EQ_INT(get(req, "/count?t=req", &o, &st), 1);
  CHECK_EQ_STR(st, "HIT");
  CHECK_EQ_INT(req->ntags, 2);
  cn__req_free_detached(req);
  CHECK_EQ_INT(srv_hits("/count?t=req"), 1);
  /* Uncached fetches tag nothing. */
  req = cn__req_detached(app, "/");
  cn_fetch_opts plain = {.tags = tags};
  CHECK_EQ_INT(get(req, "/count?t=req", &plain, &st), 2);
  CHECK_EQ_INT(req->ntags, 0);
  cn__req_free_detached(req);
}

TEST(unreadable_value_is_a_miss) {
  static const char *const junk[] = {"", "CNF1", "garbage that is long enough",
                                     "CNF1\xc8\0\0\0\xff\xff\xff\xff"};
  cn_fetch_opts o = {.cache = CN_FETCH_FORCE_CACHE};
  cn__clock_set(T0);
  for (size_t i = 0; i < CN__ARRAY_LEN(junk); i++) {
    char path[64], key[CN__FETCH_KEY_LEN];
    const char *st;
    snprintf(path, sizeof path, "/count?t=junk%zu", i);
    cn__fetch_spec s;
    cn__buf b = {0};
    CHECK_EQ_INT(cn__fetch_spec_init(&s, srv_url(path), &o), 0);
    CHECK_EQ_INT(cn__fetch_key(&s, &b, key), 0);
    cn__buf_free(&b);
    size_t n = i == 3 ? 12 : strlen(junk[i]);
    cn__cval v = {.data = junk[i], .len = n};
    CHECK_EQ_INT(cn__cache_put(cn__cache_global(), key, &v), 0);
    CHECK_EQ_INT(get(NULL, path, &o, &st), 1);
    CHECK_EQ_STR(st, "MISS");
    CHECK_EQ_INT(get(NULL, path, &o, &st), 1); /* replaced */
    CHECK_EQ_STR(st, "HIT");
  }
}

/* -------------------------------------------------------------- codec */

TEST(value_codec) {
  cn__buf b = {0};
  int status;
  cn_str ct, body;
  CHECK_EQ_INT(cn__fetch_value_encode(201, CN_STR("text/x"),
                                      cn__str("a\0b", 3), &b), 0);
  CHECK_EQ_INT(b.len, 4 + 4 + 4 + 7 + 8 + 4);
  CHECK_EQ_INT(cn__fetch_value_decode(b.ptr, b.len, &status, &ct, &body), 0);
  CHECK_EQ_INT(status, 201);
  CHECK_EQ_SLICE(ct, "text/x");
  CHECK(body.len == 3 && !memcmp(body.ptr, "a\0b", 4));
  /* Every truncation, and one byte too many. */
  for (size_t n = 0; n < b.len; n++)
    CHECK_EQ_INT(cn__fetch_value_decode(b.ptr, n, &status, &ct, &body),
                 CN_EPARSE);
  CHECK_EQ_INT(cn__buf_append(&b, "", 1), 0);
  CHECK_EQ_INT(cn__fetch_value_decode(b.ptr, b.len, &status, &ct, &body),
               CN_EPARSE);
  b.len--;
  /* Every byte changed: refused, or read back within the buffer. */
  for (size_t i = 0; i < b.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      b.ptr[i] ^= (char)(1 << bit);
      if (!cn__fetch_value_decode(b.ptr, b.len, &status, &ct, &body))
        CHECK(ct.ptr >= b.ptr && body.ptr + body.len < b.ptr + b.len &&
              status >= 100 && status <= 999);
      b.ptr[i] ^= (char)(1 << bit);
    }
  cn__buf_free(&b);
  /* Crafted: statuses out of range, lengths past the end or wrapping, a
   * NUL inside the content type. */
  static const struct {
    const char *bytes;
    size_t n;
  } bad[] = {
      {"CNF1\x63\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22},
      {"CNF1\xe8\x03\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22},
      {"CNF1\xc8\0\0\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0\0\0", 22},
      {"CNF1\xc8\0\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\0", 22},
      {"CNF1\xc8\0\0\0\0\0\0\0\0\xfe\xff\xff\xff\xff\xff\xff\xff\0", 22},
      {"CNF1\xc8\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 23},
      {"CNF1\xc8\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0x", 22},
      {"CNF2\xc8\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(bad); i++)
    CHECK_EQ_INT(cn__fetch_value_decode(bad[i].bytes, bad[i].n, &status, &ct,
                                        &body), CN_EPARSE);
  /* The smallest valid value: status 200, no type, no body. */
  CHECK_EQ_INT(cn__fetch_value_decode(
                   "CNF1\xc8\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22, &status,
                   &ct, &body), 0);
  CHECK(status == 200 && ct.len == 0 && body.len == 0);
  CHECK_EQ_INT(cn__fetch_value_decode(NULL, 0, &status, &ct, &body),
               CN_EPARSE);
}

/* ------------------------------------------------- allocation failure */

/* Every allocation of a fetch failing in turn: CN_ENOMEM or success,
 * never a crash or a leak; with and without a request, cached or not. */
TEST(allocations_fail) {
  cn_fetch_opts plain = {0}, force = {.cache = CN_FETCH_FORCE_CACHE};
  const cn_fetch_opts *opts[] = {&plain, &force, &force};
  cn__clock_set(T0);
  for (size_t k = 0; k < 3; k++) {
    for (int with_req = 0; with_req < 2; with_req++) {
      int ok = 0;
      for (long n = 0; n < 400 && !ok; n++) {
        cn_req *req = with_req ? cn__req_detached(app, "/") : NULL;
        cn_fetch_res r;
        cn__alloc_fail_after(n);
        int rc = cn_fetch(req, srv_url("/ok"), opts[k], &r);
        cn__alloc_fail_after(-1);
        if (rc != 0 && rc != CN_ENOMEM)
          fprintf(stderr, "  opts %zu req %d n %ld: %d %s\n", k, with_req, n,
                  rc, cn_fetch_error());
        CHECK(rc == 0 || rc == CN_ENOMEM);
        if (!rc) {
          CHECK_EQ_SLICE(r.body, "{\"ok\":true,\"n\":42}");
          ok = 1;
        }
        cn_fetch_res_free(&r);
        cn__req_free_detached(req);
      }
      CHECK(ok);
    }
  }
}

int main(void) {
  if (fixture_start(&app))
    return 1;
  RUN(force_cache_without_request);
  RUN(revalidate_stale_then_refreshed);
  RUN(one_refresh_at_a_time);
  RUN(failed_refresh_keeps_stale);
  RUN(tags_revalidate);
  RUN(what_is_not_kept);
  RUN(with_a_request);
  RUN(unreadable_value_is_a_miss);
  RUN(value_codec);
  RUN(allocations_fail);
  cn__clock_set(0);
  cn_app_free(app);
  srv_stop();
  return check_summary();
}
