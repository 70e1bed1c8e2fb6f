/*
 * fuzz_page_set: a handful of (path, template) files as the manifest gives
 * them, built into a page set. The input is path\0text\0path\0text...;
 * each path is made plausible (prefix "app/" or "components/", suffix
 * ".html") so the fuzzer spends its time on directory structure, route
 * segments, layouts and template text rather than on ignored files. A
 * page.c definition is attached to some directories (its choice coded in
 * the path's first byte) so every page kind is reached.
 *
 * On success every page's invariants are checked (a chain from the root
 * to the page's own directory, each level a prefix of the next, layouts
 * with a top-level {{{children}}}), its kind computed, and the set freed;
 * on failure the result must be NULL with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page/page.h"

#define MAX_FILES 8
#define MAX_PATH 300

static int listed(json_t **params) {
  *params = json_array();
  return 0;
}

static const cn_page_def defs[] = {
    {.dynamic = 0},
    {.dynamic = 1},
    {.static_params = listed},
    {.static_params = listed, .dynamic = 1},
};

static void check_set(cn__pages *p) {
  for (size_t i = 0; i < p->npages; i++) {
    cn__page *pg = &p->pages[i];
    if (!pg->pattern || pg->pattern[0] != '/' || !pg->nchain ||
        pg->chain[0] != p->root || pg->set != p)
      abort();
    if (strcmp(pg->chain[pg->nchain - 1]->dir, pg->dir))
      abort();
    for (size_t k = 0; k < pg->nchain; k++) {
      size_t n = strlen(pg->chain[k]->dir);
      if (k + 1 < pg->nchain &&
          (strncmp(pg->chain[k]->dir, pg->chain[k + 1]->dir, n) ||
           pg->chain[k + 1]->dir[n] != '/'))
        abort();
      const cn__pslot *l = pg->chain[k]->layout;
      const cn__ptpl *t = l ? atomic_load(&l->cur) : NULL;
      if (l && (!t || !t->has_children))
        abort();
    }
    if ((strchr(pg->pattern, '[') != NULL) != pg->has_params)
      abort();
    cn__page_kind k = cn__page_kind_of(pg);
    if (k != CN__PAGE_STATIC && k != CN__PAGE_PRERENDERED &&
        k != CN__PAGE_DYNAMIC)
      abort();
    if (!pg->has_params && k == CN__PAGE_PRERENDERED)
      abort();
  }
  for (size_t i = 0; i < p->nslots; i++)
    if (cn__pages_slot(p, p->slots[i].path, strlen(p->slots[i].path)) == NULL)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char paths[MAX_FILES][MAX_PATH + 32];
  static char defpaths[MAX_FILES][MAX_PATH + 32];
  cn_manifest_file files[2 * MAX_FILES];
  size_t nfiles = 0, ntpl = 0;
  const char *p = (const char *)data, *end = p + size;
  while (p < end && ntpl < MAX_FILES) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    size_t plen = nul ? (size_t)(nul - p) : (size_t)(end - p);
    const char *text = nul ? nul + 1 : end;
    const char *tend = text < end ? memchr(text, '\0', (size_t)(end - text))
                                  : NULL;
    size_t tlen = tend ? (size_t)(tend - text) : (size_t)(end - text);
    if (text > end)
      text = end, tlen = 0;
    /* The first byte picks the folder, the def and whether it is a
     * page.c's sibling; the rest is the path below it. */
    unsigned sel = plen ? (unsigned char)p[0] : 0;
    const char *rest = plen ? p + 1 : p;
    size_t rlen = plen ? plen - 1 : 0;
    if (rlen > MAX_PATH)
      rlen = MAX_PATH;
    char *path = paths[ntpl];
    const char *prefix = sel & 1 ? "components/" : "app/";
    size_t n = strlen(prefix);
    memcpy(path, prefix, n);
    memcpy(path + n, rest, rlen);
    n += rlen;
    if (n < 5 || memcmp(path + n - 5, ".html", 5)) {
      memcpy(path + n, ".html", 5);
      n += 5;
    }
    path[n] = '\0';
    files[nfiles++] = (cn_manifest_file){path, text, tlen, NULL};
    /* A page.c / layout.c beside a page.html / layout.html. */
    if (sel & 2) {
      const char *slash = strrchr(path, '/');
      size_t dlen = (size_t)(slash - path);
      char *dp = defpaths[ntpl];
      memcpy(dp, path, dlen);
      strcpy(dp + dlen, sel & 4 ? "/layout.c" : "/page.c");
      files[nfiles++] =
          (cn_manifest_file){dp, NULL, 0, &defs[(sel >> 3) & 3]};
    }
    ntpl++;
    p = tend ? tend + 1 : end;
  }
  cn__pages *set = (cn__pages *)(uintptr_t)1;
  char err[256];
  int rc = cn__pages_new(files, nfiles, 0, &set, err, sizeof err);
  if (rc) {
    if (set != NULL || !err[0] || rc >= 0)
      abort();
    return 0;
  }
  check_set(set);
  cn__pages_free(set);
  return 0;
}
