/* Notes: inserts with their new id, a failure half-way, a query that
 * tries to write, values of every type, a nested write. */
#include <cairn.h>

static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id, body FROM notes ORDER BY id", CN_NOARGS);
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  cn_db *db = cn_ctx_db(ctx);
  int rc = cn_db_exec(db, NULL, "INSERT INTO notes (body) VALUES (?)",
                      CN_ARGS(cn_v_json(json_object_get(args, "body"))));
  if (!rc)
    *out = json_integer(cn_db_last_id(db));
  return rc;
}

static int add_then_fail(cn_ctx *ctx, const json_t *args, json_t **out) {
  int rc = add(ctx, args, out);
  json_decref(*out);
  *out = NULL;
  return rc ? rc : cn_ctx_fail(ctx, CN_ECONFLICT, "failed half-way");
}

static int sneaky(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL,
                    "INSERT INTO notes (body) VALUES ('from a query')",
                    CN_NOARGS);
}

static int types(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_one(cn_ctx_db(ctx), out,
                   "SELECT 42 AS i, 9007199254740993::bigint AS big, "
                   "1.5::float8 AS f, 2.50::numeric AS n, true AS b, "
                   "'it''s ?' AS s, NULL AS z, '{\"a\": [1]}'::jsonb AS j, "
                   "? AS echoed, ?::int + 1 AS sum -- a ? in a comment",
                   CN_ARGS(cn_v("é ? \"q\""), cn_v(41)));
}

/* A mutation calling another: the inner one is a savepoint of it. */
static int add_twice(cn_ctx *ctx, const json_t *args, json_t **out) {
  json_t *a = NULL, *b = NULL;
  int rc = cn_run_mutation(ctx, "notes:add", args, &a);
  if (!rc)
    rc = cn_run_mutation(ctx, "notes:add", args, &b);
  if (!rc)
    *out = json_pack("[o,o]", a, b);
  else
    json_decref(a), json_decref(b);
  return rc;
}

CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 1000}}},
        {.name = "add_then_fail", .kind = CN_MUTATION, .fn = add_then_fail,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 1000}}},
        {.name = "add_twice", .kind = CN_MUTATION, .fn = add_twice,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 1000}}},
        {.name = "sneaky", .kind = CN_QUERY, .fn = sneaky},
        {.name = "types", .kind = CN_QUERY, .fn = types});
