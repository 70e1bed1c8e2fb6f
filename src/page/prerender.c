/*
 * Static generation. At build, `.cairn/server --prerender .cairn/pages`
 * renders every page that can be static, and every param set a page lists,
 * through the same handler that serves requests, with a request that has no
 * connection and no headers. A render that reads request-time data makes
 * its page dynamic (what it rendered is thrown away), as Next.js decides
 * at build. What stays is written to the directory with a manifest:
 *
 *   {"build_id": "...", "actions_key": "<fingerprint of the key>",
 *    "routes": {"/about": "static", "/blog/[slug]": "prerendered", ...},
 *    "pages": [{"path": "/blog/hello", "route": "/blog/[slug]",
 *               "status": 200, "file": "3.html", "location": null}, ...]}
 *
 * and a started server loads it into the full-route cache (cn__pages_load).
 * A page holding a server action's form is left out when the server's
 * actions key is not the one the build rendered with (CAIRN_ACTIONS_KEY
 * set for the instances, not for `cairn build`): its IDs would be refused,
 * so it renders on demand, with the right ones.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "actions/actions.h"
#include "cache/cache.h"
#include "page/page.h"
#include "server/server.h"

static pthread_mutex_t listed_mu = PTHREAD_MUTEX_INITIALIZER;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Call .static_params and turn each entry into its path. CN_EINVAL with a
 * sentence in err for an entry that does not give the pattern's params. */
static int list_params(cn__page *pg, char ***out, size_t *nout, char *err,
                       size_t errlen) {
  const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
  json_t *arr = NULL, *v;
  cn__buf b = {0};
  size_t i, n = 0, cap = 0;
  char **v_out = NULL;
  *out = NULL;
  *nout = 0;
  if (!def || !def->static_params)
    return 0;
  int rc = def->static_params(&arr);
  if (!rc && !json_is_array(arr)) {
    snprintf(err, errlen, "%s/page.c: static_params must give an array of "
                          "objects", pg->dir);
    rc = CN_EINVAL;
  } else if (rc) {
    snprintf(err, errlen, "%s/page.c: static_params failed: %s", pg->dir,
             cn_strerror(rc));
  }
  json_array_foreach(rc ? NULL : arr, i, v) {
    if ((rc = cn__page_path(pg->pattern, v, &b))) {
      char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      snprintf(err, errlen,
               "%s/page.c: static_params entry %zu (%s) does not give the "
               "params of %s (strings; arrays of strings for catch-alls)",
               pg->dir, i, dump ? dump : "?", pg->pattern);
      free(dump);
      break;
    }
    if (cn__array_grow(&v_out, &cap, n, sizeof(char *)) ||
        !(v_out[n] = cn__strdup(b.ptr))) {
      rc = CN_ENOMEM;
      break;
    }
    n++;
  }
  json_decref(arr);
  cn__buf_free(&b);
  if (rc) {
    for (i = 0; i < n; i++)
      cn__free(v_out[i]);
    cn__free(v_out);
    return rc;
  }
  if (n)
    qsort(v_out, n, sizeof(char *), cmp_str);
  *out = v_out;
  *nout = n;
  return 0;
}

int cn__page_listed(cn__page *pg) {
  if (atomic_load(&pg->listed_done))
    return pg->listed_rc;
  pthread_mutex_lock(&listed_mu);
  if (!atomic_load(&pg->listed_done)) {
    char err[512];
    pg->listed_rc = list_params(pg, &pg->listed, &pg->nlisted, err,
                                sizeof err);
    if (pg->listed_rc)
      fprintf(stderr, "cairn: %s\n", err);
    atomic_store(&pg->listed_done, 1);
  }
  pthread_mutex_unlock(&listed_mu);
  return pg->listed_rc;
}

int cn__page_is_listed(cn__page *pg, const char *key) {
  if (cn__page_listed(pg))
    return 0;
  return pg->nlisted && bsearch(&key, pg->listed, pg->nlisted, sizeof(char *),
                                cmp_str) != NULL;
}

/* ------------------------------------------------------------ building */

typedef struct rendered {
  int status;
  char *location;
  cn__buf body;
  int dynamic;
  json_t *tags; /* what the render fetched or cached */
} rendered;

