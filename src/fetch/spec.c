/*
 * What a fetch is before it is made: its checks, its keys, the form of its
 * cached value, and the sentence explaining why the last one failed.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <strings.h>

#include "fetch/fetch.h"

/* ------------------------------------------------------------- errors */

static _Thread_local char error_text[512];

void cn__fetch_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_text, sizeof error_text, fmt, ap);
  va_end(ap);
}

const char *cn_fetch_error(void) { return error_text; }

/* ------------------------------------------------------------- checks */

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int check_method(cn__fetch_spec *s, const char *m) {
  static const char *const upper[] = {"DELETE", "GET", "HEAD", "OPTIONS",
                                      "POST", "PUT"};
  static const char *const forbidden[] = {"CONNECT", "TRACE", "TRACK"};
  size_t n = strlen(m);
  if (!n || n >= sizeof s->method)
    return CN_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)m[i]))
      return CN_EINVAL;
  memcpy(s->method, m, n + 1);
  /* As the fetch standard normalizes: these six in any case; any other
   * method is sent as written (so "patch" stays "patch"). */
  for (size_t i = 0; i < CN__ARRAY_LEN(upper); i++)
    if (!strcasecmp(m, upper[i]))
      memcpy(s->method, upper[i], strlen(upper[i]) + 1);
  for (size_t i = 0; i < CN__ARRAY_LEN(forbidden); i++)
    if (!strcasecmp(m, forbidden[i]))
      return CN_EINVAL;
  return 0;
}

/* "Name: value": a token, a colon, then no CR, LF (header injection) or
 * other control bytes but HTAB. */
static int check_header(const char *h) {
  size_t i = 0;
  while (is_tchar((unsigned char)h[i]))
    i++;
  if (!i || h[i] != ':')
    return CN_EINVAL;
  for (i++; h[i]; i++)
    if (((unsigned char)h[i] < 0x20 && h[i] != '\t') || h[i] == 0x7f)
      return CN_EINVAL;
  return 0;
}

int cn__fetch_spec_init(cn__fetch_spec *s, const char *url,
                        const cn_fetch_opts *opts) {
  memset(s, 0, sizeof(*s));
  if (!url || (strncasecmp(url, "http://", 7) &&
               strncasecmp(url, "https://", 8))) {
    cn__fetch_errorf("only http: and https: URLs can be fetched");
    return CN_EINVAL;
  }
  s->url = url;
  s->headers = opts->headers;
  s->body = opts->body;
  s->body_len = opts->body ? opts->body_len : 0;
  s->timeout_ms = opts->timeout_ms ? opts->timeout_ms
                                   : CN__FETCH_DEFAULT_TIMEOUT_MS;
  const char *m = opts->method ? opts->method : opts->body ? "POST" : "GET";
  if (check_method(s, m)) {
    cn__fetch_errorf("\"%.64s\" is not a method fetch can send", m);
    return CN_EINVAL;
  }
  if (s->body && cn__fetch_spec_idempotent(s)) {
    cn__fetch_errorf("a %s request cannot have a body", s->method);
    return CN_EINVAL;
  }
  for (; s->headers && s->headers[s->nheaders]; s->nheaders++)
    if (check_header(s->headers[s->nheaders])) {
      cn__fetch_errorf("header %zu is not \"Name: value\" on one line",
                       s->nheaders);
      return CN_EINVAL;
    }
  return 0;
}

int cn__fetch_spec_idempotent(const cn__fetch_spec *s) {
  return !strcmp(s->method, "GET") || !strcmp(s->method, "HEAD");
}

/* --------------------------------------------------------------- keys */

static int put_field(cn__buf *b, const void *p, size_t n) {
  int rc = cn__buf_appendf(b, "%zu:", n);
  return rc ? rc : cn__buf_append(b, p, n);
}

int cn__fetch_key(const cn__fetch_spec *s, cn__buf *bytes,
                  char key[CN__FETCH_KEY_LEN]) {
  static const char hex[] = "0123456789abcdef";
  size_t start = bytes->len;
  /* Length-prefixed, so no two different fetches share bytes (a header
   * holding what looks like the next one, a body that looks like a
   * header). */
  int rc = put_field(bytes, s->method, strlen(s->method));
  if (!rc)
    rc = put_field(bytes, s->url, strlen(s->url));
  if (!rc)
    rc = cn__buf_appendf(bytes, "%zu;", s->nheaders);
  for (size_t i = 0; !rc && i < s->nheaders; i++)
    rc = put_field(bytes, s->headers[i], strlen(s->headers[i]));
  if (!rc)
    rc = put_field(bytes, s->body ? s->body : "", s->body_len);
  if (rc)
    return rc;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(bytes->ptr + start, bytes->len - start, md, &mdlen,
                  EVP_sha256(), NULL) || mdlen != 32)
    return CN_EIO;
  memcpy(key, "fetch:", 6);
  for (unsigned i = 0; i < 32; i++) {
    key[6 + 2 * i] = hex[md[i] >> 4];
    key[7 + 2 * i] = hex[md[i] & 15];
  }
  key[CN__FETCH_KEY_LEN - 1] = '\0';
  return 0;
}

/* ------------------------------------------------------ cached values */

#define MAGIC "CNF1"

static int put_le(cn__buf *b, uint64_t v, size_t n) {
  unsigned char x[8];
  for (size_t i = 0; i < n; i++)
    x[i] = (unsigned char)(v >> (8 * i));
  return cn__buf_append(b, x, n);
}

static uint64_t get_le(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

int cn__fetch_value_encode(int status, cn_str ctype, cn_str body,
                           cn__buf *out) {
  if (ctype.len > UINT32_MAX || status < 0)
    return CN_EINVAL;
  int rc = cn__buf_reserve(out, 4 + 4 + 4 + ctype.len + 1 + 8 + body.len + 1);
  if (!rc)
    rc = cn__buf_append(out, MAGIC, 4);
  if (!rc)
    rc = put_le(out, (uint64_t)status, 4);
  if (!rc)
    rc = put_le(out, ctype.len, 4);
  if (!rc)
    rc = cn__buf_append(out, ctype.ptr ? ctype.ptr : "", ctype.len);
  if (!rc)
    rc = cn__buf_append(out, "", 1);
  if (!rc)
    rc = put_le(out, body.len, 8);
  if (!rc)
    rc = cn__buf_append(out, body.ptr ? body.ptr : "", body.len);
  if (!rc)
    rc = cn__buf_append(out, "", 1);
  return rc;
}

int cn__fetch_value_decode(const void *data, size_t n, int *status,
                           cn_str *ctype, cn_str *body) {
  const unsigned char *p = data;
  size_t left = n;
  /* Each length is compared with what is left before it is used, so no
   * sum can wrap. */
  if (!p || left < 12 || memcmp(p, MAGIC, 4))
    return CN_EPARSE;
  uint64_t st = get_le(p + 4, 4), clen = get_le(p + 8, 4);
  p += 12, left -= 12;
  if (st < 100 || st > 999 || clen >= left || p[clen] != '\0' ||
      memchr(p, '\0', clen))
    return CN_EPARSE;
  const char *ct = (const char *)p;
  p += clen + 1, left -= clen + 1;
  if (left < 8)
    return CN_EPARSE;
  uint64_t blen = get_le(p, 8);
  p += 8, left -= 8;
  if (blen >= left || left - blen != 1 || p[blen] != '\0')
    return CN_EPARSE;
  *status = (int)st;
  *ctype = cn__str(ct, clen);
  *body = cn__str((const char *)p, blen);
  return 0;
}
