/* The live-query test app: a list that counts its own runs, a query over
 * another table, mutations that change, touch without changing, or miss
 * the list's table, and a query that is refused. */
#include <stdatomic.h>

#include <cairn.h>

static atomic_long list_runs, other_runs;

static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  atomic_fetch_add(&list_runs, 1);
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id, body FROM notes ORDER BY id", CN_NOARGS);
}

static int count_other(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  atomic_fetch_add(&other_runs, 1);
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT COUNT(*) FROM other",
                     CN_NOARGS);
}

/* How often each ran: read over HTTP by the tests. */
static int runs(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx;
  (void)args;
  *out = json_pack("{s:I,s:I}", "list", (json_int_t)atomic_load(&list_runs),
                   "other", (json_int_t)atomic_load(&other_runs));
  return *out ? 0 : CN_ENOMEM;
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  const char *body = json_string_value(json_object_get(args, "body"));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO notes (body) VALUES (?)",
                      CN_ARGS(cn_v(body)));
  if (!rc)
    *out = json_integer(cn_db_last_id(cn_ctx_db(ctx)));
  return rc;
}

/* Writes the notes table without changing what list returns. */
static int touch(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL,
                    "UPDATE notes SET body = body WHERE id = -1", CN_NOARGS);
}

/* Changes every note, in a column list does not read. */
static int mark(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "UPDATE notes SET seen = seen + 1",
                    CN_NOARGS);
}

/* Adds a note and takes it away again: rows changed, the list did not. */
static int churn(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO notes (body) VALUES ('gone')", CN_NOARGS);
  return rc ? rc : cn_db_exec(cn_ctx_db(ctx), NULL,
                              "DELETE FROM notes WHERE id = ?",
                              CN_ARGS(cn_v(cn_db_last_id(cn_ctx_db(ctx)))));
}

static int add_other(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO other (v) VALUES (1)",
                    CN_NOARGS);
}

static int secret(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  return cn_ctx_fail(ctx, CN_EFORBIDDEN, "not for you");
}

CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list},
        {.name = "count_other", .kind = CN_QUERY, .fn = count_other},
        {.name = "runs", .kind = CN_QUERY, .fn = runs},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 100000}}},
        {.name = "touch", .kind = CN_MUTATION, .fn = touch},
        {.name = "mark", .kind = CN_MUTATION, .fn = mark},
        {.name = "churn", .kind = CN_MUTATION, .fn = churn},
        {.name = "add_other", .kind = CN_MUTATION, .fn = add_other},
        {.name = "secret", .kind = CN_QUERY, .fn = secret});
