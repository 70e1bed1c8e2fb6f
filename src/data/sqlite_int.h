/* sqlite_int.h: the SQLite engine's private layout, shared by its files
 * (as SQLite pairs btree.h with btreeInt.h). Nothing outside src/data's
 * SQLite files (and their unit tests) includes it.
 *
 *   sqlite.c   DATABASE_URL, opening connections, the reader pool,
 *              the read path, open and close, the engine's table
 *   writer.c   the writer thread: queue, group commit (cn__sq_write)
 *   sql.c      cn_db_*: the statement cache, binding, rows as JSON, the
 *              authorizer that records read/write sets and refuses what a
 *              body may not do
 *   migrate.c  migrations (cn__sq_migrate)
 *   rows.c     what a write changed row by row (the pre-update hook), and
 *              the columns it changed, for the write set
 *
 * One cn_db is one SQLite connection, used by one thread at a time: a
 * reader is lent to one cn__store_read caller; the writer connection
 * belongs to the writer thread. Connections are opened SQLITE_OPEN_NOMUTEX
 * for that reason: SQLite's own per-connection mutex would only cost.
 *
 * Which statements a body may run is decided per connection by its mode:
 *   INTERNAL  the engine's own statements (BEGIN, SAVEPOINT, PRAGMA):
 *             everything allowed, nothing recorded;
 *   READ      a read body: only statements SQLite itself calls read-only
 *             (sqlite3_stmt_readonly); readers are also opened read-only
 *             with query_only=ON, so a write is refused three times over;
 *   WRITE     a write body: any DML or DDL on the main database;
 *   MIGRATE   a migration: like WRITE, run by sqlite3_exec.
 * In every body mode transaction control (BEGIN, COMMIT, SAVEPOINT...),
 * ATTACH/DETACH, TEMP objects (they would outlive the body on a shared
 * connection) and PRAGMAs other than a few introspection ones are refused
 * by the authorizer: the store owns the transaction. */
#ifndef CN_DATA_SQLITE_INT_H
#define CN_DATA_SQLITE_INT_H

#include <pthread.h>
#include <semaphore.h>
/* Debian's SQLite is built with the pre-update hook (rows.c); the
 * header declares it only when told. */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include <stdatomic.h>

#include "data/engine.h"

enum { CN__SQ_INTERNAL = 0, CN__SQ_READ, CN__SQ_WRITE, CN__SQ_MIGRATE };

/* The engine's own statements, prepared once per connection. */
enum {
  CN__SQ_BEGIN,           /* BEGIN (a reader's snapshot) */
  CN__SQ_BEGIN_IMMEDIATE, /* the writer's group */
  CN__SQ_COMMIT,
  CN__SQ_ROLLBACK,
  CN__SQ_SAVEPOINT, /* one per write body */
  CN__SQ_RELEASE,
  CN__SQ_ROLLBACK_TO,
  CN__SQ_QUERY_ONLY_ON, /* a read nested in a write body */
  CN__SQ_QUERY_ONLY_OFF,
  CN__SQ_NINTERNAL
};

/* A cached prepared statement, keyed by its SQL text, with the tables the
 * authorizer saw while preparing it (a cached statement is not
 * authorized again, so its tables are kept beside it). */
typedef struct cn__sq_stmt {
  char *sql; /* NULL: the slot is free */
  size_t len;
  uint64_t hash;
  uint64_t used; /* LRU tick */
  sqlite3_stmt *stmt;
  cn__rwset rd, wr;
  int ddl; /* it creates, drops or alters a table */
} cn__sq_stmt;

#define CN__SQ_CACHE 32

struct cn_db {
  const cn__engine *engine; /* first: engine.h's layout rule */
  sqlite3 *h;
  cn__store *st;
  int writer; /* the read-write connection of the writer thread */
  int mode;   /* CN__SQ_* above */
  /* A body is running on thread `thread` (cn_db_* from elsewhere, or after
   * the body returned, is CN_ESTATE). */
  int active;
  pthread_t thread;
  /* Where the running body's tables go; NULL: not wanted. */
  cn__rwset *reads, *writes;
  /* The writer's running body: where the pre-update hook puts the rows
   * it changes (NULL: nowhere), and whether it changed the schema. */
  cn__rowlog *rows;
  int ddl;
  /* The statement being prepared or stepped: the authorizer records into
   * its sets, and into its own when SQLite re-prepares it mid-step. */
  cn__sq_stmt *cur;
  /* Why the authorizer refused the last statement (static text), and
   * what the caller hears. */
  const char *deny_why;
  int deny_rc;
  int64_t last_id;
  cn__sq_stmt cache[CN__SQ_CACHE];
  uint64_t tick;
  sqlite3_stmt *internal[CN__SQ_NINTERNAL];
  char err[1024];
  struct cn_db *next_idle; /* the reader pool's free list */
};

/* A write waiting for the writer thread; lives on its caller's stack. */
typedef struct cn__sq_wreq {
  cn__store_body *body;
  void *arg;
  cn__rwset rd, wr; /* recorded here, handed to the caller's sets */
  cn__rowlog rows;  /* what it changed, for the commit listener */
  int rc;
  uint64_t ts;
  /* Posted once the request is answered. A semaphore of its own rather
   * than a condition on the queue's mutex: the woken caller need not
   * fight the writer (and 63 others) for that mutex on its way out. */
  sem_t done;
  struct cn__sq_wreq *next;
} cn__sq_wreq;

