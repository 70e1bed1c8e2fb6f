/*
 * File watching for `cairn dev`: one libuv fs event handle per directory
 * (inotify watches one directory, not a tree), re-synced with the
 * directories of each scan, so a new folder is watched from the round
 * that finds it. An event only says "something changed here": the round
 * that follows rescans and asks the build cache what really changed, so
 * editors that save through a temporary file and a rename need no special
 * case.
 */
#include <stdlib.h>

#include "cli/dev.h"

/* Editors' scratch files: vim's .swp/.swx/4913 and backups ending in ~. */
static int is_scratch(const char *name) {
  size_t n = strlen(name);
  return name[n - 1] == '~' || !strcmp(name, "4913") ||
         (n > 4 && (!strcmp(name + n - 4, ".swp") ||
                    !strcmp(name + n - 4, ".swx")));
}

static void on_event(uv_fs_event_t *h, const char *name, int events,
                     int status) {
  cn__dev_watch *w = h->data;
  (void)events;
  if (status < 0)
    return;
  if (name && *name) {
    int root = !strcmp(w->rel, ".");
    /* Hidden files are nothing, except the .env files at the root. */
    if (is_scratch(name) || (name[0] == '.' && !(root && !strncmp(name,
                                                                  ".env", 4))))
      return;
    size_t n = strlen(name);
    int code = n > 2 && name[n - 2] == '.' &&
               (name[n - 1] == 'c' || name[n - 1] == 'h');
    int config = root && (!strcmp(name, "cairn.json") ||
                          !strncmp(name, ".env", 4));
    cn__dev_cmd_changed(w->d, !code && !config);
    return;
  }
  cn__dev_cmd_changed(w->d, 1);
}

static void on_closed(uv_handle_t *h) {
  cn__dev_watch *w = h->data;
  cn__free(w->rel);
  cn__free(w);
}

static void close_watch(cn__dev_watch *w) {
  uv_fs_event_stop(&w->ev);
  uv_close((uv_handle_t *)&w->ev, on_closed);
}

int cn__dev_watch_sync(cn__dev_cmd *d, const cn__cli_scan *s) {
  for (cn__dev_watch *w = d->watches; w; w = w->next)
    w->keep = 0;
  for (size_t i = 0; i < s->ndirs; i++) {
    cn__dev_watch *w = d->watches;
    while (w && strcmp(w->rel, s->dirs[i]))
      w = w->next;
    if (w) {
      w->keep = 1;
      continue;
    }
    w = cn__calloc(1, sizeof(*w));
    if (!w || !(w->rel = cn__strdup(s->dirs[i]))) {
      cn__free(w);
      return CN_ENOMEM;
    }
    w->d = d;
    w->keep = 1;
    w->ev.data = w;
    uv_fs_event_init(&d->loop, &w->ev);
    if (uv_fs_event_start(&w->ev, on_event, w->rel, 0)) {
      /* Gone between the scan and now, or out of inotify watches: the
       * next round tries again. */
      uv_close((uv_handle_t *)&w->ev, on_closed);
      continue;
    }
    w->next = d->watches;
    d->watches = w;
  }
  cn__dev_watch **pp = &d->watches;
  while (*pp) {
    cn__dev_watch *w = *pp;
    if (w->keep) {
      pp = &w->next;
      continue;
    }
    *pp = w->next;
    close_watch(w);
  }
  return 0;
}

void cn__dev_watch_close_all(cn__dev_cmd *d) {
  while (d->watches) {
    cn__dev_watch *w = d->watches;
    d->watches = w->next;
    close_watch(w);
  }
}
