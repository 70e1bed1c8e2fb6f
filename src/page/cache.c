/*
 * The full-route cache and ISR: rendered pages kept in the Data Cache
 * (src/cache) under "page:<canonical path>", answered on the I/O thread.
 *
 * An entry carries the page's implicit tags, as Next.js names them
 * ("_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/page",
 * "_N_T_/blog/hello"), which is how revalidating a path works, plus the
 * tags of what the render fetched or cached. A page with .revalidate = N
 * goes stale N seconds after it was rendered: the next request is answered
 * with the stale page at once (STALE) and starts one regeneration in the
 * background, however many requests arrive meanwhile; a regeneration that
 * fails keeps the stale page and logs why.
 */
#include <stdio.h>

#include "cache/cache.h"
#include "page/page.h"
#include "server/server.h"

/* ------------------------------------------------------------ entries */

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* "PG1", status, location length, etag (18 bytes), location, body. */
#define HDR 29

void cn__page_etag(const char *body, size_t len, char out[24]) {
  snprintf(out, 24, "\"%016llx\"",
           (unsigned long long)cn__fnv64(CN__FNV_OFFSET, body ? body : "", len));
}

static int page_encode(const cn__pentry *e, cn__buf *o) {
  size_t loclen = e->location ? strlen(e->location) : 0;
  unsigned char h[HDR];
  char etag[24];
  memcpy(h, "PG1", 3);
  put_u32(h + 3, (uint32_t)e->status);
  put_u32(h + 7, (uint32_t)loclen);
  cn__page_etag(e->body, e->len, etag);
  memcpy(h + 11, etag, 18);
  int rc = cn__buf_append(o, h, HDR);
  if (!rc && loclen)
    rc = cn__buf_append(o, e->location, loclen);
  if (!rc && e->len)
    rc = cn__buf_append(o, e->body, e->len);
  return rc;
}

static int page_decode(const cn__cval *v, cn__arena *a, cn__pentry *e) {
  const unsigned char *p = v->data;
  if (v->len < HDR || memcmp(p, "PG1", 3))
    return CN_EPARSE;
  uint32_t loclen = get_u32(p + 7);
  if (loclen > v->len - HDR)
    return CN_EPARSE;
  memset(e, 0, sizeof(*e));
  e->status = (int)get_u32(p + 3);
  memcpy(e->etag, p + 11, 18);
  e->etag[18] = '\0';
  if (loclen && !(e->location = cn__arena_memdup(a, p + HDR, loclen)))
    return CN_ENOMEM;
  e->body = (char *)p + HDR + loclen;
  e->len = v->len - HDR - loclen;
  return e->status >= 100 && e->status <= 999 ? 0 : CN_EPARSE;
}

/* The page's implicit tags for key: every layout level of its pattern,
 * the pattern's page, and the path itself. In arena; NULL on ENOMEM. */
static const char **implicit_tags(const cn__page *pg, const char *key,
                                  cn__arena *a, size_t *n) {
  const char *pat = pg->pattern;
  size_t segs = 1;
  for (const char *p = pat; *p; p++)
    segs += *p == '/';
  const char **t = cn__arena_alloc(a, (segs + 3) * sizeof(char *));
  if (!t)
    return NULL;
  *n = 0;
  t[(*n)++] = "_N_T_/layout";
  for (const char *p = pat + 1; *p;) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - pat) : strlen(pat);
    if (!(t[*n] = cn__arena_printf(a, "_N_T_%.*s/layout", (int)len, pat)))
      return NULL;
    (*n)++;
    if (!end)
      break;
    p = end + 1;
  }
  t[*n] = cn__arena_printf(a, "_N_T_%s%spage", pat, strcmp(pat, "/") ? "/" : "");
  t[*n + 1] = cn__arena_printf(a, "_N_T_%s", key);
  if (!t[*n] || !t[*n + 1])
    return NULL;
  *n += 2;
  return t;
}

static char *cache_key(cn__arena *a, const cn__pages *set, const char *key) {
  return cn__arena_printf(a, "page:%s:%s", set->build_id, key);
}

