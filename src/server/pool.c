/*
 * The handler pool: threads that run handlers which may block. Threads are
 * started on demand (a request waits for a thread only when `max` are all
 * busy), so a server that only ever runs nonblocking routes starts none,
 * and one sleeping handler never holds up a request to another route.
 *
 * The hand-off is on every pool-run request's path, and on a small VM a
 * futex wake with its two context switches costs more than a short handler,
 * so the pool wakes a thread only when no awake one will take the job:
 *
 *  - A seeker is a thread that runs no handler and will look at the queue
 *    before it sleeps: one that just finished a handler, one just woken or
 *    just started. A submit wakes (or starts) a thread only when there is
 *    no seeker. A seeker that takes a job while more are queued and no
 *    other seeker is left provides one before it runs its handler. So while
 *    the queue is not empty, some thread that is not inside a handler is on
 *    its way to it: a handler that blocks for seconds delays nothing else.
 *  - A seeker that finds the queue empty yields the CPU a few hundred
 *    times before it sleeps (SPIN_YIELDS, tens of microseconds): under
 *    load the next request usually comes within that, and then it costs
 *    no wake at all. The thread stays a seeker while it spins, so a
 *    submit meanwhile wakes nobody; it sees the job when it looks again
 *    under mu.
 *  - Idle threads sleep on their own semaphore, stacked last-in first-out:
 *    the thread woken is the one most recently active (its stack and the
 *    handler's code still in cache), and no wake is ever spurious or shared.
 *
 * The queue, the idle stack and the counts are under `mu`; nothing is held
 * across a handler, a wake or a thread start.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>

#include "server.h"

extern _Thread_local cn__loop *cn__current_loop;

#define SPIN_YIELDS 200

struct cn__pool_worker {
  cn__pool *pool;
  cn__pool_worker *next_idle;
  sem_t wake;
};

/* What to do, outside the lock, to provide a seeker. */
typedef struct provide {
  cn__pool_worker *wake; /* post this idle thread's semaphore */
  int start;             /* start a new thread (counted already) */
} provide;

static void *worker(void *arg);

/* Under mu: the queue has a job nobody is looking for; count a seeker and
 * say which thread it will be. */
static provide need_seeker_locked(cn__pool *p) {
  provide pr = {NULL, 0};
  if (!p->head || atomic_load(&p->seekers) > 0)
    return pr;
  if (p->idle) {
    pr.wake = p->idle;
    p->idle = pr.wake->next_idle;
    atomic_fetch_add(&p->seekers, 1);
  } else if (p->threads < p->max) {
    pr.start = 1;
    p->threads++;
    atomic_fetch_add(&p->seekers, 1);
  }
  return pr;
}

static void start_thread(cn__pool *p) {
  cn__pool_worker *w = cn__malloc(sizeof(*w));
  pthread_attr_t attr;
  pthread_t t;
  int ok = 0;
  if (w && sem_init(&w->wake, 0, 0) == 0) {
    w->pool = p;
    w->next_idle = NULL;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 2u << 20);
    ok = pthread_create(&t, &attr, worker, w) == 0;
    pthread_attr_destroy(&attr);
    if (!ok)
      sem_destroy(&w->wake);
  }
  if (ok)
    return;
  cn__free(w);
  /* The job stays queued for a thread that finishes its handler; with no
   * thread at all it waits for the next submit to try again. */
  pthread_mutex_lock(&p->mu);
  p->threads--;
  atomic_fetch_sub(&p->seekers, 1);
  pthread_cond_broadcast(&p->exited);
  pthread_mutex_unlock(&p->mu);
}

static void act(cn__pool *p, provide pr) {
  if (pr.wake)
    sem_post(&pr.wake->wake);
  else if (pr.start)
    start_thread(p);
}

/* The calling thread, counted as a seeker, gets its next job, sleeping
 * while there is none, or NULL when the pool stops. */
