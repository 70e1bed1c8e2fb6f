/* Argument validation of data functions (src/data/args.c): a fixed schema
 * of every type against tables of hostile arguments; each case names the
 * exact error object it must produce. */
#include <stdlib.h>

#include "check.h"
#include "data/data.h"

static int noop(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return 0;
}

static const cn_fn_def schema = {
    .name = "add",
    .kind = CN_MUTATION,
    .fn = noop,
    .args = {
        {.name = "title", .type = CN_T_STRING, .min = 1, .max = 10},
        {.name = "n", .type = CN_T_INT, .min = -5, .max = 5},
        {.name = "price", .type = CN_T_NUMBER, .optional = 1, .min = 0.5,
         .max = 99.5},
        {.name = "done", .type = CN_T_BOOL, .optional = 1},
        {.name = "tags", .type = CN_T_ARRAY, .optional = 1, .max = 3},
        {.name = "meta", .type = CN_T_OBJECT, .optional = 1},
        {.name = "any", .type = CN_T_ANY, .optional = 1},
        {.name = "big", .type = CN_T_INT, .optional = 1},
        {.name = "note", .type = CN_T_STRING, .optional = 1},
        {.name = "least", .type = CN_T_STRING, .optional = 1, .min = 2,
         .max = 100},
    }};

typedef struct arg_case {
  const char *args;   /* JSON; NULL: no args at all */
  int rc;             /* 0 or CN_EINVAL */
  const char *errors; /* the exact error object, NULL when none */
} arg_case;

static const arg_case cases[] = {
    /* fits */
    {"{\"title\":\"a\",\"n\":0}", 0, NULL},
    {"{\"title\":\"0123456789\",\"n\":5,\"price\":99.5,\"done\":false,"
     "\"tags\":[1,2,3],\"meta\":{},\"any\":null,\"big\":9223372036854775807,"
     "\"note\":\"\",\"least\":\"ab\"}",
     0, NULL},
    {"{\"title\":\"a\",\"n\":-5,\"price\":0.5,\"tags\":[]}", 0, NULL},
    /* integral numbers written as reals are integers */
    {"{\"title\":\"a\",\"n\":2.0}", 0, NULL},
    {"{\"title\":\"a\",\"n\":-0.0}", 0, NULL},
    {"{\"title\":\"a\",\"n\":1e0}", 0, NULL},
    /* an integer passes as a number */
    {"{\"title\":\"a\",\"n\":1,\"price\":3}", 0, NULL},
    /* characters, not bytes: ten two-byte and ten four-byte characters */
    {"{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\",\"n\":1}",
     0, NULL},
    {"{\"title\":\"\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
     "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
     "\\ud83d\\ude00\",\"n\":1}",
     0, NULL},
    /* SQL and markup are just strings */
    {"{\"title\":\"'--\",\"n\":1,\"note\":\"'; DROP TABLE t;--<script>\"}",
     0, NULL},
    /* nothing given */
    {NULL, CN_EINVAL, "{\"title\":\"is required\",\"n\":\"is required\"}"},
    {"{}", CN_EINVAL, "{\"title\":\"is required\",\"n\":\"is required\"}"},
    /* every type wrong at once: every field named */
    {"{\"title\":1,\"n\":\"1\",\"price\":\"1\",\"done\":1,\"tags\":{},"
     "\"meta\":[],\"big\":true,\"note\":null,\"least\":[\"ab\"]}",
     CN_EINVAL,
     "{\"title\":\"must be a string\",\"n\":\"must be an integer\","
     "\"price\":\"must be a number\",\"done\":\"must be a boolean\","
     "\"tags\":\"must be an array\",\"meta\":\"must be an object\","
     "\"big\":\"must be an integer\",\"note\":\"must be a string\","
     "\"least\":\"must be a string\"}"},
    /* null is a value, not an absent optional field */
    {"{\"title\":\"a\",\"n\":1,\"done\":null}", CN_EINVAL,
     "{\"done\":\"must be a boolean\"}"},
    {"{\"title\":null,\"n\":null}", CN_EINVAL,
     "{\"title\":\"must be a string\",\"n\":\"must be an integer\"}"},
    /* bounds */
    {"{\"title\":\"\",\"n\":6}", CN_EINVAL,
     "{\"title\":\"must be at least 1 characters long\","
     "\"n\":\"must be at most 5\"}"},
    {"{\"title\":\"01234567890\",\"n\":-6}", CN_EINVAL,
     "{\"title\":\"must be at most 10 characters long\","
     "\"n\":\"must be at least -5\"}"},
    {"{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"n\":1}",
     CN_EINVAL, "{\"title\":\"must be at most 10 characters long\"}"},
    {"{\"title\":\"a\",\"n\":1,\"price\":0.49}", CN_EINVAL,
     "{\"price\":\"must be at least 0.5\"}"},
    {"{\"title\":\"a\",\"n\":1,\"price\":99.51}", CN_EINVAL,
     "{\"price\":\"must be at most 99.5\"}"},
    {"{\"title\":\"a\",\"n\":1,\"price\":1e308}", CN_EINVAL,
     "{\"price\":\"must be at most 99.5\"}"},
    {"{\"title\":\"a\",\"n\":1,\"tags\":[1,2,3,4]}", CN_EINVAL,
     "{\"tags\":\"must be at most 3 items\"}"},
    {"{\"title\":\"a\",\"n\":1,\"least\":\"a\"}", CN_EINVAL,
     "{\"least\":\"must be at least 2 characters long\"}"},
    /* not integers */
    {"{\"title\":\"a\",\"n\":2.5}", CN_EINVAL,
     "{\"n\":\"must be an integer\"}"},
    {"{\"title\":\"a\",\"n\":1e300}", CN_EINVAL,
     "{\"n\":\"must be an integer\"}"},
    {"{\"title\":\"a\",\"n\":9007199254740993.0}", CN_EINVAL,
     "{\"n\":\"must be an integer\"}"},
    {"{\"title\":\"a\",\"n\":1,\"big\":1.5}", CN_EINVAL,
     "{\"big\":\"must be an integer\"}"},
    /* fields the schema does not name, whatever they are called */
    {"{\"title\":\"a\",\"n\":1,\"x\":1,\"__proto__\":{},\"\":0,"
     "\"Title\":\"a\"}",
     CN_EINVAL,
     "{\"x\":\"is not an argument of this function\","
     "\"__proto__\":\"is not an argument of this function\","
     "\"\":\"is not an argument of this function\","
     "\"Title\":\"is not an argument of this function\"}"},
    /* wrong, missing and unknown together */
    {"{\"n\":\"x\",\"zz\":1}", CN_EINVAL,
     "{\"title\":\"is required\",\"n\":\"must be an integer\","
     "\"zz\":\"is not an argument of this function\"}"},
    /* not an object */
    {"[1]", CN_EINVAL, "{}"},
    {"\"title\"", CN_EINVAL, "{}"},
    {"3", CN_EINVAL, "{}"},
};

