/* sql.c: the SQL helpers of <cairn.h> (cn_db_all/one/value/exec/last_id)
 * on a store connection, and the authorizer that watches every statement.
 *
 * One call = one statement: SQL text with more than one statement is
 * refused, so a value (always bound, never pasted) can never become SQL
 * and a body cannot slip a COMMIT after its SELECT.
 *
 * Statements are prepared once per connection and kept in a small LRU
 * cache keyed by their text (preparing costs more than running a small
 * INSERT). The authorizer runs at prepare time only, so the tables it saw
 * are kept with the cached statement and added to the body's read/write
 * sets at each run.
 *
 * Values to JSON: INTEGER -> integer, REAL -> real, TEXT -> string, NULL
 * -> null. TEXT that is not UTF-8 is refused (CN_EINVAL) rather than
 * mangled or passed on as invalid JSON; so is a BLOB (JSON has no bytes:
 * select hex(col) or a base64 of it in SQL if the bytes are wanted, which
 * keeps the encoding visible in the query) and an infinite REAL. */
#include <math.h>
#include <stdio.h>
#include <strings.h>

#include "data/sqlite_int.h"

/* ------------------------------------------------------------ authorizer */

static const char *const read_pragmas[] = {
    /* introspection: they take a table or index name, change nothing */
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", NULL};
static const char *const value_pragmas[] = {
    /* readable, not settable from a body */
    "user_version", "data_version", "schema_version", "foreign_keys",
    "page_count", "page_size", "freelist_count", "application_id", NULL};

static int in_list(const char *const *list, const char *name) {
  for (; name && *list; list++)
    if (strcasecmp(*list, name) == 0)
      return 1;
  return 0;
}

/* SQLite's own tables (schema, sequences, statistics) are not data a
 * query depends on; user tables cannot be named sqlite_*. */
static int ours(const char *table) {
  return table && strncasecmp(table, "sqlite_", 7) != 0;
}

static void record(cn__rwset *s, const char *table) {
  if (ours(table))
    cn__rwset_add(s, table); /* OOM marks the set "every table" */
}

/* Refuse the statement: in a read the caller hears CN_EREADONLY (each
 * refusal below would change something), in a write CN_EINVAL. */
static int deny(cn_db *db, const char *why) {
  db->deny_why = why;
  db->deny_rc = db->mode == CN__SQ_READ ? CN_EREADONLY : CN_EINVAL;
  return SQLITE_DENY;
}

int cn__sq_authorize(void *arg, int action, const char *a1, const char *a2,
                     const char *dbname, const char *trigger) {
  cn_db *db = arg;
  cn__sq_stmt *cur = db->cur;
  (void)dbname, (void)trigger;
  if (db->mode == CN__SQ_INTERNAL)
    return SQLITE_OK;
  switch (action) {
  case SQLITE_TRANSACTION:
  case SQLITE_SAVEPOINT:
    return deny(db, db->mode == CN__SQ_MIGRATE
                        ? "BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not "
                          "allowed in a migration: each runs in its own "
                          "transaction"
                        : "BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not "
                          "allowed: the store runs the transaction");
  case SQLITE_ATTACH:
  case SQLITE_DETACH:
    return deny(db, "ATTACH and DETACH are not allowed");
  case SQLITE_CREATE_TEMP_INDEX:
  case SQLITE_CREATE_TEMP_TABLE:
  case SQLITE_CREATE_TEMP_TRIGGER:
  case SQLITE_CREATE_TEMP_VIEW:
  case SQLITE_DROP_TEMP_INDEX:
  case SQLITE_DROP_TEMP_TABLE:
  case SQLITE_DROP_TEMP_TRIGGER:
  case SQLITE_DROP_TEMP_VIEW:
    if (db->mode == CN__SQ_MIGRATE)
      return SQLITE_OK;
    return deny(db, "TEMP tables, views, indexes and triggers are not "
                    "allowed: they would outlive the transaction");
  case SQLITE_PRAGMA:
    if (db->mode == CN__SQ_MIGRATE || in_list(read_pragmas, a1) ||
        (!a2 && in_list(value_pragmas, a1)))
      return SQLITE_OK;
    return deny(db, "this PRAGMA is not allowed here");
  case SQLITE_READ:
    /* The column, "" when the statement uses none (count(*)). */
    if (cur && ours(a1))
      cn__rwset_add_col(&cur->rd, a1, a2 ? a2 : "");
    return SQLITE_OK;
  case SQLITE_INSERT:
  case SQLITE_UPDATE:
  case SQLITE_DELETE:
    if (cur)
      record(&cur->wr, a1);
    return SQLITE_OK;
  case SQLITE_CREATE_TABLE:
  case SQLITE_DROP_TABLE:
    if (cur) {
      record(&cur->wr, a1);
      cur->ddl = 1;
    }
    return SQLITE_OK;
  case SQLITE_ALTER_TABLE:
    if (cur) {
      record(&cur->wr, a2);
      cur->ddl = 1;
    }
    return SQLITE_OK;
  case SQLITE_CREATE_INDEX:
  case SQLITE_DROP_INDEX:
  case SQLITE_CREATE_TRIGGER:
  case SQLITE_DROP_TRIGGER:
  case SQLITE_CREATE_VIEW:
  case SQLITE_DROP_VIEW:
  case SQLITE_CREATE_VTABLE:
  case SQLITE_DROP_VTABLE:
    if (cur)
      cur->ddl = 1; /* what the writer knows of tables may be stale */
    return SQLITE_OK;
  case SQLITE_FUNCTION:
    /* Debian's SQLite has fts3_tokenizer() on: it takes raw pointers.
     * SQLite reports this refusal as the statement's error ("not
     * authorized to use function"): CN_EINVAL, in a read too. */
    if (a2 && (strcasecmp(a2, "fts3_tokenizer") == 0 ||
               strcasecmp(a2, "load_extension") == 0))
      return SQLITE_DENY;
    return SQLITE_OK;
  default:
    return SQLITE_OK;
  }
}

/* ------------------------------------------------------ statement cache */

static void slot_free(cn__sq_stmt *e) {
  sqlite3_finalize(e->stmt);
  cn__free(e->sql);
  cn__rwset_clear(&e->rd);
  cn__rwset_clear(&e->wr);
  memset(e, 0, sizeof *e);
}

void cn__sq_cache_clear(cn_db *db) {
  for (int i = 0; i < CN__SQ_CACHE; i++)
    slot_free(&db->cache[i]);
}

/* Only blanks, comments and empty statements (";")? What sqlite3_prepare
 * leaves after the first statement must be nothing else. */
static int only_blank(cn_db *db, const char *tail) {
  int mode = db->mode, blank = 1;
  db->mode = CN__SQ_INTERNAL; /* preparing to look, not to run */
  while (tail && *tail) {
    sqlite3_stmt *s = NULL;
    const char *rest = NULL;
    int rc = sqlite3_prepare_v2(db->h, tail, -1, &s, &rest);
    sqlite3_finalize(s);
    /* Anything that prepares to a statement, or fails to prepare, is a
     * second statement (even one the authorizer would refuse). */
    if (rc != SQLITE_OK || s) {
      blank = 0;
      break;
    }
    if (!rest || rest == tail)
      break;
    tail = rest;
  }
  db->mode = mode;
  return blank;
}

/* The prepared statement for sql, from the cache or prepared into the
 * least recently used slot. OUT: *out. CN_EINVAL (with db->err) when it
 * does not prepare, is not one statement, or is refused. */
static int stmt_get(cn_db *db, const char *sql, cn__sq_stmt **out) {
  size_t len = strlen(sql);
  uint64_t h = cn__fnv64(CN__FNV_OFFSET, sql, len);
  cn__sq_stmt *victim = &db->cache[0];
  const char *tail = NULL;
  for (int i = 0; i < CN__SQ_CACHE; i++) {
    cn__sq_stmt *e = &db->cache[i];
    if (e->sql && e->hash == h && e->len == len &&
        memcmp(e->sql, sql, len) == 0) {
      e->used = ++db->tick;
      *out = e;
      return 0;
    }
    if (!e->sql || (victim->sql && e->used < victim->used))
      victim = e;
  }
  slot_free(victim);
  cn__sq_stmt *e = victim;
  e->sql = cn__malloc(len + 1);
  if (!e->sql) {
    cn__sq_fail(db, "out of memory", sql);
    return CN_ENOMEM;
  }
  memcpy(e->sql, sql, len + 1);
  db->cur = e;
  db->deny_why = NULL;
  int rc = len < INT32_MAX
               ? sqlite3_prepare_v3(db->h, sql, (int)len + 1,
                                    SQLITE_PREPARE_PERSISTENT, &e->stmt, &tail)
               : SQLITE_TOOBIG;
  db->cur = NULL;
  if (rc != SQLITE_OK) {
    int code = cn__sq_code(rc);
    if ((rc & 0xff) == SQLITE_AUTH && db->deny_why) {
      cn__sq_fail(db, db->deny_why, sql);
      code = db->deny_rc;
    } else {
      cn__sq_fail(db, sqlite3_errmsg(db->h), sql);
    }
    slot_free(e);
    return code;
  }
  if (!e->stmt) {
    cn__sq_fail(db, "no SQL statement", sql);
    slot_free(e);
    return CN_EINVAL;
  }
  if (!only_blank(db, tail)) {
    cn__sq_fail(db, "one statement per call: the SQL holds more than one",
                sql);
    slot_free(e);
    return CN_EINVAL;
  }
  e->len = len;
  e->hash = h;
  e->used = ++db->tick;
  *out = e;
  return 0;
}

/* ----------------------------------------------------------------- bind */

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF). NUL bytes are allowed: a counted string may hold them. */
static int utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t k;
    unsigned min, cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i <= k)
      return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k + 1;
  }
  return 1;
}

