/*
 * Deferred sections, streamed. The shell (every layout, the page, each
 * {{#defer.name}} section's fallback wrapped in <cairn-defer id="cdN">) is
 * sent at once, without the closing </body></html>; then each deferred
 * section, in the order its loader finishes, as
 *
 *     <div id="ccN">content</div><script>$cn(N)</script>
 *
 * where $cn (defined once, in the first such chunk) moves the content into
 * the fallback's place. Without JavaScript the content stays where it
 * arrived: at the end of the document, in completion order. The closing
 * tags follow the last section. At build (prerendering) nothing streams:
 * each section's content is rendered in place of its fallback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "page/page_int.h"

/* Islands in a section mount as it arrives, not when the stream ends
 * (the page's islands script is deferred): $cn hands the section's parent
 * to the islands script, loading that script now if it is not there yet
 * (it takes the parents queued in $cnI when it starts). */
#define SCRIPT                                                                 \
  "<script>function $cn(i){var f=document.getElementById(\"cd\"+i),"          \
  "c=document.getElementById(\"cc\"+i);if(!f||!c)return;var p=f.parentNode;"  \
  "f.replaceWith.apply(f,Array.prototype.slice.call(c.childNodes));c.remove();" \
  "if(!p.querySelector(\"cairn-island:not([data-seen])\"))return;"             \
  "if(window.cairnIslands)return cairnIslands.scan(p);"                        \
  "(window.$cnI=window.$cnI||[]).push(p);if(window.$cnL)return;$cnL=1;"        \
  "var s=document.createElement(\"script\");s.src=\"" CN__ISLANDS_SCRIPT_PATH   \
  "\";document.head.appendChild(s)}</script>"

static void wait_job(cn__render *r, cn__pjob *j) {
  if (!r->group_init)
    return;
  pthread_mutex_lock(&r->group.mu);
  while (!j->done)
    pthread_cond_wait(&r->group.cv, &r->group.mu);
  pthread_mutex_unlock(&r->group.mu);
}

/* Special sections inside a streamed one: islands, forms, live regions
 * and retry controls as anywhere, but a {{#defer.x}} there keeps its
 * fallback (its loader may be this very section's, or done and sent). */
static int section_special(void *ud, cn_str ns, cn_str name, int open,
                           const json_t *bind, cn__buf *out) {
  if (ns.len == 5 && ns.ptr[0] == 'd')
    return 0;
  return cn__render_special(ud, ns, name, open, bind, out);
}

/* A boundary's template (not-found.html or error.html of the nearest
 * directory) rendered alone into out. 0, or CN_ENOENT when there is none. */
static int boundary(cn__render *r, size_t level, int not_found,
                    json_t *ctx, cn__buf *out) {
  long d = cn__render_nearest(r, level, not_found);
  if (d < 0)
    return CN_ENOENT;
  cn__pslot *slot = not_found ? r->chain[d]->not_found : r->chain[d]->error;
  const cn__ptpl *t = cn__pages_tpl(r->set, slot, NULL);
  uint32_t count;
  if (!t)
    return CN_ENOENT;
  cn__tpl_nodes(t->tpl, &count);
  const json_t *stack[2] = {r->base, ctx};
  cn__tpl_partials parts = {.lookup = cn__render_lookup, .ud = r,
                            .special = section_special, .why = r->why};
  size_t at = out->len;
  r->reset_used = 0;
  int rc = cn__tpl_render_span(t->tpl, 0, count, stack, ctx ? 2 : 1, &parts,
                               out, NULL);
  /* With a retry control, the box it re-renders (reset.c). */
  if (!rc && !not_found && r->reset_used)
    rc = cn__page_reset_box(out, at, (int)d);
  return rc;
}

/* The section just rendered into out from mark holds a server-only value
 * (taint.h): 1, with the section's content taken back and j failed. */
