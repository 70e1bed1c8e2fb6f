/* /blog/new: a form that writes a post. Its action validates the fields,
 * keeps the post, revalidates the tag "posts" (the blog list shows it at
 * once) and sends the browser to the new post (303). The posts written here
 * live in memory until the server stops. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>

#include "../../../lib/posts.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char slug[64], title[81], body[2001], date[11]; } added[64];
static size_t nadded;

int post_add(const char *title, const char *body, char *slug, size_t cap) {
  char s[40];
  size_t n = 0;
  for (const char *p = title; *p && n + 1 < sizeof s; p++)
    if (isalnum((unsigned char)*p))
      s[n++] = (char)tolower((unsigned char)*p);
    else if (n && s[n - 1] != '-')
      s[n++] = '-';
  while (n && s[n - 1] == '-')
    n--;
  s[n] = '\0';
  pthread_mutex_lock(&mu);
  if (!n || nadded == sizeof added / sizeof added[0]) {
    pthread_mutex_unlock(&mu);
    return CN_ETOOBIG;
  }
  snprintf(added[nadded].slug, sizeof added[nadded].slug, "%s-%zu", s,
           nadded + 1);
  snprintf(added[nadded].title, sizeof added[nadded].title, "%s", title);
  snprintf(added[nadded].body, sizeof added[nadded].body, "%s", body);
  snprintf(added[nadded].date, sizeof added[nadded].date, "2026-11-22");
  snprintf(slug, cap, "%s", added[nadded].slug);
  nadded++;
  pthread_mutex_unlock(&mu);
  return 0;
}

int post_added_find(cn_str slug, post *out, char *mem, size_t cap) {
  int found = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nadded && !found; i++)
    if (strlen(added[i].slug) == slug.len &&
        !memcmp(added[i].slug, slug.ptr, slug.len)) {
      int w = snprintf(mem, cap, "%s%c%s%c%s%c%s", added[i].slug, 0,
                       added[i].title, 0, added[i].date, 0, added[i].body);
      if (w > 0 && (size_t)w < cap) {
        out->slug = mem;
        out->title = out->slug + strlen(out->slug) + 1;
        out->date = out->title + strlen(out->title) + 1;
        out->body = out->date + strlen(out->date) + 1;
        out->summary = "Written with the form.";
        found = 1;
      }
    }
  pthread_mutex_unlock(&mu);
  return found;
}

json_t *post_added_list(void) {
  json_t *list = json_array();
  pthread_mutex_lock(&mu);
  for (size_t i = 0; list && i < nadded; i++)
    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "slug",
                                          added[i].slug, "title",
                                          added[i].title, "date",
                                          added[i].date, "summary",
                                          "Written with the form."));
  pthread_mutex_unlock(&mu);
  return list;
}

static int create(cn_req *req, const json_t *bound, json_t **state) {
  static const cn_rule rules[] = {
      {"title", "required len:3..80", NULL},
      {"body", "required len:10..2000", NULL},
  };
  json_t *errors;
  char slug[64], title[81], body[2001];
  (void)bound;
  int rc = cn_validate(req, rules, 2, &errors);
  if (rc == CN_EINVAL) {
    *state = json_pack("{s:o}", "errors", errors);
    return 0;
  }
  if (rc)
    return rc;
  cn_str t = cn_req_form(req, "title"), b = cn_req_form(req, "body");
  snprintf(title, sizeof title, "%.*s", (int)t.len, t.ptr);
  snprintf(body, sizeof body, "%.*s", (int)b.len, b.ptr);
  if ((rc = post_add(title, body, slug, sizeof slug))) {
    *state = json_pack("{s:{s:s}}", "errors", "title",
                       "cannot be made into an address, or the blog is full");
    return 0;
  }
  cn_revalidate_tag("posts");
  return cn_redirect(req, 0, cn_req_printf(req, "/blog/%s", slug));
}

CN_PAGE(.metadata = {.title = "New post"}, .actions = {{"create", create}});
