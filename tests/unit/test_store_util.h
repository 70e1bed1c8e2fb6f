/*
 * What the store's tests share: a temporary folder per test (removed at
 * the end), a store opened in it, and small bodies that run SQL given as
 * data, so that tests can be tables of statements.
 *
 *   tsu_dir d; tsu_mkdir(&d);           d.path = /tmp/cn-store-XXXXXX
 *   cn__store *st = tsu_open(&d, 0);    sqlite:<d.path>/data.db
 *   tsu_exec(st, "CREATE TABLE ...");   one write, CHECKed to succeed
 *   tsu_int(st, "SELECT count(*) ...")  one read, the first value
 *   cn__store_close(st); tsu_rm(&d);
 */
#ifndef CN_TEST_STORE_UTIL_H
#define CN_TEST_STORE_UTIL_H

#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "data/sqlite_int.h"

typedef struct tsu_dir {
  char path[64];
  char db[128];  /* <path>/data.db */
  char url[160]; /* sqlite:<db> */
} tsu_dir;

static inline int tsu_rm_one(const char *p, const struct stat *st, int flag,
                      struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(p);
}

static inline void tsu_mkdir(tsu_dir *d) {
  snprintf(d->path, sizeof d->path, "/tmp/cn-store-XXXXXX");
  if (!mkdtemp(d->path)) {
    perror("mkdtemp");
    exit(2);
  }
  snprintf(d->db, sizeof d->db, "%s/data.db", d->path);
  snprintf(d->url, sizeof d->url, "sqlite:%s", d->db);
}

