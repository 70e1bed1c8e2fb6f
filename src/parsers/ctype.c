/*
 * Media types and their parameters (RFC 9110 section 8.3.1 and 5.6.6),
 * shared by Content-Type and by a multipart part's Content-Disposition,
 * and the choice of body parser a media type makes.
 */
#include "parsers/parsers_int.h"

#define T1(c) [c] = 1
const unsigned char cn__parsers_tchar_tab[256] = {
    T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'),
    T1('-'), T1('.'), T1('^'), T1('_'), T1('`'), T1('|'), T1('~'),
    T1('0'), T1('1'), T1('2'), T1('3'), T1('4'), T1('5'), T1('6'), T1('7'),
    T1('8'), T1('9'),
    T1('A'), T1('B'), T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'),
    T1('I'), T1('J'), T1('K'), T1('L'), T1('M'), T1('N'), T1('O'), T1('P'),
    T1('Q'), T1('R'), T1('S'), T1('T'), T1('U'), T1('V'), T1('W'), T1('X'),
    T1('Y'), T1('Z'),
    T1('a'), T1('b'), T1('c'), T1('d'), T1('e'), T1('f'), T1('g'), T1('h'),
    T1('i'), T1('j'), T1('k'), T1('l'), T1('m'), T1('n'), T1('o'), T1('p'),
    T1('q'), T1('r'), T1('s'), T1('t'), T1('u'), T1('v'), T1('w'), T1('x'),
    T1('y'), T1('z'),
};
#undef T1

static size_t skip_ows(cn_str s, size_t pos) {
  while (pos < s.len && (s.ptr[pos] == ' ' || s.ptr[pos] == '\t'))
    pos++;
  return pos;
}

static size_t token_end(cn_str s, size_t pos) {
  while (pos < s.len && cn__parsers_tchar((unsigned char)s.ptr[pos]))
    pos++;
  return pos;
}

static char *lower_dup(cn__arena *a, const char *p, size_t n) {
  char *d = cn__arena_memdup(a, p, n);
  if (d)
    for (size_t i = 0; i < n; i++)
      d[i] = cn__lower(d[i]);
  return d;
}

/* A quoted-string starting at s.ptr[pos] == '"'. Returns the offset after
 * the closing quote and the unescaped value in the arena (*val), or 0 with
 * *why set. qdtext is HTAB, SP and every byte from 0x21 but '"', '\\' and
 * DEL; a quoted-pair escapes HTAB, SP, VCHAR or obs-text. */
static size_t quoted(cn__arena *a, cn_str s, size_t pos, cn_str *val,
                     const char **why) {
  size_t i = pos + 1, raw = 0;
  for (;; i++, raw++) {
    if (i >= s.len) {
      *why = "an unterminated quoted string";
      return 0;
    }
    unsigned char c = (unsigned char)s.ptr[i];
    if (c == '"')
      break;
    if (c == '\\') {
      if (++i >= s.len) {
        *why = "an unterminated quoted string";
        return 0;
      }
      c = (unsigned char)s.ptr[i];
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      *why = "a control character in a quoted string";
      return 0;
    }
  }
  char *d = cn__arena_alloc(a, raw + 1);
  if (!d) {
    *why = NULL;
    return 0;
  }
  size_t o = 0;
  for (size_t j = pos + 1; j < i; j++) {
    if (s.ptr[j] == '\\')
      j++;
    d[o++] = s.ptr[j];
  }
  d[o] = '\0';
  *val = cn__str(d, o);
  return i + 1;
}

/* One "name=value" at pos; returns the offset after it, or 0 (*why set,
 * or NULL for out of memory). */
static size_t one_param(cn__arena *a, cn_str s, size_t pos, cn__pair *p,
                        const char **why) {
  size_t e = token_end(s, pos);
  if (e == pos) {
    *why = "a parameter without a name";
    return 0;
  }
  if (e >= s.len || s.ptr[e] != '=') {
    *why = "a parameter without '=value'";
    return 0;
  }
  char *name = lower_dup(a, s.ptr + pos, e - pos);
  if (!name) {
    *why = NULL;
    return 0;
  }
  p->key = cn__str(name, e - pos);
  pos = e + 1;
  if (pos < s.len && s.ptr[pos] == '"')
    return quoted(a, s, pos, &p->value, why);
  e = token_end(s, pos);
  if (e == pos) {
    *why = "a parameter with an empty or invalid value";
    return 0;
  }
  char *v = cn__arena_memdup(a, s.ptr + pos, e - pos);
  if (!v) {
    *why = NULL;
    return 0;
  }
  p->value = cn__str(v, e - pos);
  return e;
}

