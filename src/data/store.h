/* The data layer's store: where query and mutation functions read and
 * write. One interface, two engines (engine.h): SQLite (sqlite.c, the
 * embedded default) and PostgreSQL (pg.c, libpq) for many instances.
 * Everything above this header (functions, HTTP, live queries) is
 * engine-blind. What follows is said of SQLite; pg.c's top says how
 * PostgreSQL keeps the same model.
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
 *   - every read records the tables and columns it read, every write the
 *     rows it changed, old and new (cn__rowlog), and from them the tables
 *     and columns it changed (cn__rwset): live queries (issue 10) re-run
 *     the subscriptions a commit touched, in commit order (commit_ts
 *     grows by one per acknowledged write).
 *
 * Threads: cn__store_read and cn__store_write may be called from any
 * number of handler threads at once; they block. Commit listeners run on
 * the writer thread, after the commit and before the writers are answered,
 * so they see commits in order: they must be quick (hand work off).
 *
 * Bodies: a read body runs on its caller's thread; a write body runs on
 * the writer thread (so it must not wait for anything that waits for a
 * write). Inside a body, cn__store_read and cn__store_write on the same
 * store run nested in the body's own transaction instead of taking
 * another connection: a read in a read shares its snapshot, a read in a
 * write sees the write's changes (and may not write), a write in a write
 * is a SAVEPOINT of it (rolled back alone when it fails), a write in a
 * read is CN_EREADONLY. Their tables are added to the outer body's sets.
 *
 * Memory: a cn_db lives for one body call (cn_db_* from another thread, or
 * after the body returned, is CN_ESTATE); rows come back as new jansson
 * references owned by the caller.
 *
 * The cn_db_* helpers of <cairn.h>, as this engine does them (sql.c): one
 * statement per call (a second one, even after a ';', is CN_EINVAL); as
 * many values as the statement has parameters (else CN_EINVAL). Values:
 * a CN_V_TEXT with len (size_t)-1 (cn_v_text) is NUL-terminated, any
 * other len is its length (NULs allowed); text that is not UTF-8 and
 * non-finite reals are CN_EINVAL; JSON strings, numbers, null bind as
 * themselves, true/false as 1/0, arrays and objects as their JSON text.
 * Columns: INTEGER, REAL, TEXT, NULL become JSON; a BLOB, text that is not
 * UTF-8 or an infinite REAL is CN_EINVAL (select hex(col) for bytes). A
 * body may not run BEGIN/COMMIT/SAVEPOINT, ATTACH, TEMP objects or
 * PRAGMAs other than introspection ones (CN_EINVAL in a write,
 * CN_EREADONLY in a read, like any write there).
 *
 * The SQLite engine is sqlite.c, writer.c, sql.c and migrate.c, with their
 * private layout in sqlite_int.h. */
#ifndef CN_DATA_STORE_H
#define CN_DATA_STORE_H

#include <cairn.h>

#include "common/common.h"

/* The tables a transaction read or wrote: a small set of names (distinct
 * without regard to ASCII case, in first-seen order), each a
 * NUL-terminated copy owned by the set, and for each, which of its
 * columns:
 *   - cols[i] NULL: the whole table (any column; for a write, rows came
 *     or went, or the schema changed, or nothing finer is known);
 *   - otherwise the columns named (again without regard to case): for a
 *     read, the columns it used anywhere ("" when it used none, as
 *     count(*)); for a write, the columns an UPDATE changed in rows that
 *     stayed (same rowid).
 * A read and a write overlap when they share a table whose column sets
 * meet, or either side is the whole table: a query's result is a
 * function of the columns it names over the rows of its tables, so an
 * UPDATE of other columns in place cannot change it (a query without
 * ORDER BY, scanned through an index on a column it does not name, may
 * see such an UPDATE reorder its rows: SQL leaves that order open, and
 * the next re-run catches up).
 * Start from {0}; release with cn__rwset_clear. SQLite's own tables
 * (sqlite_*) are never listed. */
#define CN__RWSET_MAX 64
typedef struct cn__rwcols {
  char **names;
  size_t n, cap;
} cn__rwcols;
typedef struct cn__rwset {
  char *tables[CN__RWSET_MAX];
  cn__rwcols *cols[CN__RWSET_MAX];
  size_t n;
  int overflow; /* more than CN__RWSET_MAX: treat as "every table" */
} cn__rwset;

