/*
 * Walking an app: which files are routes, pages, layouts, the middleware;
 * which directories a watcher should follow; and the route tree's verdict
 * on the whole set (conflicts worded as Next.js words them).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "islands/islands.h"
#include "cli/cli.h"
#include "data/store.h"

static int push_dir(cn__cli_scan *s, const char *rel) {
  if (cn__array_grow(&s->dirs, &s->capdirs, s->ndirs, sizeof(*s->dirs)))
    return CN_ENOMEM;
  if (!(s->dirs[s->ndirs] = cn__strdup(rel)))
    return CN_ENOMEM;
  s->ndirs++;
  return 0;
}

/* Add a problem; s->errors stays NUL-terminated. */
static int problem(cn__cli_scan *s, const char *fmt, const char *a,
                   const char *b) {
  s->nerrors++;
  int rc = cn__buf_appendf(&s->errors, fmt, a, b);
  if (!rc)
    rc = cn__buf_append(&s->errors, "\n", 2);
  if (!rc)
    s->errors.len--; /* the NUL stays, uncounted */
  return rc;
}

/* "app/api/[id]/route.c" -> "app_api__id__route_c-1a2b3c4d" and the build
 * symbol cn_route_<16 hex>: stable across builds, so the cache holds. */
static void name_entry(cn__cli_entry *e) {
  uint64_t h = cn__cli_hash(e->rel, strlen(e->rel), CN__CLI_HASH_INIT);
  char readable[48];
  size_t n = 0;
  for (const char *p = e->rel; *p && n + 1 < sizeof readable; p++) {
    char ch = *p;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9') || ch == '-';
    readable[n++] = ok ? ch : '_';
  }
  readable[n] = '\0';
  snprintf(e->base, sizeof e->base, "%s-%08x", readable,
           (unsigned)(h ^ (h >> 32)));
  snprintf(e->sym, sizeof e->sym, "cn_route_%016llx", (unsigned long long)h);
}

static int push_entry(cn__cli_scan *s, const char *rel, cn__route_kind kind,
                      const char *pattern, int middleware) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    cn__cli_entry *v = cn__realloc(s->v, cap * sizeof(*v));
    if (!v)
      return CN_ENOMEM;
    s->v = v;
    s->cap = cap;
  }
  cn__cli_entry *e = &s->v[s->n];
  memset(e, 0, sizeof(*e));
  e->rel = cn__strdup(rel);
  e->pattern = pattern ? cn__strdup(pattern) : NULL;
  if (!e->rel || (pattern && !e->pattern)) {
    cn__free(e->rel);
    cn__free(e->pattern);
    return CN_ENOMEM;
  }
  e->kind = kind;
  e->middleware = middleware;
  e->pagedef = kind == CN__ROUTE_PAGE_LOADER ||
              kind == CN__ROUTE_LAYOUT_LOADER || kind == CN__ROUTE_ACTIONS;
  e->unit = middleware || kind == CN__ROUTE_HANDLER || kind == CN__ROUTE_API ||
            e->pagedef;
  size_t n = strlen(rel);
  /* Templates and client modules (islands) are embedded as text. */
  e->tpl = (n > 5 && !strcmp(rel + n - 5, ".html") &&
            (!strncmp(rel, "app/", 4) || !strncmp(rel, "components/", 11))) ||
           cn__islands_is_module(rel);
  name_entry(e);
  s->n++;
  return 0;
}

/* A file found under app/ or pages/. */
static int consider(cn__cli_scan *s, const char *rel) {
  char pattern[CN__ROUTE_PATTERN_MAX], err[512];
  cn__route_kind kind;
  if (strpbrk(rel, "\t\n\r"))
    return problem(s, "%s: file names with tabs or line breaks cannot be "
                      "routes%s",
                   rel, "");
  int rc = cn__route_pattern_from_file(rel, &kind, pattern, sizeof pattern,
                                       err, sizeof err);
  if (rc == CN_ENOMEM)
    return rc;
  if (rc)
    return problem(s, "%s%s", err, "");
  size_t n = strlen(rel);
  if (kind == CN__ROUTE_NONE) /* a partial or a client module is kept */
    return (n > 5 && !strcmp(rel + n - 5, ".html") &&
            !strncmp(rel, "app/", 4)) ||
                   cn__islands_is_module(rel)
               ? push_entry(s, rel, kind, NULL, 0)
               : 0;
  return push_entry(s, rel, kind, pattern, 0);
}

/* components/: partials, found by name from any template, and client
 * modules (islands). */
static int consider_component(cn__cli_scan *s, const char *rel) {
  size_t n = strlen(rel);
  if (strpbrk(rel, "\t\n\r") ||
      ((n <= 5 || strcmp(rel + n - 5, ".html")) && !cn__islands_is_module(rel)))
    return 0;
  return push_entry(s, rel, CN__ROUTE_NONE, NULL, 0);
}

