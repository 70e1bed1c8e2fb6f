/*
 * .env files: dotenv's syntax, dotenv-expand's substitution, Next.js's
 * precedence. The rules are written down in env.h; this file follows them
 * and says where it departs from the JavaScript originals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"

extern char **environ;

/* ------------------------------------------------------------ parsing */

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static int is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* dotenv first turns CRLF and CR into LF; a NUL byte also ends a line here
 * (a C string would end there anyway). The copy is NUL-terminated. */
static char *normalize(const char *text, size_t len, size_t *outlen) {
  char *s = cn__malloc(len + 1);
  if (!s)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '\r') {
      if (i + 1 < len && text[i + 1] == '\n')
        i++;
      c = '\n';
    } else if (c == '\0') {
      c = '\n';
    }
    s[n++] = c;
  }
  s[n] = '\0';
  *outlen = n;
  return s;
}

/* Inside "...", dotenv turns the two characters \n and \r into a newline
 * and a carriage return, and leaves every other backslash alone. In place;
 * returns the new length. */
static size_t unescape_double(char *v, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '\\' && i + 1 < len && (v[i + 1] == 'n' || v[i + 1] == 'r')) {
      v[o++] = v[i + 1] == 'n' ? '\n' : '\r';
      i++;
    } else {
      v[o++] = v[i];
    }
  }
  return o;
}

/* The closing quote of a value opened at s[open]: the first q not preceded
 * by a backslash that pairs with it (dotenv's (?:\\q|[^q])*). SIZE_MAX when
 * the value never closes. */
static size_t closing_quote(const char *s, size_t len, size_t open) {
  char q = s[open];
  for (size_t j = open + 1; j < len; j++) {
    if (s[j] == '\\' && j + 1 < len && s[j + 1] == q)
      j++;
    else if (s[j] == q)
      return j;
  }
  return SIZE_MAX;
}

/* After a closing quote only blanks and a comment may follow on the line;
 * returns the index of the line's end, or SIZE_MAX when something else
 * follows (dotenv then reads the line as an unquoted value). */
static size_t quoted_tail(const char *s, size_t len, size_t j) {
  while (j < len && is_blank(s[j]))
    j++;
  if (j < len && s[j] == '#')
    while (j < len && s[j] != '\n')
      j++;
  return j >= len || s[j] == '\n' ? j : SIZE_MAX;
}

/* One line starting at i. Returns the index where the next line starts;
 * fills key/value when the line is an assignment (*klen 0 otherwise). The
 * value is a range of s that the caller may modify. */
typedef struct line_out {
  size_t key, klen, val, vlen;
  int dquoted; /* "\n" escapes apply */
} line_out;

static size_t parse_key(const char *s, size_t len, size_t p, size_t *klen) {
  size_t k = p;
  while (p < len && is_key_char(s[p]))
    p++;
  *klen = p - k;
  if (!*klen)
    return SIZE_MAX;
  /* "KEY =", "KEY=" or "KEY: value" */
  size_t q = p;
  while (q < len && is_blank(s[q]))
    q++;
  if (q < len && s[q] == '=')
    return q + 1;
  if (p < len && s[p] == ':' && p + 1 < len && is_blank(s[p + 1]))
    return p + 2;
  return SIZE_MAX;
}

static size_t parse_line(char *s, size_t len, size_t i, line_out *o) {
  size_t eol = i;
  while (eol < len && s[eol] != '\n')
    eol++;
  size_t next = eol < len ? eol + 1 : len;
  memset(o, 0, sizeof(*o));
  size_t p = i;
  while (p < eol && is_blank(s[p]))
    p++;
  size_t klen, after = SIZE_MAX, key = p;
  /* "export KEY=v"; "export=v" and "export =v" set a key named export. */
  if (eol - p > 7 && !memcmp(s + p, "export", 6) && is_blank(s[p + 6])) {
    size_t k = p + 6;
    while (k < eol && is_blank(s[k]))
      k++;
    after = parse_key(s, eol, k, &klen);
    if (after != SIZE_MAX)
      key = k;
  }
  if (after == SIZE_MAX)
    after = parse_key(s, eol, p, &klen);
  if (after == SIZE_MAX)
    return next;
  o->key = key;
  o->klen = klen;
  p = after;
  while (p < eol && is_blank(s[p]))
    p++;
  if (p < eol && (s[p] == '\'' || s[p] == '"' || s[p] == '`')) {
    size_t close = closing_quote(s, len, p);
    size_t end = close == SIZE_MAX ? SIZE_MAX : quoted_tail(s, len, close + 1);
    if (end != SIZE_MAX) {
      o->val = p + 1;
      o->vlen = close - p - 1;
      o->dquoted = s[p] == '"';
      return end < len ? end + 1 : len;
    }
  }
  /* Unquoted: up to a '#' or the end of the line, trimmed; then, as dotenv
   * does, a value that still starts and ends with the same quote loses
   * them ("a" b" stays as it is, "ab" becomes ab). */
  size_t e = p;
  while (e < eol && s[e] != '#')
    e++;
  while (e > p && is_blank(s[e - 1]))
    e--;
  o->dquoted = e > p && s[p] == '"';
  if (e - p >= 2 && (s[p] == '\'' || s[p] == '"' || s[p] == '`') &&
      s[e - 1] == s[p]) {
    p++;
    e--;
  }
  o->val = p;
  o->vlen = e - p;
  return next;
}

