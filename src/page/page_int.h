/*
 * page_int.h: what the files of one page request share (render.c: the
 * request and its boundaries; loaders.c: loaders run in parallel;
 * stream.c: deferred sections and the streamed response).
 *
 * A render lives on the stack of the handler thread that renders the page.
 * Loader jobs point into it; the handler never returns before every job it
 * started has finished (loaders use the request), even when the client has
 * gone.
 */
#ifndef CN_PAGE_INT_H
#define CN_PAGE_INT_H

#include "page/meta.h"
#include "page/page.h"
#include "server/server.h"
#include "taint/taint.h"

typedef enum cn__outcome {
  CN__GO, CN__DONE, CN__NOT_FOUND, CN__FAILED
} cn__outcome;

typedef struct cn__render cn__render;

/* One loader running for a render: a level's loader, a deferred section's,
 * or a whole segment below a loading.html (level == CN__PJOB_SEGMENT). */
typedef struct cn__pjob {
  cn__task task;
  cn__render *r;
  size_t level;      /* whose loader (a layout's, or r->n for the page) */
  cn_loader *fn;
  const char *name;  /* deferred: the section's name */
  json_t *props;     /* what it gave (a new reference) */
  int rc;
  int done;
  /* Written by cn_fail / cn_redirect while the loader runs. */
  char msg[256], src[256];
  int failed_with_msg;
  int redirect_status;
  char *redirect;    /* malloc'd */
  /* Deferred sections: where its placeholders are, how many. */
  int placeholders[8];
  int nplaceholders;
  int segment;       /* the levels below a loading.html, all of them */
  int unlisted;      /* segment: the page's param is not listed (404) */
  struct cn__pjob *next_done; /* completion order */
} cn__pjob;

/* Jobs of one render. */
typedef struct cn__pgroup {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int pending;
  cn__pjob *done_head, *done_tail; /* finished, not yet taken */
} cn__pgroup;

struct cn__render {
  cn_req *req;
  cn__page *pg; /* NULL: the root not-found page for an unmatched URL */
  cn__pages *set;
  cn__pdir **chain;
  size_t n;
  json_t *base;             /* {"params": ...}: the bottom of every stack */
  json_t **props;           /* n + 1 */
  const cn_page_def **defs; /* n + 1 */
  cn__buf out, head;
  size_t shell_end;         /* out's length after the first layout's head */
  size_t level_now;         /* the level whose template is rendering */
  /* The failure being answered. */
  size_t level;
  char msg[512];
  char src[256];
  /* Parallel loaders and deferred sections. */
  cn__pgroup group;
  int group_init;
  pthread_mutex_t arena_mu;
  cn__pjob *jobs;           /* deferred jobs, in the arena */
  size_t njobs;
  int placeholders;         /* placeholders written so far */
  size_t seg_from;          /* 0, or the first level behind loading.html */
  cn__pjob *seg;            /* its job (in jobs) */
  int inline_defer;         /* deferred sections render in place, and no
                               metadata goes in (a streamed segment) */
  int seg_marker;           /* wrap() puts the loading fallback's marker */
  int keep;                 /* the answer goes into the full-route cache */
  int nokey;                /* it cannot be kept (see cn__page_render) */
  int action;               /* rendering again after a server action */
  int script;               /* the actions script is in the page */
  int live_script;          /* the live-query script is in the page */
  int islands_script;       /* the islands script is in the page */
  int tainted;              /* answers refused for a server-only value */
  char why[160];            /* why a special section failed (template.h) */
  int reset_script;         /* the error pages' retry script is written */
  int reset_used;           /* a retry control since wrap() began a leaf */
  long error_box;           /* wrap() boxes its leaf at this level, or -1 */
  int live_open;            /* a {{#live.x}} is open, showing its fallback */
};

/* loaders.c */

/* Run the loaders of levels [from, to] (to may be r->n, the page) at once,
 * the first on this thread, and start every deferred section's loader of
 * those levels (their jobs go to r->jobs; collect them with
 * cn__pjobs_next). not_found_page: the page's own loader is not run, the
 * page answers not found. The outcome of the first level, in order, that
 * did not go on; r->level and r->msg say which and why. */
cn__outcome cn__render_load(cn__render *r, size_t from, size_t to,
                            int not_found_page);

/* The next finished deferred job in completion order, waiting for it; NULL
 * when none is left. */
cn__pjob *cn__pjobs_next(cn__render *r);

/* Wait for every job and release them (also on every error path). */
void cn__pjobs_finish(cn__render *r);

/* The deferred job named name of a level at or above level_now, NULL. */
cn__pjob *cn__pjob_find(cn__render *r, cn_str name);

/* render.c, for stream.c */

/* The layouts from level from down, around the page, into out (a segment
 * behind loading.html, streamed). 0 or the render's error, with te. */
int cn__render_subtree(cn__render *r, size_t from, cn__buf *out,
                       cn__tpl_error *te);
int cn__render_span(cn__render *r, const cn__ptpl *t, uint32_t from,
                    uint32_t to, json_t *props, cn__tpl_error *te);
const cn__tpl *cn__render_lookup(void *ud, cn_str name);
long cn__render_nearest(const cn__render *r, size_t level, int not_found);
uint32_t cn__render_digest(const char *msg, const char *src);

/* actions.c: {{#form.name}} (template.h's special hook). */
/* live.c: the template hook for {{#live.name}} sections. */
int cn__page_live(cn__render *r, cn_str name, int open, cn__buf *out);
/* {{#island.name[.how]}} in a page (src/islands): the island's opening,
 * its module listed in <head> once, then on close the element's end and,
 * once per page, the islands script. 0 or a negative CN_E* that fails the
 * render (no such module, an unknown strategy, props not an object). */
int cn__page_island(cn__render *r, cn_str spec, int open,
                    const json_t *props, cn__buf *out);
int cn__page_form(cn__render *r, cn_str name, int open, const json_t *bind,
                  cn__buf *out);
/* reset.c: {{#error.reset}}label{{/error.reset}} in an error page, a link
 * to the page's own URL (a reload without JavaScript) that the script
 * written once after it turns into a re-render of the failed segment in
 * place. 0 or CN_ENOMEM. */
int cn__page_reset(cn__render *r, int open, cn__buf *out);
/* An error page's content that has a retry control (out from at to its
 * end) put in the box that control re-renders, <cairn-error> for the
 * boundary at level (display: contents: the layout looks the same). An
 * error page without one is left as its template wrote it. 0 or
 * CN_ENOMEM. */
int cn__page_reset_box(cn__buf *out, size_t at, int level);
/* The template hook for every special section (template.h), ud a
 * cn__render. */
int cn__render_special(void *ud, cn_str ns, cn_str name, int open,
                       const json_t *bind, cn__buf *out);

/* stream.c */

/* The template hook for {{#defer.name}} sections (template.h). */
int cn__stream_defer(void *ud, cn_str name, int open, cn__buf *out);

/* Send r->out as the page's first bytes and stream the deferred sections
 * as they finish. 0, or a CN_E* code (the client went away: CN_ECLOSED). */
int cn__stream_send(cn__render *r, const char *cache_control);

#endif /* CN_PAGE_INT_H */
