/*
 * The page set (src/page/set.c): pages and their directory chains from
 * the manifest's paths alone, templates compiled once (with the file's
 * position in every error), how each page renders (cn__page_kind_of),
 * definitions replaced in development, templates read from disk and
 * reloaded on change, and every allocation of cn__pages_new failing in
 * turn (LeakSanitizer checks nothing leaks).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "page/page.h"

#define F(path, text) {path, text, sizeof(text) - 1, NULL}
#define D(path, def) {path, NULL, 0, def}

static int one_param(json_t **params) {
  *params = json_pack("[{s:s}]", "slug", "a");
  return *params ? 0 : CN_ENOMEM;
}

static const cn_page_def plain_def = {.metadata = {.title = "plain"}};
static const cn_page_def dyn_def = {.dynamic = 1};
static const cn_page_def listed_def = {.static_params = one_param};
static const cn_page_def listed_dyn_def = {.static_params = one_param,
                                           .dynamic = 1};

static const cn_manifest_file app_files[] = {
    F("app/layout.html", "<html><body>{{{children}}}</body></html>"),
    F("app/page.html", "home"),
    F("app/not-found.html", "nf"),
    F("app/blog/layout.html", "<main>{{{ children }}}</main>"),
    D("app/blog/layout.c", &plain_def),
    F("app/blog/error.html", "err"),
    F("app/blog/loading.html", "loading"),
    F("app/blog/[slug]/page.html", "post {{params.slug}}"),
    D("app/blog/[slug]/page.c", &listed_def),
    F("app/blog/[slug]/comments.html", "c"),
    F("app/(shop)/layout.html", "{{&children}}"),
    F("app/(shop)/cart/page.html", "cart"),
    D("app/(shop)/cart/page.c", &dyn_def),
    F("app/docs/[...slug]/page.html", "docs"),
    F("app/opt/[[...slug]]/page.html", "opt"),
    D("app/opt/[[...slug]]/page.c", &listed_def),
    F("app/_private/page.html", "not a page"),
    F("app/_private/x/page.html", "not a page either"),
    F("app/blog/_parts/page.html", "nor this"),
    F("app/%5Fescaped/page.html", "a page at /_escaped"),
    F("components/card.html", "card {{x}}"),
    F("components/nested/deep.html", "deep"),
    /* Ignored: not templates, no text outside dev, no definition. */
    F("app/style.css", "body{}"),
    F("README.html", "<p>not under app/ or components/</p>"),
    F("pages/index.html", "x"),
    F("app/page.htm", "x"),
    {"app/ghost/page.html", NULL, 0, NULL},
    {"app/nodef/page.c", NULL, 0, NULL},
    D("app/foo.c", &plain_def),
    {NULL, "ignored", 7, NULL},
};

static cn__pages *build(const cn_manifest_file *f, size_t n, int dev, int *rc,
                        char *err, size_t errlen) {
  cn__pages *p = (cn__pages *)(uintptr_t)1; /* must be overwritten */
  *rc = cn__pages_new(f, n, dev, &p, err, errlen);
  return p;
}

static cn__page *page_of(cn__pages *p, const char *pattern) {
  for (size_t i = 0; p && i < p->npages; i++)
    if (!strcmp(p->pages[i].pattern, pattern))
      return &p->pages[i];
  return NULL;
}

static cn__pslot *slot_of(cn__pages *p, const char *path) {
  return cn__pages_slot(p, path, strlen(path));
}

/* Render a slot's current template with an empty context. */
static const char *render_slot(cn__pages *p, cn__pslot *s) {
  static char text[256];
  cn__tpl_error te = {0};
  const cn__ptpl *t = cn__pages_tpl(p, s, &te);
  cn__buf o = {0};
  if (!t)
    return "(none)";
  if (cn__tpl_render(t->tpl, NULL, NULL, &o, &te))
    snprintf(text, sizeof text, "(render failed)");
  else
    snprintf(text, sizeof text, "%.*s", (int)o.len, o.ptr ? o.ptr : "");
  cn__buf_free(&o);
  return text;
}

