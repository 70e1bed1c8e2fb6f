/* sqlite.c: the SQLite engine of the store (store.h): where the database
 * is, how its connections are set up, the pool of readers and the read
 * path. The writer is in writer.c, statements in sql.c, migrations in
 * migrate.c; sqlite_int.h holds the layout they share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/sqlite_int.h"

static _Thread_local cn_db *tls_current;

cn_db *cn__sq_current(void) { return tls_current; }
void cn__sq_set_current(cn_db *db) { tls_current = db; }

int cn__sq_code(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return 0;
  case SQLITE_NOMEM:
    return CN_ENOMEM;
  case SQLITE_READONLY:
    return CN_EREADONLY;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return CN_ECONFLICT;
  case SQLITE_TOOBIG:
    return CN_ETOOBIG;
  case SQLITE_ERROR:
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE:
  case SQLITE_AUTH:
  case SQLITE_SCHEMA:
    return CN_EINVAL;
  default: /* IOERR, CORRUPT, FULL, CANTOPEN, NOTADB, PROTOCOL... */
    return CN_EIO;
  }
}

void cn__sq_fail(cn_db *db, const char *msg, const char *sql) {
  if (sql)
    snprintf(db->err, sizeof db->err, "%s (in: %.400s)", msg, sql);
  else
    snprintf(db->err, sizeof db->err, "%s", msg);
}

int cn__sq_internal(cn_db *db, int which) {
  sqlite3_stmt *s = db->internal[which];
  int mode = db->mode;
  db->mode = CN__SQ_INTERNAL;
  int rc = sqlite3_step(s);
  while (rc == SQLITE_ROW) /* PRAGMA query_only answers nothing; be sure */
    rc = sqlite3_step(s);
  sqlite3_reset(s);
  db->mode = mode;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ------------------------------------------------------------ the URL */

/* The database file named by url (or default_path). OUT: *path, heap. */
static int url_path(const cn__store_opts *o, char **path, char *err,
                    size_t errlen) {
  const char *url = o->url;
  const char *p;
  if (!url || !*url) {
    p = o->default_path;
    if (!p || !*p) {
      snprintf(err, errlen, "no DATABASE_URL and no default database path");
      return CN_EINVAL;
    }
  } else if (strncasecmp(url, "sqlite://", 9) == 0) {
    p = url + 9;
  } else if (strncasecmp(url, "sqlite:", 7) == 0) {
    p = url + 7;
  } else { /* postgres:// went to pg.c (store.c) */
    snprintf(err, errlen,
             "DATABASE_URL \"%.200s\": unknown scheme (use sqlite:PATH or "
             "postgres://...)",
             url);
    return CN_EINVAL;
  }
  if (!*p) {
    snprintf(err, errlen, "DATABASE_URL \"%.200s\" names no file", url);
    return CN_EINVAL;
  }
  /* Readers and the writer are separate connections: they must meet in
   * one file, which an in-memory or temporary database is not. */
  if (strcmp(p, ":memory:") == 0 || strncasecmp(p, "file:", 5) == 0) {
    snprintf(err, errlen,
             "DATABASE_URL \"%.200s\": the database must be a file path",
             url);
    return CN_EINVAL;
  }
  *path = cn__strdup(p);
  if (!*path) {
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  return 0;
}

/* mkdir -p of path's folder. */
static int make_parent(const char *path, char *err, size_t errlen) {
  char *dir = cn__strdup(path);
  int rc = 0;
  if (!dir) {
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    goto cleanup; /* the working directory, or / */
  *slash = '\0';
  for (char *q = dir + 1; q <= slash; q++) {
    if (*q != '/' && *q != '\0')
      continue;
    char c = *q;
    *q = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create the database's folder %s: %s",
               dir, strerror(errno));
      rc = CN_EIO;
      goto cleanup;
    }
    *q = c;
  }
cleanup:
  cn__free(dir);
  return rc;
}

/* ---------------------------------------------------------- connections */

static const char *const internal_sql[CN__SQ_NINTERNAL] = {
    [CN__SQ_BEGIN] = "BEGIN",
    [CN__SQ_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [CN__SQ_COMMIT] = "COMMIT",
    [CN__SQ_ROLLBACK] = "ROLLBACK",
    [CN__SQ_SAVEPOINT] = "SAVEPOINT cn_w",
    [CN__SQ_RELEASE] = "RELEASE cn_w",
    [CN__SQ_ROLLBACK_TO] = "ROLLBACK TO cn_w",
    [CN__SQ_QUERY_ONLY_ON] = "PRAGMA query_only = ON",
    [CN__SQ_QUERY_ONLY_OFF] = "PRAGMA query_only = OFF",
};

/* One PRAGMA or statement of the set-up, whose answer (if any) must be
 * `want` (NULL: any). */
static int setup(cn_db *db, const char *sql, const char *want, char *err,
                 size_t errlen) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && want) {
      const char *got = (const char *)sqlite3_column_text(s, 0);
      if (!got || strcasecmp(got, want) != 0) {
        snprintf(err, errlen, "%s: %s answered \"%s\", not \"%s\"",
                 db->st->path, sql, got ? got : "", want);
        sqlite3_finalize(s);
        return CN_EIO;
      }
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
      rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK && (rc & 0xff) == SQLITE_BUSY && !db->st->shared) {
    snprintf(err, errlen, "the database %s is held by another process (a "
             "cairn server already running?): cairn keeps its SQLite file "
             "to itself unless cairn.json says \"data\": {\"exclusive\": "
             "false}", db->st->path);
    rc = CN_ECONFLICT;
  } else if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open the database %s: %s", db->st->path,
             sqlite3_errmsg(db->h));
    rc = cn__sq_code(rc) == CN_ENOMEM ? CN_ENOMEM : CN_EIO;
  }
  sqlite3_finalize(s);
  return rc;
}

