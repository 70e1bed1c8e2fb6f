/*
 * The application's routes: endpoints in the route tree, one per URL
 * pattern, each with a handler slot per method. File-system routes
 * (cn_app_add) and programmatic ones (cn_app_route) land in the same tree,
 * so precedence and conflicts are the router's, whatever their origin.
 */
#include <strings.h>

#include "server.h"
#include "page/page.h"

static const char *const method_names[CN__METHODS] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

int cn__method_index(cn_str m) {
  for (int i = 0; i < CN__METHODS; i++)
    if (cn_str_eq(m, method_names[i]))
      return i;
  return -1;
}

cn_app *cn_app_new(void) {
  cn_app *app = cn__calloc(1, sizeof(cn_app));
  if (!app)
    return NULL;
  app->router = cn__router_new();
  if (!app->router) {
    cn__free(app);
    return NULL;
  }
  return app;
}

void cn_app_free(cn_app *app) {
  if (!app)
    return;
  for (cn__endpoint *e = app->endpoints, *n; e; e = n) {
    n = e->next;
    for (cn__table *t = atomic_load(&e->table), *r; t; t = r) {
      r = t->retired;
      cn__free(t);
    }
    cn__free(e->pattern);
    cn__free(e);
  }
  cn__router_free(app->router);
  cn__middleware_free(app->mw);
  cn__pages_free(app->pages);
  cn__free(app->public_dir);
  cn__free(app);
}

/* Parse a route's configuration into the slot. CN_EINVAL on a bad size. */
static int slot_set(cn__route *slot, cn_handler *fn,
                    const cn_route_config *config) {
  cn__route r = {.handler = fn, .response_limit = 4u << 20};
  if (config)
    r.config = *config;
  if (r.config.body_limit && (cn__parse_size(r.config.body_limit,
                                             &r.body_limit) ||
                              !r.body_limit))
    return CN_EINVAL;
  if (r.config.response_limit) {
    if (!strcmp(r.config.response_limit, "off"))
      r.response_limit = SIZE_MAX;
    else if (cn__parse_size(r.config.response_limit, &r.response_limit))
      return CN_EINVAL;
  }
  /* The strings belong to the caller; only the parsed values are kept. */
  r.config.body_limit = r.config.response_limit = NULL;
  *slot = r;
  return 0;
}

/* "Allow: GET, HEAD, OPTIONS, POST": sorted, HEAD with GET, OPTIONS always
 * (RFC 9110 requires it on a 405; Next.js leaves it out). */
static void table_allow(cn__table *t) {
  static const char *const sorted[] = {"DELETE", "GET",   "HEAD", "OPTIONS",
                                       "PATCH",  "POST",  "PUT"};
  static const int idx[] = {CN__M_DELETE, CN__M_GET,  CN__M_HEAD,
                            CN__M_OPTIONS, CN__M_PATCH, CN__M_POST,
                            CN__M_PUT};
  t->allow[0] = '\0';
  for (size_t i = 0; i < CN__ARRAY_LEN(sorted); i++) {
    int on = t->slots[idx[i]].handler || t->slots[CN__M_ANY].handler ||
             idx[i] == CN__M_OPTIONS ||
             (idx[i] == CN__M_HEAD && t->slots[CN__M_GET].handler);
    if (!on)
      continue;
    if (t->allow[0])
      strcat(t->allow, ", ");
    strcat(t->allow, sorted[i]);
  }
}

/* A new table: a copy of old (may be NULL) with slots from def (may be
 * NULL), or one slot replaced. NULL on a bad config or out of memory. */
static cn__table *table_from_def(const cn_route_def *def, const char *what,
                                 char *err, size_t errlen) {
  cn__table *t = cn__calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  cn_handler *fns[CN__METHODS + 1] = {def->GET,   def->HEAD,   def->POST,
                                      def->PUT,   def->PATCH,  def->DELETE,
                                      def->OPTIONS, def->handler};
  int any = 0;
  for (int i = 0; i <= CN__METHODS; i++) {
    if (!fns[i])
      continue;
    any = 1;
    if (slot_set(&t->slots[i], fns[i], &def->config)) {
      if (err)
        snprintf(err, errlen, "%s: invalid body_limit or response_limit",
                 what);
      cn__free(t);
      return NULL;
    }
  }
  if (!any) {
    if (err)
      snprintf(err, errlen, "%s: the route declares no handler", what);
    cn__free(t);
    return NULL;
  }
  table_allow(t);
  return t;
}

/* Publish t as e's table; the old one stays alive behind it. */
static void table_publish(cn__endpoint *e, cn__table *t) {
  t->retired = atomic_load(&e->table);
  atomic_store_explicit(&e->table, t, memory_order_release);
}

static cn__endpoint *endpoint_find(cn_app *app, const char *pattern) {
  for (cn__endpoint *e = app->endpoints; e; e = e->next)
    if (!strcmp(e->pattern, pattern))
      return e;
  return NULL;
}

