/*
 * Running one data function: cn_ctx, the checks before a function runs
 * (path, kind, arguments, auth rule) and the transaction around it. The
 * rules of nesting and threads are at the top of data.h.
 */
#include <stdio.h>

#include "data/data.h"
#include "server/server.h"
#include "taint/taint.h"

/* The transaction this thread is running a body of, if any. */
typedef struct tx {
  cn_db *db;
  cn_fn_kind kind;
} tx;
static _Thread_local tx tl_tx;

/* ------------------------------------------------------------- cn_ctx */

void cn__ctx_init(cn_ctx *ctx, cn__data *d, const cn_identity *who) {
  memset(ctx, 0, sizeof(*ctx));
  ctx->d = d;
  ctx->identity = who;
  cn__arena_init(&ctx->own, NULL, 0);
  ctx->arena = &ctx->own;
}

void cn__ctx_done(cn_ctx *ctx) { cn__arena_destroy(&ctx->own); }

cn_ctx *cn_req_ctx(cn_req *req) {
  if (!req)
    return NULL;
  /* What a function answers depends on who asks and on data that changes
   * with every mutation: a page that reads it renders per request. */
  cn__req_mark_dynamic(req);
  cn_ctx *c = __atomic_load_n(&req->data_ctx, __ATOMIC_ACQUIRE);
  if (c)
    return c;
  /* A page's loaders may ask at once: each makes one, the first to
   * publish wins, the others' stay unused in the arena. */
  if (!(c = cn_req_alloc(req, sizeof(*c))))
    return NULL;
  memset(c, 0, sizeof(*c));
  c->d = cn__data_global();
  c->req = req;
  c->arena = &req->arena;
  const cn_identity *who = NULL;
  if (cn_req_identity(req, &who) == CN_EUNAUTH)
    c->auth_err = CN_EUNAUTH;
  else
    c->identity = who;
  cn_ctx *expected = NULL;
  if (!__atomic_compare_exchange_n(&req->data_ctx, &expected, c, 0,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return expected;
  return c;
}

const cn_identity *cn_ctx_identity(const cn_ctx *ctx) {
  return ctx ? ctx->identity : NULL;
}

const char *cn_ctx_subject(const cn_ctx *ctx) {
  return ctx && ctx->identity ? ctx->identity->subject : NULL;
}

cn_db *cn_ctx_db(cn_ctx *ctx) { return ctx ? ctx->db : NULL; }

cn_req *cn_ctx_req(cn_ctx *ctx) { return ctx ? ctx->req : NULL; }

void *cn_ctx_alloc(cn_ctx *ctx, size_t size) {
  return ctx ? cn__arena_alloc(ctx->arena, size) : NULL;
}

int cn_ctx_fail(cn_ctx *ctx, int err, const char *fmt, ...) {
  if (!ctx || !fmt)
    return err;
  va_list ap;
  va_start(ap, fmt);
  char *msg = cn__arena_vprintf(ctx->arena, fmt, ap);
  va_end(ap);
  if (msg)
    ctx->fail = msg;
  ctx->fail_err = err;
  return err;
}

const char *cn_ctx_error(const cn_ctx *ctx) {
  return ctx ? atomic_load(&((cn_ctx *)ctx)->error) : NULL;
}

/* ------------------------------------------------------------- rules */

/* Whether the identity's claim holds group: the claim is the group's
 * name, or an array with it. */
static int in_group(const cn_identity *who, const cn_fn_auth *a) {
  const json_t *v = who->claims ? json_object_get(who->claims, a->claim)
                                : NULL;
  size_t i;
  json_t *x;
  if (json_is_string(v))
    return !strcmp(json_string_value(v), a->group);
  json_array_foreach(v, i, x)
    if (json_is_string(x) && !strcmp(json_string_value(x), a->group))
      return 1;
  return 0;
}

/* The rules that need no database: who must be signed in, and groups. */
static int rule_before(const cn_identity *who, cn__call *c) {
  const cn_fn_auth *a = &c->fn->def->auth;
  if (a->kind == CN_AUTH_PUBLIC || a->kind == CN_AUTH_CUSTOM)
    return 0;
  if (!who) {
    c->message = "you must be signed in to call this function";
    return CN_EUNAUTH;
  }
  if (a->kind == CN_AUTH_GROUP && !in_group(who, a)) {
    c->message = "you are not in a group allowed to call this function";
    return CN_EFORBIDDEN;
  }
  return 0;
}

/* The owner rule: the row's owner column read in the call's own
 * transaction (or a read of its own for an action). */
static int owner_check(cn_ctx *ctx, const json_t *args, cn__call *c) {
  const cn_fn_auth *a = &ctx->fn->def->auth;
  char sql[256];
  json_t *row = NULL;
  snprintf(sql, sizeof sql, "SELECT \"%s\" FROM \"%s\" WHERE \"id\" = ?",
           a->column, a->table);
  int rc = cn_db_one(ctx->db, &row, sql,
                     CN_ARGS(cn_v_json(json_object_get(args, a->key))));
  if (rc) {
    c->internal = 1;
    return rc;
  }
  const json_t *owner = json_object_get(row, a->column);
  const char *sub = ctx->identity ? ctx->identity->subject : NULL;
  char num[32];
  const char *have = json_string_value(owner);
  if (json_is_integer(owner)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(owner));
    have = num;
  }
  if (!json_is_object(row)) {
    c->message = "not found";
    rc = CN_ENOENT;
  } else if (!sub || !have || strcmp(sub, have)) {
    c->message = "you do not own this";
    rc = CN_EFORBIDDEN;
  }
  json_decref(row);
  return rc;
}

/* The rules checked inside the transaction, before the function. */
static int rule_inside(cn_ctx *ctx, const json_t *args, cn__call *c) {
  const cn_fn_auth *a = &ctx->fn->def->auth;
  if (a->kind == CN_AUTH_OWNER && ctx->db)
    return owner_check(ctx, args, c);
  if (a->kind != CN_AUTH_CUSTOM)
    return 0;
  int rc = a->check(ctx, args);
  if (rc == CN_EFORBIDDEN || rc == CN_EUNAUTH) {
    c->message = ctx->fail ? ctx->fail
                 : rc == CN_EFORBIDDEN
                     ? "you may not call this function"
                     : "you must be signed in to call this function";
    ctx->fail = NULL;
  } else if (rc) {
    c->internal = 1;
  }
  return rc;
}

/* --------------------------------------------------------------- run */

typedef struct run {
  cn_ctx *ctx; /* the callee's */
  cn__call *c;
  const json_t *args;
  json_t *result;
  int refused; /* an auth rule said no: rc is its verdict */
  const char *db_error;
} run;

/* Inside the transaction (any thread): rules, then the function. The
 * store may run a write body twice (store.h: its group was rolled back by
 * another write), so a run starts from nothing. */
static int body(cn_db *db, void *arg) {
  run *r = arg;
  cn_ctx *ctx = r->ctx;
  tx saved = tl_tx;
  json_decref(r->result);
  r->result = NULL;
  r->refused = 0;
  r->db_error = NULL;
  r->c->internal = 0;
  r->c->message = r->c->detail = NULL;
  ctx->fail = NULL;
  ctx->fail_err = 0;
  atomic_store(&ctx->error, NULL);
  tl_tx = (tx){db, ctx->kind};
  ctx->db = db;
  int rc = rule_inside(ctx, r->args, r->c);
  if (rc)
    r->refused = !r->c->internal;
  else
    rc = ctx->fn->def->fn(ctx, r->args, &r->result);
  if (rc) {
    json_decref(r->result);
    r->result = NULL;
    const char *e = db ? cn__db_error(db) : NULL;
    if (e && *e)
      r->db_error = cn__arena_memdup(ctx->arena, e, strlen(e));
  }
  ctx->db = NULL;
  tl_tx = saved;
  return rc;
}

static int owner_only(cn_db *db, void *arg) {
  run *r = arg;
  r->ctx->db = db;
  int rc = owner_check(r->ctx, r->args, r->c);
  const char *e = rc && r->c->internal ? cn__db_error(db) : NULL;
  if (e && *e)
    r->db_error = cn__arena_memdup(r->ctx->arena, e, strlen(e));
  r->ctx->db = NULL;
  return rc;
}

/* An action: not in a transaction; the owner rule reads on its own. */
static int run_action(cn__store *st, run *r) {
  cn_ctx *ctx = r->ctx;
  int rc = 0;
  if (ctx->fn->def->auth.kind == CN_AUTH_OWNER) {
    rc = st ? cn__store_read(st, owner_only, r, NULL) : CN_EIO;
    r->refused = rc && !r->c->internal;
    if (rc)
      return rc;
  }
  return body(NULL, r);
}

static int enter(cn__data *d) {
  pthread_mutex_lock(&d->mu);
  int closing = d->closing;
  if (!closing)
    d->active++;
  pthread_mutex_unlock(&d->mu);
  return closing ? CN_ECLOSED : 0;
}

static void leave(cn__data *d) {
  pthread_mutex_lock(&d->mu);
  if (!--d->active && d->closing)
    pthread_cond_broadcast(&d->idle);
  pthread_mutex_unlock(&d->mu);
}

/* Run r in a transaction of its own, or, called from inside a body on
 * this thread, nested in that body's transaction: the store nests a read
 * in the running transaction (a read inside a write sees its writes and
 * may not write) and a write as a SAVEPOINT of it (undone alone when it
 * fails). */
static int execute(cn_ctx *caller, run *r) {
  cn_ctx *ctx = r->ctx;
  cn__data *d = caller->d;
  int nested = tl_tx.db != NULL, rc = nested ? 0 : enter(d);
  if (rc) {
    r->c->message = "the server is shutting down";
    return rc;
  }
  cn__store *st = cn__data_store(d);
  if (!st && ctx->kind != CN_ACTION) {
    r->c->internal = 1;
    r->c->detail = "the database is not available";
    rc = CN_EIO;
  } else if (ctx->kind == CN_QUERY) {
    r->c->ts = cn__store_ts(st); /* before the snapshot: a lower bound */
    rc = cn__store_read(st, body, r, r->c->reads);
  } else if (ctx->kind == CN_MUTATION) {
    rc = cn__store_write(st, body, r, NULL, NULL, nested ? NULL : &r->c->ts);
  } else {
    rc = run_action(st, r);
  }
  if (!nested)
    leave(d);
  return rc;
}

/* "title is required; n must be an integer" for cn_ctx_error and the
 * answer's errorMessage (the errors object has them one by one). */
static const char *summary(cn_ctx *ctx, const cn__fn *fn, const json_t *errs,
                           const char *why) {
  cn__buf b = {0};
  const char *k;
  json_t *v;
  cn__buf_appendf(&b, "invalid arguments for %s", fn->path);
  if (why)
    cn__buf_appendf(&b, ": %s", why);
  int first = 1;
  json_object_foreach((json_t *)errs, k, v) {
    if (b.len > 400) {
      cn__buf_appendf(&b, "; ...");
      break;
    }
    cn__buf_appendf(&b, "%s%.64s %s", first ? ": " : "; ", k,
                    json_string_value(v));
    first = 0;
  }
  const char *s = b.ptr ? cn__arena_memdup(ctx->arena, b.ptr, b.len) : NULL;
  cn__buf_free(&b);
  return s ? s : "invalid arguments";
}

/* The checks before anything runs. 0 to go on. */
static int prepare(cn_ctx *ctx, cn__call *c) {
  cn__data *d = ctx->d;
  char msg[256];
  if (!d) {
    c->message = "the app has no data layer (no data/ folder)";
    return CN_ESTATE;
  }
  if (!cn__fn_path_ok(c->path)) {
    c->message = "a function path is \"module:name\" (letters, digits, _)";
    return CN_EINVAL;
  }
  if (!(c->fn = cn__fns_find(&d->fns, c->path))) {
    snprintf(msg, sizeof msg, "Could not find function for '%.*s'",
             (int)c->path.len, c->path.ptr);
    c->message = cn__arena_printf(ctx->arena, "%s", msg);
    return CN_ENOENT;
  }
  if (c->fn->def->kind != c->kind) {
    c->wrong_kind = 1;
    c->message = cn__arena_printf(ctx->arena, "%s is a%s %s, not a%s %s",
                                  c->fn->path,
                                  c->fn->def->kind == CN_ACTION ? "n" : "",
                                  cn__fn_kind_name(c->fn->def->kind),
                                  c->kind == CN_ACTION ? "n" : "",
                                  cn__fn_kind_name(c->kind));
    return CN_ENOENT;
  }
  if (ctx->auth_err) {
    c->message = "the token is not valid";
    return CN_EUNAUTH;
  }
  const char *why = NULL;
  int rc = cn__args_check(c->fn->def, c->args, &c->errors, &why);
  if (rc == CN_EINVAL)
    c->message = summary(ctx, c->fn, c->errors, why);
  if (rc)
    return rc;
  if (tl_tx.db && c->kind == CN_ACTION) {
    c->internal = 1;
    c->detail = "an action cannot run inside a query or a mutation";
    return CN_ESTATE;
  }
  if (tl_tx.db && c->kind == CN_MUTATION && tl_tx.kind != CN_MUTATION) {
    c->internal = 1;
    c->detail = "a query cannot run a mutation";
    return CN_EREADONLY;
  }
  return 0;
}

/* Whether a failure is the caller's to see (4xx) or the server's (500). */
static void classify(cn_ctx *callee, run *r, int rc) {
  cn__call *c = r->c;
  const char *said = callee->fail ? callee->fail
                                  : atomic_load(&callee->error);
  int client = rc == CN_EINVAL || rc == CN_EFORBIDDEN || rc == CN_ENOENT ||
               rc == CN_ECONFLICT || rc == CN_EUNAUTH;
  if (r->refused)
    return; /* the rule's own message */
  /* The store gave up on a write that kept conflicting (PostgreSQL's
   * serialization failures past their retries, SQLite's file held by
   * another process): a 409 to try again, not a fault of the server. */
  if (rc == CN_ECONFLICT && !callee->fail && r->db_error && !c->internal) {
    c->message = "the write conflicted with others too often; try again";
    return;
  }
  if (c->internal || !client || (!callee->fail && r->db_error)) {
    c->internal = 1;
    c->detail = said ? said : r->db_error ? r->db_error : cn_strerror(rc);
    if (said && r->db_error)
      c->detail = cn__arena_printf(callee->arena, "%s (%s)", said,
                                   r->db_error);
    c->message = "Server Error";
  } else {
    c->message = said ? said : cn_strerror(rc);
  }
}

int cn__data_run(cn_ctx *ctx, cn__call *c) {
  int rc = prepare(ctx, c);
  int top = !tl_tx.db;
  cn_ctx callee;
  run r = {.ctx = &callee, .c = c, .args = c->args};
  if (!rc)
    rc = rule_before(ctx->identity, c);
  if (!rc) {
    memset(&callee, 0, sizeof callee);
    callee.d = ctx->d;
    callee.req = ctx->req;
    callee.identity = ctx->identity;
    callee.arena = ctx->arena;
    callee.kind = c->fn->def->kind;
    callee.fn = c->fn;
    json_t *empty = c->args ? NULL : json_object();
    if (!c->args)
      r.args = empty;
    uint64_t t0 = top ? cn__now_us() : 0;
    rc = r.args ? execute(ctx, &r) : CN_ENOMEM;
    if (top)
      cn__fn_ran(&ctx->d->fns, c->fn, cn__now_us() - t0);
    json_decref(empty);
    if (rc)
      classify(&callee, &r, rc);
    else
      c->result = r.result ? r.result : json_null();
  }
  if (rc && c->internal && top && c->fn)
    fprintf(stderr, "cairn: %s %s failed: %s\n",
            cn__fn_kind_name(c->fn->def->kind), c->fn->path,
            c->detail ? c->detail : cn_strerror(rc));
  if (rc && !c->message)
    c->message = c->internal ? "Server Error" : cn_strerror(rc);
  atomic_store(&ctx->error, !rc ? NULL : c->detail ? c->detail : c->message);
  return rc;
}

int cn__data_outbound(cn_ctx *ctx, cn__call *c, int rc, const char *text,
                      size_t len) {
  cn__taint_hit hit;
  if (rc || !(text ? cn__taint_find(text, len, &hit)
                   : cn__taint_json(c->result, &hit)))
    return rc;
  char where[160], msg[400];
  snprintf(where, sizeof where, "the result of %s %.*s",
           c->fn ? cn__fn_kind_name(c->fn->def->kind) : "the function",
           (int)c->path.len, c->path.ptr);
  cn__taint_describe(&hit, where, msg, sizeof msg);
  fprintf(stderr, "cairn: %s\n", msg);
  json_decref(c->result);
  c->result = NULL;
  c->internal = 1;
  c->message = "Server Error";
  c->detail = cn__arena_printf(ctx->arena, "%s", msg);
  return CN_EFORBIDDEN;
}

/* ------------------------------------------------ fetchQuery & co. */

static int run_kind(cn_ctx *ctx, cn_fn_kind kind, const char *path,
                    const json_t *args, json_t **result) {
  if (result)
    *result = NULL;
  if (!ctx || !path)
    return CN_EINVAL;
  cn__call c = {.kind = kind, .path = cn__cstr(path), .args = args};
  int rc = cn__data_run(ctx, &c);
  json_decref(c.errors);
  if (!rc && result)
    *result = c.result;
  else
    json_decref(c.result);
  return rc;
}

int cn_run_query(cn_ctx *ctx, const char *path, const json_t *args,
                 json_t **result) {
  return run_kind(ctx, CN_QUERY, path, args, result);
}

int cn_run_mutation(cn_ctx *ctx, const char *path, const json_t *args,
                    json_t **result) {
  return run_kind(ctx, CN_MUTATION, path, args, result);
}

int cn_run_action(cn_ctx *ctx, const char *path, const json_t *args,
                  json_t **result) {
  return run_kind(ctx, CN_ACTION, path, args, result);
}
