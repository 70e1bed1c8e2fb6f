/* The store's SQL side (src/data/sql.c, sqlite.c): DATABASE_URL, values in
 * and out, injection through every value type, argument counts, one
 * statement per call, what a read may not do, read/write sets, misuse.
 * Real database files in a temporary folder. */
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_store_util.h"

/* ------------------------------------------------------------------ URLs */

TEST(url_table) {
  tsu_dir d;
  tsu_mkdir(&d);
  char junk[160], dirpath[160], u1[200], u2[200], u3[200], u4[200], u5[200];
  snprintf(junk, sizeof junk, "%s/junk.db", d.path);
  FILE *f = fopen(junk, "w");
  fputs("this is not a database, not even close to one, really.\n", f);
  fclose(f);
  snprintf(dirpath, sizeof dirpath, "%s/adir", d.path);
  mkdir(dirpath, 0755);
  snprintf(u1, sizeof u1, "sqlite:%s/a.db", d.path);
  snprintf(u2, sizeof u2, "sqlite://%s/deep/er/b.db", d.path);
  snprintf(u3, sizeof u3, "sqlite:%s", junk);
  snprintf(u4, sizeof u4, "sqlite:%s", dirpath);
  snprintf(u5, sizeof u5, "SQLITE:%s/c.db", d.path);
  char def[160];
  snprintf(def, sizeof def, "%s/.cairn/data.db", d.path);
  static const struct {
    int which; /* index into urls below */
    int rc;
    const char *err; /* substring of the error */
  } cases[] = {
      {0, 0, ""},                    /* NULL: the default path */
      {1, 0, ""},                    /* "": the default path */
      {2, 0, ""},                    /* sqlite:path */
      {3, 0, ""},                    /* sqlite://path, folders made */
      {4, 0, ""},                    /* scheme in capitals */
      /* PostgreSQL's (pg.c): nothing listens on port 1; the password is
       * never shown */
      {5, CN_EIO, "DATABASE_URL postgres://u:***@127.0.0.1:1/db: cannot "
                  "connect"},
      {6, CN_EIO, "DATABASE_URL postgresql://127.0.0.1:1/db: cannot connect"},
      {7, CN_EINVAL, "unknown scheme"},
      {8, CN_EINVAL, "unknown scheme"}, /* a bare path */
      {9, CN_EINVAL, "names no file"},
      {10, CN_EINVAL, "must be a file path"},
      {11, CN_EINVAL, "must be a file path"},
      {12, CN_EIO, "junk.db"},  /* not a database */
      {13, CN_EIO, "adir"},     /* a folder */
      {14, CN_EIO, "/proc"},    /* cannot make the folder */
  };
  const char *urls[] = {NULL,
                        "",
                        u1,
                        u2,
                        u5,
                        "postgres://u:p@127.0.0.1:1/db",
                        "postgresql://127.0.0.1:1/db",
                        "mysql://localhost/db",
                        "data.db",
                        "sqlite:",
                        "sqlite::memory:",
                        "sqlite:file:x.db?mode=memory",
                        u3,
                        u4,
                        "sqlite:/proc/nope/x/data.db"};
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__store *st = NULL;
    char err[256] = "unset";
    cn__store_opts o = {.url = urls[cases[i].which], .default_path = def};
    int rc = cn__store_open(&o, &st, err, sizeof err);
    if (rc != cases[i].rc || !strstr(err, cases[i].err))
      fprintf(stderr, "case %zu (%s): rc %d err %s\n", i,
              urls[cases[i].which] ? urls[cases[i].which] : "NULL", rc, err);
    CHECK_EQ_INT(rc, cases[i].rc);
    CHECK(strstr(err, cases[i].err) != NULL);
    CHECK(rc ? st == NULL : st != NULL);
    if (st) {
      tsu_exec(st, "CREATE TABLE IF NOT EXISTS t(x)");
      cn__store_close(st);
    }
  }
  struct stat sb;
  CHECK_EQ_INT(stat(def, &sb), 0);
  char p[200];
  snprintf(p, sizeof p, "%s/deep/er/b.db", d.path);
  CHECK_EQ_INT(stat(p, &sb), 0);
  /* the junk file was not overwritten */
  f = fopen(junk, "r");
  char line[16] = "";
  CHECK(f && fgets(line, sizeof line, f) && strncmp(line, "this is", 7) == 0);
  if (f)
    fclose(f);
  tsu_rm(&d);
}

