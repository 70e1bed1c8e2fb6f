/*
 * Rendering one page request: loaders root to leaf, metadata, layouts
 * around the page, and the nearest not-found or error boundary when a
 * level says so.
 *
 * Levels: chain[0..n-1] are the directories from app/ down to the page's
 * own; level i < n is chain[i]'s layout, level n is the page. A boundary
 * file in directory j is wrapped by the layouts 0..j, so it catches what
 * fails in the page (j <= n-1) and in the layouts strictly below j; a
 * layout's failure goes to a boundary above it, as in Next.js.
 */
#include <stdio.h>

#include "page/page_int.h"


/* ------------------------------------------------------------ helpers */

const cn__tpl *cn__render_lookup(void *ud, cn_str name) {
  cn__render *r = ud;
  char path[512];
  if (!name.len || name.len > 200 || name.ptr[0] == '/' ||
      memmem(name.ptr, name.len, "..", 2))
    return NULL;
  int n = snprintf(path, sizeof path, "components/%.*s.html", (int)name.len,
                   name.ptr);
  cn__pslot *s = cn__pages_slot(r->set, path, (size_t)n);
  if (!s) {
    const char *dir = r->pg ? r->pg->dir : "app";
    n = snprintf(path, sizeof path, "%s/%.*s.html", dir, (int)name.len,
                 name.ptr);
    s = n > 0 && (size_t)n < sizeof path ? cn__pages_slot(r->set, path,
                                                          (size_t)n)
                                         : NULL;
  }
  const cn__ptpl *t = cn__pages_tpl(r->set, s, NULL);
  return t ? t->tpl : NULL;
}