static int bind_text(cn_db *db, sqlite3_stmt *s, int i, const char *p,
                     size_t n, void (*dtor)(void *)) {
  if (!utf8_ok((const unsigned char *)p, n)) {
    char msg[64];
    snprintf(msg, sizeof msg, "argument %d is not valid UTF-8", i);
    cn__sq_fail(db, msg, sqlite3_sql(s));
    return CN_EINVAL;
  }
  return sqlite3_bind_text64(s, i, n ? p : "", n, dtor, SQLITE_UTF8);
}

static int bind_json(cn_db *db, sqlite3_stmt *s, int i, const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_NULL:
    return sqlite3_bind_null(s, i);
  case JSON_TRUE:
    return sqlite3_bind_int(s, i, 1);
  case JSON_FALSE:
    return sqlite3_bind_int(s, i, 0);
  case JSON_INTEGER:
    return sqlite3_bind_int64(s, i, json_integer_value(j));
  case JSON_REAL:
    return sqlite3_bind_double(s, i, json_real_value(j));
  case JSON_STRING: /* jansson keeps strings valid UTF-8 */
    return sqlite3_bind_text64(s, i, json_string_value(j),
                               json_string_length(j), SQLITE_STATIC,
                               SQLITE_UTF8);
  case JSON_ARRAY:
  case JSON_OBJECT: {
    size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT);
    char *text = need ? cn__malloc(need) : NULL;
    if (!text || json_dumpb(j, text, need, JSON_COMPACT) != need) {
      cn__free(text);
      cn__sq_fail(db, "out of memory", sqlite3_sql(s));
      return CN_ENOMEM;
    }
    /* SQLite copies it (SQLITE_TRANSIENT): nothing to keep alive. */
    int rc = sqlite3_bind_text64(s, i, text, need, SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    cn__free(text);
    return rc;
  }
  }
  return SQLITE_MISUSE;
}

