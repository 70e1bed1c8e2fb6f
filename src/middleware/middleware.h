/*
 * middleware.h: which paths an app's middleware runs for.
 *
 * Next.js writes middleware matchers in path-to-regexp syntax ("/api/:path*",
 * "/((?!api|_next).*)"). Each pattern is translated once, at start-up, into
 * a PCRE2 expression and JIT-compiled; matching a request path is then one
 * pcre2_match per pattern, with no allocation (match data is per thread).
 * The compiled set is immutable, so every loop shares it without locks.
 */
#ifndef CN_MIDDLEWARE_H
#define CN_MIDDLEWARE_H

#include "common/common.h"

typedef struct cn__matcher cn__matcher;

/* Translate one path-to-regexp pattern into a PCRE2 expression, NUL-
 * terminated in out. Tokens: literal text (regex metacharacters escaped);
 * ":name" (one segment), with an optional "(regex)" and a modifier "?"
 * (optional segment), "*" (zero or more segments), "+" (one or more); a bare
 * "(regex)" group, passed through (lookaheads included). A trailing "/" is
 * optional, as in path-to-regexp's non-strict mode. Matching is case-
 * sensitive, like routing. CN_EINVAL with a message in err for unbalanced
 * parentheses or a ':' without a name; CN_ETOOBIG when out is too small. */
int cn__matcher_translate(const char *pattern, char *out, size_t outcap,
                          char *err, size_t errlen);

/* Compile a NULL- or ""-terminated list of patterns (at most `max`). An
 * empty list matches every path. OUT: *out, freed with cn__matcher_free.
 * CN_EINVAL with the pattern and PCRE2's message in err. */
int cn__matcher_new(cn__matcher **out, const char *const *patterns,
                    size_t max, char *err, size_t errlen);
void cn__matcher_free(cn__matcher *m);

/* 1 when path (raw, without the query) matches any pattern. Thread-safe. */
int cn__matcher_match(const cn__matcher *m, cn_str path);

#endif /* CN_MIDDLEWARE_H */
