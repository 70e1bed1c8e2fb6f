/* Identity and the auth rules: each kind of rule on a function that says
 * who called it. */
#include <string.h>

#include <cairn.h>

static int whoami(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)args;
  const char *s = cn_ctx_subject(ctx);
  *out = s ? json_string(s) : json_null();
  return 0;
}

/* Custom rule: the caller's subject must start with "staff-". */
static int staff_only(cn_ctx *ctx, const json_t *args) {
  (void)args;
  const char *s = cn_ctx_subject(ctx);
  if (!s)
    return CN_EUNAUTH;
  return strncmp(s, "staff-", 6) ? cn_ctx_fail(ctx, CN_EFORBIDDEN,
                                               "staff only")
                                 : 0;
}

static int slow_whoami(cn_ctx *ctx, const json_t *args, json_t **out) {
  /* Read something first so that concurrent callers interleave. */
  json_t *n = NULL;
  int rc = cn_db_value(cn_ctx_db(ctx), &n, "SELECT count(*) FROM tasks",
                       CN_NOARGS);
  json_decref(n);
  return rc ? rc : whoami(ctx, args, out);
}

CN_DATA({.name = "public", .kind = CN_QUERY, .fn = whoami},
        {.name = "user", .kind = CN_QUERY, .fn = whoami,
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "admins", .kind = CN_QUERY, .fn = whoami,
         .auth = {.kind = CN_AUTH_GROUP, .claim = "roles", .group = "admin"}},
        {.name = "staff", .kind = CN_QUERY, .fn = whoami,
         .auth = {.kind = CN_AUTH_CUSTOM, .check = staff_only}},
        {.name = "own", .kind = CN_QUERY, .fn = whoami,
         .args = {{.name = "id", .type = CN_T_INT}},
         .auth = {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner",
                  .key = "id"}},
        {.name = "interleave", .kind = CN_QUERY, .fn = slow_whoami},
        {.name = "mutate", .kind = CN_MUTATION, .fn = whoami,
         .auth = {.kind = CN_AUTH_USER}},
        {.name = "act", .kind = CN_ACTION, .fn = whoami,
         .auth = {.kind = CN_AUTH_USER}});
