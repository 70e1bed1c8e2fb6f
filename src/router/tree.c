/*
 * The tree: routes are collected by add, then finish inserts them in a
 * canonical order, reporting conflicts the way Next's UrlNode does, and the
 * finished tree is walked by match (match.c) and foreach.
 */
#include <stdio.h>
#include <stdlib.h>

#include "router/router_int.h"

cn__router *cn__router_new(void) {
  return cn__calloc(1, sizeof(cn__router));
}

static void rnode_free(cn__rnode *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->nkids; i++)
    rnode_free(n->kids[i]);
  cn__free(n->kids);
  rnode_free(n->param);
  cn__free(n);
}

static void route_free(cn__route *rt) {
  if (!rt)
    return;
  cn__free(rt->pattern);
  cn__free(rt->source);
  cn__free(rt->names);
  cn__free(rt->segs);
  cn__free(rt);
}

void cn__router_free(cn__router *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nroutes; i++)
    route_free(r->routes[i]);
  cn__free(r->routes);
  rnode_free(r->root);
  cn__free(r);
}

/* Point a slice of rt->pattern at the same bytes of rt->names. */
static cn_str rebase(const cn__route *rt, cn_str s) {
  return cn__str(rt->names + (s.ptr - rt->pattern), s.len);
}

int cn__router_add(cn__router *r, const char *pattern, const char *source_file,
                   void *data, char *err, size_t errlen) {
  cn__route_seg segs[CN__ROUTE_DEPTH_MAX];
  char msg[CN__ROUTE_PATTERN_MAX + 512];
  cn__route *rt = NULL;
  size_t n, len;
  int rc;
  cn__route_errf(err, errlen, "%s", "");
  if (!r || !pattern) {
    cn__route_errf(err, errlen, "no router or no pattern");
    return CN_EINVAL;
  }
  if (r->finished) {
    cn__route_errf(err, errlen, "%s: routes cannot be added after "
                   "cn__router_finish", source_file ? source_file : pattern);
    return CN_ESTATE;
  }
  len = strlen(pattern);
  if ((rc = cn__route_parse(pattern, len, segs, &n, msg, sizeof msg))) {
    cn__route_errf(err, errlen, "%s: %s", source_file ? source_file : pattern,
                   msg);
    return rc;
  }
  rc = CN_ENOMEM;
  if (cn__array_grow(&r->routes, &r->caproutes, r->nroutes,
                     sizeof(*r->routes)))
    goto cleanup;
  if (!(rt = cn__calloc(1, sizeof(*rt))) ||
      !(rt->pattern = cn__strdup(pattern)) ||
      !(rt->names = cn__strdup(pattern)) ||
      (source_file && !(rt->source = cn__strdup(source_file))) ||
      (n && !(rt->segs = cn__calloc(n, sizeof(*rt->segs)))))
    goto cleanup;
  /* Parse the copy so the slices point into memory the route owns. */
  cn__route_parse(rt->pattern, len, segs, &n, NULL, 0);
  for (size_t i = 0; i < n; i++) {
    rt->segs[i].type = segs[i].type;
    rt->segs[i].name = rebase(rt, segs[i].name);
    rt->segs[i].raw = segs[i].raw;
    rt->names[segs[i].name.ptr - rt->pattern + segs[i].name.len] = '\0';
  }
  rt->nsegs = n;
  rt->data = data;
  r->routes[r->nroutes++] = rt;
  rt = NULL;
  rc = 0;
cleanup:
  if (rc)
    cn__route_errf(err, errlen, "%s: out of memory",
                   source_file ? source_file : pattern);
  route_free(rt);
  return rc;
}

/* ------------------------------------------------------------- conflicts */

static const char *src_name(const cn__route *rt) {
  return rt->source ? rt->source : rt->pattern;
}

static int has_prefix(const char *s, const char *p) {
  return s && strncmp(s, p, strlen(p)) == 0;
}

static int is_app_route_file(const char *s) {
  size_t n = s ? strlen(s) : 0;
  return has_prefix(s, "app/") && n >= 8 && strcmp(s + n - 8, "/route.c") == 0;
}

static int is_app_page_file(const char *s) {
  size_t n = s ? strlen(s) : 0;
  return has_prefix(s, "app/") && n >= 10 &&
         strcmp(s + n - 10, "/page.html") == 0;
}

/* The same URL twice: Next's sentence for the pair of places it came from.
 * a sorts before b. */
