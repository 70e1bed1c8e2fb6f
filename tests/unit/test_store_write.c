/* The store's transactions (src/data/writer.c, sqlite.c): group commit
 * with a savepoint per write, atomicity, isolation under contention,
 * snapshots, commit order and its listener, another connection holding
 * the lock, closing with writes queued. (Read/write sets and nesting:
 * test_store_rwset.c.)
 *
 * Groups are made deterministic without sleeping: a "gate" write holds
 * the writer thread while the test queues the writes it wants grouped
 * (tsu_wait_queued watches the queue), then opens the gate. */
#include <stdatomic.h>

#include "test_store_util.h"

/* ---------------------------------------------------------------- helpers */

typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, open;
} gate;

static void gate_init(gate *g) {
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  g->entered = g->open = 0;
}

static int gate_body(cn_db *db, void *arg) {
  gate *g = arg;
  (void)db;
  pthread_mutex_lock(&g->mu);
  g->entered = 1;
  pthread_cond_broadcast(&g->cv);
  while (!g->open)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  return 0;
}

static void gate_wait_entered(gate *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->entered)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* One cn__store_write on a thread of its own. */
typedef struct wjob {
  cn__store *st;
  cn__store_body *body;
  void *arg;
  int rc;
  uint64_t ts;
  cn__rwset rd, wr;
  pthread_t t;
} wjob;

static void *wjob_main(void *p) {
  wjob *j = p;
  j->rc = cn__store_write(j->st, j->body, j->arg, &j->rd, &j->wr, &j->ts);
  return NULL;
}

static void wjob_start(wjob *j) { pthread_create(&j->t, NULL, wjob_main, j); }

static void wjob_join(wjob *j) {
  pthread_join(j->t, NULL);
}

static void wjob_free(wjob *j) {
  cn__rwset_clear(&j->rd);
  cn__rwset_clear(&j->wr);
}

/* Start the gate write, then jobs[0..n) one by one (so they queue in
 * order), then open the gate: they run as one group, in that order. */
static void run_grouped(cn__store *st, wjob *jobs, size_t n) {
  gate g;
  gate_init(&g);
  wjob gj = {.st = st, .body = gate_body, .arg = &g};
  wjob_start(&gj);
  gate_wait_entered(&g);
  for (size_t i = 0; i < n; i++) {
    jobs[i].st = st;
    wjob_start(&jobs[i]);
    tsu_wait_queued(st, (int)i + 1);
  }
  gate_open(&g);
  wjob_join(&gj);
  for (size_t i = 0; i < n; i++)
    wjob_join(&jobs[i]);
  wjob_free(&gj);
}

/* ------------------------------------------------------------ atomicity */

#define S(sql) {sql, 0, NULL}
#define END {NULL, 0, NULL}

static const tsu_sql a_good0[] = {S("INSERT INTO t VALUES (10, 'g')"), END};
static const tsu_sql a_fail_end[] = {S("INSERT INTO t VALUES (11, 'x')"),
                                     S("UPDATE t SET tag = 'hacked'"), END};
static const tsu_sql a_good2[] = {S("INSERT INTO t VALUES (12, 'g')"), END};
static const tsu_sql a_dup[] = {S("INSERT INTO t VALUES (13, 'x')"),
                                S("INSERT INTO t VALUES (10, 'dup')"), END};
static const tsu_sql a_syntax[] = {S("INSERT INTO t VALUES (14, 'x')"),
                                   S("UPDATE t SET tag = 'hacked'"),
                                   S("SELEKT 1"), END};
static const tsu_sql a_check[] = {S("INSERT INTO u VALUES (1)"),
                                  S("INSERT INTO t VALUES (15, 'x')"),
                                  S("INSERT INTO u VALUES (500)"), END};
static const tsu_sql a_good6[] = {S("UPDATE t SET tag = 'g2' WHERE id = 10"),
                                  END};
