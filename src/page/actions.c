/*
 * Server Actions on pages: the {{#form.name}} section that binds a form to
 * an action, and the POST that runs it (cairn.h: cn_action_fn). The
 * security pieces (IDs, sealing, the origin check) are src/actions'.
 *
 * An action is declared by a page.c or a layout.c on the page's chain and
 * is reachable only when some template renders a form for it. A POST is
 * refused, with nothing run, when: the Origin is not allowed (403), the
 * body is not form data (400), no declared and rendered action has the ID
 * (404; logged, since a page from another build carries other IDs), or the
 * sealed bound value does not open (400). Oversized bodies were refused
 * before (413).
 */
#include <stdio.h>

#include "actions/actions.h"
#include "page/page_int.h"

/* The action name at the page's levels, the file declaring it. */
size_t cn__action_sources(size_t n) { return 1 + 2 * n; }

cn__pdef *cn__action_source(cn__pdir **chain, size_t n, const cn__page *pg,
                            size_t k) {
  if (k == 0)
    return pg ? pg->def : NULL;
  cn__pdir *d = chain[n - 1 - (k - 1) / 2];
  return (k - 1) % 2 ? d->actions_def : d->layout_def;
}

static const cn_action *find_action(cn__pdir **chain, size_t n, cn__page *pg,
                                    cn_str name, const char **file) {
  for (size_t i = 0; i < cn__action_sources(n); i++) {
    cn__pdef *d = cn__action_source(chain, n, pg, i);
    const cn_page_def *def = d ? atomic_load(&d->def) : NULL;
    for (size_t k = 0; def && k < CN__ARRAY_LEN(def->actions); k++) {
      const cn_action *a = &def->actions[k];
      if (a->name && a->fn && cn_str_eq(name, a->name)) {
        *file = d->path;
        return a;
      }
    }
  }
  return NULL;
}

int cn__page_form(cn__render *r, cn_str name, int open, const json_t *bind,
                  cn__buf *out) {
  const char *file;
  const cn_action *a = find_action(r->chain, r->n, r->pg, name, &file);
  if (!a)
    return CN_ENOENT; /* fails the render: the template names no action */
  if (!open) {
    int rc = cn__buf_appendf(out, "</form>");
    if (!rc && !r->script) {
      r->script = 1;
      rc = cn__buf_appendf(out, "<script src=\"" CN__ACTIONS_SCRIPT_PATH
                                "\" async></script>");
    }
    return rc ? CN_ENOMEM : 0;
  }
  char id[CN__ACTION_ID_LEN + 1];
  cn__action_id(file, a->name, id);
  int rc = cn__buf_appendf(out, "<form method=\"post\" data-cairn-form=\"");
  if (!rc)
    rc = cn__tpl_escape(out, a->name, strlen(a->name));
  if (!rc)
    rc = cn__buf_appendf(out, "\"><input type=\"hidden\" name=\"$ACTION_ID\" "
                              "value=\"%s\">", id);
  if (!rc && bind && !json_is_null(bind)) {
    rc = cn__buf_appendf(out, "<input type=\"hidden\" name=\"$ACTION_ARGS\" "
                              "value=\"");
    if (!rc)
      rc = cn__action_seal(id, bind, out);
    if (!rc)
      rc = cn__buf_appendf(out, "\">");
  }
  return rc ? CN_ENOMEM : 0;
}

int cn__pages_uses_form(cn__pages *p, const char *name) {
  char want[256];
  snprintf(want, sizeof want, "form.%s", name);
  for (size_t i = 0; i < p->nslots; i++) {
    const cn__ptpl *t = cn__pages_tpl(p, &p->slots[i], NULL);
    uint32_t count;
    const cn__tpl_node *nodes = t ? cn__tpl_nodes(t->tpl, &count) : NULL;
    for (uint32_t k = 0; nodes && k < count; k++)
      if (nodes[k].kind == CN__TPL_SECTION &&
          cn_str_eq(cn__tpl_node_text(t->tpl, &nodes[k]), want))
        return 1;
  }
  return 0;
}

/* ------------------------------------------------------------ the POST */

/* The submitted fields as an object, for "action.values": the first value
 * of each, the hidden fields left out. */
static json_t *values_of(cn_req *req) {
  json_t *o = json_object();
  const cn_str *v;
  for (size_t i = 0; o; i++) {
    cn_str name;
    if (cn__req_form_field_at(req, i, &name))
      break;
    if (name.len && name.ptr[0] == '$')
      continue;
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)name.len, name.ptr);
    if (json_object_get(o, key))
      continue;
    size_t n = cn_req_form_all(req, key, &v);
    if (n)
      json_object_set_new(o, key, json_stringn(v[0].ptr, v[0].len));
  }
  return o;
}

static int refuse(cn_res *res, int status, const char *why) {
  cn_res_header(res, "Cache-Control", "no-cache, no-store, max-age=0, "
                                      "must-revalidate");
  return cn_res_error(res, status, why);
}

