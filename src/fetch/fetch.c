/*
 * cn_fetch: the checks, the memo, the Data Cache and the network, in that
 * order (see fetch.h), and the background refresh of stale values.
 */
#include <stdio.h>

#include "cache/cache.h"
#include "fetch/fetch.h"
#include "server/server.h"

/* ------------------------------------------------------------ answers */

/* Put an answer into out: the request's arena, or one heap block (body,
 * NUL, content type, NUL) that cn_fetch_res_free releases. */
static int place(cn_req *req, int status, cn_str ctype, cn_str body,
                 cn_fetch_res *out) {
  out->status = status;
  if (req) {
    char *b = cn_req_strndup(req, body.ptr ? body.ptr : "", body.len);
    char *t = cn_req_strndup(req, ctype.ptr ? ctype.ptr : "", ctype.len);
    if (!b || !t)
      return CN_ENOMEM;
    out->body = cn__str(b, body.len);
    out->content_type = cn__str(t, ctype.len);
    return 0;
  }
  if (body.len > SIZE_MAX - ctype.len - 2)
    return CN_ENOMEM;
  char *blk = cn__malloc(body.len + ctype.len + 2);
  if (!blk)
    return CN_ENOMEM;
  if (body.len)
    memcpy(blk, body.ptr, body.len);
  blk[body.len] = '\0';
  if (ctype.len)
    memcpy(blk + body.len + 1, ctype.ptr, ctype.len);
  blk[body.len + 1 + ctype.len] = '\0';
  out->body = cn__str(blk, body.len);
  out->content_type = cn__str(blk + body.len + 1, ctype.len);
  out->priv_ = blk;
  return 0;
}

/* The same for a reply from the network. Without a request the reply's
 * buffer becomes the answer's block (a body of 32 MiB is not copied). */
static int place_reply(cn_req *req, cn__fetch_reply *r, cn_fetch_res *out) {
  cn_str body = cn__str(r->body.ptr, r->body.len);
  cn_str ctype = cn__cstr(r->ctype);
  if (req)
    return place(req, r->status, ctype, body, out);
  size_t blen = r->body.len;
  /* The body is followed by its NUL already: the content type goes after. */
  r->body.len++;
  int rc = cn__buf_append(&r->body, r->ctype, ctype.len + 1);
  if (rc)
    return rc;
  out->status = r->status;
  out->body = cn__str(r->body.ptr, blen);
  out->content_type = cn__str(r->body.ptr + blen + 1, ctype.len);
  out->priv_ = r->body.ptr;
  r->body = (cn__buf){0};
  return 0;
}

/* ------------------------------------------------------------- policy */

/* What the Data Cache does for one fetch. */
typedef struct policy {
  int cacheable;
  uint64_t revalidate_ms; /* 0: until revalidated */
  const char *const *tags;
  size_t ntags;
} policy;

static policy policy_of(const cn__fetch_spec *s, const cn_fetch_opts *o) {
  policy p = {0};
  p.cacheable = cn__fetch_spec_idempotent(s) &&
                (o->cache == CN_FETCH_FORCE_CACHE || o->revalidate_s > 0);
  p.revalidate_ms = o->revalidate_s > UINT64_MAX / 1000
                        ? UINT64_MAX
                        : o->revalidate_s * 1000;
  p.tags = o->tags;
  while (p.tags && p.tags[p.ntags])
    p.ntags++;
  return p;
}

/* Fetch from the network and keep a 2xx answer in the cache when the
 * policy says so. A failure to keep it is not the caller's: the answer is
 * still given. OUT: *r (freed by the caller). */
static int fetch_fresh(const cn__fetch_spec *s, const cn_req *req,
                       const policy *p, const char *key, cn__fetch_reply *r) {
  int rc = cn__fetch_transfer(s, req, r);
  cn__cache *c = p->cacheable && !rc && r->status >= 200 && r->status < 300
                     ? cn__cache_global()
                     : NULL;
  if (!c)
    return rc;
  cn__buf v = {0};
  if (!cn__fetch_value_encode(r->status, cn__cstr(r->ctype),
                              cn__str(r->body.ptr, r->body.len), &v)) {
    cn__cval cv = {.data = v.ptr, .len = v.len,
                   .revalidate_ms = p->revalidate_ms, .tags = p->tags,
                   .ntags = p->ntags};
    if (cn__cache_put(c, key, &cv))
      fprintf(stderr, "cairn: fetch %.200s: not cached (out of memory)\n",
              s->url);
  }
  cn__buf_free(&v);
  return rc;
}