static const tsu_sql a_wipe[] = {S("INSERT INTO t VALUES (17, 'x')"),
                                 S("DELETE FROM t"), S("DELETE FROM u"), END};
static const tsu_sql a_missing[] = {S("INSERT INTO u VALUES (3)"),
                                    S("INSERT INTO nowhere VALUES (1)"), END};
static const tsu_sql a_good9[] = {S("INSERT INTO u VALUES (2)"), END};
/* a deferred foreign key left broken: checked at COMMIT by SQLite, so
 * the store checks it at the end of the body, or the whole group fails */
static const tsu_sql a_deferred[] = {S("INSERT INTO t VALUES (18, 'x')"),
                                     S("INSERT INTO d VALUES (999)"), END};
/* one broken, then mended within the same body: fine */
static const tsu_sql a_mended[] = {S("INSERT INTO d VALUES (12)"),
                                   S("INSERT INTO d VALUES (777)"),
                                   S("DELETE FROM d WHERE ref = 777"), END};

TEST(atomicity_in_one_group) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT)");
  tsu_exec(st, "CREATE TABLE u(v INTEGER CHECK (v < 100))");
  tsu_exec(st, "CREATE TABLE d(ref INTEGER REFERENCES t(id) DEFERRABLE "
               "INITIALLY DEFERRED)");
  static const struct {
    const tsu_sql *script;
    int fail_at_end;
    int rc;
  } cases[] = {
      {a_good0, 0, 0},
      {a_fail_end, CN_ECONFLICT, CN_ECONFLICT}, /* the body's own code */
      {a_good2, 0, 0},
      {a_dup, 0, CN_EINVAL}, /* sees good0's row of the same group */
      {a_syntax, 0, CN_EINVAL},
      {a_check, 0, CN_EINVAL},
      {a_good6, 0, 0},
      {a_wipe, 7, 7},
      {a_missing, 0, CN_EINVAL},
      {a_deferred, 0, CN_EINVAL},
      {a_good9, 0, 0},
      {a_mended, 0, 0},
  };
  enum { N = sizeof cases / sizeof cases[0] };
  tsu_script scripts[N];
  wjob jobs[N];
  memset(jobs, 0, sizeof jobs);
  for (size_t i = 0; i < N; i++) {
    scripts[i] = (tsu_script){.stmts = cases[i].script,
                              .fail_at_end = cases[i].fail_at_end};
    jobs[i].body = tsu_script_body;
    jobs[i].arg = &scripts[i];
  }
  cn__sq_stats before, after;
  cn__sq_stats_get(st, &before);
  run_grouped(st, jobs, N);
  cn__sq_stats_get(st, &after);
  CHECK(after.groups - before.groups == 2); /* the gate's, then all N */
  CHECK(after.biggest >= N);
  uint64_t last_ts = 0;
  for (size_t i = 0; i < N; i++) {
    CHECK_EQ_INT(jobs[i].rc, cases[i].rc);
    CHECK_EQ_INT(scripts[i].runs, 1);
    if (cases[i].rc) {
      CHECK_EQ_INT(jobs[i].ts, 0);
      CHECK_EQ_INT(jobs[i].wr.n, 0); /* nothing written after all */
    } else {
      CHECK(jobs[i].ts > last_ts); /* commit order = queue order */
      last_ts = jobs[i].ts;
      CHECK(jobs[i].wr.n == 1);
    }
    wjob_free(&jobs[i]);
  }
  tsu_check_json(st, "SELECT id, tag FROM t ORDER BY id",
                 "[{\"id\":10,\"tag\":\"g2\"},{\"id\":12,\"tag\":\"g\"}]");
  tsu_check_json(st, "SELECT v FROM u", "[{\"v\":2}]");
  tsu_check_json(st, "SELECT ref FROM d", "[{\"ref\":12}]");
  cn__store_close(st);
  tsu_rm(&d);
}

