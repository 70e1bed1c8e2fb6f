/*
 * The development server's own endpoints: the live-reload event stream,
 * the build-error page, and the middleware that puts the page in front of
 * the app while a compile error is pending. See dev.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dev/dev.h"
#include "dev/dev_int.h"
#include "middleware/middleware.h"
#include "server/server.h"

struct cn__dev {
  pthread_mutex_t mu;
  pthread_cond_t cv;     /* generation or stopping changed */
  uint64_t generation;   /* bumped by each reload */
  int stopping;
  char *error;           /* the pending build error, NULL when none */
  char *build_id;
  const cn_middleware_def *user_mw;
  cn__matcher *user_matcher;
  cn_middleware_def mw;  /* what the app runs: dev_middleware */
};

/* The instance the hooks and the middleware see (one per process). */
static _Atomic(cn__dev *) active;

cn__dev *cn__dev_active(void) {
  return atomic_load_explicit(&active, memory_order_acquire);
}

static const char script[] =
    "<script data-cairn-dev>(function(){if(!window.EventSource)return;"
    "var id=null,es=new EventSource(\"/_cairn/events\");"
    "es.addEventListener(\"hello\",function(e){"
    "if(id!==null&&id!==e.data)location.reload();id=e.data;});"
    "es.addEventListener(\"reload\",function(){location.reload();});"
    "})();</script>";

const char *cn__dev_script(void) { return script; }

int cn__dev_new(cn__dev **out, const char *build_id) {
  cn__dev *d = cn__calloc(1, sizeof(*d));
  if (!d || !(d->build_id = cn__strdup(build_id ? build_id : "dev"))) {
    cn__free(d);
    return CN_ENOMEM;
  }
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cv, &ca);
  pthread_condattr_destroy(&ca);
  *out = d;
  return 0;
}

void cn__dev_free(cn__dev *d) {
  if (!d)
    return;
  cn__dev *me = d;
  atomic_compare_exchange_strong(&active, &me, NULL);
  cn__matcher_free(d->user_matcher);
  pthread_cond_destroy(&d->cv);
  pthread_mutex_destroy(&d->mu);
  cn__free(d->error);
  cn__free(d->build_id);
  cn__free(d);
}

int cn__dev_set_error(cn__dev *d, const char *text) {
  char *copy = NULL;
  if (text && *text && !(copy = cn__strdup(text)))
    return CN_ENOMEM;
  pthread_mutex_lock(&d->mu);
  char *old = d->error;
  d->error = copy;
  pthread_mutex_unlock(&d->mu);
  cn__free(old);
  return 0;
}

void cn__dev_reload(cn__dev *d) {
  pthread_mutex_lock(&d->mu);
  d->generation++;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

void cn__dev_shutdown(cn__dev *d) {
  pthread_mutex_lock(&d->mu);
  d->stopping = 1;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

/* ------------------------------------------------------- event stream */

static int sse_write(cn_res *res, const char *s) {
  return cn_res_write(res, s, strlen(s));
}

/* Wait for the next thing to tell a browser: 1 reload (*gen updated),
 * 0 heartbeat due, -1 stopping. Called with d->mu held. */
static int sse_wait(cn__dev *d, uint64_t *gen) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += 15;
  while (!d->stopping && d->generation == *gen) {
    if (pthread_cond_timedwait(&d->cv, &d->mu, &until))
      return 0;
  }
  if (d->stopping)
    return -1;
  *gen = d->generation;
  return 1;
}

/* GET /_cairn/events: holds a handler thread for as long as the browser
 * tab is open, which is what a development server can afford. The hello
 * carries the build and the reload generation, so a browser that missed a
 * reload while reconnecting still notices. */
static int events(cn_req *req, cn_res *res) {
  cn__dev *d = cn__dev_active();
  if (!d)
    return cn_res_error(res, 404, NULL);
  cn_res_header(res, "Content-Type", "text/event-stream; charset=utf-8");
  cn_res_header(res, "Cache-Control", "no-cache, no-transform");
  pthread_mutex_lock(&d->mu);
  uint64_t gen = d->generation;
  int stopping = d->stopping;
  char *hello = cn_req_printf(req, "retry: 300\nevent: hello\ndata: %s.%llu\n\n",
                              d->build_id, (unsigned long long)gen);
  pthread_mutex_unlock(&d->mu);
  if (stopping)
    return cn_res_error(res, 503, "The development server is restarting");
  if (!hello || sse_write(res, hello))
    return 0;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    int what = sse_wait(d, &gen);
    pthread_mutex_unlock(&d->mu);
    if (what < 0 || cn_req_aborted(req))
      break;
    char line[64];
    snprintf(line, sizeof line, "event: reload\ndata: %llu\n\n",
             (unsigned long long)gen);
    if (sse_write(res, what ? line : ": ping\n\n"))
      break;
    pthread_mutex_lock(&d->mu);
  }
  cn_res_end(res);
  return 0;
}

/* ----------------------------------------------------- the error page */

static int wants_html(cn_req *req) {
  cn_str m = cn_req_method(req), a = cn__req_header(req, "accept");
  if (!cn_str_eq(m, "GET") && !cn_str_eq(m, "HEAD"))
    return 0;
  for (size_t i = 0; a.ptr && i + 9 <= a.len; i++)
    if (!strncmp(a.ptr + i, "text/html", 9))
      return 1;
  return 0;
}

