/*
 * The full-route cache: rendered pages kept by canonical path, answered on
 * the I/O thread. Handler threads add to it (a page rendered on demand
 * that read no request-time data), loops read it; a read-write lock keeps
 * them apart and a hit copies the body into the request's arena while
 * holding it, so an entry never has to outlive the lock.
 *
 * Entries from the build are permanent; the ones added while serving count
 * against a byte budget, and past it new ones are simply not kept (the
 * page is then rendered each time): a crawler asking for a million unknown
 * params cannot grow the server without bound.
 */
#include <stdio.h>

#include "page/page.h"
#include "server/server.h"

typedef struct node {
  struct node *next;
  uint64_t hash;
  char *key;
  cn__pentry e;
} node;

struct cn__pcache {
  pthread_rwlock_t lock;
  node **buckets;
  size_t nbuckets, count;
  size_t bytes, max_bytes;
};

static uint64_t hash_of(const char *k, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)k[i]) * 0x100000001b3ull;
  return h;
}

int cn__pcache_new(cn__pcache **out, size_t max_bytes) {
  cn__pcache *c = cn__calloc(1, sizeof(*c));
  if (!c)
    return CN_ENOMEM;
  c->nbuckets = 256;
  c->max_bytes = max_bytes;
  c->buckets = cn__calloc(c->nbuckets, sizeof(node *));
  if (!c->buckets || pthread_rwlock_init(&c->lock, NULL)) {
    cn__free(c->buckets);
    cn__free(c);
    return CN_ENOMEM;
  }
  *out = c;
  return 0;
}

void cn__pcache_free(cn__pcache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->nbuckets; i++)
    for (node *n = c->buckets[i], *next; n; n = next) {
      next = n->next;
      cn__free(n->key);
      cn__free(n->e.body);
      cn__free(n->e.location);
      cn__free(n);
    }
  pthread_rwlock_destroy(&c->lock);
  cn__free(c->buckets);
  cn__free(c);
}

static node *find(const cn__pcache *c, const char *key, size_t klen,
                  uint64_t h) {
  for (node *n = c->buckets[h & (c->nbuckets - 1)]; n; n = n->next)
    if (n->hash == h && !strncmp(n->key, key, klen) && !n->key[klen])
      return n;
  return NULL;
}

/* Double the table when it gets crowded (writer holds the lock). */
static void grow(cn__pcache *c) {
  size_t nb = c->nbuckets * 2;
  node **b = cn__calloc(nb, sizeof(node *));
  if (!b)
    return; /* longer chains, still correct */
  for (size_t i = 0; i < c->nbuckets; i++)
    for (node *n = c->buckets[i], *next; n; n = next) {
      next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
    }
  cn__free(c->buckets);
  c->buckets = b;
  c->nbuckets = nb;
}

int cn__pcache_put(cn__pcache *c, const char *key, size_t klen,
                   const cn__pentry *e) {
  uint64_t h = hash_of(key, klen);
  size_t cost = klen + e->len + sizeof(node);
  node *n = cn__calloc(1, sizeof(*n));
  if (!n)
    return CN_ENOMEM;
  n->hash = h;
  n->e = *e;
  n->key = cn__malloc(klen + 1);
  n->e.body = cn__malloc(e->len + 1);
  n->e.location = e->location ? cn__strdup(e->location) : NULL;
  if (!n->key || !n->e.body || (e->location && !n->e.location)) {
    cn__free(n->key);
    cn__free(n->e.body);
    cn__free(n->e.location);
    cn__free(n);
    return CN_ENOMEM;
  }
  memcpy(n->key, key, klen);
  n->key[klen] = '\0';
  if (e->len)
    memcpy(n->e.body, e->body, e->len);
  /* A strong validator: the body's hash. */
  snprintf(n->e.etag, sizeof n->e.etag, "\"%016llx\"",
           (unsigned long long)hash_of(e->body ? e->body : "", e->len));
  int rc = 0;
  pthread_rwlock_wrlock(&c->lock);
  if (find(c, key, klen, h))
    rc = CN_EEXIST;
  else if (!e->permanent && c->bytes + cost > c->max_bytes)
    rc = CN_ETOOBIG;
  if (!rc) {
    if (c->count >= c->nbuckets)
      grow(c);
    n->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = n;
    c->count++;
    if (!e->permanent)
      c->bytes += cost;
  }
  pthread_rwlock_unlock(&c->lock);
  if (rc) {
    cn__free(n->key);
    cn__free(n->e.body);
    cn__free(n->e.location);
    cn__free(n);
  }
  return rc;
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

int cn__page_cached(cn_req *req) {
  cn__page *pg = req->hit.endpoint->page;
  cn__pcache *c = pg->set->cache;
  if (pg->set->dev || cn__page_kind_of(pg) == CN__PAGE_DYNAMIC)
    return 0;
  char *key = cn__page_key(req, pg);
  if (!key)
    return 0;
  size_t klen = strlen(key);
  cn_res *res = &req->res;
  int hit = 0, rc = 0;
  pthread_rwlock_rdlock(&c->lock);
  node *n = find(c, key, klen, hash_of(key, klen));
  if (n) {
    const cn__pentry *e = &n->e;
    cn_str inm = cn__req_header(req, "if-none-match");
    int not_modified = e->status == 200 && inm.ptr && etag_matches(inm, e->etag);
    hit = 1;
    rc = cn_res_status(res, not_modified ? 304 : e->status);
    if (!rc && e->location)
      rc = cn_res_header(res, "Location", e->location);
    if (!rc)
      rc = cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
    if (!rc)
      rc = cn_res_header(res, "ETag", e->etag);
    if (!rc)
      rc = cn_res_header(res, "Cache-Control",
                         e->status == 200
                             ? "s-maxage=31536000, stale-while-revalidate"
                             : "no-store");
    if (!rc)
      rc = cn_res_header(res, "X-Cairn-Cache", "HIT");
    if (!rc)
      rc = cn_res_send(res, e->body, not_modified ? 0 : e->len);
  }
  pthread_rwlock_unlock(&c->lock);
  if (hit && rc) {
    /* Out of memory mid-answer: start the answer over as an error. */
    res->finished = 0;
    res->nheaders = 0;
    res->has_type = 0;
    cn_res_error(res, 503, NULL);
  }
  return hit;
}

/* ---------------------------------------------------------- the keys */

typedef size_t vals_fn(void *ud, cn_str name, cn_str *out, size_t max);

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
    size_t n = get(ud, name, vals, CN__ARRAY_LEN(vals));
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

static size_t from_match(void *ud, cn_str name, cn_str *out, size_t max) {
  const cn__route_match *m = ud;
  for (size_t i = 0; i < m->nparams; i++) {
    const cn__route_param *p = &m->params[i];
    if (p->name.len == name.len && !memcmp(p->name.ptr, name.ptr, name.len)) {
      size_t n = CN__MIN(p->nvalues, max);
      memcpy(out, p->values, n * sizeof(cn_str));
      return n;
    }
  }
  return 0;
}

static size_t from_json(void *ud, cn_str name, cn_str *out, size_t max) {
  const json_t *o = ud;
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)name.len, name.ptr);
  json_t *v = json_object_get(o, key);
  if (json_is_string(v)) {
    out[0] = cn__str(json_string_value(v), json_string_length(v));
    return 1;
  }
  size_t n = 0, i;
  json_t *x;
  json_array_foreach(v, i, x) {
    if (!json_is_string(x) || n == max)
      return 0;
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