int cn__page_store(cn__arena *a, cn__page *pg, const char *key,
                   const cn__pentry *e, const char *const *extra,
                   size_t nextra) {
  cn__buf b = {0};
  size_t nimp = 0;
  const char **imp = implicit_tags(pg, key, a, &nimp);
  const char *ck = cache_key(a, pg->set, key);
  const char *tags[CN__CACHE_MAX_TAGS];
  size_t n = 0;
  if (!imp || !ck)
    return CN_ENOMEM;
  for (size_t i = 0; i < nimp && n < CN__ARRAY_LEN(tags); i++)
    tags[n++] = imp[i];
  for (size_t i = 0; i < nextra && n < CN__ARRAY_LEN(tags); i++)
    tags[n++] = extra[i];
  const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
  cn__cache *c = cn__cache_global();
  int rc = c ? page_encode(e, &b) : CN_ENOMEM;
  cn__cval v = {b.ptr, b.len, 0,
                def && def->revalidate ? (uint64_t)def->revalidate * 1000 : 0,
                0, tags, n};
  if (!rc)
    rc = cn__cache_put(c, ck, &v);
  cn__buf_free(&b);
  return rc;
}

int cn__page_lookup(cn__arena *a, const cn__pages *set, const char *key,
                    cn__pentry *e, int *stale) {
  cn__cache *c = cn__cache_global();
  char *ck = cache_key(a, set, key);
  cn__cval v;
  cn__cstate st;
  *stale = 0;
  if (!c || !ck || cn__cache_get(c, ck, a, &v, &st) || st == CN__CACHE_MISS)
    return CN_ENOENT;
  if (st == CN__CACHE_INVALID) {
    *stale = 2; /* revalidated on demand: rendered fresh, not served */
    return CN_ENOENT;
  }
  int rc = page_decode(&v, a, e);
  if (rc) {
    cn__cache_delete(c, ck); /* never served; rendered again */
    return CN_ENOENT;
  }
  *stale = st == CN__CACHE_STALE;
  return 0;
}

/* -------------------------------------------------------- regeneration */

/* The paths being regenerated: one regeneration per path at a time. */
static pthread_mutex_t regen_mu = PTHREAD_MUTEX_INITIALIZER;
static char **regen;
static size_t nregen, capregen;

typedef struct regen_job {
  cn__task task;
  cn_app *app;
  cn__page *pg;
  char *key;
} regen_job;

static void regen_done(const char *key) {
  pthread_mutex_lock(&regen_mu);
  for (size_t i = 0; i < nregen; i++)
    if (!strcmp(regen[i], key)) {
      cn__free(regen[i]);
      regen[i] = regen[--nregen];
      break;
    }
  if (!nregen) {
    cn__free(regen);
    regen = NULL;
    capregen = 0;
  }
  pthread_mutex_unlock(&regen_mu);
}

static void regen_run(void *arg) {
  regen_job *j = arg;
  static _Thread_local char mem[512];
  cn__arena a;
  cn__arena_init(&a, mem, sizeof mem);
  cn__cache *c = cn__cache_global();
  /* Instances sharing the cache (Redis) regenerate a page once between
   * them: the one that claims it renders, the others keep answering with
   * the stale page. */
  char *claim = cache_key(&a, j->pg->set, j->key);
  if (!claim || !cn__cache_claim(c, claim)) {
    cn__arena_reset(&a);
    regen_done(j->key);
    cn__free(j->key);
    cn__free(j);
    return;
  }
  cn_req *req = cn__req_detached(j->app, j->key);
  int ok = 0;
  if (req && !req->decision && req->hit.endpoint &&
      req->hit.endpoint->page == j->pg) {
    req->offline = 1;
    if (!cn__req_prepare(req) && !cn__page_handler(req, &req->res) &&
        req->res.finished && req->res.status < 500)
      ok = 1; /* the handler stored it */
  }
  if (!ok)
    fprintf(stderr, "cairn: regenerating %s failed%s%s: the stale page is "
                    "kept\n",
            j->key, req && req->fail_msg ? ": " : "",
            req && req->fail_msg ? req->fail_msg : "");
  cn__req_free_detached(req);
  cn__cache_release(c, claim);
  cn__arena_reset(&a);
  regen_done(j->key);
  cn__free(j->key);
  cn__free(j);
}

