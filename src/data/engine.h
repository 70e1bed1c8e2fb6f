/*
 * The engines behind store.h. The store's functions and the cn_db_*
 * helpers of <cairn.h> are one interface (store.c dispatches); each
 * engine implements it: SQLite (sqlite.c, writer.c, sql.c, migrate.c,
 * rows.c) and, for many instances, PostgreSQL. DATABASE_URL's scheme
 * picks the engine.
 *
 * Layout rule: an engine's struct cn__store and struct cn_db both begin
 * with `const cn__engine *engine`, which is how store.c finds the
 * functions for a handle it does not otherwise look into.
 */
#ifndef CN_DATA_ENGINE_H
#define CN_DATA_ENGINE_H

#include "data/store.h"

/* What a cn_db_* call answers: every row, one row, one value, the count
 * of changed rows (store.h has the rules of each). */
enum { CN__SHAPE_ALL, CN__SHAPE_ONE, CN__SHAPE_VALUE, CN__SHAPE_EXEC };

typedef struct cn__engine {
  const char *name;
  /* 1 when url (not NULL, not "") names this engine's databases. */
  int (*claims)(const char *url);
  /* The functions of store.h, as they are specified there. */
  int (*open)(const cn__store_opts *o, cn__store **out, char *err,
              size_t errlen);
  void (*close)(cn__store *st);
  int (*migrate)(cn__store *st, const cn_manifest_migration *m, size_t n,
                 size_t *applied, char *err, size_t errlen);
  int (*read)(cn__store *st, cn__store_body *body, void *arg,
              cn__rwset *reads);
  int (*write)(cn__store *st, cn__store_body *body, void *arg,
               cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts);
  int (*on_commit)(cn__store *st, cn__store_commit_fn *fn, void *arg);
  uint64_t (*ts)(const cn__store *st);
  /* 1 when a read would start at once, with no network round trip and no
   * wait for a connection: a short query may then run on an I/O thread.
   * NULL: never (PostgreSQL). */
  int (*read_ready)(cn__store *st);
  /* cn_db_all/one/value/exec: shape says which (db is not NULL). */
  int (*call)(cn_db *db, int shape, json_t **out, int64_t *changes,
              const char *sql, size_t nargs, const cn_val *args);
  int64_t (*last_id)(cn_db *db);
  const char *(*error)(const cn_db *db);
} cn__engine;

extern const cn__engine cn__sqlite_engine;
extern const cn__engine cn__pg_engine;

/* pg.c: sql with each `?` outside quotes ('...', "..."), comments (--,
 * nested slash-star) and dollar-quoted text ($tag$...$tag$) written as
 * $1, $2 ..., and SQLite's ?NNN as $NNN, appended to out NUL-terminated.
 * OUT: *count, the largest parameter number (SQLite's count). 0 or
 * CN_ENOMEM. */
int cn__pg_placeholders(const char *sql, cn__buf *out, size_t *count);

#define CN__ENGINE_OF(handle) (*(const cn__engine *const *)(handle))

#endif