static int conn_setup(cn_db *db, int writable, char *err, size_t errlen) {
  cn__store *st = db->st;
  char sql[64];
  int rc;
  sqlite3_busy_timeout(db->h, st->busy_ms);
  sqlite3_extended_result_codes(db->h, 1);
  /* No ATTACH: a body sees one database, and a file name is never taken
   * from SQL. Defensive: no writable_schema, no corrupting PRAGMAs. The
   * schema is trusted, said explicitly (a build may default to untrusted,
   * which refuses JSON functions in triggers, views and defaults): it is
   * the app's own, from its migrations. */
  sqlite3_limit(db->h, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
  sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 1, (int *)0);
  sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
                    (int *)0);
  if (writable) {
    if ((rc = setup(db, "PRAGMA journal_mode = WAL", "wal", err, errlen)))
      return rc;
    snprintf(sql, sizeof sql, "PRAGMA synchronous = %s",
             st->durability_full ? "FULL" : "NORMAL");
    if ((rc = setup(db, sql, NULL, err, errlen)))
      return rc;
    /* Keep the WAL from staying large after a burst. */
    if ((rc = setup(db, "PRAGMA journal_size_limit = 67108864", NULL, err,
                    errlen)))
      return rc;
  } else {
    if ((rc = setup(db, "PRAGMA query_only = ON", NULL, err, errlen)))
      return rc;
    /* A read-only connection cannot switch the file to WAL; check the
     * writer did (reading the header also proves it is a database). */
    if ((rc = setup(db, "PRAGMA journal_mode", "wal", err, errlen)))
      return rc;
  }
  if ((rc = setup(db, "PRAGMA foreign_keys = ON", NULL, err, errlen)))
    return rc;
  for (int i = 0; i < CN__SQ_NINTERNAL; i++) {
    if (sqlite3_prepare_v3(db->h, internal_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &db->internal[i], NULL) != SQLITE_OK) {
      snprintf(err, errlen, "cannot open the database %s: %s", st->path,
               sqlite3_errmsg(db->h));
      return CN_EIO;
    }
  }
  sqlite3_set_authorizer(db->h, cn__sq_authorize, db);
  return 0;
}

int cn__sq_conn_open(cn__store *st, int role, cn_db **out, char *err,
                     size_t errlen) {
  cn_db *db = cn__calloc(1, sizeof *db);
  if (db)
    db->engine = &cn__sqlite_engine;
  int rc;
  if (!db) {
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  db->st = st;
  db->writer = role != CN__SQ_READER;
  /* Never a URI: the path is a path, whatever characters it holds. */
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_PRIVATECACHE;
  if (role == CN__SQ_WRITER)
    flags |= SQLITE_OPEN_CREATE;
  /* Held exclusively ("unix-excl"), the file is locked against other
   * processes once, by the first connection, and every later lock is
   * taken in this process's memory: the WAL index lives on the heap, not
   * in a -shm file, and a read transaction costs no system call (with
   * the shared file, each one took fcntl locks under a mutex all readers
   * fight for: a third of a small query's CPU). A reader must then be a
   * read-write connection, as unix-excl keeps taking real fcntl locks for
   * read-only ones, which would downgrade the process's own exclusive
   * lock; query_only and the authorizer still refuse its writes. */
  if (role == CN__SQ_READER && st->shared)
    flags = (flags & ~SQLITE_OPEN_READWRITE) | SQLITE_OPEN_READONLY;
  rc = sqlite3_open_v2(st->path, &db->h, flags,
                       st->shared ? NULL : "unix-excl");
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open the database %s: %s", st->path,
             db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
    rc = rc == SQLITE_NOMEM ? CN_ENOMEM : CN_EIO;
    goto fail;
  }
  if ((rc = conn_setup(db, db->writer, err, errlen)))
    goto fail;
  *out = db;
  return 0;
fail:
  cn__sq_conn_close(db);
  return rc;
}

