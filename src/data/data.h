/*
 * data.h: the function layer of the data layer. data/<module>.c declares
 * query, mutation and action functions (CN_DATA in <cairn.h>); this layer
 * finds them by path ("tasks:list"), checks their arguments and their
 * authorization rule, runs each in the transaction its kind asks of the
 * store (store.h), and answers for them over HTTP (POST /_cairn/query,
 * /_cairn/mutation, /_cairn/action) and in-process (cn_run_query ...).
 *
 * The pieces:
 *   args.c  argument validation: a JSON object against a cn_fn_def's
 *           schema, every field error collected; depth and size caps.
 *   fn.c    the registry (module:name -> definition, checked once at
 *           start: a duplicate or a malformed definition fails the start,
 *           and so the build, which asks the server for its functions);
 *           the layer's life (open the store, migrate, close).
 *   ctx.c   cn_ctx and running one call: kind, auth rule, transaction.
 *   http.c  the three endpoints and their JSON answers.
 *
 * Who owns what. The layer (cn__data) is made once by cn_main (or the dev
 * server) and published process-wide (cn__data_set_global) because
 * cn_req_ctx(req) has nothing else to find it from; it owns the registry
 * and the store, and lives until the server has drained. Definitions are
 * the app's constants and are never copied. A cn_ctx lives in the
 * request's arena (cn_req_ctx caches one per request) or, for a function
 * call, on the stack of the call that runs it; everything a ctx hands out
 * (cn_ctx_alloc, messages) is arena memory that lives as long as the
 * request, so a message returned by cn_ctx_error stays readable even when
 * a parallel loader fails later on the same request.
 *
 * Threads. A query runs on the calling thread inside cn__store_read; a
 * mutation runs on the store's writer thread inside cn__store_write while
 * the caller blocks; an action runs on the calling thread with no
 * database. A thread that runs a transaction body remembers it (a thread-
 * local), and the store nests what a body asks of it on that thread in
 * the body's own transaction (store.h): so a cn_run_query or
 * cn_run_mutation made during a body, whichever ctx it was given, runs
 * inside that transaction, never waiting for the writer it is running on.
 * As Convex's runQuery/runMutation inside a mutation: a nested query sees
 * the mutation's writes and may not write; a nested mutation is a
 * SAVEPOINT, undone alone when it fails (its caller may go on), committed
 * with its caller otherwise. A query can run queries only; nothing inside
 * a transaction can run an action. A write body may run twice (the store
 * re-runs a group another write rolled back): each run starts afresh.
 */
#ifndef CN_DATA_DATA_H
#define CN_DATA_DATA_H

#include <pthread.h>
#include <stdatomic.h>

#include <cairn.h>

#include "common/common.h"
#include "data/store.h"

/* ----------------------------------------------------------- args.c */

/* Caps on a call's arguments: containers nested deeper than this (the
 * args object itself is level 1), or more bytes than this as compact JSON
 * (an upper bound, counted without serializing). */
#define CN__ARGS_MAX_DEPTH 16
#define CN__ARGS_MAX_BYTES ((size_t)1 << 20)

/* Check args (an object; NULL is {}) against def's schema: every named
 * argument present unless optional, of its type, in its bounds; no other
 * field; no field nested too deep. Called by cn__data_run before any
 * transaction, on the caller's thread. OUT: *errors, a new object
 * {field: message} when any field failed (NULL otherwise), owned by the
 * caller; OUT: *why (may be NULL), a static sentence when the args as a
 * whole are refused (not an object, too large) and *errors is then {}.
 * Returns 0, CN_EINVAL (something failed) or CN_ENOMEM. */
int cn__args_check(const cn_fn_def *def, const json_t *args, json_t **errors,
                   const char **why);

/* Whether v is nested at most max_depth levels (a scalar is level 0, a
 * container 1 + its deepest member) and, counted as compact JSON, at most
 * *budget bytes; *budget is decreased by what v takes. Stops early: the
 * walk costs at most max_depth levels of recursion and O(*budget) steps.
 * 0, or CN_ETOOBIG (too large) or CN_EINVAL (too deep). */
int cn__args_bounds(const json_t *v, int max_depth, size_t *budget);

/* ------------------------------------------------------------- fn.c */

/* One registered function. */
typedef struct cn__fn {
  const cn_fn_def *def;
  const char *module; /* "tasks" (the manifest's) */
  const char *source; /* "data/tasks.c" */
  char path[136];     /* "tasks:list" */
} cn__fn;