TEST(url_relative_to_cwd) {
  tsu_dir d;
  tsu_mkdir(&d);
  char cwd[512];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK_EQ_INT(chdir(d.path), 0);
  cn__store *st = NULL;
  char err[256];
  cn__store_opts o = {.url = "sqlite:rel/here.db"};
  CHECK_EQ_INT(cn__store_open(&o, &st, err, sizeof err), 0);
  if (st) {
    tsu_exec(st, "CREATE TABLE t(x)");
    cn__store_close(st);
  }
  CHECK_EQ_INT(chdir(cwd), 0);
  char p[200];
  struct stat sb;
  snprintf(p, sizeof p, "%s/rel/here.db", d.path);
  CHECK_EQ_INT(stat(p, &sb), 0);
  tsu_rm(&d);
}

/* The connection settings, read from inside a write body (bypassing the
 * body's PRAGMA rules: the test is the engine here). */
typedef struct pragmas {
  char journal[16];
  int sync, fk, busy;
} pragmas;

static int read_pragma(sqlite3 *h, const char *sql, char *text, size_t cap) {
  sqlite3_stmt *s = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW) {
    v = sqlite3_column_int(s, 0);
    if (text)
      snprintf(text, cap, "%s", (const char *)sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  return v;
}

static int pragmas_body(cn_db *db, void *arg) {
  pragmas *p = arg;
  int mode = db->mode;
  db->mode = CN__SQ_INTERNAL;
  read_pragma(db->h, "PRAGMA journal_mode", p->journal, sizeof p->journal);
  p->sync = read_pragma(db->h, "PRAGMA synchronous", NULL, 0);
  p->fk = read_pragma(db->h, "PRAGMA foreign_keys", NULL, 0);
  p->busy = read_pragma(db->h, "PRAGMA busy_timeout", NULL, 0);
  db->mode = mode;
  return 0;
}

TEST(connection_settings) {
  for (int full = 0; full <= 1; full++) {
    tsu_dir d;
    tsu_mkdir(&d);
    cn__store *st = tsu_open(&d, full);
    pragmas w = {.sync = 0}, r = {.sync = 0};
    CHECK_EQ_INT(cn__store_write(st, pragmas_body, &w, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(cn__store_read(st, pragmas_body, &r, NULL), 0);
    CHECK_EQ_STR(w.journal, "wal");
    CHECK_EQ_STR(r.journal, "wal");
    CHECK_EQ_INT(w.sync, full ? 2 : 1); /* FULL : NORMAL */
    CHECK_EQ_INT(w.fk, 1);
    CHECK_EQ_INT(r.fk, 1);
    CHECK_EQ_INT(w.busy, 5000);
    /* foreign keys are enforced, not merely set */
    tsu_exec(st, "CREATE TABLE p(id INTEGER PRIMARY KEY)");
    tsu_exec(st, "CREATE TABLE c(pid INTEGER REFERENCES p(id))");
    tsu_one o = {.sql = "INSERT INTO c VALUES (42)"};
    CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &o, NULL, NULL, NULL),
                 CN_EINVAL);
    CHECK(strstr(o.err, "FOREIGN KEY") != NULL);
    CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM c"), 0);
    cn__store_close(st);
    tsu_rm(&d);
  }
}

/* ------------------------------------------------------- values in, out */

typedef struct roundtrip {
  cn_val v;
  const char *json; /* what SELECT ? AS v, typeof(?) AS t gives */
} roundtrip;

TEST(values_round_trip) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  json_t *jarr = json_pack("[i,s,{s:b}]", 1, "two", "three", 1);
  json_t *jobj = json_pack("{s:s,s:n}", "k'\"", "v;--", "z");
  json_t *jstr = json_stringn("a\0b", 3);
  json_t *jint = json_integer(-7), *jreal = json_real(2.5);
  const char nul3[] = {'x', '\0', 'y'};
  roundtrip cases[] = {
      {cn_v_int(0), "[{\"v\":0,\"t\":\"integer\"}]"},
      {cn_v_int(INT64_MAX),
       "[{\"v\":9223372036854775807,\"t\":\"integer\"}]"},
      {cn_v_int(INT64_MIN),
       "[{\"v\":-9223372036854775808,\"t\":\"integer\"}]"},
      {cn_v(1 == 1), "[{\"v\":1,\"t\":\"integer\"}]"},
      {cn_v_real(-0.25), "[{\"v\":-0.25,\"t\":\"real\"}]"},
      {cn_v_text("héllo"), "[{\"v\":\"héllo\",\"t\":\"text\"}]"},
      {cn_v_text(""), "[{\"v\":\"\",\"t\":\"text\"}]"},
      {cn_v_text(NULL), "[{\"v\":null,\"t\":\"null\"}]"},
      {cn_v_slice(cn__str(nul3, 3)), "[{\"v\":\"x\\u0000y\",\"t\":\"text\"}]"},
      {cn_v_slice(cn__str(nul3, 1)), "[{\"v\":\"x\",\"t\":\"text\"}]"},
      {cn_v_slice(cn__str(nul3, 0)), "[{\"v\":\"\",\"t\":\"text\"}]"},
      {cn_v_null(), "[{\"v\":null,\"t\":\"null\"}]"},
      {cn_v_json(jstr), "[{\"v\":\"a\\u0000b\",\"t\":\"text\"}]"},
      {cn_v_json(jint), "[{\"v\":-7,\"t\":\"integer\"}]"},
      {cn_v_json(jreal), "[{\"v\":2.5,\"t\":\"real\"}]"},
      {cn_v_json(json_true()), "[{\"v\":1,\"t\":\"integer\"}]"},
      {cn_v_json(json_false()), "[{\"v\":0,\"t\":\"integer\"}]"},
      {cn_v_json(json_null()), "[{\"v\":null,\"t\":\"null\"}]"},
      {cn_v_json(NULL), "[{\"v\":null,\"t\":\"null\"}]"},
      {cn_v_json(jarr),
       "[{\"v\":\"[1,\\\"two\\\",{\\\"three\\\":true}]\",\"t\":\"text\"}]"},
      {cn_v_json(jobj),
       "[{\"v\":\"{\\\"k'\\\\\\\"\\\":\\\"v;--\\\",\\\"z\\\":null}\","
       "\"t\":\"text\"}]"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn_val two[2] = {cases[i].v, cases[i].v};
    tsu_one o = {.sql = "SELECT ?1 AS v, typeof(?1) AS t", 1, two};
    CHECK_EQ_INT(cn__store_read(st, tsu_all_body, &o, NULL), 0);
    char *got = o.out ? json_dumps(o.out, JSON_COMPACT) : strdup("NULL");
    if (strcmp(got, cases[i].json) != 0)
      fprintf(stderr, "case %zu: %s\n", i, got);
    CHECK_EQ_STR(got, cases[i].json);
    free(got);
    json_decref(o.out);
    /* and through a table: stored and read back the same */
    tsu_exec(st, "CREATE TABLE IF NOT EXISTS rt(v)");
    tsu_exec(st, "DELETE FROM rt");
    tsu_one w = {.sql = "INSERT INTO rt VALUES (?)", 1, two};
    CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &w, NULL, NULL, NULL), 0);
    tsu_one r = {.sql = "SELECT v, typeof(v) AS t FROM rt"};
    CHECK_EQ_INT(cn__store_read(st, tsu_all_body, &r, NULL), 0);
    got = r.out ? json_dumps(r.out, JSON_COMPACT) : strdup("NULL");
    CHECK_EQ_STR(got, cases[i].json);
    free(got);
    json_decref(r.out);
  }
  json_decref(jarr);
  json_decref(jobj);
  json_decref(jstr);
  json_decref(jint);
  json_decref(jreal);
  cn__store_close(st);
  tsu_rm(&d);
}