static int render_one(cn_app *app, cn__page *pg, const char *path,
                      rendered *out, char *err, size_t errlen) {
  cn_req *req = cn__req_detached(app, path);
  int rc = 0;
  memset(out, 0, sizeof(*out));
  if (!req)
    return CN_ENOMEM;
  if (req->decision || !req->hit.endpoint || req->hit.endpoint->page != pg) {
    snprintf(err, errlen, "%s: the listed path %s is answered by another "
                          "route", pg->pattern, path);
    rc = CN_EINVAL;
    goto cleanup;
  }
  if (cn__req_prepare(req) || (rc = cn__page_handler(req, &req->res)) ||
      !req->res.finished) {
    snprintf(err, errlen, "%s: %s", path,
             rc ? cn_strerror(rc) : "the page did not render");
    rc = rc ? rc : CN_EIO;
    goto cleanup;
  }
  out->dynamic = atomic_load(&req->dynamic_used);
  out->tags = json_array();
  for (size_t i = 0; out->tags && i < req->ntags; i++)
    json_array_append_new(out->tags, json_string(req->tags[i]));
  out->status = req->res.status;
  if (out->status >= 500) {
    snprintf(err, errlen, "Error occurred prerendering page \"%s\": %s (at %s)",
             path, req->fail_msg ? req->fail_msg : "?",
             req->fail_file ? req->fail_file : "?");
    rc = CN_EIO;
    goto cleanup;
  }
  for (size_t i = 0; i < req->res.nheaders; i++)
    if (cn_str_ieq(req->res.headers[i].name, "location")) {
      cn_str l = req->res.headers[i].value;
      if (!(out->location = cn__malloc(l.len + 1)))
        rc = CN_ENOMEM;
      else
        memcpy(out->location, l.ptr, l.len), out->location[l.len] = '\0';
    }
  if (!rc)
    rc = cn__buf_append(&out->body, req->res.body.ptr ? req->res.body.ptr : "",
                        req->res.body.len);
cleanup:
  cn__req_free_detached(req);
  return rc;
}

static int write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return CN_EIO;
  size_t w = n ? fwrite(p, 1, n, f) : 0;
  return fclose(f) || w != n ? CN_EIO : 0;
}

/* Old outputs go, so a page that turned dynamic leaves nothing behind. */
static int clean_dir(const char *dir) {
  if (mkdir(dir, 0777) && errno != EEXIST)
    return CN_EIO;
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[4096];
  if (!d)
    return CN_EIO;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') {
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      remove(path);
    }
  closedir(d);
  return 0;
}

/* Render the paths of one page; add them to the manifest unless the page
 * turned out dynamic. Returns the page's kind, or -1 on failure. */
