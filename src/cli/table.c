/*
 * The route table, shaped like `next build`'s: app routes, then pages
 * routes, each in Next.js's sorted order with a tree gutter, then the
 * middleware, then a legend. The size of a route is the code and data its
 * object file brings into the server (ELF sections that are loaded), not
 * the file's size on disk, which is mostly debug information.
 */
#include <elf.h>
#include <sys/stat.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "data/store.h"

uint64_t cn__cli_elf_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  uint64_t total = 0;
  Elf64_Ehdr eh;
  if (fread(&eh, sizeof eh, 1, f) != 1 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > 65000)
    goto cleanup;
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    Elf64_Shdr sh;
    if (fseek(f, (long)(eh.e_shoff + (uint64_t)i * sizeof sh), SEEK_SET) ||
        fread(&sh, sizeof sh, 1, f) != 1)
      break;
    if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS)
      total += sh.sh_size;
  }
cleanup:
  fclose(f);
  return total;
}

void cn__cli_size(uint64_t bytes, char out[16]) {
  if (bytes < 1000)
    snprintf(out, 16, "%llu B", (unsigned long long)bytes);
  else if (bytes < 1000 * 1000)
    snprintf(out, 16, "%.1f kB", (double)bytes / 1000.0);
  else
    snprintf(out, 16, "%.1f MB", (double)bytes / 1e6);
}

/* What the build decided for a page: "static", "prerendered", "dynamic",
 * or NULL (no build, or not a page). */
static const char *page_kind(const json_t *manifest, const cn__cli_entry *e) {
  if (e->kind != CN__ROUTE_PAGE || !manifest)
    return NULL;
  return json_string_value(
      json_object_get(json_object_get(manifest, "routes"), e->pattern));
}

static const char *kind_label(const cn__cli_entry *e, const char *pk) {
  if (pk && !strcmp(pk, "static"))
    return "page: static";
  if (pk && !strcmp(pk, "prerendered"))
    return "page: prerendered";
  if (pk)
    return "page: dynamic";
  switch (e->kind) {
  case CN__ROUTE_HANDLER:
    return "API (route handler)";
  case CN__ROUTE_API:
    return "API (pages/api)";
  case CN__ROUTE_PAGE:
    return "page";
  default:
    return cn__route_kind_name(e->kind);
  }
}

typedef struct table_ctx {
  const cn__cli *c;
  FILE *f;
  const char *objdir;
  int pages;         /* this pass lists pages/ (else app/) */
  size_t count, at;  /* rows in this section, rows printed */
  int width;         /* of the route column */
  json_t *manifest;  /* .cairn/pages/manifest.json after a build */
} table_ctx;

static int in_section(const cn__cli_entry *e, int pages) {
  return !strncmp(e->rel, pages ? "pages/" : "app/", pages ? 6 : 4);
}

static void count_row(cn__cli_entry *e, void *ud) {
  table_ctx *t = ud;
  if (in_section(e, t->pages)) {
    t->count++;
    int w = (int)strlen(e->pattern);
    if (w > t->width)
      t->width = w;
  }
}

static void last_column(const table_ctx *t, const cn__cli_entry *e,
                        char *out, size_t cap) {
  if (!t->objdir) {
    snprintf(out, cap, "%s", e->rel);
  } else if (!e->unit) {
    snprintf(out, cap, "-");
  } else {
    char path[CN__CLI_PATH], size[16];
    snprintf(path, sizeof path, "%s/%s.o", t->objdir, e->base);
    cn__cli_size(cn__cli_elf_size(path), size);
    snprintf(out, cap, "%s", size);
  }
}

/* A page's column: the size of its rendered HTML when the build made it. */
static void page_size(const table_ctx *t, const cn__cli_entry *e, char *out,
                      size_t cap) {
  size_t i;
  json_t *v;
  snprintf(out, cap, "-");
  json_array_foreach(t->manifest ? json_object_get(t->manifest, "pages")
                                 : NULL, i, v) {
    const char *route = json_string_value(json_object_get(v, "route"));
    const char *file = json_string_value(json_object_get(v, "file"));
    char path[CN__CLI_PATH], size[16];
    struct stat st;
    if (!route || !file || strcmp(route, e->pattern))
      continue;
    snprintf(path, sizeof path, ".cairn/pages/%s", file);
    if (stat(path, &st) == 0) {
      cn__cli_size((uint64_t)st.st_size, size);
      snprintf(out, cap, "%s", size);
    }
    return;
  }
}

