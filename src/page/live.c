/*
 * Live regions (cn_live in <cairn.h>): {{#live.name}} renders the page's
 * query result through the partial of that name inside a <cairn-live>
 * element that tells the client script what to subscribe to; the live
 * engine (src/live) renders the same partial again for every new result.
 *
 * The element carries data-region="<page dir>#<name>", data-query and
 * data-args. The client sends them back when it subscribes; the engine
 * renders only regions a page declares with that very query, so a client
 * can make the server render nothing it could not read through the query
 * itself.
 */
#include <stdio.h>

#include "page/page_int.h"

static _Atomic(cn__pages *) global_set;

void cn__pages_set_global(cn__pages *set) { atomic_store(&global_set, set); }
cn__pages *cn__pages_global(void) { return atomic_load(&global_set); }

/* The page's live region called name, NULL when it declares none. */
static const cn_live *find_live(const cn_page_def *def, cn_str name) {
  for (size_t k = 0; def && k < CN__ARRAY_LEN(def->live); k++)
    if (def->live[k].name && def->live[k].query &&
        cn_str_eq(name, def->live[k].name))
      return &def->live[k];
  return NULL;
}

/* Partials of a region render: components/, then the page's folder. */
typedef struct region_env {
  cn__pages *set;
  const char *dir;
} region_env;

static const cn__tpl *region_lookup(void *ud, cn_str name) {
  region_env *e = ud;
  char path[512];
  if (!name.len || name.len > 200 || name.ptr[0] == '/' ||
      memmem(name.ptr, name.len, "..", 2))
    return NULL;
  int n = snprintf(path, sizeof path, "components/%.*s.html", (int)name.len,
                   name.ptr);
  cn__pslot *s = cn__pages_slot(e->set, path, (size_t)n);
  if (!s) {
    n = snprintf(path, sizeof path, "%s/%.*s.html", e->dir, (int)name.len,
                 name.ptr);
    s = n > 0 && (size_t)n < sizeof path
            ? cn__pages_slot(e->set, path, (size_t)n)
            : NULL;
  }
  const cn__ptpl *t = cn__pages_tpl(e->set, s, NULL);
  return t ? t->tpl : NULL;
}

/* In a region's render only islands mean something (they mount afresh
 * with the new props when the client swaps the region in); a form, a
 * deferred section or a region nested in it renders nothing. */
static int region_special(void *ud, cn_str ns, cn_str name, int open,
                          const json_t *bind, cn__buf *out) {
  region_env *e = ud;
  if (ns.len != 6)
    return open ? 1 : 0;
  if (!open)
    return cn__buf_appendf(out, "</cairn-island>") ? CN_ENOMEM : 0;
  const cn__island_mod *m;
  int preload;
  return cn__islands_open(&e->set->islands, e->dir, name, bind, out, &m,
                          &preload);
}

/* Render the partial name of dir with {"value": value} into out. */
static int render_partial(cn__pages *set, const char *dir, cn_str name,
                          const json_t *value, cn__buf *out) {
  region_env env = {set, dir};
  const cn__tpl *t = region_lookup(&env, name);
  if (!t)
    return CN_ENOENT;
  json_t *props = json_pack("{s:O}", "value", value ? value : json_null());
  if (!props)
    return CN_ENOMEM;
  const json_t *stack[1] = {props};
  cn__tpl_partials parts = {.lookup = region_lookup, .ud = &env,
                            .special = region_special};
  cn__tpl_error te;
  uint32_t count;
  cn__tpl_nodes(t, &count);
  int rc = cn__tpl_render_span(t, 0, count, stack, 1, &parts, out, &te);
  json_decref(props);
  return rc;
}

/* data-args: the arguments as JSON in an attribute. */
static int write_open(cn__buf *out, const char *dir, cn_str name,
                      const char *query, const json_t *args) {
  char *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
  if (!a)
    return CN_ENOMEM;
  int rc = cn__buf_appendf(out, "<cairn-live data-region=\"");
  if (!rc)
    rc = cn__tpl_escape(out, dir, strlen(dir));
  if (!rc)
    rc = cn__buf_appendf(out, "#%.*s\" data-query=\"", (int)name.len,
                         name.ptr);
  if (!rc)
    rc = cn__tpl_escape(out, query, strlen(query));
  if (!rc)
    rc = cn__buf_appendf(out, "\" data-args=\"");
  if (!rc)
    rc = cn__tpl_escape(out, a, strlen(a));
  if (!rc) /* the content's hash, filled in once it is rendered */
    rc = cn__buf_appendf(out, "\" data-h=\"00000000\">");
  free(a);
  return rc ? CN_ENOMEM : 0;
}

