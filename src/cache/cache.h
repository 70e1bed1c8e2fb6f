/*
 * cache.h: the Data Cache: what fetch, cached functions and the full-route
 * cache (ISR) keep, as Next.js keeps them.
 *
 * Shape. A cn__cache maps string keys to byte values with a little
 * metadata: when the value was written, after how long it goes stale
 * (revalidate), when it may no longer be served at all (expire), and its
 * tags. Values live in a store: memory (an LRU bounded in bytes) in front
 * of an optional second level (the disk under .cairn/cache, later Redis)
 * behind one small interface, cn__cache_store_ops. A get looks in memory first,
 * then the second level (and keeps what it found in memory).
 *
 * Tags. Revalidating a tag does not walk the entries: the cache records
 * "tag T revalidated at time t" (Next.js's tags manifest), and an entry
 * written before the latest time of any of its tags is stale. The table is
 * kept by the second-level store too, so a restart still knows.
 *
 * Time. Everything reads cn__clock_ms(), which tests can freeze and move
 * (cn__clock_set): nothing here sleeps or reads the wall clock otherwise.
 *
 * Threads. Every function may be called from any thread (one mutex per
 * cache; stores are called with it released, they lock for themselves).
 *
 * Ownership. The cache copies what put is given. get copies the value into
 * an arena the caller passes (a request's), so a hit costs one copy and
 * nothing to free; tags come back in the same arena.
 */
#ifndef CN_CACHE_H
#define CN_CACHE_H

#include "common/common.h"

/* Next.js's limits on tags. */
#define CN__CACHE_MAX_TAGS 128
#define CN__CACHE_MAX_TAG_LEN 256

/* ------------------------------------------------------------- clock */

/* Milliseconds on the cache's clock: the wall clock (epoch ms), or the
 * time a test set. */
uint64_t cn__clock_ms(void);
/* Tests: freeze the clock at ms (0: back to the wall clock). */
void cn__clock_set(uint64_t ms);

/* ------------------------------------------------------------ values */

typedef struct cn__cval {
  const void *data; /* get: in the caller's arena; put: the caller's */
  size_t len;
  uint64_t written_ms;    /* put fills it from the clock */
  uint64_t revalidate_ms; /* stale this long after written; 0: never by age */
  uint64_t expire_ms;     /* not served this long after written; 0: never */
  const char *const *tags;
  size_t ntags;
} cn__cval;

typedef enum cn__cstate {
  CN__CACHE_MISS = 0, /* absent, expired, or unreadable */
  CN__CACHE_HIT,
  CN__CACHE_STALE,    /* its revalidate time passed: serve it, refresh it */
  CN__CACHE_INVALID   /* one of its tags was revalidated since it was
                         written. As in Next.js, data (fetch, cached
                         functions) is then fetched again before use, while
                         a page is still served stale once: it regenerates
                         with fresh data. The value is given all the same. */
} cn__cstate;

/* ------------------------------------------------------------ stores */

/* A second-level store. Values and tag times cross it serialized by the
 * cache (cn__cache_encode), so a store only keeps bytes under keys. The
 * tag table is kept under the key "\x01tags". All functions may be called
 * from many threads at once. */
typedef struct cn__cache_store_ops {
  /* OUT: *data (cn__malloc'd, the caller frees), *len. CN_ENOENT when
   * absent; another error when unreadable (the store removes what it could
   * not read; the cache treats it as absent). */
  int (*get)(void *self, const char *key, void **data, size_t *len);
  int (*put)(void *self, const char *key, const void *data, size_t len);
  int (*del)(void *self, const char *key);
  void (*free)(void *self);
  /* A store many instances share (Redis) keeps tag times itself and says
   * each revalidation to every instance; NULL for the others, whose tag
   * table is the manifest under "\x01tags". tag_put records tag at ms
   * (the later of it and what is there) and tells every instance;
   * tag_load calls each(arg, tag, ms) for every tag recorded; listen makes
   * the store call on(arg, tag, ms), from a thread of its own, for every
   * revalidation said by any instance (its own included), and for every
   * tag again when it had to reconnect. */
  int (*tag_put)(void *self, const char *tag, uint64_t ms);
  int (*tag_load)(void *self,
                  void (*each)(void *arg, const char *tag, uint64_t ms),
                  void *arg);
  int (*listen)(void *self, void (*on)(void *arg, const char *tag, uint64_t ms),
                void *arg);
  /* A shared store lets one instance at a time recompute a key (an ISR
   * regeneration, a stale value's refresh): claim answers 1 when this
   * instance got key for ttl_ms, 0 when another holds it, CN_EIO when it
   * cannot tell; release gives it back. NULL for the others. */
  int (*claim)(void *self, const char *key, uint64_t ttl_ms);
  void (*release)(void *self, const char *key);
} cn__cache_store_ops;

