/* The blog's posts. A real app would read them from its database (the
 * data layer); a static table keeps the example self-contained. */
#ifndef EXAMPLE_POSTS_H
#define EXAMPLE_POSTS_H

#include <cairn.h>
#include <string.h>

typedef struct post {
  const char *slug, *title, *date, *summary, *body;
} post;

static const post posts[] = {
    {"hello-cairn", "Hello, cairn", "2026-11-01",
     "What cairn is and why it is written in C.",
     "cairn serves a folder of C files and Mustache templates the way "
     "Next.js serves a folder of components: the paths are the URLs."},
    {"layouts", "Layouts that wrap every page", "2026-11-12",
     "How layout.html nests from the root to the page.",
     "A layout renders around everything below it; {{{children}}} marks "
     "where the page goes."},
    {"on-demand", "Rendered on demand, then kept", "2026-11-20",
     "A post that is not prerendered at build.",
     "This post is not listed by static_params: the first request renders "
     "it and the server keeps the result."},
};

/* Posts written with the form at /blog/new, kept in memory until the
 * server stops (the data layer will keep them for real). Defined once, in
 * app/blog/new/page.c; safe from any thread. post_added_find fills *out
 * with a copy. */
CN_EXTERN int post_add(const char *title, const char *body, char *slug,
                       size_t slugcap);
CN_EXTERN int post_added_find(cn_str slug, post *out, char *mem, size_t cap);
CN_EXTERN json_t *post_added_list(void);

static inline const post *post_find(cn_str slug) {
  for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++)
    if (strlen(posts[i].slug) == slug.len &&
        !memcmp(posts[i].slug, slug.ptr, slug.len))
      return &posts[i];
  return NULL;
}

static inline json_t *post_json(const post *p) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "slug", p->slug, "title",
                   p->title, "date", p->date, "summary", p->summary, "body",
                   p->body);
}

#endif