/* data-h: FNV-1a of the region's HTML as rendered here, which the live
 * script compares with each pushed HTML's (over its UTF-8 bytes): the
 * first push after connecting is this same HTML, and swapping it in would
 * re-mount the islands inside for nothing (their mounting changed the
 * DOM, so the DOM cannot be compared). */
static void write_hash(cn__buf *out, size_t from) {
  uint32_t h = 2166136261u;
  for (size_t i = from; i < out->len; i++)
    h = (h ^ (unsigned char)out->ptr[i]) * 16777619u;
  char hex[9];
  snprintf(hex, sizeof hex, "%08x", h);
  memcpy(out->ptr + from - 10, hex, 8); /* in data-h="________"> */
}

int cn__page_live(cn__render *r, cn_str name, int open, cn__buf *out) {
  if (!open) { /* only reached when the fallback was rendered */
    r->live_open = 0;
    return cn__buf_appendf(out, "</cairn-live>") ? CN_ENOMEM : 0;
  }
  const cn_page_def *def = r->pg && r->pg->def
                               ? atomic_load(&r->pg->def->def)
                               : NULL;
  const cn_live *lv = find_live(def, name);
  if (!lv || !r->pg)
    return CN_ENOENT; /* fails the render: the page declares no such region */
  json_t *args = NULL, *value = NULL;
  int rc = lv->args ? lv->args(r->req, r->props[r->n], &args) : 0;
  if (!rc && !args && !(args = json_object()))
    rc = CN_ENOMEM;
  if (!rc && !json_is_object(args))
    rc = CN_EINVAL;
  if (rc) {
    json_decref(args);
    return rc < 0 ? rc : CN_EINVAL;
  }
  int qrc = cn_run_query(cn_req_ctx(r->req), lv->query, args, &value);
  rc = write_open(out, r->pg->dir, name, lv->query, args);
  json_decref(args);
  size_t from = out->len;
  if (!rc && !qrc) {
    rc = render_partial(r->set, r->pg->dir, name, value, out);
    if (!rc)
      write_hash(out, from);
    if (!rc)
      rc = cn__buf_appendf(out, "</cairn-live>") ? CN_ENOMEM : 0;
  }
  /* Islands in the region (rendered by region_special) need the islands
   * script on the page, as the page's own do. */
  if (!rc && !r->islands_script &&
      memmem(out->ptr + from, out->len - from, "<cairn-island", 13)) {
    r->islands_script = 1;
    rc = cn__buf_appendf(out, "<script src=\"" CN__ISLANDS_SCRIPT_PATH
                              "\" defer></script>")
             ? CN_ENOMEM
             : 0;
  }
  json_decref(value);
  if (!rc && !r->live_script) {
    /* once per page: the client connects and keeps every region live */
    r->live_script = 1;
    rc = cn__buf_appendf(out, "<script src=\"/_cairn/live.js\"></script>"
                              "<script>cairnLive.regions()</script>")
             ? CN_ENOMEM
             : 0;
  }
  if (rc)
    return rc;
  if (qrc) { /* the fallback, then the close tag from the second call */
    r->live_open = 1;
    return 0;
  }
  return 1;
}

int cn__pages_render_region(cn__pages *set, const char *region,
                            const char *query, const json_t *value,
                            cn__buf *out) {
  const char *hash = region ? strchr(region, '#') : NULL;
  if (!set || !hash || !query)
    return CN_EINVAL;
  size_t dlen = (size_t)(hash - region);
  cn_str name = cn__cstr(hash + 1);
  for (size_t i = 0; i < set->npages; i++) {
    cn__page *pg = &set->pages[i];
    if (strlen(pg->dir) != dlen || memcmp(pg->dir, region, dlen))
      continue;
    const cn_page_def *def = pg->def ? atomic_load(&pg->def->def) : NULL;
    const cn_live *lv = find_live(def, name);
    if (!lv || strcmp(lv->query, query))
      return CN_EINVAL;
    return out ? render_partial(set, pg->dir, name, value, out) : 0;
  }
  return CN_EINVAL;
}
