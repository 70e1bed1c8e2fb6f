/* Running data functions in-process (src/data/ctx.c, layer.c) on a real
 * store in a temporary folder: kinds, transactions, nesting, auth rules,
 * failures and their messages, what a refused call leaves behind
 * (nothing), concurrency, shutdown. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "data/data.h"

/* ------------------------------------------------------------ the app */

static int64_t count(cn_ctx *ctx, const char *sql) {
  json_t *v = NULL;
  int rc = cn_db_value(cn_ctx_db(ctx), &v, sql, CN_NOARGS);
  int64_t n = rc ? -1 : json_integer_value(v);
  json_decref(v);
  return n;
}

/* Every run of a function that writes leaves a row in calls: a refused
 * call must leave none. */
static int note_call(cn_ctx *ctx, const char *what) {
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO calls(what) VALUES (?)",
                    CN_ARGS(cn_v(what)));
}

static int ncalls(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  *out = json_integer(count(ctx, "SELECT count(*) FROM calls"));
  return 0;
}

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_value(cn_ctx_db(ctx), out,
                     "SELECT n FROM counter WHERE id = 1", CN_NOARGS);
}

static _Atomic long inc_runs;

static int inc(cn_ctx *ctx, const json_t *args, json_t **out) {
  inc_runs++;
  json_int_t by = json_integer_value(json_object_get(args, "by"));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "UPDATE counter SET n = n + ? WHERE id = 1",
                      CN_ARGS(cn_v((long long)(by ? by : 1))));
  return rc ? rc : get(ctx, NULL, out);
}

/* Writes, then fails: nothing of it may stay. */
static int half(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  int rc = note_call(ctx, "half");
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                    "UPDATE counter SET n = n + 100 WHERE id = 1", CN_NOARGS);
  return rc ? rc : cn_ctx_fail(ctx, CN_ECONFLICT, "half-way %d", 50);
}

static int write_in_query(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return note_call(ctx, "write_in_query");
}

static int nested(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *a = NULL, *b = NULL, *c = NULL;
  int rc = cn_run_mutation(ctx, "t:inc", NULL, &a);
  if (!rc)
    rc = cn_run_query(ctx, "t:get", NULL, &b);
  /* a query inside sees this transaction's own writes */
  json_t *by = json_pack("{s:i}", "by", 10);
  if (!rc)
    rc = cn_run_mutation(ctx, "t:inc", by, &c);
  json_decref(by);
  if (!rc)
    *out = json_pack("[o,o,o]", a, b, c);
  else
    json_decref(a), json_decref(b), json_decref(c);
  return rc;
}

/* The caller's request-level ctx is not this call's: cn_run_* on it from
 * inside a mutation still runs in this transaction (not a deadlock). */
static cn_ctx *outer_ctx;
static int via_outer(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args;
  return cn_run_mutation(outer_ctx, "t:inc", NULL, out);
}

/* A nested mutation that fails is undone alone; the caller goes on. */
static int nested_fail(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *a = NULL, *b = NULL;
  int rc = cn_run_mutation(ctx, "t:inc", NULL, &a);
  int half = rc ? rc : cn_run_mutation(ctx, "t:half", NULL, &b);
  if (!rc)
    *out = json_pack("{s:o,s:i,s:s}", "a", a, "half", half, "why",
                     cn_ctx_error(ctx) ? cn_ctx_error(ctx) : "");
  else
    json_decref(a);
  return rc;
}

/* A query nested in a mutation may not write. */
static int mutation_runs_writing_query(cn_ctx *ctx, const json_t *args,
                                       json_t **out) {
  (void)args;
  int rc = note_call(ctx, "outer");
  return rc ? rc : cn_run_query(ctx, "t:write_in_query", NULL, out);
}

/* Rolls back the whole transaction, and with it every write grouped
 * with this one: the store runs those again. */
static int rollback_all(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL,
                    "INSERT OR ROLLBACK INTO counter VALUES (1, 0)",
                    CN_NOARGS);
}

static int query_runs_mutation(cn_ctx *ctx, const json_t *args,
                               json_t **out) {
  (void)args;
  return cn_run_mutation(ctx, "t:inc", NULL, out);
}

