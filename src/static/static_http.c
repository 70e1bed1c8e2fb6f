/*
 * The HTTP side of static files, with no file system in sight: content
 * types, the header block, conditional requests (RFC 9110 section 13) and
 * byte ranges (section 14). Pure functions, so the tests and the range fuzz
 * harness drive them directly.
 */
#include <inttypes.h>
#include <stdio.h>

#include "static/static_int.h"

/* ------------------------------------------------------------- types */

#define UTF8 "; charset=utf-8"

static const struct {
  const char *ext;
  const char *type;
} types[] = {
    {"html", "text/html" UTF8},
    {"htm", "text/html" UTF8},
    {"css", "text/css" UTF8},
    {"js", "text/javascript" UTF8},
    {"mjs", "text/javascript" UTF8},
    {"cjs", "text/javascript" UTF8},
    {"json", "application/json" UTF8},
    {"map", "application/json" UTF8},
    {"jsonld", "application/ld+json" UTF8},
    {"webmanifest", "application/manifest+json" UTF8},
    {"txt", "text/plain" UTF8},
    {"md", "text/markdown" UTF8},
    {"csv", "text/csv" UTF8},
    {"ics", "text/calendar" UTF8},
    {"xml", "application/xml" UTF8},
    {"rss", "application/rss+xml" UTF8},
    {"atom", "application/atom+xml" UTF8},
    {"svg", "image/svg+xml" UTF8},
    {"png", "image/png"},
    {"apng", "image/apng"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"m4a", "audio/mp4"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"aac", "audio/aac"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"br", "application/x-brotli"},
};

const char *cn__static_content_type(const char *name, size_t len) {
  /* The extension is what follows the last '.' of the last segment. */
  size_t dot = len;
  for (size_t i = len; i > 0; i--) {
    if (name[i - 1] == '/')
      break;
    if (name[i - 1] == '.') {
      dot = i - 1;
      break;
    }
  }
  size_t elen = len - dot;
  if (dot == len || elen < 2 || elen > 12)
    return "application/octet-stream";
  char ext[12];
  for (size_t i = 1; i < elen; i++)
    ext[i - 1] = cn__lower(name[dot + i]);
  ext[elen - 1] = '\0';
  for (size_t i = 0; i < CN__ARRAY_LEN(types); i++)
    if (strcmp(types[i].ext, ext) == 0)
      return types[i].type;
  return "application/octet-stream";
}

/* ------------------------------------------------------- header block */

void cn__static_format(char *buf, const char *ctype, int64_t mtime,
                       uint64_t size, cn__static_view *v) {
  /* nginx's validator: mtime and size in hex. Two writes of the same size
   * within one second share it; the cache itself compares nanoseconds. */
  char date[30];
  cn__http_date(mtime, date);
  int etag_at = (int)sizeof("ETag: ") - 1;
  int n304 = snprintf(buf, CN__STATIC_HDR_MAX,
                      "ETag: \"%" PRIx64 "-%" PRIx64 "\"\r\n"
                      "Last-Modified: %s\r\n"
                      "Cache-Control: public, max-age=0\r\n",
                      (uint64_t)mtime, size, date);
  int n = snprintf(buf + n304, CN__STATIC_HDR_MAX - (size_t)n304,
                   "Content-Type: %s\r\nAccept-Ranges: bytes\r\n", ctype);
  v->hdr = buf;
  v->hdr_len = (size_t)(n304 + n);
  v->hdr304_len = (size_t)n304;
  v->etag.ptr = buf + etag_at;
  v->etag.len = (size_t)(strchr(buf + etag_at + 1, '"') - v->etag.ptr) + 1;
  v->mtime = mtime;
  v->size = size;
}

/* ------------------------------------------------------- conditionals */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

int cn__static_etag_list_match(cn_str list, cn_str etag) {
  const char *p = list.ptr, *end = list.ptr + list.len;
  if (!p)
    return 0;
  for (;;) {
    while (p < end && (is_ows(*p) || *p == ','))
      p++;
    if (p == end)
      return 0;
    if (*p == '*')
      return 1; /* any current representation: the file exists */
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
      p += 2; /* weak comparison: W/"x" matches "x" */
    if (p == end || *p != '"')
      return 0;
    const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!close)
      return 0;
    size_t n = (size_t)(close - p) + 1;
    if (n == etag.len && memcmp(p, etag.ptr, n) == 0)
      return 1;
    p = close + 1;
    while (p < end && is_ows(*p))
      p++;
    if (p < end && *p != ',')
      return 0;
  }
}

int cn__static_if_range_match(cn_str v, cn_str etag, int64_t mtime) {
  v = cn__str_trim(v);
  if (!v.ptr || v.len == 0)
    return 0;
  if (v.ptr[0] == '"') /* strong comparison only */
    return v.len == etag.len && memcmp(v.ptr, etag.ptr, v.len) == 0;
  int64_t t;
  if (cn__parse_http_date(v, &t) != 0)
    return 0; /* also W/"..." : a weak tag never validates a range */
  return t == mtime;
}

