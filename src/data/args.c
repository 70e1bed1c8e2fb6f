/*
 * Argument validation: a call's JSON args against its function's schema
 * (cn_fn_def.args), every failing field named with a sentence, so a form
 * can show them all at once. Nothing here touches the database: a call
 * whose arguments do not fit never reaches a transaction.
 *
 * The caps (CN__ARGS_MAX_DEPTH, CN__ARGS_MAX_BYTES) hold for arguments
 * from any source: over HTTP the body is already bounded, but in-process
 * callers can hand over anything jansson can build, cycles included (the
 * depth cap ends those too).
 */
#include <math.h>
#include <stdio.h>

#include "data/data.h"

/* ------------------------------------------------------------- bounds */

static int spend(size_t *budget, size_t n) {
  if (n > *budget)
    return CN_ETOOBIG;
  *budget -= n;
  return 0;
}

int cn__args_bounds(const json_t *v, int max_depth, size_t *budget) {
  int rc = 0;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *x;
    if (max_depth <= 0)
      return CN_EINVAL;
    if ((rc = spend(budget, 2)))
      return rc;
    /* A member costs its key, quotes, a colon and a comma at least. */
    json_object_foreach((json_t *)v, k, x) {
      if ((rc = spend(budget, strlen(k) + 4)) ||
          (rc = cn__args_bounds(x, max_depth - 1, budget)))
        return rc;
    }
    return 0;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *x;
    if (max_depth <= 0)
      return CN_EINVAL;
    if ((rc = spend(budget, 2)))
      return rc;
    json_array_foreach(v, i, x) {
      if ((rc = spend(budget, 1)) ||
          (rc = cn__args_bounds(x, max_depth - 1, budget)))
        return rc;
    }
    return 0;
  }
  case JSON_STRING:
    return spend(budget, json_string_length(v) + 2);
  case JSON_INTEGER:
    return spend(budget, 20);
  case JSON_REAL:
    return spend(budget, 24);
  default: /* true, false, null */
    return spend(budget, 5);
  }
}

/* ---------------------------------------------------------- one field */

/* Whether d has no fraction and |d| <= 2^53 (no libm: the server links
 * none). */
static int integral(double d) {
  return isfinite(d) && d >= -9007199254740991.0 &&
         d <= 9007199254740991.0 && d == (double)(long long)d;
}

/* A bound as people write it: 10, 2.5, 1e+300. */
static void num(char *out, size_t cap, double d) {
  if (integral(d))
    snprintf(out, cap, "%lld", (long long)d);
  else
    snprintf(out, cap, "%g", d);
}

/* UTF-8 characters (jansson has checked the encoding): the bytes that do
 * not continue a sequence. */
static size_t chars(const json_t *s) {
  const unsigned char *p = (const unsigned char *)json_string_value(s);
  size_t n = json_string_length(s), c = 0;
  for (size_t i = 0; i < n; i++)
    c += (p[i] & 0xC0) != 0x80;
  return c;
}

/* An integer as JSON carries it: an integer token, or a number with no
 * fraction that a double holds exactly (1e3; JavaScript's 2**53 - 1). */
static int as_int(const json_t *v, double *out) {
  if (json_is_integer(v)) {
    *out = (double)json_integer_value(v);
    return 1;
  }
  double d = json_is_real(v) ? json_real_value(v) : 0.5;
  if (!integral(d))
    return 0;
  *out = d;
  return 1;
}

static const char *const type_msg[] = {
    [CN_T_STRING] = "must be a string",  [CN_T_INT] = "must be an integer",
    [CN_T_NUMBER] = "must be a number",  [CN_T_BOOL] = "must be a boolean",
    [CN_T_ARRAY] = "must be an array",   [CN_T_OBJECT] = "must be an object",
};

