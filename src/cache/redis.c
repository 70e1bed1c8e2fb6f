/*
 * The Data Cache's Redis store (cache.h: cn__cache_redis), behind each
 * instance's memory: what one instance caches, the others find; a tag
 * revalidated on one is stale on all, within a PUBLISH's time.
 *
 * Commands go over one connection under a mutex (hiredis contexts are
 * not for two threads at once), reconnected once when a command finds it
 * broken. Tag times: the hash cairn:tags, each field raised, never
 * lowered, and the revalidation published, by one Lua script (atomic: no
 * instance sees one without the other). The subscriber is a thread with a
 * connection of its own, blocked in SUBSCRIBE; close shuts its socket
 * down to wake it. When it loses the connection it makes a new one (every
 * 50 ms to 1 s) and reads the whole hash again, for what it missed.
 */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"

#define TAGS "cairn:tags"
#define CHANNEL "cairn:revalidate"

/* Raise a tag's time and tell everyone, in one step. */
static const char TAG_SCRIPT[] =
    "local t = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not t or tonumber(t) < tonumber(ARGV[2]) then "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
    "redis.call('PUBLISH', KEYS[2], ARGV[2] .. ' ' .. ARGV[1]) return 1";

/* Give a claim back only if it is still ours (it may have expired and
 * been taken by another instance meanwhile). */
static const char RELEASE_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

typedef struct rstore {
  char host[256], password[256];
  char me[40]; /* this instance, as its claims say */
  int port, db;
  pthread_mutex_t mu;
  redisContext *c;
  /* the subscriber */
  void (*on)(void *arg, const char *tag, uint64_t ms);
  void *on_arg;
  pthread_t thread;
  int started;
  pthread_mutex_t smu; /* guards sub and stopping against close */
  redisContext *sub;
  int stopping;
} rstore;

/* redis://[:password@]host[:port][/db]. 0 or CN_EINVAL. */
static int parse_url(const char *url, rstore *r) {
  if (strncasecmp(url, "redis://", 8))
    return CN_EINVAL;
  const char *p = url + 8, *at = strchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    snprintf(r->password, sizeof r->password, "%.*s", (int)(at - pw), pw);
    p = at + 1;
  }
  size_t hl = strcspn(p, ":/");
  if (!hl || hl >= sizeof r->host)
    return CN_EINVAL;
  snprintf(r->host, sizeof r->host, "%.*s", (int)hl, p);
  p += hl;
  r->port = 6379;
  if (*p == ':') {
    char *end;
    long port = strtol(p + 1, &end, 10);
    if (end == p + 1 || port < 1 || port > 65535)
      return CN_EINVAL;
    r->port = (int)port;
    p = end;
  }
  if (*p == '/' && p[1]) {
    char *end;
    long db = strtol(p + 1, &end, 10);
    if (*end || db < 0 || db > 1000)
      return CN_EINVAL;
    r->db = (int)db;
  }
  return 0;
}

/* A connection, authenticated and on its database; NULL with err. */
static redisContext *connect_to(const rstore *r, char *err, size_t errlen) {
  struct timeval tv = {2, 0};
  redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
  if (!c || c->err) {
    snprintf(err, errlen, "cannot connect to Redis at %s:%d: %s", r->host,
             r->port, c ? c->errstr : "out of memory");
    redisFree(c);
    return NULL;
  }
  redisReply *rep = NULL;
  if (r->password[0])
    rep = redisCommand(c, "AUTH %s", r->password);
  if (!rep || rep->type != REDIS_REPLY_ERROR) {
    freeReplyObject(rep);
    rep = r->db ? redisCommand(c, "SELECT %d", r->db) : NULL;
  }
  if (rep && rep->type == REDIS_REPLY_ERROR) {
    snprintf(err, errlen, "Redis at %s:%d refused: %s", r->host, r->port,
             rep->str);
    freeReplyObject(rep);
    redisFree(c);
    return NULL;
  }
  freeReplyObject(rep);
  return c;
}

/* A command on the shared connection (a new one first when it broke).
 * The reply, or NULL. Under r->mu. */
static redisReply *command(rstore *r, const char *fmt, ...) {
  char err[256];
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!r->c && !(r->c = connect_to(r, err, sizeof err)))
      return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->c, fmt, ap);
    va_end(ap);
    if (rep)
      return rep;
    redisFree(r->c); /* broken: once more on a new one */
    r->c = NULL;
  }
  return NULL;
}