TEST(pages_and_chains) {
  int rc;
  char err[256] = "untouched";
  cn__pages *p = build(app_files, CN__ARRAY_LEN(app_files), 0, &rc, err,
                       sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    return;
  CHECK_EQ_STR(err, "");
  CHECK_EQ_INT(p->dev, 0);
  /* Exactly these pages: groups left out of patterns, private folders
   * (anywhere in the path) not pages, "%5F" an underscore in the URL. */
  static const char *const want[] = {"/",
                                     "/blog/[slug]",
                                     "/cart",
                                     "/docs/[...slug]",
                                     "/opt/[[...slug]]",
                                     "/_escaped"};
  CHECK_EQ_INT(p->npages, CN__ARRAY_LEN(want));
  for (size_t i = 0; i < CN__ARRAY_LEN(want); i++)
    CHECK(page_of(p, want[i]) != NULL);
  for (size_t i = 0; i < p->npages; i++) {
    CHECK(strstr(p->pages[i].pattern, "(") == NULL);
    CHECK(strstr(p->pages[i].dir, "_private") == NULL);
    CHECK(strstr(p->pages[i].dir, "_parts") == NULL);
    CHECK(p->pages[i].set == p);
    CHECK(p->pages[i].nchain >= 1 && p->pages[i].chain[0] == p->root);
    CHECK_EQ_INT(p->pages[i].has_params,
                 strchr(p->pages[i].pattern, '[') != NULL);
  }
  /* Templates: everything under app/ and components/ ending in .html with
   * text, sorted; nothing else. */
  CHECK_EQ_INT(p->nslots, 18);
  for (size_t i = 1; i < p->nslots; i++)
    CHECK(strcmp(p->slots[i - 1].path, p->slots[i].path) < 0);
  CHECK(slot_of(p, "README.html") == NULL);
  CHECK(slot_of(p, "pages/index.html") == NULL);
  CHECK(slot_of(p, "app/style.css") == NULL);
  CHECK(slot_of(p, "app/ghost/page.html") == NULL);
  CHECK(page_of(p, "/ghost") == NULL);
  CHECK_EQ_INT(p->ndefs, 4); /* the four with a def named page.c/layout.c */

  /* The root. */
  CHECK(p->root != NULL);
  if (!p->root)
    goto done;
  CHECK_EQ_STR(p->root->dir, "app");
  CHECK(p->root->layout == slot_of(p, "app/layout.html"));
  CHECK(p->root->not_found == slot_of(p, "app/not-found.html"));
  CHECK(p->root->error == NULL && p->root->loading == NULL);
  CHECK(p->root->layout_def == NULL);

  /* /blog/[slug]: app -> app/blog -> app/blog/[slug]. */
  cn__page *post = page_of(p, "/blog/[slug]");
  CHECK(post != NULL);
  if (post) {
    CHECK_EQ_STR(post->dir, "app/blog/[slug]");
    CHECK_EQ_INT(post->nchain, 3);
    if (post->nchain == 3) {
      CHECK_EQ_STR(post->chain[1]->dir, "app/blog");
      CHECK_EQ_STR(post->chain[2]->dir, "app/blog/[slug]");
      CHECK(post->chain[1]->layout == slot_of(p, "app/blog/layout.html"));
      CHECK(post->chain[1]->error == slot_of(p, "app/blog/error.html"));
      CHECK(post->chain[1]->loading == slot_of(p, "app/blog/loading.html"));
      CHECK(post->chain[1]->not_found == NULL);
      CHECK(post->chain[1]->layout_def != NULL &&
            atomic_load(&post->chain[1]->layout_def->def) == &plain_def);
      CHECK(post->chain[2]->layout == NULL);
    }
    CHECK(post->tpl == slot_of(p, "app/blog/[slug]/page.html"));
    CHECK(post->def != NULL && atomic_load(&post->def->def) == &listed_def);
    CHECK_EQ_INT(post->has_params, 1);
  }
  /* /cart: the group is a directory level with its layout. */
  cn__page *cart = page_of(p, "/cart");
  CHECK(cart != NULL);
  if (cart) {
    CHECK_EQ_STR(cart->dir, "app/(shop)/cart");
    CHECK_EQ_INT(cart->nchain, 3);
    if (cart->nchain == 3) {
      CHECK_EQ_STR(cart->chain[1]->dir, "app/(shop)");
      CHECK(cart->chain[1]->layout == slot_of(p, "app/(shop)/layout.html"));
    }
    CHECK(cart->def && atomic_load(&cart->def->def) == &dyn_def);
  }
  /* / itself: just the root; no page.c. */
  cn__page *home = page_of(p, "/");
  CHECK(home && home->nchain == 1 && home->def == NULL);
  CHECK(home && home->tpl == slot_of(p, "app/page.html"));
  /* A directory record is shared by every page below it. */
  cn__page *docs = page_of(p, "/docs/[...slug]");
  CHECK(docs && docs->nchain == 3 && docs->chain[0] == p->root);

  /* Layouts know where {{{children}}} is, whatever its spelling. */
  static const char *const layouts[] = {
      "app/layout.html", "app/blog/layout.html", "app/(shop)/layout.html"};
  for (size_t i = 0; i < 3; i++) {
    const cn__ptpl *t = cn__pages_tpl(p, slot_of(p, layouts[i]), NULL);
    CHECK(t && t->has_children);
    if (!t)
      continue;
    uint32_t count;
    const cn__tpl_node *nodes = cn__tpl_nodes(t->tpl, &count);
    CHECK(t->children < count && nodes[t->children].kind == CN__TPL_RAW);
  }
  CHECK_EQ_STR(render_slot(p, slot_of(p, "app/page.html")), "home");

done:
  cn__pages_free(p);
}

TEST(slot_lookup) {
  int rc;
  char err[256];
  cn__pages *p = build(app_files, CN__ARRAY_LEN(app_files), 0, &rc, err,
                       sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    return;
  static const struct {
    const char *path;
    size_t len; /* 0: strlen */
    const char *want; /* NULL: none */
  } cases[] = {
      {"components/card.html", 0, "components/card.html"},
      {"components/nested/deep.html", 0, "components/nested/deep.html"},
      {"app/blog/[slug]/comments.html", 0, "app/blog/[slug]/comments.html"},
      {"components/card", 0, NULL},
      {"components/card.htm", 0, NULL},
      {"components/card.html ", 0, NULL},
      {"Components/card.html", 0, NULL},
      {"components/", 0, NULL},
      {"", 0, NULL},
      {"components/card.htmlXYZ", 20, "components/card.html"}, /* by len */
      {"components/card.html", 10, NULL},                      /* a prefix */
      {"app/layout.html/x", 15, "app/layout.html"},
      {"a", 0, NULL},
      {"zzz", 0, NULL},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].path);
    cn__pslot *s = cn__pages_slot(p, cases[i].path, len);
    if (cases[i].want)
      CHECK(s && !strcmp(s->path, cases[i].want));
    else if (s)
      fprintf(stderr, "  %s: found %s\n", cases[i].path, s->path);
    if (!cases[i].want)
      CHECK(s == NULL);
  }
  /* Every slot finds itself. */
  for (size_t i = 0; i < p->nslots; i++)
    CHECK(slot_of(p, p->slots[i].path) == &p->slots[i]);
  CHECK_EQ_STR(render_slot(p, slot_of(p, "components/card.html")), "card ");
  CHECK(cn__pages_tpl(p, NULL, NULL) == NULL);
  cn__pages_free(p);
  /* An empty set: no slots, no pages, no root. */
  p = build(NULL, 0, 0, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (!rc) {
    CHECK(p->npages == 0 && p->nslots == 0 && p->root == NULL);
    CHECK(slot_of(p, "app/page.html") == NULL);
    cn__pages_free(p);
  }
}

/* ------------------------------------------------------------ errors */

static const struct {
  const char *name;
  cn_manifest_file files[3];
  int rc;
  const char *err; /* the message's beginning */
} error_cases[] = {
    {"a page's syntax error: file:line:col",
     {F("app/page.html", "{{#a}}open")}, CN_EPARSE, "app/page.html:1:"},
    {"on a later line",
     {F("app/x/page.html", "one\ntwo\n  {{/b}}")}, CN_EPARSE,
     "app/x/page.html:3:3: "},
    {"a component's",
     {F("app/page.html", "ok"), F("components/c.html", "{{>}}")}, CN_EPARSE,
     "components/c.html:1:"},
    {"a layout's",
     {F("app/page.html", "ok"), F("app/layout.html", "{{{children}}")},
     CN_EPARSE, "app/layout.html:1:"},
    {"a template in a private folder is still compiled",
     {F("app/_x/page.html", "{{#a}}")}, CN_EPARSE, "app/_x/page.html:1:"},
    {"a layout without {{{children}}}",
     {F("app/page.html", "ok"), F("app/layout.html", "<html></html>")},
     CN_EINVAL,
     "app/layout.html: a layout needs {{{children}}} where the page goes"},
    {"{{children}} (escaped) is not the slot",
     {F("app/page.html", "ok"), F("app/b/layout.html", "{{children}}")},
     CN_EINVAL, "app/b/layout.html: a layout needs {{{children}}}"},
    {"{{{children}}} inside a section",
     {F("app/page.html", "ok"),
      F("app/layout.html", "<html>\n  {{#user}}{{{children}}}{{/user}}")},
     CN_EINVAL,
     "app/layout.html:2:12: {{{children}}} cannot be inside a section"},
    {"inside an inverted section",
     {F("app/page.html", "ok"),
      F("app/layout.html", "{{^a}}\n{{{children}}}\n{{/a}}")},
     CN_EINVAL, "app/layout.html:2:1: {{{children}}} cannot be inside"},
    {"a page whose path is not a route",
     {F("app/[...a]/b/page.html", "x")}, CN_EINVAL, "app/[...a]/b/page.html"},
    {"a parallel-route folder",
     {F("app/@modal/page.html", "x")}, CN_EINVAL, "app/@modal/page.html"},
};

TEST(errors_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(error_cases); i++) {
    size_t n = 0;
    while (n < 3 && error_cases[i].files[n].path)
      n++;
    int rc;
    char err[256];
    cn__pages *p = build(error_cases[i].files, n, 0, &rc, err, sizeof err);
    size_t k = strlen(error_cases[i].err);
    if (rc != error_cases[i].rc || strncmp(err, error_cases[i].err, k) ||
        p != NULL) {
      fprintf(stderr, "  case \"%s\": rc %d, err \"%s\"\n",
              error_cases[i].name, rc, err);
      CHECK(!"error case");
    }
    if (!rc)
      cn__pages_free(p);
  }
  /* A short err buffer is cut, never overrun (ASan). */
  char tiny[8];
  cn__pages *p;
  int rc = cn__pages_new(error_cases[0].files, 1, 0, &p, tiny, sizeof tiny);
  CHECK_EQ_INT(rc, CN_EPARSE);
  CHECK_EQ_STR(tiny, "app/pag");
  /* Not layouts: {{{children}}} anywhere, or nowhere, is fine. */
  cn_manifest_file ok[] = {
      F("app/page.html", "{{#a}}{{{children}}}{{/a}}"),
      F("app/blog/page.html", "no children"),
      F("components/layout.html", "a component named layout"),
      F("app/layout.html.bak.html", "not a layout either"),
      F("app/layout.html", "{{{children}}}{{{children}}}"),
  };
  char msg[256];
  p = build(ok, CN__ARRAY_LEN(ok), 0, &rc, msg, sizeof msg);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    fprintf(stderr, "  not layouts: %s\n", msg);
  if (!rc) {
    /* Two top-level slots: the first is where the page goes. */
    const cn__ptpl *t = cn__pages_tpl(p, slot_of(p, "app/layout.html"), NULL);
    CHECK(t && t->has_children && t->children == 0);
    cn__pages_free(p);
  }
}