/* ----------------------------------------------------------- refresh */

/* A stale value is fetched again on a task thread. Everything the fetch
 * needs is copied into the refresh's own block: the request that found the
 * value stale may be gone long before this runs. */
typedef struct refresh {
  cn__task task;
  struct refresh *next; /* the refreshes under way */
  cn__fetch_spec spec;
  policy pol;
  char key[CN__FETCH_KEY_LEN];
} refresh;

static pthread_mutex_t refresh_mu = PTHREAD_MUTEX_INITIALIZER;
static refresh *refreshing;

/* Copy n bytes to *cur (NUL after), moving it on; returns the copy. */
static char *stash(char **cur, const void *p, size_t n) {
  char *d = *cur;
  if (n)
    memcpy(d, p, n);
  d[n] = '\0';
  *cur += n + 1;
  return d;
}

static refresh *refresh_new(const cn__fetch_spec *s, const policy *p,
                            const char *key) {
  size_t size = sizeof(refresh) + (s->nheaders + p->ntags + 2) *
                                      sizeof(char *);
  size += strlen(s->url) + 1 + s->body_len + 1;
  for (size_t i = 0; i < s->nheaders; i++)
    size += strlen(s->headers[i]) + 1;
  for (size_t i = 0; i < p->ntags; i++)
    size += strlen(p->tags[i]) + 1;
  refresh *r = cn__calloc(1, size);
  if (!r)
    return NULL;
  const char **hv = (const char **)(r + 1), **tv = hv + s->nheaders + 1;
  char *cur = (char *)(tv + p->ntags + 1);
  r->spec = *s;
  r->pol = *p;
  r->spec.url = stash(&cur, s->url, strlen(s->url));
  r->spec.body = s->body ? stash(&cur, s->body, s->body_len) : NULL;
  for (size_t i = 0; i < s->nheaders; i++)
    hv[i] = stash(&cur, s->headers[i], strlen(s->headers[i]));
  for (size_t i = 0; i < p->ntags; i++)
    tv[i] = stash(&cur, p->tags[i], strlen(p->tags[i]));
  r->spec.headers = s->nheaders ? hv : NULL;
  r->pol.tags = p->ntags ? tv : NULL;
  memcpy(r->key, key, CN__FETCH_KEY_LEN);
  return r;
}

static void refresh_forget(refresh *r) {
  pthread_mutex_lock(&refresh_mu);
  for (refresh **p = &refreshing; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      break;
    }
  pthread_mutex_unlock(&refresh_mu);
  cn__free(r);
}

static void refresh_run(void *arg) {
  refresh *r = arg;
  cn__fetch_reply reply;
  cn__cache *c = cn__cache_global();
  /* instances sharing the cache refresh it once between them */
  if (!cn__cache_claim(c, r->key)) {
    refresh_forget(r);
    return;
  }
  int rc = fetch_fresh(&r->spec, NULL, &r->pol, r->key, &reply);
  if (rc || reply.status < 200 || reply.status >= 300)
    fprintf(stderr, "cairn: refreshing fetch %.200s failed (%s): the stale "
                    "value is kept\n",
            r->spec.url, rc ? cn_fetch_error() : "not a 2xx answer");
  cn__cache_release(c, r->key);
  cn__fetch_reply_free(&reply);
  refresh_forget(r);
}

/* Start refreshing key unless that is under way already (Next.js runs one
 * regeneration per key at a time). Failing to start is not an error: the
 * next reader of the stale value tries again. */
static void refresh_start(const cn__fetch_spec *s, const policy *p,
                          const char *key) {
  pthread_mutex_lock(&refresh_mu);
  refresh *r = refreshing;
  while (r && strcmp(r->key, key))
    r = r->next;
  if (!r && (r = refresh_new(s, p, key))) {
    r->next = refreshing;
    refreshing = r;
    r->task.fn = refresh_run;
    r->task.arg = r;
  } else {
    r = NULL;
  }
  pthread_mutex_unlock(&refresh_mu);
  if (r && cn__task_run(&r->task))
    refresh_forget(r);
}

/* ------------------------------------------------------------- cache */

