/* Islands in pages (src/islands/islands.h): {{#island.name}} sections. */
#include <stdio.h>

#include "page/page_int.h"

/* Which of an island's props holds the server-only value found in them:
 * the render error names the island and the prop. */
static int tainted_prop(cn__render *r, cn_str spec, const json_t *props,
                        const cn__taint_hit *hit) {
  const char *key, *prop = NULL;
  const json_t *v;
  cn__taint_hit one;
  json_object_foreach((json_t *)props, key, v) {
    if (cn__taint_json(v, &one) || cn__taint_find(key, strlen(key), &one)) {
      prop = key;
      hit = &one;
      break;
    }
  }
  char where[120];
  /* The marker of a tainted object is a key: no prop name to give. */
  if (prop && !strncmp(prop, "cairn:server-only:", 18))
    prop = NULL;
  snprintf(where, sizeof where, "the props of island %.*s%s%.40s%s",
           (int)CN__MIN(spec.len, 40), spec.ptr, prop ? " (prop \"" : "",
           prop ? prop : "", prop ? "\")" : "");
  cn__taint_describe(hit, where, r->why, sizeof r->why);
  return CN_EFORBIDDEN;
}

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
  size_t mark = out->len;
  int rc = cn__islands_open(&r->set->islands, r->pg ? r->pg->dir : NULL,
                            spec, props, out, &m, &preload);
  /* The render error's words: which island, and what is wrong with it. */
  const char *dot = memchr(spec.ptr, '.', spec.len);
  int nlen = (int)(dot ? (size_t)(dot - spec.ptr) : spec.len);
  cn_str how = dot ? cn__str(dot + 1, spec.len - (size_t)nlen - 1)
                   : CN_STR("load");
  const char *bad = NULL;
  if (rc == CN_ENOENT)
    snprintf(r->why, sizeof r->why, "no client module %.*s.client.js beside "
             "the page, above it or in components/", nlen, spec.ptr);
  else if (rc == CN_EINVAL && !cn_str_eq(how, "load") &&
           !cn_str_eq(how, "idle") && !cn_str_eq(how, "visible"))
    snprintf(r->why, sizeof r->why, "island %.*s: the strategy must be load, "
             "idle or visible", nlen, spec.ptr);
  else if (rc == CN_EINVAL && props && !json_is_object(props))
    snprintf(r->why, sizeof r->why, "island %.*s: its props (the value of "
             "\"%.*s\") must be a JSON object", nlen, spec.ptr, nlen,
             spec.ptr);
  else if (rc == CN_EINVAL && (bad = cn__islands_bad_prop(props)))
    snprintf(r->why, sizeof r->why, "island %.*s: the prop \"%.60s\" cannot "
             "be written as JSON (it contains itself)", nlen, spec.ptr, bad);
  if (rc)
    return rc;
  cn__taint_hit hit;
  if (cn__taint_find(out->ptr + mark, out->len - mark, &hit)) {
    out->len = mark;
    return tainted_prop(r, spec, props, &hit);
  }
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
