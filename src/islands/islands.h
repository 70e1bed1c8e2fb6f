/*
 * Islands: the interactive parts of a server-rendered page, without a
 * JavaScript build step. A client module is a plain ES module of the app
 * (components/counter.client.js, or one beside a page) whose default
 * export (or `mount`) is called as mount(element, props). A template
 * places one with
 *
 *     {{#island.counter}}<p>fallback HTML, shown until it mounts</p>{{/island.counter}}
 *     {{#island.chart.visible}}…{{/island.chart.visible}}   (load | idle | visible)
 *
 * and its props are the value of the island's name where the section
 * stands ("counter": {...} in the page's data).
 *
 * Modules are served at /_cairn/m/<content hash>/<name>.js, immutable, so
 * a new build's module is a new URL; the page lists the modules it mounts
 * at load or when idle as <link rel="modulepreload"> in its <head> (one
 * per module, however often it is used); /_cairn/islands.js mounts them.
 *
 * Props travel as JSON in a <script type="application/json"> whose text
 * cannot end the element nor start a comment: <, >, & and U+2028/2029 are
 * written as \u escapes (cn__islands_props).
 *
 * Ownership: a registry belongs to the page set that read the modules;
 * module texts are copied. Thread safety: read-only once mounted.
 */
#ifndef CN_ISLANDS_H
#define CN_ISLANDS_H

#include "common/common.h"

#define CN__ISLANDS_SCRIPT_PATH "/_cairn/islands.js"
#define CN__ISLANDS_PREFIX "/_cairn/m/"

typedef struct cn__island_mod {
  char *path; /* "components/counter.client.js" */
  char *dir;  /* "components" */
  char *name; /* "counter" */
  char *url;  /* "/_cairn/m/<16 hex>/counter.js" */
  char *text;
  size_t len;
} cn__island_mod;

typedef struct cn__islands {
  cn__island_mod *mods;
  size_t n, cap;
} cn__islands;

/* 1 when path names a client module: *.client.js under app/ or
 * components/ (what `cairn build` embeds). */
int cn__islands_is_module(const char *path);

/* Add the module at path with its text (copied). 0; CN_EINVAL for a path
 * that is not a module or a name that is not [A-Za-z0-9_-]+; CN_ENOMEM. */
int cn__islands_add(cn__islands *is, const char *path, const char *text,
                    size_t len);

/* The module name for a page in folder page_dir: the one beside the page
 * or in a folder above it, else components/. NULL when there is none. */
const cn__island_mod *cn__islands_find(const cn__islands *is,
                                       const char *page_dir, cn_str name);

void cn__islands_free(cn__islands *is);

/* props (an object, or NULL for {}) as JSON safe inside a <script>
 * element, appended to out. 0; CN_EINVAL when props is not an object or
 * cannot be written as JSON (a value that contains itself); CN_ENOMEM. */
int cn__islands_props(const json_t *props, cn__buf *out);

/* The first key of props whose value cannot be written as JSON, NULL when
 * there is none: what a render error names. */
const char *cn__islands_bad_prop(const json_t *props);

/* Serve is's modules and the islands script from app. is must outlive
 * the app's serving (the page set keeps it). 0 or CN_ENOMEM. */
int cn__islands_mount(const cn__islands *is, cn_app *app);

/* The opening of an island: spec is "name" or "name.strategy" (load,
 * idle, visible); the module is found from page_dir (cn__islands_find).
 * Appends <cairn-island ...><script type="application/json">props
 * </script> to out; the caller writes the fallback and </cairn-island>.
 * OUT: *mod, the module; *preload, 1 when the page should list it in
 * <head> (not for visible: it must not load before it is seen). 0;
 * CN_ENOENT (no such module), CN_EINVAL (an unknown strategy, props not an
 * object), CN_ENOMEM. */
int cn__islands_open(const cn__islands *is, const char *page_dir,
                     cn_str spec, const json_t *props, cn__buf *out,
                     const cn__island_mod **mod, int *preload);

/* The client script (static text). */
const char *cn__islands_script(void);

#endif
