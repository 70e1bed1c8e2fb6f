/* A counter: the concurrency and in-process tests. */
#include <cairn.h>

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT n FROM counter WHERE id = 1",
                     CN_NOARGS);
}

static int inc(cn_ctx *ctx, const json_t *args, json_t **out) {
  json_int_t by = json_integer_value(json_object_get(args, "by"));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "UPDATE counter SET n = n + ? WHERE id = 1",
                      CN_ARGS(cn_v((long long)(by ? by : 1))));
  return rc ? rc : get(ctx, NULL, out);
}

/* An action: calls the mutation and the query, each its own transaction. */
static int bump_twice(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *a = NULL, *b = NULL;
  if (cn_ctx_db(ctx))
    return cn_ctx_fail(ctx, CN_EINVAL, "an action has no database");
  int rc = cn_run_mutation(ctx, "counter:inc", NULL, &a);
  json_decref(a);
  if (!rc)
    rc = cn_run_mutation(ctx, "counter:inc", NULL, &a);
  if (!rc)
    rc = cn_run_query(ctx, "counter:get", NULL, &b);
  if (!rc)
    *out = json_pack("{s:o,s:o}", "after_inc", a, "now", b);
  else
    json_decref(a), json_decref(b);
  return rc;
}

CN_DATA({.name = "get", .kind = CN_QUERY, .fn = get},
        {.name = "inc", .kind = CN_MUTATION, .fn = inc,
         .args = {{.name = "by", .type = CN_T_INT, .optional = 1, .min = 1,
                   .max = 1000}}},
        {.name = "bump_twice", .kind = CN_ACTION, .fn = bump_twice});