/* data/: data/<module>.c are modules of data functions ("module:name"),
 * data/migrations/NNN_name.sql the migrations, applied in name order.
 * Anything else there (headers, helpers in subfolders) is the app's own. */
static int consider_data(cn__cli_scan *s, const char *rel) {
  const char *name = rel + 5; /* after "data/" */
  size_t n = strlen(name);
  if (!strchr(name, '/') && n > 2 && !strcmp(name + n - 2, ".c")) {
    int ok = n - 2 <= 64;
    for (size_t i = 0; ok && i < n - 2; i++)
      ok = name[i] == '_' || (name[i] >= 'a' && name[i] <= 'z') ||
           (name[i] >= 'A' && name[i] <= 'Z') ||
           (i && name[i] >= '0' && name[i] <= '9');
    if (!ok)
      return problem(s, "%s: a data module's name must be an identifier "
                        "(letters, digits and _, at most 64): it begins "
                        "the paths of its functions (module:name)%s",
                     rel, "");
    int rc = push_entry(s, rel, CN__ROUTE_NONE, NULL, 0);
    if (!rc) {
      cn__cli_entry *e = &s->v[s->n - 1];
      e->data = e->unit = 1;
      snprintf(e->module, sizeof e->module, "%.*s", (int)(n - 2), name);
    }
    return rc;
  }
  if (strncmp(name, "migrations/", 11) || strchr(name + 11, '/') ||
      n < 4 || strcmp(name + n - 4, ".sql"))
    return 0;
  const char *m = name + 11, *p = m;
  /* NNN_name.sql for every engine; NNN_name.sqlite.sql and
   * NNN_name.postgres.sql for one (cn__migrations_for). */
  size_t end = n - 4;
  if (end > 7 && !strncmp(name + end - 7, ".sqlite", 7))
    end -= 7;
  else if (end > 9 && !strncmp(name + end - 9, ".postgres", 9))
    end -= 9;
  while (*p >= '0' && *p <= '9')
    p++;
  int ok = p > m && *p == '_' && p + 1 < name + end;
  for (p++; ok && p < name + end; p++)
    ok = *p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
         (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
  if (!ok)
    return problem(s, "%s: a migration's name must be NNN_name.sql (a "
                      "number, _, then letters, digits, _ or -; "
                      "NNN_name.sqlite.sql or NNN_name.postgres.sql for one "
                      "engine): migrations are applied in name order%s",
                   rel, "");
  int rc = push_entry(s, rel, CN__ROUTE_NONE, NULL, 0);
  if (!rc)
    s->v[s->n - 1].migration = 1;
  return rc;
}

/* The number of a migration without its leading zeros ("007_x" -> "7"). */
static cn_str mig_number(const char *rel) {
  const char *p = strrchr(rel, '/') + 1;
  while (*p == '0' && p[1] >= '0' && p[1] <= '9')
    p++;
  size_t n = 0;
  while (p[n] >= '0' && p[n] <= '9')
    n++;
  return cn__str(p, n);
}

/* Two migrations with one number would be applied in an order that only
 * their names decide: refused, unless they are one migration written for
 * different engines (NNN_name.sql, NNN_name.postgres.sql...). */
static int check_migrations(cn__cli_scan *s) {
  for (size_t i = 0; i < s->n; i++) {
    const cn__cli_entry *e = &s->v[i];
    for (size_t j = 0; e->migration && j < i; j++) {
      const cn__cli_entry *o = &s->v[j];
      if (!o->migration)
        continue;
      cn_str a = mig_number(o->rel), b = mig_number(e->rel);
      const char *ea = strrchr(o->rel, '/') + 1, *eb = strrchr(e->rel, '/') + 1;
      if (cn__migration_variants(ea, eb))
        continue;
      if (a.len == b.len && !memcmp(a.ptr, b.ptr, a.len)) {
        if (problem(s, "%s: its number is the number of %s", e->rel,
                    o->rel))
          return CN_ENOMEM;
        break;
      }
    }
  }
  return 0;
}

/* Directories never walked: hidden ones (.git, .cairn), node_modules. */
static int skip_dir(const char *name) {
  return name[0] == '.' || !strcmp(name, "node_modules");
}

/* routes: 1 app/ or pages/, 2 components/, 3 data/, 0 only watched. */
static int walk(cn__cli_scan *s, const char *rel, int routes, int depth) {
  DIR *d = opendir(rel);
  if (!d)
    return errno == ENOENT || errno == ENOTDIR ? 0 : CN_EIO;
  int rc = push_dir(s, rel);
  struct dirent *de;
  char path[CN__CLI_PATH];
  while (!rc && (de = readdir(d))) {
    const char *name = de->d_name;
    if (!strcmp(name, ".") || !strcmp(name, ".."))
      continue;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", rel, name) >=
        sizeof path)
      continue;
    struct stat st;
    if (lstat(path, &st))
      continue;
    /* Symbolic links to directories are not followed (no loops); links to
     * files are files. */
    if (S_ISDIR(st.st_mode)) {
      if (!skip_dir(name) && depth < 64)
        rc = walk(s, path, routes, depth + 1);
    } else if (routes && (S_ISREG(st.st_mode) ||
                          (S_ISLNK(st.st_mode) && stat(path, &st) == 0 &&
                           S_ISREG(st.st_mode)))) {
      rc = routes == 3   ? consider_data(s, path)
           : routes == 2 ? consider_component(s, path)
                         : consider(s, path);
    }
  }
  closedir(d);
  return rc;
}

