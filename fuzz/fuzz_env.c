/* .env files: parse arbitrary bytes and expand every value against the
 * keys parsed before it (what cn__env_read does), checking the parser's
 * promises: keys are dotenv key characters, values never contain a NUL. */
#include <stdlib.h>

#include "env/env.h"

typedef struct seen {
  char keys[16][64];
  char *values[16];
  int n;
} seen;

static const char *lookup(const char *name, void *ud) {
  seen *s = ud;
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->keys[i], name))
      return s->values[i];
  return NULL;
}

static int visit(const char *key, size_t klen, const char *value,
                 size_t vlen, void *ud) {
  seen *s = ud;
  if (!klen)
    abort();
  for (size_t i = 0; i < klen; i++) {
    char c = key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      abort();
  }
  if (memchr(value, '\0', vlen))
    abort();
  char *out = NULL;
  if (cn__env_expand(value, vlen, lookup, s, &out) == 0) {
    if (s->n < 16 && klen < 64) {
      memcpy(s->keys[s->n], key, klen);
      s->keys[s->n][klen] = '\0';
      s->values[s->n++] = out;
      return 0;
    }
    cn__free(out);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  seen s = {.n = 0};
  cn__env_parse((const char *)data, size, visit, &s);
  for (int i = 0; i < s.n; i++)
    cn__free(s.values[i]);
  return 0;
}