/* A statement that rolls back the whole transaction (not just itself)
 * fails its own write; the writes grouped with it run again and commit. */
static const tsu_sql r_good1[] = {S("INSERT INTO t VALUES (1)"), END};
static const tsu_sql r_or_rollback[] = {
    S("INSERT INTO t VALUES (50)"), S("INSERT OR ROLLBACK INTO t VALUES (1)"),
    END};
static const tsu_sql r_raise[] = {S("INSERT INTO t VALUES (51)"),
                                  S("INSERT INTO boom VALUES (1)"), END};
static const tsu_sql r_ignore[] = {S("INSERT INTO t VALUES (52)"),
                                   S("INSERT INTO boom VALUES (1)"), END};
static const tsu_sql r_good2[] = {S("INSERT INTO t VALUES (2)"), END};

static int ignoring_body(cn_db *db, void *arg) {
  tsu_script_body(db, arg);
  return 0; /* pretends all went well: must not be acknowledged */
}

TEST(whole_transaction_rollback) {
  const tsu_sql *offenders[] = {r_or_rollback, r_raise, r_ignore};
  for (size_t k = 0; k < CN__ARRAY_LEN(offenders); k++) {
    tsu_dir d;
    tsu_mkdir(&d);
    cn__store *st = tsu_open(&d, 0);
    tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY)");
    tsu_exec(st, "CREATE TABLE boom(x)");
    tsu_exec(st, "CREATE TRIGGER boom_tr BEFORE INSERT ON boom BEGIN "
                 "SELECT RAISE(ROLLBACK, 'boom'); END");
    tsu_script s1 = {.stmts = r_good1}, s2 = {.stmts = offenders[k]},
               s3 = {.stmts = r_good2};
    wjob jobs[3] = {{.body = tsu_script_body, .arg = &s1},
                    {.body = k == 2 ? ignoring_body : tsu_script_body,
                     .arg = &s2},
                    {.body = tsu_script_body, .arg = &s3}};
    run_grouped(st, jobs, 3);
    CHECK_EQ_INT(jobs[0].rc, 0);
    CHECK_EQ_INT(s1.runs, 2); /* its first run was lost with the others */
    CHECK_EQ_INT(jobs[1].rc, k == 2 ? CN_EIO : CN_EINVAL);
    CHECK_EQ_INT(jobs[1].ts, 0);
    CHECK_EQ_INT(s2.runs, 1);
    CHECK_EQ_INT(jobs[2].rc, 0);
    CHECK_EQ_INT(s3.runs, 1);
    CHECK(jobs[0].ts > 0 && jobs[2].ts > jobs[0].ts);
    for (int i = 0; i < 3; i++)
      wjob_free(&jobs[i]);
    tsu_check_json(st, "SELECT id FROM t ORDER BY id",
                   "[{\"id\":1},{\"id\":2}]");
    cn__store_close(st);
    tsu_rm(&d);
  }
}

/* ---------------------------------------------------------- contention */

typedef struct incr {
  cn__store *st;
  int n, fails;
  uint64_t *ts; /* n of them */
} incr;

static int incr_body(cn_db *db, void *arg) {
  (void)arg;
  json_t *v = NULL;
  int rc = cn_db_value(db, &v, "SELECT n FROM counter WHERE id = 1",
                       CN_NOARGS);
  if (rc)
    return rc;
  int64_t n = json_integer_value(v);
  json_decref(v);
  /* read, then write what was read plus one: only isolation makes this
   * add up */
  return cn_db_exec(db, NULL, "UPDATE counter SET n = ? WHERE id = 1",
                    CN_ARGS(cn_v(n + 1)));
}

