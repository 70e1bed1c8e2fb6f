/* Hostile values through every argument type: stored and read back with
 * bound parameters only. */
#include <stdio.h>

#include <cairn.h>

static int put(cn_ctx *ctx, const json_t *args, json_t **out) {
  const char *k[] = {"s", "i", "n", "b", "a", "o", "x"};
  cn_val v[7];
  for (int i = 0; i < 7; i++)
    v[i] = cn_v_json(json_object_get(args, k[i]));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO items (s, i, n, b, a, o, x) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      7, v);
  if (!rc)
    *out = json_pack("{s:I}", "id", (json_int_t)cn_db_last_id(cn_ctx_db(ctx)));
  return rc;
}

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  return cn_db_one(cn_ctx_db(ctx), out,
                   "SELECT s, i, n, b, a, o, x FROM items WHERE id = ?",
                   CN_ARGS(cn_v_json(json_object_get(args, "id"))));
}

/* Look up by each column: a hostile string finds only itself. */
static int find(cn_ctx *ctx, const json_t *args, json_t **out) {
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id FROM items WHERE s = ? OR x = ? ORDER BY id",
                   CN_ARGS(cn_v_json(json_object_get(args, "s")),
                           cn_v_json(json_object_get(args, "s"))));
}

/* What the database holds: every table and its row count. */
static int census(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *tables = NULL;
  int rc = cn_db_all(cn_ctx_db(ctx), &tables,
                     "SELECT name FROM cairn_tables ORDER BY name", CN_NOARGS);
  json_t *o = json_object();
  size_t i;
  json_t *t;
  json_array_foreach(tables, i, t) {
    const char *name = json_string_value(json_object_get(t, "name"));
    json_t *n = NULL;
    /* Names come from the schema, not from a caller. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
    if (!rc)
      rc = cn_db_value(cn_ctx_db(ctx), &n, sql, CN_NOARGS);
    if (!rc)
      json_object_set_new(o, name, n);
  }
  json_decref(tables);
  if (rc)
    json_decref(o);
  else
    *out = o;
  return rc;
}

CN_DATA({.name = "put", .kind = CN_MUTATION, .fn = put,
         .args = {{.name = "s", .type = CN_T_STRING},
                  {.name = "i", .type = CN_T_INT},
                  {.name = "n", .type = CN_T_NUMBER},
                  {.name = "b", .type = CN_T_BOOL},
                  {.name = "a", .type = CN_T_ARRAY},
                  {.name = "o", .type = CN_T_OBJECT},
                  {.name = "x", .type = CN_T_ANY}}},
        {.name = "get", .kind = CN_QUERY, .fn = get,
         .args = {{.name = "id", .type = CN_T_INT}}},
        {.name = "find", .kind = CN_QUERY, .fn = find,
         .args = {{.name = "s", .type = CN_T_STRING}}},
        {.name = "census", .kind = CN_QUERY, .fn = census});