static int tainted(cn__render *r, cn__pjob *j, cn__buf *out, size_t mark,
                   const char *label) {
  cn__taint_hit hit;
  if (!cn__taint_find(out->ptr + mark, out->len - mark, &hit))
    return 0;
  out->len = mark;
  char where[96];
  snprintf(where, sizeof where, "the deferred section \"%.60s\"", label);
  cn__taint_describe(&hit, where, j->msg, sizeof j->msg);
  snprintf(j->src, sizeof j->src, "%s", r->pg ? r->pg->dir : "app");
  j->rc = CN_EFORBIDDEN;
  return 1;
}

/* What replaces a section's fallback: its partial rendered with its props,
 * or the nearest not-found / error content when its loader said so. */
static int content(cn__render *r, cn__pjob *j, cn__buf *out) {
  int details = r->set->dev ||
                (r->req->loop && r->req->loop->server->config.dev);
  const char *label = j->segment ? "loading.html" : j->name;
  if (j->segment && j->rc == 0 && !j->redirect) {
    cn__tpl_error te = {0};
    size_t mark = out->len;
    int rc = cn__render_subtree(r, r->seg_from, out, &te);
    if (!rc && !tainted(r, j, out, mark, label))
      return 0;
    if (rc) {
      out->len = mark;
      snprintf(j->msg, sizeof j->msg, "%.90s:%u:%u: %.140s", te.name,
               te.line, te.column, te.message[0] ? te.message
                                                 : cn_strerror(rc));
      snprintf(j->src, sizeof j->src, "%s", r->pg ? r->pg->dir : "app");
      j->rc = rc;
    }
  } else if (j->rc == 0 && !j->redirect) {
    const cn__tpl *t = cn__render_lookup(r, cn__cstr(j->name));
    uint32_t count;
    if (t) {
      cn__tpl_nodes(t, &count);
      const json_t *stack[3] = {r->base, r->props[j->level], j->props};
      cn__tpl_partials parts = {.lookup = cn__render_lookup, .ud = r,
                                .special = section_special, .why = r->why};
      cn__tpl_error te = {0};
      size_t mark = out->len;
      int rc = cn__tpl_render_span(t, 0, count, stack, 3, &parts, out, &te);
      if (!rc && !tainted(r, j, out, mark, label))
        return 0;
      if (!rc)
        goto failed; /* tainted() said why */
      out->len = mark;
      snprintf(j->msg, sizeof j->msg, "%.90s:%u:%u: %.140s", te.name,
               te.line, te.column, te.message);
    } else {
      snprintf(j->msg, sizeof j->msg,
               "no template for the deferred section \"%s\" (components/%s"
               ".html or %s.html beside the page)",
               j->name, j->name, j->name);
    }
    snprintf(j->src, sizeof j->src, "%s", r->pg ? r->pg->dir : "app");
    j->rc = CN_ENOENT;
  } else if (j->redirect) {
    /* The status has gone out: the browser is sent on by script. */
    json_t *u = json_string(j->redirect);
    char *js = u ? json_dumps(u, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH) : NULL;
    int rc = js ? cn__buf_appendf(out, "<script>location.replace(%s)</script>",
                                  js)
                : CN_ENOMEM;
    free(js);
    json_decref(u);
    return rc;
  } else if (j->rc == CN_PAGE_NOT_FOUND) {
    if (!boundary(r, j->level, 1, NULL, out))
      return 0;
    return cn__buf_appendf(out, "<p>This could not be found.</p>");
  }
failed:
  if (!j->failed_with_msg && !j->msg[0]) {
    snprintf(j->msg, sizeof j->msg, "the deferred loader \"%s\" failed: %s",
             label, cn_strerror(j->rc < 0 ? j->rc : CN_ESTATE));
    cn__pdef *d = j->level < r->n ? r->chain[j->level]->layout_def
                                  : (r->pg ? r->pg->def : NULL);
    snprintf(j->src, sizeof j->src, "%s", d ? d->path : "?");
  }
  char digest[16];
  snprintf(digest, sizeof digest, "%08x", cn__render_digest(j->msg, j->src));
  cn_req *req = r->req;
  fprintf(stderr, "cairn: %.*s %.*s: deferred section \"%s\": %s (at %s; "
                  "digest %s)\n",
          (int)req->msg.rl.method.len, req->msg.rl.method.ptr,
          (int)req->msg.rl.path.len, req->msg.rl.path.ptr, label, j->msg,
          j->src, digest);
  json_t *err = json_pack("{s:{s:s,s:s}}", "error", "message",
                          details ? j->msg
                                  : "An error occurred while rendering this "
                                    "section.",
                          "digest", digest);
  if (err && details)
    json_object_set_new(json_object_get(err, "error"), "source",
                        json_string(j->src));
  size_t mark = out->len;
  int rc = err ? boundary(r, j->level, 0, err, out) : CN_ENOMEM;
  json_decref(err);
  if (!rc)
    return 0;
  out->len = mark;
  return cn__buf_appendf(out, "<p role=\"alert\">This section could not be "
                              "loaded (digest %s).</p>", digest);
}

