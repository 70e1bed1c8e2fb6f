/* The registry of data functions (src/data/fn.c): path syntax, lookups,
 * and every malformed definition refused with the file and function
 * named. */
#include "check.h"
#include "data/data.h"

static int noop(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return 0;
}
static int allow(cn_ctx *ctx, const json_t *args) {
  (void)ctx, (void)args;
  return 0;
}

typedef struct path_case {
  const char *path;
  int ok;
} path_case;

static const path_case paths[] = {
    {"tasks:list", 1},
    {"_:_", 1},
    {"a1:b2", 1},
    {"T:Get_2", 1},
    {"tasks:", 0},
    {":list", 0},
    {":", 0},
    {"", 0},
    {"tasks", 0},
    {"tasks:list:x", 0},
    {"tasks::list", 0},
    {"1tasks:list", 0},
    {"tasks:1list", 0},
    {"tas-ks:list", 0},
    {"tasks:li st", 0},
    {"tasks/x:list", 0},
    {"tasks:list\n", 0},
    {"t\xc3\xa9:list", 0},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:x", 1},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:x", 0},
    {"x:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
};

TEST(path_syntax) {
  for (size_t i = 0; i < CN__ARRAY_LEN(paths); i++) {
    int ok = cn__fn_path_ok(cn__cstr(paths[i].path));
    if (ok != paths[i].ok)
      fprintf(stderr, "path \"%s\": %d\n", paths[i].path, ok);
    CHECK_EQ_INT(ok, paths[i].ok);
  }
  CHECK(!cn__fn_path_ok(CN_STR_NULL));
  /* a NUL inside is not an identifier character */
  CHECK(!cn__fn_path_ok(cn__str("a:b\0c", 5)));
}

static const cn_data_def tasks = {{
    {.name = "list", .kind = CN_QUERY, .fn = noop},
    {.name = "add", .kind = CN_MUTATION, .fn = noop,
     .args = {{.name = "title", .type = CN_T_STRING}}},
    {.name = "send", .kind = CN_ACTION, .fn = noop},
    {.name = "get", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "id", .type = CN_T_INT}},
     .auth = {.kind = CN_AUTH_OWNER, .table = "tasks", .column = "owner",
              .key = "id"}},
}};
static const cn_data_def users = {{
    {.name = "me", .kind = CN_QUERY, .fn = noop, .auth = {.kind = CN_AUTH_USER}},
}};

TEST(lookup) {
  cn_manifest_data mods[] = {{"tasks", "data/tasks.c", &tasks},
                             {"users", "data/users.c", &users}};
  cn__fns r;
  char err[256] = "";
  CHECK_EQ_INT(cn__fns_build(mods, 2, &r, err, sizeof err), 0);
  CHECK_EQ_INT(r.n, 5);
  const char *found[] = {"tasks:list", "tasks:add", "tasks:send",
                         "tasks:get", "users:me"};
  for (size_t i = 0; i < CN__ARRAY_LEN(found); i++) {
    const cn__fn *f = cn__fns_find(&r, cn__cstr(found[i]));
    CHECK(f != NULL);
    if (f)
      CHECK_EQ_STR(f->path, found[i]);
  }
  const cn__fn *f = cn__fns_find(&r, CN_STR("users:me"));
  CHECK(f && f->def == &users.fns[0] && !strcmp(f->source, "data/users.c"));
  const char *missing[] = {"tasks:lis", "tasks:listx", "tasks:List",
                           "users:list", "task:list", "", "tasks",
                           "a:b",       "zzz:zzz"};
  for (size_t i = 0; i < CN__ARRAY_LEN(missing); i++)
    CHECK(cn__fns_find(&r, cn__cstr(missing[i])) == NULL);
  /* a slice, not a C string: what follows it does not count */
  CHECK(cn__fns_find(&r, cn__str("tasks:listing", 10)) != NULL);
  cn__fns_free(&r);
  CHECK(r.v == NULL && r.n == 0);
  CHECK_EQ_INT(cn__fns_build(NULL, 0, &r, err, sizeof err), 0);
  CHECK(cn__fns_find(&r, CN_STR("a:b")) == NULL);
  cn__fns_free(&r);
}

/* Definitions that must be refused, with the words expected in the
 * error. */
