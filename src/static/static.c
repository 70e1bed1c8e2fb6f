/*
 * The public/ folder: the cache (a chained hash map plus two LRU lists), the
 * file system (openat2 beneath the root) and the request's answer. The
 * design, ownership and containment rules are in static.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "static/static_int.h"

enum { KIND_FILE, KIND_ABSENT, KIND_FORBIDDEN, KIND_BIG };

struct cn__static_file {
  unsigned refs;           /* the map's one, plus one per reply holding it */
  unsigned char kind;      /* KIND_FILE, KIND_ABSENT or KIND_FORBIDDEN */
  uint64_t hash;
  cn__static_file *hnext;  /* bucket chain */
  cn__static_file *prev, *next; /* LRU list of its kind, newest first */
  uint64_t checked_ms;     /* when the disk last agreed with this entry */
  dev_t dev;               /* identity of the file the content came from */
  ino_t ino;
  struct timespec mtim;
  size_t bytes;            /* what it counts against max_cache_bytes */
  cn__static_view view;    /* header block and validators (into mem) */
  const char *data;        /* view.size bytes of content (into mem) */
  size_t path_len;
  char mem[];              /* path, NUL, header block, content */
};

typedef struct lru {
  cn__static_file *head, *tail;
  size_t count;
} lru;

struct cn__static {
  int root_fd;
  char *root;      /* realpath of the root, for the fallback check */
  size_t root_len;
  int use_openat2;
  cn__static_options o;
  cn__static_file **buckets;
  size_t nbuckets, count;
  lru files, neg;
  size_t file_bytes;
  uint64_t seed;
  uint64_t hits, misses, syscalls;
};

/* What one lookup found on disk or in the cache. */
typedef struct found {
  int kind;
  cn__static_file *e; /* KIND_FILE */
  int fd;             /* KIND_BIG: open, owned by the finder until handed on */
  struct stat sb;     /* KIND_BIG */
} found;

/* ---------------------------------------------------------- life */

int cn__static_new(cn__static **out, const char *root_dir,
                   const cn__static_options *opts) {
  *out = NULL;
  if (!root_dir)
    return CN_EINVAL;
  char real[PATH_MAX];
  if (!realpath(root_dir, real))
    return errno == ENOMEM ? CN_ENOMEM : errno == ENOTDIR ? CN_EINVAL
                                                          : CN_ENOENT;
  int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOTDIR ? CN_EINVAL : errno == ENOENT ? CN_ENOENT : CN_EIO;
  int rc = CN_ENOMEM;
  cn__static *st = cn__calloc(1, sizeof *st);
  if (!st)
    goto cleanup;
  st->root_fd = fd;
  st->root = cn__strdup(real);
  st->root_len = strlen(real);
  st->nbuckets = 64;
  st->buckets = cn__calloc(st->nbuckets, sizeof *st->buckets);
  if (!st->root || !st->buckets)
    goto cleanup;
  if (opts)
    st->o = *opts;
  if (!st->o.max_cache_bytes)
    st->o.max_cache_bytes = 16u << 20;
  if (!st->o.max_cached_file)
    st->o.max_cached_file = 64u << 10;
  st->o.max_cached_file =
      CN__MIN(st->o.max_cached_file, st->o.max_cache_bytes);
  if (!st->o.revalidate_ms)
    st->o.revalidate_ms = 1000;
  if (!st->o.max_negative)
    st->o.max_negative = 4096;
  if (getrandom(&st->seed, sizeof st->seed, GRND_NONBLOCK) != sizeof st->seed)
    st->seed = (uint64_t)(uintptr_t)st ^ cn__now_ms(); /* weaker, never fatal */
  /* Probe once: a kernel before 5.6, or a seccomp filter, says ENOSYS. */
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH};
  long probe = syscall(SYS_openat2, fd, ".", &how, sizeof how);
  st->use_openat2 = probe >= 0 && !st->o.resolve_fallback;
  if (probe >= 0)
    close((int)probe);
  *out = st;
  return 0;