static json_t *parse(const char *s) {
  json_error_t e;
  json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
  if (!j)
    fprintf(stderr, "bad test JSON %s: %s\n", s, e.text);
  return j;
}

TEST(table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    const arg_case *c = &cases[i];
    json_t *args = c->args ? parse(c->args) : NULL, *errors = NULL;
    const char *why = NULL;
    CHECK(!c->args || args);
    int rc = cn__args_check(&schema, args, &errors, &why);
    if (rc != c->rc)
      fprintf(stderr, "case %zu (%s): rc %d\n", i, c->args, rc);
    CHECK_EQ_INT(rc, c->rc);
    json_t *want = c->errors ? parse(c->errors) : NULL;
    if (!json_equal(errors, want) && (errors || want)) {
      char *got = errors ? json_dumps(errors, JSON_SORT_KEYS) : NULL;
      fprintf(stderr, "case %zu (%s): errors %s\n", i, c->args,
              got ? got : "(none)");
      free(got);
      CHECK(!"the errors object differs");
    }
    /* A refusal of the whole says why; a field refusal does not. */
    CHECK((why != NULL) == (c->errors && !strcmp(c->errors, "{}")));
    json_decref(want);
    json_decref(errors);
    json_decref(args);
  }
}

/* Nested containers of depth levels: [[[...]]] or {"a":{"a":...}}. */
static json_t *nest(int depth, int objects) {
  json_t *v = json_integer(1);
  for (int i = 0; i < depth; i++) {
    json_t *c = objects ? json_object() : json_array();
    if (objects)
      json_object_set_new(c, "a", v);
    else
      json_array_append_new(c, v);
    v = c;
  }
  return v;
}

