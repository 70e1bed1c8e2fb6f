/* Read and write sets (src/data/rwset.c and the authorizer in sql.c):
 * what a read or a write records, through views, triggers, foreign-key
 * cascades and the statement cache; and nested reads and writes inside a
 * body, which share its transaction. */
#include "test_store_util.h"

/* ------------------------------------------------------ read/write sets */

TEST(rwsets) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)");
  tsu_exec(st, "CREATE TABLE u(id INTEGER PRIMARY KEY, y)");
  tsu_exec(st, "CREATE TABLE log(x)");
  tsu_exec(st, "CREATE VIEW v AS SELECT y FROM u");
  tsu_exec(st, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN "
               "INSERT INTO log VALUES (new.x); END");
  tsu_exec(st, "CREATE TABLE p(id INTEGER PRIMARY KEY)");
  tsu_exec(st, "CREATE TABLE c(pid INTEGER REFERENCES p(id) ON DELETE "
               "CASCADE)");
  tsu_exec(st, "INSERT INTO p VALUES (1)");
  tsu_exec(st, "INSERT INTO c VALUES (1)");
  static const char *const none[] = {NULL};
  static const char *const t_[] = {"t", NULL};
  static const char *const u_[] = {"u", NULL};
  static const char *const tu[] = {"t", "u", NULL};
  static const char *const uv[] = {"u", "v", NULL};
  static const char *const t_log[] = {"t", "log", NULL};
  static const char *const pc[] = {"p", "c", NULL};
  static const struct {
    int write;
    const char *sql;
    int rc;
    const char *const *reads, *const *writes;
  } cases[] = {
      {0, "SELECT * FROM t", 0, t_, none},
      {0, "SELECT * FROM t JOIN u USING (id)", 0, tu, none},
      {0, "SELECT * FROM T", 0, t_, none}, /* the declared name */
      {0, "SELECT * FROM v", 0, uv, none}, /* the view and its table */
      {0, "SELECT count(*) FROM sqlite_master", 0, none, none},
      {0, "SELECT 1", 0, none, none},
      {0, "SELECT * FROM nowhere", CN_EINVAL, none, none},
      {1, "INSERT INTO t(x) VALUES (1)", 0, t_, t_log},
      {1, "UPDATE u SET y = 1 WHERE id IN (SELECT id FROM t)", 0, tu, u_},
      {1, "DELETE FROM p WHERE id = 1", 0, pc, pc},
      {1, "INSERT INTO u(id) VALUES (1)", CN_EINVAL, none, none}, /* twice */
  };
  tsu_exec(st, "INSERT INTO u(id) VALUES (1)");
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    for (int again = 0; again < 2; again++) { /* prepared, then cached */
      cn__rwset rd = {0}, wr = {0};
      tsu_one o = {.sql = cases[i].sql};
      int rc = cases[i].write
                   ? cn__store_write(st, tsu_exec_body, &o, &rd, &wr, NULL)
                   : cn__store_read(st, tsu_exec_body, &o, &rd);
      int ok_r = tsu_set_is(&rd, cases[i].reads),
          ok_w = tsu_set_is(&wr, cases[i].writes);
      if (rc != cases[i].rc || !ok_r || !ok_w) {
        fprintf(stderr, "case %zu/%d %s: rc %d reads", i, again,
                cases[i].sql, rc);
        for (size_t k = 0; k < rd.n; k++)
          fprintf(stderr, " %s", rd.tables[k]);
        fprintf(stderr, " writes");
        for (size_t k = 0; k < wr.n; k++)
          fprintf(stderr, " %s", wr.tables[k]);
        fprintf(stderr, "\n");
      }
      CHECK_EQ_INT(rc, cases[i].rc);
      CHECK(ok_r);
      CHECK(ok_w);
      cn__rwset_clear(&rd);
      cn__rwset_clear(&wr);
    }
  }
  cn__store_close(st);
  tsu_rm(&d);
}

