/*
 * The request line, checked by hand before llhttp sees it: llhttp rejects
 * every method it does not know with the same error as garbage, and cairn
 * answers a well-formed but unimplemented method with 501, not 400.
 */
#include <strings.h>

#include "http.h"

static const char *const known_methods[] = {"GET",    "HEAD",   "POST",
                                            "PUT",    "PATCH",  "DELETE",
                                            "OPTIONS"};

int cn__method_known(cn_str m) {
  for (size_t i = 0; i < CN__ARRAY_LEN(known_methods); i++)
    if (cn_str_eq(m, known_methods[i]))
      return 1;
  return 0;
}

/* Bytes allowed in a request-target: RFC 3986 pchar, '/', '?', plus '%'
 * (escapes are checked where they are decoded). */
static int target_char(unsigned char c) {
  if (c >= 'a' && c <= 'z') return 1;
  if (c >= 'A' && c <= 'Z') return 1;
  if (c >= '0' && c <= '9') return 1;
  return strchr("-._~!$&'()*+,;=:@/?%[]", c) != NULL && c != '\0';
}

static int parse_absolute(cn_str t, cn__request_line *out) {
  /* http://authority/path?query — the authority wins over Host. */
  size_t n;
  if (t.len > 7 && !strncasecmp(t.ptr, "http://", 7))
    n = 7;
  else if (t.len > 8 && !strncasecmp(t.ptr, "https://", 8))
    n = 8;
  else
    return 400;
  size_t a = n;
  while (n < t.len && t.ptr[n] != '/' && t.ptr[n] != '?')
    n++;
  out->authority = cn__str(t.ptr + a, n - a);
  if (!cn__host_valid(out->authority))
    return 400;
  if (n == t.len || t.ptr[n] == '?') {
    /* "http://h" or "http://h?q": the path is "/" (RFC 9112 3.2.2). */
    out->path = CN_STR("/");
    if (n < t.len)
      out->query = cn__str(t.ptr + n + 1, t.len - n - 1);
    return 0;
  }
  cn_str rest = cn__str(t.ptr + n, t.len - n);
  const char *q = memchr(rest.ptr, '?', rest.len);
  out->path = q ? cn__str(rest.ptr, (size_t)(q - rest.ptr)) : rest;
  if (q)
    out->query = cn__str(q + 1, rest.len - (size_t)(q - rest.ptr) - 1);
  return 0;
}

int cn__request_line_parse(cn_str line, cn__request_line *out) {
  memset(out, 0, sizeof(*out));
  const char *p = line.ptr, *end = line.ptr + line.len;
  const char *sp1 = memchr(p, ' ', line.len);
  if (!sp1 || sp1 == p)
    return 400;
  out->method = cn__str(p, (size_t)(sp1 - p));
  int upper = 1;
  for (size_t i = 0; i < out->method.len; i++) {
    unsigned char c = (unsigned char)out->method.ptr[i];
    if (!cn__header_name_valid((const char *)&c, 1))
      return 400;
    if (c >= 'a' && c <= 'z')
      upper = 0;
  }
  if (!upper)
    return 400; /* methods are case-sensitive; "get" is not GET */
  const char *t = sp1 + 1;
  const char *sp2 = memchr(t, ' ', (size_t)(end - t));
  if (!sp2)
    return 400; /* HTTP/0.9 "GET /" has no version: refused */
  out->target = cn__str(t, (size_t)(sp2 - t));
  cn_str ver = cn__str(sp2 + 1, (size_t)(end - sp2 - 1));
  if (ver.len != 8 || memcmp(ver.ptr, "HTTP/", 5) || ver.ptr[6] != '.' ||
      ver.ptr[5] < '0' || ver.ptr[5] > '9' || ver.ptr[7] < '0' ||
      ver.ptr[7] > '9')
    return 400;
  if (ver.ptr[5] != '1')
    return 505;
  out->minor = ver.ptr[7] - '0';
  if (out->minor > 1)
    out->minor = 1; /* HTTP/1.2+ is answered as 1.1 (RFC 9110 2.5) */
  if (!out->target.len)
    return 400;
  for (size_t i = 0; i < out->target.len; i++)
    if (!target_char((unsigned char)out->target.ptr[i]))
      return 400;
  /* CONNECT's target is an authority: it is refused as a method. */
  int known = cn__method_known(out->method);
  if (out->target.ptr[0] == '*') {
    out->path = out->target;
    if (!known)
      return 501;
    return cn_str_eq(out->method, "OPTIONS") && out->target.len == 1 ? 0
                                                                     : 400;
  }
  int rc = 0;
  if (out->target.ptr[0] != '/') {
    rc = cn_str_eq(out->method, "CONNECT") ? 0
                                           : parse_absolute(out->target, out);
  } else {
    const char *q = memchr(out->target.ptr, '?', out->target.len);
    out->path = q ? cn__str(out->target.ptr, (size_t)(q - out->target.ptr))
                  : out->target;
    if (q)
      out->query = cn__str(q + 1, out->target.len - out->path.len - 1);
  }
  /* After the target, so a 501 still knows its path (JSON for /api), and
   * after the syntax, so garbage stays a 400. */
  if (!known)
    return 501;
  return rc;
}
