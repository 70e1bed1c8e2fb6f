/*
 * fuzz_urlencoded: arbitrary bytes as an application/x-www-form-urlencoded
 * body, through the body dispatch (cn__body_parse) and directly through
 * cn__form_parse: both must agree with each other and with the query
 * parser (one grammar), pair for pair, and every string must be
 * NUL-terminated inside the arena. The first byte picks the pair limit.
 * Seeds: fuzz/corpus/urlencoded/.
 */
#include <stdlib.h>

#include "parsers/parsers.h"

static void same(const cn__pairs *x, const cn__pairs *y) {
  if (x->len != y->len)
    abort();
  for (size_t i = 0; i < x->len; i++) {
    cn_str s[4] = {x->items[i].key, y->items[i].key, x->items[i].value,
                   y->items[i].value};
    for (int k = 0; k < 4; k++)
      if (s[k].ptr[s[k].len])
        abort();
    if (s[0].len != s[1].len || memcmp(s[0].ptr, s[1].ptr, s[0].len) ||
        s[2].len != s[3].len || memcmp(s[2].ptr, s[3].ptr, s[2].len))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t max = 0;
  if (size) {
    max = data[0] < 128 ? (size_t)data[0] % 16 + 1 : 0; /* 0: default */
    data++;
    size--;
  }
  cn_str in = cn__str((const char *)data, size);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__body_opts opts = {.max_pairs = max};
  cn__body b;
  int rc1 = cn__body_parse(&a, CN_STR("application/x-www-form-urlencoded"),
                           in, &opts, &b);
  cn__pairs f, q;
  cn__perr e2, e3;
  int rc2 = cn__form_parse(&a, in, max, &f, &e2);
  int rc3 = cn__query_parse(&a, in, max, &q, &e3);
  if (rc1 != rc2 || rc2 != rc3)
    abort();
  if (rc1 != 0 && rc1 != CN_EPARSE && rc1 != CN_ETOOBIG)
    abort();
  if (rc1) {
    if (strcmp(b.err.msg, e2.msg) || !strstr(e2.msg, "form body") ||
        !strstr(e3.msg, "query string"))
      abort();
  } else {
    if (b.kind != CN_BODY_FORM)
      abort();
    same(&b.form, &f);
    same(&f, &q);
    for (size_t i = 0; i < f.len; i++)
      if (!cn__arena_owns(&a, f.items[i].key.ptr) ||
          !cn__arena_owns(&a, f.items[i].value.ptr))
        abort();
  }
  cn__body_release(&b);
  cn__arena_destroy(&a);
  return 0;
}