/* Origin against Host (or X-Forwarded-Host behind a trusted proxy). */
static int origin_ok(cn_req *req) {
  const cn_config *cfg = req->loop ? &req->loop->server->config : NULL;
  cn_str origin = cn__req_header(req, "origin");
  cn_str host = req->msg.host;
  if (cfg && cfg->trust_proxy) {
    cn_str fh = cn__req_header(req, "x-forwarded-host");
    if (fh.ptr && fh.len)
      host = fh;
  }
  if (!origin.ptr) {
    fprintf(stderr, "cairn: POST %.*s: a server action without an Origin "
                    "header was accepted (old browsers send none)\n",
            (int)req->msg.rl.path.len, req->msg.rl.path.ptr);
    return 1;
  }
  return cn__action_origin_ok(origin, host,
                              cfg ? cfg->allowed_origins : NULL,
                              cfg ? cfg->nallowed_origins : 0);
}

int cn__page_action_handler(cn_req *req, cn_res *res) {
  cn__page *pg = req->hit.endpoint ? req->hit.endpoint->page : NULL;
  if (!pg)
    return CN_ESTATE;
  if (!origin_ok(req)) {
    fprintf(stderr, "cairn: POST %.*s: server action refused: Origin %.*s "
                    "is not this host nor an allowed origin\n",
            (int)req->msg.rl.path.len, req->msg.rl.path.ptr,
            (int)cn__req_header(req, "origin").len,
            cn__req_header(req, "origin").ptr);
    return refuse(res, 403, "This origin may not call server actions");
  }
  cn_body_kind kind = cn_req_body_kind(req);
  if (kind != CN_BODY_FORM && kind != CN_BODY_MULTIPART)
    return refuse(res, 400, "A server action takes form data");
  cn_str id = cn_req_form(req, "$ACTION_ID");
  if (!id.ptr)
    id = cn__req_header(req, "cairn-action");
  /* Which declared action has this ID, and is a form rendered for it? */
  const cn_action *hit = NULL;
  char want[CN__ACTION_ID_LEN + 1];
  for (size_t i = 0; !hit && i < cn__action_sources(pg->nchain); i++) {
    cn__pdef *d = cn__action_source(pg->chain, pg->nchain, pg, i);
    const cn_page_def *def = d ? atomic_load(&d->def) : NULL;
    for (size_t k = 0; !hit && def && k < CN__ARRAY_LEN(def->actions); k++) {
      const cn_action *a = &def->actions[k];
      if (!a->name || !a->fn)
        continue;
      cn__action_id(d->path, a->name, want);
      if (id.len == CN__ACTION_ID_LEN && !memcmp(id.ptr, want, id.len) &&
          cn__pages_uses_form(pg->set, a->name))
        hit = a;
    }
  }
  if (!hit) {
    fprintf(stderr, "cairn: POST %.*s: no server action has the ID \"%.*s\"; "
                    "the page may come from an older or newer deployment\n",
            (int)req->msg.rl.path.len, req->msg.rl.path.ptr,
            (int)CN__MIN(id.len, 64), id.ptr ? id.ptr : "");
    return refuse(res, 404, "Server action not found");
  }
  json_t *bound = NULL, *state = NULL;
  cn_str sealed = cn_req_form(req, "$ACTION_ARGS");
  if (sealed.ptr && cn__action_unseal(want, sealed, &bound)) {
    fprintf(stderr, "cairn: POST %.*s: the bound arguments of server action "
                    "\"%s\" were tampered with or sealed with another key\n",
            (int)req->msg.rl.path.len, req->msg.rl.path.ptr, hit->name);
    return refuse(res, 400, "The form's bound arguments are not valid");
  }
  req->action = 1;
  int rc = hit->fn(req, bound ? bound : json_null(), &state);
  req->action = 0;
  json_decref(bound);
  if (res->finished || res->streaming) {
    json_decref(state);
    return 0; /* a redirect, or an answer of its own */
  }
  if (rc < 0) {
    json_decref(state);
    fprintf(stderr, "cairn: POST %.*s: server action \"%s\" failed: %s\n",
            (int)req->msg.rl.path.len, req->msg.rl.path.ptr, hit->name,
            req->fail_msg ? req->fail_msg : cn_strerror(rc));
    return refuse(res, 500, req->loop && req->loop->server->config.dev &&
                                    req->fail_msg
                                ? req->fail_msg
                                : "The server action failed");
  }
  cn__taint_hit th;
  if (state && cn__taint_json(state, &th)) {
    char where[120], msg[400];
    snprintf(where, sizeof where, "the state returned by server action "
             "\"%.60s\"", hit->name);
    cn__taint_describe(&th, where, msg, sizeof msg);
    json_decref(state);
    fprintf(stderr, "cairn: POST %.*s: %s\n", (int)req->msg.rl.path.len,
            req->msg.rl.path.ptr, msg);
    return refuse(res, 500, req->loop && req->loop->server->config.dev
                                ? msg
                                : "The server action failed");
  }
  json_t *values = values_of(req);
  json_t *action = json_pack("{s:s,s:o,s:o}", "name", hit->name, "state",
                             state ? state : json_null(), "values",
                             values ? values : json_object());
  rc = action ? cn__page_render(req, action) : CN_ENOMEM;
  json_decref(action);
  return rc;
}