/* The paths a prerendered page was rendered for, three at most, as
 * `next build` lists them. */
static void listed_rows(const table_ctx *t, const cn__cli_entry *e, int last) {
  size_t i, n = 0, shown = 0;
  json_t *v, *pages = json_object_get(t->manifest, "pages");
  json_array_foreach(pages, i, v) {
    const char *route = json_string_value(json_object_get(v, "route"));
    n += route && !strcmp(route, e->pattern);
  }
  json_array_foreach(pages, i, v) {
    const char *route = json_string_value(json_object_get(v, "route"));
    if (!route || strcmp(route, e->pattern) || shown == 3)
      continue;
    shown++;
    fprintf(t->f, "%s   %s %s\n", last ? " " : "\u2502",
            shown == n ? "\u2514" : "\u251c",
            json_string_value(json_object_get(v, "path")));
  }
  if (n > shown)
    fprintf(t->f, "%s   \u2514 [+%zu more paths]\n", last ? " " : "\u2502",
            n - shown);
}

static void print_row(cn__cli_entry *e, void *ud) {
  table_ctx *t = ud;
  if (!in_section(e, t->pages))
    return;
  t->at++;
  const char *gutter = t->count == 1 ? "\u2500"
                       : t->at == 1  ? "\u250c"
                       : t->at == t->count ? "\u2514"
                                           : "\u251c";
  const char *pk = page_kind(t->manifest, e);
  int dynamic = e->kind == CN__ROUTE_PAGE ? pk && !strcmp(pk, "dynamic")
                                          : e->unit;
  int ssg = pk && !strcmp(pk, "prerendered");
  char last[CN__CLI_PATH];
  last_column(t, e, last, sizeof last);
  if (e->kind == CN__ROUTE_PAGE && t->objdir)
    page_size(t, e, last, sizeof last);
  int on = t->c->color_out;
  fprintf(t->f, "%s %s%s%s %-*s  %-22s %s\n", gutter,
          cn__cli_c(on, dynamic ? CN__C_MAGENTA : CN__C_DIM),
          dynamic ? "\u0192" : ssg ? "\u25cf" : "\u25cb",
          cn__cli_c(on, CN__C_RESET), t->width, e->pattern,
          kind_label(e, pk), last);
  if (ssg)
    listed_rows(t, e, t->at == t->count);
}

static void section(table_ctx *t, const cn__cli_scan *s, int pages) {
  t->pages = pages;
  t->count = t->at = 0;
  t->width = 30;
  cn__cli_scan_foreach(s, count_row, t);
  if (!t->count)
    return;
  int on = t->c->color_out;
  fprintf(t->f, "%sRoute (%s)%s%*s  %-22s %s\n", cn__cli_c(on, CN__C_BOLD),
          pages ? "pages" : "app", cn__cli_c(on, CN__C_RESET),
          t->width + 4 - (pages ? 13 : 11), "", "Kind",
          t->objdir ? "Size" : "File");
  cn__cli_scan_foreach(s, print_row, t);
  fputc('\n', t->f);
}

void cn__cli_table(const cn__cli *c, FILE *f, const cn__cli_scan *s,
                   const char *objdir) {
  table_ctx t = {.c = c, .f = f, .objdir = objdir};
  if (objdir)
    t.manifest = json_load_file(".cairn/pages/manifest.json", 0, NULL);
  section(&t, s, 0);
  int w_app = t.width;
  section(&t, s, 1);
  if (t.width < w_app)
    t.width = w_app;
  int on = c->color_out;
  cn__cli_entry *mw = cn__cli_scan_middleware(s);
  int any = 0;
  for (size_t i = 0; i < s->n; i++)
    any |= s->v[i].in_tree;
  if (mw) {
    char last[CN__CLI_PATH];
    last_column(&t, mw, last, sizeof last);
    fprintf(f, "%s\u0192%s Middleware%*s%s\n\n", cn__cli_c(on, CN__C_MAGENTA),
            cn__cli_c(on, CN__C_RESET), t.width + 27 - 10, "", last);
  }
  json_decref(t.manifest);
  if (!any && !mw) {
    fprintf(f, "No routes: add app/page.html, app/api/hello/route.c or "
               "pages/api/hello.c\n");
    return;
  }
  fprintf(f, "\u25cb  (Static)   prerendered as static content\n"
             "\u25cf  (SSG)      prerendered as static HTML (uses "
             "static_params)\n"
             "\u0192  (Dynamic)  server-rendered on demand\n");
}

