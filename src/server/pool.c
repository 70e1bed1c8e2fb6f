/*
 * The handler pool: threads that run handlers which may block. Threads are
 * started on demand (a request waits for a thread only when `max` are all
 * busy), so a server that only ever runs nonblocking routes starts none,
 * and one sleeping handler never holds up a request to another route.
 */
#include <time.h>

#include "server.h"

extern _Thread_local cn__loop *cn__current_loop;

void cn__loop_post(cn__loop *l, cn__event *ev) {
  ev->next = NULL;
  pthread_mutex_lock(&l->mu);
  if (l->events_tail)
    l->events_tail->next = ev;
  else
    l->events_head = ev;
  l->events_tail = ev;
  pthread_mutex_unlock(&l->mu);
  uv_async_send(&l->wake);
}

static void *worker(void *arg) {
  cn__pool *p = arg;
  cn__current_loop = NULL;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->head && !p->stop) {
      p->idle++;
      pthread_cond_wait(&p->cv, &p->mu);
      p->idle--;
    }
    if (!p->head)
      break;
    cn_req *req = p->head;
    p->head = req->next_free;
    if (!p->head)
      p->tail = NULL;
    pthread_mutex_unlock(&p->mu);

    cn__req_run_handler(req);
    req->done_ev.kind = CN__EV_DONE;
    req->done_ev.req = req;
    cn__loop_post(req->loop, &req->done_ev);

    pthread_mutex_lock(&p->mu);
  }
  p->threads--;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int cn__pool_init(cn__pool *p, int max_threads) {
  memset(p, 0, sizeof(*p));
  p->max = max_threads > 0 ? max_threads : 256;
  if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->cv, NULL))
    return CN_ESYS;
  return 0;
}

void cn__pool_submit(cn__pool *p, cn_req *req) {
  req->next_free = NULL;
  pthread_mutex_lock(&p->mu);
  if (p->tail)
    p->tail->next_free = req;
  else
    p->head = req;
  p->tail = req;
  if (p->idle == 0 && p->threads < p->max) {
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 2u << 20);
    if (pthread_create(&t, &attr, worker, p) == 0)
      p->threads++;
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

/* Ask idle threads to leave and wait for them, but not for a handler that
 * is still running past the shutdown timeout: it is abandoned. */
void cn__pool_stop(cn__pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  while (p->threads > 0)
    if (pthread_cond_timedwait(&p->cv, &p->mu, &until))
      break;
  pthread_mutex_unlock(&p->mu);
}
