/* Query strings / urlencoded bodies, Cookie headers and media types: the
 * first byte picks the parser, the rest is its input. */
#include <stdlib.h>

#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  cn_str in = cn__str((const char *)data + 1, size - 1);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p = {0};
  const char *why;
  cn_str t, v;
  switch (data[0] % 3) {
  case 0:
    if (cn__urlencoded_parse(in, &a, 64, &p, &why) == 0)
      for (size_t i = 0; i < p.n; i++)
        if (p.items[i].key.ptr[p.items[i].key.len] != '\0')
          abort(); /* values are NUL-terminated */
    break;
  case 1:
    cn__cookies_parse(in, &a, &p);
    for (size_t i = 0; i < p.n; i++)
      if (memchr(p.items[i].value.ptr, ';', p.items[i].value.len))
        abort(); /* a value never carries a separator */
    break;
  default:
    if (cn__media_type(in, &a, "boundary", &t, &v) == 0 && !t.len)
      abort();
  }
  cn__arena_destroy(&a);
  return 0;
}