TEST(depth_per_field) {
  /* The args object is level 1: a field's value may hold 15 more. */
  for (int objects = 0; objects < 2; objects++) {
    json_t *args = json_pack("{s:s,s:i}", "title", "a", "n", 1), *errors;
    json_object_set_new(args, "any", nest(15, objects));
    CHECK_EQ_INT(cn__args_check(&schema, args, &errors, NULL), 0);
    CHECK(errors == NULL);
    json_object_set_new(args, "any", nest(16, objects));
    json_object_set_new(args, "meta", nest(400, 1));
    CHECK_EQ_INT(cn__args_check(&schema, args, &errors, NULL), CN_EINVAL);
    json_t *want = json_pack("{s:s,s:s}", "any", "is nested deeper than 16 "
                             "levels", "meta", "is nested deeper than 16 "
                             "levels");
    CHECK(json_equal(errors, want));
    json_decref(want);
    json_decref(errors);
    /* An unknown field is unknown, however deep. */
    json_object_del(args, "any");
    json_object_del(args, "meta");
    json_object_set_new(args, "deep", nest(100, objects));
    CHECK_EQ_INT(cn__args_check(&schema, args, &errors, NULL), CN_EINVAL);
    CHECK_EQ_STR(json_string_value(json_object_get(errors, "deep")),
                 "is not an argument of this function");
    CHECK_EQ_INT(json_object_size(errors), 1);
    json_decref(errors);
    json_decref(args);
  }
}

TEST(cycles_end_at_the_depth_cap) {
  json_t *a = json_array(), *b = json_array();
  json_array_append(a, b);
  json_array_append(b, a);
  json_t *args = json_pack("{s:s,s:i,s:O}", "title", "a", "n", 1, "any", a);
  json_t *errors;
  CHECK_EQ_INT(cn__args_check(&schema, args, &errors, NULL), CN_EINVAL);
  CHECK_EQ_STR(json_string_value(json_object_get(errors, "any")),
               "is nested deeper than 16 levels");
  json_decref(errors);
  size_t budget = 1000;
  CHECK_EQ_INT(cn__args_bounds(a, 100000, &budget), CN_ETOOBIG);
  json_array_clear(b); /* break the cycle so both can be freed */
  json_decref(args);
  json_decref(a);
  json_decref(b);
}

TEST(size_cap) {
  /* note is unbounded by its schema; the call is not. */
  size_t big = CN__ARGS_MAX_BYTES;
  char *s = malloc(big + 1);
  memset(s, 'x', big);
  s[big] = '\0';
  json_t *args = json_pack("{s:s,s:i,s:s}", "title", "a", "n", 1, "note", s),
         *errors;
  const char *why = NULL;
  CHECK_EQ_INT(cn__args_check(&schema, args, &errors, &why), CN_EINVAL);
  CHECK_EQ_STR(why, "the arguments are larger than 1 MiB");
  CHECK(errors && json_object_size(errors) == 0);
  json_decref(errors);
  /* The same with room for everything else fits: the cap is 1 MiB of
   * compact JSON, keys, quotes and punctuation included (each member is
   * counted with a comma, an integer as 20 bytes). */
  size_t overhead = strlen("{\"title\":\"a\",\"n\":1,\"note\":\"\"}") + 1 + 19;
  s[big - overhead] = '\0';
  json_object_set_new(args, "note", json_string(s));
  CHECK_EQ_INT(cn__args_check(&schema, args, &errors, &why), 0);
  CHECK(!errors && !why);
  json_decref(errors);
  s[big - overhead] = 'x';
  s[big - overhead + 1] = '\0';
  json_object_set_new(args, "note", json_string(s));
  CHECK_EQ_INT(cn__args_check(&schema, args, &errors, &why), CN_EINVAL);
  json_decref(errors);
  /* Many small unknown fields count too. */
  json_t *many = json_object();
  char key[32];
  for (int i = 0; i < 120000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    json_object_set_new(many, key, json_integer(i));
  }
  CHECK_EQ_INT(cn__args_check(&schema, many, &errors, &why), CN_EINVAL);
  CHECK_EQ_STR(why, "the arguments are larger than 1 MiB");
  json_decref(errors);
  json_decref(many);
  json_decref(args);
  free(s);
}

