/* Parents and kids: a cascade the live engine must not miss. */
#include <cairn.h>

static int kids(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out, "SELECT id FROM kids ORDER BY id",
                   CN_NOARGS);
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  json_int_t id = json_integer_value(json_object_get(args, "id"));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO parents VALUES (?)", CN_ARGS(cn_v(id)));
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO kids VALUES (?, ?)",
                    CN_ARGS(cn_v(id * 10), cn_v(id)));
  if (!rc)
    *out = json_integer(id);
  return rc;
}

static int remove_parent(cn_ctx *ctx, const json_t *args, json_t **out) {
  int64_t n = 0;
  int rc = cn_db_exec(cn_ctx_db(ctx), &n, "DELETE FROM parents WHERE id = ?",
                      CN_ARGS(cn_v_json(json_object_get(args, "id"))));
  if (!rc)
    *out = json_integer(n);
  return rc;
}

CN_DATA({.name = "kids", .kind = CN_QUERY, .fn = kids},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "id", .type = CN_T_INT, .min = 1, .max = 100000}}},
        {.name = "remove", .kind = CN_MUTATION, .fn = remove_parent,
         .args = {{.name = "id", .type = CN_T_INT, .min = 1, .max = 100000}}});