cleanup:
  if (st) {
    cn__free(st->root);
    cn__free(st->buckets);
    cn__free(st);
  }
  close(fd);
  return rc;
}

void cn__static_release(cn__static_file *f) {
  if (!f)
    return;
  if (f->refs == 0)
    abort(); /* released more often than held: memory is already gone */
  if (--f->refs == 0)
    cn__free(f);
}

void cn__static_free(cn__static *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->nbuckets; i++) {
    cn__static_file *e = st->buckets[i];
    while (e) {
      cn__static_file *next = e->hnext;
      cn__static_release(e);
      e = next;
    }
  }
  close(st->root_fd);
  cn__free(st->buckets);
  cn__free(st->root);
  cn__free(st);
}

void cn__static_get_stats(const cn__static *st, cn__static_stats *out) {
  out->files = st->files.count;
  out->file_bytes = st->file_bytes;
  out->negative = st->neg.count;
  out->hits = st->hits;
  out->misses = st->misses;
  out->syscalls = st->syscalls;
}

/* ---------------------------------------------------------- the map */

/* Eight bytes per step, keyed by a per-instance random seed: names come from
 * clients and unknown ones are remembered, so chains must not be steerable. */
static uint64_t hash_name(uint64_t seed, const char *s, size_t n) {
  const uint64_t k = 0x9fb21c651e98df25u;
  uint64_t h = seed ^ (n * k);
  for (; n >= 8; s += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h = (h ^ w) * k;
  h ^= h >> 32;
  h *= k;
  return h ^ (h >> 29);
}

static lru *list_of(cn__static *st, const cn__static_file *e) {
  return e->kind == KIND_FILE ? &st->files : &st->neg;
}

static void lru_unlink(lru *l, cn__static_file *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    l->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l->tail = e->prev;
  e->prev = e->next = NULL;
  l->count--;
}

static void lru_push(lru *l, cn__static_file *e) {
  e->prev = NULL;
  e->next = l->head;
  if (l->head)
    l->head->prev = e;
  else
    l->tail = e;
  l->head = e;
  l->count++;
}

static cn__static_file *map_find(cn__static *st, uint64_t h, const char *name,
                                 size_t n) {
  cn__static_file *e = st->buckets[h & (st->nbuckets - 1)];
  for (; e; e = e->hnext)
    if (e->hash == h && e->path_len == n && memcmp(e->mem, name, n) == 0)
      return e;
  return NULL;
}

/* Take e out of the map and drop the map's reference; replies holding it
 * keep it alive. */
static void map_remove(cn__static *st, cn__static_file *e) {
  cn__static_file **pp = &st->buckets[e->hash & (st->nbuckets - 1)];
  while (*pp != e)
    pp = &(*pp)->hnext;
  *pp = e->hnext;
  lru_unlink(list_of(st, e), e);
  st->count--;
  if (e->kind == KIND_FILE)
    st->file_bytes -= e->bytes;
  cn__static_release(e);
}

static void map_grow(cn__static *st) {
  size_t n = st->nbuckets * 2;
  cn__static_file **b = cn__calloc(n, sizeof *b);
  if (!b)
    return; /* longer chains, still correct */
  for (size_t i = 0; i < st->nbuckets; i++) {
    cn__static_file *e = st->buckets[i];
    while (e) {
      cn__static_file *next = e->hnext;
      e->hnext = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
      e = next;
    }
  }
  cn__free(st->buckets);
  st->buckets = b;
  st->nbuckets = n;
}

/* Insert e (refs already 1, the map's), then evict the least recently used
 * entries of its kind until the budget holds again. */
static void map_insert(cn__static *st, cn__static_file *e) {
  if (st->count >= st->nbuckets)
    map_grow(st);
  size_t b = e->hash & (st->nbuckets - 1);
  e->hnext = st->buckets[b];
  st->buckets[b] = e;
  st->count++;
  lru *l = list_of(st, e);
  lru_push(l, e);
  if (e->kind == KIND_FILE) {
    st->file_bytes += e->bytes;
    while (st->file_bytes > st->o.max_cache_bytes && l->tail != e)
      map_remove(st, l->tail);
  } else {
    while (l->count > st->o.max_negative && l->tail != e)
      map_remove(st, l->tail);
  }
}

/* ---------------------------------------------------- the file system */

/* The fallback's containment check: where did the fd really end up? */
static int fd_inside_root(cn__static *st, int fd) {
  char link[40], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  st->syscalls++;
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0 || (size_t)n >= sizeof path - 1)
    return 0; /* cannot tell: refuse */
  path[n] = '\0';
  if (st->root_len == 1)
    return path[0] == '/';
  return (size_t)n > st->root_len && path[st->root_len] == '/' &&
         memcmp(path, st->root, st->root_len) == 0;
}

