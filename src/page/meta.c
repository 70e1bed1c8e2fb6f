/*
 * Metadata: each level (layouts root to leaf, then the page) gives static
 * fields and, optionally, computed ones; they merge as Next.js merges them
 * (a deeper value wins; a title template applies to the levels below the
 * one that sets it; the og_* fields are replaced as one object) and are
 * written into <head>, every value escaped.
 */
#include <stdio.h>
#include <strings.h>

#include "page/meta.h"

#define FIELD_NAME(f) #f,
static const char *const names[CN__META_N] = {CN__META_FIELDS(FIELD_NAME)};
#define FIELD_OFF(f) offsetof(cn_metadata, f),
static const size_t offsets[CN__META_N] = {CN__META_FIELDS(FIELD_OFF)};

void cn__meta_init(cn__meta *m) { memset(m, 0, sizeof(*m)); }

static int is_og(int i) { return i >= CN__META_OG_TITLE; }

int cn__meta_level(cn__meta *m, const cn_metadata *st, const json_t *gen,
                   cn__arena *arena) {
  const char *v[CN__META_N];
  int og = 0;
  for (int i = 0; i < CN__META_N; i++) {
    v[i] = st ? *(const char *const *)((const char *)st + offsets[i]) : NULL;
    json_t *j = gen ? json_object_get(gen, names[i]) : NULL;
    if (json_is_string(j)) {
      v[i] = cn__arena_memdup(arena, json_string_value(j),
                              json_string_length(j));
      if (!v[i])
        return CN_ENOMEM;
    }
    if (v[i] && is_og(i))
      og = 1;
  }
  /* The title: absolute as given; else through the template of a level
   * above this one. */
  if (v[CN__META_TITLE_ABSOLUTE]) {
    m->title = v[CN__META_TITLE_ABSOLUTE];
  } else if (v[CN__META_TITLE]) {
    const char *t = m->tmpl ? strstr(m->tmpl, "%s") : NULL;
    if (t) {
      m->title = cn__arena_printf(arena, "%.*s%s%s", (int)(t - m->tmpl),
                                  m->tmpl, v[CN__META_TITLE], t + 2);
      if (!m->title)
        return CN_ENOMEM;
    } else {
      m->title = v[CN__META_TITLE];
    }
  }
  if (v[CN__META_TITLE_TEMPLATE])
    m->tmpl = v[CN__META_TITLE_TEMPLATE];
  for (int i = CN__META_DESCRIPTION; i < CN__META_N; i++) {
    if (is_og(i) && og)
      m->f[i] = v[i]; /* the whole group, unset ones included */
    else if (!is_og(i) && v[i])
      m->f[i] = v[i];
  }
  return 0;
}

static int tag(cn__buf *o, const char *pre, const char *value,
               const char *post) {
  if (!value)
    return 0;
  int rc = cn__buf_append(o, pre, strlen(pre));
  if (!rc)
    rc = cn__tpl_escape(o, value, strlen(value));
  if (!rc)
    rc = cn__buf_append(o, post, strlen(post));
  return rc;
}

int cn__meta_write(const cn__meta *m, int noindex, cn__buf *o) {
  static const char *const og[] = {"og:title", "og:description", "og:image",
                                   "og:url",   "og:type",        "og:site_name"};
  int rc = cn__buf_append(o, CN__META_DEFAULTS, strlen(CN__META_DEFAULTS));
  if (!rc)
    rc = tag(o, "<title>", m->title, "</title>");
  if (!rc)
    rc = tag(o, "<meta name=\"description\" content=\"",
             m->f[CN__META_DESCRIPTION], "\">");
  if (!rc)
    rc = tag(o, "<meta name=\"keywords\" content=\"", m->f[CN__META_KEYWORDS],
             "\">");
  if (!rc)
    rc = tag(o, "<meta name=\"robots\" content=\"",
             noindex ? "noindex" : m->f[CN__META_ROBOTS], "\">");
  if (!rc)
    rc = tag(o, "<link rel=\"canonical\" href=\"", m->f[CN__META_CANONICAL],
             "\">");
  for (int i = 0; !rc && i < 6; i++) {
    char pre[64];
    snprintf(pre, sizeof pre, "<meta property=\"%s\" content=\"", og[i]);
    rc = tag(o, pre, m->f[CN__META_OG_TITLE + i], "\">");
  }
  return rc;
}

/* Case-insensitive search for needle in [p, p+n). */
static const char *find_ci(const char *p, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!strncasecmp(p + i, needle, k))
      return p + i;
  return NULL;
}

int cn__meta_insert(cn__buf *out, size_t from, size_t to, const cn__buf *head) {
  const char *base = out->ptr ? out->ptr : "";
  size_t at;
  const char *wrap_open = "", *wrap_close = "";
  const char *p = find_ci(base + from, to - from, "</head>");
  if (p) {
    at = (size_t)(p - base);
  } else if ((p = find_ci(base + from, to - from, "<html"))) {
    const char *gt = memchr(p, '>', (size_t)(base + to - p));
    at = gt ? (size_t)(gt + 1 - base) : from;
    wrap_open = "<head>";
    wrap_close = "</head>";
  } else {
    at = from;
    wrap_open = "<head>";
    wrap_close = "</head>";
  }
  size_t a = strlen(wrap_open), b = strlen(wrap_close), n = a + head->len + b;
  if (cn__buf_reserve(out, n))
    return CN_ENOMEM;
  memmove(out->ptr + at + n, out->ptr + at, out->len - at);
  memcpy(out->ptr + at, wrap_open, a);
  if (head->len)
    memcpy(out->ptr + at + a, head->ptr, head->len);
  memcpy(out->ptr + at + a + head->len, wrap_close, b);
  out->len += n;
  return 0;
}
