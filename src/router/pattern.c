/*
 * Patterns: from a file path to a URL pattern, and the checks one pattern
 * must pass on its own. The sentences are Next.js's (sorted-routes.ts, and
 * for empty names and "…" the newer app-paths validation), so that its users
 * recognise them.
 */
#include <stdarg.h>
#include <stdio.h>

#include "router/router_int.h"

void cn__route_errf(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* JavaScript compares strings by UTF-16 code unit. On UTF-8 that is byte
 * order except that U+E000..U+FFFF (lead bytes EE, EF) sort after the
 * supplementary planes (lead bytes F0..F4, surrogates in UTF-16). Moving EE
 * and EF above every other byte is a permutation of byte values, so the
 * lexicographic order stays total even on invalid UTF-8. */
static unsigned js_rank(unsigned char c) {
  if (c == 0xEE || c == 0xEF)
    return c + 0x10u;
  if (c >= 0xF0)
    return c - 2u;
  return c;
}

int cn__route_name_cmp(cn_str a, cn_str b) {
  size_t n = CN__MIN(a.len, b.len);
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
    if (x != y)
      return js_rank(x) < js_rank(y) ? -1 : 1;
  }
  return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static int starts(cn_str s, const char *p) {
  size_t n = strlen(p);
  return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

static int ends(cn_str s, const char *p) {
  size_t n = strlen(p);
  return s.len >= n && memcmp(s.ptr + s.len - n, p, n) == 0;
}

static int is_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/* a and b are equal once JavaScript's \W characters are removed from both
 * (every byte of a non-ASCII character is \W, as its code units are). */
static int eq_word_chars(cn_str a, cn_str b) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.len && !is_word((unsigned char)a.ptr[i]))
      i++;
    while (j < b.len && !is_word((unsigned char)b.ptr[j]))
      j++;
    if (i == a.len || j == b.len)
      return i == a.len && j == b.len;
    if (a.ptr[i++] != b.ptr[j++])
      return 0;
  }
}

static int contains(cn_str s, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= s.len; i++)
    if (memcmp(s.ptr + i, needle, n) == 0)
      return 1;
  return 0;
}

#define S(x) (int)(x).len, (x).ptr

/* One bracketed segment, "[" ... "]": fills seg's type and name the way
 * UrlNode._insert reads it, then applies its checks against the names met
 * so far in this path (segs[0..i)). */
static int parse_dynamic(cn_str pattern, cn__route_seg *segs, size_t i,
                         char *err, size_t errlen) {
  cn__route_seg *seg = &segs[i];
  cn_str name = {seg->raw.ptr + 1, seg->raw.len - 2};
  int optional = 0, catchall = 0;
  if (starts(name, "[") && ends(name, "]") && name.len >= 2) {
    name.ptr++;
    name.len -= 2;
    optional = 1;
  }
  if (starts(name, "...")) {
    name.ptr += 3;
    name.len -= 3;
    catchall = 1;
  }
  if (starts(name, "[") || ends(name, "]")) {
    cn__route_errf(err, errlen,
                   "Segment names may not start or end with extra brackets "
                   "('%.*s').", S(name));
    return CN_EINVAL;
  }
  if (starts(name, ".")) {
    cn__route_errf(err, errlen,
                   "Segment names may not start with erroneous periods "
                   "('%.*s').", S(name));
    return CN_EINVAL;
  }
  if (name.len == 0) {
    cn__route_errf(err, errlen,
                   "Parameter names cannot be empty in route \"%.*s\".",
                   S(pattern));
    return CN_EINVAL;
  }
  if (contains(name, "\xE2\x80\xA6")) {
    cn__route_errf(err, errlen,
                   "Detected a three-dot character ('\xE2\x80\xA6') in "
                   "parameter \"%.*s\" in route \"%.*s\". Did you mean "
                   "('...')?", S(name), S(pattern));
    return CN_EINVAL;
  }
  if (!catchall && optional) {
    cn__route_errf(err, errlen,
                   "Optional route parameters are not yet supported "
                   "(\"%.*s\").", S(seg->raw));
    return CN_EINVAL;
  }
  for (size_t k = 0; k < i; k++) {
    cn_str prev = segs[k].name;
    if (segs[k].type == CN__SEG_STATIC)
      continue;
    if (prev.len == name.len && memcmp(prev.ptr, name.ptr, name.len) == 0) {
      cn__route_errf(err, errlen,
                     "You cannot have the same slug name \"%.*s\" repeat "
                     "within a single dynamic path", S(name));
      return CN_EINVAL;
    }
    if (eq_word_chars(prev, name)) {
      cn__route_errf(err, errlen,
                     "You cannot have the slug names \"%.*s\" and \"%.*s\" "
                     "differ only by non-word symbols within a single "
                     "dynamic path", S(prev), S(name));
      return CN_EINVAL;
    }
  }
  seg->name = name;
  seg->type = !catchall ? CN__SEG_PARAM
                        : optional ? CN__SEG_OPTIONAL : CN__SEG_CATCHALL;
  return 0;
}