static inline void tsu_rm(tsu_dir *d) {
  nftw(d->path, tsu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline cn__store *tsu_open_mode(tsu_dir *d, int full, int readers,
                                       int busy_ms, int shared) {
  cn__store *st = NULL;
  char err[512];
  cn__store_opts o = {.url = d->url,
                      .durability_full = full,
                      .readers = readers,
                      .busy_timeout_ms = busy_ms,
                      .shared = shared};
  int rc = cn__store_open(&o, &st, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cn__store_open %s: %d %s\n", d->url, rc, err);
    exit(2);
  }
  return st;
}

static inline cn__store *tsu_open_opts(tsu_dir *d, int full, int readers,
                                       int busy_ms) {
  return tsu_open_mode(d, full, readers, busy_ms, 0);
}

static inline cn__store *tsu_open(tsu_dir *d, int full) {
  return tsu_open_opts(d, full, 0, 0);
}

/* A body that runs statements given as data. */
typedef struct tsu_sql {
  const char *sql;
  size_t nargs;
  const cn_val *args;
} tsu_sql;

typedef struct tsu_script {
  const tsu_sql *stmts; /* ends at sql == NULL */
  int fail_at_end;      /* then return this instead of 0 */
  int failed_at;        /* OUT: index of the statement that failed, -1 */
  char err[512];        /* OUT: cn__db_error of it */
  int runs;             /* OUT: how often the body ran */
} tsu_script;

static inline int tsu_script_body(cn_db *db, void *arg) {
  tsu_script *s = arg;
  s->runs++;
  s->failed_at = -1;
  for (int i = 0; s->stmts[i].sql; i++) {
    int rc = cn_db_exec(db, NULL, s->stmts[i].sql, s->stmts[i].nargs,
                        s->stmts[i].args);
    if (rc) {
      s->failed_at = i;
      snprintf(s->err, sizeof s->err, "%s", cn__db_error(db));
      return rc;
    }
  }
  return s->fail_at_end;
}

typedef struct tsu_one {
  const char *sql;
  size_t nargs;
  const cn_val *args;
  int rc;
  char err[512];
  json_t *out;
  int64_t changes, last_id;
} tsu_one;

static inline int tsu_exec_body(cn_db *db, void *arg) {
  tsu_one *o = arg;
  o->rc = cn_db_exec(db, &o->changes, o->sql, o->nargs, o->args);
  o->last_id = cn_db_last_id(db);
  snprintf(o->err, sizeof o->err, "%s", cn__db_error(db));
  return o->rc;
}

static inline int tsu_value_body(cn_db *db, void *arg) {
  tsu_one *o = arg;
  o->rc = cn_db_value(db, &o->out, o->sql, o->nargs, o->args);
  snprintf(o->err, sizeof o->err, "%s", cn__db_error(db));
  return o->rc;
}

static inline int tsu_all_body(cn_db *db, void *arg) {
  tsu_one *o = arg;
  o->rc = cn_db_all(db, &o->out, o->sql, o->nargs, o->args);
  snprintf(o->err, sizeof o->err, "%s", cn__db_error(db));
  return o->rc;
}

/* One write of sql with no arguments; CHECKs it succeeds. */
#define tsu_exec(st, sqltext)                                                  \
  do {                                                                         \
    tsu_one tsu__o = {.sql = (sqltext)};                                       \
    int tsu__rc = cn__store_write((st), tsu_exec_body, &tsu__o, NULL, NULL,    \
                                  NULL);                                       \
    if (tsu__rc)                                                               \
      fprintf(stderr, "tsu_exec %s: %s\n", (sqltext), tsu__o.err);             \
    CHECK_EQ_INT(tsu__rc, 0);                                                  \
  } while (0)

/* The first value of a read of sql as an integer (-999 when it is not
 * one, -998 when the read failed). */
static inline int64_t tsu_int(cn__store *st, const char *sql) {
  tsu_one o = {.sql = sql};
  int rc = cn__store_read(st, tsu_value_body, &o, NULL);
  int64_t v = rc ? -998 : json_is_integer(o.out) ? json_integer_value(o.out)
                                                  : -999;
  if (rc)
    fprintf(stderr, "tsu_int %s: %s\n", sql, o.err);
  json_decref(o.out);
  return v;
}

/* The first value of a read of sql as JSON text (heap; free()). */
static inline char *tsu_json(cn__store *st, const char *sql) {
  tsu_one o = {.sql = sql};
  int rc = cn__store_read(st, tsu_all_body, &o, NULL);
  char *text = rc ? strdup("ERROR") : json_dumps(o.out, JSON_COMPACT);
  json_decref(o.out);
  return text;
}

/* CHECK that a read of sql gives the JSON text want. */
#define tsu_check_json(st, sql, want)                                          \
  do {                                                                         \
    char *tsu__t = tsu_json((st), (sql));                                      \
    CHECK_EQ_STR(tsu__t, (want));                                              \
    free(tsu__t);                                                              \
  } while (0)

/* Inside a body: the first value of sql as an integer, -1 on failure. */
static inline int64_t tsu_value_of(cn_db *db, const char *sql) {
  json_t *v = NULL;
  if (cn_db_value(db, &v, sql, CN_NOARGS))
    return -1;
  int64_t n = json_integer_value(v);
  json_decref(v);
  return n;
}

/* A write body: INSERT INTO t VALUES (*(int *)arg). */
static inline int tsu_insert_int(cn_db *db, void *arg) {
  return cn_db_exec(db, NULL, "INSERT INTO t VALUES (?)",
                    CN_ARGS(cn_v(*(int *)arg)));
}

/* How many writes wait in st's queue (the writer's private state). */
static inline int tsu_queued(cn__store *st) {
  int n = 0;
  pthread_mutex_lock(&st->mu);
  for (cn__sq_wreq *r = st->head; r; r = r->next)
    n++;
  pthread_mutex_unlock(&st->mu);
  return n;
}

/* Wait (yielding, no sleep) until n writes are queued. */
static inline void tsu_wait_queued(cn__store *st, int n) {
  while (tsu_queued(st) < n)
    sched_yield();
}

/* 1 when the set holds exactly the names (NULL-terminated list), in any
 * order. */
static inline int tsu_set_is(const cn__rwset *s, const char *const *names) {
  size_t n = 0;
  for (; names[n]; n++) {
    size_t i = 0;
    while (i < s->n && strcmp(s->tables[i], names[n]) != 0)
      i++;
    if (i == s->n)
      return 0;
  }
  return !s->overflow && n == s->n;
}

#endif