/* Values that cannot be bound, or columns that cannot be JSON. */
TEST(values_refused) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  const char bad_utf8[] = "a\xff" "b";
  const char overlong[] = "\xc0\xaf";
  const char surrogate[] = "\xed\xa0\x80";
  const char cut[] = "\xe2\x82";
  cn_val weird = {.type = (__typeof__(weird.type))42};
  static const struct {
    const char *sql;
    int rc;
    const char *err;
  } cols[] = {
      {"SELECT x'00ff' AS b", CN_EINVAL, "BLOB"},
      {"SELECT randomblob(4) AS b", CN_EINVAL, "BLOB"},
      {"SELECT CAST(x'ff' AS TEXT) AS t", CN_EINVAL, "UTF-8"},
      {"SELECT 1e999 AS big", CN_EINVAL, "finite"},
      {"SELECT -1e999 AS small", CN_EINVAL, "finite"},
      {"SELECT hex(x'00ff') AS h", 0, ""},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cols); i++) {
    tsu_one o = {.sql = cols[i].sql};
    CHECK_EQ_INT(cn__store_read(st, tsu_all_body, &o, NULL), cols[i].rc);
    CHECK(strstr(o.err, cols[i].err) != NULL);
    CHECK(cols[i].rc ? o.out == NULL : o.out != NULL);
    json_decref(o.out);
  }
  cn_val args[] = {cn_v_text(bad_utf8), cn_v_text(overlong),
                   cn_v_text(surrogate), cn_v_text(cut),
                   cn_v_real(NAN), cn_v_real(INFINITY), weird};
  for (size_t i = 0; i < CN__ARRAY_LEN(args); i++) {
    tsu_one o = {.sql = "SELECT ?", 1, &args[i]};
    CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &o, NULL), CN_EINVAL);
    CHECK(o.out == NULL);
    CHECK(strstr(o.err, "SELECT ?") != NULL);
  }
  cn__store_close(st);
  tsu_rm(&d);
}

