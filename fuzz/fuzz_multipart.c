/* multipart/form-data fed in pieces whose sizes come from the input: the
 * parser must never crash, never report content past a delimiter, and
 * leave no temporary file behind after cleanup. */
#include <stdlib.h>
#include <unistd.h>

#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t step = (size_t)(data[0] % 32) + 1;
  data++, size--;
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__multipart mp;
  cn__multipart_limits lim = {.parts = 8, .field_bytes = 256,
                              .file_bytes = 512, .header_bytes = 256};
  if (cn__multipart_init(&mp, CN_STR("b0und"), &lim, &a, "/tmp") == 0) {
    int rc = 0;
    for (size_t i = 0; i < size && !rc; i += step)
      rc = cn__multipart_feed(&mp, (const char *)data + i,
                              step < size - i ? step : size - i);
    if (!rc && cn__multipart_finish(&mp) == 0) {
      for (size_t i = 0; i < mp.fields.n; i++)
        if (memmem(mp.fields.items[i].value.ptr,
                   mp.fields.items[i].value.len, "\r\n--b0und", 9))
          abort(); /* a delimiter inside a value */
    }
    char *paths[16];
    size_t n = mp.nfiles < 16 ? mp.nfiles : 16;
    for (size_t i = 0; i < n; i++)
      paths[i] = mp.files[i].path;
    cn__multipart_cleanup(&mp);
    for (size_t i = 0; i < n; i++)
      if (paths[i] && access(paths[i], F_OK) == 0)
        abort(); /* a temporary file left behind */
  }
  cn__arena_destroy(&a);
  return 0;
}