typedef struct cn__fns {
  cn__fn *v; /* sorted by path */
  size_t n;
  /* per function (same index): how long its recent top-level runs took,
   * in microseconds, as a moving average (UINT32_MAX: not yet known).
   * Short queries run on the I/O thread (cn__fn_inline_ok). */
  _Atomic uint32_t *recent_us;
} cn__fns;

#define CN__FN_NAME_MAX 64 /* of a module's or a function's name */

/* 1 when s is an identifier ([A-Za-z_][A-Za-z0-9_]*) of at most max
 * bytes. */
int cn__fn_ident(cn_str s, size_t max);

/* 1 when path is "<module>:<name>", both identifiers of at most
 * CN__FN_NAME_MAX bytes. */
int cn__fn_path_ok(cn_str path);

/* The kind as a word: "query", "mutation", "action" ("function" for an
 * unknown value). Static. */
const char *cn__fn_kind_name(cn_fn_kind kind);

/* Build the registry from the app's data modules, checking every
 * definition (names, kinds, argument schemas, auth rules). OUT: *out,
 * filled (free with cn__fns_free, also on failure). CN_EINVAL with a
 * sentence naming the file and the function in err (a duplicate name, a
 * bad one, a mutation with no fn ...), CN_ENOMEM. */
int cn__fns_build(const cn_manifest_data *mods, size_t n, cn__fns *out,
                  char *err, size_t errlen);
void cn__fns_free(cn__fns *r);

/* The function at path, NULL when none. Any thread (read-only). */
const cn__fn *cn__fns_find(const cn__fns *r, cn_str path);

/* The "path" of a request body as a client writes it ({"path":"m:f",...}):
 * found by a scan, not a parse, as a hint for where to run the call (the
 * handler parses the body itself); anything unusual (escapes, spaces in
 * odd places) is simply not found: {NULL, 0}. The slice points into b. */
cn_str cn__data_body_path(cn_str b);

/* Record a run of fn that took us microseconds. */
void cn__fn_ran(const cn__fns *r, const cn__fn *fn, uint64_t us);
/* 1 when fn's recent runs averaged under limit_us: it may then run on the
 * I/O thread when a reader is free, for the hop to a handler thread and
 * back costs about as much as such a query. A run that takes long raises
 * the average at once (by a quarter of it), so a query that grew slow goes
 * back to the pool. */
int cn__fn_inline_ok(const cn__fns *r, const cn__fn *fn, int limit_us);

/* What cn__data_open needs. */
typedef struct cn__data_opts {
  const cn_manifest_data *mods;
  size_t nmods;
  const cn_manifest_migration *migrations;
  size_t nmigrations;
  const char *url;          /* DATABASE_URL (NULL: the default path) */
  const char *default_path; /* ".cairn/data.db" */
  int durability_full;
  int shared; /* cn__store_opts.shared */
  int dev;     /* 500 answers carry their detail */
  int inline_query_us; /* cn_config.data_inline_query_us */
  /* Prerendering at build: no database is opened now; the first call
   * opens a scratch one at scratch_path (removed before and after) with
   * the migrations applied, so loaders that read data can run; the pages
   * they render are dynamic anyway (cn_req_ctx marks them). */
  const char *scratch_path;
} cn__data_opts;

/* The layer: the registry and the store. */
typedef struct cn__data {
  cn__fns fns;
  cn__store *store; /* NULL until opened (scratch) */
  int dev;
  int inline_query_us; /* see cn__fn_inline_ok */
  /* prerender's lazily opened scratch database */
  char *scratch_path;
  const cn_manifest_migration *migrations;
  size_t nmigrations;
  int scratch_failed;
  pthread_mutex_t open_mu;
  /* top-level calls in flight: close waits for them */
  pthread_mutex_t mu;
  pthread_cond_t idle;
  int active;
  int closing;
} cn__data;

/* Build the registry, open the store (DATABASE_URL or the default path,
 * created when missing) and apply the migrations not yet applied. Called
 * by cn_main before the server listens. OUT: *out. Errors, with a
 * sentence in err: CN_EINVAL for a bad definition (see cn__fns_build) or
 * a failing migration ("data/migrations/NAME: <the database's words>"),
 * CN_EIO when the database cannot be opened, CN_ENOMEM. On failure nothing
 * is left open. */
int cn__data_open(const cn__data_opts *o, cn__data **out, char *err,
                  size_t errlen);

/* Wait for the calls in flight (at most wait_ms; after that the store is
 * left open, for the process is about to end), close the store, free d.
 * Calls that start after this began fail with CN_ECLOSED. NULL is fine. */