/* ----------------------------------------------------------- injection */

/* Hostile text bound through every value type: it is stored as itself and
 * changes nothing else. */
TEST(injection_changes_nothing) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY, v)");
  tsu_exec(st, "CREATE TABLE secret(x)");
  tsu_exec(st, "INSERT INTO secret VALUES ('keep')");
  static const char nul_attack[] = "x'\0; DROP TABLE t; --";
  const char *attacks[] = {
      "'; DROP TABLE t; --",
      "1 OR 1=1",
      "1' OR '1'='1",
      "\"; DELETE FROM secret; --",
      "); DROP TABLE secret; (",
      "?",
      "?1 ?2 :a @b $c",
      "ATTACH '/tmp/x.db' AS x",
      "1; PRAGMA writable_schema=1",
      "*/ DROP TABLE t /*",
      "\\'; DROP TABLE t; --",
      "SELECT * FROM secret",
  };
  int64_t rows = 0;
  for (size_t a = 0; a <= CN__ARRAY_LEN(attacks); a++) {
    const char *s = a < CN__ARRAY_LEN(attacks) ? attacks[a] : nul_attack;
    size_t len = a < CN__ARRAY_LEN(attacks) ? strlen(s) : sizeof nul_attack - 1;
    json_t *js = json_stringn(s, len);
    json_t *ja = json_pack("[o]", json_incref(js));
    json_t *jo = json_pack("{s:o}", s, json_incref(js));
    cn_val vals[] = {cn_v_slice(cn__str(s, len)), cn_v_json(js), cn_v_json(ja),
                     cn_v_json(jo)};
    for (size_t k = 0; k < CN__ARRAY_LEN(vals); k++) {
      if (k == 0 && len == strlen(s)) {
        cn_val t = cn_v_text(s); /* NUL-terminated too */
        tsu_one w = {.sql = "INSERT INTO t(v) VALUES (?)", 1, &t};
        CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &w, NULL, NULL, NULL),
                     0);
        rows++;
      }
      tsu_one w = {.sql = "INSERT INTO t(v) VALUES (?)", 1, &vals[k]};
      CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &w, NULL, NULL, NULL),
                   0);
      CHECK_EQ_INT(w.changes, 1);
      rows++;
      /* in a WHERE: matches its own row(s) only, never "1=1" */
      tsu_one r = {.sql = "SELECT count(*) FROM t WHERE v = ?", 1, &vals[k]};
      CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &r, NULL), 0);
      int64_t same = k >= 2 ? 1 : (len == strlen(s) ? 2 : 1) + (int64_t)k;
      CHECK(json_is_integer(r.out) && json_integer_value(r.out) == same);
      json_decref(r.out);
      /* and it reads back byte for byte */
      tsu_one b = {.sql = "SELECT v FROM t ORDER BY id DESC LIMIT 1"};
      CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &b, NULL), 0);
      if (k <= 1)
        CHECK(json_is_string(b.out) && json_string_length(b.out) == len &&
              memcmp(json_string_value(b.out), s, len) == 0);
      else
        CHECK(json_is_string(b.out) && json_string_value(b.out)[0] ==
                                           (k == 2 ? '[' : '{'));
      json_decref(b.out);
    }
    json_decref(js);
    json_decref(ja);
    json_decref(jo);
  }
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), rows);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM secret"), 1);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM sqlite_master"), 2);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ----------------------------------------------- arguments, statements */

