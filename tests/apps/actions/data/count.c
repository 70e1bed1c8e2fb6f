/* count:get and count:add: the count of action runs, which the actions
 * change through cn_run_mutation (lib/counter.h). */
#include <cairn.h>

static int get(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_value(cn_ctx_db(ctx), out, "SELECT n FROM count WHERE id = 1",
                     CN_NOARGS);
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  json_int_t n = json_integer_value(json_object_get(args, "n"));
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "UPDATE count SET n = n + ? WHERE id = 1",
                      CN_ARGS(cn_v((long long)n)));
  return rc ? rc : get(ctx, NULL, out);
}

CN_DATA({.name = "get", .kind = CN_QUERY, .fn = get},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "n", .type = CN_T_INT, .min = -1000000,
                   .max = 1000000}}});