int cn__env_parse(const char *text, size_t len, cn__env_visit_fn *visit,
                  void *ud) {
  size_t n;
  char *s = normalize(text, len, &n);
  if (!s)
    return CN_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && !rc;) {
    line_out o;
    i = parse_line(s, n, i, &o);
    if (!o.klen)
      continue;
    size_t vlen = o.dquoted ? unescape_double(s + o.val, o.vlen) : o.vlen;
    rc = visit(s + o.key, o.klen, s + o.val, vlen, ud);
  }
  cn__free(s);
  return rc;
}

/* ---------------------------------------------------------- expansion */

/* The first reference in s at or after from: "${...}" (no nested braces) or
 * "$NAME", not preceded by a backslash. Fills the reference's span and its
 * expression's span. 0 when there is none. */
static int find_ref(const char *s, size_t len, size_t from, size_t *start,
                    size_t *end, size_t *ex, size_t *exlen) {
  for (size_t i = from; i < len; i++) {
    if (s[i] != '$' || (i > 0 && s[i - 1] == '\\') || i + 1 >= len)
      continue;
    if (s[i + 1] == '{') {
      size_t j = i + 2;
      while (j < len && s[j] != '}' && s[j] != '{')
        j++;
      if (j < len && s[j] == '}' && j > i + 2) {
        *start = i, *end = j + 1, *ex = i + 2, *exlen = j - i - 2;
        return 1;
      }
      continue;
    }
    char c = s[i + 1];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'))
      continue;
    size_t j = i + 1;
    while (j < len && (is_key_char(s[j]) && s[j] != '.' && s[j] != '-'))
      j++;
    *start = i, *end = j, *ex = i + 1, *exlen = j - i - 1;
    return 1;
  }
  return 0;
}

/* Split "KEY:-default" at its operator: the leftmost of ":+", "+", ":-",
 * "-". OUT: *op (0 when none, '+' for ":+" and "+", '-' for ":-" and "-"),
 * the key's length, the rest's start. */
static void split_op(const char *e, size_t len, int *op, size_t *klen,
                     size_t *rest) {
  *op = 0;
  *klen = len;
  *rest = len;
  for (size_t i = 0; i < len; i++) {
    if (e[i] == ':' && i + 1 < len && (e[i + 1] == '+' || e[i + 1] == '-')) {
      *op = e[i + 1], *klen = i, *rest = i + 2;
      return;
    }
    if (e[i] == '+' || e[i] == '-') {
      *op = e[i], *klen = i, *rest = i + 1;
      return;
    }
  }
}

/* Replace s[start, end) with r (rlen bytes). */
static int splice(cn__buf *b, size_t start, size_t end, const char *r,
                  size_t rlen) {
  size_t tail = b->len - end;
  if (rlen > end - start && cn__buf_reserve(b, rlen - (end - start) + 1))
    return CN_ENOMEM;
  memmove(b->ptr + start + rlen, b->ptr + end, tail);
  memcpy(b->ptr + start, r, rlen);
  b->len = start + rlen + tail;
  b->ptr[b->len] = '\0';
  return 0;
}

/* dotenv-expand's self-reference check: the results a value went through.
 * A substitution that would bring back one of them takes the default. */
typedef struct seen_set {
  char *items[64];
  size_t n;
} seen_set;

static int seen_has(const seen_set *s, const char *v) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->items[i], v))
      return 1;
  return 0;
}

static void seen_free(seen_set *s) {
  for (size_t i = 0; i < s->n; i++)
    cn__free(s->items[i]);
  s->n = 0;
}

/* One substitution of the reference at [start, end) whose expression is
 * [ex, ex + exlen). */
