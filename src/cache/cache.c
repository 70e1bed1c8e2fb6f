/*
 * The Data Cache: a memory LRU in front of an optional second-level store,
 * and the tags manifest. See cache.h.
 *
 * Memory holds decoded entries in one hash table threaded on an LRU list;
 * the bytes of every entry (key, data, tags) count against the bound, and
 * the least recently used go when a put would pass it. The second level
 * holds the same entries encoded (cn__cache_encode), plus the manifest.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "cache/cache.h"

/* ------------------------------------------------------------- clock */

static _Atomic uint64_t fake_ms;

uint64_t cn__clock_ms(void) {
  uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
  if (f)
    return f;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cn__clock_set(uint64_t ms) { atomic_store(&fake_ms, ms); }

/* ------------------------------------------------------------ tables */

typedef struct entry {
  struct entry *next;            /* hash chain */
  struct entry *newer, *older;   /* LRU list */
  uint64_t hash;
  char *key;
  void *data;
  size_t len, cost;
  uint64_t written_ms, revalidate_ms, expire_ms;
  uint64_t seq; /* order of writes within this process (see state_of) */
  char **tags;
  size_t ntags;
} entry;

typedef struct tagtime {
  struct tagtime *next;
  uint64_t hash, ms, seq;
  char *tag;
} tagtime;

/* Writes and revalidations in one millisecond (a frozen test clock, or a
 * fast machine) are ordered by this counter; values and tags read back
 * from the second level have 0, so only their times count. */
static _Atomic uint64_t seq_counter;

struct cn__cache {
  pthread_mutex_t mu;
  entry **buckets;
  size_t nbuckets, count, bytes, max_bytes;
  entry *newest, *oldest;
  tagtime **tbuckets; /* 256 */
  cn__cache_store second;
};

#define TAG_BUCKETS 256
static const char TAGS_KEY[] = "\x01tags";

static uint64_t hash_of(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ull;
  return h;
}

static void entry_free(entry *e) {
  for (size_t i = 0; i < e->ntags; i++)
    cn__free(e->tags[i]);
  cn__free(e->tags);
  cn__free(e->key);
  cn__free(e->data);
  cn__free(e);
}

static void lru_unlink(cn__cache *c, entry *e) {
  if (e->newer)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  if (e->older)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void lru_front(cn__cache *c, entry *e) {
  e->older = c->newest;
  e->newer = NULL;
  if (c->newest)
    c->newest->newer = e;
  c->newest = e;
  if (!c->oldest)
    c->oldest = e;
}

static entry **slot_of(cn__cache *c, const char *key, uint64_t h) {
  entry **p = &c->buckets[h & (c->nbuckets - 1)];
  while (*p && ((*p)->hash != h || strcmp((*p)->key, key)))
    p = &(*p)->next;
  return p;
}

/* Remove e from memory (lock held). */
static void drop(cn__cache *c, entry *e) {
  entry **p = slot_of(c, e->key, e->hash);
  if (*p == e)
    *p = e->next;
  lru_unlink(c, e);
  c->bytes -= e->cost;
  c->count--;
  entry_free(e);
}

static void grow(cn__cache *c) {
  size_t nb = c->nbuckets * 2;
  entry **b = cn__calloc(nb, sizeof(entry *));
  if (!b)
    return;
  for (size_t i = 0; i < c->nbuckets; i++)
    for (entry *e = c->buckets[i], *n; e; e = n) {
      n = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
    }
  cn__free(c->buckets);
  c->buckets = b;
  c->nbuckets = nb;
}

/* ------------------------------------------------------------ codec */

static int put_u64(cn__buf *o, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  return cn__buf_append(o, b, 8);
}

static int get_u64(const unsigned char **p, const unsigned char *end,
                   uint64_t *v) {
  if (end - *p < 8)
    return CN_EPARSE;
  *v = 0;
  for (int i = 0; i < 8; i++)
    *v |= (uint64_t)(*p)[i] << (8 * i);
  *p += 8;
  return 0;
}

#define MAGIC "CNV1"

int cn__cache_encode(const cn__cval *v, cn__buf *out) {
  int rc = cn__buf_append(out, MAGIC, 4);
  if (!rc)
    rc = put_u64(out, v->written_ms);
  if (!rc)
    rc = put_u64(out, v->revalidate_ms);
  if (!rc)
    rc = put_u64(out, v->expire_ms);
  if (!rc)
    rc = put_u64(out, v->ntags);
  for (size_t i = 0; !rc && i < v->ntags; i++) {
    size_t n = strlen(v->tags[i]);
    rc = put_u64(out, n);
    if (!rc)
      rc = cn__buf_append(out, v->tags[i], n);
  }
  if (!rc)
    rc = put_u64(out, v->len);
  if (!rc && v->len)
    rc = cn__buf_append(out, v->data, v->len);
  return rc;
}

int cn__cache_decode(const void *data, size_t n, cn__arena *arena,
                     cn__cval *v) {
  const unsigned char *p = data, *end = p + n;
  uint64_t ntags, len;
  memset(v, 0, sizeof(*v));
  if (n < 4 || memcmp(p, MAGIC, 4))
    return CN_EPARSE;
  p += 4;
  if (get_u64(&p, end, &v->written_ms) || get_u64(&p, end, &v->revalidate_ms) ||
      get_u64(&p, end, &v->expire_ms) || get_u64(&p, end, &ntags) ||
      ntags > CN__CACHE_MAX_TAGS)
    return CN_EPARSE;
  const char **tags = ntags ? cn__arena_alloc(arena, ntags * sizeof(char *))
                            : NULL;
  if (ntags && !tags)
    return CN_ENOMEM;
  for (uint64_t i = 0; i < ntags; i++) {
    if (get_u64(&p, end, &len) || len > CN__CACHE_MAX_TAG_LEN ||
        (uint64_t)(end - p) < len)
      return CN_EPARSE;
    if (!(tags[i] = cn__arena_memdup(arena, p, (size_t)len)))
      return CN_ENOMEM;
    p += len;
  }
  if (get_u64(&p, end, &len) || (uint64_t)(end - p) != len)
    return CN_EPARSE;
  void *d = cn__arena_memdup(arena, p, (size_t)len);
  if (!d)
    return CN_ENOMEM;
  v->data = d;
  v->len = (size_t)len;
  v->tags = tags;
  v->ntags = (size_t)ntags;
  return 0;
}

/* --------------------------------------------------------- tag times */

static tagtime *tag_find(cn__cache *c, const char *tag) {
  uint64_t h = hash_of(tag, strlen(tag));
  for (tagtime *t = c->tbuckets[h & (TAG_BUCKETS - 1)]; t; t = t->next)
    if (t->hash == h && !strcmp(t->tag, tag))
      return t;
  return NULL;
}

/* Record tag at ms (lock held). */
static int tag_set(cn__cache *c, const char *tag, uint64_t ms) {
  tagtime *t = tag_find(c, tag);
  uint64_t seq = ms ? atomic_fetch_add(&seq_counter, 1) + 1 : 0;
  if (t) {
    if (ms >= t->ms)
      t->ms = ms, t->seq = seq;
    return 0;
  }
  if (!(t = cn__calloc(1, sizeof(*t))) || !(t->tag = cn__strdup(tag))) {
    cn__free(t);
    return CN_ENOMEM;
  }
  t->hash = hash_of(tag, strlen(tag));
  t->ms = ms;
  t->seq = seq;
  t->next = c->tbuckets[t->hash & (TAG_BUCKETS - 1)];
  c->tbuckets[t->hash & (TAG_BUCKETS - 1)] = t;
  return 0;
}

uint64_t cn__cache_tag_time(cn__cache *c, const char *tag) {
  pthread_mutex_lock(&c->mu);
  tagtime *t = tag_find(c, tag);
  uint64_t ms = t ? t->ms : 0;
  pthread_mutex_unlock(&c->mu);
  return ms;
}

/* The manifest as bytes: a count, then (time, length, tag) triples. */
static int manifest_encode(cn__cache *c, cn__buf *o) {
  size_t n = 0;
  for (size_t i = 0; i < TAG_BUCKETS; i++)
    for (tagtime *t = c->tbuckets[i]; t; t = t->next)
      n++;
  int rc = cn__buf_append(o, "CNT1", 4);
  if (!rc)
    rc = put_u64(o, n);
  for (size_t i = 0; !rc && i < TAG_BUCKETS; i++)
    for (tagtime *t = c->tbuckets[i]; !rc && t; t = t->next) {
      size_t len = strlen(t->tag);
      rc = put_u64(o, t->ms);
      if (!rc)
        rc = put_u64(o, len);
      if (!rc)
        rc = cn__buf_append(o, t->tag, len);
    }
  return rc;
}

static void manifest_load(cn__cache *c) {
  void *data = NULL;
  size_t n = 0;
  if (!c->second.ops || c->second.ops->get(c->second.self, TAGS_KEY, &data,
                                           &n))
    return;
  const unsigned char *p = data, *end = p + n;
  uint64_t count, ms, len;
  tagtime *t;
  int ok = n >= 4 && !memcmp(p, "CNT1", 4);
  p += ok ? 4 : 0;
  if (ok && !get_u64(&p, end, &count)) {
    char tag[CN__CACHE_MAX_TAG_LEN + 1];
    for (uint64_t i = 0; i < count; i++) {
      if (get_u64(&p, end, &ms) || get_u64(&p, end, &len) ||
          len > CN__CACHE_MAX_TAG_LEN || (uint64_t)(end - p) < len)
        break;
      memcpy(tag, p, (size_t)len);
      tag[len] = '\0';
      p += len;
      tag_set(c, tag, ms);
      if ((t = tag_find(c, tag)))
        t->seq = 0; /* from an earlier process: its time alone counts */
    }
  }
  cn__free(data);
}

/* -------------------------------------------------------------- cache */

static void heard(void *arg, const char *tag, uint64_t ms);

int cn__cache_new(cn__cache **out, const cn__cache_opts *opts) {
  cn__cache *c = cn__calloc(1, sizeof(*c));
  if (!c)
    return CN_ENOMEM;
  c->nbuckets = 256;
  c->max_bytes = opts && opts->memory_bytes ? opts->memory_bytes
                                            : (size_t)64 << 20;
  c->buckets = cn__calloc(c->nbuckets, sizeof(entry *));
  c->tbuckets = cn__calloc(TAG_BUCKETS, sizeof(tagtime *));
  if (!c->buckets || !c->tbuckets || pthread_mutex_init(&c->mu, NULL)) {
    cn__free(c->buckets);
    cn__free(c->tbuckets);
    cn__free(c);
    return CN_ENOMEM;
  }
  if (opts)
    c->second = opts->second;
  const cn__cache_store_ops *ops = c->second.ops;
  if (ops && ops->tag_load) {
    ops->tag_load(c->second.self, heard, c);
    if (ops->listen && ops->listen(c->second.self, heard, c)) {
      cn__cache_free(c);
      return CN_EIO;
    }
  } else {
    manifest_load(c);
  }
  *out = c;
  return 0;
}

void cn__cache_free(cn__cache *c) {
  if (!c)
    return;
  /* First: a shared store's listener calls into the cache until then. */
  if (c->second.ops && c->second.ops->free)
    c->second.ops->free(c->second.self);
  while (c->oldest)
    drop(c, c->oldest);
  for (size_t i = 0; i < TAG_BUCKETS; i++)
    for (tagtime *t = c->tbuckets[i], *n; t; t = n) {
      n = t->next;
      cn__free(t->tag);
      cn__free(t);
    }
  pthread_mutex_destroy(&c->mu);
  cn__free(c->buckets);
  cn__free(c->tbuckets);
  cn__free(c);
}

/* The state of a value written as the seq-th write at now (lock held:
 * reads the tag times). A tag revalidated after the write makes it stale:
 * a later millisecond, or the same one and a later seq. */
static cn__cstate state_of(cn__cache *c, const cn__cval *v, uint64_t seq,
                           uint64_t now) {
  if (v->expire_ms && now >= v->written_ms + v->expire_ms)
    return CN__CACHE_MISS;
  if (v->revalidate_ms && now >= v->written_ms + v->revalidate_ms)
    return CN__CACHE_STALE;
  for (size_t i = 0; i < v->ntags; i++) {
    tagtime *t = tag_find(c, v->tags[i]);
    if (t && (t->ms > v->written_ms ||
              (t->ms == v->written_ms && t->seq > seq)))
      return CN__CACHE_INVALID;
  }
  return CN__CACHE_HIT;
}

/* Keep v in memory (lock held); the copies are the cache's. */
static int remember(cn__cache *c, const char *key, const cn__cval *v,
                    uint64_t seq) {
  size_t klen = strlen(key), cost = klen + v->len + sizeof(entry);
  for (size_t i = 0; i < v->ntags; i++)
    cost += strlen(v->tags[i]) + sizeof(char *);
  uint64_t h = hash_of(key, klen);
  entry **p = slot_of(c, key, h);
  if (*p)
    drop(c, *p);
  if (cost > c->max_bytes)
    return 0; /* second level only */
  entry *e = cn__calloc(1, sizeof(*e));
  if (!e)
    return CN_ENOMEM;
  e->hash = h;
  e->key = cn__strdup(key);
  e->data = cn__malloc(v->len ? v->len : 1);
  e->tags = v->ntags ? cn__calloc(v->ntags, sizeof(char *)) : NULL;
  int bad = !e->key || !e->data || (v->ntags && !e->tags);
  for (size_t i = 0; !bad && i < v->ntags; i++)
    bad = !(e->tags[e->ntags++] = cn__strdup(v->tags[i]));
  if (bad) {
    entry_free(e);
    return CN_ENOMEM;
  }
  if (v->len)
    memcpy(e->data, v->data, v->len);
  e->len = v->len;
  e->cost = cost;
  e->written_ms = v->written_ms;
  e->revalidate_ms = v->revalidate_ms;
  e->expire_ms = v->expire_ms;
  e->seq = seq;
  while (c->oldest && c->bytes + cost > c->max_bytes)
    drop(c, c->oldest);
  if (c->count >= c->nbuckets)
    grow(c);
  p = slot_of(c, key, h);
  e->next = *p;
  *p = e;
  lru_front(c, e);
  c->bytes += cost;
  c->count++;
  return 0;
}

/* key from the second level (kept in memory when servable). */
static int from_second(cn__cache *c, const char *key, cn__arena *arena,
                       uint64_t now, cn__cval *v, cn__cstate *state) {
  void *data = NULL;
  size_t n = 0;
  *state = CN__CACHE_MISS;
  memset(v, 0, sizeof(*v));
  if (c->second.ops->get(c->second.self, key, &data, &n))
    return 0; /* absent; an unreadable entry the store removed itself */
  int rc = cn__cache_decode(data, n, arena, v);
  cn__free(data);
  if (rc == CN_EPARSE) {
    c->second.ops->del(c->second.self, key); /* never served, rebuilt */
    memset(v, 0, sizeof(*v));
    return 0;
  }
  if (rc)
    return rc;
  pthread_mutex_lock(&c->mu);
  *state = state_of(c, v, 0, now);
  if (*state != CN__CACHE_MISS)
    remember(c, key, v, 0);
  pthread_mutex_unlock(&c->mu);
  if (*state == CN__CACHE_MISS) {
    c->second.ops->del(c->second.self, key);
    memset(v, 0, sizeof(*v));
  }
  return 0;
}

int cn__cache_get(cn__cache *c, const char *key, cn__arena *arena,
                  cn__cval *v, cn__cstate *state) {
  uint64_t now = cn__clock_ms(), h = hash_of(key, strlen(key));
  int rc = 0;
  *state = CN__CACHE_MISS;
  memset(v, 0, sizeof(*v));
  pthread_mutex_lock(&c->mu);
  entry *e = *slot_of(c, key, h);
  if (!e) {
    pthread_mutex_unlock(&c->mu);
    return c->second.ops ? from_second(c, key, arena, now, v, state) : 0;
  }
  const char **tags = e->ntags ? cn__arena_alloc(arena, e->ntags *
                                                            sizeof(char *))
                               : NULL;
  void *d = cn__arena_memdup(arena, e->data, e->len);
  rc = !d || (e->ntags && !tags) ? CN_ENOMEM : 0;
  for (size_t i = 0; !rc && i < e->ntags; i++)
    if (!(tags[i] = cn__arena_memdup(arena, e->tags[i], strlen(e->tags[i]))))
      rc = CN_ENOMEM;
  if (!rc) {
    *v = (cn__cval){d, e->len, e->written_ms, e->revalidate_ms,
                    e->expire_ms, tags, e->ntags};
    *state = state_of(c, v, e->seq, now);
    if (*state == CN__CACHE_MISS)
      drop(c, e); /* expired */
    else
      lru_unlink(c, e), lru_front(c, e);
  }
  pthread_mutex_unlock(&c->mu);
  if (*state == CN__CACHE_MISS)
    memset(v, 0, sizeof(*v));
  /* Shared by instances: another may have refreshed what is stale or
   * invalid here; its value, when fresh, is the one to serve (else every
   * instance would compute it again). */
  if (!rc && (*state == CN__CACHE_STALE || *state == CN__CACHE_INVALID) &&
      c->second.ops && c->second.ops->tag_put) {
    cn__cval other;
    cn__cstate st2;
    if (!from_second(c, key, arena, now, &other, &st2) &&
        st2 == CN__CACHE_HIT && other.written_ms >= v->written_ms)
      *v = other, *state = st2;
  }
  return rc;
}

int cn__cache_put(cn__cache *c, const char *key, const cn__cval *given) {
  cn__cval v = *given;
  const char *tags[CN__CACHE_MAX_TAGS];
  size_t n = 0, dropped = 0;
  for (size_t i = 0; i < given->ntags; i++) {
    size_t len = strlen(given->tags[i]);
    if (n == CN__CACHE_MAX_TAGS || len > CN__CACHE_MAX_TAG_LEN || !len)
      dropped++;
    else
      tags[n++] = given->tags[i];
  }
  if (dropped)
    fprintf(stderr, "cairn: cache %.200s: %zu tag%s dropped (at most %d tags "
                    "of 1 to %d bytes each)\n",
            key, dropped, dropped == 1 ? "" : "s", CN__CACHE_MAX_TAGS,
            CN__CACHE_MAX_TAG_LEN);
  v.tags = tags;
  v.ntags = n;
  v.written_ms = cn__clock_ms();
  pthread_mutex_lock(&c->mu);
  int rc = remember(c, key, &v, atomic_fetch_add(&seq_counter, 1) + 1);
  pthread_mutex_unlock(&c->mu);
  if (!rc && c->second.ops) {
    cn__buf b = {0};
    rc = cn__cache_encode(&v, &b);
    if (!rc)
      rc = c->second.ops->put(c->second.self, key, b.ptr, b.len);
    cn__buf_free(&b);
  }
  return rc;
}

int cn__cache_delete(cn__cache *c, const char *key) {
  pthread_mutex_lock(&c->mu);
  entry *e = *slot_of(c, key, hash_of(key, strlen(key)));
  if (e)
    drop(c, e);
  pthread_mutex_unlock(&c->mu);
  if (c->second.ops)
    c->second.ops->del(c->second.self, key);
  return 0;
}

int cn__cache_revalidate_tag(cn__cache *c, const char *tag) {
  cn__buf b = {0};
  uint64_t now = cn__clock_ms();
  const cn__cache_store_ops *ops = c->second.ops;
  pthread_mutex_lock(&c->mu);
  int rc = tag_set(c, tag, now);
  if (!rc && ops && !ops->tag_put)
    rc = manifest_encode(c, &b);
  pthread_mutex_unlock(&c->mu);
  if (!rc && ops && ops->tag_put) /* shared: every instance hears it */
    rc = ops->tag_put(c->second.self, tag, now);
  else if (!rc && ops)
    rc = ops->put(c->second.self, TAGS_KEY, b.ptr, b.len);
  cn__buf_free(&b);
  return rc;
}

int cn__cache_claim(cn__cache *c, const char *key) {
  const cn__cache_store_ops *ops = c ? c->second.ops : NULL;
  if (!ops || !ops->claim)
    return 1;
  int rc = ops->claim(c->second.self, key, CN__CACHE_CLAIM_MS);
  if (rc != 1)
    return rc != 0; /* CN_EIO: done here, as one process would */
  /* Another instance may have stored the new value between our look and
   * our claim: then there is nothing to do. */
  char mem[1024];
  cn__arena a;
  cn__cval v;
  cn__cstate st = CN__CACHE_MISS;
  cn__arena_init(&a, mem, sizeof mem);
  int fresh = !cn__cache_get(c, key, &a, &v, &st) && st == CN__CACHE_HIT;
  cn__arena_reset(&a);
  if (fresh)
    ops->release(c->second.self, key);
  return !fresh;
}

void cn__cache_release(cn__cache *c, const char *key) {
  const cn__cache_store_ops *ops = c ? c->second.ops : NULL;
  if (ops && ops->release)
    ops->release(c->second.self, key);
}

/* Another instance's revalidation (or our own, heard back): its time, and
 * a place after every write this process made so far (tag_set's seq). */
static void heard(void *arg, const char *tag, uint64_t ms) {
  cn__cache *c = arg;
  pthread_mutex_lock(&c->mu);
  tagtime *t = tag_find(c, tag);
  if (!t || ms > t->ms) /* our own, heard back, changes nothing */
    tag_set(c, tag, ms);
  pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ global */

static _Atomic(cn__cache *) global;
static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;

cn__cache *cn__cache_global(void) {
  cn__cache *c = atomic_load(&global);
  if (c)
    return c;
  pthread_mutex_lock(&global_mu);
  if (!(c = atomic_load(&global)) && cn__cache_new(&c, NULL) == 0)
    atomic_store(&global, c);
  pthread_mutex_unlock(&global_mu);
  return c;
}

void cn__cache_set_global(cn__cache *c) {
  pthread_mutex_lock(&global_mu);
  cn__cache *old = atomic_exchange(&global, c);
  pthread_mutex_unlock(&global_mu);
  cn__cache_free(old);
}
