/* /tasks: the signed-in user's tasks, from the data layer (data/tasks.c),
 * in a live region: the first paint has them, and a change made anywhere
 * (another tab, another device, a script with a token) shows here
 * without a reload. Adding works without JavaScript (a server action);
 * ticking and removing call the mutations over the live connection.
 * Two islands: a character count on the title field (components/), and
 * under the list, in the live region so that it follows every change, a
 * chart of done and open tasks (chart.client.js) whose props come with the
 * query's result and whose module loads only once it is scrolled to. */
#include <stdio.h>

#include "../../lib/session.h"

static int load(cn_req *req, json_t **props) {
  const cn_identity *who = NULL;
  cn_req_identity(req, &who); /* a bad cookie is a visitor like any other */
  *props = json_pack("{s:s?}", "user", who ? who->subject : NULL);
  return *props ? 0 : CN_ENOMEM;
}

static int add(cn_req *req, const json_t *bound, json_t **state) {
  cn_ctx *ctx = cn_req_ctx(req);
  cn_str t = cn_req_form(req, "title");
  json_t *args = json_pack("{s:s%}", "title", t.ptr ? t.ptr : "", t.len);
  json_t *id = NULL;
  (void)bound;
  int rc = args ? cn_run_mutation(ctx, "tasks:add", args, &id) : CN_ENOMEM;
  json_decref(args);
  json_decref(id);
  if (rc == CN_EINVAL || rc == CN_EUNAUTH) {
    *state = json_pack("{s:s}", "error", rc == CN_EUNAUTH
                                             ? "Sign in again to add tasks."
                                             : "A task is 1 to 200 "
                                               "characters.");
    return *state ? 0 : CN_ENOMEM;
  }
  return rc ? rc : cn_redirect(req, 0, "/tasks");
}

static int signout(cn_req *req, const json_t *bound, json_t **state) {
  (void)bound, (void)state;
  int rc = session_end(req);
  return rc ? rc : cn_redirect(req, 0, "/signin");
}

CN_PAGE(.loader = load, .metadata = {.title = "Tasks"},
        .actions = {{"add", add}, {"signout", signout}},
        .live = {{"tasks", "tasks:list", NULL}});
