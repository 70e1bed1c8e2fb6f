/* /counter: two actions that add to a counter, one with a bound value.
 * Every refusal path of issue 8 must leave the counter as it was. */
#include <stdatomic.h>
#include <stdlib.h>

#include "../../lib/counter.h"

static atomic_long count;

long counter_get(void) { return atomic_load(&count); }

long counter_add(long n) { return atomic_fetch_add(&count, n) + n; }

static int bump(cn_req *req, const json_t *bound, json_t **state) {
  (void)bound;
  cn_str by = cn_req_form(req, "by");
  long n = by.ptr ? strtol(cn_req_strndup(req, by.ptr, by.len), NULL, 10) : 1;
  *state = json_pack("{s:I}", "count", (json_int_t)atomic_fetch_add(&count, n) + n);
  return 0;
}

static int add_bound(cn_req *req, const json_t *bound, json_t **state) {
  (void)req;
  json_int_t n = json_integer_value(json_object_get(bound, "n"));
  *state = json_pack("{s:I}", "count", (json_int_t)atomic_fetch_add(&count, n) + n);
  return 0;
}

static int load(cn_req *req, json_t **props) {
  (void)req;
  *props = json_pack("{s:{s:{s:i}}}", "item", "bind", "n", 5);
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1,
        .actions = {{"bump", bump}, {"add_bound", add_bound}});