typedef struct cn__cache_store {
  const cn__cache_store_ops *ops;
  void *self;
} cn__cache_store;

/* The disk store under dir (created when missing): one file per key, its
 * name a hash of the key, written to a temporary file and renamed; each
 * file carries a checksum, and a file that fails it is ignored and
 * removed. Keys over 1 MiB and values over 256 MiB are CN_ETOOBIG. OUT:
 * *out. 0, CN_EIO (dir cannot be made), CN_EINVAL (dir NULL) or
 * CN_ENOMEM. */
int cn__cache_disk(const char *dir, cn__cache_store *out);

/* The Redis store at url (redis://[:password@]host[:port][/db]), for
 * many instances: values under "cairn:v:<key>", tag times in the hash
 * "cairn:tags", revalidations published on "cairn:revalidate". One
 * connection for commands (reconnected when it breaks), one for the
 * subscription. OUT: *out. 0, CN_EINVAL (not such a URL), CN_EIO (cannot
 * connect or authenticate; err says why), CN_ENOMEM. */
int cn__cache_redis(const char *url, cn__cache_store *out, char *err,
                    size_t errlen);

/* ------------------------------------------------------------- cache */

typedef struct cn__cache cn__cache;

typedef struct cn__cache_opts {
  size_t memory_bytes; /* the LRU's bound; 0: 64 MiB */
  cn__cache_store second;    /* ops NULL: memory only */
} cn__cache_opts;

/* OUT: *out. The cache owns opts->second from here (frees it). */
int cn__cache_new(cn__cache **out, const cn__cache_opts *opts);
void cn__cache_free(cn__cache *c);

/* The process's Data Cache (a server serves one app): the one installed
 * with cn__cache_set_global at start (cn_main: memory before .cairn/cache),
 * else made on first use with the defaults, memory only. NULL only when out
 * of memory. */
cn__cache *cn__cache_global(void);
/* Install c (the process owns it from here; the previous one is freed). */
void cn__cache_set_global(cn__cache *c);

/* Look key up. OUT: *v (its data and tags copied into arena) and the
 * state: HIT, STALE (revalidate time passed), INVALID (a tag revalidated
 * since it was written), MISS (absent or past expire_ms: nothing in *v). 0, or
 * CN_ENOMEM from the arena (the state is then MISS). */
int cn__cache_get(cn__cache *c, const char *key, cn__arena *arena,
                  cn__cval *v, cn__cstate *state);

/* Keep a copy of v under key (written_ms set from the clock). Tags beyond
 * CN__CACHE_MAX_TAGS or longer than CN__CACHE_MAX_TAG_LEN are dropped with
 * a warning on stderr. A value larger than the memory bound goes only to
 * the second level. 0 or CN_ENOMEM. */
int cn__cache_put(cn__cache *c, const char *key, const cn__cval *v);

int cn__cache_delete(cn__cache *c, const char *key);

/* Every entry carrying tag is stale from now on. */
int cn__cache_revalidate_tag(cn__cache *c, const char *tag);

/* The time tag was last revalidated (0: never). */
uint64_t cn__cache_tag_time(cn__cache *c, const char *tag);

/* Recompute key here? 1 unless another instance sharing the store claimed
 * it, or stored a fresh value meanwhile (0): alone, or when the store
 * cannot tell, the work is done here, as one process would. A 1 is given
 * back with cn__cache_release once the new value is stored; a claim whose
 * instance died lapses after CN__CACHE_CLAIM_MS. c may be NULL. */
#define CN__CACHE_CLAIM_MS 60000
int cn__cache_claim(cn__cache *c, const char *key);
void cn__cache_release(cn__cache *c, const char *key);

/* Register POST /_cairn/revalidate on app (?tag=T or ?path=/p&type=...,
 * the secret as "Authorization: Bearer S" or ?secret=, compared with
 * CAIRN_REVALIDATE_SECRET in constant time: wrong or missing -> 401). 0 or
 * cn_app_route's error. */
int cn__cache_mount(cn_app *app);

/* The serialized form of a value, as stores keep it (a versioned header,
 * the times, the tags, the data). decode checks everything and returns
 * CN_EPARSE for anything malformed; the decoded data and tags point into
 * the arena. */
int cn__cache_encode(const cn__cval *v, cn__buf *out);
int cn__cache_decode(const void *p, size_t n, cn__arena *arena, cn__cval *v);

#endif /* CN_CACHE_H */
