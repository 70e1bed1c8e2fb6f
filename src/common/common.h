/*
 * common.h: the building blocks every other module uses and that know
 * nothing about HTTP: errors, slices, growable buffers, arenas, clocks.
 *
 * Internal: everything here is cn__ and hidden from the library's users.
 */
#ifndef CN_COMMON_H
#define CN_COMMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn.h"

#define CN__HIDDEN __attribute__((visibility("hidden")))
#define CN__UNUSED(x) ((void)(x))
#define CN__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CN__MIN(a, b) ((a) < (b) ? (a) : (b))
#define CN__MAX(a, b) ((a) > (b) ? (a) : (b))

/* The allocator every module goes through, so tests can make it fail
 * (cn__alloc_fail_after). NULL on failure; callers report CN_ENOMEM. */
void *cn__malloc(size_t size);
void *cn__calloc(size_t n, size_t size);
void *cn__realloc(void *ptr, size_t size);
void cn__free(void *ptr);
char *cn__strdup(const char *s);
/* Test hook: after n more successful allocations, fail them all; -1 never. */
void cn__alloc_fail_after(long n);

/* --- growable buffer ---------------------------------------------------- */

/* A heap buffer owned by whoever embeds it; cn__buf_free releases it.
 * ptr is NULL until the first reserve. */
typedef struct cn__buf {
  char *ptr;
  size_t len;
  size_t cap;
} cn__buf;

/* Ensure room for extra more bytes past len. 0 or CN_ENOMEM. */
int cn__buf_reserve(cn__buf *buf, size_t extra);
int cn__buf_append(cn__buf *buf, const void *data, size_t len);
int cn__buf_appendf(cn__buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes, moving the rest to the front. */
void cn__buf_consume(cn__buf *buf, size_t n);
void cn__buf_free(cn__buf *buf);

/* Append the compact JSON text of j to b: byte for byte what
 * json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) gives, plus
 * JSON_ESCAPE_SLASH with CN__JSON_ESCAPE_SLASH. 0, CN_ENOMEM, or
 * CN_EINVAL (a NaN, nesting past 2048 levels, a value inside itself);
 * on failure b is as it was. */
#define CN__JSON_ESCAPE_SLASH 1
int cn__json_write(cn__buf *b, const json_t *j, int flags);

/* Give jansson the allocator that keeps small blocks per thread
 * (jalloc.c). Call before the process's first jansson allocation. */
void cn__jansson_alloc_init(void);

/* Make room for one more element in a heap array: when n == *cap, the array
 * *arrayp points to is reallocated to twice the capacity (16 at first).
 * 0 or CN_ENOMEM (the array is then unchanged). */
int cn__array_grow(void *arrayp, size_t *cap, size_t n, size_t elem);

/* --- arena ------------------------------------------------------------- */

/* Bump allocation for things that die together (a request). The first block
 * may be caller storage (inline_mem, e.g. inside the request struct) so the
 * common case never calls malloc; later blocks are malloc'd and released by
 * reset/destroy. Not thread-safe: one request is touched by one thread at a
 * time. Allocation failure returns NULL. */
typedef struct cn__arena_block cn__arena_block;
typedef struct cn__arena {
  char *cur;
  char *end;
  cn__arena_block *blocks; /* malloc'd blocks, newest first */
  char *inline_mem;
  size_t inline_len;
  /* NULL, except while several threads may allocate from the arena at once
   * (a page's loaders running in parallel): then every allocation takes
   * this mutex. The one who sets it clears it before the arena is used by
   * one thread again. */
  pthread_mutex_t *lock;
} cn__arena;

void cn__arena_init(cn__arena *a, void *inline_mem, size_t inline_len);
void *cn__arena_alloc(cn__arena *a, size_t size);      /* 16-byte aligned */
/* The same, for a caller that already holds a->lock (or knows it unset). */
void *cn__arena_alloc_held(cn__arena *a, size_t size);
void *cn__arena_memdup(cn__arena *a, const void *p, size_t len); /* +NUL */
char *cn__arena_vprintf(cn__arena *a, const char *fmt, va_list ap);
char *cn__arena_printf(cn__arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 when p points into memory this arena handed out. */
int cn__arena_owns(const cn__arena *a, const void *p);
/* Free the malloc'd blocks and start over in the inline block. */
void cn__arena_reset(cn__arena *a);
#define cn__arena_destroy cn__arena_reset

/* --- small string helpers ---------------------------------------------- */

static inline cn_str cn__str(const char *p, size_t n) {
  cn_str s = {p, n};
  return s;
}
static inline cn_str cn__cstr(const char *p) {
  cn_str s = {p, p ? strlen(p) : 0};
  return s;
}
static inline char cn__lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}
int cn__str_ieq2(cn_str a, cn_str b);
cn_str cn__str_trim(cn_str s); /* strips SP and HTAB at both ends */

/* Parse a size such as "1mb", "500kb", "1024", "16 KiB" (bytes, case-
 * insensitive; k/m/g are powers of 1024, as the `bytes` npm package reads
 * them). 0 or CN_EINVAL. */
int cn__parse_size(const char *s, size_t *out);

/* base64url without padding (RFC 4648 §5), as JWTs and sealed action
 * arguments use it. Encode appends to out (no NUL). Decode appends the
 * bytes and a NUL not counted in out->len; it is strict, because two
 * spellings of one token are a way around a check: padding, characters
 * outside the alphabet, a length of 1 mod 4 and non-zero trailing bits
 * are CN_EPARSE. CN_ENOMEM. */
int cn__b64url_encode(const void *p, size_t n, cn__buf *out);
int cn__b64url_decode(cn_str s, cn__buf *out);

/* --- hashing ----------------------------------------------------------- */

/* FNV-1a, 64 bits: cheap, good enough for hash tables, ETags and
 * checksums against torn or foreign bytes (not against anyone who could
 * write a matching sum). Chain calls from CN__FNV_OFFSET. */
#define CN__FNV_OFFSET 0xcbf29ce484222325ULL
static inline uint64_t cn__fnv64(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

/* --- tasks ------------------------------------------------------------- */

/* Work for a task thread: fn(arg) runs once on some thread of a process-wide
 * pool (threads start on demand, up to 256, and then wait for work); the
 * caller owns the task and must keep it alive until fn has returned. For
 * work that may block (page loaders running in parallel); cheap work is
 * better done in place. */
typedef struct cn__task {
  void (*fn)(void *arg);
  void *arg;
  struct cn__task *next;
} cn__task;

/* Queue t. 0, or CN_ESYS when no thread exists and none can be started
 * (the caller then runs fn itself). */
int cn__task_run(cn__task *t);

/* --- time -------------------------------------------------------------- */

/* Milliseconds, and microseconds, on a monotonic clock. */
uint64_t cn__now_ms(void);
uint64_t cn__now_us(void);
/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out[30]. */
void cn__http_date(int64_t epoch_seconds, char out[30]);
/* Parse an IMF-fixdate; 0 or CN_EINVAL. */
int cn__parse_http_date(cn_str s, int64_t *out);

#endif /* CN_COMMON_H */
