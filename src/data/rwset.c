/* rwset.c: the small set of table names a transaction read or wrote
 * (store.h). A linear array: transactions touch a handful of tables, so a
 * scan beats any hashing. Names compare without regard to ASCII case, as
 * SQL identifiers do (Tasks and tasks are one table). */
#include <strings.h>

#include "data/store.h"

static int has(const cn__rwset *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcasecmp(s->tables[i], name) == 0)
      return 1;
  return 0;
}

int cn__rwset_add(cn__rwset *s, const char *name) {
  if (!s || !name || s->overflow || has(s, name))
    return 0;
  if (s->n == CN__RWSET_MAX) {
    s->overflow = 1; /* "every table": live queries re-run, never miss */
    return 0;
  }
  char *copy = cn__strdup(name);
  if (!copy) {
    /* Forgetting a table would make a live query miss a change; saying
     * "every table" only costs a re-run. Still report the failure. */
    s->overflow = 1;
    return CN_ENOMEM;
  }
  s->tables[s->n++] = copy;
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
    int r = cn__rwset_add(dst, src->tables[i]);
    if (r)
      rc = r;
  }
  return rc;
}

int cn__rwset_overlaps(const cn__rwset *a, const cn__rwset *b) {
  if (!a || !b)
    return 0;
  if (a->overflow || b->overflow)
    return 1;
  for (size_t i = 0; i < a->n; i++)
    if (has(b, a->tables[i]))
      return 1;
  return 0;
}

void cn__rwset_clear(cn__rwset *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    cn__free(s->tables[i]);
  s->n = 0;
  s->overflow = 0;
}
