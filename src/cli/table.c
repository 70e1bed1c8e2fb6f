/*
 * The route table, shaped like `next build`'s: app routes, then pages
 * routes, each in Next.js's sorted order with a tree gutter, then the
 * middleware, then a legend. The size of a route is the code and data its
 * object file brings into the server (ELF sections that are loaded), not
 * the file's size on disk, which is mostly debug information.
 */
#include <elf.h>
#include <stdlib.h>

#include "cli/cli.h"

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

static const char *kind_label(const cn__cli_entry *e) {
  switch (e->kind) {
  case CN__ROUTE_HANDLER:
    return "API (route handler)";
  case CN__ROUTE_API:
    return "API (pages/api)";
  case CN__ROUTE_PAGE:
    return "page (not yet served)";
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

static void print_row(cn__cli_entry *e, void *ud) {
  table_ctx *t = ud;
  if (!in_section(e, t->pages))
    return;
  t->at++;
  const char *gutter = t->count == 1 ? "\u2500"
                       : t->at == 1  ? "\u250c"
                       : t->at == t->count ? "\u2514"
                                           : "\u251c";
  int dynamic = e->unit;
  char last[CN__CLI_PATH];
  last_column(t, e, last, sizeof last);
  int on = t->c->color_out;
  fprintf(t->f, "%s %s%s%s %-*s  %-22s %s\n", gutter,
          cn__cli_c(on, dynamic ? CN__C_MAGENTA : CN__C_DIM),
          dynamic ? "\u0192" : "\u25cb", cn__cli_c(on, CN__C_RESET),
          t->width, e->pattern, kind_label(e), last);
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
  if (!any && !mw) {
    fprintf(f, "No routes: add app/api/hello/route.c or pages/api/hello.c\n");
    return;
  }
  fprintf(f, "\u25cb  (Static)   page template, not served yet\n"
             "\u0192  (Dynamic)  answered by C code on every request\n");
}