/* The route's params as JSON, a catch-all as an array. */
static json_t *params_json(const cn_req *req) {
  json_t *o = json_object();
  const cn__route_match *m = &req->hit.match;
  for (size_t i = 0; o && i < m->nparams; i++) {
    const cn__route_param *p = &m->params[i];
    json_t *v;
    if (p->is_catchall) {
      v = json_array();
      for (size_t k = 0; v && k < p->nvalues; k++)
        if (json_array_append_new(v, json_stringn(p->values[k].ptr,
                                                  p->values[k].len))) {
          json_decref(v);
          v = NULL;
        }
    } else {
      v = json_stringn(p->values[0].ptr, p->values[0].len);
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)p->name.len, p->name.ptr);
    if (!v || json_object_set_new(o, name, v)) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

static const char *def_path(const cn__render *r, size_t level) {
  cn__pdef *d = level < r->n ? r->chain[level]->layout_def
                             : (r->pg ? r->pg->def : NULL);
  return d ? d->path : "?";
}

/* Record why level failed: the loader's own words when it used cn_fail. */
static cn__outcome fail(cn__render *r, size_t level, int rc, const char *what) {
  cn_req *req = r->req;
  r->level = level;
  if (req->fail_msg) {
    snprintf(r->msg, sizeof r->msg, "%s", req->fail_msg);
    snprintf(r->src, sizeof r->src, "%s:%d", req->fail_file, req->fail_line);
  } else {
    snprintf(r->msg, sizeof r->msg, "%s %s", what, cn_strerror(rc));
    snprintf(r->src, sizeof r->src, "%s", def_path(r, level));
  }
  return CN__FAILED;
}

static cn__outcome settle(cn__render *r, size_t level, int rc) {
  if (r->req->res.finished)
    return CN__DONE; /* a redirect, or the loader answered by itself */
  if (rc == 0)
    return CN__GO;
  if (rc == CN_PAGE_NOT_FOUND) {
    r->level = level;
    return CN__NOT_FOUND;
  }
  return fail(r, level, rc < 0 ? rc : CN_ESTATE,
              rc == CN_PAGE_REDIRECT ? "the redirect failed:"
                                     : "the loader failed:");
}

/* The merged metadata of levels 0..upto into r->head. title, when not
 * NULL, is the page's title whatever the levels say (the built-in 404). */
static cn__outcome metadata(cn__render *r, size_t upto, int noindex, int page,
                            const char *title) {
  cn__meta m;
  cn__meta_init(&m);
  for (size_t i = 0; i <= upto && i <= r->n; i++) {
    const cn_page_def *d = r->defs[i];
    if (!d || (i == r->n && !page))
      continue;
    json_t *gen = NULL;
    if (d->generate_metadata) {
      int rc = d->generate_metadata(r->req, r->props[i], &gen);
      cn__outcome o = settle(r, i, rc);
      if (o != CN__GO) {
        json_decref(gen);
        return o;
      }
    }
    int rc = cn__meta_level(&m, &d->metadata, gen, &r->req->arena);
    json_decref(gen);
    if (rc)
      return fail(r, i, rc, "metadata:");
  }
  if (title)
    m.title = title;
  r->head.len = 0;
  if (cn__meta_write(&m, noindex, &r->head))
    return fail(r, r->n, CN_ENOMEM, "metadata:");
  return CN__GO;
}

/* ---------------------------------------------------------- rendering */

/* {{#defer.x}}, {{#form.x}}, {{#live.x}}, {{#island.x}} and
 * {{#error.reset}} (template.h). */
int cn__render_special(void *ud, cn_str ns, cn_str name, int open,
                       const json_t *bind, cn__buf *out) {
  cn__render *r = ud;
  if (ns.ptr[0] == 'e') /* error.reset */
    return cn__page_reset(r, open, out);
  if (ns.len == 5) /* defer */
    return r->njobs ? cn__stream_defer(ud, name, open, out) : 0;
  if (ns.ptr[0] == 'l') /* live */
    return cn__page_live(r, name, open, out);
  if (ns.len == 6) /* island: bind is its props */
    return cn__page_island(r, name, open, bind, out);
  return cn__page_form(r, name, open, bind, out);
}

int cn__render_span(cn__render *r, const cn__ptpl *t, uint32_t from,
                    uint32_t to, json_t *props, cn__tpl_error *te) {
  const json_t *stack[2] = {r->base, props};
  cn__tpl_partials parts = {.lookup = cn__render_lookup, .ud = r,
                            .special = cn__render_special, .why = r->why};
  return cn__tpl_render_span(t->tpl, from, to, stack, props ? 2 : 1, &parts,
                             &r->out, te);
}

static const cn__ptpl *layout_tpl(cn__render *r, size_t i, cn__tpl_error *te) {
  return cn__pages_tpl(r->set, r->chain[i]->layout, te);
}

/* Layouts 0..upto-1 around leaf (a template, or literal text when NULL),
 * then the metadata into the first <head>. On failure, *bad is the level
 * that failed (upto for the leaf) and te says why. */
static int wrap(cn__render *r, size_t upto, const cn__ptpl *leaf,
                const char *text, json_t *leaf_props, size_t *bad,
                cn__tpl_error *te) {
  int rc = 0, first = 1;
  uint32_t count;
  r->out.len = 0;
  r->shell_end = 0;
  for (size_t i = 0; !rc && i < upto; i++) {
    const cn__ptpl *t = layout_tpl(r, i, te);
    if (!t) {
      rc = te->code ? te->code : 0;
      *bad = i;
      continue;
    }
    r->level_now = i;
    rc = cn__render_span(r, t, 0, t->children, r->props[i], te);
    *bad = i;
    if (first)
      r->shell_end = r->out.len, first = 0;
  }
  if (rc)
    return rc;
  *bad = upto;
  r->level_now = upto;
  if (r->seg_marker) { /* the loading.html fallback */
    r->seg->placeholders[r->seg->nplaceholders++] = r->placeholders;
    rc = cn__buf_appendf(&r->out, "<cairn-defer id=\"cd%d\">",
                         r->placeholders++);
  }
  size_t leaf_at = r->out.len;
  r->reset_used = 0;
  if (rc)
    ;
  else if (leaf)
    rc = cn__render_span(r, leaf, 0, (cn__tpl_nodes(leaf->tpl, &count), count),
              leaf_props, te);
  else
    rc = cn__buf_append(&r->out, text, strlen(text));
  if (!rc && r->error_box >= 0 && r->reset_used)
    rc = cn__page_reset_box(&r->out, leaf_at, (int)r->error_box);
  if (!rc && r->seg_marker)
    rc = cn__buf_appendf(&r->out, "</cairn-defer>");
  if (first)
    r->shell_end = r->out.len;
  for (size_t i = upto; !rc && i-- > 0;) {
    const cn__ptpl *t = layout_tpl(r, i, te);
    if (!t)
      continue;
    const cn__tpl_node *nodes = cn__tpl_nodes(t->tpl, &count);
    *bad = i;
    r->level_now = i;
    rc = cn__render_span(r, t, nodes[t->children].end, count, r->props[i], te);
  }
  if (!rc && !r->inline_defer)
    rc = cn__meta_insert(&r->out, 0, r->shell_end ? r->shell_end : r->out.len,
                         &r->head);
  return rc;
}

static cn__outcome render_tpl_error(cn__render *r, size_t level, int rc,
                                const cn__tpl_error *te) {
  r->level = level;
  if (te->message[0] && te->line)
    snprintf(r->msg, sizeof r->msg, "%s:%u:%u: %s", te->name, te->line,
             te->column, te->message);
  else if (te->message[0])
    snprintf(r->msg, sizeof r->msg, "%s", te->message);
  else
    snprintf(r->msg, sizeof r->msg, "rendering failed: %s", cn_strerror(rc));
  snprintf(r->src, sizeof r->src, "%s",
           te->name[0] ? te->name : "a template");
  return CN__FAILED;
}

/* Whether this answer goes into the full-route cache: a page that read no
 * request-time data and is not dynamic, answering 200 or 404. */
static int storeable(const cn__render *r, int status) {
  return r->pg && !r->set->dev && !r->set->building && !r->action &&
         !r->nokey &&
         !atomic_load(&r->req->dynamic_used) &&
         cn__page_kind_of(r->pg) != CN__PAGE_DYNAMIC &&
         (status == 200 || status == 404);
}

static int has_header(const cn_res *res, const char *name) {
  for (size_t i = 0; i < res->nheaders; i++)
    if (cn_str_ieq(res->headers[i].name, name))
      return 1;
  return 0;
}

static int answer_error(cn__render *r);
static int builtin_error(cn__render *r, const char *digest, int details);

/* r->out holds a server-only value (taint.h): fail as a 500 naming where,
 * never sending it. A page's answer becomes its error page; should that
 * hold it too (a layout that shows it), the built-in one without details;
 * and should even that (a digest that happens to match), a fixed text. */
static int refuse_tainted(cn__render *r, const cn__taint_hit *hit,
                          const char *where) {
  cn__pjobs_finish(r);
  if (r->tainted++ >= 2) {
    r->out.len = 0;
    cn__buf_appendf(&r->out, "<!DOCTYPE html><title>500</title><h1>500</h1>");
    return cn_res_status(&r->req->res, 500) ||
                   cn_res_header(&r->req->res, "Content-Type",
                                 "text/html; charset=utf-8")
               ? CN_ENOMEM
               : cn_res_send(&r->req->res, r->out.ptr, r->out.len);
  }
  cn__taint_describe(hit, where, r->msg, sizeof r->msg);
  snprintf(r->src, sizeof r->src, "%s", def_path(r, r->n));
  r->level = r->n;
  if (r->tainted == 1)
    return answer_error(r);
  char digest[16];
  snprintf(digest, sizeof digest, "%08x", cn__render_digest(r->msg, r->src));
  fprintf(stderr, "cairn: %.*s %.*s: %s (at %s; digest %s)\n",
          (int)r->req->msg.rl.method.len, r->req->msg.rl.method.ptr,
          (int)r->req->msg.rl.path.len, r->req->msg.rl.path.ptr, r->msg,
          r->src, digest);
  return builtin_error(r, digest, 0);
}

static int finish(cn__render *r, int status, const char *cache_control) {
  cn_res *res = &r->req->res;
  cn__taint_hit hit;
  if (r->out.len && cn__taint_find(r->out.ptr, r->out.len, &hit))
    return refuse_tainted(r, &hit,
                          r->tainted ? "the error page shown instead"
                          : status == 500 ? "the error page"
                                          : "the rendered page");
  int rc = cn_res_status(res, status);
  r->keep = storeable(r, status);
  if (r->keep)
    cache_control = cn__page_cache_control(r->pg, status);
  else if (r->action)
    cache_control = "no-cache, no-store, max-age=0, must-revalidate";
  if (!rc && !res->has_type)
    rc = cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
  /* A Cache-Control the loader set itself is kept. */
  if (!rc && cache_control && !has_header(res, "cache-control"))
    rc = cn_res_header(res, "Cache-Control", cache_control);
  if (!rc && r->keep)
    rc = cn_res_header(res, "X-Cairn-Cache",
                       r->req->revalidated ? "REVALIDATED" : "MISS");
  if (!rc && r->keep && status == 200) {
    char etag[24]; /* the one its HITs will carry */
    cn__page_etag(r->out.ptr, r->out.len, etag);
    rc = cn_res_header(res, "ETag", etag);
  }
  return rc ? rc : cn_res_send(res, r->out.ptr ? r->out.ptr : "", r->out.len);
}

/* ---------------------------------------------------------- boundaries */

uint32_t cn__render_digest(const char *msg, const char *src) {
  uint32_t h = 2166136261u;
  for (const char *p = msg; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  for (const char *p = src; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

/* The last resort: no error.html above the failure, or it failed too. */
static int builtin_error(cn__render *r, const char *digest, int details) {
  r->out.len = 0;
  cn__buf *o = &r->out;
  int rc = cn__buf_appendf(
      o, "<!DOCTYPE html><html><head>" CN__META_DEFAULTS
         "<title>500: Internal Server Error</title></head><body><h1>Application "
         "error: a server-side exception has occurred</h1><p>Digest: %s</p>",
      digest);
  if (!rc && details) {
    rc = cn__buf_appendf(o, "<pre>");
    if (!rc)
      rc = cn__tpl_escape(o, r->msg, strlen(r->msg));
    if (!rc)
      rc = cn__buf_appendf(o, "\n    at ");
    if (!rc)
      rc = cn__tpl_escape(o, r->src, strlen(r->src));
    if (!rc)
      rc = cn__buf_appendf(o, "</pre>");
  }
  if (!rc)
    rc = cn__buf_appendf(o, "</body></html>");
  return rc ? rc : finish(r, 500, "no-store");
}

static int details_on(const cn__render *r) {
  return r->set->dev || (r->req->loop && r->req->loop->server->config.dev);
}

/* The nearest boundary directory for a failure at level, or -1. */
long cn__render_nearest(const cn__render *r, size_t level, int not_found) {
  long j = level >= r->n ? (long)r->n - 1 : (long)level - 1;
  for (; j >= 0; j--)
    if (not_found ? r->chain[j]->not_found != NULL
                  : r->chain[j]->error != NULL)
      return j;
  return -1;
}

static int answer_error(cn__render *r) {
  cn__pjobs_finish(r); /* no section streams into an error page */
  char digest[16];
  snprintf(digest, sizeof digest, "%08x", cn__render_digest(r->msg, r->src));
  cn_req *req = r->req;
  fprintf(stderr, "cairn: %.*s %.*s: %s (at %s; digest %s)\n",
          (int)req->msg.rl.method.len, req->msg.rl.method.ptr,
          (int)req->msg.rl.path.len, req->msg.rl.path.ptr, r->msg, r->src,
          digest);
  if (!req->fail_msg) { /* the build reports prerender failures with it */
    req->fail_msg = cn__arena_printf(&req->arena, "%s", r->msg);
    req->fail_file = cn__arena_printf(&req->arena, "%s", r->src);
  }
  int details = details_on(r);
  long j = cn__render_nearest(r, r->level, 0);
  if (j < 0)
    return builtin_error(r, digest, details);
  json_t *err = json_pack("{s:{s:s,s:s}}", "error", "message",
                          details ? r->msg
                                  : "An error occurred while rendering this "
                                    "page.",
                          "digest", digest);
  if (err && details)
    json_object_set_new(json_object_get(err, "error"), "source",
                        json_string(r->src));
  cn__tpl_error te = {0};
  const cn__ptpl *t = cn__pages_tpl(r->set, r->chain[j]->error, &te);
  size_t bad;
  int rc = !err ? CN_ENOMEM : !t ? CN_ENOENT : 0;
  if (!rc && metadata(r, (size_t)j, 0, 0, NULL) != CN__GO)
    rc = CN_EIO;
  r->error_box = j;
  if (!rc)
    rc = wrap(r, (size_t)j + 1, t, NULL, err, &bad, &te);
  r->error_box = -1;
  json_decref(err);
  if (rc)
    return builtin_error(r, digest, details);
  return finish(r, 500, "no-store");
}

static int answer_not_found(cn__render *r) {
  cn__pjobs_finish(r);
  long j = cn__render_nearest(r, r->level, 1);
  cn__tpl_error te = {0};
  size_t bad;
  const cn__ptpl *t = j >= 0 ? cn__pages_tpl(r->set, r->chain[j]->not_found,
                                             &te)
                             : NULL;
  /* Without a not-found.html, Next.js's text inside the root layout, when
   * the root layout itself is not what said "not found". */
  size_t upto = j >= 0 ? (size_t)j + 1 : (r->n && r->level > 0 ? 1 : 0);
  const char *text = "<h1>404</h1><p>This page could not be found.</p>";
  if (!upto) {
    cn__meta m;
    cn__meta_init(&m);
    m.title = "404: This page could not be found.";
    r->head.len = 0;
    if (cn__meta_write(&m, 1, &r->head))
      return CN_ENOMEM;
    text = "<!DOCTYPE html><html><body><h1>404</h1><p>This page could not "
           "be found.</p></body></html>";
  } else if (metadata(r, upto - 1, 1, 0,
                      t ? NULL : "404: This page could not be found.") !=
             CN__GO) {
    return answer_error(r);
  }
  int rc = wrap(r, upto, t, text, NULL, &bad, &te);
  if (rc) {
    render_tpl_error(r, bad, rc, &te);
    return answer_error(r);
  }
  return finish(r, 404, "no-store");
}

/* ---------------------------------------------------------- the page */

/* The shallowest loading.html of the page's chain, when the page can
 * stream behind it: not at build, not for HEAD, and only when no level below
 * it computes metadata from its props (metadata goes out first). */
static size_t loading_level(cn__render *r) {
  if (r->set->building || r->req->offline || r->req->msg.is_head)
    return 0;
  for (size_t j = 0; j < r->n; j++) {
    if (!r->chain[j]->loading)
      continue;
    for (size_t i = j + 1; i <= r->n; i++) {
      cn__pdef *d = i < r->n ? r->chain[i]->layout_def : r->pg->def;
      const cn_page_def *def = d ? atomic_load(&d->def) : NULL;
      if (def && def->generate_metadata)
        return 0;
    }
    return j + 1;
  }
  return 0;
}

int cn__render_subtree(cn__render *r, size_t from, cn__buf *out,
                       cn__tpl_error *te) {
  cn__buf saved = r->out;
  size_t bad, shell = r->shell_end;
  cn__buf head = r->head;
  r->out = (cn__buf){0}; /* wrap() starts from empty */
  r->head = (cn__buf){0}; /* no metadata inside the body */
  r->inline_defer = 1;
  const cn__ptpl *t = cn__pages_tpl(r->set, r->pg->tpl, te);
  /* wrap() starts at level 0: skip the levels above by rendering them
   * empty. */
  size_t n = r->n;
  cn__pdir **chain = r->chain;
  json_t **props = r->props;
  r->chain += from;
  r->props += from;
  r->n -= from;
  cn__pjob *seg = r->seg;
  r->seg = NULL;
  int rc = t ? wrap(r, r->n, t, NULL, r->props[r->n], &bad, te) : CN_ENOENT;
  r->seg = seg;
  r->chain = chain;
  r->props = props;
  r->n = n;
  r->inline_defer = 0;
  cn__buf_free(&r->head);
  r->head = head;
  if (!rc && r->out.len)
    rc = cn__buf_append(out, r->out.ptr, r->out.len);
  cn__buf_free(&r->out);
  r->out = saved;
  r->shell_end = shell;
  return rc;
}

static int run(cn__render *r, int not_found_page) {
  cn_req *req = r->req;
  r->seg_from = loading_level(r);
  cn__outcome o = cn__render_load(r, 0, r->seg_from ? r->seg_from - 1 : r->n,
                                  not_found_page);
  if (o == CN__GO)
    o = metadata(r, r->n, 0, 1, NULL);
  if (o == CN__GO) {
    cn__tpl_error te = {0};
    size_t bad = 0;
    const cn__ptpl *t =
        r->seg ? cn__pages_tpl(r->set, r->chain[r->seg_from - 1]->loading, &te)
               : cn__pages_tpl(r->set, r->pg->tpl, &te);
    size_t upto = r->seg ? r->seg_from : r->n;
    r->seg_marker = r->seg != NULL;
    int rc = t ? wrap(r, upto, t, NULL, r->seg ? NULL : r->props[r->n], &bad,
                      &te)
               : (bad = upto, te.code ? te.code : CN_ENOENT);
    r->seg_marker = 0;
    const char *cc = cn__page_kind_of(r->pg) == CN__PAGE_DYNAMIC ||
                             atomic_load(&req->dynamic_used)
                         ? "private, no-cache, no-store, max-age=0, "
                           "must-revalidate"
                         : "s-maxage=31536000, stale-while-revalidate";
    cn__taint_hit hit;
    if (rc)
      o = render_tpl_error(r, bad < r->n ? bad : r->n, rc, &te);
    else if (r->placeholders &&
             cn__taint_find(r->out.ptr, r->out.len, &hit))
      return refuse_tainted(r, &hit, "the page's shell");
    else if (r->placeholders)
      return cn__stream_send(r, cc);
    else
      return finish(r, 200, cc);
  }
  switch (o) {
  case CN__DONE:
    return 0;
  case CN__NOT_FOUND:
    return answer_not_found(r);
  default:
    return answer_error(r);
  }
}

static int begin(cn__render *r, cn_req *req, cn__page *pg, cn__pages *set) {
  memset(r, 0, sizeof(*r));
  r->error_box = -1;
  r->req = req;
  r->pg = pg;
  r->set = set;
  r->chain = pg ? pg->chain : &set->root;
  r->n = pg ? pg->nchain : (set->root ? 1 : 0);
  r->props = cn__arena_alloc(&req->arena, (r->n + 1) * sizeof(json_t *));
  r->defs = cn__arena_alloc(&req->arena, (r->n + 1) * sizeof(*r->defs));
  json_t *params = params_json(req);
  r->base = params ? json_pack("{s:o}", "params", params) : NULL;
  if (!r->props || !r->defs || !r->base)
    return CN_ENOMEM;
  memset(r->props, 0, (r->n + 1) * sizeof(json_t *));
  memset(r->defs, 0, (r->n + 1) * sizeof(*r->defs));
  return 0;
}

static void end(cn__render *r) {
  cn__pjobs_finish(r);
  for (size_t i = 0; r->props && i <= r->n; i++)
    json_decref(r->props[i]);
  json_decref(r->base);
  cn__buf_free(&r->out);
  cn__buf_free(&r->head);
}

int cn__page_render(cn_req *req, json_t *action) {
  cn__page *pg = req->hit.endpoint ? req->hit.endpoint->page : NULL;
  cn__render r;
  if (!pg)
    return CN_ESTATE;
  int rc = begin(&r, req, pg, pg->set);
  if (!rc && action) {
    r.action = 1;
    rc = json_object_set(r.base, "action", action) ? CN_ENOMEM : 0;
  }
  const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
  char *key = rc ? NULL : cn__page_key(req, pg);
  int unlisted = 0;
  /* No key (a catch-all longer than a key holds, or no memory): rendered,
   * never kept, and never one of the listed params. */
  if (!rc && pg->has_params && def && def->dynamic_params_off &&
      def->static_params && (!key || !cn__page_is_listed(pg, key)))
    unlisted = 1;
  /* Not kept: no key, or an unlisted param's 404 (one entry per guessed
   * URL would fill the cache). */
  r.nokey = !key || unlisted;
  if (!rc)
    rc = run(&r, unlisted);
  if (!rc && atomic_load(&req->dynamic_used))
    atomic_store(&pg->saw_dynamic, 1);
  if (!rc && r.keep && key && req->res.finished && !req->res.streaming) {
    cn__pentry e = {.status = req->res.status,
                    .body = req->res.body.ptr,
                    .len = req->res.body.len};
    cn__page_store(&req->arena, pg, key, &e, req->tags, req->ntags);
  }
  end(&r);
  return rc;
}

int cn__page_handler(cn_req *req, cn_res *res) {
  (void)res;
  return cn__page_render(req, NULL);
}

int cn__page_not_found_handler(cn_req *req, cn_res *res) {
  cn__pages *set = req->loop ? req->loop->server->app->pages : NULL;
  cn__render r;
  (void)res;
  if (!set)
    return CN_ESTATE;
  int rc = begin(&r, req, NULL, set);
  if (!rc) {
    /* As if a page below the root said "not found": the root layout's
     * loader runs, its deferred sections are not waited for. */
    cn__outcome o = r.n ? cn__render_load(&r, 0, r.n - 1, 0) : CN__GO;
    cn__pjobs_finish(&r);
    if (o == CN__GO)
      r.level = r.n;
    rc = o == CN__DONE      ? 0
         : o == CN__FAILED ? answer_error(&r)
                            : answer_not_found(&r);
  }
  end(&r);
  return rc;
}
