/* common/: arenas, buffers, sizes, dates, errors. */
#include <stdlib.h>

#include "check.h"
#include "common/common.h"

TEST(arena_inline_then_blocks) {
  char inl[64];
  cn__arena a;
  cn__arena_init(&a, inl, sizeof inl);
  char *p = cn__arena_alloc(&a, 10);
  CHECK(p >= inl && p < inl + sizeof inl);
  CHECK(((uintptr_t)p & 15) == 0);
  char *q = cn__arena_alloc(&a, 10000);
  CHECK(q != NULL);
  CHECK(cn__arena_owns(&a, q + 9999));
  char other;
  CHECK(!cn__arena_owns(&a, &other));
  char *s = cn__arena_printf(&a, "%d-%s", 42, "x");
  CHECK_EQ_STR(s, "42-x");
  cn__arena_reset(&a);
  CHECK(a.blocks == NULL);
  CHECK(!cn__arena_owns(&a, q));
}

TEST(arena_reports_oom) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__alloc_fail_after(0);
  CHECK(cn__arena_alloc(&a, 100) == NULL);
  cn__alloc_fail_after(-1);
  CHECK(cn__arena_alloc(&a, 100) != NULL);
  cn__arena_destroy(&a);
}

TEST(buf_grow_consume) {
  cn__buf b = {0};
  for (int i = 0; i < 1000; i++)
    CHECK(cn__buf_append(&b, "abc", 3) == 0);
  CHECK_EQ_INT(b.len, 3000);
  cn__buf_consume(&b, 2999);
  CHECK_EQ_INT(b.len, 1);
  CHECK(b.ptr[0] == 'c');
  CHECK(cn__buf_appendf(&b, "%05d", 7) == 0);
  CHECK(b.len == 6 && memcmp(b.ptr, "c00007", 6) == 0);
  cn__buf_free(&b);
}

TEST(sizes) {
  size_t n;
  CHECK(cn__parse_size("1mb", &n) == 0 && n == 1048576);
  CHECK(cn__parse_size("500kb", &n) == 0 && n == 512000);
  CHECK(cn__parse_size("1024", &n) == 0 && n == 1024);
  CHECK(cn__parse_size("16 KiB", &n) == 0 && n == 16384);
  CHECK(cn__parse_size("1.5kb", &n) == 0 && n == 1536);
  CHECK(cn__parse_size("", &n) == CN_EINVAL);
  CHECK(cn__parse_size("-1", &n) == CN_EINVAL);
  CHECK(cn__parse_size("12xb", &n) == CN_EINVAL);
  CHECK(cn__parse_size("mb", &n) == CN_EINVAL);
}

TEST(dates) {
  char d[30];
  cn__http_date(784111777, d);
  CHECK_EQ_STR(d, "Sun, 06 Nov 1994 08:49:37 GMT");
  int64_t t;
  CHECK(cn__parse_http_date(cn__cstr(d), &t) == 0 && t == 784111777);
  CHECK(cn__parse_http_date(CN_STR("Sunday, 06-Nov-94 08:49:37 GMT"), &t));
  CHECK(cn__parse_http_date(CN_STR("Sun, 06 Xyz 1994 08:49:37 GMT"), &t));
}

TEST(errors_and_slices) {
  CHECK_EQ_STR(cn_strerror(CN_ENOMEM), "out of memory");
  CHECK_EQ_STR(cn_err_name(CN_ETOOBIG), "CN_ETOOBIG");
  CHECK_EQ_STR(cn_strerror(-999), "unknown error");
  CHECK(cn_str_ieq(CN_STR("Content-Length"), "content-length"));
  CHECK(!cn_str_eq(CN_STR_NULL, ""));
  cn_str t = cn__str_trim(CN_STR(" \t a b \t"));
  CHECK_EQ_SLICE(t, "a b");
}


/* cn__json_write against json_dumps, which it replaces on the hot paths. */
static void same_as_jansson(const json_t *j, int slash) {
  size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (slash ? JSON_ESCAPE_SLASH : 0);
  char *want = json_dumps(j, flags);
  cn__buf b = {0};
  CHECK(cn__json_write(&b, j, slash ? CN__JSON_ESCAPE_SLASH : 0) == 0);
  CHECK(want && b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0);
  if (want && (b.len != strlen(want) || memcmp(b.ptr, want, b.len)))
    fprintf(stderr, "  want %s\n  got  %.*s\n", want, (int)b.len, b.ptr);
  free(want);
  cn__buf_free(&b);
}

TEST(json_write_matches_jansson) {
  const char *docs[] = {
      "null", "true", "false", "0", "-1", "9223372036854775807",
      "-9223372036854775808", "1.5", "-0.0", "1e300", "3.141592653589793",
      "100000000000000000000.0", "\"\"", "\"a/b\\\"c\\\\d\"",
      "\"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\\u007f\"",
      "\"h\\u00e9llo \\u2028 \\u2029 \\ud83d\\ude00\"", "[]", "{}",
      "[1,[2,[3,{}]],{\"a\":[]}]",
      "{\"z\":1,\"a\":{\"</script>\":\"<!--\"},\"m\":[true,null,2.25]}",
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(docs); i++) {
    json_t *j = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(j != NULL);
    if (!j)
      continue;
    same_as_jansson(j, 0);
    same_as_jansson(j, 1);
    json_decref(j);
  }
  /* Objects keep insertion order, as jansson's dump does. */
  json_t *o = json_object();
  for (int i = 0; i < 40; i++) {
    char k[8];
    snprintf(k, sizeof k, "k%d", (i * 17) % 40);
    json_object_set_new(o, k, json_integer(i));
  }
  same_as_jansson(o, 0);
  json_decref(o);
}

TEST(json_write_refuses) {
  cn__buf b = {0};
  cn__buf_append(&b, "x", 1);
  json_t *deep = json_array(), *cur = deep;
  for (int i = 0; i < 3000; i++) {
    json_t *n = json_array();
    json_array_append_new(cur, n);
    cur = n;
  }
  CHECK(cn__json_write(&b, deep, 0) == CN_EINVAL);
  CHECK_EQ_INT(b.len, 1); /* nothing half-written */
  json_t *self = json_array();
  json_array_append(self, self); /* jansson refuses a direct cycle */
  CHECK_EQ_INT(json_array_size(self), 0);
  json_t *a = json_array(), *c = json_object();
  json_array_append(a, c);
  json_object_set(c, "a", a); /* an indirect one it allows */
  CHECK(cn__json_write(&b, a, 0) == CN_EINVAL);
  CHECK_EQ_INT(b.len, 1);
  json_object_del(c, "a");
  CHECK(cn__json_write(&b, a, 0) == 0);
  CHECK(b.len == 5 && memcmp(b.ptr, "x[{}]", 5) == 0);
  cn__alloc_fail_after(0);
  b.len = b.cap; /* force a grow */
  CHECK(cn__json_write(&b, a, 0) == CN_ENOMEM);
  cn__alloc_fail_after(-1);
  json_decref(a);
  json_decref(c);
  json_decref(self);
  json_decref(deep);
  cn__buf_free(&b);
}

int main(void) {
  RUN(arena_inline_then_blocks);
  RUN(arena_reports_oom);
  RUN(buf_grow_consume);
  RUN(json_write_matches_jansson);
  RUN(json_write_refuses);
  RUN(sizes);
  RUN(dates);
  RUN(errors_and_slices);
  return check_summary();
}