static int mutation_runs_action(cn_ctx *ctx, const json_t *args,
                                json_t **out) {
  (void)args;
  int rc = note_call(ctx, "mutation_runs_action");
  return rc ? rc : cn_run_action(ctx, "t:act", NULL, out);
}

static int act(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *a = NULL, *b = NULL;
  if (cn_ctx_db(ctx))
    return cn_ctx_fail(ctx, CN_EINVAL, "an action has no database");
  int rc = cn_run_mutation(ctx, "t:inc", NULL, &a);
  if (!rc)
    rc = cn_run_query(ctx, "t:get", NULL, &b);
  if (!rc)
    *out = json_pack("[o,o]", a, b);
  else
    json_decref(a), json_decref(b);
  return rc;
}

static int whoami(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  const char *s = cn_ctx_subject(ctx);
  *out = s ? json_string(s) : json_null();
  return 0;
}

static int rename_task(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  int rc = note_call(ctx, "rename");
  int64_t changes = 0;
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), &changes,
                    "UPDATE tasks SET title = ? WHERE id = ?",
                    CN_ARGS(cn_v_json(json_object_get(args, "title")),
                            cn_v_json(json_object_get(args, "id"))));
  return rc;
}

static int read_task(cn_ctx *ctx, const json_t *args, json_t **out) {
  return cn_db_one(cn_ctx_db(ctx), out,
                   "SELECT id, owner, title FROM tasks WHERE id = ?",
                   CN_ARGS(cn_v_json(json_object_get(args, "id"))));
}

static int custom_check(cn_ctx *ctx, const json_t *args) {
  const char *s = json_string_value(json_object_get(args, "secret"));
  if (s && !strcmp(s, "open"))
    return 0;
  if (s && !strcmp(s, "crash"))
    return CN_EIO;
  return cn_ctx_fail(ctx, CN_EFORBIDDEN, "wrong secret");
}

static int fail400(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return cn_ctx_fail(ctx, CN_EINVAL, "title \"%s\" is taken", "x");
}
static int bare404(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return CN_ENOENT;
}
static int sqlerr(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out, "SELEKT nothing", CN_NOARGS);
}
static int oom(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return CN_ENOMEM;
}
static int null_result(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return 0;
}

#define ID_ARG {.name = "id", .type = CN_T_INT}
static const cn_data_def t_def = {{
    {.name = "get", .kind = CN_QUERY, .fn = get},
    {.name = "calls", .kind = CN_QUERY, .fn = ncalls},
    {.name = "inc", .kind = CN_MUTATION, .fn = inc,
     .args = {{.name = "by", .type = CN_T_INT, .optional = 1}}},
    {.name = "half", .kind = CN_MUTATION, .fn = half},
    {.name = "write_in_query", .kind = CN_QUERY, .fn = write_in_query},
    {.name = "nested", .kind = CN_MUTATION, .fn = nested},
    {.name = "via_outer", .kind = CN_MUTATION, .fn = via_outer},
    {.name = "nested_fail", .kind = CN_MUTATION, .fn = nested_fail},
    {.name = "mutation_runs_writing_query", .kind = CN_MUTATION,
     .fn = mutation_runs_writing_query},
    {.name = "rollback_all", .kind = CN_MUTATION, .fn = rollback_all},
    {.name = "query_runs_mutation", .kind = CN_QUERY,
     .fn = query_runs_mutation},
    {.name = "mutation_runs_action", .kind = CN_MUTATION,
     .fn = mutation_runs_action},
    {.name = "act", .kind = CN_ACTION, .fn = act},
    {.name = "whoami", .kind = CN_QUERY, .fn = whoami},
    {.name = "user_only", .kind = CN_QUERY, .fn = whoami,
     .auth = {.kind = CN_AUTH_USER}},
    {.name = "read_task", .kind = CN_QUERY, .fn = read_task,
     .args = {ID_ARG},
     .auth = {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner",
              .key = "id"}},
    {.name = "rename", .kind = CN_MUTATION, .fn = rename_task,
     .args = {ID_ARG, {.name = "title", .type = CN_T_STRING}},
     .auth = {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner",
              .key = "id"}},
    {.name = "act_task", .kind = CN_ACTION, .fn = whoami, .args = {ID_ARG},
     .auth = {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner",
              .key = "id"}},
    {.name = "admins", .kind = CN_QUERY, .fn = whoami,
     .auth = {.kind = CN_AUTH_GROUP, .claim = "roles", .group = "admin"}},
    {.name = "custom", .kind = CN_MUTATION, .fn = rename_task,
     .args = {ID_ARG, {.name = "title", .type = CN_T_STRING},
              {.name = "secret", .type = CN_T_STRING}},
     .auth = {.kind = CN_AUTH_CUSTOM, .check = custom_check}},
    {.name = "fail400", .kind = CN_QUERY, .fn = fail400},
    {.name = "bare404", .kind = CN_QUERY, .fn = bare404},
    {.name = "sqlerr", .kind = CN_QUERY, .fn = sqlerr},
    {.name = "oom", .kind = CN_QUERY, .fn = oom},
    {.name = "null_result", .kind = CN_QUERY, .fn = null_result},
}};