TEST(rwset_unit) {
  cn__rwset a = {0}, b = {0};
  CHECK_EQ_INT(cn__rwset_add(&a, "Tasks"), 0);
  CHECK_EQ_INT(cn__rwset_add(&a, "tasks"), 0); /* one table */
  CHECK_EQ_INT(cn__rwset_add(&a, "users"), 0);
  CHECK_EQ_INT(a.n, 2);
  CHECK_EQ_INT(cn__rwset_add(&a, NULL), 0);
  CHECK_EQ_INT(a.n, 2);
  CHECK(!cn__rwset_overlaps(&a, &b));
  cn__rwset_add(&b, "USERS");
  CHECK(cn__rwset_overlaps(&a, &b));
  CHECK(cn__rwset_overlaps(&b, &a));
  CHECK(!cn__rwset_overlaps(&a, NULL));
  cn__rwset_clear(&b);
  CHECK_EQ_INT(b.n, 0);
  cn__rwset_add(&b, "other");
  CHECK(!cn__rwset_overlaps(&a, &b));
  CHECK_EQ_INT(cn__rwset_merge(&b, &a), 0);
  CHECK_EQ_INT(b.n, 3);
  CHECK(cn__rwset_overlaps(&a, &b));
  /* more than CN__RWSET_MAX: "every table" */
  cn__rwset big = {0};
  for (int i = 0; i < CN__RWSET_MAX + 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    CHECK_EQ_INT(cn__rwset_add(&big, name), 0);
  }
  CHECK_EQ_INT(big.n, CN__RWSET_MAX);
  CHECK(big.overflow);
  cn__rwset lone = {0};
  cn__rwset_add(&lone, "zzz");
  CHECK(cn__rwset_overlaps(&big, &lone));
  CHECK(cn__rwset_overlaps(&lone, &big));
  CHECK_EQ_INT(cn__rwset_merge(&lone, &big), 0);
  CHECK(lone.overflow);
  /* out of memory: the set says "every table" rather than forget one */
  cn__rwset oom = {0};
  cn__alloc_fail_after(0);
  CHECK_EQ_INT(cn__rwset_add(&oom, "t"), CN_ENOMEM);
  cn__alloc_fail_after(-1);
  CHECK(oom.overflow);
  CHECK(cn__rwset_overlaps(&oom, &a));
  cn__rwset_clear(&oom);
  CHECK(!oom.overflow);
  cn__rwset_clear(&a);
  cn__rwset_clear(&b);
  cn__rwset_clear(&big);
  cn__rwset_clear(&lone);
}

/* ------------------------------------------------------------- nesting */

typedef struct nest {
  cn__store *st;
  int rc_read_write, rc_inner_fail, rc_inner_ok;
  int64_t seen;
  uint64_t inner_ts;
  cn__rwset inner_wr;
} nest;

static int insert_then_fail(cn_db *db, void *arg) {
  int rc = tsu_insert_int(db, arg);
  return rc ? rc : CN_ECONFLICT;
}

static int seen_and_try_write(cn_db *db, void *arg) {
  nest *n = arg;
  n->seen = tsu_value_of(db, "SELECT count(*) FROM t");
  n->rc_read_write = cn_db_exec(db, NULL, "INSERT INTO t VALUES (99)",
                                CN_NOARGS);
  return 0;
}

static int nest_body(cn_db *db, void *arg) {
  nest *n = arg;
  int one = 1, two = 2, three = 3;
  int rc = tsu_insert_int(db, &one);
  if (rc)
    return rc;
  /* a read inside the write sees the write so far, and cannot write */
  cn__store_read(n->st, seen_and_try_write, n, NULL);
  n->rc_inner_fail =
      cn__store_write(n->st, insert_then_fail, &two, NULL, NULL, NULL);
  n->rc_inner_ok = cn__store_write(n->st, tsu_insert_int, &three, NULL,
                                   &n->inner_wr, &n->inner_ts);
  /* after the nested read, the write can write again */
  return cn_db_exec(db, NULL, "INSERT INTO t VALUES (4)", CN_NOARGS);
}

TEST(nested_calls) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x INTEGER PRIMARY KEY)");
  nest n = {.st = st};
  cn__rwset rd = {0}, wr = {0};
  uint64_t ts = 0;
  CHECK_EQ_INT(cn__store_write(st, nest_body, &n, &rd, &wr, &ts), 0);
  CHECK(ts > 0);
  CHECK_EQ_INT(n.seen, 1);
  CHECK_EQ_INT(n.rc_read_write, CN_EREADONLY);
  CHECK_EQ_INT(n.rc_inner_fail, CN_ECONFLICT);
  CHECK_EQ_INT(n.rc_inner_ok, 0);
  CHECK_EQ_INT(n.inner_ts, 0); /* it commits with the outer write */
  static const char *const t_[] = {"t", NULL};
  CHECK(tsu_set_is(&n.inner_wr, t_));
  CHECK(tsu_set_is(&wr, t_));
  CHECK(tsu_set_is(&rd, t_));
  cn__rwset_clear(&n.inner_wr);
  cn__rwset_clear(&rd);
  cn__rwset_clear(&wr);
  tsu_check_json(st, "SELECT x FROM t ORDER BY x",
                 "[{\"x\":1},{\"x\":3},{\"x\":4}]");
  /* and the writer's connection is writable again afterwards */
  tsu_exec(st, "INSERT INTO t VALUES (5)");
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 4);
  cn__store_close(st);
  tsu_rm(&d);
}

int main(void) {
  RUN(rwsets);
  RUN(rwset_unit);
  RUN(nested_calls);
  return check_summary();
}