int cn__page_regenerate(cn_app *app, cn__page *pg, const char *key) {
  pthread_mutex_lock(&regen_mu);
  for (size_t i = 0; i < nregen; i++)
    if (!strcmp(regen[i], key)) {
      pthread_mutex_unlock(&regen_mu);
      return 0; /* already on its way */
    }
  regen_job *j = cn__calloc(1, sizeof(*j));
  char *k = cn__strdup(key), *k2 = cn__strdup(key);
  if (!j || !k || !k2 || cn__array_grow(&regen, &capregen, nregen,
                                        sizeof(char *))) {
    pthread_mutex_unlock(&regen_mu);
    cn__free(j), cn__free(k), cn__free(k2);
    return CN_ENOMEM;
  }
  regen[nregen++] = k2;
  pthread_mutex_unlock(&regen_mu);
  *j = (regen_job){.app = app, .pg = pg, .key = k};
  j->task.fn = regen_run;
  j->task.arg = j;
  if (cn__task_run(&j->task)) {
    regen_done(key);
    cn__free(k);
    cn__free(j);
    return CN_ESYS;
  }
  return 0;
}

/* ------------------------------------------------------------ serving */

static int etag_matches(cn_str inm, const char *etag) {
  size_t n = strlen(etag);
  if (inm.len == 1 && inm.ptr[0] == '*')
    return 1;
  for (size_t i = 0; i + n <= inm.len; i++)
    if (!memcmp(inm.ptr + i, etag, n))
      return 1;
  return 0;
}

const char *cn__page_cache_control(const cn__page *pg, int status) {
  static _Thread_local char buf[96];
  const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
  if (status != 200 && status != 404)
    return "no-store";
  if (!def || !def->revalidate)
    return "s-maxage=31536000";
  uint64_t expire = pg->set->expire_s, n = def->revalidate;
  if (expire > n)
    snprintf(buf, sizeof buf, "s-maxage=%llu, stale-while-revalidate=%llu",
             (unsigned long long)n, (unsigned long long)(expire - n));
  else
    snprintf(buf, sizeof buf, "s-maxage=%llu", (unsigned long long)n);
  return buf;
}

int cn__page_cached(cn_req *req) {
  cn__page *pg = req->hit.endpoint->page;
  if (pg->set->dev || cn__page_kind_of(pg) == CN__PAGE_DYNAMIC ||
      !(cn_str_eq(req->msg.rl.method, "GET") || req->msg.is_head))
    return 0; /* a POST is a server action: never from the cache */
  char *key = cn__page_key(req, pg);
  cn__pentry e;
  int stale;
  if (!key)
    return 0;
  if (cn__page_lookup(&req->arena, pg->set, key, &e, &stale)) {
    req->revalidated = stale == 2; /* its render says REVALIDATED */
    return 0;
  }
  if (stale && req->loop)
    cn__page_regenerate(req->loop->server->app, pg, key);
  cn_res *res = &req->res;
  cn_str inm = cn__req_header(req, "if-none-match");
  int not_modified = e.status == 200 && inm.ptr && etag_matches(inm, e.etag);
  int rc = cn_res_status(res, not_modified ? 304 : e.status);
  if (!rc && e.location)
    rc = cn_res_header(res, "Location", e.location);
  /* A kept redirect's body is its location, as cn_res_redirect sends it. */
  if (!rc)
    rc = cn_res_header(res, "Content-Type",
                       e.location ? "text/plain; charset=utf-8"
                                  : "text/html; charset=utf-8");
  if (!rc && !e.location)
    rc = cn_res_header(res, "ETag", e.etag);
  if (!rc)
    rc = cn_res_header(res, "Cache-Control",
                       cn__page_cache_control(pg, e.status));
  if (!rc)
    rc = cn_res_header(res, "X-Cairn-Cache", stale ? "STALE" : "HIT");
  if (!rc)
    rc = cn_res_send(res, e.body, not_modified ? 0 : e.len);
  if (rc) {
    /* Out of memory mid-answer: start over as an error. */
    res->finished = 0;
    res->nheaders = 0;
    res->has_type = 0;
    cn_res_error(res, 503, NULL);
  }
  return 1;
}

/* ---------------------------------------------------------- the keys */

/* The values of param name: how many (0: absent), or BAD for a value of
 * the wrong kind (a catch-all must be an array of strings, a plain param a
 * string) or more values than max. */
#define BAD ((size_t)-1)
typedef size_t vals_fn(void *ud, cn_str name, int catchall, cn_str *out,
                       size_t max);