static void *incr_main(void *p) {
  incr *c = p;
  for (int i = 0; i < c->n; i++) {
    uint64_t ts = 0;
    if (cn__store_write(c->st, incr_body, NULL, NULL, NULL, &ts))
      c->fails++;
    c->ts[i] = ts;
  }
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

TEST(counter_8x1000) {
  enum { T = 8, N = 1000 };
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER)");
  tsu_exec(st, "INSERT INTO counter VALUES (1, 0)");
  uint64_t base = cn__store_ts(st);
  CHECK_EQ_INT(base, 2);
  static uint64_t all[T * N];
  incr c[T];
  pthread_t th[T];
  for (int i = 0; i < T; i++) {
    c[i] = (incr){.st = st, .n = N, .ts = all + i * N};
    pthread_create(&th[i], NULL, incr_main, &c[i]);
  }
  for (int i = 0; i < T; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < T; i++) {
    CHECK_EQ_INT(c[i].fails, 0);
    for (int k = 1; k < N; k++) /* each caller's writes in its order */
      CHECK(c[i].ts[k] > c[i].ts[k - 1]);
  }
  CHECK_EQ_INT(tsu_int(st, "SELECT n FROM counter"), T * N);
  /* every write got its own timestamp: exactly base+1 .. base+8000 */
  qsort(all, T * N, sizeof all[0], cmp_u64);
  int gaps = 0;
  for (int k = 0; k < T * N; k++)
    gaps += all[k] != base + 1 + (uint64_t)k;
  CHECK_EQ_INT(gaps, 0);
  CHECK_EQ_INT(cn__store_ts(st), base + T * N);
  cn__sq_stats stats;
  cn__sq_stats_get(st, &stats);
  printf("counter: %llu writes in %llu groups (biggest %llu)\n",
         (unsigned long long)stats.writes, (unsigned long long)stats.groups,
         (unsigned long long)stats.biggest);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ------------------------------------------------------------ snapshots */

typedef struct transfer {
  cn__store *st;
  int amount;
  int rc;
} transfer;

static int transfer_body(cn_db *db, void *arg) {
  transfer *t = arg;
  int rc = cn_db_exec(db, NULL, "UPDATE acct SET bal = bal - ? WHERE id='a'",
                      CN_ARGS(cn_v(t->amount)));
  if (!rc)
    rc = cn_db_exec(db, NULL, "UPDATE acct SET bal = bal + ? WHERE id='b'",
                    CN_ARGS(cn_v(t->amount)));
  return rc;
}

static void *transfer_main(void *p) {
  transfer *t = p;
  t->rc = cn__store_write(t->st, transfer_body, t, NULL, NULL, NULL);
  return NULL;
}

typedef struct snap {
  transfer tr;
  int64_t a1, a2, b, n1, n2, nested;
  int nested_write_rc;
} snap;

static int nested_count(cn_db *db, void *arg) {
  *(int64_t *)arg = tsu_value_of(db, "SELECT count(*) FROM acct");
  return 0;
}

static int snap_body(cn_db *db, void *arg) {
  snap *s = arg;
  s->a1 = tsu_value_of(db, "SELECT bal FROM acct WHERE id = 'a'");
  s->n1 = tsu_value_of(db, "SELECT count(*) FROM acct");
  /* a writer commits in the middle of this read, and is acknowledged */
  pthread_t t;
  pthread_create(&t, NULL, transfer_main, &s->tr);
  pthread_join(t, NULL);
  s->b = tsu_value_of(db, "SELECT bal FROM acct WHERE id = 'b'");
  s->a2 = tsu_value_of(db, "SELECT bal FROM acct WHERE id = 'a'");
  cn__store_read(s->tr.st, nested_count, &s->nested, NULL);
  s->n2 = tsu_value_of(db, "SELECT count(*) FROM acct");
  s->nested_write_rc =
      cn__store_write(s->tr.st, transfer_body, &s->tr, NULL, NULL, NULL);
  return 0;
}

TEST(snapshot_consistency) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE acct(id TEXT PRIMARY KEY, bal INTEGER)");
  tsu_exec(st, "INSERT INTO acct VALUES ('a', 1000), ('b', 0)");
  int64_t a = 1000;
  for (int amount = 1; amount <= 64; amount *= 2) {
    snap s = {.tr = {.st = st, .amount = amount}};
    CHECK_EQ_INT(cn__store_read(st, snap_body, &s, NULL), 0);
    CHECK_EQ_INT(s.tr.rc, 0);
    CHECK_EQ_INT(s.a1, a);
    CHECK_EQ_INT(s.a2, a);         /* the same row, read twice */
    CHECK_EQ_INT(s.a1 + s.b, 1000); /* two rows, one moment */
    CHECK_EQ_INT(s.n1, 2);
    CHECK_EQ_INT(s.n2, 2);
    CHECK_EQ_INT(s.nested, 2);
    CHECK_EQ_INT(s.nested_write_rc, CN_EREADONLY);
    a -= amount;
    CHECK_EQ_INT(tsu_int(st, "SELECT bal FROM acct WHERE id = 'a'"), a);
    CHECK_EQ_INT(tsu_int(st, "SELECT sum(bal) FROM acct"), 1000);
  }
  cn__store_close(st);
  tsu_rm(&d);
}