void cn__sq_conn_close(cn_db *db) {
  if (!db)
    return;
  cn__sq_cache_clear(db);
  for (int i = 0; i < CN__SQ_NINTERNAL; i++)
    sqlite3_finalize(db->internal[i]);
  sqlite3_close(db->h);
  cn__free(db);
}

/* --------------------------------------------------------- open, close */

static void store_free(cn__store *st) {
  for (size_t i = 0; i < st->nreaders; i++)
    cn__sq_conn_close(st->readers[i]);
  cn__free(st->readers);
  cn__sq_conn_close(st->wdb);
  cn__sq_tinfo_flush(st);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->wake);
  pthread_mutex_destroy(&st->rmu);
  pthread_cond_destroy(&st->rfree);
  cn__free(st->path);
  cn__free(st);
}

static int sq_open(const cn__store_opts *o, cn__store **out, char *err,
                   size_t errlen) {
  char dummy[1];
  if (!err || !errlen)
    err = dummy, errlen = sizeof dummy;
  *err = '\0';
  if (!o || !out) {
    snprintf(err, errlen, "no store options");
    return CN_EINVAL;
  }
  *out = NULL;
  cn__store *st = cn__calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  st->engine = &cn__sqlite_engine;
  pthread_mutex_init(&st->mu, NULL);
  pthread_cond_init(&st->wake, NULL);
  pthread_mutex_init(&st->rmu, NULL);
  pthread_cond_init(&st->rfree, NULL);
  st->durability_full = o->durability_full;
  st->shared = o->shared;
  st->busy_ms = o->busy_timeout_ms > 0 ? o->busy_timeout_ms
                                       : CN__SQ_DEFAULT_BUSY_MS;
  int rc = url_path(o, &st->path, err, errlen);
  if (rc)
    goto fail;
  if ((rc = make_parent(st->path, err, errlen)))
    goto fail;
  /* The writer first: it creates the file and makes it WAL, which the
   * read-only connections cannot. */
  rc = cn__sq_conn_open(st, CN__SQ_WRITER, &st->wdb, err, errlen);
  if (rc)
    goto fail;
  cn__sq_rows_hook(st->wdb);
  size_t n = o->readers > 0 ? (size_t)o->readers : CN__SQ_DEFAULT_READERS;
  st->readers = cn__calloc(n, sizeof *st->readers);
  if (!st->readers) {
    snprintf(err, errlen, "out of memory");
    rc = CN_ENOMEM;
    goto fail;
  }
  for (; st->nreaders < n; st->nreaders++) {
    cn_db *r;
    rc = cn__sq_conn_open(st, CN__SQ_READER, &r, err, errlen);
    if (rc)
      goto fail;
    st->readers[st->nreaders] = r;
    r->next_idle = st->idle;
    st->idle = r;
  }
  st->nidle = n;
  if (pthread_create(&st->thread, NULL, cn__sq_writer_main, st) != 0) {
    snprintf(err, errlen, "cannot start the database's writer thread");
    rc = CN_ESYS;
    goto fail;
  }
  st->thread_started = 1;
  *out = st;
  return 0;
fail:
  store_free(st);
  return rc;
}

static void sq_close(cn__store *st) {
  if (!st)
    return;
  pthread_mutex_lock(&st->mu);
  st->closing = 1;
  pthread_cond_signal(&st->wake);
  pthread_mutex_unlock(&st->mu);
  if (st->thread_started)
    pthread_join(st->thread, NULL); /* it drains the queue first */
  /* Reads in flight finish on their connection; new ones are refused. */
  pthread_mutex_lock(&st->rmu);
  st->rclosing = 1;
  pthread_cond_broadcast(&st->rfree); /* takers waiting: answer CN_ECLOSED */
  while (st->nidle < st->nreaders)
    pthread_cond_wait(&st->rfree, &st->rmu);
  pthread_mutex_unlock(&st->rmu);
  store_free(st);
}