static cn_req *seek(cn__pool *p, cn__pool_worker *w) {
  int spun = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    cn_req *req = p->head;
    if (!req && !p->stop && !spun) {
      spun = 1;
      pthread_mutex_unlock(&p->mu);
      for (int i = 0; i < SPIN_YIELDS &&
                      !atomic_load_explicit(&p->queued, memory_order_relaxed);
           i++)
        sched_yield();
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if (req) {
      p->head = req->next_free;
      if (!p->head)
        p->tail = NULL;
      atomic_fetch_sub(&p->queued, 1);
      atomic_fetch_sub(&p->seekers, 1);
      provide pr = need_seeker_locked(p);
      pthread_mutex_unlock(&p->mu);
      act(p, pr);
      return req;
    }
    atomic_fetch_sub(&p->seekers, 1);
    if (p->stop) {
      /* Free what OpenSSL keeps per thread (its error queue, DRBGs) now:
       * its own clean-up runs as the thread ends, which can be after the
       * process has finished waiting for it and exited. */
      OPENSSL_thread_stop();
      p->threads--;
      pthread_cond_broadcast(&p->exited);
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    w->next_idle = p->idle;
    p->idle = w;
    pthread_mutex_unlock(&p->mu);
    /* Whoever posts has counted this thread as a seeker again. */
    while (sem_wait(&w->wake) && errno == EINTR)
      ;
    spun = 0;
    pthread_mutex_lock(&p->mu);
  }
}

/* Push ev on the loop's stack, then wake the loop only if it may be asleep
 * in poll. This pairs with before_poll in server.c: it sets `polling` and
 * then looks at the stack. Both sides use sequentially consistent
 * operations, so at least one sees the other's write: either the loop
 * finds ev before it sleeps, or we see `polling` and wake it. While the
 * loop is busy, a post costs one compare-and-swap. */
void cn__loop_post(cn__loop *l, cn__event *ev) {
  cn__event *top = atomic_load_explicit(&l->events, memory_order_relaxed);
  do
    ev->next = top;
  while (!atomic_compare_exchange_weak(&l->events, &top, ev));
  if (atomic_load(&l->polling))
    uv_async_send(&l->wake);
}

static void *worker(void *arg) {
  cn__pool_worker *w = arg;
  cn__pool *p = w->pool;
  cn_req *req;
  pthread_setname_np(pthread_self(), "cairn-handler");
  cn__current_loop = NULL;
  while ((req = seek(p, w))) {
    cn__req_run_handler(req);
    /* A seeker again from here, before the lock: a job submitted while
     * this thread posts DONE needs no other thread woken. */
    atomic_fetch_add(&p->seekers, 1);
    req->done_ev.kind = CN__EV_DONE;
    req->done_ev.req = req;
    cn__loop_post(req->loop, &req->done_ev);
  }
  sem_destroy(&w->wake);
  cn__free(w);
  return NULL;
}

int cn__pool_init(cn__pool *p, int max_threads) {
  memset(p, 0, sizeof(*p));
  p->max = max_threads > 0 ? max_threads : 256;
  if (pthread_mutex_init(&p->mu, NULL) ||
      pthread_cond_init(&p->exited, NULL))
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
  atomic_fetch_add(&p->queued, 1);
  provide pr = need_seeker_locked(p);
  pthread_mutex_unlock(&p->mu);
  act(p, pr);
}

/* Ask idle threads to leave and wait for them, but not for a handler that
 * is still running past the shutdown timeout: it is abandoned. */
void cn__pool_stop(cn__pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  while (p->idle) {
    cn__pool_worker *w = p->idle;
    p->idle = w->next_idle;
    atomic_fetch_add(&p->seekers, 1);
    sem_post(&w->wake);
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  while (p->threads > 0)
    if (pthread_cond_timedwait(&p->exited, &p->mu, &until))
      break;
  pthread_mutex_unlock(&p->mu);
}