/* ---------------------------------------------------------- kinds */

typedef struct kind_case {
  const char *name;
  const char *page;         /* the page's directory */
  const cn_page_def *def;   /* its page.c */
  const cn_page_def *ldef;  /* app/layout.c */
  const cn_page_def *gdef;  /* app/(g)/layout.c */
  cn__page_kind want;
} kind_case;

static const kind_case kind_cases[] = {
    {"static, no page.c", "app", NULL, NULL, NULL, CN__PAGE_STATIC},
    {"static with a plain page.c", "app/about", &plain_def, NULL, NULL,
     CN__PAGE_STATIC},
    {".dynamic", "app/about", &dyn_def, NULL, NULL, CN__PAGE_DYNAMIC},
    {"static_params on a static page: still static", "app/about",
     &listed_def, NULL, NULL, CN__PAGE_STATIC},
    {"dynamic segment without static_params", "app/b/[slug]", NULL, NULL,
     NULL, CN__PAGE_DYNAMIC},
    {"dynamic segment, page.c without static_params", "app/b/[slug]",
     &plain_def, NULL, NULL, CN__PAGE_DYNAMIC},
    {"dynamic segment with static_params", "app/b/[slug]", &listed_def, NULL,
     NULL, CN__PAGE_PRERENDERED},
    {"static_params and .dynamic", "app/b/[slug]", &listed_dyn_def, NULL,
     NULL, CN__PAGE_DYNAMIC},
    {"catch-all with static_params", "app/d/[...p]", &listed_def, NULL, NULL,
     CN__PAGE_PRERENDERED},
    {"optional catch-all with static_params", "app/o/[[...p]]", &listed_def,
     NULL, NULL, CN__PAGE_PRERENDERED},
    {"optional catch-all without", "app/o/[[...p]]", NULL, NULL, NULL,
     CN__PAGE_DYNAMIC},
    {"a dynamic root layout makes a static page dynamic", "app/about", NULL,
     &dyn_def, NULL, CN__PAGE_DYNAMIC},
    {"and a prerendered one", "app/b/[slug]", &listed_def, &dyn_def, NULL,
     CN__PAGE_DYNAMIC},
    {"a plain layout.c changes nothing", "app/about", NULL, &plain_def, NULL,
     CN__PAGE_STATIC},
    {"a dynamic group layout, page inside the group", "app/(g)/in", NULL,
     NULL, &dyn_def, CN__PAGE_DYNAMIC},
    {"a dynamic group layout, page outside it", "app/about", NULL, NULL,
     &dyn_def, CN__PAGE_STATIC},
    {"a layout's static_params do not list the page's", "app/b/[slug]", NULL,
     &listed_def, NULL, CN__PAGE_DYNAMIC},
};

