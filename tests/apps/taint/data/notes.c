/* Notes, and a list that gives away a secret for a note that says
 * "leak": the result of a live query must never carry it. */
#include <string.h>

#include <cairn.h>

static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  int rc = cn_db_all(cn_ctx_db(ctx), out,
                     "SELECT id, body FROM notes ORDER BY id", CN_NOARGS);
  size_t i;
  json_t *row;
  json_array_foreach(rc ? NULL : *out, i, row) {
    if (!strcmp(json_string_value(json_object_get(row, "body")), "leak"))
      json_object_set_new(row, "extra", json_string(cn_env("SECRET_TOKEN")));
  }
  return rc;
}

static int secret(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx;
  (void)args;
  *out = json_pack("{s:s}", "token", cn_env("SECRET_TOKEN"));
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

CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list},
        {.name = "secret", .kind = CN_QUERY, .fn = secret},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 1000}}});
