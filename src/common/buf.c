/* Growable byte buffers. */
#include <stdarg.h>
#include <stdio.h>

#include "common.h"

int cn__buf_reserve(cn__buf *buf, size_t extra) {
  if (buf->cap - buf->len >= extra && buf->ptr)
    return 0;
  if (extra > SIZE_MAX / 2 - buf->len)
    return CN_ENOMEM;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap < buf->len + extra)
    cap *= 2;
  char *p = cn__realloc(buf->ptr, cap);
  if (!p)
    return CN_ENOMEM;
  buf->ptr = p;
  buf->cap = cap;
  return 0;
}

int cn__buf_append(cn__buf *buf, const void *data, size_t len) {
  int rc = cn__buf_reserve(buf, len);
  if (rc)
    return rc;
  if (len)
    memcpy(buf->ptr + buf->len, data, len);
  buf->len += len;
  return 0;
}

int cn__buf_appendf(cn__buf *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return CN_EINVAL;
  int rc = cn__buf_reserve(buf, (size_t)n + 1);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf(buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf->len += (size_t)n;
  return 0;
}

void cn__buf_consume(cn__buf *buf, size_t n) {
  if (n >= buf->len) {
    buf->len = 0;
    return;
  }
  memmove(buf->ptr, buf->ptr + n, buf->len - n);
  buf->len -= n;
}

void cn__buf_free(cn__buf *buf) {
  cn__free(buf->ptr);
  buf->ptr = NULL;
  buf->len = buf->cap = 0;
}

int cn__array_grow(void *arrayp, size_t *cap, size_t n, size_t elem) {
  if (n < *cap)
    return 0;
  size_t want = *cap ? *cap * 2 : 16;
  if (want > SIZE_MAX / elem)
    return CN_ENOMEM;
  void **slot = arrayp;
  void *grown = cn__realloc(*slot, want * elem);
  if (!grown)
    return CN_ENOMEM;
  *slot = grown;
  *cap = want;
  return 0;
}
