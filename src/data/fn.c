/*
 * The registry of an app's data functions, and the layer's life: opening
 * the store, migrating, publishing the layer for cn_req_ctx, closing.
 *
 * Every definition is checked here, once, before the server listens: the
 * build runs the server with --functions to print them, so a duplicate
 * name or a malformed schema fails `cairn build` with the file named, and
 * a running server never meets a definition it cannot honour.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/data.h"

/* ------------------------------------------------------------- names */

int cn__fn_ident(cn_str s, size_t max) {
  if (!s.ptr || !s.len || s.len > max)
    return 0;
  for (size_t i = 0; i < s.len; i++) {
    char c = s.ptr[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
             (i && c >= '0' && c <= '9');
    if (!ok)
      return 0;
  }
  return 1;
}

int cn__fn_path_ok(cn_str path) {
  const char *colon = path.ptr ? memchr(path.ptr, ':', path.len) : NULL;
  if (!colon)
    return 0;
  size_t m = (size_t)(colon - path.ptr);
  return cn__fn_ident(cn__str(path.ptr, m), CN__FN_NAME_MAX) &&
         cn__fn_ident(cn__str(colon + 1, path.len - m - 1), CN__FN_NAME_MAX);
}

const char *cn__fn_kind_name(cn_fn_kind kind) {
  switch (kind) {
  case CN_QUERY: return "query";
  case CN_MUTATION: return "mutation";
  case CN_ACTION: return "action";
  default: return "function";
  }
}

/* ---------------------------------------------------------- checking */

static int bad(char *err, size_t errlen, const cn__fn *f, const char *fmt,
               const char *a) {
  int n = snprintf(err, errlen, "%s: %s: ", f->source, f->path);
  if (n >= 0 && (size_t)n < errlen)
    snprintf(err + n, errlen - (size_t)n, fmt, a);
  return CN_EINVAL;
}

static int ident(const char *s) {
  return s && cn__fn_ident(cn__cstr(s), CN__FN_NAME_MAX);
}

static int check_args(const cn__fn *f, char *err, size_t errlen) {
  const cn_fn_def *def = f->def;
  size_t n = 0;
  while (n < CN__ARRAY_LEN(def->args) && def->args[n].name)
    n++;
  for (size_t i = n; i < CN__ARRAY_LEN(def->args); i++)
    if (def->args[i].name)
      return bad(err, errlen, f, "the argument \"%s\" follows one with no "
                                 "name (the list ends there)",
                 def->args[i].name);
  for (size_t i = 0; i < n; i++) {
    const cn_fn_arg *a = &def->args[i];
    if (!*a->name)
      return bad(err, errlen, f, "an argument has an empty name%s", "");
    for (size_t j = 0; j < i; j++)
      if (!strcmp(def->args[j].name, a->name))
        return bad(err, errlen, f, "the argument \"%s\" is declared twice",
                   a->name);
    if ((int)a->type < CN_T_ANY || a->type > CN_T_OBJECT)
      return bad(err, errlen, f, "the argument \"%s\" has an unknown type",
                 a->name);
    int bounded = a->type == CN_T_INT || a->type == CN_T_NUMBER
                      ? a->min != 0 || a->max != 0
                      : (a->type == CN_T_STRING || a->type == CN_T_ARRAY) &&
                            a->max > 0;
    if (isnan(a->min) || isnan(a->max) || (bounded && a->min > a->max))
      return bad(err, errlen, f, "the argument \"%s\" has min > max",
                 a->name);
  }
  return 0;
}

/* The argument an owner rule reads the row by: required, a string or an
 * integer (the row's id). */
static int owner_key_ok(const cn_fn_def *def, const char *key) {
  for (size_t i = 0; i < CN__ARRAY_LEN(def->args) && def->args[i].name; i++)
    if (!strcmp(def->args[i].name, key))
      return !def->args[i].optional && (def->args[i].type == CN_T_STRING ||
                                        def->args[i].type == CN_T_INT);
  return 0;
}

static int check_auth(const cn__fn *f, char *err, size_t errlen) {
  const cn_fn_auth *a = &f->def->auth;
  switch (a->kind) {
  case CN_AUTH_PUBLIC:
  case CN_AUTH_USER:
    return 0;
  case CN_AUTH_OWNER:
    if (!ident(a->table) || !ident(a->column) || !a->key)
      return bad(err, errlen, f, "an owner rule needs .table and .column "
                                 "(identifiers) and .key%s", "");
    if (!owner_key_ok(f->def, a->key))
      return bad(err, errlen, f, "the owner rule's key \"%s\" must be a "
                                 "required string or integer argument",
                 a->key);
    return 0;
  case CN_AUTH_GROUP:
    if (!a->claim || !*a->claim || !a->group)
      return bad(err, errlen, f, "a group rule needs .claim and .group%s",
                 "");
    return 0;
  case CN_AUTH_CUSTOM:
    if (!a->check)
      return bad(err, errlen, f, "a custom rule needs .check%s", "");
    return 0;
  default:
    return bad(err, errlen, f, "the auth rule's kind is unknown%s", "");
  }
}

static int check_fn(const cn__fn *f, char *err, size_t errlen) {
  const cn_fn_def *def = f->def;
  if (!ident(def->name))
    return bad(err, errlen, f, "a function name must be an identifier "
                               "(letters, digits, _; at most 64)%s", "");
  if (def->kind != CN_QUERY && def->kind != CN_MUTATION &&
      def->kind != CN_ACTION)
    return bad(err, errlen, f, "the kind must be CN_QUERY, CN_MUTATION or "
                               "CN_ACTION%s", "");
  if (!def->fn)
    return bad(err, errlen, f, "the function has no .fn%s", "");
  int rc = check_args(f, err, errlen);
  return rc ? rc : check_auth(f, err, errlen);
}

static int by_path(const void *a, const void *b) {
  return strcmp(((const cn__fn *)a)->path, ((const cn__fn *)b)->path);
}

int cn__fns_build(const cn_manifest_data *mods, size_t n, cn__fns *out,
                  char *err, size_t errlen) {
  size_t total = 0;
  memset(out, 0, sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    const cn_manifest_data *m = &mods[i];
    if (!m->module || !cn__fn_ident(cn__cstr(m->module), CN__FN_NAME_MAX)) {
      snprintf(err, errlen, "%s: a data module's name must be an identifier "
                            "(letters, digits, _; at most 64)",
               m->source ? m->source : "data/?");
      return CN_EINVAL;
    }
    if (!m->def) {
      snprintf(err, errlen, "%s: the file declares no functions (CN_DATA(...) "
                            "is missing)",
               m->source ? m->source : m->module);
      return CN_EINVAL;
    }
    for (size_t j = 0; j < CN__ARRAY_LEN(m->def->fns); j++)
      total += m->def->fns[j].name || m->def->fns[j].fn;
  }
  if (total && (!(out->v = cn__calloc(total, sizeof(cn__fn))) ||
                !(out->recent_us = cn__calloc(total, sizeof(*out->recent_us)))))
    return CN_ENOMEM;
  for (size_t i = 0; i < total; i++)
    atomic_init(&out->recent_us[i], UINT32_MAX);
  for (size_t i = 0; i < n; i++) {
    const cn_manifest_data *m = &mods[i];
    for (size_t j = 0; m->def && j < CN__ARRAY_LEN(m->def->fns); j++) {
      const cn_fn_def *def = &m->def->fns[j];
      if (!def->name && !def->fn)
        continue;
      cn__fn *f = &out->v[out->n++];
      f->def = def;
      f->module = m->module;
      f->source = m->source ? m->source : m->module;
      snprintf(f->path, sizeof f->path, "%s:%s", m->module,
               def->name ? def->name : "?");
      int rc = check_fn(f, err, errlen);
      if (rc)
        return rc;
    }
  }
  if (out->n)
    qsort(out->v, out->n, sizeof(cn__fn), by_path);
  for (size_t i = 1; i < out->n; i++)
    if (!strcmp(out->v[i].path, out->v[i - 1].path))
      return bad(err, errlen, &out->v[i], "the name is declared twice%s", "");
  return 0;
}

void cn__fns_free(cn__fns *r) {
  cn__free(r->v);
  cn__free((void *)r->recent_us);
  memset(r, 0, sizeof(*r));
}

void cn__fn_ran(const cn__fns *r, const cn__fn *fn, uint64_t us) {
  _Atomic uint32_t *p = &r->recent_us[fn - r->v];
  uint32_t s = us > 1000000 ? 1000000 : (uint32_t)us, old = atomic_load(p);
  /* Racing writers may lose a sample; an average needs no more. */
  atomic_store(p, old == UINT32_MAX ? s : (old / 4) * 3 + s / 4);
}

int cn__fn_inline_ok(const cn__fns *r, const cn__fn *fn, int limit_us) {
  return limit_us > 0 &&
         atomic_load(&r->recent_us[fn - r->v]) < (uint32_t)limit_us;
}

const cn__fn *cn__fns_find(const cn__fns *r, cn_str path) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *p = r->v[mid].path;
    size_t n = strlen(p);
    int c = memcmp(p, path.ptr, CN__MIN(n, path.len));
    if (!c)
      c = n < path.len ? -1 : n > path.len;
    if (!c)
      return &r->v[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}