static int substitute(cn__buf *b, seen_set *seen, size_t start, size_t end,
                      size_t ex, size_t exlen, cn__env_lookup_fn *lookup,
                      void *ud) {
  char name[256];
  int op;
  size_t klen, rest;
  split_op(b->ptr + ex, exlen, &op, &klen, &rest);
  const char *v = NULL;
  if (klen < sizeof name) {
    memcpy(name, b->ptr + ex, klen);
    name[klen] = '\0';
    v = lookup(name, ud);
  }
  int set = v && *v;
  const char *dflt = b->ptr + ex + rest;
  size_t rlen = exlen - rest;
  if (op == '+') { /* the alternative when set, else nothing */
    v = set ? dflt : "";
    rlen = set ? rlen : 0;
  } else if (set && !seen_has(seen, v)) {
    rlen = strlen(v);
  } else {
    v = dflt;
  }
  /* v may point into b, which splice moves: copy it first. */
  char *r = cn__malloc(rlen + 1);
  if (!r)
    return CN_ENOMEM;
  memcpy(r, v, rlen);
  int rc = splice(b, start, end, r, rlen);
  cn__free(r);
  return rc;
}

int cn__env_expand(const char *value, size_t len, cn__env_lookup_fn *lookup,
                   void *ud, char **out) {
  cn__buf b = {0};
  seen_set seen = {.n = 0};
  int rc = CN_ENOMEM;
  *out = NULL;
  if (cn__buf_reserve(&b, len + 1))
    goto cleanup;
  memcpy(b.ptr, value, len);
  b.len = len;
  b.ptr[len] = '\0';
  size_t start, end, ex, exlen;
  /* dotenv-expand starts over from the beginning after each substitution,
   * so a value that brings in another reference is expanded too. */
  while (seen.n < CN__ARRAY_LEN(seen.items) &&
         find_ref(b.ptr, b.len, 0, &start, &end, &ex, &exlen)) {
    if (!(seen.items[seen.n] = cn__strdup(b.ptr)))
      goto cleanup;
    seen.n++;
    if (substitute(&b, &seen, start, end, ex, exlen, lookup, ud))
      goto cleanup;
  }
  /* "\$" is how a file writes a literal dollar sign. */
  size_t o = 0;
  for (size_t i = 0; i < b.len; i++) {
    if (b.ptr[i] == '\\' && i + 1 < b.len && b.ptr[i + 1] == '$')
      continue;
    b.ptr[o++] = b.ptr[i];
  }
  b.ptr[o] = '\0';
  *out = b.ptr;
  b.ptr = NULL;
  rc = 0;
cleanup:
  seen_free(&seen);
  cn__buf_free(&b);
  return rc;
}

/* ------------------------------------------------------------- loading */

static const char *environ_get(char *const *env, const char *name) {
  size_t n = strlen(name);
  for (; env && *env; env++)
    if (!strncmp(*env, name, n) && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

const char *cn__env_mode(int dev, char *const *environ_in) {
  char *const *env = environ_in ? environ_in : environ;
  const char *node = environ_get(env, "NODE_ENV");
  const char *cairn = environ_get(env, "CAIRN_ENV");
  if ((node && !strcmp(node, "test")) || (cairn && !strcmp(cairn, "test")))
    return "test";
  return dev ? "development" : "production";
}

const char *cn__env_get(const cn__env *env, const char *key) {
  for (size_t i = 0; i < env->nvars; i++)
    if (!strcmp(env->vars[i].key, key))
      return env->vars[i].value;
  return NULL;
}

void cn__env_free(cn__env *env) {
  for (size_t i = 0; i < env->nvars; i++) {
    cn__free(env->vars[i].key);
    cn__free(env->vars[i].value);
  }
  cn__free(env->vars);
  memset(env, 0, sizeof(*env));
}

/* Append key = value (both copied, value already expanded or not). */
static int vars_push(cn__env *e, const char *key, size_t klen,
                     const char *value, size_t vlen) {
  if (e->nvars == e->capvars) {
    size_t cap = e->capvars ? e->capvars * 2 : 16;
    cn__env_var *v = cn__realloc(e->vars, cap * sizeof(*v));
    if (!v)
      return CN_ENOMEM;
    e->vars = v;
    e->capvars = cap;
  }
  char *k = cn__malloc(klen + 1), *val = cn__malloc(vlen + 1);
  if (!k || !val) {
    cn__free(k);
    cn__free(val);
    return CN_ENOMEM;
  }
  memcpy(k, key, klen);
  k[klen] = '\0';
  memcpy(val, value, vlen);
  val[vlen] = '\0';
  e->vars[e->nvars++] = (cn__env_var){k, val};
  return 0;
}

/* One file's assignments, the last of a repeated key winning in the place
 * of its first (a JavaScript object's insertion order). */
static int file_visit(const char *key, size_t klen, const char *value,
                      size_t vlen, void *ud) {
  cn__env *f = ud;
  for (size_t i = 0; i < f->nvars; i++) {
    if (strlen(f->vars[i].key) == klen && !memcmp(f->vars[i].key, key, klen)) {
      char *v = cn__malloc(vlen + 1);
      if (!v)
        return CN_ENOMEM;
      memcpy(v, value, vlen);
      v[vlen] = '\0';
      cn__free(f->vars[i].value);
      f->vars[i].value = v;
      return 0;
    }
  }
  return vars_push(f, key, klen, value, vlen);
}

/* Where a reference looks: the process, what files of higher precedence
 * set, then the keys of this file expanded before it. */
typedef struct lookup_ctx {
  char *const *environ_in;
  const cn__env *loaded;
  const cn__env *file;
  size_t done; /* keys of file already expanded */
} lookup_ctx;

static const char *lookup_var(const char *name, void *ud) {
  lookup_ctx *c = ud;
  const char *v = environ_get(c->environ_in, name);
  if (!v)
    v = cn__env_get(c->loaded, name);
  for (size_t i = 0; !v && i < c->done; i++)
    if (!strcmp(c->file->vars[i].key, name))
      v = c->file->vars[i].value;
  return v;
}

/* OUT: *missing when the file is not there (0 returned), *eno the errno
 * of a failure (CN_EIO returned; 0 when the file was too big). */
static int read_file(const char *path, cn__buf *b, int *missing, int *eno) {
  *missing = 0;
  *eno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    *eno = errno;
    *missing = errno == ENOENT || errno == ENOTDIR;
    return *missing ? 0 : CN_EIO;
  }
  int rc = 0;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b->len + n > (16u << 20)) { /* not a .env file any more */
      rc = CN_EIO;
      break;
    }
    if ((rc = cn__buf_append(b, chunk, n)))
      break;
  }
  if (!rc && ferror(f)) {
    *eno = errno;
    rc = CN_EIO;
  }
  fclose(f);
  return rc;
}

