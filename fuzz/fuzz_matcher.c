/* Middleware matcher patterns: translation and PCRE2 compilation of
 * arbitrary bytes, then a match against a path taken from the input. */
#include <stdlib.h>

#include "middleware/middleware.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* pattern \n path */
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *nl = memchr(buf, '\n', size);
  const char *path = "/api/a/b";
  if (nl) {
    *nl = '\0';
    path = nl + 1;
  }
  const char *pats[] = {buf, NULL};
  cn__matcher *m = NULL;
  char err[256];
  if (cn__matcher_new(&m, pats, 2, err, sizeof err) == 0) {
    cn__matcher_match(m, cn__cstr(path));
    cn__matcher_free(m);
  }
  free(buf);
  return 0;
}
