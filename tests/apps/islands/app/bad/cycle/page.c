/* /bad/cycle: a prop that contains itself cannot be written as JSON.
 * jansson cannot free a cycle, so each request keeps its loop until the
 * next one breaks it: nothing leaks. */
#include <pthread.h>

#include <cairn.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *last; /* the looped value of the last request */

static int load(cn_req *req, json_t **props) {
  (void)req;
  json_t *loop = json_object();
  *props = loop ? json_pack("{s:{s:i,s:O}}", "echo", "fine", 1, "loop", loop)
                : NULL;
  if (!*props) {
    json_decref(loop);
    return CN_ENOMEM;
  }
  json_t *inner = json_object(); /* jansson refuses a direct cycle */
  if (json_object_set_new(loop, "inner", inner) ||
      json_object_set(inner, "back", loop))
    return CN_ENOMEM; /* *props goes with the request */
  pthread_mutex_lock(&mu);
  if (last) /* the previous request's is done with */
    json_object_del(json_object_get(last, "inner"), "back");
  json_decref(last);
  last = loop;
  pthread_mutex_unlock(&mu);
  return 0;
}

CN_PAGE(.loader = load, .dynamic = 1);
