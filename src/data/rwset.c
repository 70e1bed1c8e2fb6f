/* rwset.c: the small set of tables, and of their columns, a transaction
 * read or wrote (store.h). Linear arrays: transactions touch a handful
 * of tables and columns, so a scan beats any hashing. Names compare
 * without regard to ASCII case, as SQL identifiers do (Tasks and tasks
 * are one table). */
#include <strings.h>

#include "data/store.h"

int cn__rwset_find(const cn__rwset *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcasecmp(s->tables[i], name) == 0)
      return (int)i;
  return -1;
}

static void cols_free(cn__rwcols *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    cn__free(c->names[i]);
  cn__free(c->names);
  cn__free(c);
}

static int cols_has(const cn__rwcols *c, const char *col) {
  for (size_t i = 0; i < c->n; i++)
    if (strcasecmp(c->names[i], col) == 0)
      return 1;
  return 0;
}

/* A new table entry (whole). -1 when the set is full or out of memory
 * (then marked overflow: "every table" only costs a re-run, forgetting a
 * table would make a live query miss a change). */
static int entry(cn__rwset *s, const char *name, int *rc) {
  int i = cn__rwset_find(s, name);
  if (i >= 0)
    return i;
  if (s->n == CN__RWSET_MAX) {
    s->overflow = 1;
    return -1;
  }
  char *copy = cn__strdup(name);
  if (!copy) {
    s->overflow = 1;
    *rc = CN_ENOMEM;
    return -1;
  }
  s->tables[s->n] = copy;
  s->cols[s->n] = NULL;
  return (int)s->n++;
}

int cn__rwset_add(cn__rwset *s, const char *name) {
  int rc = 0;
  if (!s || !name || s->overflow)
    return 0;
  int i = entry(s, name, &rc);
  if (i >= 0) {
    cols_free(s->cols[i]);
    s->cols[i] = NULL;
  }
  return rc;
}

int cn__rwset_add_col(cn__rwset *s, const char *name, const char *col) {
  int rc = 0;
  if (!s || !name || s->overflow)
    return 0;
  int fresh = cn__rwset_find(s, name) < 0;
  int i = entry(s, name, &rc);
  if (i < 0)
    return rc;
  cn__rwcols *c = s->cols[i];
  if (!c && !fresh)
    return 0; /* whole already */
  if (!c && !(c = s->cols[i] = cn__calloc(1, sizeof *c)))
    return CN_ENOMEM; /* stays whole */
  if (!col)
    col = "";
  if (cols_has(c, col))
    return 0;
  char *copy = cn__strdup(col);
  if (!copy || cn__array_grow(&c->names, &c->cap, c->n, sizeof *c->names)) {
    cn__free(copy);
    cols_free(c);
    s->cols[i] = NULL; /* whole: safe */
    return CN_ENOMEM;
  }
  c->names[c->n++] = copy;
  return 0;
}

int cn__rwset_merge(cn__rwset *dst, const cn__rwset *src) {
  if (!dst || !src)
    return 0;
  if (src->overflow) {
    dst->overflow = 1;
    return 0;
  }
  int rc = 0;
  for (size_t i = 0; i < src->n; i++) {
    const cn__rwcols *c = src->cols[i];
    int r = 0;
    if (!c) {
      r = cn__rwset_add(dst, src->tables[i]);
    } else if (!c->n) {
      /* a read of no column yet: the entry, with an empty set */
      r = cn__rwset_add_col(dst, src->tables[i], "");
    } else {
      for (size_t k = 0; k < c->n && !r; k++)
        r = cn__rwset_add_col(dst, src->tables[i], c->names[k]);
    }
    if (r)
      rc = r;
  }
  return rc;
}

static int cols_meet(const cn__rwcols *a, const cn__rwcols *b) {
  if (!a || !b)
    return 1;
  for (size_t i = 0; i < a->n; i++)
    if (cols_has(b, a->names[i]))
      return 1;
  return 0;
}

int cn__rwset_overlaps(const cn__rwset *a, const cn__rwset *b) {
  if (!a || !b)
    return 0;
  if (a->overflow || b->overflow)
    return 1;
  for (size_t i = 0; i < a->n; i++) {
    int k = cn__rwset_find(b, a->tables[i]);
    if (k >= 0 && cols_meet(a->cols[i], b->cols[k]))
      return 1;
  }
  return 0;
}

void cn__rwset_clear(cn__rwset *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    cn__free(s->tables[i]);
    cols_free(s->cols[i]);
    s->cols[i] = NULL;
  }
  s->n = 0;
  s->overflow = 0;
}