TEST(kind_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(kind_cases); i++) {
    const kind_case *k = &kind_cases[i];
    char page[128], pagec[128];
    snprintf(page, sizeof page, "%s/page.html", k->page);
    snprintf(pagec, sizeof pagec, "%s/page.c", k->page);
    cn_manifest_file files[] = {
        {page, "x", 1, NULL},
        {pagec, NULL, 0, k->def},
        {"app/layout.html", "{{{children}}}", 14, NULL},
        {"app/layout.c", NULL, 0, k->ldef},
        {"app/(g)/layout.html", "{{{children}}}", 14, NULL},
        {"app/(g)/layout.c", NULL, 0, k->gdef},
        {"app/(g)/x/page.html", "x", 1, NULL},
    };
    int rc;
    char err[256];
    cn__pages *p = build(files, CN__ARRAY_LEN(files), 0, &rc, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
      fprintf(stderr, "  case \"%s\": %s\n", k->name, err);
      continue;
    }
    cn__page *pg = NULL;
    for (size_t j = 0; j < p->npages; j++)
      if (!strcmp(p->pages[j].dir, k->page))
        pg = &p->pages[j];
    CHECK(pg != NULL);
    if (pg && cn__page_kind_of(pg) != k->want) {
      fprintf(stderr, "  case \"%s\": kind %d, want %d\n", k->name,
              (int)cn__page_kind_of(pg), (int)k->want);
      CHECK(!"kind case");
    }
    /* What rendering saw wins over everything. */
    if (pg) {
      atomic_store(&pg->saw_dynamic, 1);
      CHECK_EQ_INT(cn__page_kind_of(pg), CN__PAGE_DYNAMIC);
    }
    cn__pages_free(p);
  }
}

