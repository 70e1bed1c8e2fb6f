/* The Cookie header and media types: small, lenient where the RFCs say so. */
#include <strings.h>

#include "form.h"

static int token_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

int cn__cookies_parse(cn_str h, cn__arena *a, cn__pairs *out) {
  const char *p = h.ptr, *end = h.ptr + h.len;
  while (h.ptr && p < end) {
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *stop = semi ? semi : end;
    cn_str pair = cn__str_trim(cn__str(p, (size_t)(stop - p)));
    p = stop + 1;
    const char *eq = pair.len ? memchr(pair.ptr, '=', pair.len) : NULL;
    if (!eq)
      continue; /* no '=': skipped, the rest still counts */
    cn_str name = cn__str_trim(cn__str(pair.ptr, (size_t)(eq - pair.ptr)));
    cn_str value = cn__str_trim(
        cn__str(eq + 1, pair.len - (size_t)(eq - pair.ptr) - 1));
    int ok = name.len > 0;
    for (size_t i = 0; ok && i < name.len; i++)
      ok = token_char((unsigned char)name.ptr[i]);
    if (value.len >= 2 && value.ptr[0] == '"' &&
        value.ptr[value.len - 1] == '"')
      value = cn__str(value.ptr + 1, value.len - 2);
    for (size_t i = 0; ok && i < value.len; i++) {
      unsigned char c = (unsigned char)value.ptr[i];
      ok = c >= 0x21 && c != 0x7f && c != '"' && c != ',' && c != ';' &&
           c != '\\';
    }
    if (!ok || cn__pairs_find(out, name).ptr)
      continue; /* malformed, or a repeat: the first one wins */
    char *n = cn__arena_memdup(a, name.ptr, name.len);
    char *v = cn__arena_memdup(a, value.ptr, value.len);
    if (!n || !v || cn__pairs_add(out, a, cn__str(n, name.len),
                                  cn__str(v, value.len)))
      return CN_ENOMEM;
  }
  return 0;
}

int cn__media_type(cn_str h, cn__arena *a, const char *param, cn_str *type,
                   cn_str *value) {
  *type = *value = CN_STR_NULL;
  const char *p = h.ptr, *end = h.ptr + h.len;
  if (!p)
    return CN_EPARSE;
  const char *semi = memchr(p, ';', h.len);
  cn_str t = cn__str_trim(cn__str(p, (size_t)((semi ? semi : end) - p)));
  const char *slash = t.len ? memchr(t.ptr, '/', t.len) : NULL;
  if (!slash || slash == t.ptr || slash == t.ptr + t.len - 1)
    return CN_EPARSE;
  char *tl = cn__arena_memdup(a, t.ptr, t.len);
  if (!tl)
    return CN_ENOMEM;
  for (size_t i = 0; i < t.len; i++) {
    if (!token_char((unsigned char)tl[i]) && tl[i] != '/')
      return CN_EPARSE;
    tl[i] = cn__lower(tl[i]);
  }
  *type = cn__str(tl, t.len);
  size_t plen = param ? strlen(param) : 0;
  p = semi ? semi + 1 : end;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq)
      return 0;
    cn_str name = cn__str_trim(cn__str(p, (size_t)(eq - p)));
    const char *v = eq + 1, *vend;
    char *val = cn__arena_alloc(a, (size_t)(end - v) + 1);
    size_t vl = 0;
    if (!val)
      return CN_ENOMEM;
    if (v < end && *v == '"') { /* quoted-string with \-escapes */
      for (v++; v < end && *v != '"'; v++) {
        if (*v == '\\' && v + 1 < end)
          v++;
        val[vl++] = *v;
      }
      if (v == end)
        return CN_EPARSE;
      vend = memchr(v, ';', (size_t)(end - v));
    } else {
      vend = memchr(v, ';', (size_t)(end - v));
      cn_str raw = cn__str_trim(cn__str(v, (size_t)((vend ? vend : end) - v)));
      memcpy(val, raw.ptr, raw.len);
      vl = raw.len;
    }
    val[vl] = '\0';
    if (param && name.len == plen && !strncasecmp(name.ptr, param, plen)) {
      *value = cn__str(val, vl);
      return 0;
    }
    p = vend ? vend + 1 : end;
  }
  return 0;
}
