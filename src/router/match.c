/*
 * Matching a request path against a finished tree.
 *
 * The path is split and every segment decoded once, up front, so a bad
 * escape is a 400 wherever it sits and backtracking never decodes twice.
 * Then a depth-first walk tries, at each node, the index (when the path is
 * used up), the static child, the [x] child, [...x], [[...x]]: the order of
 * Next's sorted route list, so the first route found is the first route of
 * that list whose regex matches. A node only ever meets the segment at its
 * own depth, so each node is visited at most once.
 */
#include "router/router_int.h"

#define SEGS_INLINE 32

typedef struct seg {
  cn_str val; /* decoded; a slice of the path when there was nothing to do */
} seg;

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (unsigned char)(c | 0x20);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid:
 * no overlongs, no surrogates, nothing past U+10FFFF, as
 * decodeURIComponent requires. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0;
    if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (n < len || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return len;
}

static int utf8_valid(const unsigned char *p, size_t n) {
  while (n) {
    size_t k = utf8_len(p, n);
    if (!k)
      return 0;
    p += k;
    n -= k;
  }
  return 1;
}

/* Percent-decode one segment into the arena. Each run of escapes must be
 * whole UTF-8 characters (decodeURIComponent's rule) and may not hold NUL
 * (C code downstream would silently cut the value there). */
static int decode(cn_str raw, cn__arena *arena, cn_str *out) {
  char *d = cn__arena_alloc(arena, raw.len + 1);
  size_t n = 0, run = 0;
  int in_run = 0;
  if (!d)
    return CN_ENOMEM;
  for (size_t i = 0; i <= raw.len; i++) {
    int esc = i < raw.len && raw.ptr[i] == '%';
    if (in_run && !esc) {
      if (!utf8_valid((const unsigned char *)d + run, n - run))
        return CN_EPARSE;
      in_run = 0;
    }
    if (i == raw.len)
      break;
    if (!esc) {
      d[n++] = raw.ptr[i];
      continue;
    }
    int h = i + 2 < raw.len ? hexval((unsigned char)raw.ptr[i + 1]) : -1;
    int l = h >= 0 ? hexval((unsigned char)raw.ptr[i + 2]) : -1;
    if (l < 0 || (h == 0 && l == 0))
      return CN_EPARSE;
    if (!in_run) {
      in_run = 1;
      run = n;
    }
    d[n++] = (char)(h * 16 + l);
    i += 2;
  }
  d[n] = '\0';
  *out = cn__str(d, n);
  return 0;
}

static int is_dot_segment(cn_str s) {
  return (s.len == 1 && s.ptr[0] == '.') ||
         (s.len == 2 && s.ptr[0] == '.' && s.ptr[1] == '.');
}

/* Split path (which starts with '/' and has no trailing slash unless it is
 * "/") into decoded segments. 0, CN_ENOENT (empty or dot segment, after
 * every escape was still checked), CN_EPARSE (a bad escape or a NUL byte),
 * CN_ENOMEM. */
static int split(cn_str path, seg *inline_segs, cn__arena *arena, seg **out,
                 size_t *nsegs) {
  size_t n = 0;
  int noent = 0;
  *nsegs = 0;
  if (path.len == 1)
    return 0;
  for (size_t i = 0; i < path.len; i++) {
    if (path.ptr[i] == '\0')
      return CN_EPARSE; /* C code downstream would cut the value there */
    n += path.ptr[i] == '/';
  }
  seg *segs = inline_segs;
  if (n > SEGS_INLINE && !(segs = cn__arena_alloc(arena, n * sizeof(*segs))))
    return CN_ENOMEM;
  size_t pos = 1;
  for (size_t k = 0; k < n; k++) {
    const char *slash = memchr(path.ptr + pos, '/', path.len - pos);
    size_t end = slash ? (size_t)(slash - path.ptr) : path.len;
    cn_str raw = {path.ptr + pos, end - pos};
    segs[k].val = raw;
    if (memchr(raw.ptr, '%', raw.len)) {
      int rc = decode(raw, arena, &segs[k].val);
      if (rc)
        return rc;
    }
    if (raw.len == 0 || is_dot_segment(segs[k].val))
      noent = 1;
    pos = end + 1;
  }
  *out = segs;
  *nsegs = n;
  return noent ? CN_ENOENT : 0;
}

static const cn__route *walk(const cn__rnode *n, const seg *s, size_t i,
                             size_t ns) {
  const cn__route *rt;
  if (i == ns)
    return n->index ? n->index : n->opt;
  if (n->nkids) {
    const cn__rnode *k = cn__rnode_find(n, s[i].val);
    if (k && (rt = walk(k, s, i + 1, ns)))
      return rt;
  }
  if (n->param && (rt = walk(n->param, s, i + 1, ns)))
    return rt;
  return n->rest ? n->rest : n->opt;
}

/* Bind the route's params to the segments, in path order. */
static int bind(const cn__route *rt, const seg *s, size_t ns,
                cn__arena *arena, cn__route_match *m) {
  size_t np = 0;
  for (size_t i = 0; i < rt->nsegs; i++)
    np += rt->segs[i].type != CN__SEG_STATIC &&
          !(rt->segs[i].type == CN__SEG_OPTIONAL && i >= ns);
  if (!np)
    return 0;
  cn__route_param *p = cn__arena_alloc(arena, np * sizeof(*p));
  if (!p)
    return CN_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < rt->nsegs; i++) {
    const cn__route_seg *rs = &rt->segs[i];
    if (rs->type == CN__SEG_STATIC || i >= ns)
      continue;
    cn__route_param *q = &p[k++];
    q->name = rs->name;
    q->is_catchall = rs->type != CN__SEG_PARAM;
    if (!q->is_catchall) {
      q->value_ = s[i].val;
      q->values = &q->value_;
      q->nvalues = 1;
      continue;
    }
    q->value_ = CN_STR_NULL;
    q->nvalues = ns - i;
    if (!(q->values = cn__arena_alloc(arena, q->nvalues * sizeof(cn_str))))
      return CN_ENOMEM;
    for (size_t j = i; j < ns; j++)
      q->values[j - i] = s[j].val;
  }
  m->params = p;
  m->nparams = np;
  return 0;
}

int cn__router_match(const cn__router *r, cn_str raw_path, cn__arena *arena,
                     cn__route_match *m) {
  seg inline_segs[SEGS_INLINE];
  seg *segs = NULL;
  size_t ns = 0;
  int rc;
  if (!m)
    return CN_EINVAL;
  memset(m, 0, sizeof(*m));
  m->path = raw_path;
  if (!r || !arena || (!raw_path.ptr && raw_path.len))
    return CN_EINVAL;
  if (!r->finished)
    return CN_ESTATE;
  if (raw_path.len == 0 || raw_path.ptr[0] != '/')
    return CN_ENOENT;
  if (raw_path.len > 1 && raw_path.ptr[raw_path.len - 1] == '/') {
    m->trailing_slash = 1;
    m->path.len--;
    if (m->path.len == 1)
      return CN_ENOENT; /* "//": an empty segment */
  }
  if ((rc = split(m->path, inline_segs, arena, &segs, &ns)))
    return rc;
  const cn__route *rt = walk(r->root, segs, 0, ns);
  if (!rt)
    return CN_ENOENT;
  if ((rc = bind(rt, segs, ns, arena, m))) {
    m->params = NULL;
    m->nparams = 0;
    return rc;
  }
  m->data = rt->data;
  m->pattern = rt->pattern;
  m->source_file = rt->source;
  return 0;
}