int cn__route_parse(const char *pattern, size_t len, cn__route_seg *segs,
                    size_t *nsegs, char *err, size_t errlen) {
  cn_str pat = {pattern, len};
  *nsegs = 0;
  if (len > CN__ROUTE_PATTERN_MAX) {
    cn__route_errf(err, errlen, "Route patterns may not be longer than %d "
                   "bytes.", CN__ROUTE_PATTERN_MAX);
    return CN_ETOOBIG;
  }
  if (len == 0 || pattern[0] != '/') {
    cn__route_errf(err, errlen, "Route patterns must start with \"/\" "
                   "(\"%.*s\").", S(pat));
    return CN_EINVAL;
  }
  if (memchr(pattern, '\0', len)) {
    cn__route_errf(err, errlen, "Route patterns may not contain NUL bytes.");
    return CN_EINVAL;
  }
  if (len == 1)
    return 0;
  if (pattern[len - 1] == '/') {
    cn__route_errf(err, errlen, "Route patterns may not end with \"/\" "
                   "(\"%.*s\").", S(pat));
    return CN_EINVAL;
  }
  size_t n = 0, pos = 1;
  while (pos <= len) {
    const char *slash = memchr(pattern + pos, '/', len - pos);
    size_t end = slash ? (size_t)(slash - pattern) : len;
    cn_str raw = {pattern + pos, end - pos};
    if (n && segs[n - 1].type >= CN__SEG_CATCHALL) {
      cn__route_errf(err, errlen, "Catch-all must be the last part of the "
                     "URL.");
      return CN_EINVAL;
    }
    if (n == CN__ROUTE_DEPTH_MAX) {
      cn__route_errf(err, errlen, "Route patterns may not be deeper than %d "
                     "segments.", CN__ROUTE_DEPTH_MAX);
      return CN_ETOOBIG;
    }
    if (raw.len == 0 || (raw.len == 1 && raw.ptr[0] == '.') ||
        (raw.len == 2 && raw.ptr[0] == '.' && raw.ptr[1] == '.')) {
      cn__route_errf(err, errlen, "Route patterns may not contain empty, "
                     "\".\" or \"..\" segments (\"%.*s\").", S(pat));
      return CN_EINVAL;
    }
    segs[n].raw = raw;
    segs[n].name = raw;
    segs[n].type = CN__SEG_STATIC;
    if (raw.len >= 2 && starts(raw, "[") && ends(raw, "]")) {
      int rc = parse_dynamic(pat, segs, n, err, errlen);
      if (rc)
        return rc;
    } else if (starts(raw, "[") || ends(raw, "]")) {
      /* Next would take "[id" for a static name; it is always a typo. */
      cn__route_errf(err, errlen, "Segment names may not start or end with "
                     "extra brackets ('%.*s').", S(raw));
      return CN_EINVAL;
    }
    n++;
    pos = end + 1;
  }
  *nsegs = n;
  return 0;
}

