/* Migrations (src/data/migrate.c): applied in order, once, each with its
 * record in one transaction; a failure stops there and leaves the
 * database as it was; two connections migrating at once apply each
 * migration once. */
#include "test_store_util.h"

/* Everything a migration could have changed: the schema, the record of
 * migrations and the rows of table t (when it exists). */
static char *snapshot(cn__store *st) {
  char *schema = tsu_json(st, "SELECT type, name, sql FROM sqlite_master "
                              "ORDER BY name");
  char *rec = tsu_json(st, "SELECT name FROM _cairn_migrations ORDER BY "
                           "rowid");
  char *rows = tsu_json(st, "SELECT * FROM t ORDER BY rowid");
  size_t n = strlen(schema) + strlen(rec) + strlen(rows) + 8;
  char *all = malloc(n);
  snprintf(all, n, "%s|%s|%s", schema, rec, rows);
  free(schema);
  free(rec);
  free(rows);
  return all;
}

static const cn_manifest_migration good[] = {
    {"001_init.sql", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n"
                     "-- a comment\n"
                     "INSERT INTO t(v) VALUES ('one');"},
    {"002_more.sql", "ALTER TABLE t ADD COLUMN n INTEGER DEFAULT 0;\n"
                     "CREATE INDEX t_v ON t(v);\n"
                     "/* block */ UPDATE t SET n = 1;"},
    {"003_users.sql", "CREATE TABLE users(id TEXT PRIMARY KEY, t_id INTEGER "
                      "REFERENCES t(id));\n"
                      "INSERT INTO users VALUES ('u1', 1);"},
};

TEST(order_and_idempotence) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  size_t applied = 99;
  char err[256];
  CHECK_EQ_INT(cn__store_migrate(st, good, 2, &applied, err, sizeof err), 0);
  CHECK_EQ_INT(applied, 2);
  CHECK_EQ_STR(err, "");
  tsu_check_json(st, "SELECT id, v, n FROM t",
                 "[{\"id\":1,\"v\":\"one\",\"n\":1}]");
  /* again: nothing new */
  CHECK_EQ_INT(cn__store_migrate(st, good, 2, &applied, err, sizeof err), 0);
  CHECK_EQ_INT(applied, 0);
  tsu_check_json(st, "SELECT id, v, n FROM t",
                 "[{\"id\":1,\"v\":\"one\",\"n\":1}]");
  /* one more file: only it */
  CHECK_EQ_INT(cn__store_migrate(st, good, 3, &applied, err, sizeof err), 0);
  CHECK_EQ_INT(applied, 1);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM users"), 1);
  tsu_check_json(st, "SELECT name FROM _cairn_migrations ORDER BY rowid",
                 "[{\"name\":\"001_init.sql\"},{\"name\":\"002_more.sql\"},"
                 "{\"name\":\"003_users.sql\"}]");
  CHECK(tsu_int(st, "SELECT min(applied_at) FROM _cairn_migrations") >
        1600000000);
  /* after a restart too; and applied may be NULL */
  cn__store_close(st);
  st = tsu_open(&d, 0);
  CHECK_EQ_INT(cn__store_migrate(st, good, 3, NULL, err, sizeof err), 0);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM _cairn_migrations"), 3);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 1);
  /* the store's writers see the new schema at once */
  tsu_exec(st, "INSERT INTO users VALUES ('u2', 1)");
  /* no migrations at all: fine */
  CHECK_EQ_INT(cn__store_migrate(st, NULL, 0, &applied, err, sizeof err), 0);
  CHECK_EQ_INT(applied, 0);
  cn__store_close(st);
  tsu_rm(&d);
}

