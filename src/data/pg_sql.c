/* pg_sql.c: one statement on the PostgreSQL engine: `?` placeholders as
 * $n, values as text parameters, rows as JSON (the rules at the top of
 * pg.c). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/pg_int.h"

/* ------------------------------------------------------ placeholders */

int cn__pg_placeholders(const char *sql, cn__buf *out, size_t *count) {
  size_t n = 0;
  const char *p = sql;
  int rc = 0;
  while (*p && !rc) {
    const char *start = p;
    if (*p == '\'' || *p == '"') { /* '' and "" double inside */
      char q = *p++;
      while (*p && !(*p == q && p[1] != q))
        p += *p == q ? 2 : 1;
      if (*p)
        p++;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n')
        p++;
    } else if (p[0] == '/' && p[1] == '*') { /* they nest in PostgreSQL */
      int depth = 0;
      do {
        if (p[0] == '/' && p[1] == '*')
          depth++, p += 2;
        else if (p[0] == '*' && p[1] == '/')
          depth--, p += 2;
        else
          p++;
      } while (*p && depth);
    } else if (*p == '$' && (p == sql || !(isalnum((unsigned char)p[-1]) ||
                                           p[-1] == '_' || p[-1] == '$' ||
                                           p[-1] == '?'))) {
      /* (after a name, a $ is part of it; after a ?, which becomes $n,
       * it would be too) */
      /* $tag$ ... $tag$, the tag empty or an identifier */
      const char *t = p + 1;
      while (isalnum((unsigned char)*t) || *t == '_')
        t++;
      if (*t == '$' && !isdigit((unsigned char)p[1])) {
        size_t tl = (size_t)(t - p) + 1;
        const char *end = t + 1;
        while (*end && strncmp(end, p, tl))
          end++;
        p = *end ? end + tl : end;
      } else {
        p++;
      }
    } else if (*p == '?' && !(p > sql && p[-1] == '$')) {
      /* ($? stays: as $$1 it would open a dollar quote.) SQLite's
       * numbering: ?NNN is parameter NNN, a bare ? the one after
       * the largest so far; the count is the largest. */
      size_t k = 0;
      const char *d = p + 1;
      while (isdigit((unsigned char)*d) && k < 100000)
        k = k * 10 + (size_t)(*d++ - '0');
      if (d == p + 1)
        k = n + 1;
      n = CN__MAX(n, k);
      /* After a name's last character, $k would continue the name (a $
       * may be part of one in PostgreSQL), or close a $tag$: a space. */
      unsigned char prev = out->len ? (unsigned char)out->ptr[out->len - 1] : 0;
      rc = cn__buf_appendf(out, "%s$%zu",
                           isalnum(prev) || prev == '_' || prev == '$' ||
                                   prev >= 0x80
                               ? " "
                               : "",
                           k);
      p = d;
      continue;
    } else {
      p++;
    }
    if (!rc)
      rc = cn__buf_append(out, start, (size_t)(p - start));
  }
  if (!rc)
    rc = cn__buf_append(out, "", 1);
  *count = n;
  return rc ? CN_ENOMEM : 0;
}

/* ------------------------------------------------------------ values */

static int utf8_ok(const unsigned char *s, size_t n) {
  json_t *j = json_stringn((const char *)s, n);
  int ok = j != NULL;
  json_decref(j);
  return ok;
}

