/* /counter: two actions that add to a counter, one with a bound value.
 * Every refusal path of issue 8 must leave the counter as it was. */
#include <stdlib.h>

#include "../../lib/counter.h"

/* The count a call answered (its reference released), or -1. */
static long value_of(int rc, json_t *v) {
  long n = !rc && json_is_integer(v) ? (long)json_integer_value(v) : -1;
  json_decref(v);
  return n;
}

long counter_get(cn_req *req) {
  json_t *v = NULL;
  int rc = cn_run_query(cn_req_ctx(req), "count:get", NULL, &v);
  return value_of(rc, v);
}

long counter_add(cn_req *req, long n) {
  json_t *args = json_pack("{s:I}", "n", (json_int_t)n), *v = NULL;
  int rc = args ? cn_run_mutation(cn_req_ctx(req), "count:add", args, &v)
                : CN_ENOMEM;
  json_decref(args);
  return value_of(rc, v);
}

/* The state an action shows: the count after it, or the failure. */
static int shown(long n, json_t **state) {
  *state = json_pack("{s:I}", "count", (json_int_t)n);
  return n < 0 ? CN_EINVAL : *state ? 0 : CN_ENOMEM;
}

static int bump(cn_req *req, const json_t *bound, json_t **state) {
  (void)bound;
  cn_str by = cn_req_form(req, "by");
  long n = by.ptr ? strtol(cn_req_strndup(req, by.ptr, by.len), NULL, 10) : 1;
  return shown(counter_add(req, n), state);
}

static int add_bound(cn_req *req, const json_t *bound, json_t **state) {
  json_int_t n = json_integer_value(json_object_get(bound, "n"));
  return shown(counter_add(req, (long)n), state);
}

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:{s:{s:i}}}", "item", "bind", "n", 5);
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1,
        .actions = {{"bump", bump}, {"add_bound", add_bound}});