static const cn_manifest_data mods[] = {{"t", "data/t.c", &t_def}};
static const cn_manifest_migration migs[] = {
    {"001_init.sql",
     "CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
     "INSERT INTO counter VALUES (1, 0);"
     "CREATE TABLE calls(what TEXT);"
     "CREATE TABLE tasks(id INTEGER PRIMARY KEY, owner TEXT, title TEXT);"
     "INSERT INTO tasks VALUES (1, 'alice', 'a1'), (2, 'bob', 'b1'),"
     " (3, NULL, 'nobody');"},
};

static char dir[128], url[256];
static cn__data *d;

static void open_layer(void) {
  char err[512] = "";
  cn__data_opts o = {.mods = mods, .nmods = 1, .migrations = migs,
                     .nmigrations = 1, .url = url,
                     .default_path = ".cairn/unused.db"};
  int rc = cn__data_open(&o, &d, err, sizeof err);
  if (rc)
    fprintf(stderr, "open: %s\n", err);
  CHECK_EQ_INT(rc, 0);
}

/* A call through the public API, with the ctx's message afterwards. */
static int call(cn_ctx *ctx, cn_fn_kind k, const char *path, json_t *args,
                json_t **out) {
  int rc = k == CN_QUERY      ? cn_run_query(ctx, path, args, out)
           : k == CN_MUTATION ? cn_run_mutation(ctx, path, args, out)
                              : cn_run_action(ctx, path, args, out);
  json_decref(args);
  return rc;
}

static int64_t counter(void) {
  cn_ctx ctx;
  json_t *v = NULL;
  cn__ctx_init(&ctx, d, NULL);
  int rc = cn_run_query(&ctx, "t:get", NULL, &v);
  int64_t n = rc ? -1 : json_integer_value(v);
  json_decref(v);
  cn__ctx_done(&ctx);
  return n;
}

/* Rows in calls: the functions that wrote and committed. */
static int64_t calls(void) {
  cn_ctx ctx;
  json_t *v = NULL;
  cn__ctx_init(&ctx, d, NULL);
  int rc = cn_run_query(&ctx, "t:calls", NULL, &v);
  int64_t n = rc ? -1 : json_integer_value(v);
  json_decref(v);
  cn__ctx_done(&ctx);
  return n;
}

/* ------------------------------------------------------------- tests */

