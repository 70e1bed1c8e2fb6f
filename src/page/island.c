/* Islands in pages (src/islands/islands.h): {{#island.name}} sections. */
#include "page/page_int.h"

int cn__page_island(cn__render *r, cn_str spec, int open,
                    const json_t *props, cn__buf *out) {
  if (!open) {
    int rc = cn__buf_appendf(out, "</cairn-island>");
    if (!rc && !r->islands_script) {
      r->islands_script = 1;
      rc = cn__buf_appendf(out, "<script src=\"" CN__ISLANDS_SCRIPT_PATH
                                "\" defer></script>");
    }
    return rc ? CN_ENOMEM : 0;
  }
  const cn__island_mod *m = NULL;
  int preload = 0;
  int rc = cn__islands_open(&r->set->islands, r->pg ? r->pg->dir : NULL,
                            spec, props, out, &m, &preload);
  if (rc)
    return rc;
  /* One preload per module however often the page uses it. After the
   * shell was sent (a streamed section) <head> is gone: the import alone
   * loads it then. */
  if (preload && !memmem(r->head.ptr ? r->head.ptr : "", r->head.len, m->url,
                         strlen(m->url)) &&
      cn__buf_appendf(&r->head, "<link rel=\"modulepreload\" href=\"%s\">",
                      m->url))
    return CN_ENOMEM;
  return 0;
}