static int encode(cn__buf *o, cn_str v) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < v.len; i++) {
    unsigned char ch = (unsigned char)v.ptr[i];
    int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               (ch >= '0' && ch <= '9') || strchr("-_.!~*'()", ch);
    char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
    int rc = keep && ch ? cn__buf_append(o, v.ptr + i, 1)
                        : cn__buf_append(o, esc, 3);
    if (rc)
      return rc;
  }
  return 0;
}

/* pattern with each [param] replaced by its values, percent-encoded as
 * encodeURIComponent does. CN_EINVAL when a required param is missing. */
static int build_path(const char *pattern, vals_fn *get, void *ud,
                      cn__buf *o) {
  cn_str vals[CN__ROUTE_DEPTH_MAX];
  const char *p = pattern;
  int rc = 0;
  o->len = 0;
  while (!rc && *p == '/') {
    const char *seg = p + 1, *end = strchr(seg, '/');
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    p = seg + len;
    if (!len)
      break; /* the root pattern "/" */
    if (seg[0] != '[') {
      rc = cn__buf_append(o, seg - 1, len + 1);
      continue;
    }
    int optional = len > 2 && seg[1] == '[';
    int catchall = memmem(seg, len, "...", 3) != NULL;
    size_t skip = (size_t)(optional ? 2 : 1) + (catchall ? 3 : 0);
    cn_str name = cn__str(seg + skip, len - 2 * (size_t)(optional ? 2 : 1) -
                                          (catchall ? 3 : 0));
    size_t n = get(ud, name, catchall, vals, CN__ARRAY_LEN(vals));
    if (n == BAD) {
      rc = CN_EINVAL;
      continue;
    }
    if (!n) {
      if (!optional)
        rc = CN_EINVAL;
      continue;
    }
    if (!catchall && n != 1)
      rc = CN_EINVAL;
    for (size_t i = 0; !rc && i < n; i++) {
      rc = cn__buf_append(o, "/", 1);
      if (!rc && !vals[i].len)
        rc = CN_EINVAL; /* an empty segment is not a URL */
      if (!rc)
        rc = encode(o, vals[i]);
    }
  }
  if (!rc && !o->len)
    rc = cn__buf_append(o, "/", 1);
  if (!rc && !(rc = cn__buf_append(o, "", 1)))
    o->len--; /* NUL-terminated, not counted */
  return rc;
}

static size_t from_match(void *ud, cn_str name, int catchall, cn_str *out,
                         size_t max) {
  const cn__route_match *m = ud;
  (void)catchall;
  for (size_t i = 0; i < m->nparams; i++) {
    const cn__route_param *p = &m->params[i];
    if (p->name.len == name.len && !memcmp(p->name.ptr, name.ptr, name.len)) {
      if (p->nvalues > max)
        return BAD; /* cut short, two URLs would share a key */
      memcpy(out, p->values, p->nvalues * sizeof(cn_str));
      return p->nvalues;
    }
  }
  return 0;
}

static size_t from_json(void *ud, cn_str name, int catchall, cn_str *out,
                        size_t max) {
  const json_t *o = ud;
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)name.len, name.ptr);
  json_t *v = json_object_get(o, key);
  if (!v)
    return 0;
  if (!catchall) {
    if (!json_is_string(v))
      return BAD;
    out[0] = cn__str(json_string_value(v), json_string_length(v));
    return 1;
  }
  if (!json_is_array(v) || json_array_size(v) > max)
    return BAD; /* as Next.js: a catch-all is given as an array */
  size_t n = 0, i;
  json_t *x;
  json_array_foreach(v, i, x) {
    if (!json_is_string(x))
      return BAD;
    out[n++] = cn__str(json_string_value(x), json_string_length(x));
  }
  return n;
}

char *cn__page_key(cn_req *req, const cn__page *pg) {
  cn__buf b = {0};
  char *key = NULL;
  if (!pg->has_params)
    return (char *)pg->pattern; /* lives as long as the app */
  if (!build_path(pg->pattern, from_match, &req->hit.match, &b))
    key = cn__arena_memdup(&req->arena, b.ptr, b.len);
  cn__buf_free(&b);
  return key;
}

int cn__page_path(const char *pattern, const json_t *params, cn__buf *out) {
  if (!json_is_object(params))
    return CN_EINVAL;
  return build_path(pattern, from_json, (void *)params, out);
}