TEST(replace_def) {
  cn_manifest_file files[] = {
      F("app/layout.html", "{{{children}}}"), D("app/layout.c", &plain_def),
      F("app/page.html", "x"),                D("app/page.c", &plain_def),
      F("app/b/[slug]/page.html", "x"),       D("app/b/[slug]/page.c", NULL),
  };
  /* A page.c entry without a def is no definition at all. */
  int rc;
  char err[256];
  cn__pages *p = build(files, CN__ARRAY_LEN(files), 0, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc)
    return;
  cn__page *home = page_of(p, "/"), *post = page_of(p, "/b/[slug]");
  CHECK(home && post);
  if (!home || !post) {
    cn__pages_free(p);
    return;
  }
  CHECK(post->def == NULL);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_STATIC);
  /* The page's own page.c. */
  CHECK_EQ_INT(cn__pages_replace_def(p, "app/page.c", &dyn_def), 0);
  CHECK(atomic_load(&home->def->def) == &dyn_def);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_DYNAMIC);
  CHECK_EQ_INT(cn__pages_replace_def(p, "app/page.c", &plain_def), 0);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_STATIC);
  /* The root layout.c: every page below follows. */
  CHECK_EQ_INT(cn__pages_replace_def(p, "app/layout.c", &dyn_def), 0);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_DYNAMIC);
  CHECK_EQ_INT(cn__page_kind_of(post), CN__PAGE_DYNAMIC);
  CHECK_EQ_INT(cn__pages_replace_def(p, "app/layout.c", &plain_def), 0);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_STATIC);
  /* A file the set does not have, a template, a near miss. */
  static const char *const unknown[] = {"app/b/[slug]/page.c", "app/page.html",
                                        "app/page.c ", "app/Page.c",
                                        "page.c", "", "app/x/layout.c"};
  for (size_t i = 0; i < CN__ARRAY_LEN(unknown); i++)
    CHECK_EQ_INT(cn__pages_replace_def(p, unknown[i], &dyn_def), CN_ENOENT);
  CHECK_EQ_INT(cn__page_kind_of(home), CN__PAGE_STATIC);
  cn__pages_free(p);
}

