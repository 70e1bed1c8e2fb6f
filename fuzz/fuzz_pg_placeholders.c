/*
 * fuzz_pg_placeholders: the `?` to $n rewriting of the PostgreSQL engine
 * (cn__pg_placeholders), on any text. Properties, from its contract:
 *   - the output is the input with question marks, and only them,
 *     replaced: ?NNN by $NNN, a bare ? by the next number after the
 *     largest so far, with a space before it after a name's character;
 *     count is the largest;
 *   - rewriting the output again finds none (what was outside quotes and
 *     comments is still outside, and $n is no placeholder) and changes
 *     nothing;
 *   - text without quotes, comments or dollars has every `?` replaced.
 * Seeds: fuzz/corpus/pg_placeholders/.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *sql = malloc(size + 1);
  if (!sql)
    return 0;
  memcpy(sql, data, size);
  sql[size] = '\0';
  size_t len = strlen(sql); /* the SQL ends at a NUL, as a C string does */
  cn__buf out = {0}, again = {0};
  size_t n = 0, m = 99;
  if (cn__pg_placeholders(sql, &out, &n) ||
      cn__pg_placeholders(out.ptr, &again, &m))
    abort();
  /* walk both: equal, but for each ? that became the next $k */
  const char *p = sql, *q = out.ptr;
  size_t k = 0;
  while (*p) {
    if (*p == '?' && (*q == '$' || (*q == ' ' && q[1] == '$'))) {
      /* ?NNN keeps its number; a bare ? takes the next after the largest */
      size_t num = 0, digits = 0;
      while (isdigit((unsigned char)p[1 + digits]) && num < 100000)
        num = num * 10 + (size_t)(p[1 + digits++] - '0');
      if (!digits)
        num = k + 1;
      k = num > k ? num : k;
      /* after a name's character, a space keeps $k a token of its own */
      unsigned char prev = q > out.ptr ? (unsigned char)q[-1] : 0;
      int space = isalnum(prev) || prev == '_' || prev == '$' || prev >= 0x80;
      char want[24];
      int w = snprintf(want, sizeof want, "%s$%zu", space ? " " : "", num);
      if (strncmp(q, want, (size_t)w))
        abort();
      p += 1 + digits, q += w;
    } else if (*p++ != *q++) {
      abort();
    }
  }
  if (*q || k != n || m != 0 || strcmp(out.ptr, again.ptr))
    abort();
  if (!strpbrk(sql, "'\"-/$0123456789")) {
    size_t marks = 0;
    for (size_t i = 0; i < len; i++)
      marks += sql[i] == '?';
    if (marks != n)
      abort();
  }
  cn__buf_free(&out);
  cn__buf_free(&again);
  free(sql);
  return 0;
}
