/* json.c: compact JSON text of a jansson value, written straight into a
 * cn__buf.
 *
 * Every JSON answer (route handlers' cn_res_json, data functions over
 * HTTP) went through json_dump_callback, which hands the text over in
 * small pieces through a callback and formats each integer with
 * snprintf: a fifth of a 20-row query's CPU. This writer reserves room
 * once per token and converts integers itself. Its output is byte for
 * byte json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY [| JSON_ESCAPE_SLASH])
 * (the unit test and fuzz_json compare the two); reals, which are rare,
 * are still formatted by jansson, so their digits agree too. */
#include "common/common.h"

/* Deeper than any sane document, shallow enough for the stack; also what
 * stops a value that contains itself. */
#define MAX_DEPTH 2048

static const char hex[] = "0123456789ABCDEF";

static int put(cn__buf *b, const char *s, size_t n) {
  return cn__buf_append(b, s, n);
}

/* Characters that need escaping: '"', '\\', controls, and '/' when asked. */
static int plain(unsigned char c, int slash) {
  return c >= 0x20 && c != '"' && c != '\\' && !(slash && c == '/');
}

static int string(cn__buf *b, const char *s, size_t n, int slash) {
  /* Worst case six bytes per byte (\u00XX) plus the quotes. */
  if (n > (SIZE_MAX - 2) / 6 || cn__buf_reserve(b, n * 6 + 2))
    return CN_ENOMEM;
  char *o = b->ptr + b->len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (plain(c, slash)) {
      *o++ = (char)c;
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->ptr);
  return 0;
}

static int integer(cn__buf *b, json_int_t v) {
  char tmp[24], *e = tmp + sizeof tmp, *p = e;
  /* Negate in unsigned arithmetic: -INT64_MIN does not fit. */
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
                               : (unsigned long long)v;
  do
    *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (v < 0)
    *--p = '-';
  return put(b, p, (size_t)(e - p));
}

static int real(cn__buf *b, const json_t *j) {
  char tmp[64];
  size_t n = json_dumpb(j, tmp, sizeof tmp, JSON_ENCODE_ANY);
  if (n == 0 || n > sizeof tmp)
    return CN_EINVAL; /* NaN or infinity cannot be JSON */
  return put(b, tmp, n);
}

static int value(cn__buf *b, const json_t *j, int slash, int depth) {
  if (depth > MAX_DEPTH)
    return CN_EINVAL;
  switch (json_typeof(j)) {
  case JSON_NULL:
    return put(b, "null", 4);
  case JSON_TRUE:
    return put(b, "true", 4);
  case JSON_FALSE:
    return put(b, "false", 5);
  case JSON_INTEGER:
    return integer(b, json_integer_value(j));
  case JSON_REAL:
    return real(b, j);
  case JSON_STRING:
    return string(b, json_string_value(j), json_string_length(j), slash);
  case JSON_ARRAY: {
    int rc = put(b, "[", 1);
    for (size_t i = 0; !rc && i < json_array_size(j); i++) {
      if (i)
        rc = put(b, ",", 1);
      if (!rc)
        rc = value(b, json_array_get(j, i), slash, depth + 1);
    }
    return rc ? rc : put(b, "]", 1);
  }
  case JSON_OBJECT: {
    int rc = put(b, "{", 1), first = 1;
    const char *k;
    size_t klen;
    json_t *v;
    /* Insertion order, as jansson's own dump without JSON_SORT_KEYS. */
    json_object_keylen_foreach((json_t *)j, k, klen, v) {
      if (rc)
        break;
      if (!first)
        rc = put(b, ",", 1);
      first = 0;
      if (!rc)
        rc = string(b, k, klen, slash);
      if (!rc)
        rc = put(b, ":", 1);
      if (!rc)
        rc = value(b, v, slash, depth + 1);
    }
    return rc ? rc : put(b, "}", 1);
  }
  }
  return CN_EINVAL;
}

int cn__json_write(cn__buf *b, const json_t *j, int flags) {
  if (!j)
    return CN_EINVAL;
  size_t start = b->len;
  int rc = value(b, j, (flags & CN__JSON_ESCAPE_SLASH) != 0, 0);
  if (rc)
    b->len = start; /* nothing half-written */
  return rc;
}
