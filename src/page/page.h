/*
 * page.h: server-rendered pages (app/.../page.html), as Next.js's server
 * components render them, with Mustache templates and C loaders.
 *
 * The set. cn__pages_new takes the app's page files (the manifest's list:
 * templates with their text, page.c / layout.c with their definitions) and
 * builds, once:
 *   - every template compiled (a syntax error fails the start, or the build,
 *     with file:line:column), split at {{{children}}} for layouts;
 *   - one cn__pdir per directory under app/ on the way to a page, holding
 *     that level's layout, layout.c, error, not-found and loading files;
 *   - one cn__page per page.html: its pattern, its chain of directories
 *     root to leaf, its own template and page.c.
 * Templates and definitions sit in slots published atomically, so `cairn
 * dev` can swap one while requests render (the replaced one is kept until
 * the set is freed, as route tables are).
 *
 * A request. The page's GET handler (cn__page_handler) runs the loaders
 * root to leaf on a handler thread, merges metadata, and renders the layouts
 * around the page into one buffer: each layout's part before {{{children}}},
 * the page, then the parts after in reverse. notFound, redirects and
 * failures pick the nearest boundary (render.c). Pages that are static (no
 * request-time data read, not dynamic) are kept rendered in the full-route
 * cache (cache.c) and served from it on the I/O thread (cn__page_cached).
 *
 * Build. `cairn build` runs the linked server with --prerender: every
 * static page and every listed param set is rendered (prerender.c) and
 * written to .cairn/pages/, with a manifest the started server loads into
 * the cache and the build prints its route table from.
 *
 * Ownership: the set belongs to the cn_app it is mounted in (cn_app_free
 * frees it); everything a render makes lives in the request's arena or is
 * released before the handler returns.
 */
#ifndef CN_PAGE_H
#define CN_PAGE_H

#include "islands/islands.h"
#include <pthread.h>
#include <stdatomic.h>

#include "common/common.h"
#include "template/template.h"

typedef struct cn__pages cn__pages;
typedef struct cn__page cn__page;

/* A compiled template with what the page layer needs to know of it. */
typedef struct cn__ptpl {
  cn__tpl *tpl;
  uint32_t children;  /* index of the top-level {{{children}}} node */
  int has_children;
  struct cn__ptpl *retired; /* the one it replaced */
} cn__ptpl;

/* A template file's slot. In development (text not embedded) the file is
 * read at first use and again whenever its mtime changes. */
typedef struct cn__pslot {
  char *path;                /* "app/blog/layout.html" */
  _Atomic(cn__ptpl *) cur;   /* NULL until loaded (development) */
  int64_t mtime_ns;          /* of the loaded file (development) */
  pthread_mutex_t mu;        /* one reload at a time (development) */
} cn__pslot;

/* A page.c / layout.c slot. */
typedef struct cn__pdef {
  char *path;
  _Atomic(const cn_page_def *) def;
} cn__pdef;

/* One directory level: app, app/blog, app/blog/[slug]. */
typedef struct cn__pdir {
  char *dir;
  cn__pslot *layout, *error, *not_found, *loading; /* NULL when absent */
  cn__pdef *layout_def;
  cn__pdef *actions_def; /* actions.c: shared by the pages below */
} cn__pdir;

struct cn__page {
  char *pattern;        /* "/blog/[slug]" */
  char *dir;            /* "app/blog/[slug]" */
  cn__pslot *tpl;
  cn__pdef *def;        /* NULL: no page.c */
  cn__pdir **chain;     /* root ("app") to the page's own directory */
  size_t nchain;
  int has_params;       /* the pattern has dynamic segments */
  /* What rendering learnt: a render read request-time data. */
  atomic_int saw_dynamic;
  /* The listed params' paths (.static_params), sorted; computed once. */
  atomic_int listed_done;
  char **listed;
  size_t nlisted;
  int listed_rc;
  cn__pages *set;
};

