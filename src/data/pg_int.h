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
#define CN__PG_RETRIES 100

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
  struct pg_sets *sets; /* what each statement reads and writes */
  /* Other instances' commits (pg_notify.c). */
  char *url;
  char id[33]; /* this instance's, random: its own notifications skipped */
  PGconn *listen;
  pthread_t listener;
  int listening;
  int wake[2]; /* a byte on wake[1] stops the listener */
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

/* pg.c: a commit, this instance's (writes: its set) or another's (NULL:
 * every table): the next timestamp, and the commit listener told, in that
 * order, under commit_mu. OUT: *ts (may be NULL). */
void cn__pg_committed(pg_store *st, const cn__rwset *writes, uint64_t *ts);

/* pg_notify.c: commits across instances. Every write tells the others
 * (cn__pg_notify_send, inside its transaction, so the message goes out
 * when and only when it commits: PostgreSQL delivers NOTIFYs in commit
 * order); a thread of each store LISTENs on a connection of its own and
 * turns another instance's message (the tables it wrote) into
 * cn__pg_committed, which re-runs the live subscriptions that read them.
 * A connection lost and made again counts as a commit of everything: what
 * was said meanwhile is lost. */
int cn__pg_notify_start(pg_store *st, char *err, size_t errlen);
void cn__pg_notify_stop(pg_store *st);
int cn__pg_notify_send(pg_db *db, const cn__rwset *writes);

/* pg_sets.c: the tables a statement reads and writes (its top says how
 * they are found). After text (as sent, $n placeholders) ran with values
 * in db's body, add them to the body's sets; what cannot be known is
 * every table. */
int cn__pg_sets_new(pg_store *st);
void cn__pg_sets_free(pg_store *st);
void cn__pg_sets_record(pg_db *db, const char *text, int nparams,
                        const char *const *values);

/* pg_sql.c: the engine's cn_db_* entries (engine.h). */
int cn__pg_call(cn_db *handle, int shape, json_t **out, int64_t *changes,
                const char *sql, size_t nargs, const cn_val *args);
int64_t cn__pg_last_id(cn_db *handle);
const char *cn__pg_error(const cn_db *handle);

#endif
