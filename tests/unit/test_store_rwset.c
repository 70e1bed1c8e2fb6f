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
    const char *const *writes2; /* the second time, when not the same */
  } cases[] = {
      {0, "SELECT * FROM t", 0, t_, none, NULL},
      {0, "SELECT * FROM t JOIN u USING (id)", 0, tu, none, NULL},
      {0, "SELECT * FROM T", 0, t_, none, NULL}, /* the declared name */
      {0, "SELECT * FROM v", 0, uv, none, NULL}, /* the view and its table */
      {0, "SELECT count(*) FROM sqlite_master", 0, none, none, NULL},
      {0, "SELECT 1", 0, none, none, NULL},
      {0, "SELECT * FROM nowhere", CN_EINVAL, none, none, NULL},
      {1, "INSERT INTO t(x) VALUES (1)", 0, t_, t_log, NULL},
      /* the second time, no row changes: nothing was written */
      {1, "UPDATE u SET y = 1 WHERE id IN (SELECT id FROM t)", 0, tu, u_,
       none},
      {1, "DELETE FROM p WHERE id = 1", 0, pc, pc, none},
      {1, "INSERT INTO u(id) VALUES (1)", CN_EINVAL, none, none, NULL}, /* twice */
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
          ok_w = tsu_set_is(&wr, again && cases[i].writes2
                                      ? cases[i].writes2
                                      : cases[i].writes);
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


/* ------------------------------------------------------ rows, columns */

static int insert_then_fail_sql(cn_db *db, void *arg) {
  int rc = tsu_exec_body(db, arg);
  return rc ? rc : CN_ECONFLICT;
}


/* What the listener heard of the last commit: its write set ("t" whole,
 * "t(a,b)" columns) and its rows ("U t 1>1 {old} {new}"). */
typedef struct rowsheard {
  int n;
  char writes[256];
  char rows[2048];
  int partial;
  size_t nrows;
} rowsheard;

static void describe_set(const cn__rwset *w, char *out, size_t cap) {
  out[0] = '\0';
  for (size_t i = 0; i < w->n; i++) {
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%s", i ? " " : "", w->tables[i]);
    if (w->cols[i]) {
      for (size_t k = 0; k < w->cols[i]->n; k++) {
        len = strlen(out);
        snprintf(out + len, cap - len, "%c%s", k ? ',' : '(',
                 w->cols[i]->names[k]);
      }
      len = strlen(out);
      snprintf(out + len, cap - len, ")");
    }
  }
}

static void rows_listener(void *arg, uint64_t ts, const cn__rwset *w,
                          const cn__rowlog *rows) {
  rowsheard *h = arg;
  (void)ts;
  h->n++;
  describe_set(w, h->writes, sizeof h->writes);
  h->rows[0] = '\0';
  h->partial = rows->partial;
  h->nrows = rows->n;
  for (size_t i = 0; i < rows->n && i < 8; i++) {
    const cn__rowchange *c = &rows->rows[i];
    char *o = c->old_row ? json_dumps(c->old_row, JSON_COMPACT | JSON_SORT_KEYS)
                         : strdup("-");
    char *n = c->new_row ? json_dumps(c->new_row, JSON_COMPACT | JSON_SORT_KEYS)
                         : strdup("-");
    size_t len = strlen(h->rows);
    snprintf(h->rows + len, sizeof h->rows - len, "%s%c %s %lld>%lld %s %s",
             i ? "; " : "", c->op, c->table, (long long)c->old_rowid,
             (long long)c->new_rowid, o, n);
    free(o);
    free(n);
  }
}

/* A write of a few statements; heard: what the listener said of it. */
static int script(cn__store *st, rowsheard *h, int fail,
                  const char *a, const char *b) {
  tsu_sql stmts[3] = {{.sql = a}, {.sql = b}, {0}};
  tsu_script sc = {.stmts = stmts, .fail_at_end = fail};
  h->writes[0] = h->rows[0] = '\0';
  h->nrows = 0;
  return cn__store_write(st, tsu_script_body, &sc, NULL, NULL, NULL);
}

static int fail_then_go_on(cn_db *db, void *arg) {
  (void)arg;
  /* the second row breaks the key: the first was logged, then undone */
  int rc = cn_db_exec(db, NULL, "INSERT INTO tasks (id, title) VALUES "
                      "(100, 'x'), (100, 'y')", CN_NOARGS);
  return rc == CN_EINVAL || rc == CN_ECONFLICT ? 0 : CN_EIO;
}

static int nested_fail_body(cn_db *db, void *arg) {
  cn__store *st = arg;
  int rc = cn_db_exec(db, NULL, "INSERT INTO tasks (title) VALUES ('kept')",
                      CN_NOARGS);
  tsu_one o = {.sql = "UPDATE tasks SET done = 7"};
  if (!rc && cn__store_write(st, insert_then_fail_sql, &o, NULL, NULL,
                             NULL) != CN_ECONFLICT)
    rc = CN_EIO;
  return rc;
}

TEST(row_log) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE tasks(id INTEGER PRIMARY KEY, title TEXT, "
               "done INTEGER DEFAULT 0, b BLOB, twice AS (done * 2))");
  tsu_exec(st, "CREATE TABLE audit(what TEXT)");
  tsu_exec(st, "CREATE TRIGGER au AFTER UPDATE OF title ON tasks BEGIN "
               "INSERT INTO audit VALUES (new.title); END");
  static rowsheard h;
  memset(&h, 0, sizeof h);
  CHECK_EQ_INT(cn__store_on_commit(st, rows_listener, &h), 0);

  CHECK_EQ_INT(script(st, &h, 0, "INSERT INTO tasks (title, b) VALUES "
                                  "('a', x'00ff')", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks");
  CHECK_EQ_STR(h.rows, "I tasks 0>1 - {\"b\":{\"$blob\":\"00ff\"},\"done\":0,"
                       "\"id\":1,\"title\":\"a\"}");
  /* An UPDATE in place: the columns it changed, and the generated one
   * that follows them. */
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET done = 1", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks(done,twice)");
  CHECK(strstr(h.rows, "U tasks 1>1 {\"b\":{\"$blob\":\"00ff\"},\"done\":0,")
        != NULL);
  CHECK(strstr(h.rows, "} {\"b\":{\"$blob\":\"00ff\"},\"done\":1,") != NULL);
  /* Set to what it was: the row is logged, nothing changed. */
  int before = h.n;
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET done = 1", NULL), 0);
  CHECK_EQ_INT(h.n, before + 1);
  CHECK_EQ_STR(h.writes, "");
  CHECK_EQ_INT(h.nrows, 1);
  /* No row matched: nothing at all. */
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET done = 3 WHERE id = -1",
                      NULL), 0);
  CHECK_EQ_STR(h.writes, "");
  CHECK_EQ_STR(h.rows, "");
  /* A trigger's rows are the write's too. */
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET title = 'b'", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks(title,twice) audit");
  CHECK(strstr(h.rows, "; I audit ") != NULL);
  /* A key that moves, a row that goes: the whole table. */
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET id = 5", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks");
  CHECK(strstr(h.rows, "U tasks 1>5 ") != NULL);
  CHECK_EQ_INT(script(st, &h, 0, "DELETE FROM tasks", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks");
  CHECK(strncmp(h.rows, "D tasks 5>0 {", 13) == 0 && strstr(h.rows, "} -"));
  /* A write that fails is never heard; a nested write that fails leaves
   * none of its rows in its outer one's log. */
  before = h.n;
  CHECK_EQ_INT(script(st, &h, CN_EINVAL, "INSERT INTO tasks (title) VALUES "
                                         "('no')", NULL), CN_EINVAL);
  CHECK_EQ_INT(h.n, before);
  CHECK_EQ_INT(cn__store_write(st, nested_fail_body, st, NULL, NULL, NULL), 0);
  CHECK_EQ_INT(h.nrows, 1);
  CHECK(strncmp(h.rows, "I tasks ", 8) == 0);
  /* A statement that fails half-way in a body that goes on: the log
   * cannot say which of its rows stayed, so it keeps the table only. */
  CHECK_EQ_INT(cn__store_write(st, fail_then_go_on, NULL, NULL, NULL, NULL),
               0);
  CHECK(h.partial);
  CHECK_EQ_INT(h.nrows, 0);
  CHECK_EQ_STR(h.writes, "tasks");
  /* DDL: whole tables. */
  CHECK_EQ_INT(script(st, &h, 0, "ALTER TABLE tasks ADD COLUMN note TEXT",
                      "UPDATE tasks SET note = 'n'"), 0);
  CHECK_EQ_STR(h.writes, "tasks");
  /* and afterwards the new column is known by name */
  CHECK_EQ_INT(script(st, &h, 0, "UPDATE tasks SET note = 'm'", NULL), 0);
  CHECK_EQ_STR(h.writes, "tasks(note,twice)");
  /* Past the cap: the tables only. */
  CHECK_EQ_INT(script(st, &h, 0,
                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                      "FROM n WHERE i < 10001) INSERT INTO audit SELECT i FROM n",
                      NULL), 0);
  CHECK(h.partial);
  CHECK_EQ_INT(h.nrows, 0);
  CHECK_EQ_STR(h.writes, "audit");
  cn__store_close(st);
  tsu_rm(&d);
}

/* A read's columns against a write's. */
TEST(column_overlaps) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c)");
  static const struct {
    const char *sql, *reads;
  } reads[] = {
      {"SELECT a FROM t", "t(a)"},
      {"SELECT a FROM t WHERE b > 1 ORDER BY c", "t(a,b,c)"},
      {"SELECT * FROM t", "t(id,a,b,c)"},
      {"SELECT count(*) FROM t", "t()"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(reads); i++) {
    cn__rwset rd = {0};
    tsu_one o = {.sql = reads[i].sql};
    CHECK_EQ_INT(cn__store_read(st, tsu_all_body, &o, &rd), 0);
    json_decref(o.out);
    char got[128];
    describe_set(&rd, got, sizeof got);
    CHECK_EQ_STR(got, reads[i].reads);
    cn__rwset w = {0};
    cn__rwset_add_col(&w, "T", "C");
    CHECK_EQ_INT(cn__rwset_overlaps(&rd, &w), i == 1 || i == 2);
    cn__rwset_add(&w, "t"); /* rows came or went */
    CHECK(cn__rwset_overlaps(&rd, &w));
    cn__rwset_clear(&w);
    cn__rwset_clear(&rd);
  }
  cn__store_close(st);
  tsu_rm(&d);
}

int main(void) {
  RUN(rwsets);
  RUN(rwset_unit);
  RUN(nested_calls);
  RUN(row_log);
  RUN(column_overlaps);
  return check_summary();
}