static int sq_on_commit(cn__store *st, cn__store_commit_fn *fn,
                        void *arg) {
  int rc = 0;
  pthread_mutex_lock(&st->mu);
  if (st->on_commit)
    rc = CN_EEXIST;
  else
    st->on_commit = fn, st->on_commit_arg = arg;
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static uint64_t sq_ts(const cn__store *st) {
  return atomic_load(&((cn__store *)st)->ts);
}

/* ----------------------------------------------------------------- reads */

/* More than one idle reader: one for this read, and room for another
 * thread's, so an I/O thread that reads now is unlikely to wait. */
static int sq_read_ready(cn__store *st) {
  pthread_mutex_lock(&st->rmu);
  int ready = st->nidle > 1 && !st->rclosing;
  pthread_mutex_unlock(&st->rmu);
  return ready;
}

static cn_db *reader_take(cn__store *st) {
  cn_db *db = NULL;
  pthread_mutex_lock(&st->rmu);
  while (!st->idle && !st->rclosing)
    pthread_cond_wait(&st->rfree, &st->rmu);
  if (!st->rclosing) {
    db = st->idle;
    st->idle = db->next_idle;
    st->nidle--;
  }
  pthread_mutex_unlock(&st->rmu);
  return db;
}

static void reader_give(cn__store *st, cn_db *db) {
  pthread_mutex_lock(&st->rmu);
  db->next_idle = st->idle;
  st->idle = db;
  st->nidle++;
  /* Broadcast: close waits for all of them, takers for one. */
  pthread_cond_broadcast(&st->rfree);
  pthread_mutex_unlock(&st->rmu);
}

/* A read inside a running body on this thread: the same snapshot (or the
 * running write, whose own changes it then sees), made read-only for the
 * nested body's span when the outer one is a write. */
static int read_nested(cn_db *db, cn__store_body *body, void *arg,
                       cn__rwset *reads) {
  cn__rwset local = {0}, *outer_reads = db->reads, *outer_writes = db->writes;
  int outer_mode = db->mode, rc;
  if (outer_mode == CN__SQ_WRITE &&
      cn__sq_internal(db, CN__SQ_QUERY_ONLY_ON) != SQLITE_OK)
    return CN_EIO;
  db->mode = CN__SQ_READ;
  db->reads = &local;
  db->writes = NULL;
  rc = body(db, arg);
  db->mode = outer_mode;
  db->reads = outer_reads;
  db->writes = outer_writes;
  if (outer_mode == CN__SQ_WRITE &&
      cn__sq_internal(db, CN__SQ_QUERY_ONLY_OFF) != SQLITE_OK && rc == 0)
    rc = CN_EIO;
  cn__rwset_merge(outer_reads, &local);
  cn__rwset_merge(reads, &local);
  cn__rwset_clear(&local);
  return rc;
}

static int sq_read(cn__store *st, cn__store_body *body, void *arg,
                   cn__rwset *reads) {
  if (!st || !body)
    return CN_EINVAL;
  cn_db *cur = cn__sq_current();
  if (cur && cur->st == st)
    return read_nested(cur, body, arg, reads);
  cn_db *db = reader_take(st);
  if (!db)
    return CN_ECLOSED;
  int rc = cn__sq_internal(db, CN__SQ_BEGIN);
  if (rc != SQLITE_OK) {
    rc = cn__sq_code(rc) == CN_ENOMEM ? CN_ENOMEM : CN_EIO;
    goto cleanup;
  }
  cn__sq_body_begin(db, CN__SQ_READ, reads, NULL);
  cn__sq_set_current(db);
  rc = body(db, arg);
  cn__sq_set_current(cur);
  cn__sq_body_end(db);
  /* A snapshot has nothing to commit: ending it cannot fail in a way that
   * changes what the body saw. */
  if (cn__sq_internal(db, CN__SQ_COMMIT) != SQLITE_OK &&
      !sqlite3_get_autocommit(db->h))
    cn__sq_internal(db, CN__SQ_ROLLBACK);
cleanup:
  reader_give(st, db);
  return rc;
}

/* ------------------------------------------------------------ the engine */

static int sq_claims(const char *url) {
  return !strncasecmp(url, "sqlite:", 7);
}

const cn__engine cn__sqlite_engine = {
    .name = "sqlite",
    .read_ready = sq_read_ready,
    .claims = sq_claims,
    .open = sq_open,
    .close = sq_close,
    .migrate = cn__sq_migrate,
    .read = sq_read,
    .write = cn__sq_write,
    .on_commit = sq_on_commit,
    .ts = sq_ts,
    .call = cn__sq_call,
    .last_id = cn__sq_last_id,
    .error = cn__sq_error,
};
