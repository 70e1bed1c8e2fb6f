/* rows.c: what a write changed, row by row, and the columns it changed.
 *
 * SQLite calls the pre-update hook on the writer connection before each
 * row an INSERT, UPDATE or DELETE changes, triggers and foreign-key
 * cascades included, with the row's old and new values (not for virtual
 * tables). The hook must not run SQL, so it keeps the values by position
 * and marks which positions an UPDATE changed; once the body has
 * returned, cn__sq_rows_finish names the columns (PRAGMA table_xinfo,
 * kept per table until the schema changes) and works out the write set
 * the live queries compare with their reads (store.h).
 *
 * The log follows the savepoints: a body that fails loses its log, a
 * nested write rolled back to its savepoint truncates it (writer.c). A
 * statement that fails after changing rows, in a body that goes on, may
 * have kept them or not: the log then keeps the tables only (sql.c). */
#include <strings.h>

#include "data/sqlite_int.h"

/* What the writer knows of one table. */
typedef struct tcol {
  char *name;
  /* part of the key; generated (stored or virtual); virtual: computed
   * when read, so the hook's value for it means nothing */
  unsigned char pk, gen, vgen;
} tcol;
typedef struct cn__sq_tinfo {
  char *name;
  int exists, virt, any_gen;
  size_t ncol, cap;
  tcol *cols;
} cn__sq_tinfo;

/* ------------------------------------------------------------ the log */

static void change_free(cn__rowchange *c) {
  cn__free(c->table);
  json_decref(c->old_row);
  json_decref(c->new_row);
}

void cn__rowlog_truncate(cn__rowlog *l, size_t n) {
  if (!l)
    return;
  while (l->n > n)
    change_free(&l->rows[--l->n]);
}

void cn__rowlog_clear(cn__rowlog *l) {
  if (!l)
    return;
  cn__rowlog_truncate(l, 0);
  cn__free(l->rows);
  l->rows = NULL;
  l->cap = 0;
  l->bytes = 0;
  l->partial = 0;
  cn__rwset_clear(&l->tables);
}

/* Past the caps, or unsure what happened: keep the tables only. */
static void give_up(cn__rowlog *l) {
  cn__rowlog_truncate(l, 0);
  l->partial = 1;
}

void cn__sq_rows_unsure(cn__rowlog *l) { give_up(l); }

/* ----------------------------------------------------------- the hook */

static const char hexd[] = "0123456789abcdef";

static json_t *value_json(sqlite3_value *v, size_t *bytes) {
  if (!v)
    return json_null();
  switch (sqlite3_value_type(v)) {
  case SQLITE_INTEGER:
    *bytes += 8;
    return json_integer(sqlite3_value_int64(v));
  case SQLITE_FLOAT: {
    double d = sqlite3_value_double(v);
    *bytes += 8;
    return d == d && d - d == 0 ? json_real(d) : json_null();
  }
  case SQLITE_TEXT: {
    const char *p = (const char *)sqlite3_value_text(v);
    size_t n = (size_t)sqlite3_value_bytes(v);
    *bytes += n;
    json_t *s = p ? json_stringn(p, n) : NULL;
    return s ? s : json_null(); /* not UTF-8 */
  }
  case SQLITE_BLOB: {
    const unsigned char *p = sqlite3_value_blob(v);
    size_t n = (size_t)sqlite3_value_bytes(v);
    *bytes += 2 * n;
    char *h = cn__malloc(2 * n + 1);
    if (!h)
      return NULL;
    for (size_t i = 0; i < n; i++) {
      h[2 * i] = hexd[p[i] >> 4];
      h[2 * i + 1] = hexd[p[i] & 15];
    }
    json_t *o = json_pack("{s:s#}", "$blob", h, 2 * n);
    cn__free(h);
    return o;
  }
  default:
    return json_null();
  }
}

/* Two values the same (type and bytes, as the row stores them). */
static int same(sqlite3_value *a, sqlite3_value *b) {
  if (!a || !b)
    return a == b;
  int t = sqlite3_value_type(a);
  if (t != sqlite3_value_type(b))
    return 0;
  switch (t) {
  case SQLITE_INTEGER:
    return sqlite3_value_int64(a) == sqlite3_value_int64(b);
  case SQLITE_FLOAT: {
    double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
    return memcmp(&x, &y, sizeof x) == 0;
  }
  case SQLITE_NULL:
    return 1;
  default: {
    const void *p = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(a)
                                     : sqlite3_value_blob(a);
    int n = sqlite3_value_bytes(a);
    const void *q = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(b)
                                     : sqlite3_value_blob(b);
    return n == sqlite3_value_bytes(b) && (!n || (p && q && !memcmp(p, q, (size_t)n)));
  }
  }
}

