/*
 * Server Actions' security pieces (issue 8): the allowed-origin patterns,
 * the Origin check, action IDs and sealed bound arguments under tampering,
 * truncation, another action and another key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "actions/actions.h"
#include "check.h"

TEST(host_patterns) {
  struct {
    const char *pattern, *host;
    int want;
  } t[] = {
      {"example.com", "example.com", 1},
      {"example.com", "EXAMPLE.com", 1},
      {"example.com", "a.example.com", 0},
      {"example.com:8443", "example.com:8443", 1},
      {"example.com:8443", "example.com", 0},
      {"*.example.com", "a.example.com", 1},
      {"*.example.com", "A.Example.COM", 1},
      {"*.example.com", "a.b.example.com", 0},
      {"*.example.com", "example.com", 0},
      {"*.example.com", ".example.com", 0},
      {"**.example.com", "a.example.com", 1},
      {"**.example.com", "a.b.example.com", 1},
      {"**.example.com", "example.com", 0},
      {"**.example.com", "a..example.com", 0},
      {"*", "example.com", 0},
      {"*", "localhost", 0},
      {"**", "a.b", 0},
      {"a.*.example.com", "a.b.example.com", 0}, /* leftmost place only */
      {"*.*.example.com", "a.b.example.com", 0},
      {"*.example.com", "a.example.com.evil.test", 0},
      {"*.example.com", "aexample.com", 0},
      {"", "example.com", 0},
      {"example.com", "", 0},
      {"example..com", "example..com", 0},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    int got = cn__host_pattern(t[i].pattern, cn__cstr(t[i].host));
    if (got != t[i].want)
      fprintf(stderr, "  %s vs %s: %d\n", t[i].pattern, t[i].host, got);
    CHECK_EQ_INT(got, t[i].want);
  }
}

TEST(origins) {
  const char *const allowed[] = {"*.trusted.test", "**.corp.test",
                                 "partner.test:8443"};
  struct {
    const char *origin, *host;
    int want;
  } t[] = {
      {NULL, "app.test", 1}, /* no Origin: accepted, the caller warns */
      {"https://app.test", "app.test", 1},
      {"http://APP.test", "app.test", 1},
      {"https://app.test:3000", "app.test:3000", 1},
      {"https://app.test:3001", "app.test:3000", 0},
      {"https://app.test", "app.test:3000", 0},
      {"null", "app.test", 0},
      {"https://evil.test", "app.test", 0},
      {"https://a.trusted.test", "app.test", 1},
      {"https://a.b.trusted.test", "app.test", 0},
      {"https://x.y.corp.test", "app.test", 1},
      {"https://partner.test:8443", "app.test", 1},
      {"https://partner.test", "app.test", 0},
      {"https://app.test/path", "app.test", 0},
      {"https://user@app.test", "app.test", 0},
      {"app.test", "app.test", 0},
      {"https://", "app.test", 0},
      {"", "app.test", 0},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn_str o = t[i].origin ? cn__cstr(t[i].origin) : CN_STR_NULL;
    int got = cn__action_origin_ok(o, cn__cstr(t[i].host), allowed, 3);
    if (got != t[i].want)
      fprintf(stderr, "  %s for %s: %d\n", t[i].origin ? t[i].origin : "-",
              t[i].host, got);
    CHECK_EQ_INT(got, t[i].want);
  }
}

