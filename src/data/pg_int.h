/*
 * The PostgreSQL engine's own layout, shared by pg.c (the pool,
 * transactions, migrations, the engine's table) and pg_sql.c (one
 * statement: placeholders, values, results). The model is at the top of
 * pg.c.
 */
#ifndef CN_DATA_PG_INT_H
#define CN_DATA_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "data/engine.h"

#define CN__PG_DEFAULT_POOL 8
#define CN__PG_RETRIES 20

typedef struct pg_store pg_store;

enum { PG_IDLE, PG_READ, PG_WRITE };

typedef struct pg_db {
  const cn__engine *engine; /* first: engine.h's layout rule */
  PGconn *c;
  pg_store *st;
  int mode;   /* PG_* */
  int active; /* a body runs on `thread` */
  pthread_t thread;
  int aborted;  /* a statement failed: the transaction is lost */
  int conflict; /* one failed for serialization: the body runs again */
  unsigned savepoints;
  cn__rwset *reads, *writes;
  char err[640];
  struct pg_db *next_idle;
} pg_db;

struct pg_store {
  const cn__engine *engine; /* first: engine.h's layout rule */
  pthread_mutex_t mu;
  pthread_cond_t freed;
  pg_db **conns;
  size_t n, nidle;
  pg_db *idle;
  int closing;
  /* Commits: their timestamps and the listener, in one order. */
  pthread_mutex_t commit_mu;
  cn__store_commit_fn *on_commit;
  void *on_commit_arg;
  _Atomic uint64_t ts;
};

/* Record a failure on db: "<msg> (in: <sql>)", what cn__db_error says. */
void cn__pg_fail(pg_db *db, const char *msg, const char *sql);
/* The database's own sentence for a failed result, without libpq's
 * "ERROR:  " and line breaks. */
const char *cn__pg_msg(const PGresult *r);
/* The CN_E* code of a failed result, by SQLSTATE: CN_ECONFLICT for a
 * serialization failure or deadlock, CN_EREADONLY in a read-only
 * transaction, CN_EIO for the connection, CN_EINVAL for the statement. */
int cn__pg_code(const PGresult *r);
/* Run a statement of cairn's own (BEGIN, COMMIT, SAVEPOINT...) on db. */
int cn__pg_internal(pg_db *db, const char *sql);

/* pg_sql.c: the engine's cn_db_* entries (engine.h). */
int cn__pg_call(cn_db *handle, int shape, json_t **out, int64_t *changes,
                const char *sql, size_t nargs, const cn_val *args);
int64_t cn__pg_last_id(cn_db *handle);
const char *cn__pg_error(const cn_db *handle);

#endif