/* The text of v for a parameter, into a buffer of texts. OUT: *null. */
static int param_text(pg_db *db, const cn_val *v, cn__buf *b, int *null) {
  *null = 0;
  switch (v->type) {
  case CN_V_NULL:
    *null = 1;
    return 0;
  case CN_V_INT:
    return cn__buf_appendf(b, "%lld", (long long)v->i) ? CN_ENOMEM : 0;
  case CN_V_REAL:
    if (!isfinite(v->d)) {
      cn__pg_fail(db, "a value is not a finite number", NULL);
      return CN_EINVAL;
    }
    return cn__buf_appendf(b, "%.17g", v->d) ? CN_ENOMEM : 0;
  case CN_V_TEXT: {
    size_t n = v->len == (size_t)-1 ? strlen(v->s) : v->len;
    if (memchr(v->s, 0, n) || !utf8_ok((const unsigned char *)v->s, n)) {
      cn__pg_fail(db, "a text value is not UTF-8 without NUL bytes", NULL);
      return CN_EINVAL;
    }
    return cn__buf_append(b, v->s, n) ? CN_ENOMEM : 0;
  }
  case CN_V_JSON:
    if (!v->j || json_is_null(v->j)) {
      *null = 1;
      return 0;
    }
    if (json_is_boolean(v->j))
      return cn__buf_appendf(b, "%d", json_is_true(v->j)) ? CN_ENOMEM : 0;
    if (json_is_integer(v->j))
      return cn__buf_appendf(b, "%lld",
                             (long long)json_integer_value(v->j))
                 ? CN_ENOMEM
                 : 0;
    if (json_is_real(v->j))
      return cn__buf_appendf(b, "%.17g", json_real_value(v->j)) ? CN_ENOMEM
                                                                 : 0;
    if (json_is_string(v->j)) {
      if (memchr(json_string_value(v->j), 0, json_string_length(v->j))) {
        cn__pg_fail(db, "a text value holds a NUL byte", NULL);
        return CN_EINVAL;
      }
      return cn__buf_append(b, json_string_value(v->j),
                            json_string_length(v->j))
                 ? CN_ENOMEM
                 : 0;
    }
    return cn__json_write(b, v->j, 0);
  }
  cn__pg_fail(db, "a value of an unknown type", NULL);
  return CN_EINVAL;
}

/* Type OIDs of the built-in types (pg_type.h), stable across versions. */
enum {
  OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21,
  OID_INT4 = 23, OID_OID = 26, OID_JSON = 114, OID_FLOAT4 = 700,
  OID_FLOAT8 = 701, OID_NUMERIC = 1700, OID_JSONB = 3802
};

static int cell(pg_db *db, const PGresult *r, int row, int col, json_t **out) {
  if (PQgetisnull(r, row, col))
    return (*out = json_null()) ? 0 : CN_ENOMEM;
  const char *t = PQgetvalue(r, row, col);
  size_t n = (size_t)PQgetlength(r, row, col);
  char *end;
  switch (PQftype(r, col)) {
  case OID_BOOL:
    *out = json_boolean(t[0] == 't');
    break;
  case OID_INT2:
  case OID_INT4:
  case OID_INT8:
  case OID_OID:
    errno = 0;
    *out = json_integer(strtoll(t, &end, 10));
    break;
  case OID_FLOAT4:
  case OID_FLOAT8:
  case OID_NUMERIC: {
    double d = strtod(t, &end);
    if (!isfinite(d)) { /* NaN, Infinity: no JSON number */
      cn__pg_fail(db, "a column holds a number JSON cannot write (NaN or infinite)",
           NULL);
      return CN_EINVAL;
    }
    /* a numeric without a fraction that fits is an integer */
    *out = PQftype(r, col) == OID_NUMERIC && !strpbrk(t, ".eE") &&
                   fabs(d) < 9007199254740992.0
               ? json_integer(strtoll(t, &end, 10))
               : json_real(d);
    break;
  }
  case OID_JSON:
  case OID_JSONB:
    *out = json_loadb(t, n, JSON_DECODE_ANY, NULL);
    break;
  case OID_BYTEA:
    cn__pg_fail(db, "a column is bytea, which JSON cannot hold (select "
             "encode(col, 'hex'))", NULL);
    return CN_EINVAL;
  default:
    *out = json_stringn(t, n);
  }
  return *out ? 0 : CN_ENOMEM;
}

static int row_object(pg_db *db, const PGresult *r, int row, json_t **out) {
  json_t *o = json_object();
  int rc = o ? 0 : CN_ENOMEM;
  for (int c = 0; !rc && c < PQnfields(r); c++) {
    json_t *v = NULL;
    if (!(rc = cell(db, r, row, c, &v)) &&
        json_object_set_new(o, PQfname(r, c), v))
      rc = CN_ENOMEM;
  }
  if (rc)
    json_decref(o);
  else
    *out = o;
  return rc;
}

/* ------------------------------------------------------------ calls */