/* --------------------------------------------------------- development */

static char tmpdir[64];
static char oldcwd[4096];

static int write_file(const char *path, const char *text, int shift_s) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  fputs(text, f);
  fclose(f);
  /* Move the mtime forward: an edit within the same clock tick would
   * otherwise look unchanged. */
  struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                           {.tv_sec = 1700000000 + shift_s, .tv_nsec = 0}};
  return utimensat(AT_FDCWD, path, ts, 0);
}

static int enter_tmp(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/cn_page_set_XXXXXX");
  if (!getcwd(oldcwd, sizeof oldcwd) || !mkdtemp(tmpdir) || chdir(tmpdir))
    return -1;
  return mkdir("app", 0700) || mkdir("components", 0700);
}

static void leave_tmp(void) {
  static const char *const files[] = {"app/page.html", "app/layout.html",
                                      "components/c.html", "app/embedded.html"};
  for (size_t i = 0; i < CN__ARRAY_LEN(files); i++)
    unlink(files[i]);
  rmdir("app");
  rmdir("components");
  if (chdir(oldcwd))
    perror("chdir");
  rmdir(tmpdir);
}

TEST(dev_reload) {
  CHECK_EQ_INT(enter_tmp(), 0);
  CHECK_EQ_INT(write_file("app/page.html", "v1", 10), 0);
  CHECK_EQ_INT(write_file("app/layout.html", "<b>{{{children}}}</b>", 10), 0);
  cn_manifest_file files[] = {
      {"app/page.html", NULL, 0, NULL},
      {"app/layout.html", NULL, 0, NULL},
      {"components/c.html", NULL, 0, NULL}, /* not on disk yet */
  };
  int rc;
  char err[256];
  cn__pages *p = build(files, CN__ARRAY_LEN(files), 1, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc) {
    leave_tmp();
    return;
  }
  CHECK_EQ_INT(p->dev, 1);
  CHECK_EQ_INT(p->npages, 1);
  cn__pslot *page = slot_of(p, "app/page.html");
  cn__pslot *layout = slot_of(p, "app/layout.html");
  cn__pslot *comp = slot_of(p, "components/c.html");
  CHECK(page && layout && comp);
  if (!page || !layout || !comp)
    goto done;
  /* Nothing read before first use. */
  CHECK(atomic_load(&page->cur) == NULL);
  CHECK_EQ_STR(render_slot(p, page), "v1");
  const cn__ptpl *v1 = cn__pages_tpl(p, page, NULL);
  CHECK(v1 && cn__pages_tpl(p, page, NULL) == v1); /* unchanged: same */
  const cn__ptpl *l1 = cn__pages_tpl(p, layout, NULL);
  CHECK(l1 && l1->has_children);

  /* An edit is picked up; the old template stays alive (retired). */
  CHECK_EQ_INT(write_file("app/page.html", "v2 {{x}}", 20), 0);
  CHECK_EQ_STR(render_slot(p, page), "v2 ");
  const cn__ptpl *v2 = cn__pages_tpl(p, page, NULL);
  CHECK(v2 != v1 && v2 && v2->retired == v1);

  /* An edit that does not compile: the previous one keeps serving and
   * the error names the file and position. */
  CHECK_EQ_INT(write_file("app/page.html", "broken {{#x}}", 30), 0);
  cn__tpl_error te = {0};
  CHECK(cn__pages_tpl(p, page, &te) == v2);
  CHECK_EQ_INT(te.code, CN_EPARSE);
  CHECK(strstr(te.message, "app/page.html:1:") != NULL);
  CHECK_EQ_STR(render_slot(p, page), "v2 ");
  /* ... until it is fixed. */
  CHECK_EQ_INT(write_file("app/page.html", "v3", 40), 0);
  memset(&te, 0, sizeof te);
  CHECK_EQ_STR(render_slot(p, page), "v3");
  const cn__ptpl *v3 = cn__pages_tpl(p, page, &te);
  CHECK(v3 && v3->retired == v2);
  CHECK_EQ_INT(te.code, 0);

  /* A layout edited to lose its slot: refused, the old one kept. */
  CHECK_EQ_INT(write_file("app/layout.html", "<b>no slot</b>", 50), 0);
  memset(&te, 0, sizeof te);
  CHECK(cn__pages_tpl(p, layout, &te) == l1);
  CHECK_EQ_INT(te.code, CN_EINVAL);
  CHECK(strstr(te.message, "{{{children}}}") != NULL);

  /* A file that is not there (yet): none, and why. */
  memset(&te, 0, sizeof te);
  CHECK(cn__pages_tpl(p, comp, &te) == NULL);
  CHECK_EQ_INT(te.code, CN_ENOENT);
  CHECK_EQ_INT(write_file("components/c.html", "comp", 60), 0);
  CHECK_EQ_STR(render_slot(p, comp), "comp");
  /* Deleted: the last good version keeps serving. */
  unlink("components/c.html");
  memset(&te, 0, sizeof te);
  CHECK(cn__pages_tpl(p, comp, &te) != NULL);
  CHECK_EQ_STR(render_slot(p, comp), "comp");
  CHECK(te.code != 0);
  /* An edit that moves the mtime backwards is an edit too. */
  CHECK_EQ_INT(write_file("app/page.html", "older", 5), 0);
  CHECK_EQ_STR(render_slot(p, page), "older");
done:
  cn__pages_free(p);
  leave_tmp();
}

