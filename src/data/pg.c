/*
 * pg.c: the PostgreSQL engine of the store (store.h, engine.h), for apps
 * that run as many instances: DATABASE_URL=postgres://... (or
 * postgresql://), libpq.
 *
 * The model of store.h, on this engine:
 *   - a pool of connections (CN__PG_DEFAULT_POOL, or the readers option),
 *     lent to one body at a time; a caller waits when all are out;
 *   - a read is BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ: one
 *     snapshot, and the database refuses writes;
 *   - a write is BEGIN ISOLATION LEVEL SERIALIZABLE, run again from the
 *     start when PostgreSQL reports a serialization failure or a deadlock
 *     (SQLSTATE 40001, 40P01), after a random wait that grows with the
 *     attempts, up to CN__PG_RETRIES times, then CN_ECONFLICT (a 409);
 *     writes of different callers run at once, the database keeps them
 *     serializable;
 *   - commit timestamps count this process's acknowledged writes, taken
 *     after the COMMIT under one mutex that also orders the commit
 *     listener's calls, so listeners hear commits in the order of their
 *     timestamps and every commit before a timestamp is visible to a read
 *     that starts after it;
 *   - read and write sets name tables, found from the planner
 *     (pg_sets.c); another instance's commit names the tables it wrote
 *     (pg_notify.c).
 *
 * SQL: the app writes `?` placeholders, as for SQLite; they become $1, $2
 * ... (outside quotes, comments and dollar-quoted text). Values are sent
 * as text and typed by the server; results come back as JSON by column
 * type: integers, floats and numerics as numbers, booleans as true/false,
 * json/jsonb as their value, NULL as null, bytea refused (CN_EINVAL, as a
 * BLOB on SQLite: select encode(col, 'hex')), any other type as its text.
 * Unlike SQLite, a failed statement aborts the transaction it is in: the
 * body's later statements fail too, until a nested write's SAVEPOINT is
 * rolled back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "data/pg_int.h"

static _Thread_local pg_db *tls_current;

/* ----------------------------------------------------------- helpers */

void cn__pg_fail(pg_db *db, const char *msg, const char *sql) {
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--; /* libpq ends its messages with a newline */
  if (sql)
    snprintf(db->err, sizeof db->err, "%.*s (in: %.400s)", (int)n, msg, sql);
  else
    snprintf(db->err, sizeof db->err, "%.*s", (int)n, msg);
}

/* The database's own sentence for a failed result ("relation x does
 * not exist"), without libpq's "ERROR:  " and line breaks. */
const char *cn__pg_msg(const PGresult *r) {
  const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  return m ? m : r ? PQresultErrorMessage(r) : "no answer from the database";
}

/* The CN_E* code of a failed result, by SQLSTATE class. */
int cn__pg_code(const PGresult *r) {
  const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  if (!s)
    return CN_EIO; /* no answer at all: the connection */
  if (!strcmp(s, "40001") || !strcmp(s, "40P01"))
    return CN_ECONFLICT;
  if (!strcmp(s, "25006")) /* read-only transaction */
    return CN_EREADONLY;
  if (!strncmp(s, "53", 2)) /* insufficient resources */
    return CN_ENOMEM;
  if (!strncmp(s, "08", 2) || !strncmp(s, "57", 2) || !strncmp(s, "58", 2))
    return CN_EIO; /* connection, operator intervention, system */
  return CN_EINVAL; /* the statement: syntax, constraint, data */
}

/* Run a statement of our own (BEGIN, COMMIT, SAVEPOINT...). */
int cn__pg_internal(pg_db *db, const char *sql) {
  PGresult *r = PQexec(db->c, sql);
  ExecStatusType st = PQresultStatus(r);
  int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : cn__pg_code(r);
  if (rc)
    cn__pg_fail(db, cn__pg_msg(r), sql);
  PQclear(r);
  return rc;
}

/* ------------------------------------------------------------- pool */

static pg_db *take(pg_store *st) {
  pg_db *db = NULL;
  pthread_mutex_lock(&st->mu);
  while (!st->idle && !st->closing)
    pthread_cond_wait(&st->freed, &st->mu);
  if (!st->closing) {
    db = st->idle;
    st->idle = db->next_idle;
    st->nidle--;
  }
  pthread_mutex_unlock(&st->mu);
  return db;
}

static void give(pg_store *st, pg_db *db) {
  /* A connection that broke is made again before anyone gets it. */
  if (PQstatus(db->c) != CONNECTION_OK)
    PQreset(db->c);
  pthread_mutex_lock(&st->mu);
  db->next_idle = st->idle;
  st->idle = db;
  st->nidle++;
  pthread_cond_broadcast(&st->freed);
  pthread_mutex_unlock(&st->mu);
}