static int endpoint_new(cn_app *app, const char *pattern, const char *source,
                        cn__endpoint **out, char *err, size_t errlen) {
  cn__endpoint *e = cn__calloc(1, sizeof(*e));
  if (!e || !(e->pattern = cn__strdup(pattern))) {
    cn__free(e);
    return CN_ENOMEM;
  }
  int rc = cn__router_add(app->router, pattern, source, e, err, errlen);
  if (rc) {
    cn__free(e->pattern);
    cn__free(e);
    return rc;
  }
  e->dynamic = strchr(pattern, '[') != NULL;
  e->next = app->endpoints;
  app->endpoints = e;
  app->finished = 0;
  *out = e;
  return 0;
}

int cn_app_route(cn_app *app, const char *method, const char *path,
                 cn_handler *handler, const cn_route_config *config) {
  if (!app || !method || !path || path[0] != '/' || !handler)
    return CN_EINVAL;
  int m = strcmp(method, "*") ? cn__method_index(cn__cstr(method))
                              : CN__M_ANY;
  if (m < 0)
    return CN_EINVAL;
  cn__endpoint *e = endpoint_find(app, path);
  cn__table *old = e ? atomic_load(&e->table) : NULL;
  if (old && old->slots[m].handler)
    return CN_EEXIST;
  cn__table *t = cn__calloc(1, sizeof(*t));
  if (!t)
    return CN_ENOMEM;
  if (old)
    memcpy(t->slots, old->slots, sizeof t->slots);
  int rc = slot_set(&t->slots[m], handler, config);
  if (!rc && !e)
    rc = endpoint_new(app, path, NULL, &e, NULL, 0);
  if (rc) {
    cn__free(t);
    return rc;
  }
  table_allow(t);
  /* Before serving: the previous table is nobody's, free it now. */
  cn__table *prev = atomic_exchange(&e->table, t);
  if (prev)
    t->retired = prev->retired, cn__free(prev);
  return 0;
}

int cn__app_route_inline(cn_app *app, const char *method, const char *path,
                         int (*inline_if)(cn_req *req)) {
  int m = strcmp(method, "*") ? cn__method_index(cn__cstr(method))
                              : CN__M_ANY;
  cn__endpoint *e = m >= 0 ? endpoint_find(app, path) : NULL;
  cn__table *t = e ? atomic_load(&e->table) : NULL;
  if (!t || !t->slots[m].handler)
    return CN_ENOENT;
  t->slots[m].inline_if = inline_if; /* not yet published to any thread */
  return 0;
}

int cn_app_add(cn_app *app, const char *pattern, const char *source,
               const cn_route_def *def, char *err, size_t errlen) {
  if (!app || !pattern || !def)
    return CN_EINVAL;
  cn__table *t = table_from_def(def, source ? source : pattern, err, errlen);
  if (!t)
    return CN_EINVAL;
  cn__endpoint *e;
  int rc = endpoint_new(app, pattern, source, &e, err, errlen);
  if (rc) {
    cn__free(t);
    return rc;
  }
  table_publish(e, t);
  return 0;
}

int cn__app_add_page(cn_app *app, const char *pattern, const char *source,
                     const cn_route_def *def, struct cn__page *page,
                     char *err, size_t errlen) {
  int rc = cn_app_add(app, pattern, source, def, err, errlen);
  if (!rc)
    endpoint_find(app, pattern)->page = page;
  return rc;
}

int cn_app_replace(cn_app *app, const char *pattern, const cn_route_def *def,
                   char *err, size_t errlen) {
  cn__endpoint *e = app ? endpoint_find(app, pattern) : NULL;
  if (!e || !def) {
    if (err)
      snprintf(err, errlen, "%s: no such route", pattern ? pattern : "?");
    return CN_ENOENT;
  }
  cn__table *t = table_from_def(def, pattern, err, errlen);
  if (!t)
    return CN_EINVAL;
  table_publish(e, t);
  return 0;
}

int cn_app_public_dir(cn_app *app, const char *dir) {
  char *d = cn__strdup(dir);
  if (!d)
    return CN_ENOMEM;
  cn__free(app->public_dir);
  app->public_dir = d;
  return 0;
}

int cn__app_finish(cn_app *app, char *err, size_t errlen) {
  if (app->finished)
    return 0;
  int rc = cn__router_finish(app->router, err, errlen);
  if (!rc)
    app->finished = 1;
  return rc;
}

int cn__app_match(const cn_app *app, cn_str method, cn_str path,
                  cn__arena *arena, cn__hit *hit) {
  memset(hit, 0, sizeof(*hit));
  int rc = cn__router_match(app->router, path, arena, &hit->match);
  if (hit->match.trailing_slash)
    return 308;
  if (rc == CN_EPARSE)
    return 400;
  if (rc)
    return rc == CN_ENOENT ? 404 : 500;
  cn__endpoint *e = hit->match.data;
  hit->endpoint = e;
  cn__table *t = atomic_load_explicit(&e->table, memory_order_acquire);
  hit->table = t;
  int m = cn__method_index(method);
  if (m >= 0 && t->slots[m].handler)
    hit->route = &t->slots[m];
  else if (m == CN__M_HEAD && t->slots[CN__M_GET].handler)
    hit->route = &t->slots[CN__M_GET];
  else if (t->slots[CN__M_ANY].handler)
    hit->route = &t->slots[CN__M_ANY];
  else
    return m == CN__M_OPTIONS ? 204 : 405;
  return 0;
}