TEST(kinds_and_values) {
  cn_ctx ctx;
  json_t *v = NULL;
  cn__ctx_init(&ctx, d, NULL);
  CHECK_EQ_INT(call(&ctx, CN_QUERY, "t:get", NULL, &v), 0);
  CHECK(json_is_integer(v) && json_integer_value(v) == 0);
  json_decref(v);
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:inc", json_pack("{s:i}", "by", 5),
                    &v), 0);
  CHECK_EQ_INT(json_integer_value(v), 5);
  json_decref(v);
  CHECK(cn_ctx_error(&ctx) == NULL);
  /* NULL from the function is JSON null */
  CHECK_EQ_INT(call(&ctx, CN_QUERY, "t:null_result", NULL, &v), 0);
  CHECK(json_is_null(v));
  json_decref(v);
  /* an action runs the others, each its own transaction */
  CHECK_EQ_INT(call(&ctx, CN_ACTION, "t:act", NULL, &v), 0);
  CHECK(json_integer_value(json_array_get(v, 0)) == 6 &&
        json_integer_value(json_array_get(v, 1)) == 6);
  json_decref(v);
  /* result may be NULL: the value is dropped */
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:inc", NULL, NULL), 0);
  CHECK_EQ_INT(counter(), 7);
  cn__ctx_done(&ctx);
}

typedef struct fail_case {
  cn_fn_kind kind;
  const char *path;
  const char *args;
  int rc;
  const char *error; /* what cn_ctx_error says (a prefix) */
} fail_case;

static const fail_case fails[] = {
    {CN_QUERY, "t:nope", NULL, CN_ENOENT, "Could not find function for "
                                          "'t:nope'"},
    {CN_QUERY, "x:get", NULL, CN_ENOENT, "Could not find function"},
    {CN_QUERY, "t:get:x", NULL, CN_EINVAL, "a function path is"},
    {CN_QUERY, "", NULL, CN_EINVAL, "a function path is"},
    {CN_QUERY, "'; DROP TABLE counter;--:x", NULL, CN_EINVAL,
     "a function path is"},
    {CN_QUERY, "t:inc", NULL, CN_ENOENT, "t:inc is a mutation, not a query"},
    {CN_MUTATION, "t:get", NULL, CN_ENOENT, "t:get is a query, not a "
                                            "mutation"},
    {CN_QUERY, "t:act", NULL, CN_ENOENT, "t:act is an action, not a query"},
    {CN_ACTION, "t:get", NULL, CN_ENOENT, "t:get is a query, not an "
                                          "action"},
    {CN_MUTATION, "t:inc", "{\"by\":\"x\",\"zz\":1}", CN_EINVAL,
     "invalid arguments for t:inc: by must be an integer; zz is not an "
     "argument of this function"},
    {CN_MUTATION, "t:inc", "[]", CN_EINVAL,
     "invalid arguments for t:inc: the arguments must be a JSON object"},
    {CN_MUTATION, "t:half", NULL, CN_ECONFLICT, "half-way 50"},
    {CN_QUERY, "t:write_in_query", NULL, CN_EREADONLY, ""},
    {CN_QUERY, "t:query_runs_mutation", NULL, CN_EREADONLY,
     "a query cannot run a mutation"},
    {CN_MUTATION, "t:mutation_runs_action", NULL, CN_ESTATE,
     "an action cannot run inside a query or a mutation"},
    {CN_QUERY, "t:fail400", NULL, CN_EINVAL, "title \"x\" is taken"},
    {CN_QUERY, "t:bare404", NULL, CN_ENOENT, "no such entry"},
    {CN_QUERY, "t:sqlerr", NULL, CN_EINVAL, ""},
    {CN_QUERY, "t:oom", NULL, CN_ENOMEM, "out of memory"},
};

TEST(failures_and_messages) {
  int64_t before = counter(), ran = calls();
  CHECK_EQ_INT(ran, 0);
  for (size_t i = 0; i < CN__ARRAY_LEN(fails); i++) {
    const fail_case *f = &fails[i];
    cn_ctx ctx;
    cn__ctx_init(&ctx, d, NULL);
    json_t *v = (json_t *)1, *args = NULL;
    if (f->args)
      args = json_loads(f->args, JSON_DECODE_ANY, NULL);
    int rc = call(&ctx, f->kind, f->path, args, &v);
    const char *e = cn_ctx_error(&ctx);
    if (rc != f->rc || !e || strncmp(e, f->error, strlen(f->error)))
      fprintf(stderr, "case %zu (%s): rc %d, \"%s\"\n", i, f->path, rc,
              e ? e : "(null)");
    CHECK_EQ_INT(rc, f->rc);
    CHECK(v == NULL);
    CHECK(e && !strncmp(e, f->error, strlen(f->error)));
    cn__ctx_done(&ctx);
  }
  /* none of it changed anything */
  CHECK_EQ_INT(counter(), before);
  CHECK_EQ_INT(calls(), ran);
}