/* Open rel beneath the root without blocking: an fd, or -errno (EXDEV or
 * ELOOP when the path would leave the root). */
static int open_beneath(cn__static *st, const char *rel) {
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  st->syscalls++;
  if (st->use_openat2) {
    struct open_how how = {.flags = (uint64_t)flags,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, st->root_fd, rel, &how, sizeof how);
    if (fd >= 0)
      return (int)fd;
    if (errno != ENOSYS)
      return -errno;
    st->use_openat2 = 0; /* a filter appeared: fall back for good */
  }
  int fd = openat(st->root_fd, rel, flags);
  if (fd < 0)
    return -errno;
  if (!fd_inside_root(st, fd)) {
    close(fd);
    return -EXDEV;
  }
  return fd;
}

/* Read exactly size bytes and make sure the file ends there: 0, 1 when the
 * file changed under us (try again), CN_EIO. */
static int read_exact(cn__static *st, int fd, char *buf, uint64_t size) {
  uint64_t got = 0;
  while (got < size) {
    st->syscalls++;
    ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return CN_EIO;
    if (n == 0)
      return 1;
    got += (uint64_t)n;
  }
  char extra;
  st->syscalls++;
  ssize_t n = pread(fd, &extra, 1, (off_t)size);
  return n == 0 ? 0 : n > 0 ? 1 : CN_EIO;
}

static cn__static_file *entry_new(const char *rel, size_t len, uint64_t h,
                                  int kind, size_t extra) {
  cn__static_file *e = cn__malloc(sizeof *e + len + 1 + extra);
  if (!e)
    return NULL;
  memset(e, 0, sizeof *e);
  e->refs = 1;
  e->kind = (unsigned char)kind;
  e->hash = h;
  e->path_len = len;
  memcpy(e->mem, rel, len);
  e->mem[len] = '\0';
  return e;
}

/* A cached file from an open fd: header block and content in one block.
 * OUT: *oe, or NULL with 0 when the file changed while read (try again). */
static int entry_load(cn__static *st, const char *rel, size_t len, uint64_t h,
                      int fd, const struct stat *sb, cn__static_file **oe) {
  *oe = NULL;
  char hdr[CN__STATIC_HDR_MAX];
  cn__static_view v;
  uint64_t size = (uint64_t)sb->st_size;
  cn__static_format(hdr, cn__static_content_type(rel, len),
                    (int64_t)sb->st_mtim.tv_sec, size, &v);
  cn__static_file *e = entry_new(rel, len, h, KIND_FILE, v.hdr_len + size);
  if (!e)
    return CN_ENOMEM;
  char *p = e->mem + len + 1;
  memcpy(p, hdr, v.hdr_len);
  v.etag.ptr = p + (v.etag.ptr - hdr);
  v.hdr = p;
  e->view = v;
  e->data = p + v.hdr_len;
  int rc = read_exact(st, fd, p + v.hdr_len, size);
  if (rc) {
    cn__free(e);
    return rc > 0 ? 0 : rc;
  }
  e->dev = sb->st_dev;
  e->ino = sb->st_ino;
  e->mtim = sb->st_mtim;
  e->bytes = sizeof *e + len + 1 + v.hdr_len + size;
  *oe = e;
  return 0;
}