TEST(argument_counts) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  cn_val two[] = {cn_v_int(1), cn_v_int(2)};
  static const struct {
    const char *sql;
    size_t nargs;
    int null_args;
    int rc;
  } cases[] = {
      {"SELECT ?", 0, 0, CN_EINVAL},
      {"SELECT ?", 2, 0, CN_EINVAL},
      {"SELECT ?", 1, 0, 0},
      {"SELECT ?, ?", 1, 0, CN_EINVAL},
      {"SELECT ?, ?", 2, 0, 0},
      {"SELECT ?1, ?1", 1, 0, 0},
      {"SELECT ?2", 1, 0, CN_EINVAL}, /* ?2 means two parameters */
      {"SELECT ?2", 2, 0, 0},
      {"SELECT :a, :a", 1, 0, 0},
      {"SELECT 1", 1, 0, CN_EINVAL},
      {"SELECT 1", 0, 0, 0},
      {"SELECT ?", 1, 1, CN_EINVAL}, /* a count but no values */
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    tsu_one o = {.sql = cases[i].sql, cases[i].nargs,
                 cases[i].null_args ? NULL : two};
    CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &o, NULL), cases[i].rc);
    if (cases[i].rc)
      CHECK(strstr(o.err, "parameter") != NULL);
    json_decref(o.out);
  }
  /* the cached statement keeps no binding of an earlier call */
  tsu_one o = {.sql = "SELECT ?", 1, two};
  CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &o, NULL), 0);
  CHECK(json_integer_value(o.out) == 1);
  json_decref(o.out);
  cn__store_close(st);
  tsu_rm(&d);
}

TEST(one_statement_per_call) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x)");
  static const struct {
    const char *sql;
    int rc;
  } cases[] = {
      {"INSERT INTO t VALUES (1)", 0},
      {"INSERT INTO t VALUES (2);", 0},
      {"INSERT INTO t VALUES (3);  \n\t", 0},
      {"INSERT INTO t VALUES (4); -- a comment", 0},
      {"INSERT INTO t VALUES (5); /* a comment */", 0},
      {"INSERT INTO t VALUES (6);;", 0},
      {"INSERT INTO t VALUES (';'); ", 0},
      {"INSERT INTO t VALUES (7); DROP TABLE t", CN_EINVAL},
      {"INSERT INTO t VALUES (8); ; DROP TABLE t", CN_EINVAL},
      {"INSERT INTO t VALUES (9); -- x\nDROP TABLE t", CN_EINVAL},
      {"INSERT INTO t VALUES (10); SELECT 1", CN_EINVAL},
      {"INSERT INTO t VALUES (11); garbage here", CN_EINVAL},
      {"INSERT INTO t VALUES (12); BEGIN", CN_EINVAL},
      {"", CN_EINVAL},
      {"   ", CN_EINVAL},
      {"-- only a comment", CN_EINVAL},
      {";", CN_EINVAL},
      {"SELEKT 1", CN_EINVAL},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    tsu_one o = {.sql = cases[i].sql};
    /* twice: the second comes from the statement cache when cached */
    for (int k = 0; k < 2; k++) {
      CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &o, NULL, NULL, NULL),
                   cases[i].rc);
      if (cases[i].rc)
        CHECK(strstr(o.err, "(in: ") != NULL);
    }
  }
  /* 7 good statements ran twice; none of the refused ones ran at all */
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 14);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t WHERE x > 6 AND x <> ';'"),
               0);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ---------------------------------------------------- what a read can't */