/* A bounded pool: never more bodies at once than readers. */
static atomic_int inside, most;

static int crowd_body(cn_db *db, void *arg) {
  (void)arg;
  int now = atomic_fetch_add(&inside, 1) + 1;
  int m = atomic_load(&most);
  while (now > m && !atomic_compare_exchange_weak(&most, &m, now))
    ;
  for (int i = 0; i < 50; i++)
    sched_yield();
  tsu_value_of(db, "SELECT 1");
  atomic_fetch_sub(&inside, 1);
  return 0;
}

static void *crowd_main(void *p) {
  for (int i = 0; i < 40; i++)
    if (cn__store_read(p, crowd_body, NULL, NULL))
      atomic_fetch_add(&most, 1000);
  return NULL;
}

TEST(reader_pool_bounded) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open_opts(&d, 0, 2, 0);
  pthread_t th[6];
  for (int i = 0; i < 6; i++)
    pthread_create(&th[i], NULL, crowd_main, st);
  for (int i = 0; i < 6; i++)
    pthread_join(th[i], NULL);
  CHECK(atomic_load(&most) >= 1 && atomic_load(&most) <= 2);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ------------------------------------------------- order and listeners */

#define LMAX 512
typedef struct heard {
  uint64_t ts[LMAX];
  char tables[LMAX][32];
  int n;
  int rc_write, rc_read;
  int64_t seen;
  cn__store *st;
} heard;

static int count_t(cn_db *db, void *arg) {
  *(int64_t *)arg = tsu_value_of(db, "SELECT (SELECT count(*) FROM t1) + "
                                 "(SELECT count(*) FROM t2) + (SELECT "
                                 "count(*) FROM t3) + (SELECT count(*) FROM "
                                 "t4)");
  return 0;
}

static void listener(void *arg, uint64_t ts, const cn__rwset *w,
                     const cn__rowlog *rows) {
  (void)rows;
  heard *h = arg;
  if (h->n < LMAX) {
    h->ts[h->n] = ts;
    h->tables[h->n][0] = '\0';
    for (size_t i = 0; i < w->n; i++) {
      strncat(h->tables[h->n], w->tables[i], 30 - strlen(h->tables[h->n]));
    }
    h->n++;
  }
  if (h->n == 1) {
    /* from the writer thread: writing would wait for itself */
    h->rc_write = cn__store_write(h->st, count_t, &h->seen, NULL, NULL, NULL);
    /* reading is fine, and sees the commit */
    h->rc_read = cn__store_read(h->st, count_t, &h->seen, NULL);
  }
}

static void noop_listener(void *arg, uint64_t ts, const cn__rwset *w,
                          const cn__rowlog *rows) {
  (void)rows;
  (void)arg, (void)ts, (void)w;
}

