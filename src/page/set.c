/*
 * The page set: templates compiled once, directories and pages linked up
 * from the file paths alone, so a production build (texts embedded in the
 * binary) and `cairn dev` (texts read from disk) build the same thing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "actions/actions.h"
#include "page/page.h"
#include "router/router.h"
#include "server/server.h"

static const cn_route_def page_route = {.GET = cn__page_handler};
static const cn_route_def page_route_inline = {
    .GET = cn__page_handler, .config = {.nonblocking = 1}};

/* GET /_cairn/actions.js: the client script of Server Actions. */
static int actions_script(cn_req *req, cn_res *res) {
  (void)req;
  const char *s = cn__actions_script();
  int rc = cn_res_header(res, "Content-Type",
                         "text/javascript; charset=utf-8");
  if (!rc)
    rc = cn_res_header(res, "Cache-Control", "public, max-age=3600");
  return rc ? rc : cn_res_send(res, s, strlen(s));
}

/* Does any level of pg declare an action? Then it takes POST. */
static int has_actions(const cn__page *pg) {
  for (size_t i = 0; i < cn__action_sources(pg->nchain); i++) {
    cn__pdef *d = cn__action_source(pg->chain, pg->nchain, pg, i);
    const cn_page_def *def = d ? atomic_load(&d->def) : NULL;
    for (size_t k = 0; def && k < CN__ARRAY_LEN(def->actions); k++)
      if (def->actions[k].name && def->actions[k].fn)
        return 1;
  }
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* "app/blog/page.html" -> "page.html"; the directory's length in *dlen. */
static const char *base_of(const char *path, size_t *dlen) {
  const char *slash = strrchr(path, '/');
  *dlen = slash ? (size_t)(slash - path) : 0;
  return slash ? slash + 1 : path;
}

static int is_template(const char *path) {
  return ends_with(path, ".html") &&
         (!strncmp(path, "app/", 4) || !strncmp(path, "components/", 11));
}

static int cmp_slot(const void *a, const void *b) {
  return strcmp(((const cn__pslot *)a)->path, ((const cn__pslot *)b)->path);
}

cn__pslot *cn__pages_slot(const cn__pages *p, const char *path, size_t len) {
  size_t lo = 0, hi = p->nslots;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *s = p->slots[mid].path;
    int c = strncmp(s, path, len);
    if (!c)
      c = s[len] ? 1 : 0;
    if (!c)
      return &p->slots[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* ------------------------------------------------------------ compile */

/* Compile text into a ptpl; layouts must have a top-level {{{children}}}.
 * OUT: *out. Errors as cn__pages_new, message in err. */
static int compile(const char *path, const char *text, size_t len,
                   cn__ptpl **out, char *err, size_t errlen) {
  cn__tpl_error te = {0};
  cn__tpl *t = NULL;
  int rc = cn__tpl_compile(path, text, len, &t, &te);
  if (rc) {
    if (rc == CN_ENOMEM)
      snprintf(err, errlen, "out of memory");
    else
      snprintf(err, errlen, "%s:%u:%u: %s", path, te.line, te.column,
               te.message);
    return rc;
  }
  cn__ptpl *pt = cn__calloc(1, sizeof(*pt));
  if (!pt) {
    cn__tpl_free(t);
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  pt->tpl = t;
  uint32_t count, i = 0, any;
  const cn__tpl_node *nodes = cn__tpl_nodes(t, &count);
  for (; i < count; i = nodes[i].end) {
    if (nodes[i].kind == CN__TPL_RAW &&
        cn_str_eq(cn__tpl_node_text(t, &nodes[i]), "children")) {
      pt->children = i;
      pt->has_children = 1;
      break;
    }
  }
  size_t dlen;
  if (!strncmp(path, "app/", 4) && !strcmp(base_of(path, &dlen), "layout.html") &&
      !pt->has_children) {
    int nested = cn__tpl_find(t, 0, CN__TPL_RAW, CN_STR("children"), &any) == 0;
    const cn__tpl_node *n = nested ? &nodes[any] : NULL;
    if (nested)
      snprintf(err, errlen,
               "%s:%u:%u: {{{children}}} cannot be inside a section: a "
               "layout renders its page exactly once",
               path, n->line, n->col);
    else
      snprintf(err, errlen,
               "%s: a layout needs {{{children}}} where the page goes", path);
    cn__tpl_free(t);
    cn__free(pt);
    return CN_EINVAL;
  }
  *out = pt;
  return 0;
}

static void ptpl_free_chain(cn__ptpl *t) {
  while (t) {
    cn__ptpl *r = t->retired;
    cn__tpl_free(t->tpl);
    cn__free(t);
    t = r;
  }
}

static int read_file(const char *path, cn__buf *out, int64_t *mtime_ns) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f)
    return CN_ENOENT;
  int rc = fstat(fileno(f), &st) ? CN_EIO : 0;
  if (!rc && st.st_size > (256 << 20))
    rc = CN_ETOOBIG;
  if (!rc)
    rc = cn__buf_reserve(out, (size_t)st.st_size + 1);
  if (!rc)
    out->len = fread(out->ptr, 1, (size_t)st.st_size, f);
  if (!rc && ferror(f))
    rc = CN_EIO;
  fclose(f);
  *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  return rc;
}

static int64_t mtime_of(const char *path) {
  struct stat st;
  if (stat(path, &st))
    return -1;
  return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Development: (re)load slot from disk when it changed since last time. */
static void dev_refresh(cn__pslot *slot, cn__tpl_error *err) {
  int64_t m = mtime_of(slot->path);
  /* Unchanged, or given embedded and never on disk: nothing to read. (One
   * read from disk and now gone keeps serving, and says so.) */
  if ((m == slot->mtime_ns || (m < 0 && !slot->mtime_ns)) &&
      atomic_load(&slot->cur))
    return;
  pthread_mutex_lock(&slot->mu);
  if (m != slot->mtime_ns || !atomic_load(&slot->cur)) {
    cn__buf text = {0};
    char msg[512];
    int64_t mt = m;
    cn__ptpl *pt = NULL;
    int rc = read_file(slot->path, &text, &mt);
    if (rc)
      snprintf(msg, sizeof msg, "%s: %s", slot->path, cn_strerror(rc));
    else
      rc = compile(slot->path, text.ptr ? text.ptr : "", text.len, &pt, msg,
                   sizeof msg);
    cn__buf_free(&text);
    if (!rc) {
      pt->retired = atomic_load(&slot->cur);
      atomic_store(&slot->cur, pt);
      slot->mtime_ns = mt;
    } else if (err) {
      /* The previous version keeps serving; the error is reported. */
      err->code = rc;
      snprintf(err->message, sizeof err->message, "%.150s", msg);
    }
  }
  pthread_mutex_unlock(&slot->mu);
}

const cn__ptpl *cn__pages_tpl(cn__pages *p, cn__pslot *slot,
                              cn__tpl_error *err) {
  if (!slot)
    return NULL;
  if (p->dev)
    dev_refresh(slot, err);
  return atomic_load_explicit(&slot->cur, memory_order_acquire);
}

/* ---------------------------------------------------------------- set */

static cn__pdef *def_find(cn__pages *p, const char *path) {
  for (size_t i = 0; i < p->ndefs; i++)
    if (!strcmp(p->defs[i].path, path))
      return &p->defs[i];
  return NULL;
}

int cn__pages_replace_def(cn__pages *p, const char *path,
                          const cn_page_def *def) {
  cn__pdef *d = def_find(p, path);
  if (!d)
    return CN_ENOENT;
  atomic_store(&d->def, def);
  return 0;
}

/* The directory record for dir[0..len), made on first sight. */
static cn__pdir *dir_get(cn__pages *p, const char *dir, size_t len) {
  for (size_t i = 0; i < p->ndirs; i++)
    if (!strncmp(p->dirs[i].dir, dir, len) && !p->dirs[i].dir[len])
      return &p->dirs[i];
  return NULL;
}

/* Every directory on the way from app/ to each page, with its files. */
static int dirs_make(cn__pages *p) {
  size_t cap = 0;
  for (size_t i = 0; i < p->nslots; i++) {
    const char *path = p->slots[i].path;
    size_t dlen;
    if (strncmp(path, "app/", 4) || strcmp(base_of(path, &dlen), "page.html"))
      continue;
    /* Each prefix ending at a '/' of the page's directory, and itself. */
    for (size_t k = 3; k <= dlen; k++) {
      if (k != dlen && path[k] != '/')
        continue;
      if (dir_get(p, path, k))
        continue;
      if (cn__array_grow(&p->dirs, &cap, p->ndirs, sizeof(*p->dirs)))
        return CN_ENOMEM;
      cn__pdir *d = &p->dirs[p->ndirs];
      memset(d, 0, sizeof(*d));
      if (!(d->dir = cn__malloc(k + 1)))
        return CN_ENOMEM;
      memcpy(d->dir, path, k);
      d->dir[k] = '\0';
      p->ndirs++;
    }
  }
  /* Now that the array stops moving, attach each directory's files. */
  char name[CN__ROUTE_PATTERN_MAX + 32];
  for (size_t i = 0; i < p->ndirs; i++) {
    cn__pdir *d = &p->dirs[i];
    snprintf(name, sizeof name, "%s/layout.html", d->dir);
    d->layout = cn__pages_slot(p, name, strlen(name));
    snprintf(name, sizeof name, "%s/error.html", d->dir);
    d->error = cn__pages_slot(p, name, strlen(name));
    snprintf(name, sizeof name, "%s/not-found.html", d->dir);
    d->not_found = cn__pages_slot(p, name, strlen(name));
    snprintf(name, sizeof name, "%s/loading.html", d->dir);
    d->loading = cn__pages_slot(p, name, strlen(name));
    snprintf(name, sizeof name, "%s/layout.c", d->dir);
    d->layout_def = def_find(p, name);
    snprintf(name, sizeof name, "%s/actions.c", d->dir);
    d->actions_def = def_find(p, name);
    if (!strcmp(d->dir, "app"))
      p->root = d;
  }
  return 0;
}

static int page_make(cn__pages *p, cn__page *pg, cn__pslot *slot, char *err,
                     size_t errlen) {
  char pattern[CN__ROUTE_PATTERN_MAX], name[CN__ROUTE_PATTERN_MAX + 32];
  cn__route_kind kind;
  size_t dlen;
  base_of(slot->path, &dlen);
  int rc = cn__route_pattern_from_file(slot->path, &kind, pattern,
                                       sizeof pattern, err, errlen);
  if (rc)
    return rc;
  if (kind != CN__ROUTE_PAGE)
    return 1; /* private folder: not a page */
  pg->set = p;
  pg->tpl = slot;
  pg->pattern = cn__strdup(pattern);
  pg->dir = cn__malloc(dlen + 1);
  pg->chain = cn__calloc(dlen, sizeof(*pg->chain));
  if (!pg->pattern || !pg->dir || !pg->chain)
    return CN_ENOMEM;
  memcpy(pg->dir, slot->path, dlen);
  pg->dir[dlen] = '\0';
  pg->has_params = strchr(pattern, '[') != NULL;
  snprintf(name, sizeof name, "%s/page.c", pg->dir);
  pg->def = def_find(p, name);
  for (size_t k = 3; k <= dlen; k++) {
    if (k != dlen && slot->path[k] != '/')
      continue;
    cn__pdir *d = dir_get(p, slot->path, k);
    if (d)
      pg->chain[pg->nchain++] = d;
  }
  return 0;
}

static int add_file(cn__pages *p, const cn_manifest_file *f, size_t *caps,
                    char *err, size_t errlen) {
  size_t dlen;
  const char *base = base_of(f->path, &dlen);
  if (f->def && (!strcmp(base, "page.c") || !strcmp(base, "layout.c") ||
                 !strcmp(base, "actions.c"))) {
    if (cn__array_grow(&p->defs, &caps[1], p->ndefs, sizeof(*p->defs)))
      return CN_ENOMEM;
    cn__pdef *d = &p->defs[p->ndefs];
    if (!(d->path = cn__strdup(f->path)))
      return CN_ENOMEM;
    atomic_init(&d->def, f->def);
    p->ndefs++;
    return 0;
  }
  if (cn__islands_is_module(f->path)) {
    cn__buf disk = {0};
    int64_t mt;
    int rc = 0;
    if (!f->text && p->dev) /* dev: read now; the set is made afresh */
      rc = read_file(f->path, &disk, &mt);
    if (!rc)
      rc = cn__islands_add(&p->islands, f->path,
                           f->text ? f->text : disk.ptr ? disk.ptr : "",
                           f->text ? f->len : disk.len);
    cn__buf_free(&disk);
    if (rc == CN_EIO || rc == CN_ENOENT || rc == CN_ETOOBIG)
      snprintf(err, errlen, "%s: cannot read it", f->path);
    if (rc == CN_EINVAL)
      snprintf(err, errlen, "%s: a client module's name is letters, digits, "
                            "'_' and '-' before .client.js", f->path);
    return rc;
  }
  if (!is_template(f->path) || (!f->text && !p->dev))
    return 0;
  if (cn__array_grow(&p->slots, &caps[0], p->nslots, sizeof(*p->slots)))
    return CN_ENOMEM;
  cn__pslot *s = &p->slots[p->nslots];
  memset(s, 0, sizeof(*s));
  if (!(s->path = cn__strdup(f->path)))
    return CN_ENOMEM;
  pthread_mutex_init(&s->mu, NULL);
  p->nslots++;
  if (f->text) {
    cn__ptpl *pt;
    int rc = compile(f->path, f->text, f->len, &pt, err, errlen);
    if (rc)
      return rc;
    atomic_init(&s->cur, pt);
  }
  return 0;
}

int cn__pages_new(const cn_manifest_file *files, size_t nfiles, int dev,
                  cn__pages **out, char *err, size_t errlen) {
  cn__pages *p = cn__calloc(1, sizeof(*p));
  size_t caps[2] = {0, 0};
  int rc = p ? 0 : CN_ENOMEM;
  *out = NULL;
  err[0] = '\0';
  if (p)
    p->dev = dev;
  for (size_t i = 0; !rc && i < nfiles; i++)
    if (files[i].path)
      rc = add_file(p, &files[i], caps, err, errlen);
  if (!rc && p->nslots)
    qsort(p->slots, p->nslots, sizeof(*p->slots), cmp_slot);
  if (!rc)
    rc = dirs_make(p);
  size_t npages = 0;
  for (size_t i = 0; !rc && i < p->nslots; i++) {
    size_t dlen;
    npages += !strncmp(p->slots[i].path, "app/", 4) &&
              !strcmp(base_of(p->slots[i].path, &dlen), "page.html");
  }
  if (!rc && npages && !(p->pages = cn__calloc(npages, sizeof(cn__page))))
    rc = CN_ENOMEM;
  for (size_t i = 0; !rc && i < p->nslots; i++) {
    size_t dlen;
    if (strncmp(p->slots[i].path, "app/", 4) ||
        strcmp(base_of(p->slots[i].path, &dlen), "page.html"))
      continue;
    cn__page *pg = &p->pages[p->npages];
    int r = page_make(p, pg, &p->slots[i], err, errlen);
    if (r) { /* not counted: what it got so far goes now */
      cn__free(pg->pattern);
      cn__free(pg->dir);
      cn__free(pg->chain);
      memset(pg, 0, sizeof(*pg));
    }
    if (r < 0)
      rc = r;
    else if (r == 0)
      p->npages++;
  }
  if (!rc) {
    p->expire_s = 31536000; /* a year, as Next.js's expireTime */
    cn__pages_body_limit(p, (size_t)1 << 20);
  }
  if (rc && !err[0])
    snprintf(err, errlen, "%s", cn_strerror(rc));
  if (rc) {
    cn__pages_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void cn__pages_free(cn__pages *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nslots; i++) {
    ptpl_free_chain(atomic_load(&p->slots[i].cur));
    pthread_mutex_destroy(&p->slots[i].mu);
    cn__free(p->slots[i].path);
  }
  for (size_t i = 0; i < p->ndefs; i++)
    cn__free(p->defs[i].path);
  cn__islands_free(&p->islands);
  for (size_t i = 0; i < p->ndirs; i++)
    cn__free(p->dirs[i].dir);
  for (size_t i = 0; i < p->npages; i++) {
    cn__page *pg = &p->pages[i];
    cn__free(pg->pattern);
    cn__free(pg->dir);
    cn__free(pg->chain);
    for (size_t k = 0; k < pg->nlisted; k++)
      cn__free(pg->listed[k]);
    cn__free(pg->listed);
  }
  cn__free(p->pages);
  cn__free(p->slots);
  cn__free(p->defs);
  cn__free(p->dirs);
  cn__free(p);
}

int cn__pages_mount(cn__pages *p, cn_app *app, char *err, size_t errlen) {
  cn__pages_set_global(p); /* live regions render from it (live.c) */
  for (size_t i = 0; i < p->npages; i++) {
    cn__page *pg = &p->pages[i];
    const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
    char source[CN__ROUTE_PATTERN_MAX + 16];
    snprintf(source, sizeof source, "%s/page.html", pg->dir);
    const cn_route_def *rd = def && def->nonblocking ? &page_route_inline
                                                     : &page_route;
    if (has_actions(pg))
      rd = &p->action_route;
    int rc = cn__app_add_page(app, pg->pattern, source, rd, pg, err, errlen);
    if (rc) {
      cn__pages_free(p);
      return rc;
    }
  }
  if (p->npages && cn_app_route(app, "GET", CN__ACTIONS_SCRIPT_PATH,
                                actions_script,
                                &(cn_route_config){.nonblocking = 1}) ==
                       CN_ENOMEM) {
    cn__pages_free(p);
    return CN_ENOMEM;
  }
  if (cn__islands_mount(&p->islands, app)) {
    cn__pages_free(p);
    return CN_ENOMEM;
  }
  cn__pages_free(app->pages);
  app->pages = p;
  if (p->npages || p->root) {
    memset(&app->not_found, 0, sizeof app->not_found);
    app->not_found.handler = cn__page_not_found_handler;
    app->not_found.response_limit = SIZE_MAX;
  }
  return 0;
}

void cn__pages_body_limit(cn__pages *p, size_t bytes) {
  snprintf(p->action_limit, sizeof p->action_limit, "%zu", bytes);
  p->action_route = (cn_route_def){
      .GET = cn__page_handler,
      .POST = cn__page_action_handler,
      .config = {.body_limit = p->action_limit}};
}

cn__page_kind cn__page_kind_of(cn__page *pg) {
  const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
  if ((def && def->dynamic) || atomic_load(&pg->saw_dynamic))
    return CN__PAGE_DYNAMIC;
  for (size_t i = 0; i < pg->nchain; i++) {
    cn__pdef *ld = pg->chain[i]->layout_def;
    const cn_page_def *l = ld ? atomic_load(&ld->def) : NULL;
    if (l && l->dynamic)
      return CN__PAGE_DYNAMIC;
  }
  if (!pg->has_params)
    return CN__PAGE_STATIC;
  return def && def->static_params ? CN__PAGE_PRERENDERED : CN__PAGE_DYNAMIC;
}