typedef struct bounds_case {
  const char *json;
  int depth;
  size_t budget;
  int rc;
  size_t left;
} bounds_case;

static const bounds_case bcases[] = {
    {"1", 0, 20, 0, 0},
    {"1", 0, 19, CN_ETOOBIG, 19},
    {"1.5", 0, 24, 0, 0},
    {"\"abc\"", 0, 5, 0, 0},
    {"\"abc\"", 0, 4, CN_ETOOBIG, 4},
    {"true", 0, 5, 0, 0},
    {"null", 0, 6, 0, 1},
    {"[]", 1, 2, 0, 0},
    {"[]", 0, 100, CN_EINVAL, 100},
    {"{}", 0, 100, CN_EINVAL, 100},
    {"[[1]]", 2, 100, 0, 100 - 2 - 1 - 2 - 1 - 20},
    {"[[1]]", 1, 100, CN_EINVAL, 100 - 2 - 1},
    {"{\"ab\":null}", 1, 13, 0, 0},
    {"{\"ab\":null}", 1, 12, CN_ETOOBIG, 4},
};

TEST(bounds_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(bcases); i++) {
    json_t *v = parse(bcases[i].json);
    size_t budget = bcases[i].budget;
    int rc = cn__args_bounds(v, bcases[i].depth, &budget);
    if (rc != bcases[i].rc || budget != bcases[i].left)
      fprintf(stderr, "bounds case %zu: rc %d left %zu\n", i, rc, budget);
    CHECK_EQ_INT(rc, bcases[i].rc);
    CHECK_EQ_INT(budget, bcases[i].left);
    json_decref(v);
  }
}

TEST(unbounded_and_empty_schemas) {
  static const cn_fn_def none = {.name = "x", .kind = CN_QUERY, .fn = noop};
  json_t *e = NULL;
  CHECK_EQ_INT(cn__args_check(&none, NULL, &e, NULL), 0);
  json_t *empty = json_object(), *one = json_pack("{s:i}", "a", 1);
  CHECK_EQ_INT(cn__args_check(&none, empty, &e, NULL), 0);
  CHECK_EQ_INT(cn__args_check(&none, one, &e, NULL), CN_EINVAL);
  CHECK_EQ_STR(json_string_value(json_object_get(e, "a")),
               "is not an argument of this function");
  json_decref(e);
  /* min alone does not bound a number (both 0 is unbounded, and so is
   * max 0 for a string's length) */
  static const cn_fn_def loose = {
      .name = "x", .kind = CN_QUERY, .fn = noop,
      .args = {{.name = "s", .type = CN_T_STRING, .min = 5},
               {.name = "i", .type = CN_T_INT}}};
  json_t *a = json_pack("{s:s,s:I}", "s", "", "i", -((json_int_t)1 << 62));
  CHECK_EQ_INT(cn__args_check(&loose, a, &e, NULL), 0);
  json_decref(a);
  json_decref(empty);
  json_decref(one);
}

TEST(out_of_memory_is_reported) {
  json_t *args = parse("{\"title\":1,\"n\":\"x\",\"q\":1}");
  int saw_ok = 0;
  for (long n = 0; n < 200 && !saw_ok; n++) {
    json_t *errors = NULL;
    cn__alloc_fail_after(n);
    json_set_alloc_funcs(cn__malloc, cn__free);
    int rc = cn__args_check(&schema, args, &errors, NULL);
    json_set_alloc_funcs(malloc, free);
    cn__alloc_fail_after(-1);
    CHECK(rc == CN_ENOMEM || rc == CN_EINVAL);
    CHECK((rc == CN_ENOMEM) == (errors == NULL));
    if (rc == CN_EINVAL) {
      saw_ok = json_object_size(errors) == 3;
      CHECK(saw_ok);
    }
    json_decref(errors);
  }
  CHECK(saw_ok);
  json_decref(args);
}

int main(void) {
  RUN(table);
  RUN(depth_per_field);
  RUN(cycles_end_at_the_depth_cap);
  RUN(size_cap);
  RUN(bounds_table);
  RUN(unbounded_and_empty_schemas);
  RUN(out_of_memory_is_reported);
  return check_summary();
}