TEST(reads_refuse_writes) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x)");
  tsu_exec(st, "INSERT INTO t VALUES (1), (2)");
  tsu_exec(st, "CREATE INDEX tx ON t(x)"); /* so REINDEX has work */
  char vac[200], att[200], vac_sql[260], att_sql[260];
  snprintf(vac, sizeof vac, "%s/copy.db", d.path);
  snprintf(att, sizeof att, "%s/other.db", d.path);
  snprintf(vac_sql, sizeof vac_sql, "VACUUM INTO '%s'", vac);
  snprintf(att_sql, sizeof att_sql, "ATTACH '%s' AS o", att);
  const char *refused[] = {
      "INSERT INTO t VALUES (3)",
      "INSERT OR REPLACE INTO t VALUES (3)",
      "REPLACE INTO t VALUES (3)",
      "UPDATE t SET x = 9",
      "DELETE FROM t",
      "WITH n(v) AS (SELECT 5) INSERT INTO t SELECT v FROM n",
      "CREATE TABLE u(y)",
      "CREATE INDEX ti ON t(x)",
      "DROP INDEX tx",
      "CREATE VIEW v AS SELECT * FROM t",
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
      "CREATE TEMP TABLE tt(y)",
      "CREATE TEMP VIEW tv AS SELECT 1",
      "DROP TABLE t",
      "ALTER TABLE t ADD COLUMN z",
      "ALTER TABLE t RENAME TO t2",
      att_sql,
      "DETACH o",
      "PRAGMA user_version = 3",
      "PRAGMA query_only = 0",
      "PRAGMA query_only = OFF",
      "PRAGMA journal_mode = DELETE",
      "PRAGMA foreign_keys = OFF",
      "PRAGMA writable_schema = 1",
      "PRAGMA synchronous = OFF",
      "BEGIN",
      "BEGIN IMMEDIATE",
      "COMMIT",
      "ROLLBACK",
      "END",
      "SAVEPOINT s",
      "RELEASE s",
      "VACUUM",
      vac_sql,
      "REINDEX",
      "ANALYZE",
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(refused); i++) {
    tsu_one o = {.sql = refused[i]};
    int rc = cn__store_read(st, tsu_exec_body, &o, NULL);
    if (rc != CN_EREADONLY)
      fprintf(stderr, "%s: %d %s\n", refused[i], rc, o.err);
    CHECK_EQ_INT(rc, CN_EREADONLY);
    CHECK(o.err[0] != '\0');
    /* the reader still works, and still refuses (query_only stayed on) */
    CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 2);
  }
  /* and a whole script: nothing of a read sticks, even with the refusal
   * ignored */
  static const tsu_sql script[] = {{"SELECT * FROM t", 0, NULL},
                                   {"INSERT INTO t VALUES (7)", 0, NULL},
                                   {NULL, 0, NULL}};
  tsu_script s = {.stmts = script};
  CHECK_EQ_INT(cn__store_read(st, tsu_script_body, &s, NULL), CN_EREADONLY);
  CHECK_EQ_INT(s.failed_at, 1);
  tsu_check_json(st, "SELECT x FROM t ORDER BY x", "[{\"x\":1},{\"x\":2}]");
  CHECK_EQ_INT(tsu_int(st, "PRAGMA user_version"), 0);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM sqlite_master"), 2);
  CHECK_EQ_INT(tsu_int(st, "PRAGMA foreign_keys"), 1);
  struct stat sb;
  CHECK(stat(vac, &sb) != 0 && errno == ENOENT);
  CHECK(stat(att, &sb) != 0);
  /* dangerous functions are refused as such, not as writes */
  static const char *const fns[] = {"SELECT fts3_tokenizer('simple')",
                                    "SELECT load_extension('x')"};
  for (size_t i = 0; i < CN__ARRAY_LEN(fns); i++) {
    tsu_one o = {.sql = fns[i]};
    CHECK_EQ_INT(cn__store_read(st, tsu_value_body, &o, NULL), CN_EINVAL);
    CHECK(strstr(o.err, "not authorized to use function") != NULL);
    CHECK_EQ_INT(cn__store_write(st, tsu_value_body, &o, NULL, NULL, NULL),
                 CN_EINVAL);
    json_decref(o.out);
  }
  /* introspection is allowed */
  CHECK(tsu_int(st, "SELECT count(*) FROM pragma_table_info('t')") == 1);
  char *ti = tsu_json(st, "PRAGMA table_info(t)");
  CHECK(strstr(ti, "\"name\":\"x\"") != NULL);
  free(ti);
  cn__store_close(st);
  tsu_rm(&d);
}

/* What a write body may not do either: the transaction is the store's. */
TEST(writes_refuse_control) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(x)");
  const char *refused[] = {
      "BEGIN",     "COMMIT",        "ROLLBACK",
      "END",       "SAVEPOINT s",   "RELEASE cn_w",
      "ROLLBACK TO cn_w",           "ATTACH '/tmp/cn-x.db' AS o",
      "DETACH o",  "CREATE TEMP TABLE tt(y)",
      "PRAGMA foreign_keys = OFF",  "PRAGMA query_only = ON",
      "PRAGMA journal_mode = DELETE", "PRAGMA synchronous = OFF",
      "PRAGMA writable_schema = 1", "VACUUM",
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(refused); i++) {
    /* insert, then the refused statement, then insert again: the body
     * fails, so neither insert stays */
    tsu_sql script[] = {{"INSERT INTO t VALUES (1)", 0, NULL},
                        {refused[i], 0, NULL},
                        {"INSERT INTO t VALUES (2)", 0, NULL},
                        {NULL, 0, NULL}};
    tsu_script s = {.stmts = script};
    int rc = cn__store_write(st, tsu_script_body, &s, NULL, NULL, NULL);
    if (rc != CN_EINVAL)
      fprintf(stderr, "%s: %d %s\n", refused[i], rc, s.err);
    CHECK_EQ_INT(rc, CN_EINVAL);
    CHECK_EQ_INT(s.failed_at, 1);
  }
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 0);
  /* the writer is in a sane state afterwards: one ordinary write works */
  tsu_exec(st, "INSERT INTO t VALUES (3)");
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 1);
  CHECK_EQ_INT(tsu_int(st, "PRAGMA foreign_keys"), 1);
  cn__store_close(st);
  tsu_rm(&d);
}

