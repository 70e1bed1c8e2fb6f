/*
 * Task threads: a process-wide pool for work that may block and should run
 * beside the caller (a page's loaders in parallel). Threads are started
 * when a task finds none idle, up to a ceiling, and then wait for more
 * work for the life of the process; a server that never runs tasks starts
 * none.
 */
#include "common/common.h"

#define MAX_THREADS 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static cn__task *head, *tail;
static int threads, idle;

static void *worker(void *unused) {
  (void)unused;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (!head) {
      idle++;
      pthread_cond_wait(&cv, &mu);
      idle--;
    }
    cn__task *t = head;
    head = t->next;
    if (!head)
      tail = NULL;
    pthread_mutex_unlock(&mu);
    t->fn(t->arg); /* t may be gone after this */
    pthread_mutex_lock(&mu);
  }
  return NULL;
}

int cn__task_run(cn__task *t) {
  t->next = NULL;
  pthread_mutex_lock(&mu);
  if (tail)
    tail->next = t;
  else
    head = t;
  tail = t;
  int rc = 0;
  /* Queued work beyond the idle threads gets a thread of its own. */
  int waiting = 0;
  for (cn__task *q = head; q; q = q->next)
    waiting++;
  if (waiting > idle && threads < MAX_THREADS) {
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 2u << 20);
    if (pthread_create(&th, &attr, worker, NULL) == 0)
      threads++;
    pthread_attr_destroy(&attr);
  }
  if (!threads) {
    /* Take it back: the caller runs it. */
    head = tail = NULL;
    rc = CN_ESYS;
  } else {
    pthread_cond_signal(&cv);
  }
  pthread_mutex_unlock(&mu);
  return rc;
}
