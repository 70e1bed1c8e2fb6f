/* Client modules: the registry, their immutable URLs, props as safe JSON
 * (islands.h). */
#include <stdio.h>

#include <openssl/evp.h>

#include "islands/islands.h"

static const cn__islands *served; /* what the mounted routes answer from */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && !strcmp(s + n - m, suffix);
}

int cn__islands_is_module(const char *path) {
  return ends_with(path, ".client.js") &&
         (!strncmp(path, "app/", 4) || !strncmp(path, "components/", 11));
}

static int name_ok(const char *s, size_t n) {
  if (!n || n > 100)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
      return 0;
  return 1;
}

int cn__islands_add(cn__islands *is, const char *path, const char *text,
                    size_t len) {
  if (!cn__islands_is_module(path))
    return CN_EINVAL;
  const char *slash = strrchr(path, '/');
  const char *base = slash + 1;
  size_t nlen = strlen(base) - strlen(".client.js");
  if (!name_ok(base, nlen))
    return CN_EINVAL;
  if (is->n == is->cap) {
    size_t cap = is->cap ? is->cap * 2 : 8;
    cn__island_mod *g = cn__realloc(is->mods, cap * sizeof *g);
    if (!g)
      return CN_ENOMEM;
    is->mods = g;
    is->cap = cap;
  }
  unsigned char md[32];
  unsigned int mdlen = 0;
  if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1)
    return CN_ENOMEM;
  cn__island_mod *m = &is->mods[is->n];
  memset(m, 0, sizeof *m);
  m->path = cn__strdup(path);
  m->dir = cn__malloc((size_t)(slash - path) + 1);
  m->name = cn__malloc(nlen + 1);
  m->text = cn__malloc(len + 1);
  m->url = cn__malloc(sizeof CN__ISLANDS_PREFIX + 16 + 1 + nlen + 4);
  if (!m->path || !m->dir || !m->name || !m->text || !m->url) {
    cn__free(m->path);
    cn__free(m->dir);
    cn__free(m->name);
    cn__free(m->text);
    cn__free(m->url);
    return CN_ENOMEM;
  }
  memcpy(m->dir, path, (size_t)(slash - path));
  m->dir[slash - path] = '\0';
  memcpy(m->name, base, nlen);
  m->name[nlen] = '\0';
  memcpy(m->text, text, len);
  m->text[len] = '\0';
  m->len = len;
  char *u = m->url + sprintf(m->url, "%s", CN__ISLANDS_PREFIX);
  for (int i = 0; i < 8; i++)
    u += sprintf(u, "%02x", md[i]);
  sprintf(u, "/%s.js", m->name);
  is->n++;
  return 0;
}

const cn__island_mod *cn__islands_find(const cn__islands *is,
                                       const char *page_dir, cn_str name) {
  /* the page's folder, then each one above it, then components/ */
  size_t dl = page_dir ? strlen(page_dir) : 0;
  for (;;) {
    for (size_t i = 0; is && i < is->n; i++) {
      const cn__island_mod *m = &is->mods[i];
      if (cn_str_eq(name, m->name) &&
          (dl ? strlen(m->dir) == dl && !memcmp(m->dir, page_dir, dl)
              : !strcmp(m->dir, "components")))
        return m;
    }
    if (!dl)
      return NULL;
    while (dl && page_dir[dl - 1] != '/')
      dl--;
    if (dl)
      dl--; /* drop the slash: "app/x" → "app" */
  }
}

void cn__islands_free(cn__islands *is) {
  for (size_t i = 0; i < is->n; i++) {
    cn__island_mod *m = &is->mods[i];
    cn__free(m->path);
    cn__free(m->dir);
    cn__free(m->name);
    cn__free(m->text);
    cn__free(m->url);
  }
  cn__free(is->mods);
  memset(is, 0, sizeof *is);
}