/* Add the whole table name (a copy) unless present; present with
 * columns, it becomes whole. 0 or CN_ENOMEM (the set is then marked
 * overflow: "every table" is a safe over-approximation). */
int cn__rwset_add(cn__rwset *s, const char *name);
/* Add column col ("" for none) of table name, unless the table is whole
 * already. 0 or CN_ENOMEM (the table is then whole, or the set overflow). */
int cn__rwset_add_col(cn__rwset *s, const char *name, const char *col);
/* Add every table (with its columns) of src to dst (either may be NULL).
 * 0 or CN_ENOMEM. */
int cn__rwset_merge(cn__rwset *dst, const cn__rwset *src);
/* 1 when a and b overlap (above), or either overflowed. */
int cn__rwset_overlaps(const cn__rwset *a, const cn__rwset *b);
/* The index of table name in s, or -1. */
int cn__rwset_find(const cn__rwset *s, const char *name);
void cn__rwset_clear(cn__rwset *s);

/* What one write changed, row by row: every row an INSERT, UPDATE or
 * DELETE touched (triggers and foreign-key cascades included), with its
 * old and new versions as JSON objects (column -> value: INTEGER, REAL,
 * TEXT and NULL as themselves, a BLOB as {"$blob": "<hex>"}, text that
 * is not UTF-8 as null; virtual generated columns, computed when read,
 * are left out). Bounded: past CN__ROWLOG_MAX_ROWS rows or
 * CN__ROWLOG_MAX_BYTES of values in one write, the rows are dropped and
 * `partial` says so; `tables` still names every table whose rows
 * changed, and the write set then says whole tables. */
#define CN__ROWLOG_MAX_ROWS 10000
#define CN__ROWLOG_MAX_BYTES (4u << 20)
typedef struct cn__rowchange {
  char *table;
  char op; /* 'I', 'U' or 'D' */
  int64_t old_rowid, new_rowid; /* 0 for a WITHOUT ROWID table */
  json_t *old_row, *new_row;    /* NULL for an insert's old, a delete's new */
  /* the engine's own, while it builds the log */
  uint64_t changed; /* UPDATE: bit i = column i changed (i < 64) */
  int wide;         /* more than 64 columns: changed says too little */
} cn__rowchange;
typedef struct cn__rowlog {
  cn__rowchange *rows;
  size_t n, cap;
  size_t bytes;
  int partial;
  cn__rwset tables; /* whole entries: every table a row of which changed */
} cn__rowlog;

/* Drop rows past the first n (a nested write rolled back); n = 0 and
 * partial off with cn__rowlog_clear, which also frees the tables. */
void cn__rowlog_truncate(cn__rowlog *l, size_t n);
void cn__rowlog_clear(cn__rowlog *l);

typedef struct cn__store cn__store;

typedef struct cn__store_opts {
  const char *url;      /* DATABASE_URL; NULL or "" = sqlite:<default_path> */
  const char *default_path; /* ".cairn/data.db" under the app */
  int durability_full;  /* fsync each group commit (survives power loss) */
  int readers;          /* read connections kept open; 0 = 8. Readers wait
                           when all are lent out. */
  int busy_timeout_ms;  /* how long to wait for another process holding the
                           file's write lock before CN_ECONFLICT; 0 = 5000 */
  /* 0: this process holds the file exclusively while the store is open
   * (another process opening it waits busy_timeout_ms, then fails), so
   * that reads take no file locks. 1: other processes may open it too
   * (the sqlite3 shell, a second server), at the price of file locks on
   * every transaction; their writes are not seen by live queries. */
  int shared;
} cn__store_opts;