static int build_page(cn_app *app, cn__page *pg, const char *dir,
                      json_t *pages, size_t *nfile) {
  char err[1024], file[64], path[4096];
  char **paths = NULL;
  size_t n = 0;
  int kind = cn__page_kind_of(pg), failed = 0;
  if (kind == CN__PAGE_DYNAMIC)
    return kind;
  if (pg->has_params && list_params(pg, &paths, &n, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  json_t *mine = json_array();
  for (size_t i = 0; mine && !failed && i < (pg->has_params ? n : 1); i++) {
    rendered r;
    const char *p = pg->has_params ? paths[i] : pg->pattern;
    if (render_one(app, pg, p, &r, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      failed = 1;
    } else if (r.dynamic) {
      kind = CN__PAGE_DYNAMIC;
      atomic_store(&pg->saw_dynamic, 1);
      json_array_clear(mine);
      i = n; /* stop: nothing of this page is kept */
    } else {
      snprintf(file, sizeof file, "%zu.html", (*nfile)++);
      snprintf(path, sizeof path, "%s/%s", dir, file);
      if (write_file(path, r.body.ptr, r.body.len)) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        failed = 1;
      }
      json_array_append_new(
          mine, json_pack("{s:s,s:s,s:i,s:s,s:s?,s:O?}", "path", p, "route",
                          pg->pattern, "status", r.status, "file", file,
                          "location", r.location, "tags", r.tags));
    }
    json_decref(r.tags);
    cn__free(r.location);
    cn__buf_free(&r.body);
  }
  if (!mine || json_array_extend(pages, mine))
    failed = 1;
  json_decref(mine);
  for (size_t i = 0; i < n; i++)
    cn__free(paths[i]);
  cn__free(paths);
  return failed ? -1 : kind;
}

int cn__pages_prerender(cn_app *app, const char *dir, const char *build_id) {
  static const char *const kinds[] = {"static", "prerendered", "dynamic"};
  cn__pages *set = app->pages;
  char path[4096];
  size_t nfile = 0;
  int failed = 0;
  if (clean_dir(dir)) {
    fprintf(stderr, "%s: %s\n", dir, strerror(errno));
    return 1;
  }
  json_t *routes = json_object(), *pages = json_array();
  if (!routes || !pages)
    failed = 1;
  for (size_t i = 0; !failed && set && i < set->npages; i++) {
    cn__page *pg = &set->pages[i];
    set->building = 1;
    int kind = build_page(app, pg, dir, pages, &nfile);
    set->building = 0;
    if (kind < 0)
      failed = 1;
    else
      json_object_set_new(routes, pg->pattern, json_string(kinds[kind]));
  }
  char key[17];
  cn__actions_fingerprint(key);
  json_t *m = json_pack("{s:s,s:s,s:o,s:o}", "build_id",
                        build_id ? build_id : "", "actions_key", key,
                        "routes", routes, "pages", pages);
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  if (!failed && (!m || json_dump_file(m, path, JSON_INDENT(1)))) {
    fprintf(stderr, "%s: cannot write it\n", path);
    failed = 1;
  }
  json_decref(m);
  return failed;
}

static cn__page *page_by_pattern(cn__pages *set, const char *pattern) {
  for (size_t i = 0; i < set->npages; i++)
    if (!strcmp(set->pages[i].pattern, pattern))
      return &set->pages[i];
  return NULL;
}

/* A page from the build goes into the cache, unless the cache (on disk,
 * from an earlier run of this same build) already has it: that one may be
 * a newer regeneration. */
static int keep(cn__page *pg, const char *path, const cn__pentry *e,
                json_t *tags) {
  static _Thread_local char mem[8192];
  cn__arena a;
  cn__arena_init(&a, mem, sizeof mem);
  int rc = 0, stale;
  cn__pentry old;
  const char *t[CN__CACHE_MAX_TAGS];
  size_t n = 0, i;
  json_t *x;
  json_array_foreach(tags, i, x)
    if (json_is_string(x) && n < CN__ARRAY_LEN(t))
      t[n++] = json_string_value(x);
  if (cn__page_lookup(&a, pg->set, path, &old, &stale))
    rc = cn__page_store(&a, pg, path, e, t, n);
  cn__arena_reset(&a);
  return rc;
}

int cn__pages_load(cn_app *app, const char *dir, const char *build_id) {
  cn__pages *set = app->pages;
  char path[4096];
  json_error_t je;
  if (!set)
    return 0;
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  json_t *m = json_load_file(path, 0, &je);
  if (!m)
    return 0; /* no build output: pages render on demand */
  const char *id = json_string_value(json_object_get(m, "build_id"));
  if (!id || !build_id || strcmp(id, build_id)) {
    fprintf(stderr, "cairn: %s is from another build: run `cairn build`; "
                    "pages render on demand until then\n", dir);
    json_decref(m);
    return 0;
  }
  char key[17];
  cn__actions_fingerprint(key);
  const char *built = json_string_value(json_object_get(m, "actions_key"));
  int other_key = built && strcmp(built, key);
  cn__buf skipped = {0};
  const char *pattern;
  json_t *v;
  json_object_foreach(json_object_get(m, "routes"), pattern, v) {
    cn__page *pg = page_by_pattern(set, pattern);
    if (pg && !strcmp(json_string_value(v) ? json_string_value(v) : "",
                      "dynamic"))
      atomic_store(&pg->saw_dynamic, 1);
  }
  size_t i;
  int rc = 0;
  json_array_foreach(json_object_get(m, "pages"), i, v) {
    const char *p = json_string_value(json_object_get(v, "path"));
    const char *file = json_string_value(json_object_get(v, "file"));
    cn__buf body = {0};
    if (!p || !file || strchr(file, '/'))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    while (f && !rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
      rc = cn__buf_append(&body, chunk, n);
    if (f)
      fclose(f);
    else
      fprintf(stderr, "cairn: %s: %s\n", path, strerror(errno));
    cn__pentry e = {
        .status = (int)json_integer_value(json_object_get(v, "status")),
        .location = json_string_value(json_object_get(v, "location")),
        .body = body.ptr,
        .len = body.len};
    cn__page *pg = page_by_pattern(
        set, json_string_value(json_object_get(v, "route")) ? json_string_value(
                                                                  json_object_get(v, "route"))
                                                            : "");
    if (f && !rc && pg && other_key && body.len &&
        memmem(body.ptr, body.len, "name=\"$ACTION_ID\"", 17))
      rc = cn__buf_appendf(&skipped, "%s%s", skipped.len ? ", " : "", p);
    else if (f && !rc && pg)
      rc = keep(pg, p, &e, json_object_get(v, "tags"));
    cn__buf_free(&body);
  }
  if (skipped.len)
    fprintf(stderr, "cairn: %.300s: prerendered with another Server Actions "
                    "key (give `cairn build` the instances' "
                    "CAIRN_ACTIONS_KEY): rendered on demand instead\n",
            skipped.ptr);
  cn__buf_free(&skipped);
  json_decref(m);
  return rc;
}
