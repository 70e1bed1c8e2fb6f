/* jalloc.c: the allocator jansson uses in a server process.
 *
 * A query of 20 rows makes and frees some 400 small jansson blocks per
 * request; glibc keeps only 7 freed blocks of a size per thread (tcache),
 * so most of them went through its slower bins: a sixth of the request's
 * CPU. This keeps up to CAP freed blocks per size class per thread.
 *
 * Blocks stay plain malloc blocks: a cached block is handed out as is, a
 * block from anywhere may be cached (its class is read back with
 * malloc_usable_size), and whatever jansson gives away (json_dumps'
 * text) may still be released with free(). So the two allocators mix
 * safely, in either direction. Under the sanitizers nothing is cached:
 * ASan must see every free. */
#include <malloc.h>
#include <stdlib.h>

#include "common/common.h"

#if defined(__SANITIZE_ADDRESS__)
#define CN__NO_JALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CN__NO_JALLOC 1
#endif
#endif

#ifndef CN__NO_JALLOC

/* glibc's usable sizes for small requests. */
static const size_t class_size[] = {24, 40, 56, 72, 104, 136, 200, 264};
#define NCLASS (sizeof class_size / sizeof class_size[0])
#define CAP 1024

typedef struct cache {
  void *head[NCLASS];
  unsigned n[NCLASS];
  int registered;
} cache;

static _Thread_local cache tc;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A thread's cache goes back to malloc when the thread ends. */
static void drain(void *arg) {
  cache *c = arg;
  for (size_t i = 0; i < NCLASS; i++) {
    while (c->head[i]) {
      void *p = c->head[i];
      c->head[i] = *(void **)p;
      free(p);
    }
    c->n[i] = 0;
  }
}

static void make_key(void) { pthread_key_create(&key, drain); }

static void *jmalloc(size_t n) {
  for (size_t i = 0; i < NCLASS; i++) {
    if (n > class_size[i])
      continue;
    void *p = tc.head[i];
    if (p) {
      tc.head[i] = *(void **)p;
      tc.n[i]--;
      return p;
    }
    return cn__malloc(class_size[i]);
  }
  return cn__malloc(n);
}

static void jfree(void *p) {
  if (!p)
    return;
  size_t u = malloc_usable_size(p);
  size_t i = NCLASS;
  while (i > 0 && class_size[i - 1] > u)
    i--;
  if (i == 0 || u > class_size[NCLASS - 1] + 16 || tc.n[i - 1] >= CAP) {
    free(p);
    return;
  }
  if (!tc.registered) {
    pthread_once(&once, make_key);
    if (pthread_setspecific(key, &tc)) {
      free(p);
      return;
    }
    tc.registered = 1;
  }
  *(void **)p = tc.head[i - 1];
  tc.head[i - 1] = p;
  tc.n[i - 1]++;
}

void cn__jansson_alloc_init(void) { json_set_alloc_funcs(jmalloc, jfree); }

#else

void cn__jansson_alloc_init(void) {}

#endif
