/* /flaky/segment?k=KEY: the first visit with a key fails, the next ones
 * render (with an island of their own): what a retry is for. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cairn.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char seen[64][32];
static int nseen;

/* 1 the first time key is asked about. */
static int first_visit(cn_str key) {
  char k[32];
  snprintf(k, sizeof k, "%.*s", (int)key.len, key.ptr ? key.ptr : "");
  pthread_mutex_lock(&mu);
  int first = 1;
  for (int i = 0; i < nseen && first; i++)
    first = strcmp(seen[i], k) != 0;
  if (first && nseen < 64)
    memcpy(seen[nseen++], k, sizeof k);
  pthread_mutex_unlock(&mu);
  return first;
}

static int load(cn_req *req, json_t **props) {
  if (first_visit(cn_req_query_get(req, "k")))
    return cn_fail(req, "the segment's service is warming up");
  *props = json_pack("{s:{s:s}}", "echo", "from", "the retried segment");
  return *props ? 0 : CN_ENOMEM;
}

CN_PAGE(.loader = load, .dynamic = 1, .metadata = {.title = "Flaky"});