/* The rendering kinds, as `cairn build` prints them. */
typedef enum cn__page_kind {
  CN__PAGE_STATIC,      /* no dynamic segments, rendered at build */
  CN__PAGE_PRERENDERED, /* dynamic segments with listed params */
  CN__PAGE_DYNAMIC      /* rendered per request */
} cn__page_kind;

struct cn__pages {
  cn__pslot *slots;     /* every template, sorted by path */
  size_t nslots;
  cn__pdef *defs;       /* every page.c / layout.c */
  size_t ndefs;
  cn__pdir *dirs;
  size_t ndirs;
  cn__page *pages;
  size_t npages;
  cn__pdir *root;       /* "app", NULL when there is no app/ page */
  int dev;              /* templates from disk; nothing cached */
  int building;         /* --prerender: loaders run without a request */
  uint64_t expire_s;    /* ISR's expire time (stale-while-revalidate) */
  char build_id[40];    /* in cache keys: another build's pages never match */
  cn__islands islands;  /* client modules (*.client.js) */
  cn_route_def action_route; /* pages with actions: GET and POST */
  char action_limit[32];     /* its body limit */
};

/* --------------------------------------------------------------- set.c */

/* Build the set from the manifest's files (NULL-path entries ignored).
 * Files other than templates and page/layout definitions are ignored.
 * dev: templates whose text is NULL are read from disk when first used.
 * OUT: *out, owned by the caller until mounted. CN_EPARSE with
 * "file:line:col: message" in err for a template that does not compile;
 * CN_EINVAL for a page whose path cannot be routed, or a {{{children}}}
 * nested inside a section of a layout; CN_ENOMEM. */
int cn__pages_new(const cn_manifest_file *files, size_t nfiles, int dev,
                  cn__pages **out, char *err, size_t errlen);
void cn__pages_free(cn__pages *p);

/* Add every page to app as a GET route (HEAD follows) and hand the set to
 * the app, which frees it. Conflicts come back as cn_app_add words them. */
int cn__pages_mount(cn__pages *p, cn_app *app, char *err, size_t errlen);

/* The template at path, loading it first in development. NULL when there
 * is none or it does not compile (err filled when err is non-NULL). */
const cn__ptpl *cn__pages_tpl(cn__pages *p, cn__pslot *slot,
                              cn__tpl_error *err);

/* A slot by template path, NULL when the set has none. */
cn__pslot *cn__pages_slot(const cn__pages *p, const char *path, size_t len);

/* Development: replace the definition of page.c / layout.c at path (the
 * old one must stay loaded). CN_ENOENT when the set has no such file. */
int cn__pages_replace_def(cn__pages *p, const char *path,
                          const cn_page_def *def);

/* How the page renders, going by its definition and what rendering has
 * seen so far. */
cn__page_kind cn__page_kind_of(cn__page *pg);

/* ------------------------------------------------------------ render.c */

/* The GET handler of every page (req->hit.endpoint's page). */
int cn__page_handler(cn_req *req, cn_res *res);

/* Render the routed page; action (may be NULL) goes into every template's
 * context as "action", and then nothing is cached. */
int cn__page_render(cn_req *req, json_t *action);

/* The POST handler of pages that declare actions (actions.c). */
int cn__page_action_handler(cn_req *req, cn_res *res);

/* The largest form body an action takes (before mounting). */
void cn__pages_body_limit(cn__pages *p, size_t bytes);

/* Where a page's forms find actions, innermost first: k = 0 is its
 * page.c, then each folder's layout.c and actions.c from the page's
 * folder up to app/. cn__action_sources(n) is how many places there are
 * for a chain of n folders; a place may be NULL (no such file). */
size_t cn__action_sources(size_t n);
cn__pdef *cn__action_source(cn__pdir **chain, size_t n, const cn__page *pg,
                            size_t k);
/* 1 when some template of the set has a {{#form.name}} section. */
int cn__pages_uses_form(cn__pages *p, const char *name);

/* The app's root not-found page for a URL that matched nothing. */
int cn__page_not_found_handler(cn_req *req, cn_res *res);

/* ------------------------------------------------------------- cache.c */