typedef struct lwrite {
  cn__store *st;
  int table; /* 1..4 */
  int fail;
  int rc[40];
  uint64_t ts[40];
  char wr[40][32];
} lwrite;

static int lwrite_body(cn_db *db, void *arg) {
  lwrite *l = arg;
  char sql[64];
  snprintf(sql, sizeof sql, "INSERT INTO t%d VALUES (1)", l->table);
  int rc = cn_db_exec(db, NULL, sql, CN_NOARGS);
  return rc ? rc : l->fail ? CN_EINVAL : 0;
}

static void *lwrite_main(void *p) {
  lwrite *l = p;
  for (int i = 0; i < 40; i++) {
    cn__rwset wr = {0};
    l->fail = i % 7 == 3;
    l->rc[i] = cn__store_write(l->st, lwrite_body, l, NULL, &wr, &l->ts[i]);
    l->wr[i][0] = '\0';
    for (size_t k = 0; k < wr.n; k++)
      strncat(l->wr[i], wr.tables[k], 30);
    cn__rwset_clear(&wr);
  }
  return NULL;
}

TEST(commit_order_and_listener) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  for (int i = 1; i <= 4; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "CREATE TABLE t%d(x)", i);
    tsu_exec(st, sql);
  }
  uint64_t base = cn__store_ts(st);
  static heard h;
  memset(&h, 0, sizeof h);
  h.st = st;
  CHECK_EQ_INT(cn__store_on_commit(st, listener, &h), 0);
  CHECK_EQ_INT(cn__store_on_commit(st, noop_listener, NULL), CN_EEXIST);
  static lwrite lw[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    memset(&lw[i], 0, sizeof lw[i]);
    lw[i].st = st;
    lw[i].table = i + 1;
    pthread_create(&th[i], NULL, lwrite_main, &lw[i]);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  int ok = 0;
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < 40; k++) {
      char want[8];
      snprintf(want, sizeof want, "t%d", i + 1);
      if (k % 7 == 3) {
        CHECK_EQ_INT(lw[i].rc[k], CN_EINVAL);
        CHECK_EQ_INT(lw[i].ts[k], 0);
        CHECK_EQ_STR(lw[i].wr[k], "");
        continue;
      }
      ok++;
      CHECK_EQ_INT(lw[i].rc[k], 0);
      CHECK_EQ_STR(lw[i].wr[k], want);
      /* the listener heard this very commit, with the same tables */
      uint64_t ts = lw[i].ts[k];
      CHECK(ts > base && ts <= base + (uint64_t)h.n);
      if (ts > base && ts <= base + (uint64_t)h.n)
        CHECK_EQ_STR(h.tables[ts - base - 1], want);
    }
  }
  CHECK_EQ_INT(h.n, ok); /* once per committed write, none for failures */
  for (int k = 0; k < h.n; k++)
    CHECK_EQ_INT(h.ts[k], base + 1 + (uint64_t)k); /* in order, no gap */
  CHECK_EQ_INT(cn__store_ts(st), base + (uint64_t)ok);
  CHECK_EQ_INT(h.rc_write, CN_ESTATE);
  CHECK_EQ_INT(h.rc_read, 0);
  CHECK(h.seen >= 1);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ------------------------------------------- another holder of the lock */

TEST(busy_other_connection) {
  tsu_dir d;
  tsu_mkdir(&d);
  /* Shared: an exclusive store keeps every other connection out. */
  cn__store *st = tsu_open_mode(&d, 0, 0, 200, 1);
  tsu_exec(st, "CREATE TABLE t(x)");
  sqlite3 *other = NULL;
  CHECK_EQ_INT(sqlite3_open(d.db, &other), SQLITE_OK);
  CHECK_EQ_INT(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO t "
                                   "VALUES (100)",
                            NULL, NULL, NULL),
               SQLITE_OK);
  int v = 1;
  uint64_t ts = 99;
  CHECK_EQ_INT(cn__store_write(st, tsu_insert_int, &v, NULL, NULL, &ts),
               CN_ECONFLICT);
  CHECK_EQ_INT(ts, 0);
  /* readers are not blocked by a writer (WAL) */
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 0);
  CHECK_EQ_INT(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  CHECK_EQ_INT(cn__store_write(st, tsu_insert_int, &v, NULL, NULL, &ts), 0);
  CHECK(ts > 0);
  tsu_check_json(st, "SELECT x FROM t ORDER BY x",
                 "[{\"x\":1},{\"x\":100}]");
  sqlite3_close(other);
  cn__store_close(st);
  tsu_rm(&d);
}

