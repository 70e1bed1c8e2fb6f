/*
 * meta.h: metadata merged root to leaf and written into <head> (meta.c).
 * Used by the page renderer only. Strings are borrowed from the page
 * definitions or copied into the request's arena; nothing here is freed.
 */
#ifndef CN_PAGE_META_H
#define CN_PAGE_META_H

#include "common/common.h"
#include "template/template.h"

/* cn_metadata's fields, in its order: the names double as the keys of a
 * generate_metadata object. */
#define CN__META_FIELDS(X)                                                     \
  X(title) X(title_template) X(title_absolute) X(description) X(keywords)      \
  X(robots) X(canonical) X(og_title) X(og_description) X(og_image) X(og_url)   \
  X(og_type) X(og_site_name)

enum {
#define CN__META_ENUM(f) CN__META_##f,
  CN__META_FIELDS(CN__META_ENUM)
#undef CN__META_ENUM
  CN__META_N
};
#define CN__META_TITLE CN__META_title
#define CN__META_TITLE_TEMPLATE CN__META_title_template
#define CN__META_TITLE_ABSOLUTE CN__META_title_absolute
#define CN__META_DESCRIPTION CN__META_description
#define CN__META_KEYWORDS CN__META_keywords
#define CN__META_ROBOTS CN__META_robots
#define CN__META_CANONICAL CN__META_canonical
#define CN__META_OG_TITLE CN__META_og_title

/* What every page's <head> starts with, as Next.js adds them. */
#define CN__META_DEFAULTS                                                      \
  "<meta charset=\"utf-8\"><meta name=\"viewport\" "                          \
  "content=\"width=device-width, initial-scale=1\">"

typedef struct cn__meta {
  const char *title; /* the merged title so far */
  const char *tmpl;  /* the nearest title template above the next level */
  const char *f[CN__META_N]; /* other fields (title slots unused) */
} cn__meta;

void cn__meta_init(cn__meta *m);

/* Merge one level: its static fields (st, may be NULL) overridden by the
 * strings of gen (a generate_metadata result, may be NULL). Copies land in
 * arena. 0 or CN_ENOMEM. */
int cn__meta_level(cn__meta *m, const cn_metadata *st, const json_t *gen,
                   cn__arena *arena);

/* Append the <head> elements (escaped) to o; noindex forces robots
 * "noindex" (not-found pages). 0 or CN_ENOMEM. */
int cn__meta_write(const cn__meta *m, int noindex, cn__buf *o);

/* Put head into out: before the first </head> found in out[from, to), else
 * wrapped in <head></head> after the <html ...> tag there, else at from.
 * 0 or CN_ENOMEM. */
int cn__meta_insert(cn__buf *out, size_t from, size_t to, const cn__buf *head);

#endif /* CN_PAGE_META_H */
