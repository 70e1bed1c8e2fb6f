/*
 * Loaders in parallel. A page's layouts and the page itself declare their
 * loaders independently (a loader sees the request, never another loader's
 * result), so they all start together, as Next.js fetches a layout's and a
 * page's data in parallel; deferred sections' loaders start at the same
 * moment and are collected later, in the order they finish. When there is
 * only one loader to run it runs here, with no thread and no lock.
 *
 * While several loaders run, the request's arena takes a mutex, the query
 * and cookies are parsed beforehand, and what a loader says with cn_fail or
 * cn_redirect goes into its own job (a thread-local points at it), so no
 * two threads write the same field.
 */
#include <stdio.h>

#include "page/page_int.h"

static _Thread_local cn__pjob *current;

static int is_deferred(const cn__render *r, const cn__pjob *j) {
  return j >= r->jobs && j < r->jobs + r->njobs;
}

/* A segment behind loading.html: its levels' loaders one after the other,
 * their props kept in the render (no other thread touches those levels);
 * the first that does not go on stops it and its level is noted. */
static int run_segment(cn__pjob *j) {
  cn__render *r = j->r;
  for (size_t i = r->seg_from; i <= r->n; i++) {
    const cn_page_def *d = r->defs[i];
    j->level = i;
    if (i == r->n && j->unlisted) /* the page is not found */
      return CN_PAGE_NOT_FOUND;
    if (!d || !d->loader)
      continue;
    int rc = d->loader(r->req, &r->props[i]);
    if (rc || j->redirect)
      return rc;
  }
  return 0;
}

static void run_job(void *arg) {
  cn__pjob *j = arg, *prev = current;
  cn__render *r = j->r;
  current = j;
  j->props = NULL;
  j->rc = j->segment ? run_segment(j) : j->fn(r->req, &j->props);
  current = prev;
  if (!r->group_init) {
    j->done = 1;
    return;
  }
  pthread_mutex_lock(&r->group.mu);
  j->done = 1;
  r->group.pending--;
  if (is_deferred(r, j)) {
    if (r->group.done_tail)
      r->group.done_tail->next_done = j;
    else
      r->group.done_head = j;
    r->group.done_tail = j;
  }
  pthread_cond_broadcast(&r->group.cv);
  pthread_mutex_unlock(&r->group.mu);
}

static void start(cn__pjob *j) {
  j->task.fn = run_job;
  j->task.arg = j;
  if (cn__task_run(&j->task))
    run_job(j); /* no thread to be had: here, late but correct */
}

static int go_parallel(cn__render *r) {
  if (r->group_init)
    return 0;
  if (cn__req_preparse(r->req))
    return CN_ENOMEM;
  pthread_mutex_init(&r->group.mu, NULL);
  pthread_cond_init(&r->group.cv, NULL);
  pthread_mutex_init(&r->arena_mu, NULL);
  r->group_init = 1;
  r->req->arena.lock = &r->arena_mu;
  return 0;
}

static const cn_page_def *def_of(const cn__render *r, size_t level) {
  cn__pdef *d = level < r->n ? r->chain[level]->layout_def
                             : (r->pg ? r->pg->def : NULL);
  return d ? atomic_load(&d->def) : NULL;
}

/* A job's verdict on its level, in the words render.c answers with. */
static cn__outcome settle(cn__render *r, cn__pjob *j) {
  cn_req *req = r->req;
  r->level = j->level;
  if (j->redirect) {
    int rc = cn_res_redirect(&req->res, j->redirect_status, j->redirect);
    if (!rc)
      return CN__DONE;
    snprintf(r->msg, sizeof r->msg, "the redirect failed: %s",
             cn_strerror(rc));
  } else if (req->res.finished) {
    return CN__DONE; /* the loader answered by itself */
  } else if (j->rc == 0) {
    return CN__GO;
  } else if (j->rc == CN_PAGE_NOT_FOUND) {
    return CN__NOT_FOUND;
  } else if (j->failed_with_msg) {
    snprintf(r->msg, sizeof r->msg, "%s", j->msg);
    snprintf(r->src, sizeof r->src, "%s", j->src);
    return CN__FAILED;
  } else {
    snprintf(r->msg, sizeof r->msg, "the loader failed: %s",
             cn_strerror(j->rc < 0 ? j->rc : CN_ESTATE));
  }
  cn__pdef *d = j->level < r->n ? r->chain[j->level]->layout_def
                                : (r->pg ? r->pg->def : NULL);
  snprintf(r->src, sizeof r->src, "%s", d ? d->path : "?");
  return CN__FAILED;
}

