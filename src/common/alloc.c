/* The one allocator, with a fault-injection hook for tests. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static _Atomic long fail_after = -1;

void cn__alloc_fail_after(long n) { atomic_store(&fail_after, n); }

static int should_fail(void) {
  long n = atomic_load(&fail_after);
  while (n >= 0) {
    if (n == 0)
      return 1;
    if (atomic_compare_exchange_weak(&fail_after, &n, n - 1))
      return 0;
  }
  return 0;
}

void *cn__malloc(size_t size) { return should_fail() ? NULL : malloc(size); }

void *cn__calloc(size_t n, size_t size) {
  return should_fail() ? NULL : calloc(n, size);
}

void *cn__realloc(void *ptr, size_t size) {
  return should_fail() ? NULL : realloc(ptr, size);
}

void cn__free(void *ptr) { free(ptr); }

char *cn__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = cn__malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}