/* Two stores on one file (two servers): the busy handler retries, every
 * increment lands. */
TEST(two_stores_one_file) {
  enum { T = 2, N = 150 };
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *a = tsu_open_mode(&d, 0, 0, 0, 1);
  cn__store *b = tsu_open_mode(&d, 0, 0, 0, 1);
  tsu_exec(a, "CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER)");
  tsu_exec(b, "INSERT INTO counter VALUES (1, 0)");
  static uint64_t ts[2 * T][N];
  incr c[2 * T];
  pthread_t th[2 * T];
  for (int i = 0; i < 2 * T; i++) {
    c[i] = (incr){.st = i % 2 ? a : b, .n = N, .ts = ts[i]};
    pthread_create(&th[i], NULL, incr_main, &c[i]);
  }
  for (int i = 0; i < 2 * T; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 2 * T; i++)
    CHECK_EQ_INT(c[i].fails, 0);
  CHECK_EQ_INT(tsu_int(a, "SELECT n FROM counter"), 2 * T * N);
  CHECK_EQ_INT(tsu_int(b, "SELECT n FROM counter"), 2 * T * N);
  cn__store_close(a);
  cn__store_close(b);
  tsu_rm(&d);
}

/* ------------------------------------------------------------- closing */

static void *close_main(void *p) {
  cn__store_close(p);
  return NULL;
}

static int is_closing(cn__store *st) {
  pthread_mutex_lock(&st->mu);
  int c = st->closing;
  pthread_mutex_unlock(&st->mu);
  return c;
}

TEST(close_drains_queue) {
  enum { N = 20 };
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x INTEGER PRIMARY KEY)");
  gate g;
  gate_init(&g);
  wjob gj = {.st = st, .body = gate_body, .arg = &g};
  wjob_start(&gj);
  gate_wait_entered(&g);
  static int vals[N];
  wjob jobs[N];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < N; i++) {
    vals[i] = i;
    jobs[i] = (wjob){.st = st, .body = tsu_insert_int, .arg = &vals[i]};
    wjob_start(&jobs[i]);
  }
  tsu_wait_queued(st, N);
  pthread_t closer;
  pthread_create(&closer, NULL, close_main, st);
  while (!is_closing(st))
    sched_yield();
  /* closing: a new write is refused; the queued ones still run */
  int late = 99;
  CHECK_EQ_INT(cn__store_write(st, tsu_insert_int, &late, NULL, NULL, NULL),
               CN_ECLOSED);
  gate_open(&g);
  wjob_join(&gj);
  for (int i = 0; i < N; i++) {
    wjob_join(&jobs[i]);
    CHECK_EQ_INT(jobs[i].rc, 0);
    wjob_free(&jobs[i]);
  }
  wjob_free(&gj);
  pthread_join(closer, NULL);
  st = tsu_open(&d, 0);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), N);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t WHERE x = 99"), 0);
  cn__store_close(st);
  tsu_rm(&d);
}

int main(void) {
  RUN(atomicity_in_one_group);
  RUN(whole_transaction_rollback);
  RUN(counter_8x1000);
  RUN(snapshot_consistency);
  RUN(reader_pool_bounded);
  RUN(commit_order_and_listener);
  RUN(busy_other_connection);
  RUN(two_stores_one_file);
  RUN(close_drains_queue);
  return check_summary();
}
