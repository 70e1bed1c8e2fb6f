/*
 * The socket side of live queries: GET /_cairn/sync upgrades to a
 * WebSocket whose messages become engine jobs (modify, authenticate) or
 * calls on task threads (mutation, action: they may block, so never on
 * the I/O thread nor the engine's). See docs/sync-protocol.md.
 */
#include <stdio.h>

#include "live/live_int.h"

static cn__live *the_live; /* the engine the mounted routes serve */

int lv_send(lv_session *s, const char *text, size_t len) {
  return cn_ws_send(s->ws, text, len, 0);
}

void lv_fatal(lv_session *s, const char *why) {
  if (s->dead)
    return;
  s->dead = 1;
  json_t *m = json_pack("{s:s,s:s}", "type", "fatal", "error", why);
  char *t = m ? json_dumps(m, JSON_COMPACT) : NULL;
  if (t)
    lv_send(s, t, strlen(t));
  free(t);
  json_decref(m);
  cn__ws_close_code(s->ws, 4400, "protocol error");
}

/* ------------------------------------------------ mutations and actions */

typedef struct lv_call {
  cn__task task;
  lv_session *s; /* kept alive by its socket reference below */
  cn_ws *ws;
  lv_ident *who;
  cn_fn_kind kind;
  json_t *msg;
} lv_call;

static void run_call(void *arg) {
  lv_call *k = arg;
  cn__live *lv = k->s->lv;
  json_t *rid = json_object_get(k->msg, "requestId");
  const char *path = json_string_value(json_object_get(k->msg, "path"));
  json_t *args = json_object_get(k->msg, "args");
  cn_ctx ctx;
  cn__ctx_init(&ctx, lv->d, k->who ? &k->who->id : NULL);
  cn__call c = {.kind = k->kind, .path = cn__cstr(path), .args = args};
  int rc = cn__data_outbound(&ctx, &c, cn__data_run(&ctx, &c), NULL, 0);
  const char *type = k->kind == CN_MUTATION ? "mutationResponse"
                                            : "actionResponse";
  json_t *ans;
  if (!rc) {
    ans = json_pack("{s:s,s:O,s:b,s:O}", "type", type, "requestId", rid,
                    "success", 1, "result", c.result);
    if (ans && k->kind == CN_MUTATION) {
      char ts[24];
      snprintf(ts, sizeof ts, "%llu", (unsigned long long)c.ts);
      json_object_set_new(ans, "ts", json_string(ts));
    }
  } else {
    const char *code;
    cn__data_status(rc, &c, &code);
    const char *msg = c.internal ? (lv->d->dev && c.detail ? c.detail
                                                           : "Server Error")
                                 : c.message ? c.message : cn_strerror(rc);
    ans = json_pack("{s:s,s:O,s:b,s:s,s:s}", "type", type, "requestId", rid,
                    "success", 0, "code", code, "errorMessage", msg);
    if (ans && rc == CN_EINVAL && c.errors)
      json_object_set(ans, "errors", c.errors);
  }
  char *t = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
  if (t)
    cn_ws_send(k->ws, t, strlen(t), 0);
  free(t);
  json_decref(ans);
  /* The session's next transition must reach this commit; the job takes
   * the call's session reference to the engine. */
  lv_job *j = !rc && k->kind == CN_MUTATION ? cn__calloc(1, sizeof *j) : NULL;
  if (j) {
    j->kind = LV_MUTATED;
    j->s = k->s;
    j->ts = c.ts;
    lv_post(lv, j);
  } else {
    lv_session_unref(k->s);
  }
  json_decref(c.result);
  json_decref(c.errors);
  cn__ctx_done(&ctx);
  json_decref(k->msg);
  lv_ident_unref(k->who);
  cn_ws_unref(k->ws);
  cn__free(k);
}

/* ----------------------------------------------------- socket callbacks */

