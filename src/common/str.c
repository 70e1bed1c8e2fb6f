/* Errors, slices and the small parsers that know no protocol. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "common.h"

const char *cn_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define CN__ERR_MSG(name, code, msg)                                           \
  case code:                                                                   \
    return msg;
    CN_ERRNO_MAP(CN__ERR_MSG)
#undef CN__ERR_MSG
  }
  return "unknown error";
}

const char *cn_err_name(int err) {
  switch (err) {
  case 0:
    return "CN_OK";
#define CN__ERR_NAME(name, code, msg)                                          \
  case code:                                                                   \
    return "CN_E" #name;
    CN_ERRNO_MAP(CN__ERR_NAME)
#undef CN__ERR_NAME
  }
  return "unknown error";
}

int cn_str_eq(cn_str a, const char *b) {
  size_t n = strlen(b);
  return a.ptr && a.len == n && memcmp(a.ptr, b, n) == 0;
}

int cn_str_ieq(cn_str a, const char *b) {
  return a.ptr && cn__str_ieq2(a, cn__cstr(b));
}

int cn__str_ieq2(cn_str a, cn_str b) {
  if (a.len != b.len)
    return 0;
  for (size_t i = 0; i < a.len; i++)
    if (cn__lower(a.ptr[i]) != cn__lower(b.ptr[i]))
      return 0;
  return 1;
}

cn_str cn__str_trim(cn_str s) {
  while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
    s.ptr++;
    s.len--;
  }
  while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
    s.len--;
  return s;
}

int cn__parse_size(const char *s, size_t *out) {
  if (!s)
    return CN_EINVAL;
  while (*s == ' ')
    s++;
  if (!isdigit((unsigned char)*s))
    return CN_EINVAL;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || v < 0)
    return CN_EINVAL;
  while (*end == ' ')
    end++;
  double mul = 1;
  switch (cn__lower(*end)) {
  case 'k': mul = 1024.0; end++; break;
  case 'm': mul = 1024.0 * 1024; end++; break;
  case 'g': mul = 1024.0 * 1024 * 1024; end++; break;
  default: break;
  }
  if (mul != 1 && cn__lower(*end) == 'i')
    end++;
  if (cn__lower(*end) == 'b')
    end++;
  if (*end)
    return CN_EINVAL;
  v *= mul;
  if (v > (double)(SIZE_MAX / 2))
    return CN_EINVAL;
  *out = (size_t)v;
  return 0;
}

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int cn__b64url_encode(const void *p, size_t n, cn__buf *out) {
  const unsigned char *s = p;
  if (cn__buf_reserve(out, (n + 2) / 3 * 4 + 1))
    return CN_ENOMEM;
  char *o = out->ptr + out->len;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = b64url_alpha[v >> 18];
    *o++ = b64url_alpha[(v >> 12) & 63];
    *o++ = b64url_alpha[(v >> 6) & 63];
    *o++ = b64url_alpha[v & 63];
  }
  if (n - i == 1) {
    *o++ = b64url_alpha[s[i] >> 2];
    *o++ = b64url_alpha[(s[i] & 3) << 4];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)s[i] << 8 | s[i + 1];
    *o++ = b64url_alpha[v >> 10];
    *o++ = b64url_alpha[(v >> 4) & 63];
    *o++ = b64url_alpha[(v & 15) << 2];
  }
  out->len = (size_t)(o - out->ptr);
  return 0;
}

static int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int cn__b64url_decode(cn_str s, cn__buf *out) {
  if (s.len % 4 == 1)
    return CN_EPARSE;
  if (cn__buf_reserve(out, s.len / 4 * 3 + 3))
    return CN_ENOMEM;
  unsigned char *o = (unsigned char *)out->ptr + out->len;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.len; i++) {
    int v = b64url_value(s.ptr[i]);
    if (v < 0)
      return CN_EPARSE;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *o++ = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc) /* bits left over must be zero: one spelling per value */
    return CN_EPARSE;
  out->len = (size_t)(o - (unsigned char *)out->ptr);
  out->ptr[out->len] = '\0';
  return 0;
}
