/*
 * The Cookie request header. Two passes over the header values: the first
 * checks each pair and counts the well-formed ones and their bytes (so the
 * limit is known before allocating), the second copies them. A repeated
 * name is dropped with an open-addressing table sized from that count, so
 * a header of thousands of distinct names costs linear time, not n^2.
 */
#include "parsers/parsers_int.h"

typedef struct cookie {
  cn_str name;
  cn_str value;
} cookie;

/* Check one ';'-separated piece; 1 and the trimmed name and value (quotes
 * stripped) when it is a cookie, 0 when it is to be skipped. */
static int cookie_piece(cn_str piece, cookie *c) {
  const char *eq = memchr(piece.ptr, '=', piece.len);
  if (!eq)
    return 0;
  cn_str name = cn__str_trim(cn__str(piece.ptr, (size_t)(eq - piece.ptr)));
  cn_str value = cn__str_trim(
      cn__str(eq + 1, piece.len - (size_t)(eq - piece.ptr) - 1));
  if (!name.len)
    return 0;
  for (size_t i = 0; i < name.len; i++)
    if (!cn__parsers_tchar((unsigned char)name.ptr[i]))
      return 0;
  if (value.len >= 2 && value.ptr[0] == '"' && value.ptr[value.len - 1] == '"')
    value = cn__str(value.ptr + 1, value.len - 2);
  for (size_t i = 0; i < value.len; i++) {
    unsigned char b = (unsigned char)value.ptr[i];
    if (b < 0x20 || b == 0x7f || b == '"')
      return 0;
  }
  c->name = name;
  c->value = value;
  return 1;
}

/* Calls fn for every well-formed pair of every header, in order. */
typedef int (*cookie_fn)(void *ctx, const cookie *c);

static int each_cookie(const cn_str *headers, size_t n, cookie_fn fn,
                       void *ctx) {
  for (size_t h = 0; h < n; h++) {
    cn_str s = headers[h];
    size_t pos = 0;
    while (s.ptr && pos < s.len) {
      const char *semi = memchr(s.ptr + pos, ';', s.len - pos);
      size_t len = semi ? (size_t)(semi - (s.ptr + pos)) : s.len - pos;
      cookie c;
      if (cookie_piece(cn__str(s.ptr + pos, len), &c)) {
        int rc = fn(ctx, &c);
        if (rc)
          return rc;
      }
      pos += len + 1;
    }
  }
  return 0;
}

typedef struct count_ctx {
  size_t pairs;
  size_t bytes;
} count_ctx;

static int count_one(void *ctx, const cookie *c) {
  count_ctx *cc = ctx;
  cc->pairs++;
  cc->bytes += c->name.len + c->value.len + 2;
  return 0;
}

typedef struct fill_ctx {
  cn__pair *items;
  size_t len;
  uint32_t *table; /* index + 1 into items, 0 = empty */
  size_t mask;
  char *store;
  size_t max;
} fill_ctx;

static uint32_t name_hash(cn_str s) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < s.len; i++)
    h = (h ^ (unsigned char)s.ptr[i]) * 16777619u;
  return h;
}

static int fill_one(void *ctx, const cookie *c) {
  fill_ctx *f = ctx;
  size_t slot = name_hash(c->name) & f->mask;
  while (f->table[slot]) {
    cn_str k = f->items[f->table[slot] - 1].key;
    if (k.len == c->name.len && memcmp(k.ptr, c->name.ptr, k.len) == 0)
      return 0; /* the first one wins */
    slot = (slot + 1) & f->mask;
  }
  if (f->len == f->max)
    return CN_ETOOBIG;
  cn__pair *p = &f->items[f->len];
  memcpy(f->store, c->name.ptr, c->name.len);
  f->store[c->name.len] = '\0';
  p->key = cn__str(f->store, c->name.len);
  f->store += c->name.len + 1;
  if (c->value.len)
    memcpy(f->store, c->value.ptr, c->value.len);
  f->store[c->value.len] = '\0';
  p->value = cn__str(f->store, c->value.len);
  f->store += c->value.len + 1;
  f->table[slot] = (uint32_t)++f->len;
  return 0;
}

int cn__cookie_parse(cn__arena *a, const cn_str *headers, size_t n,
                     size_t max_cookies, cn__pairs *out, cn__perr *err) {
  out->items = NULL;
  out->len = 0;
  cn__parsers_errclear(err);
  if (!max_cookies)
    max_cookies = CN__COOKIES_MAX_DEFAULT;
  count_ctx cc = {0, 0};
  each_cookie(headers, n, count_one, &cc);
  if (!cc.pairs)
    return 0;
  size_t slots = 16;
  while (slots < 2 * cc.pairs)
    slots *= 2;
  size_t room = CN__MIN(cc.pairs, max_cookies);
  fill_ctx f = {0};
  f.items = cn__arena_alloc(a, room * sizeof *f.items);
  f.table = cn__arena_alloc(a, slots * sizeof *f.table);
  f.store = cn__arena_alloc(a, cc.bytes);
  if (!f.items || !f.table || !f.store) {
    cn__parsers_errf(err, "out of memory");
    return CN_ENOMEM;
  }
  memset(f.table, 0, slots * sizeof *f.table);
  f.mask = slots - 1;
  f.max = room;
  if (each_cookie(headers, n, fill_one, &f)) {
    cn__parsers_errf(err, "the Cookie header has more than %zu cookies",
                     max_cookies);
    return CN_ETOOBIG;
  }
  out->items = f.items;
  out->len = f.len;
  return 0;
}

int cn__cookie_decode(cn__arena *a, cn_str value, cn_str *out) {
  return cn__pct_decode(a, value, 0, out, NULL);
}