/* Read, parse and expand one file, adding its new keys to out. */
static int load_one(cn__env *out, const char *dir, const char *name,
                    char *const *env, char *err, size_t errlen) {
  char path[4096];
  cn__buf text = {0};
  cn__env file = {0};
  int missing, eno, rc;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return CN_EIO;
  if ((rc = read_file(path, &text, &missing, &eno))) {
    if (err)
      snprintf(err, errlen, "%s: cannot read: %s", path,
               eno ? strerror(eno)
                   : rc == CN_EIO ? "larger than 16 MiB" : cn_strerror(rc));
    goto cleanup;
  }
  if (missing)
    goto cleanup;
  out->files[out->nfiles++] = name;
  if ((rc = cn__env_parse(text.ptr ? text.ptr : "", text.len, file_visit,
                          &file)))
    goto cleanup;
  lookup_ctx ctx = {env, out, &file, 0};
  size_t before = out->nvars;
  for (size_t i = 0; i < file.nvars; i++) {
    char *v;
    if ((rc = cn__env_expand(file.vars[i].value, strlen(file.vars[i].value),
                             lookup_var, &ctx, &v)))
      goto cleanup;
    cn__free(file.vars[i].value);
    file.vars[i].value = v;
    ctx.done = i + 1;
    const char *k = file.vars[i].key;
    int known = environ_get(env, k) != NULL;
    for (size_t j = 0; !known && j < before; j++)
      known = !strcmp(out->vars[j].key, k);
    if (!known && (rc = vars_push(out, k, strlen(k), v, strlen(v))))
      goto cleanup;
  }
cleanup:
  cn__buf_free(&text);
  cn__env_free(&file);
  return rc;
}

int cn__env_read(cn__env *out, const char *dir, const char *mode,
                 char *const *environ_in, char *err, size_t errlen) {
  static const char *const names[3][4] = {
      {".env.development.local", ".env.local", ".env.development", ".env"},
      {".env.production.local", ".env.local", ".env.production", ".env"},
      {".env.test.local", NULL, ".env.test", ".env"},
  };
  char *const *env = environ_in ? environ_in : environ;
  int m = !strcmp(mode, "development") ? 0 : !strcmp(mode, "test") ? 2 : 1;
  if (err && errlen)
    err[0] = '\0';
  for (int i = 0; i < 4; i++) {
    if (!names[m][i])
      continue;
    int rc = load_one(out, dir, names[m][i], env, err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

int cn__env_apply(const cn__env *env) {
  for (size_t i = 0; i < env->nvars; i++)
    if (setenv(env->vars[i].key, env->vars[i].value, 0))
      return CN_ENOMEM;
  return 0;
}

int cn__env_load(const char *dir, int dev, cn__env *loaded_out, char *err,
                 size_t errlen) {
  cn__env e = {0};
  int rc = cn__env_read(&e, dir, cn__env_mode(dev, NULL), NULL, err, errlen);
  if (!rc)
    rc = cn__env_apply(&e);
  if (loaded_out)
    *loaded_out = e;
  else
    cn__env_free(&e);
  return rc;
}

const char *cn_env(const char *name) { return name ? getenv(name) : NULL; }
