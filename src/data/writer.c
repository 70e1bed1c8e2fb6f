/* writer.c: the one thread that writes (store.h), with group commit.
 *
 * Callers put a request (body, arg) on the queue and sleep on their own
 * condition variable. The thread takes everything queued (up to
 * CN__SQ_GROUP_MAX), opens one BEGIN IMMEDIATE transaction and runs each
 * body inside its own SAVEPOINT: a body that fails is rolled back to its
 * savepoint alone, the others stay. One COMMIT then makes the whole group
 * durable at once (one WAL write, one fsync with durability full); the
 * commit listener hears of each committed write in order, each with the
 * next commit_ts; and only then are the callers woken. Bodies run one
 * after another on one connection, so each is serializable.
 *
 * When the transaction itself is lost half-way (a statement with ON
 * CONFLICT ROLLBACK or RAISE(ROLLBACK), or an I/O error, rolls back
 * everything, savepoints included), the body that caused it fails, and
 * the writes grouped with it, which did nothing wrong and were not
 * acknowledged, go back to the front of the queue and run again in a new
 * transaction: their bodies run twice (store.h says so).
 *
 * Another process holding the file's write lock (two servers on one file)
 * makes BEGIN IMMEDIATE wait: SQLite's busy handler retries with growing
 * sleeps up to the busy timeout (5 s), then the group gets CN_ECONFLICT. */
#include "data/sqlite_int.h"

/* Wake the callers of batch[0..n). Each result is written before its
 * post (sem_post orders it); after the post the request may be gone (its
 * caller returns and its stack frame with it), so nothing touches it
 * again. */
static void answer(cn__sq_wreq **batch, size_t n) {
  for (size_t i = 0; i < n; i++)
    sem_post(&batch[i]->done);
}

/* Put reqs[0..n) back at the head of the queue, in order. */
static void requeue(cn__store *st, cn__sq_wreq **reqs, size_t n) {
  if (!n)
    return;
  for (size_t i = 0; i < n; i++) {
    cn__rwset_clear(&reqs[i]->rd);
    cn__rwset_clear(&reqs[i]->wr);
    cn__rowlog_clear(&reqs[i]->rows);
    reqs[i]->rc = 0;
    reqs[i]->next = i + 1 < n ? reqs[i + 1] : NULL;
  }
  pthread_mutex_lock(&st->mu);
  reqs[n - 1]->next = st->head;
  if (!st->head)
    st->tail = reqs[n - 1];
  st->head = reqs[0];
  pthread_mutex_unlock(&st->mu);
}

/* 1 when deferred foreign keys are left unresolved in the transaction
 * (DEFERRABLE INITIALLY DEFERRED constraints are checked at COMMIT). */
static int fk_pending(cn_db *db) {
  int cur = 0, high = 0;
  sqlite3_db_status(db->h, SQLITE_DBSTATUS_DEFERRED_FKS, &cur, &high, 0);
  return cur != 0;
}

/* End the savepoint of a body: released when *rc is 0, rolled back to
 * (and released) otherwise. A body that leaves a deferred foreign key
 * broken (none was before it) fails here, alone: otherwise the group's
 * COMMIT would fail for every write in it. 0, or -1 when the transaction
 * is gone. */
static int end_savepoint(cn_db *db, int *rc, int fk_before, cn__rwset *wr) {
  if (!*rc && !fk_before && fk_pending(db)) {
    cn__sq_fail(db, "FOREIGN KEY constraint failed (a deferred foreign key "
                    "was left unresolved)",
                NULL);
    *rc = CN_EINVAL;
  }
  if (*rc) {
    if (cn__sq_internal(db, CN__SQ_ROLLBACK_TO) != SQLITE_OK)
      return -1;
    cn__rwset_clear(wr); /* nothing of it was written after all */
  }
  if (cn__sq_internal(db, CN__SQ_RELEASE) != SQLITE_OK)
    return -1;
  return 0;
}

/* Run r's body in its savepoint. 0, or -1 when the transaction was lost
 * (then r->rc says how r ends). */