static const cn_data_def dup = {{
    {.name = "list", .kind = CN_QUERY, .fn = noop},
    {.name = "list", .kind = CN_MUTATION, .fn = noop},
}};
static const cn_data_def bad_name = {{
    {.name = "li-st", .kind = CN_QUERY, .fn = noop},
}};
static const cn_data_def no_name = {{
    {.kind = CN_QUERY, .fn = noop},
}};
static const cn_data_def bad_kind = {{
    {.name = "list", .kind = 0, .fn = noop},
}};
static const cn_data_def no_fn = {{
    {.name = "list", .kind = CN_QUERY},
}};
static const cn_data_def arg_twice = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "a"}, {.name = "a"}}},
}};
static const cn_data_def arg_gap = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "a"}, {.name = NULL}, {.name = "c"}}},
}};
static const cn_data_def arg_empty = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop, .args = {{.name = ""}}},
}};
static const cn_data_def arg_type = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "a", .type = (cn_type)42}}},
}};
static const cn_data_def arg_range = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "a", .type = CN_T_INT, .min = 5, .max = 1}}},
}};
static const cn_data_def arg_len = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "a", .type = CN_T_STRING, .min = 5, .max = 1}}},
}};
static const cn_data_def owner_no_table = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "id", .type = CN_T_INT}},
     .auth = {.kind = CN_AUTH_OWNER, .column = "owner", .key = "id"}},
}};
static const cn_data_def owner_sql = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "id", .type = CN_T_INT}},
     .auth = {.kind = CN_AUTH_OWNER, .table = "t\" --", .column = "owner",
              .key = "id"}},
}};
static const cn_data_def owner_key = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "id", .type = CN_T_INT, .optional = 1}},
     .auth = {.kind = CN_AUTH_OWNER, .table = "t", .column = "owner", .key = "id"}},
}};
static const cn_data_def owner_key_type = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .args = {{.name = "id", .type = CN_T_OBJECT}},
     .auth = {.kind = CN_AUTH_OWNER, .table = "t", .column = "owner", .key = "id"}},
}};
static const cn_data_def owner_key_missing = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .auth = {.kind = CN_AUTH_OWNER, .table = "t", .column = "owner", .key = "id"}},
}};
static const cn_data_def group_no_claim = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .auth = {.kind = CN_AUTH_GROUP, .group = "admin"}},
}};
static const cn_data_def custom_no_check = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop, .auth = {.kind = CN_AUTH_CUSTOM}},
}};
static const cn_data_def auth_kind = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop, .auth = {.kind = (cn_auth_kind)9}},
}};
static const cn_data_def fine = {{
    {.name = "f", .kind = CN_QUERY, .fn = noop,
     .auth = {.kind = CN_AUTH_CUSTOM, .check = allow}},
    {.name = "g", .kind = CN_ACTION, .fn = noop,
     .auth = {.kind = CN_AUTH_GROUP, .claim = "roles", .group = "admin"}},
}};

typedef struct def_case {
  const char *module;
  const cn_data_def *def;
  const char *error; /* NULL: accepted */
} def_case;

static const def_case defs[] = {
    {"m", &fine, NULL},
    {"m", &dup, "data/m.c: m:list: the name is declared twice"},
    {"m", &bad_name, "data/m.c: m:li-st: a function name must be an "
                     "identifier"},
    {"m", &no_name, "data/m.c: m:?: a function name must be an identifier"},
    {"m", &bad_kind, "data/m.c: m:list: the kind must be CN_QUERY, "
                     "CN_MUTATION or CN_ACTION"},
    {"m", &no_fn, "data/m.c: m:list: the function has no .fn"},
    {"m", &arg_twice, "data/m.c: m:f: the argument \"a\" is declared twice"},
    {"m", &arg_gap, "data/m.c: m:f: the argument \"c\" follows one with no "
                    "name"},
    {"m", &arg_empty, "data/m.c: m:f: an argument has an empty name"},
    {"m", &arg_type, "data/m.c: m:f: the argument \"a\" has an unknown "
                     "type"},
    {"m", &arg_range, "data/m.c: m:f: the argument \"a\" has min > max"},
    {"m", &arg_len, "data/m.c: m:f: the argument \"a\" has min > max"},
    {"m", &owner_no_table, "data/m.c: m:f: an owner rule needs .table"},
    {"m", &owner_sql, "data/m.c: m:f: an owner rule needs .table"},
    {"m", &owner_key, "data/m.c: m:f: the owner rule's key \"id\" must be a "
                      "required string or integer argument"},
    {"m", &owner_key_type, "the owner rule's key \"id\" must be"},
    {"m", &owner_key_missing, "the owner rule's key \"id\" must be"},
    {"m", &group_no_claim, "data/m.c: m:f: a group rule needs .claim and "
                           ".group"},
    {"m", &custom_no_check, "data/m.c: m:f: a custom rule needs .check"},
    {"m", &auth_kind, "data/m.c: m:f: the auth rule's kind is unknown"},
    {"my-mod", &fine, "data/m.c: a data module's name must be an "
                      "identifier"},
    {"", &fine, "a data module's name must be an identifier"},
    {"m", NULL, "data/m.c: the file declares no functions (CN_DATA(...) is "
                "missing)"},
};

