/* The store's throughput, printed, never asserted (issue 9's benchmark:
 * >= 20,000 durable mutations/s from 64 concurrent clients, thanks to
 * group commit; and a query of 20 rows per call). What is asserted is
 * that nothing was lost: as many rows as acknowledged writes.
 *
 * A short run by default (ctest); CN_STORE_BENCH_SECONDS=3 for the
 * figures, in a Release build without sanitizers:
 *   CN_STORE_BENCH_SECONDS=3 ./build-rel/test_store_bench */
#include <stdatomic.h>
#include <time.h>

#include "test_store_util.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double seconds(void) {
  const char *e = getenv("CN_STORE_BENCH_SECONDS");
  double s = e ? atof(e) : 0.3;
  return s > 0 ? s : 0.3;
}

typedef struct bench {
  cn__store *st;
  atomic_int stop;
  atomic_long done, failed;
} bench;

typedef struct client {
  bench *b;
  int id;
} client;

static int insert_task(cn_db *db, void *arg) {
  client *c = arg;
  return cn_db_exec(db, NULL,
                    "INSERT INTO tasks(owner, title, done) VALUES (?, ?, 0)",
                    CN_ARGS(cn_v(c->id), cn_v("write the benchmark")));
}

static void *writer_main(void *p) {
  client *c = p;
  while (!atomic_load(&c->b->stop)) {
    if (cn__store_write(c->b->st, insert_task, c, NULL, NULL, NULL))
      atomic_fetch_add(&c->b->failed, 1);
    else
      atomic_fetch_add(&c->b->done, 1);
  }
  return NULL;
}

static int list_tasks(cn_db *db, void *arg) {
  client *c = arg;
  json_t *rows = NULL;
  int rc = cn_db_all(db, &rows,
                     "SELECT id, title, done FROM tasks WHERE owner = ? "
                     "ORDER BY id LIMIT 20",
                     CN_ARGS(cn_v(c->id)));
  if (!rc && json_array_size(rows) != 20)
    rc = CN_EIO;
  json_decref(rows);
  return rc;
}

static void *reader_main(void *p) {
  client *c = p;
  while (!atomic_load(&c->b->stop)) {
    if (cn__store_read(c->b->st, list_tasks, c, NULL))
      atomic_fetch_add(&c->b->failed, 1);
    else
      atomic_fetch_add(&c->b->done, 1);
  }
  return NULL;
}

/* Run n clients of fn for the bench's seconds. OUT: operations per s. */
static double run(bench *b, void *(*fn)(void *), int n) {
  pthread_t th[64];
  client cl[64];
  atomic_store(&b->stop, 0);
  atomic_store(&b->done, 0);
  atomic_store(&b->failed, 0);
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    cl[i] = (client){.b = b, .id = i};
    pthread_create(&th[i], NULL, fn, &cl[i]);
  }
  double until = t0 + seconds();
  while (now_s() < until)
    usleep(10000);
  atomic_store(&b->stop, 1);
  for (int i = 0; i < n; i++)
    pthread_join(th[i], NULL);
  return (double)atomic_load(&b->done) / (now_s() - t0);
}

TEST(throughput) {
  for (int full = 0; full <= 1; full++) {
    tsu_dir d;
    tsu_mkdir(&d);
    bench b = {.st = tsu_open(&d, full)};
    tsu_exec(b.st, "CREATE TABLE tasks(id INTEGER PRIMARY KEY, owner "
                   "INTEGER, title TEXT, done INTEGER)");
    tsu_exec(b.st, "CREATE INDEX tasks_owner ON tasks(owner, id)");
    int64_t before = tsu_int(b.st, "SELECT count(*) FROM tasks");
    cn__sq_stats s0, s1;
    cn__sq_stats_get(b.st, &s0);
    double wps = run(&b, writer_main, 64);
    cn__sq_stats_get(b.st, &s1);
    CHECK_EQ_INT(atomic_load(&b.failed), 0);
    CHECK_EQ_INT(tsu_int(b.st, "SELECT count(*) FROM tasks") - before,
                 atomic_load(&b.done));
    uint64_t groups = s1.groups - s0.groups, writes = s1.writes - s0.writes;
    printf("writes, durability %s, 64 clients: %.0f/s; %llu groups, %.1f "
           "writes per group on average, biggest %llu\n",
           full ? "full" : "normal", wps, (unsigned long long)groups,
           groups ? (double)writes / (double)groups : 0.0,
           (unsigned long long)s1.biggest);
    if (!full) {
      for (int i = 0; i < 20; i++) /* owners 0 and 1 have 20 rows at least */
        tsu_exec(b.st, "INSERT INTO tasks(owner, title, done) VALUES "
                       "(0, 'r', 0), (1, 'r', 0)");
      double rps = run(&b, reader_main, 2);
      CHECK_EQ_INT(atomic_load(&b.failed), 0);
      printf("reads of 20 rows, 2 clients: %.0f/s\n", rps);
    }
    cn__store_close(b.st);
    tsu_rm(&d);
  }
}

int main(void) {
  RUN(throughput);
  return check_summary();
}
