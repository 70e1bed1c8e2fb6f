/* Query strings and form bodies: one decoder for both, as in Next.js. */
#include "form.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode s into the arena ('+' -> ' '). NULL with *bad set on an invalid
 * escape, NULL without it when out of memory. */
static char *decode(cn__arena *a, cn_str s, size_t *len, int *bad) {
  char *out = cn__arena_alloc(a, s.len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < s.len; i++) {
    char c = s.ptr[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      int hi = i + 1 < s.len ? hexval(s.ptr[i + 1]) : -1;
      int lo = i + 2 < s.len ? hexval(s.ptr[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *bad = 1;
        return NULL;
      }
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    out[n++] = c;
  }
  out[n] = '\0';
  *len = n;
  return out;
}

int cn__pairs_add(cn__pairs *p, cn__arena *a, cn_str key, cn_str value) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    cn__pair *items = cn__arena_alloc(a, cap * sizeof(*items));
    if (!items)
      return CN_ENOMEM;
    if (p->n)
      memcpy(items, p->items, p->n * sizeof(*items));
    p->items = items;
    p->cap = cap;
  }
  p->items[p->n].key = key;
  p->items[p->n].value = value;
  p->n++;
  return 0;
}

int cn__urlencoded_parse(cn_str in, cn__arena *a, size_t max_pairs,
                         cn__pairs *out, const char **why) {
  const char *p = in.ptr, *end = in.ptr + in.len;
  *why = NULL;
  while (in.ptr && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if (stop > p) {
      const char *eq = memchr(p, '=', (size_t)(stop - p));
      cn_str k = cn__str(p, (size_t)((eq ? eq : stop) - p));
      cn_str v = eq ? cn__str(eq + 1, (size_t)(stop - eq - 1)) : CN_STR("");
      if (out->n >= max_pairs) {
        *why = "Too many parameters";
        return CN_ETOOBIG;
      }
      int bad = 0;
      size_t kl = 0, vl = 0;
      char *kd = decode(a, k, &kl, &bad);
      char *vd = kd ? decode(a, v, &vl, &bad) : NULL;
      if (!kd || !vd) {
        *why = bad ? "Malformed percent-encoding" : "Out of memory";
        return bad ? CN_EPARSE : CN_ENOMEM;
      }
      if (cn__pairs_add(out, a, cn__str(kd, kl), cn__str(vd, vl)))
        return CN_ENOMEM;
    }
    p = stop + 1;
  }
  return 0;
}

cn_str cn__pairs_find(const cn__pairs *p, cn_str key) {
  for (size_t i = 0; i < p->n; i++)
    if (p->items[i].key.len == key.len &&
        !memcmp(p->items[i].key.ptr, key.ptr, key.len))
      return p->items[i].value;
  return CN_STR_NULL;
}

size_t cn__pairs_list(const cn__pairs *p, cn_str key, cn__arena *a,
                     const cn_str **values) {
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->items[i].key.len == key.len &&
        !memcmp(p->items[i].key.ptr, key.ptr, key.len))
      n++;
  *values = NULL;
  if (!n)
    return 0;
  cn_str *v = cn__arena_alloc(a, n * sizeof(*v));
  if (!v)
    return 0;
  n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->items[i].key.len == key.len &&
        !memcmp(p->items[i].key.ptr, key.ptr, key.len))
      v[n++] = p->items[i].value;
  *values = v;
  return n;
}