/* Look the cache up: 1 with *out filled on HIT and STALE (a refresh then
 * started), 0 when the network must answer (MISS, INVALID, unreadable),
 * CN_ENOMEM. */
static int from_cache(cn_req *req, const cn__fetch_spec *s, const policy *p,
                      const char *key, cn_fetch_res *out) {
  static _Thread_local char mem[4096];
  cn__cache *c = cn__cache_global();
  cn__arena tmp, *a = req ? &req->arena : &tmp;
  cn__cval v;
  cn__cstate st = CN__CACHE_MISS;
  cn_str ctype, body;
  int status, rc;
  if (!c)
    return 0;
  cn__arena_init(&tmp, mem, sizeof mem);
  rc = cn__cache_get(c, key, a, &v, &st);
  if (!rc && (st == CN__CACHE_HIT || st == CN__CACHE_STALE) &&
      !cn__fetch_value_decode(v.data, v.len, &status, &ctype, &body)) {
    if (req) {
      /* Decoded in place, in the arena: nothing more to copy. */
      out->status = status;
      out->body = body;
      out->content_type = ctype;
    } else {
      rc = place(NULL, status, ctype, body, out);
    }
    if (!rc) {
      out->cache = st == CN__CACHE_HIT ? "HIT" : "STALE";
      if (st == CN__CACHE_STALE)
        refresh_start(s, p, key);
      rc = 1;
    }
  }
  cn__arena_reset(&tmp);
  return rc;
}

/* ---------------------------------------------------------------- API */

/* Memo and policy settled: the cache, else the network. */
static int fetch_uncached(cn_req *req, const cn__fetch_spec *s,
                          const policy *p, const char *key,
                          cn_fetch_res *out) {
  cn__fetch_reply reply;
  int rc = 0;
  if (p->cacheable) {
    for (size_t i = 0; req && i < p->ntags; i++)
      if ((rc = cn__req_collect_tag(req, p->tags[i])))
        return rc;
    if ((rc = from_cache(req, s, p, key, out)))
      return rc < 0 ? rc : 0;
  }
  rc = fetch_fresh(s, req, p, key, &reply);
  if (!rc)
    rc = place_reply(req, &reply, out);
  if (!rc)
    out->cache = p->cacheable ? "MISS" : "SKIP";
  cn__fetch_reply_free(&reply);
  return rc;
}

int cn_fetch(cn_req *req, const char *url, const cn_fetch_opts *opts,
             cn_fetch_res *out) {
  static const cn_fetch_opts none;
  cn__fetch_spec s;
  cn__buf bytes = {0};
  char key[CN__FETCH_KEY_LEN];
  cn__fetch_memo_entry *claim = NULL;
  int rc;
  cn__fetch_errorf("%s", "");
  if (!out) {
    cn__fetch_errorf("no cn_fetch_res to answer into");
    return CN_EINVAL;
  }
  memset(out, 0, sizeof(*out));
  out->cache = "SKIP";
  if (!opts)
    opts = &none;
  if ((rc = cn__fetch_spec_init(&s, url, opts)))
    goto cleanup;
  if ((rc = cn__fetch_key(&s, &bytes, key))) {
    cn__fetch_errorf("%s", cn_strerror(rc));
    goto cleanup;
  }
  if (req && cn__fetch_spec_idempotent(&s) &&
      cn__fetch_memo_claim(req, bytes.ptr, bytes.len, out, &claim)) {
    rc = 0;
    goto cleanup;
  }
  policy p = policy_of(&s, opts);
  rc = fetch_uncached(req, &s, &p, key, out);
  if (rc && !cn_fetch_error()[0])
    cn__fetch_errorf("%s", cn_strerror(rc));
  if (claim && !rc)
    cn__fetch_memo_publish(req, claim, out);
  else if (claim)
    cn__fetch_memo_abandon(req, claim);
cleanup:
  if (rc) {
    cn_fetch_res_free(out);
    out->cache = "SKIP";
  }
  cn__buf_free(&bytes);
  return rc;
}

json_t *cn_fetch_json(const cn_fetch_res *res) {
  if (!res || !res->body.ptr)
    return NULL;
  /* As res.json() reads it: any value, \u0000 included. */
  return json_loadb(res->body.ptr, res->body.len,
                    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

void cn_fetch_res_free(cn_fetch_res *res) {
  if (!res)
    return;
  cn__free(res->priv_);
  memset(res, 0, sizeof(*res));
}
