/*
 * check.h: the unit-test harness. A test file defines test functions with
 * TEST(name), lists them in main with RUN(name), and ends with
 * return check_summary(); which prints "N passed, N failed".
 * A failed CHECK reports file:line and the expression, then the test goes on
 * to its next check (so one run shows every broken case).
 */
#ifndef CN_TEST_CHECK_H
#define CN_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check__passed, check__failed, check__cur_failed;
static const char *check__cur;

#define TEST(name) static void name(void)

#define CHECK(expr)                                                            \
  do {                                                                         \
    if (!(expr)) {                                                             \
      fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__,     \
              check__cur, #expr);                                              \
      check__cur_failed = 1;                                                   \
    }                                                                          \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
  do {                                                                         \
    long long check__a = (long long)(a), check__b = (long long)(b);            \
    if (check__a != check__b) {                                                \
      fprintf(stderr, "%s:%d: %s: %s == %s failed: %lld != %lld\n", __FILE__,  \
              __LINE__, check__cur, #a, #b, check__a, check__b);               \
      check__cur_failed = 1;                                                   \
    }                                                                          \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
  do {                                                                         \
    const char *check__a = (a), *check__b = (b);                               \
    if (!check__a || !check__b || strcmp(check__a, check__b) != 0) {          \
      fprintf(stderr, "%s:%d: %s: %s == %s failed: \"%s\" != \"%s\"\n",       \
              __FILE__, __LINE__, check__cur, #a, #b,                          \
              check__a ? check__a : "(null)", check__b ? check__b : "(null)"); \
      check__cur_failed = 1;                                                   \
    }                                                                          \
  } while (0)

/* Compare a {ptr,len} slice with a C string. */
#define CHECK_EQ_SLICE(s, b)                                                   \
  do {                                                                         \
    const char *check__b = (b);                                                \
    if (!(s).ptr || (s).len != strlen(check__b) ||                             \
        memcmp((s).ptr, check__b, (s).len) != 0) {                             \
      fprintf(stderr, "%s:%d: %s: %s == \"%s\" failed: got \"%.*s\"\n",        \
              __FILE__, __LINE__, check__cur, #s, check__b,                    \
              (s).ptr ? (int)(s).len : 6, (s).ptr ? (s).ptr : "(null)");       \
      check__cur_failed = 1;                                                   \
    }                                                                          \
  } while (0)

#define RUN(name)                                                              \
  do {                                                                         \
    check__cur = #name;                                                        \
    check__cur_failed = 0;                                                     \
    name();                                                                    \
    if (check__cur_failed)                                                     \
      check__failed++, fprintf(stderr, "FAIL %s\n", #name);                    \
    else                                                                       \
      check__passed++;                                                         \
  } while (0)

static inline int check_summary(void) {
  printf("%d passed, %d failed\n", check__passed, check__failed);
  return check__failed ? 1 : 0;
}

#endif
