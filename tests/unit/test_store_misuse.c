/* The store used wrongly or starved: cn_db_* from the wrong thread or
 * after the body, NULLs, error messages; a statement cache churned past
 * its size and under schema changes; every allocation failing in turn. */
#include "test_store_util.h"

/* ---------------------------------------------------------------- errors */

typedef struct misuse_ctx {
  cn_db *saved;
  int rc_other_thread;
  int rc_null[5];
} misuse_ctx;

static void *other_thread(void *arg) {
  misuse_ctx *m = arg;
  json_t *out = NULL;
  m->rc_other_thread = cn_db_all(m->saved, &out, "SELECT 1", CN_NOARGS);
  return NULL;
}

static int misuse_body(cn_db *db, void *arg) {
  misuse_ctx *m = arg;
  pthread_t t;
  m->saved = db;
  pthread_create(&t, NULL, other_thread, m);
  pthread_join(t, NULL);
  m->rc_null[0] = cn_db_all(db, NULL, "SELECT 1", CN_NOARGS);
  m->rc_null[1] = cn_db_exec(db, NULL, NULL, CN_NOARGS);
  m->rc_null[2] = cn_db_all(NULL, NULL, "SELECT 1", CN_NOARGS);
  m->rc_null[3] = cn_db_exec(db, NULL, "SELECT 1", CN_NOARGS); /* fine */
  m->rc_null[4] = cn_db_last_id(NULL) == 0 ? 0 : -1;
  return 0;
}

TEST(misuse) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  misuse_ctx m = {0};
  CHECK_EQ_INT(cn__store_read(st, misuse_body, &m, NULL), 0);
  CHECK_EQ_INT(m.rc_other_thread, CN_ESTATE);
  CHECK_EQ_INT(m.rc_null[0], CN_EINVAL);
  CHECK_EQ_INT(m.rc_null[1], CN_EINVAL);
  CHECK_EQ_INT(m.rc_null[2], CN_EINVAL);
  CHECK_EQ_INT(m.rc_null[3], 0);
  CHECK_EQ_INT(m.rc_null[4], 0);
  /* after the body returned, the connection is not the caller's */
  json_t *out = NULL;
  CHECK_EQ_INT(cn_db_all(m.saved, &out, "SELECT 1", CN_NOARGS), CN_ESTATE);
  CHECK(out == NULL);
  CHECK_EQ_INT(cn_db_exec(m.saved, NULL, "SELECT 1", CN_NOARGS), CN_ESTATE);
  CHECK_EQ_INT(cn__store_read(st, NULL, NULL, NULL), CN_EINVAL);
  CHECK_EQ_INT(cn__store_write(st, NULL, NULL, NULL, NULL, NULL), CN_EINVAL);
  /* errors carry the database's message and the SQL */
  tsu_one o = {.sql = "SELECT nope FROM nowhere"};
  CHECK_EQ_INT(cn__store_read(st, tsu_all_body, &o, NULL), CN_EINVAL);
  CHECK(strstr(o.err, "no such table: nowhere") != NULL);
  CHECK(strstr(o.err, "(in: SELECT nope FROM nowhere)") != NULL);
  tsu_exec(st, "CREATE TABLE u(k TEXT UNIQUE)");
  tsu_exec(st, "INSERT INTO u VALUES ('a')");
  tsu_one c = {.sql = "INSERT INTO u VALUES ('a')"};
  CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &c, NULL, NULL, NULL),
               CN_EINVAL);
  CHECK(strstr(c.err, "UNIQUE constraint failed: u.k") != NULL);
  cn__store_close(st);
  tsu_rm(&d);
}

/* A statement cache that overflows keeps giving right answers: more
 * distinct statements than slots, then the first ones again. */
TEST(statement_cache_churn) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open_opts(&d, 0, 1, 0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < CN__SQ_CACHE * 2 + 3; i++) {
      char sql[64];
      snprintf(sql, sizeof sql, "SELECT %d + ?", i);
      cn_val v = cn_v_int(round);
      tsu_one o = {.sql = sql, 1, &v};
      CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &o, NULL), 0);
      CHECK(json_integer_value(o.out) == i + round);
      json_decref(o.out);
    }
  }
  /* schema changes under a cached statement: SQLite re-prepares it */
  tsu_exec(st, "CREATE TABLE t(a)");
  tsu_exec(st, "INSERT INTO t VALUES (1)");
  tsu_check_json(st, "SELECT * FROM t", "[{\"a\":1}]");
  tsu_exec(st, "ALTER TABLE t ADD COLUMN b DEFAULT 2");
  tsu_check_json(st, "SELECT * FROM t", "[{\"a\":1,\"b\":2}]");
  cn__store_close(st);
  tsu_rm(&d);
}

/* Every allocation of the store failing in turn (cn__alloc_fail_after):
 * open, write, read and close answer CN_ENOMEM or succeed, never crash
 * or leak (ASan watches). */
TEST(out_of_memory) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x)");
  cn__store_close(st);
  int opened = 0, whole = 0, failed_open = 0;
  json_t *arr = json_pack("[i,s]", 1, "two");
  for (long k = 0; k < 120; k++) {
    char err[256];
    cn__store_opts o = {.url = d.url, .readers = 2};
    st = NULL;
    cn__alloc_fail_after(k);
    int rc = cn__store_open(&o, &st, err, sizeof err);
    if (rc) {
      CHECK_EQ_INT(rc, CN_ENOMEM);
      CHECK(st == NULL);
      failed_open++;
      cn__alloc_fail_after(-1);
      continue;
    }
    opened++;
    cn_val v = cn_v_json(arr);
    cn__rwset rd = {0}, wr = {0};
    tsu_one w = {.sql = "INSERT INTO t VALUES (?)", 1, &v};
    int wrc = cn__store_write(st, tsu_exec_body, &w, &rd, &wr, NULL);
    CHECK(wrc == 0 || wrc == CN_ENOMEM);
    tsu_one r = {.sql = "SELECT count(*) AS n FROM t WHERE x = ?", 1, &v};
    int rrc = cn__store_read(st, tsu_all_body, &r, &rd);
    CHECK(rrc == 0 || rrc == CN_ENOMEM);
    CHECK(rrc ? r.out == NULL : json_is_array(r.out));
    json_decref(r.out);
    whole += wrc == 0 && rrc == 0;
    cn__rwset_clear(&rd);
    cn__rwset_clear(&wr);
    cn__store_close(st);
    cn__alloc_fail_after(-1);
  }
  json_decref(arr);
  CHECK(failed_open > 0); /* the early failures hit open itself */
  CHECK(opened > 0 && whole > 0);
  tsu_rm(&d);
}

int main(void) {
  RUN(misuse);
  RUN(statement_cache_churn);
  RUN(out_of_memory);
  return check_summary();
}