static void body_begin(pg_db *db, int mode, cn__rwset *reads,
                       cn__rwset *writes) {
  db->mode = mode;
  db->reads = reads;
  db->writes = writes;
  db->aborted = 0;
  db->conflict = 0;
  db->err[0] = '\0';
  db->thread = pthread_self();
  db->active = 1;
}

static void body_end(pg_db *db) {
  db->active = 0;
  db->mode = PG_IDLE;
  db->reads = db->writes = NULL;
}

/* ------------------------------------------------------ reads, writes */

static int pg_read(cn__store *handle, cn__store_body *body, void *arg,
                   cn__rwset *reads) {
  pg_store *st = (pg_store *)handle;
  if (!body)
    return CN_EINVAL;
  pg_db *cur = tls_current;
  if (cur && cur->st == st) { /* nested: the same transaction */
    int mode = cur->mode;
    cn__rwset local = {0}, *r = cur->reads, *w = cur->writes;
    cur->mode = PG_READ;
    cur->reads = &local;
    cur->writes = NULL;
    int rc = body((cn_db *)cur, arg);
    cur->mode = mode;
    cur->reads = r;
    cur->writes = w;
    cn__rwset_merge(r, &local);
    cn__rwset_merge(reads, &local);
    cn__rwset_clear(&local);
    return rc;
  }
  pg_db *db = take(st);
  if (!db)
    return CN_ECLOSED;
  int rc = cn__pg_internal(db, "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ");
  if (!rc) {
    body_begin(db, PG_READ, reads, NULL);
    tls_current = db;
    rc = body((cn_db *)db, arg);
    tls_current = cur;
    body_end(db);
    cn__pg_internal(db, "COMMIT"); /* a snapshot has nothing to keep */
  }
  give(st, db);
  return rc;
}

/* A write inside a write: a SAVEPOINT, rolled back alone when it fails. */
static int write_nested(pg_db *db, cn__store_body *body, void *arg,
                        cn__rwset *reads, cn__rwset *writes) {
  char sp[48];
  snprintf(sp, sizeof sp, "cn_w%u", ++db->savepoints);
  char sql[80];
  snprintf(sql, sizeof sql, "SAVEPOINT %s", sp);
  int rc = db->aborted ? CN_EINVAL : cn__pg_internal(db, sql);
  cn__rwset rd = {0}, wr = {0}, *outer_rd = db->reads, *outer_wr = db->writes;
  if (!rc) {
    db->reads = &rd;
    db->writes = &wr;
    rc = body((cn_db *)db, arg);
    db->reads = outer_rd;
    db->writes = outer_wr;
    if (rc) {
      snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT %s", sp);
      if (!cn__pg_internal(db, sql))
        db->aborted = 0; /* the failure is undone with it */
    } else {
      snprintf(sql, sizeof sql, "RELEASE SAVEPOINT %s", sp);
      rc = cn__pg_internal(db, sql);
    }
  }
  db->savepoints--;
  /* Reads count either way; writes only when they stay. */
  cn__rwset_merge(outer_rd, &rd);
  cn__rwset_merge(reads, &rd);
  if (!rc) {
    cn__rwset_merge(outer_wr, &wr);
    cn__rwset_merge(writes, &wr);
  }
  cn__rwset_clear(&rd);
  cn__rwset_clear(&wr);
  return rc;
}