int cn__route_pattern_check(const char *pattern, char *err, size_t errlen) {
  cn__route_seg segs[CN__ROUTE_DEPTH_MAX];
  size_t n;
  if (!pattern) {
    cn__route_errf(err, errlen, "Route patterns must start with \"/\" (\"\").");
    return CN_EINVAL;
  }
  return cn__route_parse(pattern, strlen(pattern), segs, &n, err, errlen);
}

const char *cn__route_kind_name(cn__route_kind kind) {
  switch (kind) {
  case CN__ROUTE_NONE: return "none";
  case CN__ROUTE_PAGE: return "page";
  case CN__ROUTE_PAGE_LOADER: return "page loader";
  case CN__ROUTE_HANDLER: return "route handler";
  case CN__ROUTE_API: return "API route";
  case CN__ROUTE_LAYOUT: return "layout";
  case CN__ROUTE_LAYOUT_LOADER: return "layout loader";
  case CN__ROUTE_LOADING: return "loading";
  case CN__ROUTE_ERROR: return "error";
  case CN__ROUTE_NOT_FOUND: return "not-found";
  case CN__ROUTE_ACTIONS: return "server actions";
  }
  return "unknown";
}

int cn__route_kind_is_endpoint(cn__route_kind kind) {
  return kind == CN__ROUTE_PAGE || kind == CN__ROUTE_HANDLER ||
         kind == CN__ROUTE_API;
}

static const struct {
  const char *file;
  cn__route_kind kind;
} app_files[] = {
    {"page.html", CN__ROUTE_PAGE},
    {"page.c", CN__ROUTE_PAGE_LOADER},
    {"route.c", CN__ROUTE_HANDLER},
    {"layout.html", CN__ROUTE_LAYOUT},
    {"layout.c", CN__ROUTE_LAYOUT_LOADER},
    {"loading.html", CN__ROUTE_LOADING},
    {"error.html", CN__ROUTE_ERROR},
    {"not-found.html", CN__ROUTE_NOT_FOUND},
    {"actions.c", CN__ROUTE_ACTIONS},
};