static int bind_one(cn_db *db, sqlite3_stmt *s, int i, const cn_val *v) {
  switch (v->type) {
  case CN_V_NULL:
    return sqlite3_bind_null(s, i);
  case CN_V_INT:
    return sqlite3_bind_int64(s, i, v->i);
  case CN_V_REAL:
    if (!isfinite(v->d)) {
      cn__sq_fail(db, "a REAL argument is not a finite number",
                  sqlite3_sql(s));
      return CN_EINVAL;
    }
    return sqlite3_bind_double(s, i, v->d);
  case CN_V_TEXT:
    if (!v->s)
      return sqlite3_bind_null(s, i);
    return bind_text(db, s, i, v->s,
                     v->len == (size_t)-1 ? strlen(v->s) : v->len,
                     SQLITE_STATIC);
  case CN_V_JSON:
    if (!v->j)
      return sqlite3_bind_null(s, i);
    return bind_json(db, s, i, v->j);
  }
  cn__sq_fail(db, "an argument of unknown type", sqlite3_sql(s));
  return CN_EINVAL;
}

static int bind_all(cn_db *db, sqlite3_stmt *s, size_t nargs,
                    const cn_val *args) {
  size_t want = (size_t)sqlite3_bind_parameter_count(s);
  if (nargs != want || (nargs && !args)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%zu argument%s for %zu parameter%s", nargs,
             nargs == 1 ? "" : "s", want, want == 1 ? "" : "s");
    cn__sq_fail(db, msg, sqlite3_sql(s));
    return CN_EINVAL;
  }
  for (size_t i = 0; i < nargs; i++) {
    int rc = bind_one(db, s, (int)i + 1, &args[i]);
    if (rc < 0)
      return rc; /* a CN_E* with its message */
    if (rc != SQLITE_OK) {
      cn__sq_fail(db, sqlite3_errmsg(db->h), sqlite3_sql(s));
      return cn__sq_code(rc);
    }
  }
  return 0;
}