cn__outcome cn__render_load(cn__render *r, size_t from, size_t to,
                            int not_found_page) {
  cn_req *req = r->req;
  size_t nlev = 0, ndef = 0;
  /* Behind a loading.html the deferred loaders of every level start now;
   * the levels themselves run as one job. */
  size_t last = r->seg_from ? r->n : to;
  for (size_t i = from; i <= last; i++) {
    const cn_page_def *d = r->defs[i] = def_of(r, i);
    nlev += i <= to && d && d->loader && !(i == r->n && not_found_page);
    for (size_t k = 0; d && k < CN__ARRAY_LEN(d->deferred); k++)
      ndef += d->deferred[k].name && d->deferred[k].loader;
  }
  ndef += r->seg_from != 0;
  cn__pjob *lev = nlev ? cn__arena_alloc(&req->arena, nlev * sizeof(*lev))
                       : NULL;
  cn__pjob *defs = ndef ? cn__arena_alloc(&req->arena, ndef * sizeof(*defs))
                        : NULL;
  if ((nlev && !lev) || (ndef && !defs) ||
      ((ndef || nlev > 1) && go_parallel(r))) {
    snprintf(r->msg, sizeof r->msg, "out of memory");
    r->level = from;
    return CN__FAILED;
  }
  size_t a = 0;
  if (r->seg_from) {
    r->seg = &defs[a++];
    *r->seg = (cn__pjob){.r = r, .level = r->seg_from, .segment = 1,
                         .unlisted = not_found_page};
    not_found_page = 0; /* the segment answers it */
  }
  for (size_t i = from; i <= last; i++) {
    const cn_page_def *d = r->defs[i];
    for (size_t k = 0; d && k < CN__ARRAY_LEN(d->deferred); k++) {
      if (!d->deferred[k].name || !d->deferred[k].loader)
        continue;
      defs[a++] = (cn__pjob){.r = r, .level = i,
                             .fn = d->deferred[k].loader,
                             .name = d->deferred[k].name};
    }
  }
  r->jobs = defs;
  r->njobs = ndef;
  size_t b = 0;
  for (size_t i = from; i <= to; i++) {
    const cn_page_def *d = r->defs[i];
    if (d && d->loader && !(i == r->n && not_found_page))
      lev[b++] = (cn__pjob){.r = r, .level = i, .fn = d->loader};
  }
  if (r->group_init) {
    pthread_mutex_lock(&r->group.mu);
    r->group.pending += (int)(nlev + ndef);
    pthread_mutex_unlock(&r->group.mu);
  }
  for (size_t i = 0; i < ndef; i++)
    start(&defs[i]);
  for (size_t i = 1; i < nlev; i++)
    start(&lev[i]);
  if (nlev)
    run_job(&lev[0]);
  if (r->group_init) {
    pthread_mutex_lock(&r->group.mu);
    for (size_t i = 0; i < nlev; i++)
      while (!lev[i].done)
        pthread_cond_wait(&r->group.cv, &r->group.mu);
    pthread_mutex_unlock(&r->group.mu);
  }
  cn__outcome o = CN__GO;
  for (size_t i = 0; i < nlev; i++) {
    cn__outcome v = o == CN__GO ? settle(r, &lev[i]) : CN__GO;
    if (v == CN__GO && o == CN__GO)
      r->props[lev[i].level] = lev[i].props;
    else
      json_decref(lev[i].props);
    cn__free(lev[i].redirect);
    if (o == CN__GO)
      o = v;
  }
  if (o == CN__GO && not_found_page) {
    r->level = r->n;
    o = CN__NOT_FOUND;
  }
  return o;
}

cn__pjob *cn__pjob_find(cn__render *r, cn_str name) {
  for (size_t i = 0; i < r->njobs; i++)
    if (r->jobs[i].name && cn_str_eq(name, r->jobs[i].name))
      return &r->jobs[i];
  return NULL;
}

cn__pjob *cn__pjobs_next(cn__render *r) {
  if (!r->group_init)
    return NULL;
  cn__pjob *j = NULL;
  pthread_mutex_lock(&r->group.mu);
  for (;;) {
    if ((j = r->group.done_head)) {
      r->group.done_head = j->next_done;
      if (!r->group.done_head)
        r->group.done_tail = NULL;
      break;
    }
    int left = 0;
    for (size_t i = 0; i < r->njobs; i++)
      left += !r->jobs[i].done;
    if (!left)
      break;
    pthread_cond_wait(&r->group.cv, &r->group.mu);
  }
  pthread_mutex_unlock(&r->group.mu);
  return j;
}

void cn__pjobs_finish(cn__render *r) {
  if (r->group_init) {
    pthread_mutex_lock(&r->group.mu);
    while (r->group.pending > 0)
      pthread_cond_wait(&r->group.cv, &r->group.mu);
    pthread_mutex_unlock(&r->group.mu);
  }
  for (size_t i = 0; i < r->njobs; i++) {
    json_decref(r->jobs[i].props);
    cn__free(r->jobs[i].redirect);
  }
  r->njobs = 0;
  if (r->group_init) {
    r->req->arena.lock = NULL;
    pthread_mutex_destroy(&r->group.mu);
    pthread_cond_destroy(&r->group.cv);
    pthread_mutex_destroy(&r->arena_mu);
    r->group_init = 0;
  }
}

/* ----------------------------------------------------------- the API */

int cn_not_found(cn_req *req) {
  (void)req;
  return CN_PAGE_NOT_FOUND;
}

static int location_ok(const char *l) {
  return l && !strpbrk(l, "\r\n");
}

int cn_redirect(cn_req *req, int status, const char *location) {
  cn__pjob *j = current;
  if (!j || j->r->req != req) {
    if (status == 0 && req->action)
      status = 303; /* after a form's POST, as Next.js answers */
    int rc = cn_res_redirect(&req->res, status, location);
    return rc ? rc : CN_PAGE_REDIRECT;
  }
  if (status == 0)
    status = 307;
  if (status < 300 || status > 399 || !location_ok(location))
    return CN_EINVAL;
  cn__free(j->redirect);
  if (!(j->redirect = cn__strdup(location)))
    return CN_ENOMEM;
  j->redirect_status = status;
  return CN_PAGE_REDIRECT;
}

int cn_fail_at(cn_req *req, const char *file, int line, const char *fmt,
               ...) {
  va_list ap;
  cn__pjob *j = current;
  va_start(ap, fmt);
  if (j && j->r->req == req) {
    vsnprintf(j->msg, sizeof j->msg, fmt, ap);
    snprintf(j->src, sizeof j->src, "%s:%d", file, line);
    j->failed_with_msg = 1;
  } else {
    req->fail_msg = cn__arena_vprintf(&req->arena, fmt, ap);
    req->fail_file = file;
    req->fail_line = line;
  }
  va_end(ap);
  return CN_EIO;
}