int cn__parsers_params(cn__arena *a, cn_str s, cn__pair *params, size_t max,
                       size_t *n, const char *what, cn__perr *err) {
  size_t pos = 0, count = 0;
  const char *why = NULL;
  *n = 0;
  for (;;) {
    pos = skip_ows(s, pos);
    if (pos >= s.len)
      break;
    if (s.ptr[pos] != ';') {
      why = "unexpected characters where ';' was expected";
      goto bad;
    }
    pos = skip_ows(s, pos + 1);
    if (pos >= s.len || s.ptr[pos] == ';')
      continue;
    if (count == max) {
      /* A header, not a payload: 400, not 413. */
      cn__parsers_errf(err, "the %s header has more than %zu parameters",
                       what, max);
      return CN_EPARSE;
    }
    cn__pair p;
    size_t next = one_param(a, s, pos, &p, &why);
    if (!next) {
      if (!why) {
        cn__parsers_errf(err, "out of memory");
        return CN_ENOMEM;
      }
      goto bad;
    }
    for (size_t i = 0; i < count; i++)
      if (params[i].key.len == p.key.len &&
          memcmp(params[i].key.ptr, p.key.ptr, p.key.len) == 0) {
        char shown[33];
        cn__parsers_errf(err, "the %s header has the parameter \"%s\" twice",
                         what, cn__parsers_show(p.key, shown, 32));
        return CN_EPARSE;
      }
    params[count++] = p;
    pos = next;
  }
  *n = count;
  return 0;
bad:;
  char shown[25];
  cn__parsers_errf(err, "invalid %s header: %s at \"%s\"", what, why,
                   cn__parsers_show(cn__str(s.ptr + pos, s.len - pos), shown,
                                    24));
  return CN_EPARSE;
}

int cn__ctype_parse(cn__arena *a, cn_str value, cn__ctype *out,
                    cn__perr *err) {
  /* Not the whole struct: params[] past nparams is never read. */
  out->type = out->charset = out->boundary = CN_STR_NULL;
  out->nparams = 0;
  cn__parsers_errclear(err);
  cn_str s = value.ptr ? cn__str_trim(value) : cn__str("", 0);
  size_t t = token_end(s, 0);
  size_t sub = t + 1 <= s.len ? token_end(s, t + 1) : t;
  if (t == 0 || t >= s.len || s.ptr[t] != '/' || sub == t + 1) {
    char shown[41];
    cn__parsers_errf(err,
                     "invalid Content-Type \"%s\": expected type/subtype",
                     cn__parsers_show(s, shown, 40));
    return CN_EPARSE;
  }
  char *type = lower_dup(a, s.ptr, sub);
  if (!type) {
    cn__parsers_errf(err, "out of memory");
    return CN_ENOMEM;
  }
  int rc = cn__parsers_params(a, cn__str(s.ptr + sub, s.len - sub),
                              out->params, CN__CTYPE_MAX_PARAMS,
                              &out->nparams, "Content-Type", err);
  if (rc) {
    out->nparams = 0;
    return rc;
  }
  out->type = cn__str(type, sub);
  for (size_t i = 0; i < out->nparams; i++) {
    cn__pair *p = &out->params[i];
    if (cn_str_eq(p->key, "boundary")) {
      out->boundary = p->value;
    } else if (cn_str_eq(p->key, "charset")) {
      char *cs = lower_dup(a, p->value.ptr, p->value.len);
      if (!cs) {
        cn__parsers_errf(err, "out of memory");
        return CN_ENOMEM;
      }
      out->charset = cn__str(cs, p->value.len);
    }
  }
  return 0;
}

cn_body_kind cn__body_classify(cn_str t) {
  if (cn_str_eq(t, "application/json") || cn_str_eq(t, "application/ld+json"))
    return CN_BODY_JSON;
  if (cn_str_eq(t, "application/x-www-form-urlencoded"))
    return CN_BODY_FORM;
  if (cn_str_eq(t, "multipart/form-data"))
    return CN_BODY_MULTIPART;
  if (cn_str_eq(t, "text/plain"))
    return CN_BODY_TEXT;
  return CN_BODY_RAW;
}
