/*
 * fuzz_taint: the strided scan of src/taint against the plain answer.
 * Input: up to four needles and a text, separated by NUL bytes; needles
 * keep only their letters and digits (every encoding of such a value is
 * the value itself) and are used when at least 4 bytes long. The scan
 * must say found exactly when one of them is in the text (memmem), and
 * name that one when it is the only one there. Seeds: fuzz/corpus/taint/.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "taint/taint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  char needles[4][64];
  size_t n = 0;
  cn__taint_reset();
  while (n < 4) {
    const char *nul = memchr(p, 0, (size_t)(end - p));
    if (!nul)
      break;
    size_t k = 0;
    for (const char *q = p; q < nul && k + 1 < sizeof needles[n]; q++)
      if (isalnum((unsigned char)*q))
        needles[n][k++] = *q;
    needles[n][k] = '\0';
    p = nul + 1;
    if (k >= 4) {
      char what[8] = {'n', (char)('0' + n), 0};
      if (cn_taint_value(what, needles[n]))
        abort();
      n++;
    }
  }
  size_t tlen = (size_t)(end - p);
  int want = 0, only = -1;
  for (size_t i = 0; i < n; i++)
    if (memmem(p, tlen, needles[i], strlen(needles[i]))) {
      only = want ? -1 : (int)i;
      want++;
    }
  cn__taint_hit hit;
  int got = cn__taint_find(p, tlen, &hit);
  if (got != (want > 0))
    abort();
  /* the same needle twice names the first message given */
  if (only >= 0) {
    int first = only;
    for (int i = 0; i < only; i++)
      if (!strcmp(needles[i], needles[only]))
        first = i;
    char what[8] = {'n', (char)('0' + first), 0};
    if (strcmp(hit.what, what))
      abort();
  }
  return 0;
}
