/*
 * fuzz_data_args: arbitrary bytes parsed as JSON (any value at the top),
 * then validated as a data function's arguments against a fixed schema of
 * every type (src/data/args.c), and checked against an oracle written here
 * from the contract in data.h: refused as a whole (not an object, too
 * large: an empty error object and a reason) or else exactly these fields
 * in the error object: the required ones absent, the schema's ones of the
 * wrong type, out of bounds or nested too deep, and every field the schema
 * does not name. 0 exactly when that set is empty.
 * Seeds: fuzz/corpus/data_args/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"

static int noop(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args, (void)out;
  return 0;
}

static const cn_fn_def schema = {
    .name = "f",
    .kind = CN_QUERY,
    .fn = noop,
    .args = {
        {.name = "s", .type = CN_T_STRING, .min = 1, .max = 8},
        {.name = "i", .type = CN_T_INT, .min = -3, .max = 1000},
        {.name = "x", .type = CN_T_NUMBER, .optional = 1, .min = -1.5,
         .max = 2.5},
        {.name = "b", .type = CN_T_BOOL, .optional = 1},
        {.name = "a", .type = CN_T_ARRAY, .optional = 1, .min = 1, .max = 4},
        {.name = "o", .type = CN_T_OBJECT, .optional = 1},
        {.name = "v", .type = CN_T_ANY, .optional = 1},
        {.name = "u", .type = CN_T_STRING, .optional = 1},
    }};

/* Containers nested in v (a scalar is 0), computed to at most cap + 1. */
static int depth(const json_t *v, int cap) {
  int d = 0;
  const char *k;
  json_t *x;
  size_t i;
  if (cap < 0)
    return 0;
  if (json_is_object(v)) {
    json_object_foreach((json_t *)v, k, x) {
      int c = depth(x, cap - 1);
      d = c > d ? c : d;
    }
    return d + 1;
  }
  json_array_foreach(v, i, x) {
    int c = depth(x, cap - 1);
    d = c > d ? c : d;
  }
  return json_is_array(v) ? d + 1 : 0;
}

static size_t utf8_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ((unsigned char)s[i] >> 6) != 2;
  return c;
}

/* Whether v fits a (type and bounds), written apart from args.c. */
static int fits(const cn_fn_arg *a, const json_t *v) {
  double d;
  switch (a->type) {
  case CN_T_STRING: {
    if (!json_is_string(v))
      return 0;
    size_t n = utf8_chars(json_string_value(v), json_string_length(v));
    return a->max <= 0 || (n >= a->min && n <= a->max);
  }
  case CN_T_INT:
    if (json_is_integer(v)) {
      d = (double)json_integer_value(v);
    } else if (json_is_real(v)) {
      d = json_real_value(v);
      if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) ||
          d != (double)(int64_t)d)
        return 0;
    } else {
      return 0;
    }
    return d >= a->min && d <= a->max;
  case CN_T_NUMBER:
    if (!json_is_number(v))
      return 0;
    d = json_number_value(v);
    return d >= a->min && d <= a->max;
  case CN_T_BOOL:
    return json_is_boolean(v);
  case CN_T_ARRAY:
    return json_is_array(v) && json_array_size(v) >= a->min &&
           json_array_size(v) <= a->max;
  case CN_T_OBJECT:
    return json_is_object(v);
  default:
    return 1;
  }
}

static const cn_fn_arg *arg_named(const char *k) {
  for (size_t i = 0; i < CN__ARRAY_LEN(schema.args) && schema.args[i].name;
       i++)
    if (!strcmp(schema.args[i].name, k))
      return &schema.args[i];
  return NULL;
}

static void oracle(const json_t *args, int rc, const json_t *errors,
                   const char *why) {
  if ((rc == 0) != (errors == NULL) || (rc && rc != CN_EINVAL))
    abort();
  if (!json_is_object(args)) {
    if (rc != CN_EINVAL || json_object_size(errors) || !why)
      abort();
    return;
  }
  if (why) { /* only size refuses a whole object */
    if (strcmp(why, "the arguments are larger than 1 MiB") ||
        json_object_size(errors))
      abort();
    char *text = json_dumps(args, JSON_COMPACT);
    /* Counted without escapes and with 20 bytes per integer: a refused
     * call is at least a few hundred kilobytes of text. */
    if (text && strlen(text) < 100000)
      abort();
    free(text);
    return;
  }
  size_t expected = 0;
  for (size_t i = 0; i < CN__ARRAY_LEN(schema.args) && schema.args[i].name;
       i++) {
    const cn_fn_arg *a = &schema.args[i];
    const json_t *v = json_object_get(args, a->name);
    const json_t *e = json_object_get(errors, a->name);
    int bad = v ? depth(v, CN__ARGS_MAX_DEPTH) > CN__ARGS_MAX_DEPTH - 1 ||
                      !fits(a, v)
                : !a->optional;
    if (bad != (e != NULL) || (e && !json_is_string(e)))
      abort();
    expected += bad;
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)args, k, v) {
    if (arg_named(k))
      continue;
    const char *m = json_string_value(json_object_get(errors, k));
    if (!m || strcmp(m, "is not an argument of this function"))
      abort();
    expected++;
  }
  if (json_object_size(errors) != expected)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t e;
  json_t *args = json_loadb((const char *)data, size,
                            JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
  if (!args)
    return 0;
  json_t *errors = NULL;
  const char *why = NULL;
  int rc = cn__args_check(&schema, args, &errors, &why);
  oracle(args, rc, errors, why);
  json_decref(errors);
  json_decref(args);
  return 0;
}
