/*
 * The Data Cache as apps see it (cairn.h): cached functions (Next.js's
 * unstable_cache) and on-demand revalidation by tag or path; and the
 * webhook endpoint that revalidates from outside, POST /_cairn/revalidate.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cache/cache.h"
#include "server/server.h"

/* ---------------------------------------------------- cached functions */

typedef struct refresh {
  cn__task task;
  char *key;
  cn_cached_fn *fn;
  void *arg;
  uint64_t revalidate_ms;
  char **tags;
  size_t ntags;
} refresh;

static void refresh_free(refresh *r) {
  for (size_t i = 0; i < r->ntags; i++)
    cn__free(r->tags[i]);
  cn__free(r->tags);
  cn__free(r->key);
  cn__free(r);
}

static int keep(cn__cache *c, const char *key, const json_t *value,
                uint64_t revalidate_ms, const char *const *tags,
                size_t ntags) {
  char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text)
    return CN_ENOMEM;
  cn__cval v = {text, strlen(text), 0, revalidate_ms, 0, tags, ntags};
  int rc = cn__cache_put(c, key, &v);
  free(text);
  return rc;
}

/* A stale value was returned; its function runs again here, without the
 * request (which may be gone): fn is given req NULL. */
static void refresh_run(void *arg) {
  refresh *r = arg;
  json_t *out = NULL;
  cn__cache *c = cn__cache_global();
  /* instances sharing the cache refresh it once between them */
  if (!c || !cn__cache_claim(c, r->key)) {
    refresh_free(r);
    return;
  }
  if (r->fn(NULL, r->arg, &out) == 0 && out)
    keep(c, r->key, out, r->revalidate_ms, (const char *const *)r->tags,
         r->ntags);
  else
    fprintf(stderr, "cairn: refreshing the cached value %s failed: the "
                    "stale value is kept\n", r->key);
  cn__cache_release(c, r->key);
  json_decref(out);
  refresh_free(r);
}