TEST(the_caller_learns_why) {
  cn__call c = {.kind = CN_QUERY, .path = CN_STR("t:sqlerr")};
  cn_ctx ctx;
  cn__ctx_init(&ctx, d, NULL);
  CHECK_EQ_INT(cn__data_run(&ctx, &c), CN_EINVAL);
  /* a CN_EINVAL the database raised, with nothing said by the function:
   * the server's fault, the detail for the log only */
  CHECK(c.internal);
  CHECK_EQ_STR(c.message, "Server Error");
  CHECK(c.detail && strstr(c.detail, "SELEKT"));
  CHECK(c.fn && !strcmp(c.fn->path, "t:sqlerr"));
  cn__call c2 = {.kind = CN_QUERY, .path = CN_STR("t:fail400")};
  CHECK_EQ_INT(cn__data_run(&ctx, &c2), CN_EINVAL);
  CHECK(!c2.internal);
  CHECK_EQ_STR(c2.message, "title \"x\" is taken");
  cn__call c3 = {.kind = CN_MUTATION, .path = CN_STR("t:inc"),
                 .args = json_pack("{s:s}", "by", "1")};
  CHECK_EQ_INT(cn__data_run(&ctx, &c3), CN_EINVAL);
  CHECK(!c3.internal && c3.errors &&
        !strcmp(json_string_value(json_object_get(c3.errors, "by")),
                "must be an integer"));
  json_decref(c3.errors);
  json_decref((json_t *)c3.args);
  cn__call c4 = {.kind = CN_MUTATION, .path = CN_STR("t:inc")};
  CHECK_EQ_INT(cn__data_run(&ctx, &c4), 0);
  CHECK(c4.ts > 0);
  json_decref(c4.result);
  cn__call c5 = {.kind = CN_MUTATION, .path = CN_STR("t:inc")};
  CHECK_EQ_INT(cn__data_run(&ctx, &c5), 0);
  CHECK(c5.ts > c4.ts);
  json_decref(c5.result);
  cn__ctx_done(&ctx);
}

TEST(nesting) {
  cn_ctx ctx;
  json_t *v = NULL;
  cn__ctx_init(&ctx, d, NULL);
  int64_t n = counter();
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:nested", NULL, &v), 0);
  /* inc, get (sees it), inc by 10: one transaction */
  CHECK(json_integer_value(json_array_get(v, 0)) == n + 1);
  CHECK(json_integer_value(json_array_get(v, 1)) == n + 1);
  CHECK(json_integer_value(json_array_get(v, 2)) == n + 11);
  json_decref(v);
  outer_ctx = &ctx;
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:via_outer", NULL, &v), 0);
  CHECK_EQ_INT(json_integer_value(v), n + 12);
  json_decref(v);
  /* the nested t:half fails and is undone; the outer commits its own */
  int64_t ran = calls();
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:nested_fail", NULL, &v), 0);
  CHECK_EQ_INT(json_integer_value(json_object_get(v, "a")), n + 13);
  CHECK_EQ_INT(json_integer_value(json_object_get(v, "half")), CN_ECONFLICT);
  CHECK_EQ_STR(json_string_value(json_object_get(v, "why")), "half-way 50");
  json_decref(v);
  CHECK_EQ_INT(counter(), n + 13);
  CHECK_EQ_INT(calls(), ran);
  /* a query nested in a mutation is read-only: the whole call fails */
  v = NULL;
  CHECK_EQ_INT(call(&ctx, CN_MUTATION, "t:mutation_runs_writing_query", NULL,
                    &v),
               CN_EREADONLY);
  CHECK(v == NULL);
  CHECK_EQ_INT(calls(), ran);
  cn__ctx_done(&ctx);
}

