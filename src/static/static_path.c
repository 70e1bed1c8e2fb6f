/*
 * Request path -> relative file name. The only door from the network to
 * the file system, so it refuses rather than repairs: nothing is normalised
 * ("/a/./b" is not "/a/b"), anything ambiguous is an error.
 */
#include "static/static_int.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = cn__lower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* 1 when s is well-formed UTF-8 in its shortest form, no surrogates, at most
 * U+10FFFF (RFC 3629's table). Over-long forms (%c0%ae for '.') are how
 * `..` used to slip past decoders that checked before decoding. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
      need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0)
        lo = 0xa0; /* over-long */
      if (c == 0xed)
        hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0)
        lo = 0x90; /* over-long */
      if (c == 0xf4)
        hi = 0x8f; /* beyond U+10FFFF */
    } else
      return 0; /* 0x80-0xc1 as a lead, 0xf5-0xff */
    if (n - i - 1 < need)
      return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
      return 0;
    for (size_t k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf)
        return 0;
    i += need + 1;
  }
  return 1;
}

/* A finished segment out[start, end): 0, CN_EPARSE (empty) or CN_ENOENT. */
static int segment_check(const char *seg, size_t n, int last) {
  if (n == 0)
    return last ? 0 : CN_EPARSE; /* "//" is an error, a trailing "/" not */
  if (seg[0] != '.')
    return 0;
  if (n == 11 && memcmp(seg, ".well-known", 11) == 0)
    return 0; /* RFC 8615's one sanctioned dot directory */
  return CN_ENOENT; /* ".", "..", ".env", ".git": never served */
}

int cn__static_path_decode(cn_str raw, char *out, size_t outcap,
                           size_t *outlen) {
  if (!raw.ptr || raw.len == 0 || raw.ptr[0] != '/' || outcap == 0)
    return CN_EPARSE;
  int verdict = 0; /* CN_ENOENT is remembered, CN_EPARSE returns at once */
  size_t o = 0, seg = 0;
  for (size_t i = 1; i <= raw.len; i++) {
    if (i == raw.len || raw.ptr[i] == '/') {
      int rc = segment_check(out + seg, o - seg, i == raw.len);
      if (rc == CN_EPARSE)
        return rc;
      if (rc)
        verdict = rc;
      if (i == raw.len)
        break;
      if (o + 1 >= outcap)
        return CN_ETOOBIG;
      out[o++] = '/';
      seg = o;
      continue;
    }
    unsigned char c = (unsigned char)raw.ptr[i];
    if (c == '%') {
      int hi = i + 2 < raw.len ? hexval(raw.ptr[i + 1]) : -1;
      int lo = hi >= 0 ? hexval(raw.ptr[i + 2]) : -1;
      if (lo < 0)
        return CN_EPARSE;
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
      if (c == '/')
        return CN_EPARSE; /* a '/' inside a name would be a second segment */
    }
    if (c < 0x20 || c == 0x7f || c == '\\')
      return CN_EPARSE; /* NUL ends C strings; '\\' is a separator elsewhere */
    if (o + 1 >= outcap)
      return CN_ETOOBIG;
    out[o++] = (char)c;
  }
  if (!utf8_valid((const unsigned char *)out, o))
    return CN_EPARSE;
  if (verdict)
    return verdict;
  out[o] = '\0';
  *outlen = o;
  return 0;
}
