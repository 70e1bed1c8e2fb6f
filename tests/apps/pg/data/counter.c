/* A counter: many clients incrementing it at once on many connections,
 * serializable transactions retried when PostgreSQL says so. */
#include <stdatomic.h>

#include <cairn.h>

static atomic_long get_runs; /* how often get ran in this instance */

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  atomic_fetch_add(&get_runs, 1);
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT n FROM counter WHERE id = 1",
                     CN_NOARGS);
}

static int inc(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  json_t *n = NULL;
  int rc = cn_db_value(cn_ctx_db(ctx), &n,
                       "SELECT n FROM counter WHERE id = 1", CN_NOARGS);
  /* read, then write what was read plus one: lost updates unless the
   * transactions are serializable */
  if (!rc)
    rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                    "UPDATE counter SET n = ? WHERE id = 1",
                    CN_ARGS(cn_v((long long)json_integer_value(n) + 1)));
  json_decref(n);
  return rc ? rc : get(ctx, NULL, out);
}

static int seeds(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT count(*) FROM seeds",
                     CN_NOARGS);
}

static int runs(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx;
  (void)args;
  *out = json_integer(atomic_load(&get_runs));
  return *out ? 0 : CN_ENOMEM;
}

CN_DATA({.name = "get", .kind = CN_QUERY, .fn = get},
        {.name = "runs", .kind = CN_QUERY, .fn = runs},
        {.name = "inc", .kind = CN_MUTATION, .fn = inc},
        {.name = "seeds", .kind = CN_QUERY, .fn = seeds});