/* The row's values on one side, by position (an array for now). */
static json_t *side(sqlite3 *h, int old, int ncol, size_t *bytes) {
  json_t *a = json_array();
  for (int i = 0; a && i < ncol; i++) {
    sqlite3_value *v = NULL;
    if ((old ? sqlite3_preupdate_old(h, i, &v) : sqlite3_preupdate_new(h, i, &v)) !=
        SQLITE_OK)
      v = NULL;
    json_t *j = value_json(v, bytes);
    if (!j || json_array_append_new(a, j)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static void hook(void *arg, sqlite3 *h, int op, const char *dbname,
                 const char *table, sqlite3_int64 k1, sqlite3_int64 k2) {
  cn_db *db = arg;
  cn__rowlog *l = db->rows;
  (void)dbname;
  if (!l || !table || strncasecmp(table, "sqlite_", 7) == 0)
    return;
  cn__rwset_add(&l->tables, table); /* OOM: overflow, "every table" */
  if (l->partial)
    return;
  if (l->n >= CN__ROWLOG_MAX_ROWS || l->bytes >= CN__ROWLOG_MAX_BYTES ||
      cn__array_grow(&l->rows, &l->cap, l->n, sizeof *l->rows)) {
    give_up(l);
    return;
  }
  cn__rowchange *c = &l->rows[l->n];
  memset(c, 0, sizeof *c);
  int ncol = sqlite3_preupdate_count(h);
  c->op = op == SQLITE_INSERT ? 'I' : op == SQLITE_DELETE ? 'D' : 'U';
  c->old_rowid = op == SQLITE_INSERT ? 0 : k1;
  c->new_rowid = op == SQLITE_DELETE ? 0 : k2;
  c->wide = ncol > 64;
  size_t bytes = 0;
  int ok = (c->table = cn__strdup(table)) != NULL;
  if (ok && c->op != 'I')
    ok = (c->old_row = side(h, 1, ncol, &bytes)) != NULL;
  if (ok && c->op != 'D')
    ok = (c->new_row = side(h, 0, ncol, &bytes)) != NULL;
  if (ok && c->op == 'U') {
    for (int i = 0; i < ncol && i < 64; i++) {
      sqlite3_value *a = NULL, *b = NULL;
      if (sqlite3_preupdate_old(h, i, &a) != SQLITE_OK ||
          sqlite3_preupdate_new(h, i, &b) != SQLITE_OK || !same(a, b))
        c->changed |= 1ull << i;
    }
  }
  if (!ok) {
    change_free(c);
    give_up(l); /* out of memory: the tables stay, whole */
    return;
  }
  l->n++;
  l->bytes += bytes;
}

void cn__sq_rows_hook(cn_db *db) { sqlite3_preupdate_hook(db->h, hook, db); }

/* ------------------------------------------------------ naming columns */

static void tinfo_free(cn__sq_tinfo *t) {
  for (size_t i = 0; i < t->ncol; i++)
    cn__free(t->cols[i].name);
  cn__free(t->cols);
  cn__free(t->name);
}

void cn__sq_tinfo_flush(cn__store *st) {
  for (size_t i = 0; i < st->ntinfo; i++)
    tinfo_free(&st->tinfo[i]);
  cn__free(st->tinfo);
  st->tinfo = NULL;
  st->ntinfo = st->captinfo = 0;
}

static const char tinfo_sql[] =
    "SELECT x.name, x.pk, x.hidden, (SELECT sql LIKE 'CREATE VIRTUAL%' "
    "FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE) "
    "FROM pragma_table_xinfo(?1) AS x";

/* Read table's columns into t. 0, or -1 (out of memory, SQL error). */
static int tinfo_read(cn_db *db, const char *table, cn__sq_tinfo *t) {
  sqlite3_stmt *s = NULL;
  int rc = -1, r;
  memset(t, 0, sizeof *t);
  if (!(t->name = cn__strdup(table)) ||
      sqlite3_prepare_v2(db->h, tinfo_sql, -1, &s, NULL) != SQLITE_OK ||
      sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC) != SQLITE_OK)
    goto done;
  while ((r = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(s, 0);
    int hidden = sqlite3_column_int(s, 2);
    t->exists = 1;
    t->virt = sqlite3_column_int(s, 3);
    if (hidden == 1)
      continue; /* a virtual table's hidden column */
    if (cn__array_grow(&t->cols, &t->cap, t->ncol, sizeof *t->cols))
      goto done;
    tcol *c = &t->cols[t->ncol];
    if (!(c->name = cn__strdup(name ? name : "")))
      goto done;
    c->pk = sqlite3_column_int(s, 1) > 0;
    c->gen = hidden == 2 || hidden == 3;
    c->vgen = hidden == 2;
    t->any_gen |= c->gen;
    t->ncol++;
  }
  rc = r == SQLITE_DONE ? 0 : -1;
done:
  sqlite3_finalize(s);
  if (rc)
    tinfo_free(t);
  return rc;
}

/* What the writer knows of table, read once. NULL when that failed. */
static const cn__sq_tinfo *tinfo(cn_db *db, const char *table) {
  cn__store *st = db->st;
  for (size_t i = 0; i < st->ntinfo; i++)
    if (strcasecmp(st->tinfo[i].name, table) == 0)
      return &st->tinfo[i];
  cn__sq_tinfo t;
  if (tinfo_read(db, table, &t))
    return NULL;
  if (cn__array_grow(&st->tinfo, &st->captinfo, st->ntinfo,
                     sizeof *st->tinfo)) {
    tinfo_free(&t);
    return NULL;
  }
  st->tinfo[st->ntinfo] = t;
  return &st->tinfo[st->ntinfo++];
}

/* The positional array a, as an object of t's columns (without virtual
 * generated ones). NULL when the shapes differ or memory ran out. */
static json_t *named(const cn__sq_tinfo *t, json_t *a) {
  if (!a || json_array_size(a) != t->ncol)
    return NULL;
  json_t *o = json_object();
  for (size_t i = 0; o && i < t->ncol; i++)
    if (!t->cols[i].vgen &&
        json_object_set(o, t->cols[i].name, json_array_get(a, i))) {
      json_decref(o);
      o = NULL;
    }
  return o;
}

/* Name one logged row's values; add what it changed to out. */
static void finish_row(cn_db *db, cn__rowchange *c, cn__rwset *out) {
  const cn__sq_tinfo *t = tinfo(db, c->table);
  json_t *o = t ? named(t, c->old_row) : NULL, *n = t ? named(t, c->new_row) : NULL;
  int shaped = t && t->exists && (!c->old_row || o) && (!c->new_row || n);
  if (shaped) {
    json_decref(c->old_row);
    json_decref(c->new_row);
    c->old_row = o;
    c->new_row = n;
  } else {
    json_decref(o);
    json_decref(n);
  }
  /* Rows that come or go, a key that moves (and so the order a scan
   * returns rows in), or what cannot be told apart: the whole table. */
  if (!shaped || c->op != 'U' || c->old_rowid != c->new_rowid || c->wide) {
    cn__rwset_add(out, c->table);
    return;
  }
  int any = 0;
  for (size_t i = 0; i < t->ncol && i < 64; i++) {
    if (!(c->changed >> i & 1) || t->cols[i].gen)
      continue;
    if (t->cols[i].pk) {
      cn__rwset_add(out, c->table);
      return;
    }
    any = 1;
    cn__rwset_add_col(out, c->table, t->cols[i].name);
  }
  /* A generated column follows the others: when any changed, say they
   * all may have (the hook's values for a virtual one mean nothing). */
  if (any && t->any_gen)
    for (size_t i = 0; i < t->ncol; i++)
      if (t->cols[i].gen)
        cn__rwset_add_col(out, c->table, t->cols[i].name);
}

void cn__sq_rows_finish(cn_db *db, cn__rowlog *log, cn__rwset *wr) {
  cn__rwset out = {0};
  if (db->ddl)
    cn__sq_tinfo_flush(db->st); /* the schema changed under what we know */
  if (log->partial || db->ddl || wr->overflow || log->tables.overflow) {
    /* Whole tables: what the authorizer saw and what the hook saw. */
    cn__rwset_merge(&out, wr);
    cn__rwset_merge(&out, &log->tables);
    /* The rows are named after the schema the body left. */
    cn__rwset scratch = {0};
    for (size_t i = 0; i < log->n; i++)
      finish_row(db, &log->rows[i], &scratch);
    cn__rwset_clear(&scratch);
  } else {
    /* Tables written that the hook cannot see (virtual tables), or that
     * are gone: whole. Others with no row changed: nothing changed. */
    for (size_t i = 0; i < wr->n; i++) {
      const cn__sq_tinfo *t = tinfo(db, wr->tables[i]);
      if (!t || !t->exists || t->virt)
        cn__rwset_add(&out, wr->tables[i]);
    }
    for (size_t i = 0; i < log->n; i++)
      finish_row(db, &log->rows[i], &out);
  }
  cn__rwset_clear(wr);
  *wr = out;
}
