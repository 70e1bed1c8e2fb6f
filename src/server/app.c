/*
 * The programmatic route table: method + exact path -> handler. The
 * file-system router compiles onto this API; its tree replaces the list.
 */
#include <strings.h>

#include "server.h"

cn_app *cn_app_new(void) { return cn__calloc(1, sizeof(cn_app)); }

void cn_app_free(cn_app *app) {
  if (!app)
    return;
  for (cn__route *r = app->routes, *n; r; r = n) {
    n = r->next;
    cn__free(r->method);
    cn__free(r->path);
    cn__free(r);
  }
  cn__free(app->public_dir);
  cn__free(app);
}

int cn_app_route(cn_app *app, const char *method, const char *path,
                 cn_handler *handler, const cn_route_config *config) {
  if (!app || !method || !path || path[0] != '/' || !handler)
    return CN_EINVAL;
  if (strcmp(method, "*") && !cn__header_name_valid(method, strlen(method)))
    return CN_EINVAL;
  for (cn__route *r = app->routes; r; r = r->next)
    if (!strcmp(r->method, method) && !strcmp(r->path, path))
      return CN_EEXIST;
  cn__route *r = cn__calloc(1, sizeof(*r));
  if (!r)
    return CN_ENOMEM;
  r->method = cn__strdup(method);
  r->path = cn__strdup(path);
  if (!r->method || !r->path) {
    cn__free(r->method);
    cn__free(r->path);
    cn__free(r);
    return CN_ENOMEM;
  }
  r->handler = handler;
  if (config)
    r->config = *config;
  r->response_limit = 4u << 20;
  if ((r->config.body_limit &&
       (cn__parse_size(r->config.body_limit, &r->body_limit) ||
        !r->body_limit)) ||
      (r->config.response_limit && strcmp(r->config.response_limit, "off") &&
       cn__parse_size(r->config.response_limit, &r->response_limit))) {
    cn__free(r->method);
    cn__free(r->path);
    cn__free(r);
    return CN_EINVAL;
  }
  if (r->config.response_limit && !strcmp(r->config.response_limit, "off"))
    r->response_limit = SIZE_MAX;
  /* The strings belong to the caller; only the parsed values are kept. */
  r->config.body_limit = r->config.response_limit = NULL;
  /* Append, so the first route added for a pair is found first. */
  cn__route **tail = &app->routes;
  while (*tail)
    tail = &(*tail)->next;
  *tail = r;
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

const cn__route *cn__app_find(const cn_app *app, cn_str method, cn_str path,
                              int *path_exists) {
  const cn__route *get = NULL, *any = NULL;
  int head = cn_str_eq(method, "HEAD");
  *path_exists = 0;
  for (const cn__route *r = app->routes; r; r = r->next) {
    if (strlen(r->path) != path.len || memcmp(r->path, path.ptr, path.len))
      continue;
    *path_exists = 1;
    if (cn_str_eq(method, r->method))
      return r;
    if (head && !strcmp(r->method, "GET"))
      get = r;
    if (!strcmp(r->method, "*"))
      any = any ? any : r;
  }
  return get ? get : any;
}