static int run_one(cn_db *db, cn__sq_wreq *r) {
  if (cn__sq_internal(db, CN__SQ_SAVEPOINT) != SQLITE_OK) {
    r->rc = CN_EIO;
    return -1;
  }
  int fk_before = fk_pending(db); /* 0: the bodies before left none */
  cn__sq_body_begin(db, CN__SQ_WRITE, &r->rd, &r->wr);
  db->rows = &r->rows;
  cn__sq_set_current(db);
  r->rc = r->body(db, r->arg);
  cn__sq_set_current(NULL);
  db->rows = NULL;
  cn__sq_body_end(db);
  if (sqlite3_get_autocommit(db->h) ||
      end_savepoint(db, &r->rc, fk_before, &r->wr)) {
    if (!r->rc)
      r->rc = CN_EIO; /* its writes are gone: it must not be acknowledged */
    cn__rowlog_clear(&r->rows);
    return -1;
  }
  if (r->rc)
    cn__rowlog_clear(&r->rows); /* rolled back: none of it happened */
  else
    cn__sq_rows_finish(db, &r->rows, &r->wr);
  return 0;
}

/* The transaction was lost while running batch[lost]: answer it and the
 * failed bodies before it, and queue the rest again. */
static void salvage(cn__store *st, cn__sq_wreq **batch, size_t n,
                    size_t lost) {
  cn_db *db = st->wdb;
  if (!sqlite3_get_autocommit(db->h))
    cn__sq_internal(db, CN__SQ_ROLLBACK);
  cn__sq_wreq *again[CN__SQ_GROUP_MAX], *done[CN__SQ_GROUP_MAX];
  size_t nagain = 0, ndone = 0;
  for (size_t i = 0; i < n; i++) {
    cn__sq_wreq *r = batch[i];
    if (i == lost || (i < lost && r->rc != 0))
      done[ndone++] = r;
    else
      again[nagain++] = r;
  }
  requeue(st, again, nagain);
  answer(done, ndone);
}