static int eq(cn_str s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

enum { TREE_NONE, TREE_APP, TREE_API };

/* The kind of the file named by the last component, and which tree it is
 * in. comps[0] is "app" or "pages". */
static cn__route_kind classify(const cn_str *comps, size_t n, int *tree) {
  cn_str file = comps[n - 1];
  *tree = TREE_NONE;
  if (eq(comps[0], "app") && n >= 2) {
    *tree = TREE_APP;
    for (size_t i = 0; i < CN__ARRAY_LEN(app_files); i++)
      if (eq(file, app_files[i].file))
        return app_files[i].kind;
  } else if (eq(comps[0], "pages") && n >= 3 && eq(comps[1], "api") &&
             ends(file, ".c") && file.len > 2) {
    *tree = TREE_API;
    return CN__ROUTE_API;
  }
  return CN__ROUTE_NONE;
}

/* Append one folder (or pages/api file stem) to the pattern being built.
 * Folder groups add nothing; "%5F" stands for a leading "_". */
static int add_folder(cn__buf *pat, cn_str c, int tree, int is_stem,
                      const char *relpath, char *err, size_t errlen) {
  if (tree == TREE_APP && c.ptr[0] == '@') {
    cn__route_errf(err, errlen, "%s: Parallel routes (\"%.*s\") are not "
                   "supported by cairn.", relpath, S(c));
    return CN_EINVAL;
  }
  if (tree == TREE_APP && (starts(c, "(.)") || starts(c, "(..)") ||
                           starts(c, "(...)"))) {
    cn__route_errf(err, errlen, "%s: Intercepting routes (\"%.*s\") are not "
                   "supported by cairn.", relpath, S(c));
    return CN_EINVAL;
  }
  if (!is_stem && starts(c, "(") && ends(c, ")") && c.len >= 2)
    return 0;
  if (cn__buf_append(pat, "/", 1))
    return CN_ENOMEM;
  if (starts(c, "%5F") || starts(c, "%5f")) {
    if (cn__buf_append(pat, "_", 1))
      return CN_ENOMEM;
    c.ptr += 3;
    c.len -= 3;
  }
  return cn__buf_append(pat, c.ptr, c.len) ? CN_ENOMEM : 0;
}

/* Split relpath at '/', refusing what a directory walk cannot produce. */
static int split_path(const char *relpath, cn_str *comps, size_t *n,
                      char *err, size_t errlen) {
  size_t len = strlen(relpath), pos = 0, k = 0;
  while (pos <= len) {
    const char *slash = memchr(relpath + pos, '/', len - pos);
    size_t end = slash ? (size_t)(slash - relpath) : len;
    cn_str c = {relpath + pos, end - pos};
    if (c.len == 0 || eq(c, ".") || eq(c, "..")) {
      cn__route_errf(err, errlen, "%s: not a normalised relative path "
                     "(empty, \".\" or \"..\" component).", relpath);
      return CN_EINVAL;
    }
    if (k == CN__ROUTE_DEPTH_MAX + 3) {
      cn__route_errf(err, errlen, "%s: Route patterns may not be deeper than "
                     "%d segments.", relpath, CN__ROUTE_DEPTH_MAX);
      return CN_ETOOBIG;
    }
    comps[k++] = c;
    pos = end + 1;
  }
  *n = k;
  return 0;
}

int cn__route_pattern_from_file(const char *relpath, cn__route_kind *kind,
                                char *out, size_t outcap, char *err,
                                size_t errlen) {
  cn_str comps[CN__ROUTE_DEPTH_MAX + 3];
  cn__buf pat = {0};
  size_t n = 0;
  int tree, rc;
  char msg[CN__ROUTE_PATTERN_MAX + 512];
  *kind = CN__ROUTE_NONE;
  if (out && outcap)
    out[0] = '\0';
  if (!relpath || !out) {
    cn__route_errf(err, errlen, "no path given");
    return CN_EINVAL;
  }
  if ((rc = split_path(relpath, comps, &n, err, errlen)))
    return rc;
  for (size_t i = 0; i < n; i++)
    if (comps[i].ptr[0] == '_' || comps[i].ptr[0] == '.')
      return 0; /* private or hidden: never routed, never an error */
  cn__route_kind k = classify(comps, n, &tree);
  if (k == CN__ROUTE_NONE)
    return 0;
  /* app/<folders>/<file>; pages/<api/folders>/<stem>.c */
  size_t last = n - 1;
  for (size_t i = 1; i < last; i++)
    if ((rc = add_folder(&pat, comps[i], tree, 0, relpath, err, errlen)))
      goto cleanup;
  if (tree == TREE_API) {
    cn_str stem = {comps[last].ptr, comps[last].len - 2};
    if (!eq(stem, "index") &&
        (rc = add_folder(&pat, stem, tree, 1, relpath, err, errlen)))
      goto cleanup;
  }
  if (pat.len == 0 && (rc = cn__buf_append(&pat, "/", 1) ? CN_ENOMEM : 0))
    goto cleanup;
  if ((rc = cn__buf_append(&pat, "", 1) ? CN_ENOMEM : 0))
    goto cleanup;
  if ((rc = cn__route_pattern_check(pat.ptr, msg, sizeof msg))) {
    cn__route_errf(err, errlen, "%s: %s", relpath, msg);
    goto cleanup;
  }
  if (pat.len > outcap) {
    cn__route_errf(err, errlen, "%s: the pattern does not fit in %zu bytes",
                   relpath, outcap);
    rc = CN_ETOOBIG;
    goto cleanup;
  }
  memcpy(out, pat.ptr, pat.len);
  *kind = k;
cleanup:
  cn__buf_free(&pat);
  return rc;
}
