/* The tasks of the /tasks page: each user sees and changes only their
 * own. list and add need a signed-in caller; toggle and remove are
 * guarded by an owner rule, checked before they run (someone else's task
 * is a 403, and nothing is read or written). */
#include <cairn.h>

/* {"items": [the tasks], "chart": {"done", "open", "total"}}: the chart
 * under the list is counted from the very rows the list shows, so the two
 * never disagree, and a live region holding both updates them together.
 * No tasks, no chart. */
static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
  json_t *rows = NULL, *row;
  size_t i, done = 0;
  (void)args;
  int rc = cn_db_all(cn_ctx_db(ctx), &rows,
                     "SELECT id, title, done FROM tasks WHERE owner = ? "
                     "ORDER BY done, id",
                     CN_ARGS(cn_v(cn_ctx_subject(ctx))));
  if (rc)
    return rc;
  json_array_foreach(rows, i, row) {
    done += json_integer_value(json_object_get(row, "done")) != 0;
  }
  json_int_t total = (json_int_t)json_array_size(rows);
  *out = total ? json_pack("{s:o,s:{s:I,s:I,s:I}}", "items", rows, "chart",
                           "done", (json_int_t)done, "open",
                           total - (json_int_t)done, "total", total)
               : json_pack("{s:o}", "items", rows);
  return *out ? 0 : CN_ENOMEM;
}

static int add(cn_ctx *ctx, const json_t *args, json_t **out) {
  int rc = cn_db_exec(cn_ctx_db(ctx), NULL,
                      "INSERT INTO tasks (owner, title) VALUES (?, ?)",
                      CN_ARGS(cn_v(cn_ctx_subject(ctx)),
                              cn_v_json(json_object_get(args, "title"))));
  if (!rc)
    *out = json_integer(cn_db_last_id(cn_ctx_db(ctx)));
  return rc;
}

static int toggle(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL,
                    "UPDATE tasks SET done = 1 - done WHERE id = ?",
                    CN_ARGS(cn_v_json(json_object_get(args, "id"))));
}

static int remove_task(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)out;
  return cn_db_exec(cn_ctx_db(ctx), NULL, "DELETE FROM tasks WHERE id = ?",
                    CN_ARGS(cn_v_json(json_object_get(args, "id"))));
}

#define OWNER                                                                  \
  {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner", .key = "id"}
#define ID {.name = "id", .type = CN_T_INT, .min = 1, .max = 1e15}

CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list,
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "add", .kind = CN_MUTATION, .fn = add,
         .args = {{.name = "title", .type = CN_T_STRING, .min = 1,
                   .max = 200}},
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "toggle", .kind = CN_MUTATION, .fn = toggle, .args = {ID},
         .auth = OWNER},
        {.name = "remove", .kind = CN_MUTATION, .fn = remove_task,
         .args = {ID}, .auth = OWNER});