/* ----------------------------------------------------------------- rows */

static int column_json(cn_db *db, sqlite3_stmt *s, int c, json_t **out) {
  const char *why = NULL;
  char msg[160];
  switch (sqlite3_column_type(s, c)) {
  case SQLITE_INTEGER:
    *out = json_integer(sqlite3_column_int64(s, c));
    break;
  case SQLITE_FLOAT: {
    double d = sqlite3_column_double(s, c);
    if (!isfinite(d))
      why = "is not a finite number";
    else
      *out = json_real(d);
    break;
  }
  case SQLITE_TEXT: {
    const unsigned char *p = sqlite3_column_text(s, c);
    size_t n = (size_t)sqlite3_column_bytes(s, c);
    if (!p) {
      *out = NULL; /* out of memory converting */
    } else if (!utf8_ok(p, n)) {
      why = "holds text that is not valid UTF-8";
    } else {
      *out = json_stringn_nocheck((const char *)p, n);
    }
    break;
  }
  case SQLITE_BLOB:
    why = "is a BLOB, which JSON cannot hold (select hex() of it)";
    break;
  default:
    *out = json_null();
    break;
  }
  if (why) {
    snprintf(msg, sizeof msg, "column \"%.60s\" %s",
             sqlite3_column_name(s, c) ? sqlite3_column_name(s, c) : "?",
             why);
    cn__sq_fail(db, msg, sqlite3_sql(s));
    return CN_EINVAL;
  }
  if (!*out) {
    cn__sq_fail(db, "out of memory", sqlite3_sql(s));
    return CN_ENOMEM;
  }
  return 0;
}

static int row_object(cn_db *db, sqlite3_stmt *s, json_t **out) {
  int n = sqlite3_column_count(s), rc = 0;
  json_t *obj = json_object();
  if (!obj)
    goto nomem;
  for (int c = 0; c < n; c++) {
    const char *name = sqlite3_column_name(s, c);
    json_t *v = NULL;
    if (!name)
      goto nomem;
    if ((rc = column_json(db, s, c, &v)))
      goto fail;
    if (!utf8_ok((const unsigned char *)name, strlen(name))) {
      json_decref(v);
      cn__sq_fail(db, "a column name is not valid UTF-8", sqlite3_sql(s));
      rc = CN_EINVAL;
      goto fail;
    }
    if (json_object_set_new_nocheck(obj, name, v))
      goto nomem;
  }
  *out = obj;
  return 0;
nomem:
  cn__sq_fail(db, "out of memory", sqlite3_sql(s));
  rc = CN_ENOMEM;
fail:
  json_decref(obj);
  return rc;
}

/* ----------------------------------------------------------------- calls */


/* A failed step: its message and code. */
static int step_error(cn_db *db, sqlite3_stmt *s, int rc) {
  cn__sq_fail(db, sqlite3_errmsg(db->h), sqlite3_sql(s));
  return cn__sq_code(rc);
}

