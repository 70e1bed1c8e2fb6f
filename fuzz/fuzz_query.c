/*
 * fuzz_query: arbitrary bytes as a query string through cn__query_parse,
 * checked against a naive reference decoder written here (split on '&',
 * skip empty pieces, split at the first '=', decode byte by byte): the
 * same pairs or the same refusal. Then the lookups: get() is the first
 * value of its key, all() returns every one in order.
 * Seeds: fuzz/corpus/query/.
 */
#include <stdlib.h>

#include "parsers/parsers.h"

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decode s[0..n) into out; -1 on a bad escape. */
static long ref_decode(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+') {
      out[o++] = ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= n)
        return -1;
      int h = hexval((unsigned char)s[i + 1]);
      int l = hexval((unsigned char)s[i + 2]);
      if (h < 0 || l < 0)
        return -1;
      out[o++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  return (long)o;
}

static void check_lookups(const cn__pairs *p, cn__arena *a) {
  for (size_t i = 0; i < p->len; i++) {
    cn_str k = p->items[i].key;
    if (k.ptr[k.len] || p->items[i].value.ptr[p->items[i].value.len])
      abort(); /* NUL-terminated */
    size_t first = i, count = 0;
    for (size_t j = 0; j < p->len; j++)
      if (p->items[j].key.len == k.len &&
          memcmp(p->items[j].key.ptr, k.ptr, k.len) == 0) {
        if (!count)
          first = j;
        count++;
      }
    cn_str v = cn__pairs_get(p, k);
    if (v.ptr != p->items[first].value.ptr)
      abort();
    const cn_str *all;
    size_t n;
    if (cn__pairs_all(p, a, k, &all, &n) || n != count ||
        all[0].ptr != p->items[first].value.ptr)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  size_t max = size ? (size_t)(data[0] % 8) + 1 : 1;
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  cn__perr err;
  int rc = cn__query_parse(&a, cn__str(s, size), max, &p, &err);
  /* The reference. */
  char *buf = malloc(size + 1);
  size_t pieces = 0, pos = 0, got = 0;
  int ref_rc = 0;
  while (pos < size) {
    const char *amp = memchr(s + pos, '&', size - pos);
    size_t n = amp ? (size_t)(amp - (s + pos)) : size - pos;
    if (n)
      pieces++;
    pos += n + 1;
  }
  if (pieces > max)
    ref_rc = CN_ETOOBIG;
  for (pos = 0; !ref_rc && pos < size;) {
    const char *amp = memchr(s + pos, '&', size - pos);
    size_t n = amp ? (size_t)(amp - (s + pos)) : size - pos;
    const char *piece = s + pos;
    pos += n + 1;
    if (!n)
      continue;
    const char *eq = memchr(piece, '=', n);
    size_t kl = eq ? (size_t)(eq - piece) : n;
    long dk = ref_decode(piece, kl, buf);
    if (dk < 0) {
      ref_rc = CN_EPARSE;
      break;
    }
    if (!rc && (p.items[got].key.len != (size_t)dk ||
                memcmp(p.items[got].key.ptr, buf, (size_t)dk)))
      abort();
    long dv = eq ? ref_decode(eq + 1, n - kl - 1, buf) : 0;
    if (dv < 0) {
      ref_rc = CN_EPARSE;
      break;
    }
    if (!rc && (p.items[got].value.len != (size_t)dv ||
                memcmp(p.items[got].value.ptr, buf, (size_t)dv)))
      abort();
    got++;
  }
  if (rc != ref_rc || (!rc && got != p.len) || (rc && p.len) ||
      (rc && !err.msg[0]) || (!rc && err.msg[0]))
    abort();
  for (const char *m = err.msg; *m; m++)
    if ((unsigned char)*m < 0x20 || (unsigned char)*m > 0x7e)
      abort();
  if (!rc)
    check_lookups(&p, &a);
  free(buf);
  cn__arena_destroy(&a);
  return 0;
}
