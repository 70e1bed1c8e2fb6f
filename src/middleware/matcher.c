/*
 * path-to-regexp patterns, translated to PCRE2 once and matched with the
 * JIT. The translation follows path-to-regexp 6 (the one Next.js uses):
 * a parameter takes the "/" before it as its prefix, so "/api/:path*"
 * matches "/api" as well as "/api/a/b".
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>

#include "middleware.h"

#define MAX_PATTERNS 32
#define SEG "[^/#?]+?"

struct cn__matcher {
  size_t n;
  pcre2_code *code[MAX_PATTERNS];
};

typedef struct out_buf {
  char *p;
  size_t len, cap;
  int overflow;
} out_buf;

static void emit(out_buf *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    o->overflow = 1;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}
#define EMIT(o, lit) emit(o, lit, sizeof(lit) - 1)

static int is_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/* The length of a balanced "(...)" group starting at p, or 0. */
static size_t group_len(const char *p) {
  int depth = 0;
  for (size_t i = 0; p[i]; i++) {
    if (p[i] == '\\' && p[i + 1]) {
      i++;
      continue;
    }
    if (p[i] == '(')
      depth++;
    else if (p[i] == ')' && --depth == 0)
      return i + 1;
  }
  return 0;
}

/* Emit one parameter: prefix is "/" or "", body the regex for one
 * repetition, mod one of '\0', '?', '*', '+'. */
static void emit_param(out_buf *o, int prefix, const char *body, size_t blen,
                       char mod) {
  const char *pre = prefix ? "/" : "";
  char tmp[16];
  if (mod == '*' || mod == '+') {
    EMIT(o, "(?:");
    emit(o, pre, strlen(pre));
    EMIT(o, "((?:");
    emit(o, body, blen);
    EMIT(o, ")(?:");
    emit(o, pre, strlen(pre));
    EMIT(o, "(?:");
    emit(o, body, blen);
    EMIT(o, "))*))");
    if (mod == '*')
      EMIT(o, "?");
    return;
  }
  snprintf(tmp, sizeof tmp, "(?:%s(", pre);
  emit(o, tmp, strlen(tmp));
  emit(o, body, blen);
  EMIT(o, "))");
  if (mod == '?')
    EMIT(o, "?");
}

int cn__matcher_translate(const char *pat, char *outp, size_t outcap,
                          char *err, size_t errlen) {
  out_buf o = {outp, 0, outcap, 0};
  if (outcap)
    outp[0] = '\0';
  EMIT(&o, "^");
  for (size_t i = 0; pat[i];) {
    int prefix = 0;
    size_t j = i;
    if (pat[j] == '/' && (pat[j + 1] == ':' || pat[j + 1] == '(')) {
      prefix = 1;
      j++;
    }
    if (pat[j] == ':' || pat[j] == '(') {
      const char *body = SEG;
      size_t blen = sizeof(SEG) - 1;
      if (pat[j] == ':') {
        size_t k = j + 1;
        while (is_name(pat[k]))
          k++;
        if (k == j + 1) {
          if (err)
            snprintf(err, errlen, "matcher \"%s\": ':' must name a parameter",
                     pat);
          return CN_EINVAL;
        }
        j = k;
      }
      if (pat[j] == '(') {
        size_t g = group_len(pat + j);
        if (!g) {
          if (err)
            snprintf(err, errlen, "matcher \"%s\": unbalanced parentheses",
                     pat);
          return CN_EINVAL;
        }
        body = pat + j + 1;
        blen = g - 2;
        j += g;
      }
      char mod = (pat[j] == '?' || pat[j] == '*' || pat[j] == '+') ? pat[j]
                                                                   : '\0';
      if (mod)
        j++;
      emit_param(&o, prefix, body, blen, mod);
      i = j;
      continue;
    }
    if (pat[i] == ')') {
      if (err)
        snprintf(err, errlen, "matcher \"%s\": unbalanced parentheses", pat);
      return CN_EINVAL;
    }
    if (strchr("\\.^$|?*+[]{}", pat[i]))
      EMIT(&o, "\\");
    emit(&o, pat + i, 1);
    i++;
  }
  if (o.len > 1 && o.p[o.len - 1] == '/' && o.p[o.len - 2] != '\\')
    o.len--; /* the optional trailing slash below covers it */
  EMIT(&o, "/?$");
  return o.overflow ? CN_ETOOBIG : 0;
}

int cn__matcher_new(cn__matcher **out, const char *const *patterns,
                    size_t max, char *err, size_t errlen) {
  cn__matcher *m = cn__calloc(1, sizeof(*m));
  if (!m)
    return CN_ENOMEM;
  char re[2048];
  int rc = 0;
  for (size_t i = 0; i < max && patterns[i] && patterns[i][0]; i++) {
    if (m->n == MAX_PATTERNS) {
      rc = CN_EINVAL;
      if (err)
        snprintf(err, errlen, "middleware: at most %d matcher patterns",
                 MAX_PATTERNS);
      break;
    }
    if ((rc = cn__matcher_translate(patterns[i], re, sizeof re, err,
                                    errlen)))
      break;
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_NO_UTF_CHECK * 0, &code,
                                  &off, NULL);
    if (!c) {
      PCRE2_UCHAR msg[160];
      pcre2_get_error_message(code, msg, sizeof msg);
      if (err)
        snprintf(err, errlen, "matcher \"%s\": %s", patterns[i],
                 (const char *)msg);
      rc = CN_EINVAL;
      break;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* optional: falls back */
    m->code[m->n++] = c;
  }
  if (rc) {
    cn__matcher_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void cn__matcher_free(cn__matcher *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++)
    pcre2_code_free(m->code[i]);
  cn__free(m);
}

/* One match-data block per thread: the patterns are shared, this is not.
 * A thread-specific key (not _Thread_local) so that the block is freed
 * when a loop thread ends. */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *md) { pcre2_match_data_free(md); }
static void md_key_init(void) { pthread_key_create(&md_key, md_free); }

int cn__matcher_match(const cn__matcher *m, cn_str path) {
  if (!m->n)
    return 1;
  pthread_once(&md_once, md_key_init);
  pcre2_match_data *md = pthread_getspecific(md_key);
  if (!md) {
    md = pcre2_match_data_create(32, NULL);
    if (!md || pthread_setspecific(md_key, md)) {
      pcre2_match_data_free(md);
      return 1; /* out of memory: running middleware is the safe side */
    }
  }
  for (size_t i = 0; i < m->n; i++) {
    int rc = pcre2_match(m->code[i], (PCRE2_SPTR)path.ptr, path.len, 0, 0,
                         md, NULL);
    if (rc >= 0)
      return 1;
  }
  return 0;
}