/* ---------------------------------------------------------------- shapes */

typedef struct shapes {
  int step;
  json_t *all, *one, *none, *val, *noval, *ret;
  int64_t changes[4], ids[3];
  int rc[12];
} shapes;

static int shapes_write(cn_db *db, void *arg) {
  shapes *s = arg;
  int k = 0;
  s->rc[k++] = cn_db_exec(db, &s->changes[0],
                          "INSERT INTO t(name, n) VALUES ('a', 1), ('b', 2), "
                          "('c', 3)",
                          CN_NOARGS);
  s->ids[0] = cn_db_last_id(db);
  s->rc[k++] = cn_db_exec(db, &s->changes[1], "UPDATE t SET n = n + 1",
                          CN_NOARGS);
  s->rc[k++] = cn_db_exec(db, &s->changes[2], "SELECT * FROM t", CN_NOARGS);
  s->rc[k++] = cn_db_exec(db, &s->changes[3], "CREATE TABLE t2(x)",
                          CN_NOARGS);
  s->rc[k++] = cn_db_one(db, &s->ret,
                         "INSERT INTO t(name, n) VALUES (?, ?) RETURNING id, "
                         "name",
                         CN_ARGS(cn_v("d"), cn_v(4)));
  s->ids[1] = cn_db_last_id(db);
  s->rc[k++] = cn_db_exec(db, NULL, "DELETE FROM t WHERE name = 'zzz'",
                          CN_NOARGS);
  s->ids[2] = cn_db_last_id(db);
  return 0;
}

static int shapes_read(cn_db *db, void *arg) {
  shapes *s = arg;
  int k = 6;
  s->rc[k++] = cn_db_all(db, &s->all,
                         "SELECT id, name, n, n * 0.5 AS half, NULL AS z "
                         "FROM t ORDER BY id",
                         CN_NOARGS);
  s->rc[k++] = cn_db_one(db, &s->one, "SELECT name FROM t WHERE n > ? "
                                      "ORDER BY n",
                         CN_ARGS(cn_v(2)));
  s->rc[k++] = cn_db_one(db, &s->none, "SELECT name FROM t WHERE n > 99",
                         CN_NOARGS);
  s->rc[k++] = cn_db_value(db, &s->val, "SELECT sum(n), 'ignored' FROM t",
                           CN_NOARGS);
  s->rc[k++] = cn_db_value(db, &s->noval, "SELECT n FROM t WHERE 0",
                           CN_NOARGS);
  s->rc[k++] = cn_db_last_id(db) == 0 ? 0 : -1;
  return 0;
}

TEST(result_shapes) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0);
  tsu_exec(st, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n INT)");
  shapes s = {0};
  CHECK_EQ_INT(cn__store_write(st, shapes_write, &s, NULL, NULL, NULL), 0);
  CHECK_EQ_INT(cn__store_read(st, shapes_read, &s, NULL), 0);
  for (int i = 0; i < 12; i++)
    CHECK_EQ_INT(s.rc[i], 0);
  CHECK_EQ_INT(s.changes[0], 3);
  CHECK_EQ_INT(s.changes[1], 3);
  CHECK_EQ_INT(s.changes[2], 0); /* a SELECT changes nothing */
  CHECK_EQ_INT(s.changes[3], 0); /* nor does DDL */
  CHECK_EQ_INT(s.ids[0], 3);
  CHECK_EQ_INT(s.ids[1], 4);
  CHECK_EQ_INT(s.ids[2], 4); /* a DELETE keeps the last insert's id */
  char *t = json_dumps(s.all, JSON_COMPACT);
  CHECK_EQ_STR(t, "[{\"id\":1,\"name\":\"a\",\"n\":2,\"half\":1.0,\"z\":null},"
                  "{\"id\":2,\"name\":\"b\",\"n\":3,\"half\":1.5,\"z\":null},"
                  "{\"id\":3,\"name\":\"c\",\"n\":4,\"half\":2.0,\"z\":null},"
                  "{\"id\":4,\"name\":\"d\",\"n\":4,\"half\":2.0,\"z\":null}]");
  free(t);
  t = json_dumps(s.ret, JSON_COMPACT);
  CHECK_EQ_STR(t, "{\"id\":4,\"name\":\"d\"}");
  free(t);
  CHECK(json_is_object(s.one) &&
        strcmp(json_string_value(json_object_get(s.one, "name")), "b") == 0);
  CHECK(json_is_null(s.none));
  CHECK(json_is_integer(s.val) && json_integer_value(s.val) == 13);
  CHECK(json_is_null(s.noval));
  json_decref(s.all);
  json_decref(s.one);
  json_decref(s.none);
  json_decref(s.val);
  json_decref(s.noval);
  json_decref(s.ret);
  /* last_id belongs to the write: a write that inserts nothing says 0 */
  tsu_one o = {.sql = "UPDATE t SET n = 0 WHERE id = 1"};
  CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &o, NULL, NULL, NULL), 0);
  CHECK_EQ_INT(o.last_id, 0);
  tsu_one o2 = {.sql = "INSERT INTO t(id, name) VALUES (0, 'zero')"};
  CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &o2, NULL, NULL, NULL), 0);
  CHECK_EQ_INT(o2.last_id, 0);
  tsu_one o3 = {.sql = "INSERT INTO t(id, name) VALUES (-5, 'neg')"};
  CHECK_EQ_INT(cn__store_write(st, tsu_exec_body, &o3, NULL, NULL, NULL), 0);
  CHECK_EQ_INT(o3.last_id, -5);
  cn__store_close(st);
  tsu_rm(&d);
}