/* The loop thread's share: parse, check the shape, hand on. */
static void on_message(cn_ws *ws, const char *data, size_t len, int binary) {
  lv_session *s = cn_ws_user(ws);
  json_error_t e;
  json_t *msg = binary ? NULL
                       : json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
  const char *type = json_string_value(json_object_get(msg, "type"));
  if (!json_is_object(msg) || !type) {
    json_decref(msg);
    /* The engine owns s->dead; a job says it. */
    msg = json_pack("{s:s}", "type", binary ? "(binary)" : "(not JSON)");
    type = "";
  }
  int call = !strcmp(type, "mutation") ? CN_MUTATION
             : !strcmp(type, "action") ? CN_ACTION : 0;
  if (call) {
    json_t *rid = json_object_get(msg, "requestId");
    if (json_is_integer(rid) &&
        json_is_string(json_object_get(msg, "path")) &&
        (!json_object_get(msg, "args") ||
         json_is_object(json_object_get(msg, "args")))) {
      lv_call *k = cn__calloc(1, sizeof *k);
      if (k) {
        k->s = s;
        atomic_fetch_add(&s->refs, 1);
        k->ws = ws;
        cn_ws_ref(ws);
        k->kind = (cn_fn_kind)call;
        k->msg = msg;
        /* the identity as it is now: a later authenticate does not change
         * a call already made */
        pthread_mutex_lock(&s->mu);
        if ((k->who = s->who))
          atomic_fetch_add(&k->who->refs, 1);
        pthread_mutex_unlock(&s->mu);
        k->task.fn = run_call;
        k->task.arg = k;
        if (cn__task_run(&k->task))
          run_call(k); /* no task thread: this thread, late but correct */
        return;
      }
    }
    /* a malformed call is the engine's to refuse, as any bad message */
  }
  lv_job *j = cn__calloc(1, sizeof *j);
  if (!j) {
    json_decref(msg);
    cn__ws_close_code(ws, 1011, "out of memory");
    return;
  }
  j->kind = LV_MSG;
  j->s = s;
  j->msg = msg;
  lv_post(s->lv, j);
}

static void on_close(cn_ws *ws, int code) {
  lv_session *s = cn_ws_user(ws);
  (void)code;
  lv_job *j = cn__calloc(1, sizeof *j);
  if (!j)
    return; /* leaks the session; only out of memory gets here */
  j->kind = LV_CLOSE;
  j->s = s;
  lv_post(s->lv, j);
}

static const cn_ws_handler handler = {NULL, on_message, on_close};

/* GET /_cairn/sync */
static int sync_route(cn_req *req, cn_res *res) {
  cn__live *lv = the_live;
  (void)res;
  lv_session *s = cn__calloc(1, sizeof *s);
  if (!s)
    return CN_ENOMEM;
  s->lv = lv;
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->mu, NULL);
  /* A page's session starts as the page's visitor: the browser sends the
   * session cookie with the upgrade. A bad token starts it anonymous (the
   * reason is logged); an authenticate message may follow. */
  const cn_identity *who = NULL;
  if (!cn_req_identity(req, &who) && who &&
      !(s->who = lv_ident_new(json_incref((json_t *)who->claims)))) {
    pthread_mutex_destroy(&s->mu);
    cn__free(s);
    return CN_ENOMEM;
  }
  int rc = cn_ws_accept(req, &handler, s, "cairn.sync.1");
  if (rc) {
    lv_ident_unref(s->who);
    pthread_mutex_destroy(&s->mu);
    cn__free(s);
    return rc == CN_EINVAL ? 0 : rc; /* a refused handshake is answered */
  }
  s->ws = req->ws;
  cn_ws_ref(s->ws); /* the session's own, dropped by end_session */
  atomic_fetch_add(&lv->nsessions, 1);
  return 0;
}

static int script_route(cn_req *req, cn_res *res) {
  (void)req;
  const char *js = cn__live_script();
  cn_res_header(res, "Content-Type", "text/javascript; charset=utf-8");
  cn_res_header(res, "Cache-Control", "public, max-age=3600");
  return cn_res_send(res, js, strlen(js));
}

int cn__live_mount(cn_app *app, cn__live *lv) {
  the_live = lv;
  int rc = cn_app_route(app, "GET", "/_cairn/sync", sync_route, NULL);
  if (!rc) {
    static const cn_route_config inline_cfg = {.nonblocking = 1};
    rc = cn_app_route(app, "GET", "/_cairn/live.js", script_route,
                      &inline_cfg);
  }
  return rc;
}