/* The first "file:line[:col]" of compiler output, for the page's heading:
 * the start of the first line containing ": error" (or the first line). */
static cn_str error_where(const char *text) {
  const char *line = text, *hit = NULL;
  while (*line && !hit) {
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    for (size_t i = 0; i + 7 <= n && !hit; i++)
      if (!strncmp(line + i, ": error", 7) ||
          !strncmp(line + i, ": fatal", 7))
        hit = line, n = i;
    if (hit)
      return cn__str(line, n);
    line = end ? end + 1 : line + n;
  }
  const char *end = strchr(text, '\n');
  return cn__str(text, end ? (size_t)(end - text) : strlen(text));
}

int cn__dev_error_page(cn_req *req, cn_res *res, const char *text) {
  cn_str where = error_where(text);
  cn__buf b = {0};
  int rc = cn__buf_appendf(
      &b,
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      /* no /favicon.ico request: an app whose layout names its icon would
       * otherwise see a 404 in the console next to the real error */
      "<link rel=\"icon\" href=\"data:,\">"
      "<title>Failed to compile</title><style>"
      "body{margin:0;font:15px/1.5 system-ui,sans-serif;background:#fff;"
      "color:#111}main{max-width:60rem;margin:3rem auto;padding:0 1.5rem}"
      "h1{font-size:1.4rem;color:#c00;margin:0 0 .5rem}"
      ".where{font:600 14px ui-monospace,monospace;margin:0 0 1rem}"
      "pre{background:#111;color:#eee;padding:1rem;overflow:auto;"
      "font:13px/1.45 ui-monospace,monospace;border-radius:6px}"
      "p.hint{color:#555}</style></head><body><main>"
      "<h1>Failed to compile</h1><p class=\"where\">");
  if (!rc)
    rc = cn__dev_html_escape(&b, where.ptr, where.len);
  if (!rc)
    rc = cn__buf_appendf(&b, "</p><pre>");
  if (!rc)
    rc = cn__dev_html_escape(&b, text, strlen(text));
  if (!rc)
    rc = cn__buf_appendf(&b,
                         "</pre><p class=\"hint\">Fix the error and save the "
                         "file: this page reloads by itself. API requests are "
                         "still answered by the last code that compiled.</p>"
                         "</main>%s</body></html>\n",
                         script);
  if (!rc) {
    cn_res_header(res, "Cache-Control", "no-store");
    cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
    cn_res_status(res, 500);
    rc = cn_res_send(res, b.ptr, b.len);
  }
  cn__buf_free(&b);
  return rc;
}

int cn__dev_html_escape(cn__buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *e = NULL;
    switch (s[i]) {
    case '&': e = "&amp;"; break;
    case '<': e = "&lt;"; break;
    case '>': e = "&gt;"; break;
    case '"': e = "&quot;"; break;
    case '\'': e = "&#39;"; break;
    default: break;
    }
    int rc = e ? cn__buf_append(b, e, strlen(e)) : cn__buf_append(b, s + i, 1);
    if (rc)
      return rc;
  }
  return 0;
}

/* --------------------------------------------------------- middleware */

static int starts_with(cn_str s, const char *prefix) {
  size_t n = strlen(prefix);
  return s.len >= n && !memcmp(s.ptr, prefix, n);
}

/* Every request of a development server comes here first. */
static int dev_middleware(cn_req *req, cn_res *res) {
  cn__dev *d = cn__dev_active();
  cn_str path = cn_req_path(req);
  if (!d || starts_with(path, "/_cairn/"))
    return 0;
  if (wants_html(req)) {
    char *text = NULL;
    pthread_mutex_lock(&d->mu);
    if (d->error)
      text = cn_req_strndup(req, d->error, strlen(d->error));
    pthread_mutex_unlock(&d->mu);
    if (text)
      return cn__dev_error_page(req, res, text);
  }
  if (d->user_mw && cn__matcher_match(d->user_matcher, path))
    return d->user_mw->handler(req, res);
  return 0;
}

int cn__dev_install(cn__dev *d, cn_app *app, const cn_middleware_def *user_mw,
                    char *err, size_t errlen) {
  cn__matcher *matcher = NULL;
  int rc;
  if (user_mw) {
    if (!user_mw->handler) {
      if (err)
        snprintf(err, errlen, "middleware: no handler");
      return CN_EINVAL;
    }
    rc = cn__matcher_new(&matcher, user_mw->matcher,
                         CN__ARRAY_LEN(user_mw->matcher), err, errlen);
    if (rc)
      return rc;
  }
  /* The app's middleware may block; when it does, so may this one. */
  d->mw.handler = dev_middleware;
  d->mw.nonblocking = user_mw ? user_mw->nonblocking : 1;
  const cn_route_config cfg = {.response_limit = "off",
                               .max_duration_ms = 24ull * 3600 * 1000};
  if ((rc = cn_app_route(app, "GET", "/_cairn/events", events, &cfg)) ||
      (rc = cn_app_middleware(app, &d->mw, err, errlen))) {
    cn__matcher_free(matcher);
    return rc;
  }
  cn__matcher_free(d->user_matcher);
  d->user_matcher = matcher;
  d->user_mw = user_mw;
  atomic_store_explicit(&active, d, memory_order_release);
  return 0;
}