int cn__pg_call(cn_db *handle, int shape, json_t **out, int64_t *changes,
                   const char *sql, size_t nargs, const cn_val *args) {
  pg_db *db = (pg_db *)handle;
  if (!db->active || !pthread_equal(db->thread, pthread_self()))
    return CN_ESTATE;
  if (!sql || (shape != CN__SHAPE_EXEC && !out)) {
    cn__pg_fail(db, "no SQL or no place for the result", NULL);
    return CN_EINVAL;
  }
  db->err[0] = '\0';
  if (db->aborted) {
    cn__pg_fail(db, "an earlier statement of this transaction failed", sql);
    return CN_EINVAL;
  }
  cn__buf text = {0}, vals = {0};
  size_t nph = 0;
  int rc = cn__pg_placeholders(sql, &text, &nph);
  if (!rc && nph != nargs) {
    char m[96];
    snprintf(m, sizeof m, "the statement has %zu parameters, %zu values given",
             nph, nargs);
    cn__pg_fail(db, m, sql);
    rc = CN_EINVAL;
  }
  /* The values' texts one after another, NUL-separated; pointers after. */
  size_t *at = nargs ? cn__calloc(nargs, sizeof *at) : NULL;
  int *nulls = nargs ? cn__calloc(nargs, sizeof *nulls) : NULL;
  const char **pv = nargs ? cn__calloc(nargs, sizeof *pv) : NULL;
  if (!rc && nargs && (!at || !nulls || !pv))
    rc = CN_ENOMEM;
  for (size_t i = 0; !rc && i < nargs; i++) {
    at[i] = vals.len;
    rc = param_text(db, &args[i], &vals, &nulls[i]);
    if (!rc && cn__buf_append(&vals, "", 1))
      rc = CN_ENOMEM;
  }
  for (size_t i = 0; !rc && i < nargs; i++)
    pv[i] = nulls[i] ? NULL : vals.ptr + at[i];
  PGresult *r = NULL;
  if (!rc) {
    r = PQexecParams(db->c, text.ptr, (int)nargs, NULL, pv, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      rc = cn__pg_code(r);
      cn__pg_fail(db, cn__pg_msg(r), sql);
      db->aborted = 1;
      db->conflict |= rc == CN_ECONFLICT;
    }
  }
  json_t *acc = NULL;
  if (!rc && shape == CN__SHAPE_EXEC) {
    const char *t = PQcmdTuples(r);
    if (changes)
      *changes = *t ? strtoll(t, NULL, 10) : 0;
  } else if (!rc && shape == CN__SHAPE_ALL) {
    acc = json_array();
    rc = acc ? 0 : CN_ENOMEM;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
      json_t *o = NULL;
      if (!(rc = row_object(db, r, i, &o)) && json_array_append_new(acc, o))
        rc = CN_ENOMEM;
    }
  } else if (!rc && PQntuples(r) > 0) {
    rc = shape == CN__SHAPE_ONE ? row_object(db, r, 0, &acc)
         : PQnfields(r)        ? cell(db, r, 0, 0, &acc)
                               : ((acc = json_null()) ? 0 : CN_ENOMEM);
  }
  if (!rc && shape != CN__SHAPE_EXEC && !acc && !(acc = json_null()))
    rc = CN_ENOMEM;
  if (!rc && out)
    *out = acc;
  else
    json_decref(acc);
  PQclear(r);
  /* What it read and wrote, for live queries; a failed statement's, not
   * known, is every table (its writes are rolled back anyway). */
  if (!rc)
    cn__pg_sets_record(db, text.ptr, (int)nargs, pv);
  else if (db->reads)
    db->reads->overflow = 1;
  cn__buf_free(&text);
  cn__buf_free(&vals);
  cn__free(at);
  cn__free(nulls);
  cn__free(pv);
  return rc;
}

/* The id the last INSERT made through a sequence (serial, identity) in
 * this body; 0 when none did. Asked only when wanted: lastval() fails
 * without a sequence, so it runs under a savepoint. */
int64_t cn__pg_last_id(cn_db *handle) {
  pg_db *db = (pg_db *)handle;
  if (!db->active || db->mode != PG_WRITE || db->aborted)
    return 0;
  int64_t id = 0;
  if (cn__pg_internal(db, "SAVEPOINT cn_last_id"))
    return 0;
  PGresult *r = PQexec(db->c, "SELECT lastval()");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  cn__pg_internal(db, id ? "RELEASE SAVEPOINT cn_last_id"
                  : "ROLLBACK TO SAVEPOINT cn_last_id");
  db->err[0] = '\0';
  return id;
}

const char *cn__pg_error(const cn_db *handle) {
  return ((const pg_db *)handle)->err;
}