void cn__data_close(cn__data *d, uint64_t wait_ms);

/* The store to run on: d->store, or the scratch store opened now. NULL
 * when none can be had (the reason was printed once). */
cn__store *cn__data_store(cn__data *d);

/* The process's layer, for cn_req_ctx (NULL: the app has no data layer).
 * Set once before serving, cleared after. */
void cn__data_set_global(cn__data *d);
cn__data *cn__data_global(void);

/* A readiness check (src/health): the store answers a one-row read.
 * arg is the cn__data. 0, or non-zero with the reason in why. */
int cn__data_ready(void *arg, char *why, size_t cap);

/* ------------------------------------------------------------ ctx.c */

/* A call's context. The caller's one (cn_req_ctx) has kind 0 and no db;
 * the one a function receives is made by cn__data_run for that call. */
struct cn_ctx {
  cn__data *d;
  cn_req *req;                 /* NULL: no request called */
  const cn_identity *identity; /* NULL: anonymous */
  int auth_err;                /* CN_EUNAUTH: the request's token was bad */
  cn__arena *arena;            /* the request's, or own */
  cn__arena own;
  cn_db *db;                   /* the transaction's; NULL in an action */
  cn_fn_kind kind;             /* the function this ctx runs; 0: a caller */
  const cn__fn *fn;
  const char *fail;            /* cn_ctx_fail's message, in the arena */
  int fail_err;
  _Atomic(const char *) error; /* cn_ctx_error's answer, in the arena */
};

/* A context without a request (a live query's re-run, tests): identity
 * who (borrowed; may be NULL), memory from an arena of its own freed by
 * cn__ctx_done. */
void cn__ctx_init(cn_ctx *ctx, cn__data *d, const cn_identity *who);
void cn__ctx_done(cn_ctx *ctx);

/* One call, in and out. */
typedef struct cn__call {
  cn_fn_kind kind;    /* what the caller asked for */
  cn_str path;
  const json_t *args; /* NULL: {} */
  /* out */
  json_t *result;        /* success: a new reference (JSON null for NULL) */
  json_t *errors;        /* argument errors {field: message}, new ref */
  uint64_t ts;           /* a mutation's commit timestamp; for a query,
                            the last commit before its snapshot (what it
                            saw is at least that recent) */
  cn__rwset *reads;      /* in: where a top-level query records the tables
                            it read (live queries); NULL: not wanted */
  const cn__fn *fn;      /* the function found, NULL when none */
  int wrong_kind;        /* found, but of another kind (CN_ENOENT) */
  int internal;          /* a failure the caller must see as a 500 */
  const char *message;   /* for the caller; arena or static */
  const char *detail;    /* internal failures: for the log (and dev) */
} cn__call;

/* Run call c with ctx's identity: find the function, check the kind, the
 * arguments and the auth rule, then run it in the transaction its kind
 * needs (see the top of this file for nesting). Any thread; blocks. The
 * caller zeroes the out fields and json_decrefs result and errors.
 * Returns 0 or the failure: CN_EINVAL (bad path or args), CN_ENOENT
 * (unknown, or wrong_kind), CN_EUNAUTH, CN_EFORBIDDEN, what the function
 * returned, CN_ECLOSED (shutting down), CN_ESTATE (no data layer),
 * CN_ENOMEM. c->message says why; it is also what cn_ctx_error(ctx)
 * answers afterwards. */
int cn__data_run(cn_ctx *ctx, cn__call *c);

/* The boundary to the browser, for what answers a client (HTTP, a live
 * query, a socket's call) and not what answers the server's own code: when
 * rc is 0 but c's result holds a server-only value (taint/taint.h), the
 * result is dropped and the call fails as internal (500), its detail (in
 * ctx's arena) and the log naming the value and the function, never
 * showing it. text[0..len), when not NULL, is the result as the caller
 * is about to send it (scanned instead of writing the result again).
 * Returns rc, or CN_EFORBIDDEN for such a result. */
int cn__data_outbound(cn_ctx *ctx, cn__call *c, int rc, const char *text,
                      size_t len);

/* ----------------------------------------------------------- http.c */

/* Add POST /_cairn/query, /_cairn/mutation and /_cairn/action to app,
 * answering for the global layer. cn_main calls it when the app has a
 * data layer. 0 or the cn_app_route error. */
int cn__data_mount(cn_app *app);

/* The HTTP status of a failed call (400, 401, 403, 404, 409, 500) and
 * the code word of its JSON answer. */
int cn__data_status(int rc, const cn__call *c, const char **code);

#endif /* CN_DATA_DATA_H */
