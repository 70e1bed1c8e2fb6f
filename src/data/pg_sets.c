/*
 * pg_sets.c: which tables a statement reads and writes on PostgreSQL, so
 * that a commit re-runs only the live subscriptions it touched (store.h's
 * read and write sets, at table grain here).
 *
 * Found, without asking the app, from the planner: the first time a SQL
 * text runs successfully, EXPLAIN (FORMAT JSON) of it, with the same
 * values, in the same transaction (under a savepoint, so that a refusal
 * costs nothing). Every "Relation Name" of the plan is read; the target of
 * a ModifyTable node is written. Views come out as their tables. What the
 * plan cannot show counts as every table: a function scan (the function
 * may read anything), a statement that is not a query or DML (DDL, which
 * also forgets every statement learnt, since plans change with schemas),
 * and a written table with triggers that may write elsewhere (its own, or
 * foreign keys' ON DELETE/UPDATE CASCADE, SET NULL, SET DEFAULT).
 *
 * Kept per store, by SQL text (at most CN__PG_SETS_MAX texts; past that,
 * new texts count as every table), under a mutex; the EXPLAIN runs outside
 * it. DDL run by other programs is not seen: restart after changing
 * schemas by hand.
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "data/pg_int.h"

#define CN__PG_SETS_MAX 4096
#define NBUCKETS 1024

typedef struct entry {
  uint64_t h;
  char *key; /* the SQL text, or a table's name for `trig` */
  cn__rwset rd, wr;
  int every_rd, every_wr; /* unknown: every table */
  int cascades;           /* trig: a write there may write elsewhere */
  struct entry *next;
} entry;

struct pg_sets {
  pthread_mutex_t mu;
  entry *stmts[NBUCKETS];
  entry *trig[NBUCKETS];
  size_t n;
};

static uint64_t fnv(const char *s) {
  return cn__fnv64(CN__FNV_OFFSET, s, strlen(s));
}

static void drop(entry **b) {
  for (size_t i = 0; i < NBUCKETS; i++)
    while (b[i]) {
      entry *e = b[i];
      b[i] = e->next;
      cn__rwset_clear(&e->rd);
      cn__rwset_clear(&e->wr);
      cn__free(e->key);
      cn__free(e);
    }
}

int cn__pg_sets_new(pg_store *st) {
  if (!(st->sets = cn__calloc(1, sizeof *st->sets)))
    return CN_ENOMEM;
  pthread_mutex_init(&st->sets->mu, NULL);
  return 0;
}

void cn__pg_sets_free(pg_store *st) {
  if (!st->sets)
    return;
  drop(st->sets->stmts);
  drop(st->sets->trig);
  pthread_mutex_destroy(&st->sets->mu);
  cn__free(st->sets);
  st->sets = NULL;
}

/* Under mu: the entry for key in b, or NULL. */
static entry *find(entry **b, const char *key, uint64_t h) {
  for (entry *e = b[h % NBUCKETS]; e; e = e->next)
    if (e->h == h && !strcmp(e->key, key))
      return e;
  return NULL;
}

/* The statement's first word, lower-cased, into w (cap bytes). */
static void first_word(const char *sql, char *w, size_t cap) {
  const char *p = sql;
  for (;;) { /* spaces, comments and opening parentheses */
    while (isspace((unsigned char)*p) || *p == '(')
      p++;
    if (p[0] == '-' && p[1] == '-')
      while (*p && *p != '\n')
        p++;
    else if (p[0] == '/' && p[1] == '*') {
      const char *e = strstr(p + 2, "*/");
      p = e ? e + 2 : p + strlen(p);
    } else
      break;
  }
  size_t n = 0;
  while (isalpha((unsigned char)*p) && n + 1 < cap)
    w[n++] = (char)tolower((unsigned char)*p++);
  w[n] = '\0';
}

/* Walk a plan (EXPLAIN's JSON) into e. */
static void walk(const json_t *v, entry *e) {
  if (json_is_array(v)) {
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x) walk(x, e);
    return;
  }
  if (!json_is_object(v))
    return;
  const char *rel = json_string_value(json_object_get(v, "Relation Name"));
  const char *node = json_string_value(json_object_get(v, "Node Type"));
  if (rel && node && !strcmp(node, "ModifyTable"))
    cn__rwset_add(&e->wr, rel);
  else if (rel)
    cn__rwset_add(&e->rd, rel);
  if (node && (!strcmp(node, "Function Scan") ||
               !strcmp(node, "Table Function Scan")))
    e->every_rd = 1;
  const char *k;
  const json_t *x;
  json_object_foreach((json_t *)v, k, x) {
    if (json_is_array(x) || json_is_object(x))
      walk(x, e);
  }
}

/* Under the body's transaction and explain's savepoint: does a write to
 * table go further? 1, 0, or -1 when the catalog could not be read. */