/* An open failure, as the answer it deserves; CN_E* for the ones that say
 * nothing about the path (and are not cached). */
static int kind_of_errno(int err) {
  switch (err) {
  case ENOENT:
  case ENOTDIR:
  case ENAMETOOLONG:
    return KIND_ABSENT;
  case EXDEV:  /* RESOLVE_BENEATH: the path would leave the root */
  case ELOOP:  /* a symlink loop, or a magic link */
  case EACCES:
  case EPERM:
  case ENXIO:  /* a socket */
  case ENODEV:
  case EISDIR:
    return KIND_FORBIDDEN;
  case ENOMEM:
    return CN_ENOMEM;
  default:
    return CN_EIO; /* EMFILE, ENFILE, EIO: the next request may do better */
  }
}

/* Remember "nothing servable here"; when that cannot be allocated the answer
 * is still right, just not remembered. */
static void remember(cn__static *st, const char *rel, size_t len, uint64_t h,
                     uint64_t now, int kind) {
  cn__static_file *e = entry_new(rel, len, h, kind, 0);
  if (!e)
    return;
  e->checked_ms = now;
  map_insert(st, e);
}

/* Look rel up on disk and cache what was found. OUT: *f. */
static int fill(cn__static *st, const char *rel, size_t len, uint64_t h,
                uint64_t now, found *f) {
  for (int attempt = 0; attempt < 3; attempt++) {
    int fd = open_beneath(st, rel);
    if (fd < 0) {
      f->kind = kind_of_errno(-fd);
      if (f->kind < 0)
        return f->kind;
      remember(st, rel, len, h, now, f->kind);
      return 0;
    }
    st->syscalls++;
    if (fstat(fd, &f->sb) != 0) {
      close(fd);
      return CN_EIO;
    }
    if (!S_ISREG(f->sb.st_mode)) {
      close(fd);
      f->kind = S_ISDIR(f->sb.st_mode) ? KIND_ABSENT : KIND_FORBIDDEN;
      remember(st, rel, len, h, now, f->kind);
      return 0;
    }
    if ((uint64_t)f->sb.st_size > st->o.max_cached_file) {
      f->kind = KIND_BIG;
      f->fd = fd;
      return 0;
    }
    int rc = entry_load(st, rel, len, h, fd, &f->sb, &f->e);
    if (rc == CN_ENOMEM) { /* no room to cache: still serve it, from disk */
      f->kind = KIND_BIG;
      f->fd = fd;
      return 0;
    }
    close(fd);
    if (rc)
      return rc;
    if (f->e) {
      f->e->checked_ms = now;
      f->kind = KIND_FILE;
      map_insert(st, f->e);
      return 0;
    }
  }
  return CN_EIO; /* rewritten three times while we read it */
}

/* 1 when e may still answer at now; an entry whose time is up is checked
 * against the disk. A file's identity (device, inode, size, mtime) is
 * enough: fstatat may follow a symlink out of the root, but an identical
 * identity means the very file already read through a contained open. */
static int still_valid(cn__static *st, cn__static_file *e, uint64_t now) {
  if (now < e->checked_ms || now - e->checked_ms < st->o.revalidate_ms)
    return 1;
  if (e->kind != KIND_FILE)
    return 0; /* cheaper to look again than to prove a negative */
  struct stat sb;
  st->syscalls++;
  if (fstatat(st->root_fd, e->mem, &sb, AT_NO_AUTOMOUNT) != 0 ||
      sb.st_dev != e->dev || sb.st_ino != e->ino ||
      (uint64_t)sb.st_size != e->view.size ||
      sb.st_mtim.tv_sec != e->mtim.tv_sec ||
      sb.st_mtim.tv_nsec != e->mtim.tv_nsec)
    return 0;
  e->checked_ms = now;
  return 1;
}

/* ------------------------------------------------------------ answers */

static const char allow_hdr[] = "Allow: GET, HEAD\r\n";

