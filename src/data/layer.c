/*
 * The layer's life: made once at start (registry, store, migrations),
 * published for cn_req_ctx, closed after the server has drained. A scratch
 * store for prerendering is opened on first use instead.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "data/data.h"

static _Atomic(cn__data *) global;

void cn__data_set_global(cn__data *d) { atomic_store(&global, d); }

cn__data *cn__data_global(void) { return atomic_load(&global); }

/* The scratch database and its WAL companions, gone. */
static void remove_scratch(const char *path) {
  char p[4096];
  remove(path);
  snprintf(p, sizeof p, "%s-wal", path);
  remove(p);
  snprintf(p, sizeof p, "%s-shm", path);
  remove(p);
}

static int open_store(cn__data *d, const cn__store_opts *so,
                      const cn_manifest_migration *m, size_t nm, char *err,
                      size_t errlen) {
  cn__store *st = NULL;
  int rc = cn__store_open(so, &st, err, errlen);
  if (!rc)
    rc = cn__store_migrate(st, m, nm, NULL, err, errlen);
  if (rc) {
    if (st)
      cn__store_close(st);
    return rc;
  }
  d->store = st;
  return 0;
}

static void free_data(cn__data *d) {
  cn__fns_free(&d->fns);
  cn__free(d->scratch_path);
  pthread_mutex_destroy(&d->open_mu);
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->idle);
  cn__free(d);
}

int cn__data_open(const cn__data_opts *o, cn__data **out, char *err,
                  size_t errlen) {
  *out = NULL;
  cn__data *d = cn__calloc(1, sizeof(*d));
  if (!d)
    return CN_ENOMEM;
  pthread_mutex_init(&d->open_mu, NULL);
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->idle, &ca);
  pthread_condattr_destroy(&ca);
  d->dev = o->dev;
  d->inline_query_us = o->inline_query_us;
  int rc = cn__fns_build(o->mods, o->nmods, &d->fns, err, errlen);
  if (!rc && o->scratch_path) {
    d->migrations = o->migrations;
    d->nmigrations = o->nmigrations;
    if (!(d->scratch_path = cn__strdup(o->scratch_path)))
      rc = CN_ENOMEM;
  } else if (!rc) {
    cn__store_opts so = {.url = o->url,
                         .default_path = o->default_path,
                         .durability_full = o->durability_full,
                         .shared = o->shared};
    rc = open_store(d, &so, o->migrations, o->nmigrations, err, errlen);
  }
  if (rc) {
    free_data(d);
    return rc;
  }
  *out = d;
  return 0;
}

cn__store *cn__data_store(cn__data *d) {
  if (!d->scratch_path)
    return d->store;
  char err[1024];
  pthread_mutex_lock(&d->open_mu);
  if (!d->store && !d->scratch_failed) {
    cn__store_opts so = {.url = NULL, .default_path = d->scratch_path};
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", d->scratch_path);
    so.url = url;
    remove_scratch(d->scratch_path);
    if (open_store(d, &so, d->migrations, d->nmigrations, err, sizeof err)) {
      fprintf(stderr, "cairn: the data layer for prerendering: %s\n", err);
      d->scratch_failed = 1;
    }
  }
  cn__store *st = d->store;
  pthread_mutex_unlock(&d->open_mu);
  return st;
}

void cn__data_close(cn__data *d, uint64_t wait_ms) {
  if (!d)
    return;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(wait_ms / 1000);
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L)
    until.tv_sec++, until.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&d->mu);
  d->closing = 1;
  int timed_out = 0;
  while (d->active && !timed_out)
    timed_out = pthread_cond_timedwait(&d->idle, &d->mu, &until) ==
                ETIMEDOUT;
  int busy = d->active;
  pthread_mutex_unlock(&d->mu);
  if (busy) {
    /* A handler still inside the store: the process is ending anyway;
     * closing under it would be a use after free. */
    fprintf(stderr, "cairn: %d data call%s still running at shutdown\n",
            busy, busy == 1 ? "" : "s");
    return;
  }
  if (d->store)
    cn__store_close(d->store);
  if (d->scratch_path)
    remove_scratch(d->scratch_path);
  free_data(d);
}

static int ping(cn_db *db, void *arg) {
  json_t *v = NULL;
  (void)arg;
  int rc = cn_db_value(db, &v, "SELECT 1", CN_NOARGS);
  json_decref(v);
  return rc;
}

int cn__data_ready(void *arg, char *why, size_t cap) {
  cn__data *d = arg;
  int rc = d && d->store ? cn__store_read(d->store, ping, NULL, NULL)
                         : CN_ESTATE;
  if (rc)
    snprintf(why, cap, "the database does not answer: %s",
             rc == CN_ESTATE ? "it is not open" : cn_strerror(rc));
  return rc;
}
