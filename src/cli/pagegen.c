/*
 * The pages part of a build: every template of the app read, checked the
 * way the server will load it (so a syntax error or a layout without
 * {{{children}}} fails the build with file:line:col), and embedded in the
 * generated main.c with the page.c / layout.c definitions beside it.
 */
#include <stdlib.h>

#include "cli/cli.h"
#include "page/page.h"

static int read_all(const char *path, cn__buf *out) {
  FILE *f = fopen(path, "rb");
  char chunk[65536];
  size_t n;
  int rc = 0;
  if (!f)
    return CN_EIO;
  while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    rc = cn__buf_append(out, chunk, n);
  if (!rc && ferror(f))
    rc = CN_EIO;
  fclose(f);
  return rc;
}

int cn__cli_pages_read(const cn__cli_scan *s, cn__cli_pagefiles *pf,
                       char *err, size_t errlen) {
  memset(pf, 0, sizeof(*pf));
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    n += s->v[i].tpl || s->v[i].pagedef;
  pf->files = cn__calloc(n + 1, sizeof(*pf->files));
  pf->texts = cn__calloc(n + 1, sizeof(*pf->texts));
  pf->entries = cn__calloc(n + 1, sizeof(*pf->entries));
  if (!pf->files || !pf->texts || !pf->entries)
    return CN_ENOMEM;
  /* Definitions are not linked yet: a stand-in lets the set be built. */
  static const cn_page_def none;
  pf->hash = CN__CLI_HASH_INIT;
  for (size_t i = 0; i < s->n; i++) {
    cn__cli_entry *e = &s->v[i];
    if (!e->tpl && !e->pagedef)
      continue;
    cn_manifest_file *f = &pf->files[pf->n];
    f->path = e->rel;
    if (e->pagedef) {
      f->def = &none;
    } else {
      int rc = read_all(e->rel, &pf->texts[pf->n]);
      if (rc) {
        snprintf(err, errlen, "%s: cannot read it", e->rel);
        return rc;
      }
      f->text = pf->texts[pf->n].ptr ? pf->texts[pf->n].ptr : "";
      f->len = pf->texts[pf->n].len;
      pf->hash = cn__cli_hash(e->rel, strlen(e->rel) + 1, pf->hash);
      pf->hash = cn__cli_hash(f->text, f->len, pf->hash);
    }
    pf->entries[pf->n++] = e;
  }
  cn__pages *set;
  int rc = cn__pages_new(pf->files, pf->n, 0, &set, err, errlen);
  cn__pages_free(set);
  return rc;
}

void cn__cli_pages_free(cn__cli_pagefiles *pf) {
  for (size_t i = 0; pf->texts && i < pf->n; i++)
    cn__buf_free(&pf->texts[i]);
  cn__free(pf->texts);
  cn__free(pf->files);
  cn__free(pf->entries);
  memset(pf, 0, sizeof(*pf));
}

/* A C string literal of any bytes, one source line per template line. */
static void c_bytes(cn__buf *o, const char *p, size_t n) {
  cn__buf_append(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '?')
      cn__buf_append(o, p + i, 1);
    else
      cn__buf_appendf(o, "\\%03o", ch);
    if (ch == '\n' && i + 1 < n)
      cn__buf_append(o, "\"\n    \"", 7);
  }
  cn__buf_append(o, "\"", 1);
}

void cn__cli_pages_gen(const cn__cli_pagefiles *pf, cn__buf *o, int decl) {
  for (size_t i = 0; i < pf->n; i++) {
    const cn__cli_entry *e = pf->entries[i];
    const cn_manifest_file *f = &pf->files[i];
    if (decl && e->pagedef) {
      cn__buf_appendf(o, "extern const cn_page_def %s;\n", e->sym);
    } else if (decl) {
      cn__buf_appendf(o, "static const char tpl_%zu[] =\n    ", i);
      c_bytes(o, f->text, f->len);
      cn__buf_appendf(o, ";\n");
    } else {
      cn__buf_appendf(o, "    {");
      c_bytes(o, e->rel, strlen(e->rel));
      if (e->pagedef)
        cn__buf_appendf(o, ", 0, 0, &%s},\n", e->sym);
      else
        cn__buf_appendf(o, ", tpl_%zu, %zu, 0},\n", i, f->len);
    }
  }
}
