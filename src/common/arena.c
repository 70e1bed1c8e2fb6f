/* Bump allocation scoped to one request: freed in one place, at its end. */
#include <stdarg.h>
#include <stdio.h>

#include "common.h"

struct cn__arena_block {
  cn__arena_block *next;
  char *end;
  _Alignas(16) char data[];
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)
#define BLOCK_MIN 4096

void cn__arena_init(cn__arena *a, void *inline_mem, size_t inline_len) {
  a->inline_mem = inline_mem;
  a->inline_len = inline_len;
  a->blocks = NULL;
  a->lock = NULL;
  a->cur = inline_mem;
  a->end = inline_mem ? (char *)inline_mem + inline_len : NULL;
}

static void *alloc(cn__arena *a, size_t size);

void *cn__arena_alloc_held(cn__arena *a, size_t size) {
  return alloc(a, size);
}

void *cn__arena_alloc(cn__arena *a, size_t size) {
  if (!a->lock)
    return alloc(a, size);
  pthread_mutex_lock(a->lock);
  void *p = alloc(a, size);
  pthread_mutex_unlock(a->lock);
  return p;
}

static void *alloc(cn__arena *a, size_t size) {
  size = ALIGN16(size ? size : 1);
  uintptr_t cur = ((uintptr_t)a->cur + 15) & ~(uintptr_t)15;
  if (a->cur && cur + size <= (uintptr_t)a->end && cur + size > cur) {
    a->cur = (char *)(cur + size);
    return (void *)cur;
  }
  if (size > SIZE_MAX / 2)
    return NULL;
  size_t cap = size > BLOCK_MIN ? size : BLOCK_MIN;
  /* Grow with the arena so a large request needs few mallocs. */
  if (a->blocks) {
    size_t last = (size_t)(a->blocks->end - a->blocks->data);
    if (last * 2 > cap && last < (1u << 20))
      cap = last * 2;
  }
  cn__arena_block *b = cn__malloc(sizeof(*b) + cap);
  if (!b)
    return NULL;
  b->next = a->blocks;
  b->end = b->data + cap;
  a->blocks = b;
  a->cur = b->data + size;
  a->end = b->end;
  return b->data;
}

void *cn__arena_memdup(cn__arena *a, const void *p, size_t len) {
  char *d = cn__arena_alloc(a, len + 1);
  if (!d)
    return NULL;
  if (len)
    memcpy(d, p, len);
  d[len] = '\0';
  return d;
}

char *cn__arena_vprintf(cn__arena *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return NULL;
  char *d = cn__arena_alloc(a, (size_t)n + 1);
  if (d)
    vsnprintf(d, (size_t)n + 1, fmt, ap);
  return d;
}

char *cn__arena_printf(cn__arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *d = cn__arena_vprintf(a, fmt, ap);
  va_end(ap);
  return d;
}

int cn__arena_owns(const cn__arena *a, const void *p) {
  const char *c = p;
  if (a->inline_mem && c >= a->inline_mem &&
      c < a->inline_mem + a->inline_len)
    return 1;
  for (cn__arena_block *b = a->blocks; b; b = b->next)
    if (c >= b->data && c < b->end)
      return 1;
  return 0;
}

void cn__arena_reset(cn__arena *a) {
  cn__arena_block *b = a->blocks;
  while (b) {
    cn__arena_block *next = b->next;
    cn__free(b);
    b = next;
  }
  cn__arena_init(a, a->inline_mem, a->inline_len);
}