TEST(ids_are_per_action_and_per_key) {
  char a[CN__ACTION_ID_LEN + 1], b[CN__ACTION_ID_LEN + 1],
      c[CN__ACTION_ID_LEN + 1], d[CN__ACTION_ID_LEN + 1];
  setenv("CAIRN_ACTIONS_KEY", "0123456789abcdef0123456789abcdef0123456789abcd"
                              "ef0123456789abcdef", 1);
  CHECK_EQ_INT(cn__actions_init(NULL), 0);
  cn__action_id("app/signup/page.c", "signup", a);
  cn__action_id("app/signup/page.c", "signup", b);
  cn__action_id("app/other/page.c", "signup", c);
  CHECK_EQ_STR(a, b);
  CHECK(strcmp(a, c) != 0);
  CHECK_EQ_INT((int)strlen(a), CN__ACTION_ID_LEN);
  setenv("CAIRN_ACTIONS_KEY", "ffffffffffffffffffffffffffffffffffffffffffff"
                              "ffffffffffffffffffff", 1);
  CHECK_EQ_INT(cn__actions_init(NULL), 0);
  cn__action_id("app/signup/page.c", "signup", d);
  CHECK(strcmp(a, d) != 0);
  /* a mistyped shared key is an error, not a random key */
  setenv("CAIRN_ACTIONS_KEY", "not-a-key", 1);
  CHECK_EQ_INT(cn__actions_init(NULL), CN_ECONFIG);
  unsetenv("CAIRN_ACTIONS_KEY");
}

TEST(sealed_arguments_resist_tampering) {
  setenv("CAIRN_ACTIONS_KEY", "0123456789abcdef0123456789abcdef0123456789abcd"
                              "ef0123456789abcdef", 1);
  CHECK_EQ_INT(cn__actions_init(NULL), 0);
  char id[CN__ACTION_ID_LEN + 1], other[CN__ACTION_ID_LEN + 1];
  cn__action_id("app/users/page.c", "update", id);
  cn__action_id("app/users/page.c", "remove", other);
  json_t *bind = json_pack("{s:i,s:s}", "user", 42, "role", "admin");
  cn__buf tok = {0};
  CHECK_EQ_INT(cn__action_seal(id, bind, &tok), 0);
  json_t *back = NULL;
  CHECK_EQ_INT(cn__action_unseal(id, cn__str(tok.ptr, tok.len), &back), 0);
  CHECK(json_equal(back, bind));
  json_decref(back);
  /* two seals of one value differ (a fresh nonce each) */
  cn__buf tok2 = {0};
  CHECK_EQ_INT(cn__action_seal(id, bind, &tok2), 0);
  CHECK(tok.len == tok2.len && memcmp(tok.ptr, tok2.ptr, tok.len) != 0);
  /* another action */
  back = NULL;
  CHECK_EQ_INT(cn__action_unseal(other, cn__str(tok.ptr, tok.len), &back),
               CN_EPARSE);
  CHECK(back == NULL);
  /* every character changed, every truncation */
  int opened = 0;
  for (size_t i = 0; i < tok.len; i++) {
    char keep = tok.ptr[i];
    tok.ptr[i] = keep == 'A' ? 'B' : 'A';
    if (!cn__action_unseal(id, cn__str(tok.ptr, tok.len), &back)) {
      opened++;
      json_decref(back);
    }
    tok.ptr[i] = keep;
  }
  for (size_t n = 0; n < tok.len; n++)
    if (!cn__action_unseal(id, cn__str(tok.ptr, n), &back)) {
      opened++;
      json_decref(back);
    }
  CHECK_EQ_INT(opened, 0);
  /* another key */
  setenv("CAIRN_ACTIONS_KEY", "ffffffffffffffffffffffffffffffffffffffffffff"
                              "ffffffffffffffffffff", 1);
  CHECK_EQ_INT(cn__actions_init(NULL), 0);
  cn__action_id("app/users/page.c", "update", id);
  CHECK_EQ_INT(cn__action_unseal(id, cn__str(tok.ptr, tok.len), &back),
               CN_EPARSE);
  unsetenv("CAIRN_ACTIONS_KEY");
  cn__buf_free(&tok);
  cn__buf_free(&tok2);
  json_decref(bind);
}

int main(void) {
  RUN(host_patterns);
  RUN(origins);
  RUN(ids_are_per_action_and_per_key);
  RUN(sealed_arguments_resist_tampering);
  return check_summary();
}