TEST(dev_embedded_text) {
  /* In development a template given with its text is compiled at once;
   * whatever happens on disk, it is served. */
  CHECK_EQ_INT(enter_tmp(), 0);
  cn_manifest_file files[] = {
      F("app/page.html", "embedded"),
      {"app/x/page.html", NULL, 0, NULL},
  };
  int rc;
  char err[256];
  cn__pages *p = build(files, CN__ARRAY_LEN(files), 1, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (!rc) {
    CHECK_EQ_INT(p->npages, 2);
    cn__pslot *s = slot_of(p, "app/page.html");
    CHECK(s && atomic_load(&s->cur) != NULL);
    CHECK_EQ_STR(render_slot(p, s), "embedded");
    /* In production a NULL text is no template at all. */
    cn__pages_free(p);
    p = build(files, CN__ARRAY_LEN(files), 0, &rc, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    CHECK(!rc && p->npages == 1);
    if (!rc)
      cn__pages_free(p);
  }
  leave_tmp();
}

TEST(dev_out_of_memory) {
  /* Reloading with every allocation failing in turn: the previous
   * template (or none) and CN_ENOMEM, never a crash or a leak. */
  CHECK_EQ_INT(enter_tmp(), 0);
  CHECK_EQ_INT(write_file("app/page.html", "a {{#s}}{{x}}{{/s}} b", 10), 0);
  cn_manifest_file files[] = {{"app/page.html", NULL, 0, NULL}};
  int rc;
  char err[256];
  cn__pages *p = build(files, 1, 1, &rc, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc) {
    leave_tmp();
    return;
  }
  cn__pslot *s = slot_of(p, "app/page.html");
  int loaded = 0;
  for (long n = 0; n < 200 && !loaded; n++) {
    cn__tpl_error te = {0};
    cn__alloc_fail_after(n);
    const cn__ptpl *t = cn__pages_tpl(p, s, &te);
    cn__alloc_fail_after(-1);
    if (t)
      loaded = 1;
    else
      CHECK_EQ_INT(te.code, CN_ENOMEM);
  }
  CHECK(loaded);
  const cn__ptpl *first = cn__pages_tpl(p, s, NULL);
  CHECK_EQ_INT(write_file("app/page.html", "second", 20), 0);
  loaded = 0;
  for (long n = 0; n < 200 && !loaded; n++) {
    cn__tpl_error te = {0};
    cn__alloc_fail_after(n);
    const cn__ptpl *t = cn__pages_tpl(p, s, &te);
    cn__alloc_fail_after(-1);
    if (t != first)
      loaded = 1;
    else
      CHECK_EQ_INT(te.code, CN_ENOMEM);
  }
  CHECK(loaded);
  CHECK_EQ_STR(render_slot(p, s), "second");
  cn__pages_free(p);
  leave_tmp();
}

/* ------------------------------------------------------- out of memory */

TEST(new_out_of_memory) {
  /* Every allocation of cn__pages_new failing in turn, until it goes
   * through: CN_ENOMEM, *out NULL, a message, nothing leaked. */
  int failures = 0, ok = 0;
  for (long n = 0; n < 100000 && !ok; n++) {
    cn__pages *p = (cn__pages *)(uintptr_t)1;
    char err[256] = "";
    cn__alloc_fail_after(n);
    int rc = cn__pages_new(app_files, CN__ARRAY_LEN(app_files), 0, &p, err,
                           sizeof err);
    cn__alloc_fail_after(-1);
    if (!rc) {
      ok = 1;
      CHECK_EQ_INT(p->npages, 6);
      cn__pages_free(p);
      break;
    }
    failures++;
    if (rc != CN_ENOMEM || p != NULL || !err[0]) {
      fprintf(stderr, "  fail_after(%ld): rc %d, err \"%s\"\n", n, rc, err);
      CHECK(!"ENOMEM expected");
    }
  }
  CHECK(ok);
  CHECK(failures > 20);
}

/* Paths past the router's limits: a clean error (or a page), never an
 * overrun of the fixed buffers on the way (ASan). */
TEST(long_and_deep_paths) {
  static const struct {
    size_t seglen, nsegs;
  } cases[] = {{5000, 1}, {4090, 1}, {1, 200}, {30, 140}, {2, 127}};
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    size_t cap = 4 + cases[i].nsegs * (cases[i].seglen + 1) + 32;
    char *path = malloc(cap), *layout = malloc(cap);
    size_t n = (size_t)snprintf(path, cap, "app");
    for (size_t k = 0; k < cases[i].nsegs; k++) {
      path[n++] = '/';
      memset(path + n, 'a' + (char)(k % 26), cases[i].seglen);
      n += cases[i].seglen;
    }
    snprintf(layout, cap, "%.*s/layout.html", (int)n, path);
    snprintf(path + n, cap - n, "/page.html");
    cn_manifest_file files[] = {{path, "x", 1, NULL},
                                {layout, "{{{children}}}", 14, NULL}};
    int rc;
    char err[256];
    cn__pages *p = build(files, 2, 0, &rc, err, sizeof err);
    if (rc) {
      CHECK(p == NULL && err[0]);
      CHECK(rc == CN_EINVAL || rc == CN_ETOOBIG);
    } else {
      CHECK_EQ_INT(p->npages, 1);
      if (p->npages == 1) {
        cn__page *pg = &p->pages[0];
        CHECK_EQ_INT(pg->nchain, cases[i].nsegs + 1);
        CHECK(pg->chain[pg->nchain - 1]->layout == slot_of(p, layout));
      }
      cn__pages_free(p);
    }
    free(path);
    free(layout);
  }
}

int main(void) {
  RUN(pages_and_chains);
  RUN(slot_lookup);
  RUN(errors_table);
  RUN(long_and_deep_paths);
  RUN(kind_table);
  RUN(replace_def);
  RUN(dev_reload);
  RUN(dev_embedded_text);
  RUN(dev_out_of_memory);
  RUN(new_out_of_memory);
  return check_summary();
}