/* A kept page (the full-route cache, in the Data Cache). */
typedef struct cn__pentry {
  int status;
  const char *location; /* redirects */
  char etag[24];        /* lookup fills it; store computes it */
  const char *body;
  size_t len;
} cn__pentry;

/* Keep e as the page at key (a canonical path of pg), with pg's implicit
 * tags and extra (tags of what the render fetched or cached), going stale
 * after pg's .revalidate. Scratch memory from a. 0 or CN_ENOMEM. */
int cn__page_store(cn__arena *a, cn__page *pg, const char *key,
                   const cn__pentry *e, const char *const *extra,
                   size_t nextra);

/* The kept page at key, its body and location in arena. OUT: *stale (1:
 * past its revalidate time, served while it regenerates). 0, or CN_ENOENT
 * (absent, expired or unreadable; or revalidated on demand by a tag or
 * path, as Next.js purges it: then *stale is 2 and the page renders now). */
int cn__page_lookup(cn__arena *a, const cn__pages *set, const char *key,
                    cn__pentry *e, int *stale);

/* Start regenerating the page at key in the background unless that is
 * already under way (any thread). 0, CN_ENOMEM or CN_ESYS. */
int cn__page_regenerate(cn_app *app, cn__page *pg, const char *key);

/* The ETag of a kept page's body (a quoted 64-bit hash), into out. */
void cn__page_etag(const char *body, size_t len, char out[24]);

/* Cache-Control for a kept page with this status: "s-maxage=31536000"
 * (static), "s-maxage=N, stale-while-revalidate=<expire - N>" (ISR),
 * "no-store" (other statuses). Thread-local storage. */
const char *cn__page_cache_control(const cn__page *pg, int status);

/* Loop thread, before a page's handler is scheduled: answer from the cache
 * when the page may be cached and its path is there (a stale page is
 * answered too, and starts its regeneration). 1 when req->res is
 * finished, 0 to render. */
int cn__page_cached(cn_req *req);

/* The canonical cache key of a routed page request (the pattern with its
 * params decoded and re-encoded), in the request's arena; NULL on ENOMEM. */
char *cn__page_key(cn_req *req, const cn__page *pg);

/* --------------------------------------------------------- prerender.c */

/* --prerender: render every static page and listed param set of app's
 * pages into dir (".cairn/pages"), with dir/manifest.json. Prints what
 * failed on stderr. 0, or 1 when a page failed to render. */
int cn__pages_prerender(cn_app *app, const char *dir, const char *build_id);

/* At start: load dir/manifest.json's pages into the cache when its build id
 * is build_id (a stale directory is ignored with a warning). 0 or
 * CN_ENOMEM; a missing directory is not an error. */
int cn__pages_load(cn_app *app, const char *dir, const char *build_id);

/* The listed params of a page as canonical paths (computed once by calling
 * .static_params). 0, or the callback's failure. */
int cn__page_listed(cn__page *pg);
/* 1 when path (a canonical key) is among the page's listed params. */
int cn__page_is_listed(cn__page *pg, const char *key);

/* Build a canonical path from a pattern and a params object. OUT: out.
 * CN_EINVAL when a param is missing or of the wrong type. */
int cn__page_path(const char *pattern, const json_t *params, cn__buf *out);

/* --------------------------------------------------------------- live.c */

/* For the live-query engine: render the live region named by region
 * ("<page dir>#<name>", as pages write it in data-region) with value, the
 * new result of query. The region must be one a page declares with that
 * query (CN_EINVAL otherwise: a client cannot have any partial rendered).
 * OUT: out gets the HTML (out NULL: only check the region). 0, CN_EINVAL,
 * CN_ENOMEM, or a render error. */
int cn__pages_render_region(cn__pages *set, const char *region,
                            const char *query, const json_t *value,
                            cn__buf *out);
/* The page set live regions render from (set once when mounted). */
void cn__pages_set_global(cn__pages *set);
cn__pages *cn__pages_global(void);

#endif /* CN_PAGE_H */