static void *rollbacks(void *arg) {
  int *n = arg;
  cn_ctx ctx;
  cn__ctx_init(&ctx, d, NULL);
  for (int i = 0; i < *n; i++) {
    json_t *v = NULL;
    if (cn_run_mutation(&ctx, "t:rollback_all", NULL, &v) == 0)
      *n = -1; /* must never succeed */
    json_decref(v);
  }
  cn__ctx_done(&ctx);
  return NULL;
}

typedef struct seen {
  int n;
  int failures;
  int64_t values[200];
} seen;

static void *incs(void *arg) {
  seen *s = arg;
  cn_ctx ctx;
  cn__ctx_init(&ctx, d, NULL);
  for (int i = 0; i < s->n; i++) {
    json_t *v = NULL;
    if (cn_run_mutation(&ctx, "t:inc", NULL, &v))
      s->failures++;
    else
      s->values[i] = json_integer_value(v);
    json_decref(v);
  }
  cn__ctx_done(&ctx);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

TEST(bodies_run_again_answer_once) {
  /* Writes grouped with one that rolls the whole transaction back run
   * again: each still answers once, with its own value, nothing leaks. */
  int64_t before = counter();
  long runs0 = inc_runs;
  pthread_t rb, t[6];
  int nrb = 300;
  static seen s[6];
  pthread_create(&rb, NULL, rollbacks, &nrb);
  for (int i = 0; i < 6; i++) {
    s[i] = (seen){.n = 200};
    pthread_create(&t[i], NULL, incs, &s[i]);
  }
  pthread_join(rb, NULL);
  static int64_t all[1200];
  int failures = 0;
  for (int i = 0; i < 6; i++) {
    pthread_join(t[i], NULL);
    failures += s[i].failures;
    memcpy(all + i * 200, s[i].values, sizeof s[i].values);
  }
  CHECK_EQ_INT(nrb, 300);
  CHECK_EQ_INT(failures, 0);
  CHECK_EQ_INT(counter(), before + 1200);
  qsort(all, 1200, sizeof(int64_t), cmp64);
  for (int i = 0; i < 1200; i++)
    CHECK_EQ_INT(all[i], before + 1 + i);
  printf("# %ld bodies of t:inc ran again after a group rollback\n",
         inc_runs - runs0 - 1200);
}

static const cn_identity alice = {.subject = "alice", .issuer = "i"};
static const cn_identity bob = {.subject = "bob", .issuer = "i"};

typedef struct auth_case {
  const cn_identity *who;
  int bad_token;
  cn_fn_kind kind;
  const char *path;
  const char *args;
  int rc;
} auth_case;

static json_t *admin_claims, *user_claims;
static cn_identity admin = {.subject = "root", .issuer = "i"};
static cn_identity plain = {.subject = "joe", .issuer = "i"};

static const auth_case auths[] = {
    {NULL, 0, CN_QUERY, "t:whoami", NULL, 0},
    {NULL, 1, CN_QUERY, "t:whoami", NULL, CN_EUNAUTH}, /* even public */
    {NULL, 0, CN_QUERY, "t:user_only", NULL, CN_EUNAUTH},
    {&alice, 0, CN_QUERY, "t:user_only", NULL, 0},
    {NULL, 0, CN_QUERY, "t:read_task", "{\"id\":1}", CN_EUNAUTH},
    {&alice, 0, CN_QUERY, "t:read_task", "{\"id\":1}", 0},
    {&bob, 0, CN_QUERY, "t:read_task", "{\"id\":1}", CN_EFORBIDDEN},
    {&alice, 0, CN_QUERY, "t:read_task", "{\"id\":99}", CN_ENOENT},
    {&alice, 0, CN_QUERY, "t:read_task", "{\"id\":3}", CN_EFORBIDDEN},
    {&alice, 0, CN_QUERY, "t:read_task", "{\"id\":\"1 OR 1=1\"}", CN_EINVAL},
    {&bob, 0, CN_MUTATION, "t:rename", "{\"id\":1,\"title\":\"x\"}",
     CN_EFORBIDDEN},
    {&alice, 0, CN_MUTATION, "t:rename", "{\"id\":2,\"title\":\"x\"}",
     CN_EFORBIDDEN},
    {&alice, 0, CN_MUTATION, "t:rename", "{\"id\":7,\"title\":\"x\"}",
     CN_ENOENT},
    {NULL, 0, CN_MUTATION, "t:rename", "{\"id\":1,\"title\":\"x\"}",
     CN_EUNAUTH},
    {&alice, 0, CN_MUTATION, "t:rename", "{\"id\":1,\"title\":\"a2\"}", 0},
    {&alice, 0, CN_ACTION, "t:act_task", "{\"id\":1}", 0},
    {&bob, 0, CN_ACTION, "t:act_task", "{\"id\":1}", CN_EFORBIDDEN},
    {&bob, 0, CN_ACTION, "t:act_task", "{\"id\":17}", CN_ENOENT},
    {NULL, 0, CN_QUERY, "t:admins", NULL, CN_EUNAUTH},
    {&alice, 0, CN_QUERY, "t:admins", NULL, CN_EFORBIDDEN}, /* no claim */
    {&plain, 0, CN_QUERY, "t:admins", NULL, CN_EFORBIDDEN},
    {&admin, 0, CN_QUERY, "t:admins", NULL, 0},
    {NULL, 0, CN_MUTATION, "t:custom",
     "{\"id\":2,\"title\":\"c\",\"secret\":\"nope\"}", CN_EFORBIDDEN},
    {NULL, 0, CN_MUTATION, "t:custom",
     "{\"id\":2,\"title\":\"c\",\"secret\":\"crash\"}", CN_EIO},
    {NULL, 0, CN_MUTATION, "t:custom",
     "{\"id\":2,\"title\":\"b2\",\"secret\":\"open\"}", 0},
};

TEST(auth_rules) {
  admin_claims = json_pack("{s:[s,s]}", "roles", "user", "admin");
  user_claims = json_pack("{s:s}", "roles", "user");
  admin.claims = admin_claims;
  plain.claims = user_claims;
  for (size_t i = 0; i < CN__ARRAY_LEN(auths); i++) {
    const auth_case *a = &auths[i];
    cn_ctx ctx;
    cn__ctx_init(&ctx, d, a->who);
    ctx.auth_err = a->bad_token ? CN_EUNAUTH : 0;
    json_t *v = NULL;
    json_t *args = a->args ? json_loads(a->args, 0, NULL) : NULL;
    int rc = call(&ctx, a->kind, a->path, args, &v);
    if (rc != a->rc)
      fprintf(stderr, "auth case %zu (%s): %d (%s)\n", i, a->path, rc,
              cn_ctx_error(&ctx) ? cn_ctx_error(&ctx) : "");
    CHECK_EQ_INT(rc, a->rc);
    if (!rc && !strcmp(a->path, "t:whoami"))
      CHECK(a->who ? json_is_string(v) : json_is_null(v));
    json_decref(v);
    cn__ctx_done(&ctx);
  }
  /* The refused renames changed nothing, nor ran; the allowed ones did. */
  CHECK_EQ_INT(calls(), 2);
  cn_ctx ctx;
  json_t *v = NULL;
  cn__ctx_init(&ctx, d, &alice);
  CHECK_EQ_INT(call(&ctx, CN_QUERY, "t:read_task",
                    json_pack("{s:i}", "id", 1), &v), 0);
  CHECK_EQ_STR(json_string_value(json_object_get(v, "title")), "a2");
  json_decref(v);
  cn__ctx_done(&ctx);
  cn__ctx_init(&ctx, d, &bob);
  CHECK_EQ_INT(call(&ctx, CN_QUERY, "t:read_task",
                    json_pack("{s:i}", "id", 2), &v), 0);
  CHECK_EQ_STR(json_string_value(json_object_get(v, "title")), "b2");
  json_decref(v);
  cn__ctx_done(&ctx);
  json_decref(admin_claims);
  json_decref(user_claims);
}

typedef struct worker {
  int n;
  int failures;
} worker;

static void *hammer(void *arg) {
  worker *w = arg;
  cn_ctx ctx;
  cn__ctx_init(&ctx, d, NULL);
  for (int i = 0; i < w->n; i++) {
    json_t *v = NULL;
    if (cn_run_mutation(&ctx, "t:inc", NULL, &v))
      w->failures++;
    json_decref(v);
  }
  cn__ctx_done(&ctx);
  return NULL;
}

TEST(concurrent_increments) {
  int64_t before = counter();
  pthread_t t[8];
  worker w[8];
  for (int i = 0; i < 8; i++) {
    w[i] = (worker){.n = 150};
    pthread_create(&t[i], NULL, hammer, &w[i]);
  }
  int failures = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(t[i], NULL);
    failures += w[i].failures;
  }
  CHECK_EQ_INT(failures, 0);
  CHECK_EQ_INT(counter(), before + 8 * 150);
}

