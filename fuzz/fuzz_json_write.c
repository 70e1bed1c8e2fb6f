/*
 * fuzz_json_write: any JSON document jansson accepts, written by
 * cn__json_write, must be byte for byte what json_dumps writes (compact,
 * any value; with and without JSON_ESCAPE_SLASH, chosen by the first
 * byte), since it replaces json_dumps on every JSON answer. Seeds:
 * fuzz/corpus/json_write/.
 */
#include <stdlib.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int slash = data[0] & 1;
  json_t *j = json_loadb((const char *)data + 1, size - 1,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!j)
    return 0;
  size_t flags = JSON_COMPACT | JSON_ENCODE_ANY |
                 (slash ? JSON_ESCAPE_SLASH : 0);
  size_t need = json_dumpb(j, NULL, 0, flags);
  char *want = need ? malloc(need) : NULL;
  if (need && (!want || json_dumpb(j, want, need, flags) != need))
    abort();
  cn__buf b = {0};
  int rc = cn__json_write(&b, j, slash ? CN__JSON_ESCAPE_SLASH : 0);
  /* jansson's parser nests at most 2048 deep, within our limit: every
   * document it loads must come out the same. */
  if (need == 0 || rc != 0 || b.len != need || memcmp(b.ptr, want, need))
    abort();
  free(want);
  cn__buf_free(&b);
  json_decref(j);
  return 0;
}