static int cascades(pg_db *db, const char *table) {
  struct pg_sets *s = db->st->sets;
  uint64_t h = fnv(table);
  pthread_mutex_lock(&s->mu);
  entry *t = find(s->trig, table, h);
  int known = t != NULL, yes = t ? t->cascades : 0;
  pthread_mutex_unlock(&s->mu);
  if (known)
    return yes;
  const char *pv[1] = {table};
  PGresult *r = PQexecParams(
      db->c,
      "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
      "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname = $1 AND "
      "pg_table_is_visible(c.oid) AND (NOT t.tgisinternal OR p.proname ~ "
      "'^RI_FKey_(cascade|setnull|setdefault)_')",
      1, NULL, pv, NULL, NULL, 0);
  int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  yes = ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
  PQclear(r);
  if (!ok)
    return -1; /* not known (the savepoint is lost): not kept */
  entry *n = cn__calloc(1, sizeof *n);
  if (n && (n->key = cn__strdup(table))) {
    n->h = h;
    n->cascades = yes;
    pthread_mutex_lock(&s->mu);
    if (!find(s->trig, table, h)) {
      n->next = s->trig[h % NBUCKETS];
      s->trig[h % NBUCKETS] = n;
      n = NULL;
    }
    pthread_mutex_unlock(&s->mu);
  }
  if (n)
    cn__free(n->key);
  cn__free(n);
  return yes;
}

/* EXPLAIN text into e. 0, or non-zero when the plan could not be had. */
static int explain(pg_db *db, const char *text, int nparams,
                   const char *const *values, entry *e) {
  cn__buf q = {0};
  if (cn__buf_appendf(&q, "EXPLAIN (FORMAT JSON, COSTS false) %s", text))
    return CN_ENOMEM;
  if (cn__pg_internal(db, "SAVEPOINT cn_sets")) {
    cn__buf_free(&q);
    return CN_EIO;
  }
  PGresult *r = PQexecParams(db->c, q.ptr, nparams, NULL, values, NULL, NULL,
                             0);
  cn__buf_free(&q);
  int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0
                                                                     : CN_EIO;
  json_t *plan = rc ? NULL
                    : json_loads(PQgetvalue(r, 0, 0), 0, NULL);
  PQclear(r);
  if (!rc && plan)
    walk(plan, e);
  else
    rc = CN_EIO;
  for (size_t i = 0; !rc && i < e->wr.n && !e->every_wr; i++) {
    int c = cascades(db, e->wr.tables[i]);
    if (c < 0)
      rc = CN_EIO;
    e->every_wr = c > 0;
  }
  json_decref(plan);
  cn__pg_internal(db, rc ? "ROLLBACK TO SAVEPOINT cn_sets"
                         : "RELEASE SAVEPOINT cn_sets");
  db->err[0] = '\0'; /* the app's statement succeeded: no error to tell */
  return rc;
}

/* Add e's sets to the running body's. */
static void apply(pg_db *db, const entry *e) {
  if (db->reads) {
    if (e->every_rd)
      db->reads->overflow = 1;
    cn__rwset_merge(db->reads, &e->rd);
  }
  if (db->writes && db->mode == PG_WRITE) {
    if (e->every_wr)
      db->writes->overflow = 1;
    cn__rwset_merge(db->writes, &e->wr);
  }
}

void cn__pg_sets_record(pg_db *db, const char *text, int nparams,
                        const char *const *values) {
  struct pg_sets *s = db->st->sets;
  if (!db->reads && !db->writes)
    return;
  char w[16];
  first_word(text, w, sizeof w);
  static const char *const dml[] = {"select", "with",   "insert", "update",
                                    "delete", "values", "table",  "merge"};
  int is_dml = 0;
  for (size_t i = 0; i < CN__ARRAY_LEN(dml); i++)
    is_dml |= !strcmp(w, dml[i]);
  if (!is_dml) {
    /* DDL and the like: anything may have changed, plans too */
    entry every = {.every_rd = 1, .every_wr = 1};
    apply(db, &every);
    if (db->mode == PG_WRITE) {
      pthread_mutex_lock(&s->mu);
      drop(s->stmts);
      drop(s->trig);
      s->n = 0;
      pthread_mutex_unlock(&s->mu);
    }
    return;
  }
  uint64_t h = fnv(text);
  pthread_mutex_lock(&s->mu);
  entry *e = find(s->stmts, text, h);
  if (e)
    apply(db, e);
  pthread_mutex_unlock(&s->mu);
  if (e)
    return;
  entry *n = cn__calloc(1, sizeof *n);
  if (!n || explain(db, text, nparams, values, n)) {
    entry every = {.every_rd = 1, .every_wr = 1};
    apply(db, &every);
    if (n) {
      cn__rwset_clear(&n->rd);
      cn__rwset_clear(&n->wr);
    }
    cn__free(n);
    return; /* not kept: the next run tries again */
  }
  apply(db, n);
  n->h = h;
  pthread_mutex_lock(&s->mu);
  if (s->n < CN__PG_SETS_MAX && !find(s->stmts, text, h) &&
      (n->key = cn__strdup(text))) {
    n->next = s->stmts[h % NBUCKETS];
    s->stmts[h % NBUCKETS] = n;
    s->n++;
    n = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (n) {
    cn__rwset_clear(&n->rd);
    cn__rwset_clear(&n->wr);
    cn__free(n->key);
    cn__free(n);
  }
}