static size_t count(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

int cn_cached(cn_req *req, const char *const *key_parts, uint64_t revalidate_s,
              const char *const *tags, cn_cached_fn *fn, void *arg,
              json_t **out) {
  cn__cache *c = cn__cache_global();
  cn__buf key = {0};
  size_t ntags = count(tags);
  int rc = c && fn && out ? cn__buf_appendf(&key, "fn:") : CN_EINVAL;
  /* Each part length-prefixed: ("a","bc") and ("ab","c") differ. */
  for (size_t i = 0; !rc && key_parts && key_parts[i]; i++)
    rc = cn__buf_appendf(&key, "%zu:%s;", strlen(key_parts[i]), key_parts[i]);
  if (!rc)
    rc = cn__buf_append(&key, "", 1);
  if (rc)
    goto done;
  *out = NULL;
  for (size_t i = 0; req && i < ntags; i++)
    cn__req_collect_tag(req, tags[i]);
  static _Thread_local char mem[4096];
  cn__arena a;
  cn__arena_init(&a, mem, sizeof mem);
  cn__cval v;
  cn__cstate st;
  /* A value whose tag was revalidated is not used: fn runs again now. */
  if (!cn__cache_get(c, key.ptr, &a, &v, &st) && st != CN__CACHE_MISS &&
      st != CN__CACHE_INVALID) {
    *out = json_loadb(v.data, v.len, JSON_DECODE_ANY, NULL);
    if (*out && st == CN__CACHE_STALE) {
      refresh *r = cn__calloc(1, sizeof(*r));
      int bad = !r || !(r->key = cn__strdup(key.ptr)) ||
                (ntags && !(r->tags = cn__calloc(ntags, sizeof(char *))));
      for (size_t i = 0; !bad && i < ntags; i++)
        bad = !(r->tags[r->ntags++] = cn__strdup(tags[i]));
      if (!bad) {
        *r = (refresh){.key = r->key, .fn = fn, .arg = arg,
                       .revalidate_ms = revalidate_s * 1000, .tags = r->tags,
                       .ntags = r->ntags};
        r->task.fn = refresh_run;
        r->task.arg = r;
        if (cn__task_run(&r->task))
          refresh_free(r);
      } else if (r) {
        refresh_free(r);
      }
    }
  }
  cn__arena_reset(&a);
  if (!*out) {
    rc = fn(req, arg, out);
    if (!rc && *out)
      keep(c, key.ptr, *out, revalidate_s * 1000, tags, ntags);
    else if (!rc)
      rc = CN_EINVAL; /* a function must give a value */
  }
done:
  cn__buf_free(&key);
  return rc;
}

/* --------------------------------------------------------- revalidation */

int cn_revalidate_tag(const char *tag) {
  cn__cache *c = cn__cache_global();
  if (!tag || !*tag)
    return CN_EINVAL;
  return c ? cn__cache_revalidate_tag(c, tag) : CN_ENOMEM;
}

/* As Next.js's revalidatePath: the implicit tag "_N_T_<path>", with
 * "/<type>" after it when a type is given ("page": a route pattern's page,
 * "layout": a layout and everything under it). */
int cn_revalidate_path(const char *path, const char *type) {
  char tag[CN__CACHE_MAX_TAG_LEN + 1];
  if (!path || path[0] != '/' ||
      (type && strcmp(type, "page") && strcmp(type, "layout")))
    return CN_EINVAL;
  size_t n = strlen(path);
  int w = type ? snprintf(tag, sizeof tag, "_N_T_%s%s%s", path,
                          path[n - 1] == '/' ? "" : "/", type)
               : snprintf(tag, sizeof tag, "_N_T_%s", path);
  if (w < 0 || (size_t)w >= sizeof tag)
    return CN_ETOOBIG;
  return cn_revalidate_tag(tag);
}

/* ------------------------------------------------------------- webhook */

/* The secret compared in constant time: the SHA-256 of each side, compared
 * with CRYPTO_memcmp, so neither its bytes nor its length leak through
 * timing. */
static int secret_ok(cn_str given) {
  const char *want = cn_env("CAIRN_REVALIDATE_SECRET");
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int na = 0, nb = 0;
  if (!want || !*want || !given.ptr ||
      !EVP_Digest(given.ptr, given.len, a, &na, EVP_sha256(), NULL) ||
      !EVP_Digest(want, strlen(want), b, &nb, EVP_sha256(), NULL) || na != nb)
    return 0;
  return CRYPTO_memcmp(a, b, na) == 0;
}

static int webhook(cn_req *req, cn_res *res) {
  /* "Authorization: Bearer <secret>" (X-Cairn-* request headers are the
   * server's own and never reach a handler), or ?secret=. */
  cn_str secret = cn__req_header(req, "authorization");
  if (secret.ptr && secret.len > 7 && !strncasecmp(secret.ptr, "Bearer ", 7))
    secret = cn__str(secret.ptr + 7, secret.len - 7);
  else
    secret = cn_req_query_get(req, "secret");
  if (!secret_ok(secret)) {
    if (!cn_env("CAIRN_REVALIDATE_SECRET"))
      fprintf(stderr, "cairn: POST /_cairn/revalidate refused: "
                      "CAIRN_REVALIDATE_SECRET is not set\n");
    return cn_res_error(res, 401, "A valid revalidation secret is required");
  }
  cn_str tag = cn_req_query_get(req, "tag"), path = cn_req_query_get(req, "path"),
         type = cn_req_query_get(req, "type");
  char *t = tag.ptr ? cn_req_strndup(req, tag.ptr, tag.len) : NULL;
  char *p = path.ptr ? cn_req_strndup(req, path.ptr, path.len) : NULL;
  char *ty = type.ptr ? cn_req_strndup(req, type.ptr, type.len) : NULL;
  int rc = !t && !p ? CN_EINVAL : 0;
  if (!rc && t)
    rc = cn_revalidate_tag(t);
  if (!rc && p)
    rc = cn_revalidate_path(p, ty);
  if (rc == CN_EINVAL)
    return cn_res_error(res, 400, "Give ?tag=T or ?path=/p (and type=page or "
                                  "type=layout)");
  if (rc)
    return cn_res_error(res, 500, cn_strerror(rc));
  json_t *j = json_pack("{s:b,s:s?,s:s?,s:I}", "revalidated", 1, "tag", t,
                        "path", p, "now", (json_int_t)cn__clock_ms());
  rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

/* POST /_cairn/test/clock?ms=N: freeze the cache's clock at N (0: the
 * wall clock again). Registered only when the server was started with
 * CAIRN_TEST_CLOCK=1, so tests move time instead of sleeping. */
static int test_clock(cn_req *req, cn_res *res) {
  cn_str v = cn_req_query_get(req, "ms");
  char buf[24];
  if (!v.ptr || !v.len || v.len >= sizeof buf)
    return cn_res_error(res, 400, "?ms=N");
  snprintf(buf, sizeof buf, "%.*s", (int)v.len, v.ptr);
  char *end;
  unsigned long long ms = strtoull(buf, &end, 10);
  if (*end)
    return cn_res_error(res, 400, "?ms=N");
  cn__clock_set(ms);
  json_t *j = json_pack("{s:I}", "now", (json_int_t)cn__clock_ms());
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

/* GET /_cairn/test/tag?name=T: when this instance last heard T
 * revalidated ({"ms": 0} when never). With CAIRN_TEST_CLOCK=1 only: tests
 * of instances behind a balancer wait on it for a revalidation made
 * through another instance, instead of sleeping. */
static int test_tag(cn_req *req, cn_res *res) {
  cn_str v = cn_req_query_get(req, "name");
  if (!v.ptr || !v.len || v.len > CN__CACHE_MAX_TAG_LEN)
    return cn_res_error(res, 400, "?name=T");
  cn__cache *c = cn__cache_global();
  uint64_t ms = c ? cn__cache_tag_time(c, cn_req_strndup(req, v.ptr, v.len))
                  : 0;
  json_t *j = json_pack("{s:I}", "ms", (json_int_t)ms);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

int cn__cache_mount(cn_app *app) {
  static const cn_route_config config = {.body_limit = "1kb", .raw_body = 1};
  int rc = cn_app_route(app, "POST", "/_cairn/revalidate", webhook, &config);
  const char *t = getenv("CAIRN_TEST_CLOCK");
  if (!rc && t && !strcmp(t, "1"))
    rc = cn_app_route(app, "POST", "/_cairn/test/clock", test_clock, &config);
  if (!rc && t && !strcmp(t, "1"))
    rc = cn_app_route(app, "GET", "/_cairn/test/tag", test_tag, NULL);
  return rc;
}
