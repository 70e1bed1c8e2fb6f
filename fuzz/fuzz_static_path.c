/*
 * fuzz_static_path: arbitrary bytes as a request path through
 * cn__static_path_decode, the static module's door to the file system.
 * Whatever it accepts must be a plain relative name: no leading '/', no '\\'
 * or NUL, no empty segment except a trailing one, no segment starting with
 * '.' but ".well-known" (so no "." or ".." segment), valid UTF-8, never
 * longer than the input. A dot run inside a name ("a..b") is a name, not
 * traversal, and is allowed. Seeds: fuzz/corpus/static_path/.
 */
#include <stdlib.h>

#include "static/static_int.h"

static int utf8_ok(const unsigned char *s, size_t n) {
  /* Written differently from the module's validator on purpose: decode
   * each sequence to its code point and check the range it must be in. */
  for (size_t i = 0; i < n;) {
    unsigned c = s[i], cp, need;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0)
      need = 1, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
      need = 2, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
      need = 3, cp = c & 0x07;
    else
      return 0;
    if (i + need >= n)
      return 0;
    for (unsigned k = 1; k <= need; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const unsigned min[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += need + 1;
  }
  return 1;
}

static void check_name(const char *s, size_t n, size_t in_len) {
  if (n >= in_len || s[n] != '\0' || (n && s[0] == '/') ||
      memchr(s, '\0', n) || memchr(s, '\\', n) ||
      !utf8_ok((const unsigned char *)s, n))
    abort();
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '/')
      j++;
    if (j == i)
      abort(); /* empty segment ("//"), or a leading '/' */
    if (s[i] == '.' && !(j - i == 11 && !memcmp(s + i, ".well-known", 11)))
      abort();
    for (size_t k = i; k < j; k++)
      if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
        abort();
    i = j + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char out[8192], small[16];
  cn_str raw = cn__str((const char *)data, size);
  size_t len = 0, len2 = 0;
  int rc = cn__static_path_decode(raw, out, sizeof out, &len);
  if (rc != 0 && rc != CN_EPARSE && rc != CN_ENOENT && rc != CN_ETOOBIG)
    abort();
  if (rc == 0)
    check_name(out, len, size);
  if (rc == 0 && !memchr(data, '%', size) &&
      (len != size - 1 || memcmp(out, data + 1, len)))
    abort(); /* without escapes the name is the path minus its '/' */
  /* A small buffer changes nothing but the room: same verdict, or TOOBIG. */
  int rc2 = cn__static_path_decode(raw, small, sizeof small, &len2);
  if (rc2 != CN_ETOOBIG &&
      (rc2 != rc || (rc == 0 && (len2 != len || memcmp(small, out, len)))))
    abort();
  return 0;
}