static int by_rel(const void *a, const void *b) {
  return strcmp(((const cn__cli_entry *)a)->rel,
                ((const cn__cli_entry *)b)->rel);
}

static int by_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int cn__cli_scan_walk(cn__cli_scan *s) {
  int rc = push_dir(s, ".");
  if (!rc)
    rc = walk(s, "app", 1, 0);
  if (!rc)
    rc = walk(s, "pages", 1, 0);
  /* Watched, not routed: data/ (the data layer: modules and migrations,
   * see consider_data), public/, and any other folder an app keeps headers
   * in (lib/). */
  DIR *d = rc ? NULL : opendir(".");
  struct dirent *de;
  while (d && !rc && (de = readdir(d))) {
    struct stat st;
    if (skip_dir(de->d_name) || !strcmp(de->d_name, "app") ||
        !strcmp(de->d_name, "pages") || lstat(de->d_name, &st) ||
        !S_ISDIR(st.st_mode))
      continue;
    rc = walk(s, de->d_name,
              !strcmp(de->d_name, "components") ? 2
              : !strcmp(de->d_name, "data")     ? 3
                                                : 0,
              0);
  }
  if (d)
    closedir(d);
  struct stat st;
  if (!rc && stat("middleware.c", &st) == 0 && S_ISREG(st.st_mode))
    rc = push_entry(s, "middleware.c", CN__ROUTE_NONE, NULL, 1);
  if (!rc && s->n)
    qsort(s->v, s->n, sizeof(*s->v), by_rel);
  if (!rc)
    rc = check_migrations(s);
  if (!rc && s->ndirs)
    qsort(s->dirs, s->ndirs, sizeof(*s->dirs), by_str);
  return rc;
}

static int mark_in_tree(const cn__route_info *info, void *ud) {
  (void)ud;
  ((cn__cli_entry *)info->data)->in_tree = 1;
  return 0;
}

int cn__cli_scan_check(cn__cli_scan *s) {
  char err[8192];
  cn__router_free(s->router);
  if (!(s->router = cn__router_new()))
    return CN_ENOMEM;
  for (size_t i = 0; i < s->n; i++) {
    cn__cli_entry *e = &s->v[i];
    e->in_tree = 0;
    if (e->middleware || !cn__route_kind_is_endpoint(e->kind))
      continue;
    int rc = cn__router_add(s->router, e->pattern, e->rel, e, err,
                            sizeof err);
    if (rc == CN_ENOMEM)
      return rc;
    if (rc && problem(s, "%s%s", err, ""))
      return CN_ENOMEM;
  }
  int rc = cn__router_finish(s->router, err, sizeof err);
  if (rc == CN_ENOMEM)
    return rc;
  if (rc) {
    /* One conflict per line. */
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n')
      err[--n] = '\0';
    for (char *line = err; line && *line;) {
      char *nl = strchr(line, '\n');
      if (nl)
        *nl = '\0';
      if (problem(s, "%s%s", line, ""))
        return CN_ENOMEM;
      line = nl ? nl + 1 : NULL;
    }
  }
  cn__router_foreach(s->router, mark_in_tree, NULL);
  return 0;
}

void cn__cli_scan_free(cn__cli_scan *s) {
  for (size_t i = 0; i < s->n; i++) {
    cn__free(s->v[i].rel);
    cn__free(s->v[i].pattern);
  }
  for (size_t i = 0; i < s->ndirs; i++)
    cn__free(s->dirs[i]);
  cn__free(s->v);
  cn__free(s->dirs);
  cn__buf_free(&s->errors);
  cn__router_free(s->router);
  memset(s, 0, sizeof(*s));
}

cn__cli_entry *cn__cli_scan_middleware(const cn__cli_scan *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].middleware)
      return &s->v[i];
  return NULL;
}

typedef struct visit_ctx {
  cn__cli_entry_fn *fn;
  void *ud;
} visit_ctx;

static int visit(const cn__route_info *info, void *ud) {
  visit_ctx *v = ud;
  v->fn(info->data, v->ud);
  return 0;
}

void cn__cli_scan_foreach(const cn__cli_scan *s, cn__cli_entry_fn *fn,
                          void *ud) {
  visit_ctx v = {fn, ud};
  if (s->router)
    cn__router_foreach(s->router, visit, &v);
}