/* Open (creating the file and its folder when missing), WAL mode,
 * foreign keys on, synchronous NORMAL (a commit survives kill -9: it is in
 * the OS's page cache) or FULL with durability_full. The URL is
 * "sqlite:PATH" or "sqlite://PATH" (PATH relative to the working
 * directory; never a URI, never :memory:). OUT: *out. CN_EINVAL for a URL
 * of another scheme, CN_EIO when the database cannot be opened (not a
 * database, not writable...); err gets a sentence naming the path. The
 * caller frees the store with cn__store_close, after its last read and
 * write have returned (never from a body or a commit listener, which
 * close would wait for): close stops the writer thread after the queued
 * writes, waits for reads in flight, and refuses new ones (CN_ECLOSED). */
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

/* Migrations for one engine: data/migrations/NNN_name.sql is for every
 * engine; NNN_name.sqlite.sql and NNN_name.postgres.sql for one, and
 * where one exists it replaces NNN_name.sql on its engine.
 * cn__migration_engine: the engine a file name is for ("" for every
 * one); OUT: *base_len, the length of its NNN_name.
 * cn__migration_variants: 1 when a and b are one migration written for
 * different engines (same NNN_name, different engines).
 * cn__migrations_for: the migrations of m that engine ("sqlite",
 * "postgres") applies, in order, into out (room for n); their count. */
const char *cn__migration_engine(const char *name, size_t *base_len);
int cn__migration_variants(const char *a, const char *b);
size_t cn__migrations_for(const char *engine, const cn_manifest_migration *m,
                          size_t n, cn_manifest_migration *out);

/* The body of a transaction: return 0 to commit (writes) / finish
 * (reads), non-zero to roll back; that value is returned to the caller. */
typedef int cn__store_body(cn_db *db, void *arg);

/* Run body on a read-only snapshot (BEGIN...COMMIT on a read-only
 * connection with query_only). OUT: reads (may be NULL): the tables body
 * read are added to it. Returns body's result, or CN_EIO/CN_ENOMEM when
 * the transaction could not be opened, CN_ECLOSED when the store is
 * closing. */
int cn__store_read(cn__store *st, cn__store_body *body, void *arg,
                   cn__rwset *reads);

/* Run body as one serializable transaction on the writer, and return once
 * it is committed and durable (or rolled back). Contention never reaches
 * the caller: writes queue. OUT: writes (may be NULL) the tables written
 * and reads (may be NULL) the tables read are added to them (writes stays
 * empty when rolled back); *commit_ts (may be NULL) the commit's
 * timestamp (0 when rolled back, and in a nested write, which commits
 * with its outer one). Returns body's result (its writes undone when
 * non-zero), CN_EIO when the commit failed (every write of the group is
 * undone and each caller told), CN_ECONFLICT when another process kept
 * the file locked past busy_timeout_ms, CN_ECLOSED when the store is
 * closing, CN_EREADONLY from inside a read body, CN_ESTATE from a commit
 * listener.
 *
 * A body may run twice: when another write of its group rolls the whole
 * transaction back (INSERT OR ROLLBACK, RAISE(ROLLBACK), an I/O error),
 * the writes grouped with it run again in a new transaction. The first
 * run left nothing in the database; whatever it did outside (e.g. a
 * result kept in arg) must be safe to redo (replace, not append). */
int cn__store_write(cn__store *st, cn__store_body *body, void *arg,
                    cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts);

/* Called on the writer thread after each durable commit, once per write
 * of the group that committed, in commit order, before the writers are
 * answered. writes is the write's own set, rows what it changed row by
 * row; both valid during the call. */
typedef void cn__store_commit_fn(void *arg, uint64_t commit_ts,
                                 const cn__rwset *writes,
                                 const cn__rowlog *rows);
/* Register the one listener (live queries). 0 or CN_EEXIST. */
int cn__store_on_commit(cn__store *st, cn__store_commit_fn *fn, void *arg);

/* The database's message for the last failed cn_db_* call on db, with the
 * SQL it ran ("" when none failed); cleared when a body starts and by each
 * cn_db_* call. Valid until the body returns: copy it if needed later. */
const char *cn__db_error(const cn_db *db);

/* The last commit's timestamp (0 before any). */
uint64_t cn__store_ts(const cn__store *st);

/* 1 when a read would start at once, without network I/O or waiting for a
 * connection (an idle SQLite reader); 0 otherwise, and always on
 * PostgreSQL. A hint: it may be stale by the time the read starts. */
int cn__store_read_ready(cn__store *st);

#endif