static int pg_write(cn__store *handle, cn__store_body *body, void *arg,
                    cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts) {
  pg_store *st = (pg_store *)handle;
  if (commit_ts)
    *commit_ts = 0;
  if (!body)
    return CN_EINVAL;
  pg_db *cur = tls_current;
  if (cur && cur->st == st) {
    if (cur->mode != PG_WRITE)
      return CN_EREADONLY;
    return write_nested(cur, body, arg, reads, writes);
  }
  pg_db *db = take(st);
  if (!db)
    return CN_ECLOSED;
  int rc = 0, again = 1;
  unsigned seed = (unsigned)(uintptr_t)&rc ^ (unsigned)time(NULL);
  for (int attempt = 0; again && attempt < CN__PG_RETRIES; attempt++) {
    again = 0;
    cn__rwset rd = {0}, wr = {0};
    if (attempt) {
      /* Let the others finish: a random wait up to 1, 2, 4 ... 32 ms, so
       * that writers who met do not meet again in step. */
      long cap_us = 1000L << CN__MIN(attempt - 1, 5);
      struct timespec ts = {0, (long)(rand_r(&seed) % (unsigned)cap_us) * 1000L};
      nanosleep(&ts, NULL);
    }
    rc = cn__pg_internal(db, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    if (rc)
      break;
    body_begin(db, PG_WRITE, &rd, &wr);
    tls_current = db;
    rc = body((cn_db *)db, arg);
    tls_current = cur;
    int lost = db->aborted, conflict = db->conflict;
    body_end(db);
    if (rc || lost) {
      cn__pg_internal(db, "ROLLBACK");
      /* A serialization failure runs the body again, whatever the body
       * made of its statement's error; past the last try, CN_ECONFLICT. */
      if (conflict)
        rc = CN_ECONFLICT, again = 1;
      else if (!rc)
        rc = CN_EINVAL; /* it went on past a failed statement */
    } else if ((rc = cn__pg_notify_send(db, &wr)) ||
               (rc = cn__pg_internal(db, "COMMIT"))) {
      if (db->conflict || rc == CN_ECONFLICT)
        again = 1; /* serializable: the commit itself may be refused */
      cn__pg_internal(db, "ROLLBACK"); /* a no-op once COMMIT failed */
    } else {
      /* COMMIT outside the lock of timestamps, so that commits of
       * different connections overlap. */
      cn__pg_committed(st, &wr, commit_ts);
      cn__rwset_merge(reads, &rd);
      cn__rwset_merge(writes, &wr);
    }
    cn__rwset_clear(&rd);
    cn__rwset_clear(&wr);
  }
  give(st, db);
  return rc;
}

void cn__pg_committed(pg_store *st, const cn__rwset *writes, uint64_t *ts) {
  cn__rwset every = {.overflow = 1};
  cn__rowlog rows = {.partial = 1}; /* no rows logged on this engine yet */
  pthread_mutex_lock(&st->commit_mu);
  uint64_t t = atomic_fetch_add(&st->ts, 1) + 1;
  if (ts)
    *ts = t;
  if (st->on_commit)
    st->on_commit(st->on_commit_arg, t, writes ? writes : &every, &rows);
  pthread_mutex_unlock(&st->commit_mu);
}

/* ---------------------------------------------------------- migrations */

/* Every instance may start at once: a transaction-scoped advisory lock
 * makes them take turns; each migration and its record commit together. */
static int pg_migrate(cn__store *handle, const cn_manifest_migration *m,
                      size_t n, size_t *applied, char *err, size_t errlen) {
  pg_store *st = (pg_store *)handle;
  if (applied)
    *applied = 0;
  if (err && errlen)
    *err = '\0';
  if (n && !m)
    return CN_EINVAL;
  pg_db *db = take(st);
  if (!db)
    return CN_ECLOSED;
  int rc = cn__pg_internal(db, "CREATE TABLE IF NOT EXISTS cairn_migrations (name "
                        "text PRIMARY KEY, applied_at timestamptz NOT NULL "
                        "DEFAULT now())");
  if (rc == CN_EINVAL) /* two instances creating it at once */
    rc = cn__pg_internal(db, "SELECT 1 FROM cairn_migrations LIMIT 1");
  for (size_t i = 0; !rc && i < n; i++) {
    rc = cn__pg_internal(db, "BEGIN");
    if (!rc)
      rc = cn__pg_internal(db, "SELECT pg_advisory_xact_lock(7236004157003)");
    const char *pv[1] = {m[i].name};
    PGresult *r = rc ? NULL
                     : PQexecParams(db->c,
                                    "SELECT 1 FROM cairn_migrations WHERE "
                                    "name = $1",
                                    1, NULL, pv, NULL, NULL, 0);
    int done = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r);
    if (r && PQresultStatus(r) != PGRES_TUPLES_OK) {
      rc = cn__pg_code(r);
      cn__pg_fail(db, cn__pg_msg(r), NULL);
    }
    PQclear(r);
    if (!rc && !done) {
      r = PQexec(db->c, m[i].sql); /* may hold many statements */
      if (PQresultStatus(r) != PGRES_COMMAND_OK &&
          PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = CN_EINVAL;
        cn__pg_fail(db, cn__pg_msg(r), NULL);
      }
      PQclear(r);
      if (!rc) {
        r = PQexecParams(db->c, "INSERT INTO cairn_migrations (name) VALUES "
                                "($1)",
                         1, NULL, pv, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
          rc = cn__pg_code(r);
          cn__pg_fail(db, cn__pg_msg(r), NULL);
        }
        PQclear(r);
      }
      if (!rc && applied)
        ++*applied;
    }
    if (rc) {
      cn__pg_internal(db, "ROLLBACK");
      if (err && errlen)
        snprintf(err, errlen, "data/migrations/%s: %s", m[i].name, db->err);
    } else {
      rc = cn__pg_internal(db, "COMMIT");
      if (rc && err && errlen)
        snprintf(err, errlen, "data/migrations/%s: %s", m[i].name, db->err);
    }
  }
  if (rc && err && errlen && !*err)
    snprintf(err, errlen, "data/migrations: %s", db->err);
  give(st, db);
  return rc;
}