static void run_group(cn__store *st, cn__sq_wreq **batch, size_t n,
                      cn__store_commit_fn *fn, void *fn_arg) {
  cn_db *db = st->wdb;
  /* Another process may have changed the schema since the last group. */
  if (st->shared)
    cn__sq_tinfo_flush(st);
  int rc = cn__sq_internal(db, CN__SQ_BEGIN_IMMEDIATE);
  if (rc != SQLITE_OK) {
    int code = (rc & 0xff) == SQLITE_BUSY ? CN_ECONFLICT : CN_EIO;
    for (size_t i = 0; i < n; i++)
      batch[i]->rc = code;
    answer(batch, n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (run_one(db, batch[i])) {
      salvage(st, batch, n, i);
      return;
    }
  }
  if (cn__sq_internal(db, CN__SQ_COMMIT) != SQLITE_OK) {
    if (!sqlite3_get_autocommit(db->h))
      cn__sq_internal(db, CN__SQ_ROLLBACK);
    for (size_t i = 0; i < n; i++)
      if (!batch[i]->rc)
        batch[i]->rc = CN_EIO;
    answer(batch, n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    cn__sq_wreq *r = batch[i];
    if (r->rc)
      continue;
    r->ts = atomic_fetch_add(&st->ts, 1) + 1;
    if (fn)
      fn(fn_arg, r->ts, &r->wr, &r->rows);
  }
  pthread_mutex_lock(&st->mu);
  st->stats.groups++;
  st->stats.writes += n;
  if (n > st->stats.biggest)
    st->stats.biggest = n;
  pthread_mutex_unlock(&st->mu);
  answer(batch, n);
}

void *cn__sq_writer_main(void *arg) {
  cn__store *st = arg;
  cn__sq_wreq *batch[CN__SQ_GROUP_MAX];
  for (;;) {
    size_t n = 0;
    pthread_mutex_lock(&st->mu);
    while (!st->head && !st->closing)
      pthread_cond_wait(&st->wake, &st->mu);
    if (!st->head) { /* closing, and nothing left to drain */
      pthread_mutex_unlock(&st->mu);
      break;
    }
    while (st->head && n < CN__SQ_GROUP_MAX) {
      batch[n++] = st->head;
      st->head = st->head->next;
    }
    if (!st->head)
      st->tail = NULL;
    cn__store_commit_fn *fn = st->on_commit;
    void *fn_arg = st->on_commit_arg;
    pthread_mutex_unlock(&st->mu);
    run_group(st, batch, n, fn, fn_arg);
  }
  return NULL;
}

int cn__sq_write_nested(cn_db *db, cn__store_body *body, void *arg,
                        cn__rwset *reads, cn__rwset *writes) {
  cn__rwset rd = {0}, wr = {0};
  cn__rwset *outer_r = db->reads, *outer_w = db->writes;
  size_t mark = db->rows ? db->rows->n : 0;
  int fk_before = fk_pending(db);
  if (cn__sq_internal(db, CN__SQ_SAVEPOINT) != SQLITE_OK)
    return CN_EIO;
  db->reads = &rd;
  db->writes = &wr;
  int rc = body(db, arg);
  db->reads = outer_r;
  db->writes = outer_w;
  /* A lost transaction is the outer body's to notice (run_one does). */
  if (sqlite3_get_autocommit(db->h) ||
      end_savepoint(db, &rc, fk_before, &wr)) {
    if (!rc)
      rc = CN_EIO;
    cn__rwset_clear(&wr);
  }
  if (rc && db->rows) /* rolled back to its savepoint: its rows with it */
    cn__rowlog_truncate(db->rows, mark);
  cn__rwset_merge(outer_r, &rd);
  cn__rwset_merge(outer_w, &wr);
  cn__rwset_merge(reads, &rd);
  cn__rwset_merge(writes, &wr);
  cn__rwset_clear(&rd);
  cn__rwset_clear(&wr);
  return rc;
}

int cn__sq_write(cn__store *st, cn__store_body *body, void *arg,
                    cn__rwset *reads, cn__rwset *writes,
                    uint64_t *commit_ts) {
  if (commit_ts)
    *commit_ts = 0;
  if (!st || !body)
    return CN_EINVAL;
  cn_db *cur = cn__sq_current();
  if (cur && cur->st == st) {
    /* Inside a body of this store on this thread: a write in a read is
     * refused; a write in a write becomes part of it. */
    if (cur->mode != CN__SQ_WRITE)
      return CN_EREADONLY;
    return cn__sq_write_nested(cur, body, arg, reads, writes);
  }
  /* The writer thread outside a body is a commit listener: waiting for
   * the writer from there would wait for ever. */
  if (pthread_equal(pthread_self(), st->thread))
    return CN_ESTATE;
  cn__sq_wreq r = {.body = body, .arg = arg};
  if (sem_init(&r.done, 0, 0) != 0)
    return CN_ESYS;
  pthread_mutex_lock(&st->mu);
  if (st->closing) {
    pthread_mutex_unlock(&st->mu);
    sem_destroy(&r.done);
    return CN_ECLOSED;
  }
  if (st->tail)
    st->tail->next = &r;
  else
    st->head = &r;
  st->tail = &r;
  pthread_cond_signal(&st->wake);
  pthread_mutex_unlock(&st->mu);
  while (sem_wait(&r.done) != 0) /* EINTR: a signal handler ran */
    ;
  sem_destroy(&r.done);
  cn__rwset_merge(reads, &r.rd);
  cn__rwset_merge(writes, &r.wr);
  cn__rwset_clear(&r.rd);
  cn__rwset_clear(&r.wr);
  cn__rowlog_clear(&r.rows);
  if (commit_ts)
    *commit_ts = r.ts;
  return r.rc;
}

void cn__sq_stats_get(cn__store *st, cn__sq_stats *out) {
  pthread_mutex_lock(&st->mu);
  *out = st->stats;
  pthread_mutex_unlock(&st->mu);
}
