/*
 * fuzz_cookie: arbitrary bytes as Cookie headers (split at '\n' into up to
 * eight headers) through cn__cookie_parse, checked against a naive
 * reference written here: every well-formed pair in order, first name
 * wins, quotes stripped. Names must be tokens, values free of control
 * bytes and quotes, and every value must survive cn__cookie_decode or be
 * refused with CN_EPARSE. The first byte picks the cookie limit.
 * Seeds: fuzz/corpus/cookie/.
 */
#include <stdlib.h>

#include "parsers/parsers.h"

static int tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static cn_str trim(const char *p, size_t n) {
  while (n && (*p == ' ' || *p == '\t'))
    p++, n--;
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  return cn__str(p, n);
}

/* The reference: fills names/values, returns the count, or -1 when more
 * distinct names than max. */
static long reference(const cn_str *h, size_t nh, size_t max, cn_str *names,
                      cn_str *values) {
  long n = 0;
  for (size_t k = 0; k < nh; k++) {
    size_t pos = 0;
    while (pos < h[k].len) {
      const char *p = h[k].ptr + pos;
      const char *semi = memchr(p, ';', h[k].len - pos);
      size_t len = semi ? (size_t)(semi - p) : h[k].len - pos;
      pos += len + 1;
      const char *eq = memchr(p, '=', len);
      if (!eq)
        continue;
      cn_str name = trim(p, (size_t)(eq - p));
      cn_str val = trim(eq + 1, len - (size_t)(eq - p) - 1);
      int ok = name.len > 0;
      for (size_t i = 0; ok && i < name.len; i++)
        ok = tchar((unsigned char)name.ptr[i]);
      if (val.len >= 2 && val.ptr[0] == '"' && val.ptr[val.len - 1] == '"')
        val = cn__str(val.ptr + 1, val.len - 2);
      for (size_t i = 0; ok && i < val.len; i++) {
        unsigned char c = (unsigned char)val.ptr[i];
        ok = c >= 0x20 && c != 0x7f && c != '"';
      }
      if (!ok)
        continue;
      int dup = 0;
      for (long j = 0; j < n && !dup; j++)
        dup = names[j].len == name.len &&
              memcmp(names[j].ptr, name.ptr, name.len) == 0;
      if (dup)
        continue;
      if ((size_t)n == max)
        return -1;
      names[n] = name;
      values[n++] = val;
    }
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t max = 0;
  if (size) {
    max = data[0] < 200 ? (size_t)data[0] % 12 + 1 : 0;
    data++;
    size--;
  }
  cn_str h[8];
  size_t nh = 0, pos = 0;
  const char *s = (const char *)data;
  while (nh < 8 && (pos < size || nh == 0)) {
    const char *nl = nh < 7 ? memchr(s + pos, '\n', size - pos) : NULL;
    size_t len = nl ? (size_t)(nl - (s + pos)) : size - pos;
    h[nh++] = cn__str(s + pos, len);
    pos += len + 1;
  }
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  cn__perr err;
  int rc = cn__cookie_parse(&a, h, nh, max, &p, &err);
  cn_str *names = malloc((size + 1) * sizeof *names);
  cn_str *values = malloc((size + 1) * sizeof *values);
  long n = reference(h, nh, max ? max : CN__COOKIES_MAX_DEFAULT, names, values);
  if (n < 0) {
    if (rc != CN_ETOOBIG || p.len || !strstr(err.msg, "cookies"))
      abort();
  } else {
    if (rc || p.len != (size_t)n)
      abort();
    for (size_t i = 0; i < p.len; i++) {
      cn_str k = p.items[i].key, v = p.items[i].value;
      if (k.ptr[k.len] || v.ptr[v.len] || k.len != names[i].len ||
          memcmp(k.ptr, names[i].ptr, k.len) || v.len != values[i].len ||
          memcmp(v.ptr, values[i].ptr, v.len))
        abort();
      if (cn__pairs_get(&p, k).ptr != v.ptr)
        abort();
      cn_str d;
      int drc = cn__cookie_decode(&a, v, &d);
      if (drc != 0 && drc != CN_EPARSE)
        abort();
      if (!drc && d.len > v.len)
        abort();
    }
  }
  free(names);
  free(values);
  cn__arena_destroy(&a);
  return 0;
}
