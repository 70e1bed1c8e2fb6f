/*
 * Percent-decoding and key=value lists: the query string and urlencoded
 * bodies (one grammar, one implementation), and lookups over the result.
 *
 * A parse makes two arena allocations whatever the input: the pair array,
 * sized by a first pass that counts non-empty pairs (so the limit is
 * checked before anything is allocated), and one block that receives every
 * decoded key and value. Decoding never lengthens a string, so the block is
 * the input's length plus a NUL per string.
 */
#include <stdio.h>

#include "parsers/parsers_int.h"

void cn__parsers_errf(cn__perr *err, const char *fmt, ...) {
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

const char *cn__parsers_show(cn_str s, char *out, size_t max) {
  size_t n = s.len < max ? s.len : max;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  out[n] = '\0';
  return out;
}

/* Decode src[0..n) into dst (room for n bytes). Returns the decoded length,
 * or (size_t)-1 with the offset of the bad '%' in *bad. */
static size_t decode_into(const char *src, size_t n, int plus, char *dst,
                          size_t *bad) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = src[i];
    if (c == '%') {
      int hi = i + 1 < n ? cn__parsers_hex((unsigned char)src[i + 1]) : -1;
      int lo = i + 2 < n ? cn__parsers_hex((unsigned char)src[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *bad = i;
        return (size_t)-1;
      }
      dst[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus) {
      dst[o++] = ' ';
    } else {
      dst[o++] = c;
    }
  }
  return o;
}

int cn__pct_decode(cn__arena *a, cn_str in, int plus_is_space, cn_str *out,
                   size_t *bad_at) {
  *out = CN_STR_NULL;
  char *d = cn__arena_alloc(a, in.len + 1);
  if (!d)
    return CN_ENOMEM;
  size_t bad = 0;
  size_t n = decode_into(in.ptr, in.len, plus_is_space, d, &bad);
  if (n == (size_t)-1) {
    if (bad_at)
      *bad_at = bad;
    return CN_EPARSE;
  }
  d[n] = '\0';
  *out = cn__str(d, n);
  return 0;
}

/* The next '&'-separated piece of s starting at *pos; 0 at the end. */
static int next_piece(cn_str s, size_t *pos, cn_str *piece) {
  if (*pos >= s.len)
    return 0;
  const char *start = s.ptr + *pos;
  const char *amp = memchr(start, '&', s.len - *pos);
  size_t n = amp ? (size_t)(amp - start) : s.len - *pos;
  *piece = cn__str(start, n);
  *pos += n + 1;
  return 1;
}

static int decode_piece(cn_str piece, size_t base, char **store, cn_str *out,
                        size_t *bad) {
  size_t n = decode_into(piece.ptr, piece.len, 1, *store, bad);
  if (n == (size_t)-1) {
    *bad += base;
    return CN_EPARSE;
  }
  (*store)[n] = '\0';
  *out = cn__str(*store, n);
  *store += n + 1;
  return 0;
}

static int pairs_parse(cn__arena *a, cn_str s, size_t max, cn__pairs *out,
                       cn__perr *err, const char *what) {
  out->items = NULL;
  out->len = 0;
  cn__parsers_errclear(err);
  if (!max)
    max = CN__PAIRS_MAX_DEFAULT;
  if (!s.ptr || !s.len)
    return 0;
  size_t count = 0, pos = 0;
  cn_str piece;
  while (next_piece(s, &pos, &piece))
    if (piece.len && ++count > max) {
      cn__parsers_errf(err, "the %s has more than %zu parameters", what, max);
      return CN_ETOOBIG;
    }
  if (!count)
    return 0;
  cn__pair *items = cn__arena_alloc(a, count * sizeof *items);
  char *store = cn__arena_alloc(a, s.len + 2 * count);
  if (!items || !store) {
    cn__parsers_errf(err, "out of memory");
    return CN_ENOMEM;
  }
  size_t i = 0;
  pos = 0;
  while (next_piece(s, &pos, &piece)) {
    if (!piece.len)
      continue;
    size_t base = (size_t)(piece.ptr - s.ptr), bad = 0;
    const char *eq = memchr(piece.ptr, '=', piece.len);
    size_t klen = eq ? (size_t)(eq - piece.ptr) : piece.len;
    cn_str k = cn__str(piece.ptr, klen);
    cn_str v = eq ? cn__str(eq + 1, piece.len - klen - 1) : cn__str("", 0);
    if (decode_piece(k, base, &store, &items[i].key, &bad) ||
        decode_piece(v, base + klen + 1, &store, &items[i].value, &bad)) {
      char shown[4];
      cn_str esc = cn__str(s.ptr + bad, CN__MIN(3, s.len - bad));
      cn__parsers_errf(err,
                       "invalid percent-encoding \"%s\" at byte %zu of the %s",
                       cn__parsers_show(esc, shown, 3), bad, what);
      return CN_EPARSE;
    }
    i++;
  }
  out->items = items;
  out->len = count;
  return 0;
}

int cn__query_parse(cn__arena *a, cn_str query, size_t max_pairs,
                    cn__pairs *out, cn__perr *err) {
  return pairs_parse(a, query, max_pairs, out, err, "query string");
}

int cn__form_parse(cn__arena *a, cn_str body, size_t max_pairs,
                   cn__pairs *out, cn__perr *err) {
  return pairs_parse(a, body, max_pairs, out, err, "form body");
}

static int key_eq(cn_str a, cn_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

cn_str cn__pairs_get(const cn__pairs *p, cn_str key) {
  for (size_t i = 0; i < p->len; i++)
    if (key_eq(p->items[i].key, key))
      return p->items[i].value;
  return CN_STR_NULL;
}

int cn__pairs_all(const cn__pairs *p, cn__arena *a, cn_str key,
                  const cn_str **values, size_t *n) {
  *values = NULL;
  *n = 0;
  size_t count = 0;
  for (size_t i = 0; i < p->len; i++)
    count += key_eq(p->items[i].key, key);
  if (!count)
    return 0;
  cn_str *v = cn__arena_alloc(a, count * sizeof *v);
  if (!v)
    return CN_ENOMEM;
  size_t j = 0;
  for (size_t i = 0; i < p->len; i++)
    if (key_eq(p->items[i].key, key))
      v[j++] = p->items[i].value;
  *values = v;
  *n = count;
  return 0;
}
