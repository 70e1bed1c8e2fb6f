/* common/: arenas, buffers, sizes, dates, errors. */
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

int main(void) {
  RUN(arena_inline_then_blocks);
  RUN(arena_reports_oom);
  RUN(buf_grow_consume);
  RUN(sizes);
  RUN(dates);
  RUN(errors_and_slices);
  return check_summary();
}