/* The moving average that sends short queries to the I/O thread: unknown
 * is never short, one slow run is enough to leave, several short ones are
 * needed to come back, and each function keeps its own. */
TEST(inline_average) {
  cn_manifest_data mods[] = {{"tasks", "data/tasks.c", &tasks}};
  cn__fns r;
  char err[256] = "";
  CHECK_EQ_INT(cn__fns_build(mods, 1, &r, err, sizeof err), 0);
  const cn__fn *a = cn__fns_find(&r, CN_STR("tasks:list"));
  const cn__fn *b = cn__fns_find(&r, CN_STR("tasks:add"));
  CHECK(!cn__fn_inline_ok(&r, a, 60));
  cn__fn_ran(&r, a, 20);
  CHECK(cn__fn_inline_ok(&r, a, 60));
  CHECK(!cn__fn_inline_ok(&r, a, 0)); /* 0: never */
  CHECK(!cn__fn_inline_ok(&r, b, 60));
  cn__fn_ran(&r, a, 5000);            /* one slow run */
  CHECK(!cn__fn_inline_ok(&r, a, 60));
  int runs = 0;
  while (!cn__fn_inline_ok(&r, a, 60) && runs < 100)
    cn__fn_ran(&r, a, 20), runs++;
  CHECK(runs > 3 && runs < 30);
  cn__fn_ran(&r, a, UINT64_MAX);      /* capped, not wrapped */
  CHECK(!cn__fn_inline_ok(&r, a, 60));
  cn__fns_free(&r);
}

TEST(definitions_checked) {
  for (size_t i = 0; i < CN__ARRAY_LEN(defs); i++) {
    cn_manifest_data m = {defs[i].module, "data/m.c", defs[i].def};
    cn__fns r;
    char err[512] = "";
    int rc = cn__fns_build(&m, 1, &r, err, sizeof err);
    if (!defs[i].error) {
      CHECK_EQ_INT(rc, 0);
    } else {
      CHECK_EQ_INT(rc, CN_EINVAL);
      if (!strstr(err, defs[i].error))
        fprintf(stderr, "case %zu: \"%s\"\n", i, err);
      CHECK(strstr(err, defs[i].error) != NULL);
    }
    cn__fns_free(&r);
  }
}

TEST(duplicates_across_a_manifest) {
  /* The same module twice (the build never does this, a hand-written
   * manifest might): the second copy of each function is a duplicate. */
  cn_manifest_data mods[] = {{"tasks", "data/tasks.c", &tasks},
                             {"tasks", "data/tasks2.c", &tasks}};
  cn__fns r;
  char err[256] = "";
  CHECK_EQ_INT(cn__fns_build(mods, 2, &r, err, sizeof err), CN_EINVAL);
  CHECK(strstr(err, "is declared twice") != NULL);
  cn__fns_free(&r);
}

TEST(full_module) {
  /* 64 functions, the most a module holds. */
  static cn_data_def big;
  static char names[64][8];
  for (int i = 0; i < 64; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    big.fns[i] = (cn_fn_def){.name = names[i], .kind = CN_QUERY, .fn = noop};
  }
  cn_manifest_data m = {"big", "data/big.c", &big};
  cn__fns r;
  char err[256];
  CHECK_EQ_INT(cn__fns_build(&m, 1, &r, err, sizeof err), 0);
  CHECK_EQ_INT(r.n, 64);
  for (size_t i = 1; i < r.n; i++)
    CHECK(strcmp(r.v[i - 1].path, r.v[i].path) < 0);
  CHECK(cn__fns_find(&r, CN_STR("big:f63")) != NULL);
  cn__fns_free(&r);
  cn__alloc_fail_after(0);
  CHECK_EQ_INT(cn__fns_build(&m, 1, &r, err, sizeof err), CN_ENOMEM);
  cn__alloc_fail_after(-1);
  cn__fns_free(&r);
}

TEST(kind_names) {
  CHECK_EQ_STR(cn__fn_kind_name(CN_QUERY), "query");
  CHECK_EQ_STR(cn__fn_kind_name(CN_MUTATION), "mutation");
  CHECK_EQ_STR(cn__fn_kind_name(CN_ACTION), "action");
  CHECK_EQ_STR(cn__fn_kind_name((cn_fn_kind)0), "function");
}

int main(void) {
  RUN(path_syntax);
  RUN(lookup);
  RUN(inline_average);
  RUN(definitions_checked);
  RUN(duplicates_across_a_manifest);
  RUN(full_module);
  RUN(kind_names);
  return check_summary();
}