TEST(failure_leaves_no_trace) {
  static const struct {
    const char *name, *sql, *err;
  } bad[] = {
      {"002_typo.sql",
       "CREATE TABLE half(x); INSERT INTO t(v) VALUES ('x'); CREAT TABLE y(z);",
       "data/migrations/002_typo.sql: near \"CREAT\": syntax error"},
      {"002_constraint.sql",
       "CREATE TABLE half(x); INSERT INTO t(id, v) VALUES (1, 'dup');",
       "data/migrations/002_constraint.sql: UNIQUE constraint failed: t.id"},
      {"002_missing.sql", "DROP TABLE t; UPDATE nowhere SET a = 1;",
       "data/migrations/002_missing.sql: no such table: nowhere"},
      {"002_commit.sql", "CREATE TABLE half(x); COMMIT; CREATE TABLE y(z);",
       "data/migrations/002_commit.sql: BEGIN, COMMIT, ROLLBACK and "
       "SAVEPOINT are not allowed in a migration"},
      {"002_begin.sql", "BEGIN; CREATE TABLE half(x);",
       "data/migrations/002_begin.sql: BEGIN, COMMIT"},
      {"002_savepoint.sql", "SAVEPOINT a; CREATE TABLE half(x); RELEASE a;",
       "data/migrations/002_savepoint.sql: BEGIN, COMMIT"},
      {"002_rollback.sql", "DELETE FROM t; ROLLBACK;",
       "data/migrations/002_rollback.sql: BEGIN, COMMIT"},
      {"002_attach.sql", "ATTACH '/tmp/cn-mig.db' AS o;",
       "data/migrations/002_attach.sql: ATTACH and DETACH are not allowed"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(bad); i++) {
    tsu_dir d;
    tsu_mkdir(&d);
    cn__store *st = tsu_open(&d, 0);
    cn_manifest_migration m[3] = {
        good[0], {bad[i].name, bad[i].sql}, {"003_after.sql", "CREATE TABLE "
                                                              "after(x);"}};
    size_t applied = 99;
    char err[256] = "";
    CHECK_EQ_INT(cn__store_migrate(st, m, 1, &applied, err, sizeof err), 0);
    char *before = snapshot(st);
    CHECK_EQ_INT(cn__store_migrate(st, m, 3, &applied, err, sizeof err),
                 CN_EINVAL);
    CHECK_EQ_INT(applied, 0);
    if (!strstr(err, bad[i].err))
      fprintf(stderr, "case %zu: %s\n", i, err);
    CHECK(strstr(err, bad[i].err) == err);
    char *after = snapshot(st);
    CHECK_EQ_STR(after, before); /* as it was; 003 not applied */
    free(after);
    /* the next start fails the same way, and a fix then applies both */
    CHECK_EQ_INT(cn__store_migrate(st, m, 3, &applied, err, sizeof err),
                 CN_EINVAL);
    m[1].sql = "CREATE TABLE fixed(x);";
    CHECK_EQ_INT(cn__store_migrate(st, m, 3, &applied, err, sizeof err), 0);
    CHECK_EQ_INT(applied, 2);
    CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM sqlite_master WHERE name "
                             "IN ('fixed', 'after', 'half')"),
                 2);
    free(before);
    cn__store_close(st);
    tsu_rm(&d);
  }
}

/* The schema is the app's: functions in its defaults, triggers and views
 * work (Debian's SQLite distrusts schemas by default). */
TEST(schema_functions) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  static const cn_manifest_migration m[] = {
      {"001.sql",
       "CREATE TABLE t(id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(8)))),"
       " meta TEXT DEFAULT (json_object('v', 1)),"
       " at INTEGER DEFAULT (strftime('%s', 'now')));"
       "CREATE TABLE log(v);"
       "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN "
       "  INSERT INTO log VALUES (json_extract(new.meta, '$.v')); END;"
       "CREATE VIEW tv AS SELECT json_extract(meta, '$.v') AS v FROM t;"}};
  char err[256];
  CHECK_EQ_INT(cn__store_migrate(st, m, 1, NULL, err, sizeof err), 0);
  CHECK_EQ_STR(err, "");
  tsu_exec(st, "INSERT INTO t DEFAULT VALUES");
  CHECK_EQ_INT(tsu_int(st, "SELECT v FROM log"), 1);
  CHECK_EQ_INT(tsu_int(st, "SELECT v FROM tv"), 1);
  CHECK_EQ_INT(tsu_int(st, "SELECT length(id) FROM t"), 16);
  cn__store_close(st);
  tsu_rm(&d);
}

TEST(bad_input) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  char err[256];
  size_t applied = 5;
  cn_manifest_migration no_name[] = {{NULL, "CREATE TABLE a(x);"}};
  cn_manifest_migration no_sql[] = {{"001.sql", NULL}};
  cn_manifest_migration empty_name[] = {{"", "CREATE TABLE a(x);"}};
  CHECK_EQ_INT(cn__store_migrate(st, no_name, 1, &applied, err, sizeof err),
               CN_EINVAL);
  CHECK_EQ_INT(applied, 0);
  CHECK(strstr(err, "no name") != NULL);
  CHECK_EQ_INT(cn__store_migrate(st, no_sql, 1, &applied, err, sizeof err),
               CN_EINVAL);
  CHECK(strstr(err, "no SQL") != NULL);
  CHECK_EQ_INT(
      cn__store_migrate(st, empty_name, 1, &applied, err, sizeof err),
      CN_EINVAL);
  CHECK_EQ_INT(cn__store_migrate(st, NULL, 2, &applied, err, sizeof err),
               CN_EINVAL);
  CHECK_EQ_INT(cn__store_migrate(NULL, good, 1, &applied, err, sizeof err),
               CN_EINVAL);
  /* names are data: a hostile one is recorded as itself */
  cn_manifest_migration hostile[] = {
      {"x'); DROP TABLE _cairn_migrations; --", "CREATE TABLE a(x);"},
      {"", ""}};
  hostile[1].name = "empty.sql"; /* a migration with no statement at all */
  CHECK_EQ_INT(cn__store_migrate(st, hostile, 2, &applied, err, sizeof err),
               0);
  CHECK_EQ_INT(applied, 2);
  tsu_check_json(st, "SELECT name FROM _cairn_migrations ORDER BY rowid",
                 "[{\"name\":\"x'); DROP TABLE _cairn_migrations; --\"},"
                 "{\"name\":\"empty.sql\"}]");
  /* err may be NULL */
  CHECK_EQ_INT(cn__store_migrate(st, no_sql, 1, NULL, NULL, 0), CN_EINVAL);
  cn__store_close(st);
  tsu_rm(&d);
}