/* A value's sum: FNV-1a of its key and bytes, stored after them, so that
 * a torn, changed or misplaced value (another program writing our keys)
 * is never served. */
static uint64_t sum_of(const char *key, const void *data, size_t len) {
  return cn__fnv64(cn__fnv64(CN__FNV_OFFSET, key, strlen(key) + 1), data,
                   len);
}

static int r_get(void *self, const char *key, void **data, size_t *len) {
  rstore *r = self;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "GET cairn:v:%b", key, strlen(key));
  int rc = !rep                             ? CN_EIO
           : rep->type == REDIS_REPLY_NIL    ? CN_ENOENT
           : rep->type != REDIS_REPLY_STRING ? CN_EIO
                                             : 0;
  if (!rc) {
    size_t n = rep->len >= 8 ? rep->len - 8 : 0;
    uint64_t want = 0;
    for (int i = 0; rep->len >= 8 && i < 8; i++)
      want |= (uint64_t)(unsigned char)rep->str[n + i] << (8 * i);
    if (rep->len < 8 || want != sum_of(key, rep->str, n)) {
      rc = CN_EPARSE;
    } else if ((*data = cn__malloc(n ? n : 1))) {
      memcpy(*data, rep->str, n);
      *len = n;
    } else {
      rc = CN_ENOMEM;
    }
  }
  freeReplyObject(rep);
  if (rc == CN_EPARSE) { /* removed, as the store contract says */
    fprintf(stderr, "cairn: cache: the value of %.200s in Redis fails its "
                    "checksum: removed\n", key);
    freeReplyObject(command(r, "DEL cairn:v:%b", key, strlen(key)));
  }
  pthread_mutex_unlock(&r->mu);
  return rc;
}

static int r_put(void *self, const char *key, const void *data, size_t len) {
  rstore *r = self;
  /* one SET of the value and its sum: no reader sees one without the
   * other */
  unsigned char *v = cn__malloc(len + 8);
  if (!v)
    return CN_ENOMEM;
  memcpy(v, data, len);
  uint64_t h = sum_of(key, data, len);
  for (int i = 0; i < 8; i++)
    v[len + i] = (unsigned char)(h >> (8 * i));
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "SET cairn:v:%b %b", key, strlen(key), v,
                            len + 8);
  int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : CN_EIO;
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
  cn__free(v);
  return rc;
}

static int r_del(void *self, const char *key) {
  rstore *r = self;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "DEL cairn:v:%b", key, strlen(key));
  int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : CN_EIO;
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

static int r_tag_put(void *self, const char *tag, uint64_t ms) {
  rstore *r = self;
  char t[24];
  snprintf(t, sizeof t, "%llu", (unsigned long long)ms);
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "EVAL %s 2 " TAGS " " CHANNEL " %s %s",
                            TAG_SCRIPT, tag, t);
  int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : CN_EIO;
  if (rc)
    fprintf(stderr, "cairn: cache: revalidating tag %.100s in Redis "
                    "failed: %s\n", tag,
            rep ? rep->str : r->c ? r->c->errstr : "no connection");
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

/* One instance at a time recomputes a key: SET NX with an expiry, so a
 * claim of an instance that died lapses. */
static int r_claim(void *self, const char *key, uint64_t ttl_ms) {
  rstore *r = self;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "SET cairn:claim:%b %s NX PX %llu", key,
                            strlen(key), r->me, (unsigned long long)ttl_ms);
  int rc = !rep || rep->type == REDIS_REPLY_ERROR ? CN_EIO
           : rep->type == REDIS_REPLY_NIL         ? 0
                                                  : 1;
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

static void r_release(void *self, const char *key) {
  rstore *r = self;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "EVAL %s 1 cairn:claim:%b %s", RELEASE_SCRIPT,
                            key, strlen(key), r->me);
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
}

static int r_tag_load(void *self,
                      void (*each)(void *arg, const char *tag, uint64_t ms),
                      void *arg) {
  rstore *r = self;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, "HGETALL " TAGS);
  int rc = rep && rep->type == REDIS_REPLY_ARRAY ? 0 : CN_EIO;
  for (size_t i = 0; !rc && i + 1 < rep->elements; i += 2) {
    const redisReply *k = rep->element[i], *v = rep->element[i + 1];
    if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
        k->len <= CN__CACHE_MAX_TAG_LEN && !memchr(k->str, 0, k->len))
      each(arg, k->str, strtoull(v->str, NULL, 10));
  }
  freeReplyObject(rep);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

