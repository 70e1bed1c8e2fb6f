/* migrate.c: data/migrations/NNN_name.sql applied in order, once each
 * (store.h: cn__store_migrate).
 *
 * The record is the table _cairn_migrations(name, applied_at), kept in the
 * database itself so that it moves with the data. Each migration runs in
 * its own BEGIN IMMEDIATE transaction together with its record: it is
 * applied and recorded, or neither. The record is looked up again inside
 * that transaction, under the write lock: of two processes starting at
 * once, the second finds the first's record and skips.
 *
 * A migration is the app's own SQL, several statements, so it runs with
 * sqlite3_exec (no value of a request ever gets near it). It may not
 * control the transaction (BEGIN, COMMIT, SAVEPOINT): the authorizer
 * refuses those, as they would break "all or nothing". It runs on a
 * connection of its own, opened for the migration and closed after, so
 * the writer thread's connection is never touched from another thread. */
#include <stdio.h>
#include <time.h>

#include "data/sqlite_int.h"

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS _cairn_migrations ("
    "name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)";

/* Run sql (internal: no authorizer checks) binding text a and, when b >=
 * 0, the integer b. OUT: *found, 1 when it returned a row. An SQLite
 * code. */
static int simple(cn_db *db, const char *sql, const char *a, int64_t b,
                  int *found) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
  if (rc == SQLITE_OK && a)
    rc = sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && b >= 0)
    rc = sqlite3_bind_int64(s, 2, b);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (found)
      *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
      rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc;
}

/* Apply m unless recorded. OUT: *applied_one. 0, or a CN_E* with err. */
static int apply(cn_db *db, const cn_manifest_migration *m, int *applied_one,
                 char *err, size_t errlen) {
  int found = 0, rc;
  char *msg = NULL;
  *applied_one = 0;
  rc = cn__sq_internal(db, CN__SQ_BEGIN_IMMEDIATE);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "data/migrations/%s: %s", m->name,
             sqlite3_errmsg(db->h));
    return (rc & 0xff) == SQLITE_BUSY ? CN_ECONFLICT : CN_EIO;
  }
  rc = simple(db, "SELECT 1 FROM _cairn_migrations WHERE name = ?", m->name,
              -1, &found);
  if (rc != SQLITE_OK || found)
    goto finish;
  db->mode = CN__SQ_MIGRATE;
  db->deny_why = NULL;
  rc = sqlite3_exec(db->h, m->sql, NULL, NULL, &msg);
  db->mode = CN__SQ_INTERNAL;
  if (rc != SQLITE_OK) {
    const char *why = (rc & 0xff) == SQLITE_AUTH && db->deny_why
                          ? db->deny_why
                          : msg ? msg : sqlite3_errstr(rc);
    snprintf(err, errlen, "data/migrations/%s: %s", m->name, why);
    sqlite3_free(msg);
    if (!sqlite3_get_autocommit(db->h))
      cn__sq_internal(db, CN__SQ_ROLLBACK);
    return cn__sq_code(rc) == CN_ENOMEM ? CN_ENOMEM : CN_EINVAL;
  }
  rc = simple(db, "INSERT INTO _cairn_migrations (name, applied_at) "
                  "VALUES (?1, ?2)",
              m->name, (int64_t)time(NULL), NULL);
  *applied_one = rc == SQLITE_OK;
finish:
  if (rc == SQLITE_OK)
    rc = cn__sq_internal(db, CN__SQ_COMMIT);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "data/migrations/%s: %s", m->name,
             sqlite3_errmsg(db->h));
    if (!sqlite3_get_autocommit(db->h))
      cn__sq_internal(db, CN__SQ_ROLLBACK);
    *applied_one = 0;
    return cn__sq_code(rc) == CN_ENOMEM ? CN_ENOMEM : CN_EIO;
  }
  return 0;
}

int cn__sq_migrate(cn__store *st, const cn_manifest_migration *m, size_t n,
                      size_t *applied, char *err, size_t errlen) {
  char dummy[1];
  cn_db *db = NULL;
  size_t count = 0;
  int rc;
  if (!err || !errlen)
    err = dummy, errlen = sizeof dummy;
  *err = '\0';
  if (applied)
    *applied = 0;
  if (!st || (n && !m))
    return CN_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!m[i].name || !*m[i].name || !m[i].sql) {
      snprintf(err, errlen, "data/migrations: migration %zu has no %s", i,
               m[i].sql ? "name" : "SQL");
      return CN_EINVAL;
    }
  }
  rc = cn__sq_conn_open(st, CN__SQ_MIGRATOR, &db, err, errlen);
  if (rc)
    return rc;
  /* IF NOT EXISTS is decided under the write lock: two processes creating
   * it at once both succeed. */
  if ((rc = simple(db, create_sql, NULL, -1, NULL)) != SQLITE_OK) {
    snprintf(err, errlen, "data/migrations: %s", sqlite3_errmsg(db->h));
    rc = (rc & 0xff) == SQLITE_BUSY ? CN_ECONFLICT : CN_EIO;
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    int one = 0;
    if ((rc = apply(db, &m[i], &one, err, errlen)))
      goto cleanup;
    count += (size_t)one;
  }
cleanup:
  cn__sq_conn_close(db);
  if (applied)
    *applied = count;
  return rc;
}
