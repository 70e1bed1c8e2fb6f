/* Tasks with owners: argument validation, atomicity, auth rules. */
#include <cairn.h>

/* Every run that gets to write leaves a row in calls: a call refused
 * before it ran leaves none. */
static int note(cn_ctx *ctx, const char *what) {
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO calls VALUES (?)",
                    CN_ARGS(cn_v(what)));
}

static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id, owner, title, done FROM tasks ORDER BY id",
                   CN_NOARGS);
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  int rc = note(ctx, "tasks:add");
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                    "INSERT INTO tasks (owner, title, done) VALUES (?, ?, ?)",
                    CN_ARGS(cn_v(cn_ctx_subject(ctx)),
                            cn_v_json(json_object_get(args, "title")),
                            cn_v(json_is_true(json_object_get(args, "done")))));
  if (!rc)
    *out = json_pack("{s:I}", "id", (json_int_t)cn_db_last_id(cn_ctx_db(ctx)));
  return rc;
}

/* Writes twice, then fails half-way: nothing of it may stay. */
static int add_then_fail(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  int rc = add(ctx, args, out);
  json_decref(*out);
  *out = NULL;
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                    "UPDATE counter SET n = n + 1000 WHERE id = 1", CN_NOARGS);
  return rc ? rc : cn_ctx_fail(ctx, CN_ECONFLICT, "failed half-way");
}

/* A query that tries to write: the database refuses. */
static int sneaky(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return note(ctx, "tasks:sneaky");
}

static int calls(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT count(*) FROM calls",
                     CN_NOARGS);
}

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  return cn_db_one(cn_ctx_db(ctx), out,
                   "SELECT id, owner, title FROM tasks WHERE id = ?",
                   CN_ARGS(cn_v_json(json_object_get(args, "id"))));
}

static int rename_task(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  int rc = note(ctx, "tasks:rename");
  return rc ? rc
            : cn_db_exec(cn_ctx_db(ctx), NULL,
                         "UPDATE tasks SET title = ? WHERE id = ?",
                         CN_ARGS(cn_v_json(json_object_get(args, "title")),
                                 cn_v_json(json_object_get(args, "id"))));
}

static int taken(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return cn_ctx_fail(ctx, CN_EINVAL, "that title is taken");
}

/* A failure with a detail that must stay on the server (not in --dev). */
static int broken(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return cn_ctx_fail(ctx, CN_EIO, "secret detail 1234");
}

/* A message that is not UTF-8 cannot travel in JSON as it is. */
static int latin1(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args, (void)out;
  return cn_ctx_fail(ctx, CN_EINVAL, "caf\xe9");
}

static int bad_sql(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out, "SELECT * FROM no_such_table",
                   CN_NOARGS);
}

#define OWNER {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner", .key = "id"}
CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "title", .type = CN_T_STRING, .min = 1, .max = 100},
                  {.name = "done", .type = CN_T_BOOL, .optional = 1},
                  {.name = "priority", .type = CN_T_INT, .optional = 1,
                   .min = 0, .max = 5},
                  {.name = "tags", .type = CN_T_ARRAY, .optional = 1,
                   .max = 3}}},
        {.name = "add_then_fail", .kind = CN_MUTATION, .fn = add_then_fail,
         .args = {{.name = "title", .type = CN_T_STRING}}},
        {.name = "sneaky", .kind = CN_QUERY, .fn = sneaky},
        {.name = "calls", .kind = CN_QUERY, .fn = calls},
        {.name = "get", .kind = CN_QUERY, .fn = get,
         .args = {{.name = "id", .type = CN_T_INT}}, .auth = OWNER},
        {.name = "rename", .kind = CN_MUTATION, .fn = rename_task,
         .args = {{.name = "id", .type = CN_T_INT},
                  {.name = "title", .type = CN_T_STRING}},
         .auth = OWNER},
        {.name = "taken", .kind = CN_QUERY, .fn = taken},
        {.name = "broken", .kind = CN_QUERY, .fn = broken},
        {.name = "latin1", .kind = CN_QUERY, .fn = latin1},
        {.name = "bad_sql", .kind = CN_QUERY, .fn = bad_sql});