/* Digits to a number, saturating instead of wrapping: a first-pos beyond
 * any file is unsatisfiable, not a small number. NULL when no digit. */
static const char *parse_u64(const char *p, const char *end, uint64_t *out) {
  const char *start = p;
  uint64_t v = 0;
  for (; p < end && *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
  }
  *out = v;
  return p == start ? NULL : p;
}

/* One range-spec, already trimmed: same results as cn__static_range_parse. */
static int range_one(const char *p, const char *end, uint64_t size,
                     uint64_t *off, uint64_t *len) {
  uint64_t a, b;
  if (*p == '-') {
    p = parse_u64(p + 1, end, &b);
    if (!p || p != end)
      return 0;
    if (b == 0)
      return -1; /* a zero-length suffix selects nothing */
    if (size == 0)
      return 0; /* nothing to slice, nothing to refuse: send it whole */
    *off = b < size ? size - b : 0;
    *len = size - *off;
    return 1;
  }
  p = parse_u64(p, end, &a);
  if (!p || p == end || *p != '-')
    return 0;
  b = UINT64_MAX;
  if (p + 1 < end) {
    p = parse_u64(p + 1, end, &b);
    if (!p || p != end || b < a)
      return 0;
  }
  if (a >= size)
    return -1;
  uint64_t last = b < size - 1 ? b : size - 1;
  *off = a;
  *len = last - a + 1;
  return 1;
}

int cn__static_range_parse(cn_str h, uint64_t size, uint64_t *off,
                           uint64_t *len) {
  h = cn__str_trim(h);
  if (!h.ptr || h.len < 6 || !cn__str_ieq2(cn__str(h.ptr, 6), CN_STR("bytes=")))
    return 0;
  const char *p = h.ptr + 6, *end = h.ptr + h.len;
  const char *one = NULL, *one_end = NULL;
  int count = 0;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *e = comma ? comma : end;
    cn_str el = cn__str_trim(cn__str(p, (size_t)(e - p)));
    if (el.len) { /* empty list elements are allowed and skipped */
      if (++count > 1)
        return 0; /* several ranges: RFC 9110 lets us answer 200 */
      one = el.ptr;
      one_end = el.ptr + el.len;
    }
    p = comma ? comma + 1 : end;
  }
  if (count != 1)
    return 0;
  return range_one(one, one_end, size, off, len);
}

/* 1 when the conditionals say "not modified" (RFC 9110 13.2.2, steps 3-4). */
static int not_modified(const cn__static_view *v, const cn__static_req *rq) {
  if (rq->if_none_match.ptr)
    return cn__static_etag_list_match(rq->if_none_match, v->etag);
  int64_t t;
  if (rq->if_modified_since.ptr &&
      cn__parse_http_date(cn__str_trim(rq->if_modified_since), &t) == 0)
    return v->mtime <= t;
  return 0;
}

/* A copy of the header block with one more line, in the arena. */
static int with_line(const cn__static_view *v, size_t keep, cn__arena *arena,
                     const char *line, size_t n, cn_str *out) {
  char *h = cn__arena_alloc(arena, keep + n);
  if (!h)
    return CN_ENOMEM;
  memcpy(h, v->hdr, keep);
  memcpy(h + keep, line, n);
  *out = cn__str(h, keep + n);
  return 0;
}

int cn__static_decide(const cn__static_view *v, const cn__static_req *rq,
                      int head, cn__arena *arena, cn__static_reply *out) {
  out->offset = 0;
  if (not_modified(v, rq)) {
    out->status = 304;
    out->headers = cn__str(v->hdr, v->hdr304_len);
    out->body_len = 0;
    return 0;
  }
  out->status = 200;
  out->headers = cn__str(v->hdr, v->hdr_len);
  out->body_len = v->size;
  /* Range is defined for GET only; HEAD ignores it (RFC 9110 14.2). */
  if (head || !rq->range.ptr)
    return 0;
  if (rq->if_range.ptr &&
      !cn__static_if_range_match(rq->if_range, v->etag, v->mtime))
    return 0;
  uint64_t off = 0, len = 0;
  int r = cn__static_range_parse(rq->range, v->size, &off, &len);
  if (r == 0)
    return 0;
  char line[96];
  int n;
  if (r < 0) {
    n = snprintf(line, sizeof line, "Content-Range: bytes */%" PRIu64 "\r\n",
                 v->size);
    out->status = 416;
    out->body_len = 0;
    /* A 416 describes no representation: only the range line. */
    return with_line(v, 0, arena, line, (size_t)n, &out->headers);
  }
  n = snprintf(line, sizeof line,
               "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
               off, off + len - 1, v->size);
  out->status = 206;
  out->body_len = len;
  out->offset = off;
  return with_line(v, v->hdr_len, arena, line, (size_t)n, &out->headers);
}