/* ------------------------------------------------------- open, close */

static int pg_claims(const char *url) {
  return !strncasecmp(url, "postgres://", 11) ||
         !strncasecmp(url, "postgresql://", 13);
}

/* The URL without its password, for messages. */
static void redact(const char *url, char *out, size_t cap) {
  const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
  const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
  if (at && colon && colon < at)
    snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
  else
    snprintf(out, cap, "%s", url);
}

/* NOTICEs (a table that exists already...) are not the log's business. */
static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static void store_free(pg_store *st) {
  cn__pg_notify_stop(st);
  cn__pg_sets_free(st);
  cn__free(st->url);
  for (size_t i = 0; i < st->n; i++) {
    PQfinish(st->conns[i]->c);
    cn__free(st->conns[i]);
  }
  cn__free(st->conns);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->freed);
  pthread_mutex_destroy(&st->commit_mu);
  cn__free(st);
}

static int pg_open(const cn__store_opts *o, cn__store **out, char *err,
                   size_t errlen) {
  char dummy[1], shown[256];
  if (!err || !errlen)
    err = dummy, errlen = sizeof dummy;
  *err = '\0';
  *out = NULL;
  redact(o->url, shown, sizeof shown);
  pg_store *st = cn__calloc(1, sizeof *st);
  size_t n = o->readers > 0 ? (size_t)o->readers : CN__PG_DEFAULT_POOL;
  if (st)
    st->conns = cn__calloc(n, sizeof *st->conns);
  if (!st || !st->conns) {
    cn__free(st);
    snprintf(err, errlen, "out of memory");
    return CN_ENOMEM;
  }
  st->engine = &cn__pg_engine;
  pthread_mutex_init(&st->mu, NULL);
  pthread_cond_init(&st->freed, NULL);
  pthread_mutex_init(&st->commit_mu, NULL);
  int rc = 0;
  for (; !rc && st->n < n; st->n++) {
    pg_db *db = cn__calloc(1, sizeof *db);
    if (!db) {
      rc = CN_ENOMEM;
      break;
    }
    db->engine = &cn__pg_engine;
    db->st = st;
    db->c = PQconnectdb(o->url);
    st->conns[st->n] = db;
    PQsetNoticeProcessor(db->c, quiet, NULL);
    if (PQstatus(db->c) != CONNECTION_OK) {
      snprintf(err, errlen, "DATABASE_URL %s: cannot connect: %s", shown,
               PQerrorMessage(db->c));
      err[strcspn(err, "\n")] = '\0';
      rc = CN_EIO;
      st->n++;
      break;
    }
    db->next_idle = st->idle;
    st->idle = db;
    st->nidle++;
  }
  if (!rc && (!(st->url = cn__strdup(o->url)) || cn__pg_sets_new(st)))
    rc = CN_ENOMEM;
  if (!rc)
    rc = cn__pg_notify_start(st, err, errlen);
  if (rc) {
    store_free(st);
    return rc;
  }
  *out = (cn__store *)st;
  return 0;
}

static void pg_close(cn__store *handle) {
  pg_store *st = (pg_store *)handle;
  pthread_mutex_lock(&st->mu);
  st->closing = 1; /* takers waiting answer CN_ECLOSED */
  pthread_cond_broadcast(&st->freed);
  while (st->nidle < st->n) /* bodies in flight finish first */
    pthread_cond_wait(&st->freed, &st->mu);
  pthread_mutex_unlock(&st->mu);
  store_free(st);
}

static int pg_on_commit(cn__store *handle, cn__store_commit_fn *fn,
                        void *arg) {
  pg_store *st = (pg_store *)handle;
  int rc = 0;
  pthread_mutex_lock(&st->commit_mu);
  if (st->on_commit)
    rc = CN_EEXIST;
  else
    st->on_commit = fn, st->on_commit_arg = arg;
  pthread_mutex_unlock(&st->commit_mu);
  return rc;
}

static uint64_t pg_ts(const cn__store *handle) {
  return atomic_load(&((pg_store *)handle)->ts);
}

const cn__engine cn__pg_engine = {
    .name = "postgres",
    .claims = pg_claims,
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .read = pg_read,
    .write = pg_write,
    .on_commit = pg_on_commit,
    .ts = pg_ts,
    .call = cn__pg_call,
    .last_id = cn__pg_last_id,
    .error = cn__pg_error,
};
