/*
 * parsers_int.h: what the parser files share and nobody else sees: the
 * byte classes, the error formatter, and the "; name=value" parameter
 * grammar that Content-Type and a multipart part's Content-Disposition have
 * in common.
 */
#ifndef CN_PARSERS_INT_H
#define CN_PARSERS_INT_H

#include "parsers/parsers.h"

/* RFC 9110 tchar, as a table: names are checked byte by byte on every
 * request (cookies, Content-Type), so no branches per byte. */
extern const unsigned char cn__parsers_tchar_tab[256];
static inline int cn__parsers_tchar(unsigned char c) {
  return cn__parsers_tchar_tab[c];
}

static inline int cn__parsers_hex(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Success leaves "" (cheaper than a printf on every request). */
static inline void cn__parsers_errclear(cn__perr *err) {
  if (err)
    err->msg[0] = '\0';
}

/* printf into err->msg (err may be NULL), never overflowing. */
void cn__parsers_errf(cn__perr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy up to max bytes of s into out (size >= max + 1) for a message,
 * turning bytes outside printable ASCII into '?' (a message must stay
 * valid UTF-8 for the JSON error body, which escapes the rest). Returns
 * out. */
const char *cn__parsers_show(cn_str s, char *out, size_t max);

/* Parse the parameters that follow a media type or disposition type: s
 * starts right after that token, e.g. "; charset=utf-8; boundary=\"x\"".
 * Names are lower-cased, values unquoted (quoted-pair resolved), both
 * copied into the arena NUL-terminated, into params[0..*n) (room for max).
 * Empty parameters (";;") are skipped as RFC 9110 allows. A name seen twice
 * is an error, so is a parameter past max. Returns 0, CN_EPARSE with a
 * sentence in err (what names the header, e.g. "Content-Type"), or
 * CN_ENOMEM. */
int cn__parsers_params(cn__arena *a, cn_str s, cn__pair *params, size_t max,
                       size_t *n, const char *what, cn__perr *err);

#endif /* CN_PARSERS_INT_H */