static void dup_message(cn__buf *out, const cn__route *a, const cn__route *b) {
  const char *x = src_name(a), *y = src_name(b);
  if ((has_prefix(x, "app/") && has_prefix(y, "pages/")) ||
      (has_prefix(x, "pages/") && has_prefix(y, "app/"))) {
    if (has_prefix(x, "pages/")) {
      const char *t = x;
      x = y;
      y = t;
    }
    cn__buf_appendf(out, "Conflicting app and page file found: \"%s\" and "
                    "\"%s\". Please remove one to continue.", x, y);
  } else if (is_app_route_file(x) && is_app_page_file(y)) {
    cn__buf_appendf(out, "Conflicting route and page at %s: route at %s and "
                    "page at %s", a->pattern, x, y);
  } else if (is_app_page_file(x) && is_app_route_file(y)) {
    cn__buf_appendf(out, "Conflicting route and page at %s: route at %s and "
                    "page at %s", a->pattern, y, x);
  } else if (has_prefix(x, "app/") && has_prefix(y, "app/")) {
    cn__buf_appendf(out, "You cannot have two parallel pages that resolve to "
                    "the same path. Please check %s and %s.", x, y);
  } else {
    cn__buf_appendf(out, "Duplicate page detected. %s and %s both resolve to "
                    "%s.", x, y, a->pattern);
  }
}

#define S(x) (int)(x).len, (x).ptr

/* Would inserting rt conflict with what the tree holds? Walks without
 * changing anything. Returns 0, or CN_EINVAL / CN_EEXIST with one line
 * appended to out. */
static int check(const cn__rnode *n, const cn__route *rt, cn__buf *out) {
  const cn__route *other = NULL;
  int rc = CN_EINVAL;
  size_t mark = out->len;
  for (size_t i = 0; n && i < rt->nsegs; i++) {
    const cn__route_seg *s = &rt->segs[i];
    switch (s->type) {
    case CN__SEG_STATIC:
      n = cn__rnode_find(n, s->name);
      continue;
    case CN__SEG_PARAM:
      if (n->param && cn__route_name_cmp(n->param_name, s->name) != 0) {
        other = n->param_owner;
        cn__buf_appendf(out, "You cannot use different slug names for the "
                        "same dynamic path ('%.*s' !== '%.*s').",
                        S(n->param_name), S(s->name));
        goto conflict;
      }
      n = n->param;
      continue;
    case CN__SEG_CATCHALL:
      if ((other = n->opt)) {
        cn__buf_appendf(out, "You cannot use both an optional and required "
                        "catch-all route at the same level (\"[[...%.*s]]\" "
                        "and \"%.*s\").", S(other->segs[i].name), S(s->raw));
        goto conflict;
      }
      other = n->rest;
      break;
    case CN__SEG_OPTIONAL:
      if ((other = n->rest)) {
        cn__buf_appendf(out, "You cannot use both a required and optional "
                        "catch-all route at the same level (\"[...%.*s]\" "
                        "and \"%.*s\" ).", S(other->segs[i].name), S(s->raw));
        goto conflict;
      }
      if ((other = n->opt))
        break;
      if ((other = n->index)) {
        cn__buf_appendf(out, "You cannot define a route with the same "
                        "specificity as an optional catch-all route (\"%s\" "
                        "and \"%s\").", other->pattern, rt->pattern);
        goto conflict;
      }
      return 0;
    }
    /* A catch-all ends the pattern: other holds the route already there. */
    if (other && cn__route_name_cmp(other->segs[i].name, s->name) != 0) {
      cn__buf_appendf(out, "You cannot use different slug names for the same "
                      "dynamic path ('%.*s' !== '%.*s').",
                      S(other->segs[i].name), S(s->name));
      goto conflict;
    }
    if (other)
      goto duplicate;
    return 0;
  }
  if (!n)
    return 0;
  if ((other = n->opt)) {
    cn__buf_appendf(out, "You cannot define a route with the same specificity "
                    "as an optional catch-all route (\"%s\" and \"%s\").",
                    rt->pattern, other->pattern);
    goto conflict;
  }
  if (!(other = n->index))
    return 0;
duplicate:
  dup_message(out, other, rt);
  return CN_EEXIST;
conflict:
  /* Insert "<file>: " before the sentence, then name the other file. */
  {
    char *line = cn__strdup(out->len > mark ? out->ptr + mark : "");
    out->len = mark;
    cn__buf_appendf(out, "%s: %s (conflicts with %s)", src_name(rt),
                    line ? line : "", src_name(other));
    cn__free(line);
  }
  return rc;
}

static cn__rnode *rnode_new(cn_str name) {
  cn__rnode *n = cn__calloc(1, sizeof(*n));
  if (n)
    n->name = name;
  return n;
}

