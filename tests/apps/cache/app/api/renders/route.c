/* GET /api/renders: {"isr": n, "tagged": n, "fn": n, ...}: how many times
 * each loader or cached function ran. */
#include <pthread.h>
#include <string.h>

#include "../../../lib/counters.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { const char *name; int n; } table[16];

int counter_bump(const char *name) {
  pthread_mutex_lock(&mu);
  int i = 0;
  while (i < 15 && table[i].name && strcmp(table[i].name, name))
    i++;
  table[i].name = name;
  int v = ++table[i].n;
  pthread_mutex_unlock(&mu);
  return v;
}

int counter_get(const char *name) {
  pthread_mutex_lock(&mu);
  int v = 0;
  for (int i = 0; i < 16 && table[i].name; i++)
    if (!strcmp(table[i].name, name))
      v = table[i].n;
  pthread_mutex_unlock(&mu);
  return v;
}

static int renders(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_object();
  pthread_mutex_lock(&mu);
  for (int i = 0; i < 16 && table[i].name; i++)
    json_object_set_new(j, table[i].name, json_integer(table[i].n));
  pthread_mutex_unlock(&mu);
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = renders, .config = {.nonblocking = 1});
