/* Identity in live queries: each user's own notes (signed-in only), and
 * who the session is. */
#include <cairn.h>

static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT id, body FROM mine WHERE owner = ? ORDER BY id",
                   CN_ARGS(cn_v(cn_ctx_subject(ctx))));
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO mine (owner, body) VALUES (?, ?)",
                      CN_ARGS(cn_v(cn_ctx_subject(ctx)),
                              cn_v_json(json_object_get(args, "body"))));
  if (!rc)
    *out = json_integer(cn_db_last_id(cn_ctx_db(ctx)));
  return rc;
}

static int whoami(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  const char *s = cn_ctx_subject(ctx);
  *out = s ? json_string(s) : json_null();
  return 0;
}

CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list,
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "body", .type = CN_T_STRING, .max = 1000}},
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "whoami", .kind = CN_QUERY, .fn = whoami});