/* Where name is, or would go, among n's sorted static children. */
static size_t bisect(const cn__rnode *n, cn_str name, int *found) {
  size_t lo = 0, hi = n->nkids;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cn__route_name_cmp(n->kids[mid]->name, name);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const cn__rnode *cn__rnode_find(const cn__rnode *n, cn_str name) {
  int found;
  size_t at = bisect(n, name, &found);
  return found ? n->kids[at] : NULL;
}

/* The static child called name, created in order if missing; NULL when out
 * of memory. */
static cn__rnode *kid(cn__rnode *n, cn_str name) {
  int found;
  size_t at = bisect(n, name, &found);
  if (found)
    return n->kids[at];
  if (n->nkids == n->capkids) {
    size_t cap = n->capkids ? n->capkids * 2 : 4;
    cn__rnode **grown = cn__realloc(n->kids, cap * sizeof(*grown));
    if (!grown)
      return NULL;
    n->kids = grown;
    n->capkids = cap;
  }
  cn__rnode *k = rnode_new(name);
  if (!k)
    return NULL;
  memmove(n->kids + at + 1, n->kids + at, (n->nkids - at) * sizeof(*n->kids));
  n->kids[at] = k;
  n->nkids++;
  return k;
}

/* Insert a route that check() accepted. 0 or CN_ENOMEM. */
static int insert(cn__rnode *n, const cn__route *rt) {
  for (size_t i = 0; i < rt->nsegs; i++) {
    const cn__route_seg *s = &rt->segs[i];
    switch (s->type) {
    case CN__SEG_STATIC:
      if (!(n = kid(n, s->name)))
        return CN_ENOMEM;
      break;
    case CN__SEG_PARAM:
      if (!n->param) {
        if (!(n->param = rnode_new(s->name)))
          return CN_ENOMEM;
        n->param_name = s->name;
        n->param_owner = rt;
      }
      n = n->param;
      break;
    case CN__SEG_CATCHALL:
      n->rest = rt;
      return 0;
    case CN__SEG_OPTIONAL:
      n->opt = rt;
      return 0;
    }
  }
  n->index = rt;
  return 0;
}

static int canonical_cmp(const void *pa, const void *pb) {
  const cn__route *a = *(const cn__route *const *)pa;
  const cn__route *b = *(const cn__route *const *)pb;
  int c = strcmp(a->pattern, b->pattern);
  if (c)
    return c;
  if (!a->source || !b->source)
    return (a->source != NULL) - (b->source != NULL);
  return strcmp(a->source, b->source);
}

int cn__router_finish(cn__router *r, char *err, size_t errlen) {
  cn__route **order = NULL;
  cn__buf msgs = {0};
  int rc = 0, first = 0;
  cn__route_errf(err, errlen, "%s", "");
  if (!r)
    return CN_EINVAL;
  if (r->finished) {
    cn__route_errf(err, errlen, "the router is already finished");
    return CN_ESTATE;
  }
  rnode_free(r->root);
  r->root = rnode_new(CN_STR(""));
  if (!r->root ||
      (r->nroutes && !(order = cn__malloc(r->nroutes * sizeof(*order))))) {
    rc = CN_ENOMEM;
    goto cleanup;
  }
  if (r->nroutes)
    memcpy(order, r->routes, r->nroutes * sizeof(*order));
  /* Stable keys make the result independent of insertion order (equal
   * pattern and source are interchangeable). */
  if (r->nroutes > 1)
    qsort(order, r->nroutes, sizeof(*order), canonical_cmp);
  for (size_t i = 0; i < r->nroutes; i++) {
    size_t before = msgs.len;
    if (before && cn__buf_append(&msgs, "\n", 1)) {
      rc = CN_ENOMEM;
      goto cleanup;
    }
    int c = check(r->root, order[i], &msgs);
    if (c) {
      if (!first)
        first = c;
      continue;
    }
    msgs.len = before;
    if ((rc = insert(r->root, order[i])))
      goto cleanup;
  }
  r->finished = 1;
  rc = first;
  if (msgs.len && cn__buf_append(&msgs, "", 1) == 0)
    cn__route_errf(err, errlen, "%s", msgs.ptr);
  else if (msgs.len)
    cn__route_errf(err, errlen, "%s", "conflicting routes (out of memory "
                   "while writing the message)");
cleanup:
  if (rc == CN_ENOMEM) {
    rnode_free(r->root);
    r->root = NULL;
    r->finished = 0;
    cn__route_errf(err, errlen, "out of memory");
  }
  cn__free(order);
  cn__buf_free(&msgs);
  return rc;
}

/* ---------------------------------------------------------------- listing */

static int visit(const cn__route *rt, cn__route_visit_fn *cb, void *ud) {
  cn__route_info info = {rt->pattern, rt->source, rt->data};
  return cb(&info, ud);
}

/* Next's UrlNode._smoosh order: own index, static children (sorted), the
 * [x] subtree, [...x], [[...x]]. */
static int walk(const cn__rnode *n, cn__route_visit_fn *cb, void *ud) {
  int rc;
  if (n->index && (rc = visit(n->index, cb, ud)))
    return rc;
  for (size_t i = 0; i < n->nkids; i++)
    if ((rc = walk(n->kids[i], cb, ud)))
      return rc;
  if (n->param && (rc = walk(n->param, cb, ud)))
    return rc;
  if (n->rest && (rc = visit(n->rest, cb, ud)))
    return rc;
  if (n->opt && (rc = visit(n->opt, cb, ud)))
    return rc;
  return 0;
}

int cn__router_foreach(const cn__router *r, cn__route_visit_fn *cb, void *ud) {
  if (!r || !cb)
    return CN_EINVAL;
  if (!r->finished)
    return CN_ESTATE;
  return walk(r->root, cb, ud);
}
