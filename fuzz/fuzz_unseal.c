/*
 * fuzz_unseal: sealed action arguments (src/actions/seal.c) against
 * tokens nobody sealed. Oracles from actions.h, not from the code:
 *   - first byte even: the rest is a token as a form would carry it. It
 *     must not open (only the key's holder can seal).
 *   - first byte odd: the rest, when it is JSON, is sealed for an action;
 *     the seal opens to an equal value for that action, never for
 *     another, and with one character changed (at a place and to a
 *     character the input picks) never at all.
 * Seeds: fuzz/corpus/unseal/.
 */
#include <stdint.h>
#include <stdlib.h>

#include "actions/actions.h"

static char id[CN__ACTION_ID_LEN + 1], other[CN__ACTION_ID_LEN + 1];

static void setup(void) {
  setenv("CAIRN_ACTIONS_KEY",
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
  if (cn__actions_init(NULL))
    abort();
  cn__action_id("app/f/page.c", "update", id);
  cn__action_id("app/f/page.c", "remove", other);
}

static void sealed(const uint8_t *p, size_t n) {
  if (n < 2)
    return;
  size_t at = p[0];
  char to = (char)p[1];
  json_t *v = json_loadb((const char *)p + 2, n - 2,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!v)
    return;
  cn__buf tok = {0};
  json_t *back = NULL;
  if (cn__action_seal(id, v, &tok))
    abort();
  if (cn__action_unseal(id, cn__str(tok.ptr, tok.len), &back) ||
      !json_equal(back, v))
    abort();
  json_decref(back);
  back = NULL;
  if (!cn__action_unseal(other, cn__str(tok.ptr, tok.len), &back))
    abort();
  at %= tok.len;
  if (tok.ptr[at] != to) {
    tok.ptr[at] = to;
    if (!cn__action_unseal(id, cn__str(tok.ptr, tok.len), &back))
      abort();
  }
  cn__buf_free(&tok);
  json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!id[0])
    setup();
  if (size < 1 || size > 8192)
    return 0;
  if (data[0] & 1) {
    sealed(data + 1, size - 1);
  } else {
    json_t *back = NULL;
    if (!cn__action_unseal(id, cn__str((const char *)data + 1, size - 1),
                           &back))
      abort();
  }
  return 0;
}
