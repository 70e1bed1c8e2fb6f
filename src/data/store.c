/* The store's interface (store.h) over its engines (engine.h): the URL
 * picks one when the store opens; after that every call goes to the
 * engine its handle names. */
#include "data/engine.h"

/* Engines other than SQLite, by the URL schemes they claim. */
static const cn__engine *const others[] = {&cn__pg_engine, NULL};

int cn__store_open(const cn__store_opts *o, cn__store **out, char *err,
                   size_t errlen) {
  const char *url = o ? o->url : NULL;
  for (size_t i = 0; url && *url && others[i]; i++)
    if (others[i]->claims(url))
      return others[i]->open(o, out, err, errlen);
  /* SQLite, the embedded default, also says what is wrong with a URL no
   * engine takes. */
  return cn__sqlite_engine.open(o, out, err, errlen);
}

const char *cn__migration_engine(const char *name, size_t *base_len) {
  static const char *const engines[] = {"sqlite", "postgres"};
  size_t n = name ? strlen(name) : 0; /* no name: the engine says so */
  n = n > 4 ? n - 4 : 0; /* ".sql" */
  for (size_t i = 0; i < CN__ARRAY_LEN(engines); i++) {
    size_t k = strlen(engines[i]);
    if (n > k + 1 && name[n - k - 1] == '.' &&
        !strncmp(name + n - k, engines[i], k)) {
      *base_len = n - k - 1;
      return engines[i];
    }
  }
  *base_len = n;
  return "";
}

int cn__migration_variants(const char *a, const char *b) {
  size_t la, lb;
  const char *ea = cn__migration_engine(a, &la),
             *eb = cn__migration_engine(b, &lb);
  return la == lb && !strncmp(a, b, la) && strcmp(ea, eb) != 0;
}

size_t cn__migrations_for(const char *engine, const cn_manifest_migration *m,
                          size_t n, cn_manifest_migration *out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *e = cn__migration_engine(m[i].name, &len);
    if (*e && strcmp(e, engine))
      continue; /* another engine's */
    int replaced = 0; /* a generic one this engine has its own of */
    for (size_t j = 0; !*e && j < n && !replaced; j++) {
      size_t l2;
      const char *e2 = cn__migration_engine(m[j].name, &l2);
      replaced = m[i].name && m[j].name && !strcmp(e2, engine) &&
                 l2 == len && !strncmp(m[j].name, m[i].name, len);
    }
    if (!replaced)
      out[k++] = m[i];
  }
  return k;
}

void cn__store_close(cn__store *st) {
  if (st)
    CN__ENGINE_OF(st)->close(st);
}

int cn__store_migrate(cn__store *st, const cn_manifest_migration *m, size_t n,
                      size_t *applied, char *err, size_t errlen) {
  if (st && m) {
    cn_manifest_migration *mine = cn__calloc(n ? n : 1, sizeof *mine);
    if (!mine)
      return CN_ENOMEM;
    size_t k = cn__migrations_for(CN__ENGINE_OF(st)->name, m, n, mine);
    int rc = CN__ENGINE_OF(st)->migrate(st, mine, k, applied, err, errlen);
    cn__free(mine);
    return rc;
  }
  if (st)
    return CN__ENGINE_OF(st)->migrate(st, m, n, applied, err, errlen);
  if (applied)
    *applied = 0;
  if (err && errlen)
    *err = '\0';
  return CN_EINVAL;
}

int cn__store_read(cn__store *st, cn__store_body *body, void *arg,
                   cn__rwset *reads) {
  return st ? CN__ENGINE_OF(st)->read(st, body, arg, reads) : CN_EINVAL;
}

int cn__store_write(cn__store *st, cn__store_body *body, void *arg,
                    cn__rwset *reads, cn__rwset *writes, uint64_t *commit_ts) {
  return st ? CN__ENGINE_OF(st)->write(st, body, arg, reads, writes, commit_ts)
            : CN_EINVAL;
}

int cn__store_on_commit(cn__store *st, cn__store_commit_fn *fn, void *arg) {
  return st ? CN__ENGINE_OF(st)->on_commit(st, fn, arg) : CN_EINVAL;
}

uint64_t cn__store_ts(const cn__store *st) {
  return st ? CN__ENGINE_OF(st)->ts(st) : 0;
}

int cn__store_read_ready(cn__store *st) {
  return st && CN__ENGINE_OF(st)->read_ready
             ? CN__ENGINE_OF(st)->read_ready(st)
             : 0;
}

/* ------------------------------------------------ cn_db_* of <cairn.h> */

static int call(cn_db *db, int shape, json_t **out, int64_t *changes,
                const char *sql, size_t nargs, const cn_val *args) {
  if (out)
    *out = NULL;
  if (changes)
    *changes = 0;
  return db ? CN__ENGINE_OF(db)->call(db, shape, out, changes, sql, nargs,
                                      args)
            : CN_EINVAL;
}

int cn_db_all(cn_db *db, json_t **out, const char *sql, size_t nargs,
              const cn_val *args) {
  return call(db, CN__SHAPE_ALL, out, NULL, sql, nargs, args);
}

int cn_db_one(cn_db *db, json_t **out, const char *sql, size_t nargs,
              const cn_val *args) {
  return call(db, CN__SHAPE_ONE, out, NULL, sql, nargs, args);
}

int cn_db_value(cn_db *db, json_t **out, const char *sql, size_t nargs,
                const cn_val *args) {
  return call(db, CN__SHAPE_VALUE, out, NULL, sql, nargs, args);
}

int cn_db_exec(cn_db *db, int64_t *changes, const char *sql, size_t nargs,
               const cn_val *args) {
  return call(db, CN__SHAPE_EXEC, NULL, changes, sql, nargs, args);
}

int64_t cn_db_last_id(cn_db *db) {
  return db ? CN__ENGINE_OF(db)->last_id(db) : 0;
}

const char *cn__db_error(const cn_db *db) {
  return db ? CN__ENGINE_OF(db)->error(db) : "";
}