int cn__stream_defer(void *ud, cn_str name, int open, cn__buf *out) {
  cn__render *r = ud;
  cn__pjob *j = cn__pjob_find(r, name);
  if (!j)
    return 0; /* no such loader: the fallback stays */
  if (r->set->building || r->req->offline || r->req->msg.is_head ||
      r->inline_defer) {
    /* Nothing streams: the content in place of the fallback. */
    if (!open)
      return 1;
    wait_job(r, j);
    return content(r, j, out) ? -1 : 1;
  }
  if (!open)
    return cn__buf_appendf(out, "</cairn-defer>") ? CN_ENOMEM : 0;
  if (j->nplaceholders == (int)CN__ARRAY_LEN(j->placeholders))
    return 0; /* more uses than we track: those keep their fallback */
  int id = r->placeholders++;
  j->placeholders[j->nplaceholders++] = id;
  return cn__buf_appendf(out, "<cairn-defer id=\"cd%d\">", id) ? CN_ENOMEM
                                                                : 0;
}

/* Where the closing tags start: the last </body>, else the end. */
static size_t tail_at(const cn__buf *b) {
  for (size_t i = b->len; i >= 7; i--)
    if (!strncasecmp(b->ptr + i - 7, "</body>", 7))
      return i - 7;
  return b->len;
}

int cn__stream_send(cn__render *r, const char *cache_control) {
  cn_res *res = &r->req->res;
  int rc = cn_res_status(res, 200);
  if (!rc && !res->has_type)
    rc = cn_res_header(res, "Content-Type", "text/html; charset=utf-8");
  if (!rc)
    rc = cn_res_header(res, "Cache-Control", cache_control);
  size_t tail = tail_at(&r->out);
  if (!rc)
    rc = cn_res_write(res, r->out.ptr, tail);
  cn__buf chunk = {0};
  int defined = 0, closed = rc != 0;
  cn__pjob *j;
  while ((j = cn__pjobs_next(r))) {
    if (closed || !j->nplaceholders)
      continue; /* drained: the loaders use the request until they end */
    chunk.len = 0;
    if (!defined)
      cn__buf_append(&chunk, SCRIPT, sizeof SCRIPT - 1), defined = 1;
    for (int k = 0; k < j->nplaceholders; k++) {
      int id = j->placeholders[k];
      if (cn__buf_appendf(&chunk, "<div id=\"cc%d\">", id) ||
          content(r, j, &chunk) ||
          cn__buf_appendf(&chunk, "</div><script>$cn(%d)</script>", id))
        break;
    }
    if (cn_res_write(res, chunk.ptr, chunk.len))
      closed = 1; /* the client went away: the rest is not written */
  }
  cn__buf_free(&chunk);
  if (!closed && tail < r->out.len)
    closed = cn_res_write(res, r->out.ptr + tail, r->out.len - tail) != 0;
  if (!closed)
    cn_res_end(res);
  return 0;
}