/* Why v does not fit a, into msg; 0 when it fits. */
static int check_one(const cn_fn_arg *a, const json_t *v, char *msg,
                     size_t cap) {
  char lo[32], hi[32];
  double d = 0;
  int ok;
  switch (a->type) {
  case CN_T_STRING: ok = json_is_string(v); break;
  case CN_T_INT: ok = as_int(v, &d); break;
  case CN_T_NUMBER: ok = json_is_number(v); break;
  case CN_T_BOOL: ok = json_is_boolean(v); break;
  case CN_T_ARRAY: ok = json_is_array(v); break;
  case CN_T_OBJECT: ok = json_is_object(v); break;
  default: return 0; /* CN_T_ANY */
  }
  if (!ok) {
    snprintf(msg, cap, "%s", type_msg[a->type]);
    return 1;
  }
  num(lo, sizeof lo, a->min);
  num(hi, sizeof hi, a->max);
  if (a->type == CN_T_NUMBER || a->type == CN_T_INT) {
    if (a->min == 0 && a->max == 0)
      return 0;
    if (a->type == CN_T_NUMBER)
      d = json_number_value(v);
    if (d < a->min)
      return snprintf(msg, cap, "must be at least %s", lo), 1;
    if (d > a->max)
      return snprintf(msg, cap, "must be at most %s", hi), 1;
    return 0;
  }
  if ((a->type != CN_T_STRING && a->type != CN_T_ARRAY) || a->max <= 0)
    return 0;
  double n = a->type == CN_T_STRING ? (double)chars(v)
                                    : (double)json_array_size(v);
  const char *unit = a->type == CN_T_STRING ? "characters long" : "items";
  if (n < a->min)
    return snprintf(msg, cap, "must be at least %s %s", lo, unit), 1;
  if (n > a->max)
    return snprintf(msg, cap, "must be at most %s %s", hi, unit), 1;
  return 0;
}

/* ---------------------------------------------------------- the whole */

static const cn_fn_arg *schema_arg(const cn_fn_def *def, const char *name) {
  for (size_t i = 0; i < CN__ARRAY_LEN(def->args) && def->args[i].name; i++)
    if (!strcmp(def->args[i].name, name))
      return &def->args[i];
  return NULL;
}

static int put(json_t *errs, const char *field, const char *msg) {
  return json_object_set_new(errs, field, json_string(msg)) ? CN_ENOMEM : 0;
}

int cn__args_check(const cn_fn_def *def, const json_t *args, json_t **errors,
                   const char **why) {
  char msg[128];
  const char *k;
  json_t *v;
  int rc = 0;
  *errors = NULL;
  if (why)
    *why = NULL;
  json_t *errs = json_object();
  if (!errs)
    return CN_ENOMEM;
  if (args && !json_is_object(args)) {
    if (why)
      *why = "the arguments must be a JSON object";
    *errors = errs;
    return CN_EINVAL;
  }
  /* Size first, over every field, so that a huge call is refused whole
   * before any message is written for it. Depth per field. */
  size_t budget = CN__ARGS_MAX_BYTES - 2;
  json_object_foreach((json_t *)args, k, v) {
    rc = spend(&budget, strlen(k) + 4);
    int b = rc ? rc : cn__args_bounds(v, CN__ARGS_MAX_DEPTH - 1, &budget);
    if (b == CN_ETOOBIG) {
      if (why)
        *why = "the arguments are larger than 1 MiB";
      json_object_clear(errs);
      *errors = errs;
      return CN_EINVAL;
    }
    if (b == CN_EINVAL && (rc = put(errs, k, "is nested deeper than 16 "
                                             "levels")))
      goto cleanup;
    rc = 0;
  }
  for (size_t i = 0; i < CN__ARRAY_LEN(def->args) && def->args[i].name; i++) {
    const cn_fn_arg *a = &def->args[i];
    v = args ? json_object_get(args, a->name) : NULL;
    if (json_object_get(errs, a->name))
      continue; /* too deep already */
    if (!v && !a->optional)
      rc = put(errs, a->name, "is required");
    else if (v && check_one(a, v, msg, sizeof msg))
      rc = put(errs, a->name, msg);
    if (rc)
      goto cleanup;
  }
  json_object_foreach((json_t *)args, k, v) {
    if (!schema_arg(def, k) &&
        (rc = put(errs, k, "is not an argument of this function")))
      goto cleanup;
  }
cleanup:
  if (rc) {
    json_decref(errs);
    return rc;
  }
  if (!json_object_size(errs)) {
    json_decref(errs);
    return 0;
  }
  *errors = errs;
  return CN_EINVAL;
}
