/* The data layer's store: where query and mutation functions read and
 * write. One interface, two engines: SQLite (sqlite.c, the embedded
 * default) and, later, PostgreSQL (libpq) for many instances. Everything
 * above this header (functions, HTTP, live queries) is engine-blind.
 *
 * The model, taken from Convex and kept whatever the engine:
 *   - a read runs in one read-only snapshot transaction; the engine itself
 *     refuses writes there (SQLite: a read-only connection with
 *     query_only; PostgreSQL: READ ONLY REPEATABLE READ), never a
 *     convention;
 *   - a write runs as one serializable transaction. On SQLite one writer
 *     thread runs them one after another, so each is isolated; it groups
 *     the ones that queued meanwhile into one commit (a SAVEPOINT each, so
 *     one failing rolls back alone) and answers them all after that commit
 *     is durable: one fsync for many mutations. Callers block until then.
 *   - every read records the tables it read and every write the tables it
 *     wrote (cn__rwset): live queries (issue 10) re-run the subscriptions a
 *     commit touched, in commit order (commit_ts grows by one per
 *     acknowledged write).
 *
 * Threads: cn__store_read and cn__store_write may be called from any
 * number of handler threads at once; they block. Commit listeners run on
 * the writer thread, after the commit and before the writers are answered,
 * so they see commits in order: they must be quick (hand work off).
 *
 * Memory: a cn_db lives for one body call; rows come back as new jansson
 * references owned by the caller. */
#ifndef CN_DATA_STORE_H
#define CN_DATA_STORE_H

#include <cairn.h>

#include "common/common.h"

/* The tables a transaction read or wrote: a small set of names (distinct,
 * in first-seen order), each a NUL-terminated copy owned by the set. */
#define CN__RWSET_MAX 64
typedef struct cn__rwset {
  char *tables[CN__RWSET_MAX];
  size_t n;
  int overflow; /* more than CN__RWSET_MAX: treat as "every table" */
} cn__rwset;

/* Add name (a copy) unless present. 0 or CN_ENOMEM. */
int cn__rwset_add(cn__rwset *s, const char *name);
/* 1 when a and b share a table (or either overflowed). */
int cn__rwset_overlaps(const cn__rwset *a, const cn__rwset *b);
void cn__rwset_clear(cn__rwset *s);

typedef struct cn__store cn__store;

typedef struct cn__store_opts {
  const char *url;      /* DATABASE_URL; NULL or "" = sqlite:<default_path> */
  const char *default_path; /* ".cairn/data.db" under the app */
  int durability_full;  /* fsync each group commit (survives power loss) */
  int readers;          /* read connections kept open; 0 = a default */
} cn__store_opts;

/* Open (creating the file and its folder when missing), WAL mode. OUT:
 * *out. CN_EINVAL for a URL of an unknown scheme, CN_EIO when the database
 * cannot be opened; err gets a sentence naming the path. The caller frees
 * the store with cn__store_close (which stops the writer thread after the
 * queued writes). */
int cn__store_open(const cn__store_opts *o, cn__store **out, char *err,
                   size_t errlen);
void cn__store_close(cn__store *st);

/* Apply, in the order given, each migration not yet recorded in the
 * database's own table of applied migrations; each in its own transaction
 * together with its record. A failure stops there: the database keeps the
 * migrations before it and nothing of the failing one; CN_EINVAL with
 * "data/migrations/NAME: <the database's message>" in err. Two processes
 * migrating at once apply each migration once. OUT: *applied (may be
 * NULL), how many were new. */
int cn__store_migrate(cn__store *st, const cn_manifest_migration *m, size_t n,
                      size_t *applied, char *err, size_t errlen);

/* The body of a transaction: return 0 to commit (writes) / finish
 * (reads), non-zero to roll back; that value is returned to the caller. */
typedef int cn__store_body(cn_db *db, void *arg);

/* Run body on a read-only snapshot. OUT: reads (may be NULL) gets the
 * tables body read. Returns body's result, or CN_EIO/CN_ENOMEM when the
 * transaction could not be opened. */
int cn__store_read(cn__store *st, cn__store_body *body, void *arg,
                   cn__rwset *reads);

/* Run body as one serializable transaction on the writer, and return once
 * it is committed and durable (or rolled back). Contention never reaches
 * the caller: writes queue. OUT: writes (may be NULL) the tables written
 * and reads (may be NULL) the tables read; *commit_ts (may be NULL) the
 * commit's timestamp (0 when rolled back). Returns body's result (its
 * writes undone when non-zero), CN_EIO when the commit failed (every write
 * of the group is undone and each caller told), CN_ECLOSED when the store
 * is closing. */
int cn__store_write(cn__store *st, cn__store_body *body, void *arg,
                    cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts);

/* Called on the writer thread after each durable commit, once per write
 * of the group, in commit order. */
typedef void cn__store_commit_fn(void *arg, uint64_t commit_ts,
                                 const cn__rwset *writes);
/* Register the one listener (live queries). 0 or CN_EEXIST. */
int cn__store_on_commit(cn__store *st, cn__store_commit_fn *fn, void *arg);

/* The database's message for the last failed cn_db_* call on db, with the
 * SQL it ran ("" when none failed). Static for db's life. */
const char *cn__db_error(const cn_db *db);

/* The last commit's timestamp (0 before any). */
uint64_t cn__store_ts(const cn__store *st);

#endif