TEST(no_layer) {
  cn_ctx ctx;
  cn__ctx_init(&ctx, NULL, NULL);
  json_t *v = NULL;
  CHECK_EQ_INT(cn_run_query(&ctx, "t:get", NULL, &v), CN_ESTATE);
  CHECK(v == NULL && cn_ctx_error(&ctx));
  CHECK_EQ_INT(cn_run_query(NULL, "t:get", NULL, &v), CN_EINVAL);
  CHECK_EQ_INT(cn_run_query(&ctx, NULL, NULL, &v), CN_EINVAL);
  CHECK(cn_ctx_fail(NULL, CN_EIO, "x") == CN_EIO);
  CHECK(cn_ctx_db(NULL) == NULL && cn_ctx_req(NULL) == NULL &&
        cn_ctx_subject(NULL) == NULL && cn_ctx_error(NULL) == NULL);
  cn__ctx_done(&ctx);
}

TEST(migration_failure_and_reopen) {
  /* A second open of the same database applies nothing twice; a failing
   * migration fails the open with its name and the database's words. */
  cn__data *d2 = NULL;
  char err[512] = "";
  cn_manifest_migration two[] = {migs[0], {"002_bad.sql", "CREATE TABLE"}};
  cn__data_opts o = {.mods = mods, .nmods = 1, .migrations = two,
                     .nmigrations = 2, .url = url};
  CHECK_EQ_INT(cn__data_open(&o, &d2, err, sizeof err), CN_EINVAL);
  CHECK(d2 == NULL);
  CHECK(!strncmp(err, "data/migrations/002_bad.sql: ", 29));
  /* a bad definition fails before any database is touched */
  static const cn_data_def bad = {{{.name = "x", .kind = CN_QUERY}}};
  cn_manifest_data bm = {"b", "data/b.c", &bad};
  o.mods = &bm;
  o.nmigrations = 1;
  CHECK_EQ_INT(cn__data_open(&o, &d2, err, sizeof err), CN_EINVAL);
  CHECK(strstr(err, "data/b.c: b:x: the function has no .fn") != NULL);
}

TEST(readiness) {
  char why[160] = "";
  CHECK_EQ_INT(cn__data_ready(d, why, sizeof why), 0);
  CHECK_EQ_STR(why, "");
  CHECK(cn__data_ready(NULL, why, sizeof why) != 0);
  CHECK_EQ_STR(why, "the database does not answer: it is not open");
}

TEST(closing) {
  cn__data_close(d, 5000);
  d = NULL;
  cn__data_close(NULL, 0);
}

int main(void) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir, sizeof dir, "%s/cn-test-data-XXXXXX", tmp);
  if (!mkdtemp(dir))
    return 2;
  snprintf(url, sizeof url, "sqlite:%s/data.db", dir);
  open_layer();
  if (!d)
    return check_summary() || 1;
  RUN(kinds_and_values);
  RUN(failures_and_messages);
  RUN(the_caller_learns_why);
  RUN(nesting);
  RUN(auth_rules);
  RUN(bodies_run_again_answer_once);
  RUN(concurrent_increments);
  RUN(no_layer);
  RUN(migration_failure_and_reopen);
  RUN(readiness);
  RUN(closing);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd))
    return 2;
  return check_summary();
}