/* How the writer has grouped (for benchmarks and tests). */
typedef struct cn__sq_stats {
  uint64_t groups;  /* commits */
  uint64_t writes;  /* bodies run in them */
  uint64_t biggest; /* the most in one */
} cn__sq_stats;

#define CN__SQ_GROUP_MAX 256
#define CN__SQ_DEFAULT_READERS 8
#define CN__SQ_DEFAULT_BUSY_MS 5000

struct cn__store {
  const cn__engine *engine; /* first: engine.h's layout rule */
  char *path;
  int durability_full;
  int shared; /* cn__store_opts.shared */
  int busy_ms;

  /* The writer: its connection, its thread, its queue. */
  cn_db *wdb;
  pthread_t thread;
  int thread_started;
  pthread_mutex_t mu; /* guards the queue, closing, on_commit, stats */
  pthread_cond_t wake;
  cn__sq_wreq *head, *tail;
  int closing;
  cn__store_commit_fn *on_commit;
  void *on_commit_arg;
  cn__sq_stats stats;
  _Atomic uint64_t ts;
  /* The writer thread's knowledge of tables (rows.c), for naming the
   * columns of the rows it logs. */
  struct cn__sq_tinfo *tinfo;
  size_t ntinfo, captinfo;

  /* The readers. */
  pthread_mutex_t rmu;
  pthread_cond_t rfree;
  cn_db **readers;
  size_t nreaders, nidle;
  cn_db *idle;
  int rclosing;
};

/* The engine's entries that live outside sqlite.c (engine.h, store.h). */
int cn__sq_write(cn__store *st, cn__store_body *body, void *arg,
                 cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts);
int cn__sq_migrate(cn__store *st, const cn_manifest_migration *m, size_t n,
                   size_t *applied, char *err, size_t errlen);
int cn__sq_call(cn_db *db, int shape, json_t **out, int64_t *changes,
                const char *sql, size_t nargs, const cn_val *args);
int64_t cn__sq_last_id(cn_db *db);
const char *cn__sq_error(const cn_db *db);

/* ---- sqlite.c */

/* Open one connection to st->path in one of these roles, set up as the
 * store's connections are (busy timeout, limits, defensive mode, the
 * authorizer, the internal statements). The writer creates the file and
 * makes it WAL; a reader is query_only; the migrator writes, outside the
 * writer's queue. OUT: *out. CN_EIO/CN_ENOMEM, or CN_ECONFLICT when
 * another process holds the file, with a sentence in err. */
enum { CN__SQ_WRITER, CN__SQ_READER, CN__SQ_MIGRATOR };
int cn__sq_conn_open(cn__store *st, int role, cn_db **out, char *err,
                     size_t errlen);
void cn__sq_conn_close(cn_db *db);
/* Run one of the internal statements to completion. The SQLite result
 * code. */
int cn__sq_internal(cn_db *db, int which);
/* The connection whose body runs on this thread, NULL when none: nested
 * reads and writes run inside it rather than wait for another (which
 * could deadlock a full pool). */
cn_db *cn__sq_current(void);
void cn__sq_set_current(cn_db *db);
/* Record a failure on db: "<msg> (in: <sql>)" for cn__db_error. */
void cn__sq_fail(cn_db *db, const char *msg, const char *sql);
/* The CN_E* code for an SQLite result code. */
int cn__sq_code(int rc);

/* ---- sql.c */

int cn__sq_authorize(void *arg, int action, const char *a1, const char *a2,
                     const char *dbname, const char *trigger);
/* Finalize every cached statement of db. */
void cn__sq_cache_clear(cn_db *db);
/* Start (active = 1 on this thread, no error, no last id) and end a
 * body's use of db. */
void cn__sq_body_begin(cn_db *db, int mode, cn__rwset *reads,
                       cn__rwset *writes);
void cn__sq_body_end(cn_db *db);

/* ---- writer.c */

void *cn__sq_writer_main(void *arg);
/* A write body's nested cn__store_write: a SAVEPOINT inside the running
 * write. */
int cn__sq_write_nested(cn_db *db, cn__store_body *body, void *arg,
                        cn__rwset *reads, cn__rwset *writes);

/* ---- rows.c */

/* Log the rows db's bodies change into db->rows (the writer). */
void cn__sq_rows_hook(cn_db *db);
/* After a body that succeeded: name the columns of the rows it logged
 * (raw until now), and make wr, the tables the authorizer saw it write,
 * say what changed: tables whose rows changed, with the columns an UPDATE
 * changed (whole tables for rows that came or went, for a key that
 * changed, for DDL, virtual tables, or a partial log); tables written
 * with no row changed drop out. Runs SQL on db (mode INTERNAL). */
void cn__sq_rows_finish(cn_db *db, cn__rowlog *log, cn__rwset *wr);
/* A statement failed after changing rows: keep l's tables only. */
void cn__sq_rows_unsure(cn__rowlog *l);
/* Forget what the writer knows of tables (the schema changed). */
void cn__sq_tinfo_flush(cn__store *st);

/* The writer's figures so far. */
void cn__sq_stats_get(cn__store *st, cn__sq_stats *out);

#endif
