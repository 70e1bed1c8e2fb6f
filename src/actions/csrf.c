/*
 * The CSRF check of Server Actions: the Origin's host against the Host,
 * or the app's allowed_origins patterns (actions.h), as Next.js's
 * serverActions.allowedOrigins reads them.
 */
#include <strings.h>

#include "actions/actions.h"

/* Labels of a host, from the right. */
static size_t labels(cn_str h, cn_str *out, size_t max) {
  size_t n = 0, end = h.len;
  for (size_t i = h.len; i-- > 0;) {
    if (h.ptr[i] == '.') {
      if (n == max)
        return max + 1;
      out[n++] = cn__str(h.ptr + i + 1, end - i - 1);
      end = i;
    }
  }
  if (n == max)
    return max + 1;
  out[n++] = cn__str(h.ptr, end);
  return n;
}

int cn__host_pattern(const char *pattern, cn_str host) {
  cn_str p[64], h[64];
  size_t np = labels(cn__cstr(pattern), p, 64), nh = labels(host, h, 64);
  if (!pattern[0] || !host.len || np > 64 || nh > 64)
    return 0;
  for (size_t i = 0; i < np; i++)
    if (!p[i].len || (i + 1 < np && p[i].len <= 2 && p[i].ptr[0] == '*'))
      return 0; /* empty labels, wildcards anywhere but leftmost */
  cn_str left = p[np - 1];
  int one = left.len == 1 && left.ptr[0] == '*';
  int many = left.len == 2 && left.ptr[0] == '*' && left.ptr[1] == '*';
  if ((one || many) && np == 1)
    return 0; /* a bare * matches nothing */
  size_t fixed = one || many ? np - 1 : np;
  if (one ? nh != np : many ? nh < np : nh != np)
    return 0;
  for (size_t i = 0; i < fixed; i++)
    if (h[i].len != p[i].len || strncasecmp(h[i].ptr, p[i].ptr, p[i].len))
      return 0;
  for (size_t i = fixed; i < nh; i++)
    if (!h[i].len)
      return 0;
  return 1;
}

int cn__action_origin_ok(cn_str origin, cn_str host,
                         const char *const *allowed, size_t n) {
  if (!origin.ptr)
    return 1;
  /* scheme "://" host[:port] and nothing after it. */
  const char *sep = origin.len > 3 ? memmem(origin.ptr, origin.len, "://", 3)
                                   : NULL;
  if (!sep)
    return 0;
  cn_str oh = cn__str(sep + 3, origin.len - (size_t)(sep + 3 - origin.ptr));
  if (!oh.len || memchr(oh.ptr, '/', oh.len) || memchr(oh.ptr, '@', oh.len))
    return 0;
  if (host.len && oh.len == host.len && !strncasecmp(oh.ptr, host.ptr, oh.len))
    return 1;
  for (size_t i = 0; i < n; i++)
    if (cn__host_pattern(allowed[i], oh))
      return 1;
  return 0;
}