/* Two servers starting at once on one file. */
typedef struct racer {
  cn__store *st;
  const cn_manifest_migration *m;
  size_t n, applied;
  int rc;
  char err[256];
  pthread_barrier_t *go;
} racer;

static void *racer_main(void *p) {
  racer *r = p;
  pthread_barrier_wait(r->go);
  /* as a server would at each start with one more file: many short
   * migrate calls interleave with the other's */
  for (size_t k = 1; k <= r->n && !r->rc; k++) {
    size_t one = 0;
    r->rc = cn__store_migrate(r->st, r->m, k, &one, r->err, sizeof r->err);
    r->applied += one;
  }
  return NULL;
}

/* One migration for several engines: which file each engine applies. */
TEST(engine_variants) {
  size_t len;
  CHECK_EQ_STR(cn__migration_engine("001_a.sql", &len), "");
  CHECK_EQ_INT(len, 5);
  CHECK_EQ_STR(cn__migration_engine("001_a.postgres.sql", &len), "postgres");
  CHECK_EQ_INT(len, 5);
  CHECK_EQ_STR(cn__migration_engine("001_a.sqlite.sql", &len), "sqlite");
  CHECK_EQ_STR(cn__migration_engine("001_postgres.sql", &len), "");
  CHECK(cn__migration_variants("001_a.sql", "001_a.postgres.sql"));
  CHECK(cn__migration_variants("001_a.sqlite.sql", "001_a.postgres.sql"));
  CHECK(!cn__migration_variants("001_a.sql", "001_b.postgres.sql"));
  CHECK(!cn__migration_variants("001_a.postgres.sql", "001_a.postgres.sql"));
  const cn_manifest_migration m[] = {
      {"001_a.sql", "A"},          {"001_a.postgres.sql", "A pg"},
      {"002_b.sqlite.sql", "B lite"}, {"003_c.sql", "C"},
      {"004_d.postgres.sql", "D pg"}, {"004_d.sqlite.sql", "D lite"}};
  cn_manifest_migration out[6];
  size_t n = cn__migrations_for("sqlite", m, 6, out);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_STR(out[0].sql, "A");
  CHECK_EQ_STR(out[1].sql, "B lite");
  CHECK_EQ_STR(out[2].sql, "C");
  CHECK_EQ_STR(out[3].sql, "D lite");
  n = cn__migrations_for("postgres", m, 6, out);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_STR(out[0].sql, "A pg");
  CHECK_EQ_STR(out[1].sql, "C");
  CHECK_EQ_STR(out[2].sql, "D pg");
}

TEST(concurrent_migrate) {
  enum { M = 12 };
  static cn_manifest_migration m[M];
  static char names[M][32], sqls[M][96];
  for (int i = 0; i < M; i++) {
    snprintf(names[i], sizeof names[i], "%03d_m.sql", i + 1);
    /* each one fails if it runs twice (CREATE without IF NOT EXISTS) and
     * depends on the previous one */
    if (i == 0)
      snprintf(sqls[i], sizeof sqls[i], "CREATE TABLE m1(x); INSERT INTO m1 "
                                        "VALUES (1);");
    else
      snprintf(sqls[i], sizeof sqls[i],
               "CREATE TABLE m%d(x); INSERT INTO m%d SELECT x + 1 FROM m%d;",
               i + 1, i + 1, i);
    m[i] = (cn_manifest_migration){names[i], sqls[i]};
  }
  for (int round = 0; round < 4; round++) {
    tsu_dir d;
    tsu_mkdir(&d);
    cn__store *a = tsu_open(&d, 0), *b = tsu_open(&d, 0);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    racer ra = {.st = a, .m = m, .n = M, .go = &go};
    racer rb = {.st = b, .m = m, .n = M, .go = &go};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, racer_main, &ra);
    pthread_create(&tb, NULL, racer_main, &rb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    if (ra.rc || rb.rc)
      fprintf(stderr, "round %d: %d %s / %d %s\n", round, ra.rc, ra.err,
              rb.rc, rb.err);
    CHECK_EQ_INT(ra.rc, 0);
    CHECK_EQ_INT(rb.rc, 0);
    CHECK_EQ_INT(ra.applied + rb.applied, M);
    CHECK_EQ_INT(tsu_int(a, "SELECT count(*) FROM _cairn_migrations"), M);
    CHECK_EQ_INT(tsu_int(b, "SELECT x FROM m12"), 12);
    cn__store_close(a);
    cn__store_close(b);
    tsu_rm(&d);
  }
}

int main(void) {
  RUN(order_and_idempotence);
  RUN(failure_leaves_no_trace);
  RUN(schema_functions);
  RUN(bad_input);
  RUN(engine_variants);
  RUN(concurrent_migrate);
  return check_summary();
}
