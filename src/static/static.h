/*
 * static.h: the public/ folder, served at its exact paths.
 *
 * The server calls cn__static_lookup for a request no route answered; this
 * module decides the whole answer (status, header lines, which bytes) and the
 * server only does the socket I/O: one writev for an in-memory body, sendfile
 * for an fd. Nothing here touches a socket, a libuv handle or a thread.
 *
 * One cn__static per I/O loop, never shared, so nothing is locked:
 *
 *   path ──decode──► relative name ──hash──► entry ──► reply
 *                         │                    │ (miss or stale)
 *                         │                    └──► openat2(root, RESOLVE_BENEATH)
 *                         └── 400 / 404 for hostile or dot paths
 *
 * The cache maps a decoded relative name to one of three kinds of entry:
 *   - a file of at most max_cached_file bytes: its content and its response
 *     headers, formatted once when the entry is filled, so a hit copies
 *     nothing and makes no system call;
 *   - "nothing servable here" (missing, a directory): remembered so that a
 *     request for an unknown path costs no system call either;
 *   - "forbidden" (a symlink leaving the root, a fifo, unreadable): 404.
 * Every entry is re-checked at most once per revalidate_ms (one fstatat for
 * a file, comparing device, inode, size and mtime; a fresh lookup for the
 * others). Files larger than max_cached_file are never held: each request
 * opens them, the fd goes to the server for sendfile.
 *
 * Ownership. The instance owns the map's reference to every entry. A reply
 * whose body or headers point into an entry carries hold, one more reference,
 * which the server drops with cn__static_release once the bytes are written;
 * so an entry replaced or evicted (or the whole instance freed) while a write
 * is in flight stays valid until then. Reference counts are not atomic: all
 * calls for one instance, including the releases, happen on its loop.
 *
 * Containment. A request path is percent-decoded and checked before it gets
 * near the file system (cn__static_path_decode). The file is then opened
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to the root
 * directory's fd, so no `..`, absolute symlink or symlink leading outside can
 * be followed; relative symlinks that stay inside the root are followed, as
 * nginx and Next.js do. Kernels without openat2 (before 5.6) use openat and
 * then check the opened file's own path (/proc/self/fd) against the root.
 * Files are opened O_NONBLOCK, so a fifo never blocks, and only regular
 * files are served.
 */
#ifndef CN_STATIC_H
#define CN_STATIC_H

#include "common/common.h"

typedef struct cn__static cn__static;           /* one per I/O loop */
typedef struct cn__static_file cn__static_file; /* a cached entry, refcounted */

typedef struct cn__static_options {
  size_t max_cached_file;  /* files up to this size are kept in memory (64 KiB
                              when 0); clamped to max_cache_bytes */
  size_t max_cache_bytes;  /* bytes of cached files per instance, content,
                              headers and bookkeeping (16 MiB when 0); least
                              recently used entries go first */
  uint64_t revalidate_ms;  /* re-check an entry at most this often (1000 when
                              0) */
  size_t max_negative;     /* "nothing here" entries kept, on their own LRU so
                              a flood of unknown paths never evicts files
                              (4096 when 0) */
  int resolve_fallback;    /* tests: use the openat + /proc/self/fd check even
                              where openat2 exists */
} cn__static_options;

/* Called by the server once per loop at start-up. root_dir must exist and be
 * a directory; it is resolved with realpath and opened once, so renaming it
 * later does not move what is served. opts may be NULL (defaults).
 * OUT: *out, freed with cn__static_free. Returns CN_ENOENT (no such path),
 * CN_EINVAL (not a directory, NULL), CN_ENOMEM or CN_EIO; *out is then NULL. */
int cn__static_new(cn__static **out, const char *root_dir,
                   const cn__static_options *opts);

/* Called by the server when its loop stops. Drops the instance's references:
 * entries still held by in-flight replies live until released. NULL is a
 * no-op. */
void cn__static_free(cn__static *st);