/* ------------------------------------------------ holding the file */

/* Another process (this test program again, run with --other URL DB,
 * not a fork: a forked child would share SQLite's in-memory lock state):
 * 1 when a plain SQLite connection can read t, 0 when the file is locked
 * against it; +2 when a store opens on it, +4 when it cannot and says the
 * file is held by another process. */
static int other_main(const char *url, const char *db) {
  int code = 0;
  sqlite3 *h = NULL;
  sqlite3_stmt *s = NULL;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 50);
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      code |= 1;
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  cn__store *st = NULL;
  char err[512] = "";
  cn__store_opts o = {.url = url, .busy_timeout_ms = 100};
  int rc = cn__store_open(&o, &st, err, sizeof err);
  if (!rc)
    code |= 2;
  else if (rc == CN_ECONFLICT && strstr(err, "held by another process") &&
           strstr(err, "\"exclusive\": false"))
    code |= 4;
  if (st)
    cn__store_close(st);
  return code;
}

static const char *self_path;

static int other_process(const tsu_dir *d) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    execl(self_path, self_path, "--other", d->url, d->db, (char *)NULL);
    _exit(99);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

TEST(exclusive_keeps_other_processes_out) {
  tsu_dir d;
  tsu_mkdir(&d);
  cn__store *st = tsu_open(&d, 0); /* exclusive, the default */
  tsu_exec(st, "CREATE TABLE t(x)");
  tsu_exec(st, "INSERT INTO t VALUES (1)");
  /* Neither reads nor a second store get in; the store goes on. */
  CHECK_EQ_INT(other_process(&d), 4);
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 1);
  tsu_exec(st, "INSERT INTO t VALUES (2)");
  /* No -shm file: the WAL index is in this process's memory. */
  char shm[300];
  struct stat sb;
  snprintf(shm, sizeof shm, "%s-shm", d.db);
  CHECK(stat(shm, &sb) != 0);
  cn__store_close(st);
  /* Closed: the file is free again, with everything written in it. */
  CHECK_EQ_INT(other_process(&d), 1 | 2);
  st = tsu_open_mode(&d, 0, 0, 0, 1); /* shared */
  CHECK_EQ_INT(tsu_int(st, "SELECT count(*) FROM t"), 2);
  /* Shared: another process reads; but an exclusive store cannot start
   * while anyone else has the file open. */
  CHECK_EQ_INT(other_process(&d), 1 | 4);
  cn__store_close(st);
  tsu_rm(&d);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "--other"))
    return other_main(argv[2], argv[3]);
  self_path = argv[0];
  RUN(url_table);
  RUN(url_relative_to_cwd);
  RUN(connection_settings);
  RUN(values_round_trip);
  RUN(values_refused);
  RUN(injection_changes_nothing);
  RUN(argument_counts);
  RUN(one_statement_per_call);
  RUN(reads_refuse_writes);
  RUN(writes_refuse_control);
  RUN(result_shapes);
  RUN(exclusive_keeps_other_processes_out);
  return check_summary();
}
