/* GET /api/release?key=K opens gate K; the gates of lib/t.h live here. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../../lib/t.h"

#define SLOTS 128

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct { char key[80]; int value; } slots[SLOTS];

static int *slot(const char *key) { /* mu held */
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].key[0] && !strcmp(slots[i].key, key))
      return &slots[i].value;
  for (int i = 0; i < SLOTS; i++)
    if (!slots[i].key[0]) {
      snprintf(slots[i].key, sizeof slots[i].key, "%s", key);
      return &slots[i].value;
    }
  return &slots[0].value;
}

static int add_and_wait(const char *key, int add, int n, int ms) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += ms / 1000;
  dl.tv_nsec += (ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L)
    dl.tv_sec++, dl.tv_nsec -= 1000000000L;
  int rc = 0;
  pthread_mutex_lock(&mu);
  *slot(key) += add;
  pthread_cond_broadcast(&cv);
  while (*slot(key) < n && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&cv, &mu, &dl);
  int ok = *slot(key) >= n;
  pthread_mutex_unlock(&mu);
  return ok ? 0 : CN_EIO;
}

int gate_wait(const char *key, int ms) {
  char k[80];
  snprintf(k, sizeof k, "gate:%s", key);
  return add_and_wait(k, 0, 1, ms);
}

void gate_open(const char *key) {
  char k[80];
  snprintf(k, sizeof k, "gate:%s", key);
  add_and_wait(k, 1, 0, 0);
}

int barrier(const char *key, int n, int ms) {
  char k[80];
  snprintf(k, sizeof k, "barrier:%s", key);
  return add_and_wait(k, 1, n, ms);
}

static int release(cn_req *req, cn_res *res) {
  cn_str k = cn_req_query_get(req, "key");
  char key[64];
  if (!k.ptr || !k.len || k.len >= sizeof key)
    return cn_res_error(res, 400, "key?");
  snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
  gate_open(key);
  return cn_res_text(res, 200, "released");
}

CN_ROUTE(.GET = release);
