/*
 * fuzz_template: arbitrary bytes as a Mustache template. Compile; on
 * success check the node tree's invariants, render against a fixed context
 * with every partial and parent resolving to the template itself (so the
 * recursion guard and the work limits are always in play), and check that
 * rendering the top-level elements one span at a time gives the same bytes
 * as one whole render (what layouts and streaming rely on).
 */
#include <stdint.h>
#include <stdlib.h>

#include "template/template.h"

static const char context_json[] =
    "{\"a\":\"<&>\\\"'\",\"n\":42,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,"
    "\"e\":\"\",\"p\":\"x\",\"l\":[1,\"two\",{\"a\":\"x\",\"l\":[]},[3,4]],"
    "\"o\":{\"a\":{\"b\":\"c\"},\"l\":[{\"p\":\"y\"}],\"t\":0}}";

static const cn__tpl *self_lookup(void *ud, cn_str name) {
  (void)name;
  return ud;
}

static void check_tree(const cn__tpl *t) {
  uint32_t count;
  const cn__tpl_node *n = cn__tpl_nodes(t, &count);
  for (uint32_t i = 0; i < count; i++) {
    if (n[i].end <= i || n[i].end > count)
      abort();
    /* children stay inside their element */
    for (uint32_t j = i + 1; j < n[i].end; j = n[j].end)
      if (n[j].end > n[i].end)
        abort();
    if (n[i].kind == CN__TPL_TEXT && n[i].text_len == 0)
      abort();
    if (n[i].kind != CN__TPL_TEXT && n[i].line == 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static json_t *ctx;
  if (!ctx && !(ctx = json_loads(context_json, 0, NULL)))
    abort();
  cn__tpl *t = NULL;
  cn__tpl_error err;
  int rc = cn__tpl_compile("fuzz", (const char *)data, size, &t, &err);
  if (rc) {
    if (t || err.code != rc || !err.message[0] ||
        (rc == CN_EPARSE && err.line == 0))
      abort();
    return 0;
  }
  check_tree(t);
  cn__tpl_partials env = {.lookup = self_lookup, .ud = t,
                          .max_output = 1 << 20, .max_steps = 50000};
  cn__buf whole = {0}, parts = {0};
  rc = cn__tpl_render(t, ctx, &env, &whole, &err);
  if (rc && (err.code != rc || !err.message[0]))
    abort();
  if (rc == 0) {
    uint32_t count, i = 0;
    const cn__tpl_node *n = cn__tpl_nodes(t, &count);
    const json_t *stack[1] = {ctx};
    while (i < count && rc == 0) {
      rc = cn__tpl_render_span(t, i, n[i].end, stack, 1, &env, &parts, &err);
      i = n[i].end;
    }
    if (rc == 0 && (parts.len != whole.len ||
                    (whole.len && memcmp(parts.ptr, whole.ptr, whole.len))))
      abort();
  }
  cn__buf_free(&whole);
  cn__buf_free(&parts);
  cn__tpl_free(t);
  return 0;
}