static int serve_cached(cn__static_file *e, const cn__static_req *rq,
                        int head, cn__arena *arena, cn__static_reply *out) {
  int rc = cn__static_decide(&e->view, rq, head, arena, out);
  if (rc)
    return rc;
  if (out->status == 416)
    return 0; /* arena headers, no body: nothing to hold */
  if (!head && out->body_len)
    out->body = e->data + out->offset;
  out->offset = 0;
  e->refs++;
  out->hold = e;
  return 0;
}

/* A file too large to cache: validators and headers per request, the body
 * through the fd. Takes ownership of f->fd. */
static int serve_big(found *f, const char *rel, size_t len,
                     const cn__static_req *rq, int head, cn__arena *arena,
                     cn__static_reply *out) {
  char hdr[CN__STATIC_HDR_MAX];
  cn__static_view v;
  cn__static_format(hdr, cn__static_content_type(rel, len),
                    (int64_t)f->sb.st_mtim.tv_sec, (uint64_t)f->sb.st_size,
                    &v);
  int rc = cn__static_decide(&v, rq, head, arena, out);
  if (rc == 0 && out->headers.ptr == hdr) { /* 200 or 304: still on stack */
    char *h = cn__arena_memdup(arena, hdr, out->headers.len);
    out->headers.ptr = h;
    rc = h ? 0 : CN_ENOMEM;
  }
  if (rc == 0 && !head && out->body_len &&
      (out->status == 200 || out->status == 206)) {
    out->fd = f->fd;
    return 0;
  }
  close(f->fd);
  out->offset = 0;
  return rc;
}

static int is_method(cn_str m, const char *lit, size_t n) {
  return m.ptr && m.len == n && memcmp(m.ptr, lit, n) == 0;
}

int cn__static_lookup(cn__static *st, const cn__static_req *rq,
                      cn__arena *arena, cn__static_reply *out) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  int get = is_method(rq->method, "GET", 3);
  int head = is_method(rq->method, "HEAD", 4);
  char rel[PATH_MAX];
  size_t len;
  int rc = cn__static_path_decode(rq->path, rel, sizeof rel, &len);
  if (rc) {
    /* Other methods never see a file, so a bad path is for routing to
     * judge; too long a name cannot exist here. */
    if ((get || head) && rc != CN_ETOOBIG)
      out->status = rc == CN_EPARSE ? 400 : 404;
    return 0;
  }
  if (len == 0 || rel[len - 1] == '/')
    return 0; /* a directory by its shape: never listed */
  uint64_t h = hash_name(st->seed, rel, len);
  found f; /* no initialiser: a struct stat is not worth zeroing per hit */
  f.e = NULL;
  f.fd = -1;
  cn__static_file *e = map_find(st, h, rel, len);
  if (e && !still_valid(st, e, rq->now_ms)) {
    map_remove(st, e);
    e = NULL;
  }
  if (e) {
    st->hits++;
    lru *l = list_of(st, e);
    if (l->head != e) {
      lru_unlink(l, e);
      lru_push(l, e);
    }
    f.kind = e->kind;
    f.e = e;
  } else {
    st->misses++;
    rc = fill(st, rel, len, h, rq->now_ms, &f);
    if (rc)
      return rc;
  }
  if (f.kind == KIND_ABSENT || (f.kind == KIND_FORBIDDEN && !get && !head))
    return 0;
  if (f.kind == KIND_FORBIDDEN) {
    out->status = 404;
    return 0;
  }
  if (!get && !head) {
    if (f.kind == KIND_BIG)
      close(f.fd);
    out->status = 405;
    out->headers = CN_STR(allow_hdr);
    return 0;
  }
  rc = f.kind == KIND_FILE ? serve_cached(f.e, rq, head, arena, out)
                            : serve_big(&f, rel, len, rq, head, arena, out);
  if (rc) { /* the contract: an error leaves nothing to clean up */
    memset(out, 0, sizeof *out);
    out->fd = -1;
  }
  return rc;
}
