/*
 * The byte-level gate in front of llhttp. llhttp 8.1 even in strict mode
 * accepts obs-fold, empty field names and has no size limits, so every head
 * passes through here first; only a head this pass accepts is parsed.
 */
#include "http.h"

/* RFC 9110 tchar. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

int cn__header_name_valid(const char *name, size_t len) {
  if (!len)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!tchar[(unsigned char)name[i]])
      return 0;
  return 1;
}

int cn__header_value_valid(const char *v, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
      return 0;
  return 1;
}

/* A header line (no CRLF): a token, a colon, then a value with no control
 * bytes other than HTAB. Whitespace before the colon is refused (RFC 9112
 * 5.1: "No whitespace is allowed between the field name and colon"). */
static int header_line_ok(const char *p, size_t len) {
  size_t i = 0;
  while (i < len && tchar[(unsigned char)p[i]])
    i++;
  if (i == 0 || i == len || p[i] != ':')
    return 0;
  for (i++; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 1;
}

#define MAX_LEADING_EMPTY_LINES 4

int cn__head_scan_feed(cn__head_scan *s, const char *d, size_t len,
                       const cn__scan_limits *lim, size_t *head_len,
                       size_t *skip) {
  size_t i = s->pos;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)d[i];
    if (c == '\0')
      return 400;
    if (c == '\r') {
      if (i + 1 == len)
        break; /* need the next byte to judge the CR */
      if (d[i + 1] != '\n')
        return 400;
      continue;
    }
    if (c != '\n')
      continue;
    if (i == 0 || d[i - 1] != '\r')
      return 400;
    size_t ll = i - 1 - s->line_start; /* line length without CRLF */
    const char *line = d + s->line_start;
    if (s->lines == 0 && ll == 0) {
      /* Empty lines before the request line are skipped, a few of them. */
      if (++s->skipped > MAX_LEADING_EMPTY_LINES)
        return 400;
      s->line_start = i + 1;
      continue;
    }
    if (ll == 0) {
      if (i + 1 - 2 * s->skipped > lim->header_bytes)
        return 431;
      *head_len = i + 1;
      *skip = 2 * s->skipped;
      s->pos = i + 1;
      return CN__SCAN_DONE;
    }
    if (s->lines == 0) {
      if (ll > lim->request_line)
        return 414;
    } else {
      if (line[0] == ' ' || line[0] == '\t')
        return 400; /* obs-fold */
      if (!header_line_ok(line, ll))
        return 400;
      if (s->lines > lim->header_count)
        return 431;
    }
    s->lines++;
    s->line_start = i + 1;
  }
  s->pos = i;
  size_t used = len - 2 * s->skipped;
  if (s->lines == 0 && len - s->line_start > lim->request_line)
    return 414;
  if (used > lim->header_bytes)
    return 431;
  return CN__SCAN_MORE;
}