typedef struct cn__static_req {
  cn_str method;     /* as sent, upper case */
  cn_str path;       /* raw request path, still percent-encoded, no query */
  cn_str if_none_match, if_modified_since, range, if_range; /* ptr NULL when
                                                              absent */
  uint64_t now_ms;   /* monotonic ms, injected (tests drive revalidation) */
} cn__static_req;

typedef struct cn__static_reply {
  /* 0: no static file at this path, the caller goes on (404 or routes).
   * 200, 206, 304; 400 (malformed path); 404 (a well-formed path that is
   * never served: dot segments, traversal, a symlink leaving the root, a
   * fifo); 405 (a file, asked with a method other than GET/HEAD); 416.
   * For 400/404 the server writes its own error body; 405 and 416 come with
   * headers and body_len 0. */
  int status;
  /* Complete header lines "Name: value\r\n": Content-Type, ETag,
   * Last-Modified, Accept-Ranges, Cache-Control, and Content-Range or Allow
   * when they apply. Never Content-Length, Date or Connection. Points into a
   * cached entry (then hold is set) or into the arena. */
  cn_str headers;
  uint64_t body_len;   /* the Content-Length to send, also for HEAD; 0 for 304 */
  const char *body;    /* in-memory body, already sliced to the range, or NULL
                          (always NULL for HEAD) */
  int fd;              /* -1, or an fd the caller sends [offset,
                          offset+body_len) from and then closes */
  uint64_t offset;
  /* Non-NULL when headers or body point into a cached entry: the caller
   * calls cn__static_release(hold) once the write has completed. */
  cn__static_file *hold;
} cn__static_reply;

/* Called by the server on its loop for a request no route took. Decides the
 * answer and fills *out (OUT: always initialised, status 0 and fd -1 before
 * anything else). Per-request header text comes from arena. A directory is
 * status 0 (never listed); a path ending in '/' is status 0 too, so routing
 * can redirect it. Returns 0 (see out->status), CN_ENOMEM, or CN_EIO for an
 * unexpected I/O error (too many open files, a read error); on error nothing
 * is held and no fd is open. */
int cn__static_lookup(cn__static *st, const cn__static_req *rq,
                      cn__arena *arena, cn__static_reply *out);

/* Called by the server once the bytes of a reply with hold are written (or
 * the connection died). Frees the entry when it was the last reference. An
 * unbalanced release aborts: a refcount underflow is a bug, not a state. */
void cn__static_release(cn__static_file *f);

/* Percent-decode a raw request path into a relative file name (no leading
 * '/'), NUL-terminated in out. Used by cn__static_lookup, tests and the fuzz
 * harness. Rejected with CN_EPARSE (-> 400): a path not starting with '/',
 * invalid escapes, NUL or other control bytes raw or encoded, '\\' raw or
 * encoded, an encoded '/', invalid UTF-8 (over-long forms such as %c0%ae,
 * surrogates, beyond U+10FFFF), empty segments ("//"). CN_ENOENT (-> 404)
 * for well-formed names that are never served: a segment starting with '.'
 * ("..", ".", ".env") other than ".well-known". CN_EPARSE wins when both
 * apply. A single trailing '/' is kept ("/a/" -> "a/"); "/" gives "".
 * CN_ETOOBIG when the result does not fit outcap (with its NUL).
 * OUT: *outlen, the length without the NUL (only set on success). */
int cn__static_path_decode(cn_str raw, char *out, size_t outcap,
                           size_t *outlen);

/* Counters for tests and the benchmark: they show that a hit did no I/O. */
typedef struct cn__static_stats {
  size_t files, file_bytes;  /* cached files and the bytes they account for */
  size_t negative;           /* "nothing here" / "forbidden" entries */
  uint64_t hits, misses;     /* lookups answered from / not from the cache */
  uint64_t syscalls;         /* opens, stats and reads made so far */
} cn__static_stats;

/* OUT: *out, a snapshot of the instance's counters. */
void cn__static_get_stats(const cn__static *st, cn__static_stats *out);

#endif /* CN_STATIC_H */
