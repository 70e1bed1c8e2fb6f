/* where:q: which thread ran this query ("cairn-io-N": inline on an I/O
 * thread; "cairn-handler": the pool), after sleeping ms milliseconds, so
 * that a test can make a query's runs grow slow and see where the next
 * one goes. */
#include <cairn.h>
#include <pthread.h>
#include <time.h>

static int name(json_t **out) {
  char name[16] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  *out = json_string(name);
  return *out ? 0 : CN_ENOMEM;
}

static int q(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx;
  json_int_t ms = json_integer_value(json_object_get(args, "ms"));
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  if (ms)
    nanosleep(&ts, NULL);
  return name(out);
}

/* The same for a mutation and an action, which never run inline. */
static int m(cn_ctx *ctx, const json_t *args, json_t **out) {
  (void)ctx, (void)args;
  return name(out);
}

CN_DATA({.name = "q", .kind = CN_QUERY, .fn = q,
         .args = {{.name = "ms", .type = CN_T_INT, .optional = 1, .min = 0,
                   .max = 1000}}},
        {.name = "m", .kind = CN_MUTATION, .fn = m},
        {.name = "a", .kind = CN_ACTION, .fn = m});