/* Step s to the shape asked; OUT: *out (not EXEC), *changes (EXEC). */
static int run(cn_db *db, sqlite3_stmt *s, int shape, json_t **out,
               int64_t *changes) {
  json_t *acc = NULL;
  int rc = 0;
  sqlite3_int64 before = sqlite3_total_changes64(db->h);
  if (shape == CN__SHAPE_ALL && !(acc = json_array()))
    goto nomem;
  for (;;) {
    int r = sqlite3_step(s);
    if (r == SQLITE_DONE)
      break;
    if (r != SQLITE_ROW) {
      rc = step_error(db, s, r);
      goto fail;
    }
    if (shape == CN__SHAPE_EXEC)
      continue;
    json_t *v = NULL;
    if (shape == CN__SHAPE_VALUE)
      rc = sqlite3_column_count(s) > 0 ? column_json(db, s, 0, &v)
                                       : ((v = json_null()) ? 0 : CN_ENOMEM);
    else
      rc = row_object(db, s, &v);
    if (rc)
      goto fail;
    if (shape != CN__SHAPE_ALL) {
      acc = v; /* the first row; reset drops the rest */
      break;
    }
    if (json_array_append_new(acc, v))
      goto nomem;
  }
  if (shape == CN__SHAPE_EXEC) {
    /* sqlite3_changes keeps the last DML's count across a SELECT or DDL:
     * only trust it when this statement changed something. */
    if (changes)
      *changes = sqlite3_total_changes64(db->h) == before
                     ? 0
                     : sqlite3_changes64(db->h);
  } else {
    if (!acc && !(acc = json_null()))
      goto nomem;
    *out = acc;
  }
  if (db->mode == CN__SQ_WRITE)
    db->last_id = sqlite3_last_insert_rowid(db->h);
  return 0;
nomem:
  cn__sq_fail(db, "out of memory", sqlite3_sql(s));
  rc = CN_ENOMEM;
fail:
  json_decref(acc);
  return rc;
}

int cn__sq_call(cn_db *db, int shape, json_t **out, int64_t *changes,
                const char *sql, size_t nargs, const cn_val *args) {
  cn__sq_stmt *e = NULL;
  int rc;
  if (!db->active || !pthread_equal(db->thread, pthread_self())) {
    /* Not inside a body on this thread: the connection may be another
     * thread's right now. Touch nothing. */
    return CN_ESTATE;
  }
  if (!sql || (shape != CN__SHAPE_EXEC && !out)) {
    cn__sq_fail(db, "no SQL or no place for the result", NULL);
    return CN_EINVAL;
  }
  db->err[0] = '\0';
  if ((rc = stmt_get(db, sql, &e)))
    return rc;
  sqlite3_stmt *s = e->stmt;
  if (db->mode == CN__SQ_READ && !sqlite3_stmt_readonly(s)) {
    cn__sq_fail(db, "a query cannot write: the statement is not read-only",
                sql);
    return CN_EREADONLY;
  }
  if ((rc = bind_all(db, s, nargs, args)))
    goto cleanup;
  db->cur = e; /* a re-prepare mid-step is authorized again, into e */
  size_t logged = db->rows ? db->rows->n : 0;
  rc = run(db, s, shape, out, changes);
  db->cur = NULL;
  /* A statement that failed after changing rows may have kept them (ON
   * CONFLICT FAIL) or not (ABORT): the log cannot tell, so it keeps the
   * tables only, if the body goes on. */
  if (rc && db->rows && db->rows->n != logged)
    cn__sq_rows_unsure(db->rows);
cleanup:
  sqlite3_reset(s);
  sqlite3_clear_bindings(s); /* no pointer into the caller's memory stays */
  /* Even a failed statement may have read (and a failed write is rolled
   * back with its body): record either way. */
  cn__rwset_merge(db->reads, &e->rd);
  cn__rwset_merge(db->writes, &e->wr);
  db->ddl |= e->ddl;
  return rc;
}

int64_t cn__sq_last_id(cn_db *db) { return db->last_id; }

const char *cn__sq_error(const cn_db *db) { return db->err; }

void cn__sq_body_begin(cn_db *db, int mode, cn__rwset *reads,
                       cn__rwset *writes) {
  db->mode = mode;
  db->reads = reads;
  db->writes = writes;
  db->last_id = 0;
  db->ddl = 0;
  db->err[0] = '\0';
  db->thread = pthread_self();
  db->active = 1;
  /* last_insert_rowid belongs to the connection, not the body: clear it
   * so a write that inserts nothing does not report the previous one's. */
  if (db->writer)
    sqlite3_set_last_insert_rowid(db->h, 0);
}

void cn__sq_body_end(cn_db *db) {
  db->active = 0;
  db->mode = CN__SQ_INTERNAL;
  db->reads = db->writes = NULL;
}