int cn__islands_props(const json_t *props, cn__buf *out) {
  if (props && !json_is_object(props))
    return CN_EINVAL;
  char *s = props ? json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (props && !s) /* a value inside that holds itself; or no memory */
    return CN_EINVAL;
  const char *p = s ? s : "{}";
  int rc = 0;
  /* Outside strings JSON has none of these, so escaping them everywhere
   * changes no value. */
  for (; !rc && *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '<' || c == '>' || c == '&')
      rc = cn__buf_appendf(out, "\\u%04x", c);
    else if (c == 0xE2 && (unsigned char)p[1] == 0x80 &&
             ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9)) {
      rc = cn__buf_appendf(out, "\\u%04x", 0x2000 + ((unsigned char)p[2] - 0x80));
      p += 2;
    } else
      rc = cn__buf_append(out, p, 1);
  }
  free(s);
  return rc ? CN_ENOMEM : 0;
}

/* ------------------------------------------------------------- serving */

static int module_route(cn_req *req, cn_res *res) {
  cn_str path = cn_req_path(req);
  for (size_t i = 0; served && i < served->n; i++) {
    const cn__island_mod *m = &served->mods[i];
    if (cn_str_eq(path, m->url)) {
      cn_res_header(res, "Content-Type", "text/javascript; charset=utf-8");
      cn_res_header(res, "Cache-Control",
                    "public, max-age=31536000, immutable");
      return cn_res_send(res, m->text, m->len);
    }
  }
  return cn_res_error(res, 404, "no such module");
}

static int script_route(cn_req *req, cn_res *res) {
  (void)req;
  const char *js = cn__islands_script();
  cn_res_header(res, "Content-Type", "text/javascript; charset=utf-8");
  cn_res_header(res, "Cache-Control", "public, max-age=3600");
  return cn_res_send(res, js, strlen(js));
}

int cn__islands_mount(const cn__islands *is, cn_app *app) {
  static const cn_route_config inline_cfg = {.nonblocking = 1};
  served = is;
  if (!is->n)
    return 0;
  int rc = cn_app_route(app, "GET", CN__ISLANDS_SCRIPT_PATH, script_route,
                        &inline_cfg);
  /* Two modules of one name and text share a URL: the second route is
   * refused as a duplicate, and the first answers for both. */
  for (size_t i = 0; rc != CN_ENOMEM && i < is->n; i++)
    rc = cn_app_route(app, "GET", is->mods[i].url, module_route, &inline_cfg);
  return rc == CN_ENOMEM ? CN_ENOMEM : 0;
}

/* ------------------------------------------------------------- markup */
const char *cn__islands_bad_prop(const json_t *props) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)props, key, v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    free(s);
    if (!s)
      return key;
  }
  return NULL;
}

int cn__islands_open(const cn__islands *is, const char *page_dir,
                     cn_str spec, const json_t *props, cn__buf *out,
                     const cn__island_mod **mod, int *preload) {
  const char *dot = memchr(spec.ptr, '.', spec.len);
  cn_str name = dot ? cn__str(spec.ptr, (size_t)(dot - spec.ptr)) : spec;
  cn_str how = dot ? cn__str(dot + 1, spec.len - name.len - 1)
                   : CN_STR("load");
  if (!cn_str_eq(how, "load") && !cn_str_eq(how, "idle") &&
      !cn_str_eq(how, "visible"))
    return CN_EINVAL;
  const cn__island_mod *m = cn__islands_find(is, page_dir, name);
  if (!m)
    return CN_ENOENT;
  int rc = cn__buf_appendf(out, "<cairn-island data-module=\"%s\" "
                                "data-strategy=\"%.*s\"><script "
                                "type=\"application/json\">",
                           m->url, (int)how.len, how.ptr);
  if (!rc)
    rc = cn__islands_props(props, out);
  if (!rc)
    rc = cn__buf_appendf(out, "</script>") ? CN_ENOMEM : 0;
  *mod = m;
  *preload = !cn_str_eq(how, "visible"); /* visible loads when seen */
  return rc;
}