/* "ms tag" from the channel. */
static void deliver(rstore *r, const redisReply *msg) {
  if (msg->type != REDIS_REPLY_ARRAY || msg->elements != 3 ||
      msg->element[2]->type != REDIS_REPLY_STRING)
    return;
  char buf[CN__CACHE_MAX_TAG_LEN + 32];
  const redisReply *m = msg->element[2];
  if (m->len >= sizeof buf || memchr(m->str, 0, m->len))
    return;
  memcpy(buf, m->str, m->len);
  buf[m->len] = '\0';
  char *sp = strchr(buf, ' ');
  if (sp)
    r->on(r->on_arg, sp + 1, strtoull(buf, NULL, 10));
}

static void *subscriber(void *arg) {
  rstore *r = arg;
  unsigned backoff = 0;
  char err[256];
  for (;;) {
    pthread_mutex_lock(&r->smu);
    int stop = r->stopping;
    redisContext *c = r->sub;
    pthread_mutex_unlock(&r->smu);
    if (stop)
      break;
    if (!c) { /* (re)connect, subscribe, catch up */
      if (backoff) {
        struct timespec ts = {backoff / 1000, (long)(backoff % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
      backoff = backoff ? (backoff * 2 > 1000 ? 1000 : backoff * 2) : 50;
      c = connect_to(r, err, sizeof err);
      redisReply *rep = c ? redisCommand(c, "SUBSCRIBE " CHANNEL) : NULL;
      int ok = rep && rep->type == REDIS_REPLY_ARRAY;
      freeReplyObject(rep);
      if (!ok) {
        redisFree(c);
        continue;
      }
      pthread_mutex_lock(&r->smu);
      if (r->stopping) {
        pthread_mutex_unlock(&r->smu);
        redisFree(c);
        break;
      }
      r->sub = c;
      pthread_mutex_unlock(&r->smu);
      backoff = 0;
      r_tag_load(r, r->on, r->on_arg); /* what was said while away */
    }
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      pthread_mutex_lock(&r->smu);
      r->sub = NULL;
      pthread_mutex_unlock(&r->smu);
      redisFree(c);
      continue;
    }
    deliver(r, reply);
    freeReplyObject(reply);
  }
  return NULL;
}

static int r_listen(void *self,
                    void (*on)(void *arg, const char *tag, uint64_t ms),
                    void *arg) {
  rstore *r = self;
  r->on = on;
  r->on_arg = arg;
  if (pthread_create(&r->thread, NULL, subscriber, r))
    return CN_ESYS;
  r->started = 1;
  return 0;
}

static void r_free(void *self) {
  rstore *r = self;
  if (r->started) {
    pthread_mutex_lock(&r->smu);
    r->stopping = 1;
    if (r->sub) /* wakes redisGetReply */
      shutdown(r->sub->fd, SHUT_RDWR);
    pthread_mutex_unlock(&r->smu);
    pthread_join(r->thread, NULL);
  }
  redisFree(r->sub);
  redisFree(r->c);
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->smu);
  cn__free(r);
}

static const cn__cache_store_ops ops = {
    .get = r_get,
    .put = r_put,
    .del = r_del,
    .free = r_free,
    .tag_put = r_tag_put,
    .tag_load = r_tag_load,
    .listen = r_listen,
    .claim = r_claim,
    .release = r_release,
};

int cn__cache_redis(const char *url, cn__cache_store *out, char *err,
                    size_t errlen) {
  rstore *r = cn__calloc(1, sizeof *r);
  if (!r)
    return CN_ENOMEM;
  if (!url || parse_url(url, r)) {
    snprintf(err, errlen, "CACHE_URL: not a redis://[:password@]host[:port]"
                          "[/db] URL");
    cn__free(r);
    return CN_EINVAL;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->smu, NULL);
  unsigned char id[16];
  if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
    snprintf(err, errlen, "CACHE_URL: no random bytes for this instance's "
                          "name");
    r_free(r);
    return CN_ESYS;
  }
  for (size_t i = 0; i < sizeof id; i++)
    snprintf(r->me + 2 * i, 3, "%02x", id[i]);
  if (!(r->c = connect_to(r, err, errlen))) {
    r_free(r);
    return CN_EIO;
  }
  out->ops = &ops;
  out->self = r;
  return 0;
}