/* ------------------------------------------------------------- data */

/* One row: "┌ λ tasks:list   query   data/tasks.c". */
static void data_row(const cn__cli *c, FILE *f, size_t at, size_t count,
                     int width, const char *path, const char *kind,
                     const char *source) {
  const char *gutter = count == 1    ? "\u2500"
                       : at == 1     ? "\u250c"
                       : at == count ? "\u2514"
                                     : "\u251c";
  int on = c->color_out;
  fprintf(f, "%s %s\u03bb%s %-*s  %-22s %s\n", gutter,
          cn__cli_c(on, CN__C_MAGENTA), cn__cli_c(on, CN__C_RESET), width,
          path, kind, source);
}

void cn__cli_table_data(const cn__cli *c, FILE *f, const cn__cli_scan *s,
                        const char *fns) {
  size_t nmods = 0, nmig = 0, nvar = 0, rows = 0, blen;
  int width = 30;
  for (size_t i = 0; i < s->n; i++) {
    nmods += s->v[i].data;
    if (!s->v[i].migration)
      continue;
    /* one migration however many engines it is written for */
    const char *name = strrchr(s->v[i].rel, '/') + 1;
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++)
      seen = s->v[j].migration &&
             cn__migration_variants(strrchr(s->v[j].rel, '/') + 1, name);
    nmig += !seen;
    nvar += *cn__migration_engine(name, &blen) != '\0';
  }
  if (!nmods && !nmig && !nvar)
    return;
  /* The server's lines are "path\tkind\tsource"; anything else (a
   * sanitizer's note) is not a row. */
  for (const char *p = fns; p && *p;) {
    const char *nl = strchr(p, '\n'), *t1 = strchr(p, '\t');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (t1 && t1 < p + len && (int)(t1 - p) > width)
      width = (int)(t1 - p);
    rows += t1 && t1 < p + len;
    p += len + (nl != NULL);
  }
  int on = c->color_out;
  fprintf(f, "\n%sData%s%*s  %-22s %s\n", cn__cli_c(on, CN__C_BOLD),
          cn__cli_c(on, CN__C_RESET), width + 4 - 4, "", "Kind", "File");
  size_t at = 0;
  for (const char *p = fns; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[512], *fld[3] = {line, NULL, NULL};
    snprintf(line, sizeof line, "%.*s", (int)len, p);
    p += len + (nl != NULL);
    for (int k = 1; k < 3 && fld[k - 1]; k++)
      if ((fld[k] = strchr(fld[k - 1], '\t')))
        *fld[k]++ = '\0';
    if (fld[2])
      data_row(c, f, ++at, rows, width, fld[0], fld[1], fld[2]);
  }
  if (!fns) {
    for (size_t i = 0; i < s->n; i++)
      if (s->v[i].data) {
        char what[96];
        snprintf(what, sizeof what, "%s:*", s->v[i].module);
        data_row(c, f, ++at, nmods, width, what, "module", s->v[i].rel);
      }
  } else if (!rows) {
    fprintf(f, "  (no functions)\n");
  }
  if (nmig || nvar)
    fprintf(f, "  %zu migration%s in data/migrations%s, applied in name "
               "order when the server starts\n",
            nmig, nmig == 1 ? "" : "s",
            nvar ? " (and engine-specific versions)" : "");
  fprintf(f, "\n\u03bb  (Function)  a data function: POST /_cairn/query, "
             "/_cairn/mutation or /_cairn/action\n");
}
