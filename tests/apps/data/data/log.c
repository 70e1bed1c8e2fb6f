/* The durability test: clients append (client, seq); after a kill -9 and
 * a restart every acknowledged pair must be there. */
#include <cairn.h>

static int append(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "INSERT INTO log VALUES (?, ?)",
                    CN_ARGS(cn_v_json(json_object_get(args, "client")),
                            cn_v_json(json_object_get(args, "seq"))));
}

static int all(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  return cn_db_all(cn_ctx_db(ctx), out,
                   "SELECT client, seq FROM log ORDER BY client, seq",
                   CN_NOARGS);
}

CN_DATA({.name = "append", .kind = CN_MUTATION, .fn = append,
         .args = {{.name = "client", .type = CN_T_STRING},
                  {.name = "seq", .type = CN_T_INT}}},
        {.name = "all", .kind = CN_QUERY, .fn = all});
