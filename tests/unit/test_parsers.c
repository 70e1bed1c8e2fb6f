/* parsers/: query strings, urlencoded bodies, cookies, Content-Type, JSON
 * and the body dispatch. Multipart has its own file
 * (test_parsers_multipart.c). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "parsers/parsers.h"

/* The pairs as "[k][v][k][v]", bytes outside printable ASCII as \xHH, and
 * every string checked for its NUL terminator. */
static const char *show_pairs(const cn__pairs *p) {
  static char out[8192];
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < p->len; i++) {
    cn_str s[2] = {p->items[i].key, p->items[i].value};
    for (int k = 0; k < 2; k++) {
      if (!s[k].ptr || s[k].ptr[s[k].len] != '\0')
        return "(not NUL-terminated)";
      o += (size_t)snprintf(out + o, sizeof out - o, "[");
      for (size_t j = 0; j < s[k].len && o < sizeof out - 8; j++) {
        unsigned char c = (unsigned char)s[k].ptr[j];
        if (c >= 0x20 && c < 0x7f)
          out[o++] = (char)c;
        else
          o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02X", c);
      }
      o += (size_t)snprintf(out + o, sizeof out - o, "]");
    }
  }
  return out;
}

static int msg_ascii(const char *m) {
  for (; *m; m++)
    if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
      return 0;
  return 1;
}

/* --------------------------------------------------------- query / form */

typedef struct pair_case {
  const char *in;
  size_t in_len; /* 0: strlen */
  int rc;
  const char *want; /* pairs on success, a message fragment on failure */
} pair_case;

static const pair_case pair_cases[] = {
    {"", 0, 0, ""},
    {"a=1", 0, 0, "[a][1]"},
    {"a=1&b=&c&tag=x&tag=y", 0, 0, "[a][1][b][][c][][tag][x][tag][y]"},
    {"a+b=c+d", 0, 0, "[a b][c d]"},
    {"a%20b=c%20d", 0, 0, "[a b][c d]"},
    {"%41%42=%4a%4A", 0, 0, "[AB][JJ]"},
    {"&&a=1&&", 0, 0, "[a][1]"},
    {"&", 0, 0, ""},
    {"=x", 0, 0, "[][x]"},
    {"=", 0, 0, "[][]"},
    {"a==b", 0, 0, "[a][=b]"},
    {"a=1;b=2", 0, 0, "[a][1;b=2]"},
    {"a", 0, 0, "[a][]"},
    {"a=1&a=2&a=3", 0, 0, "[a][1][a][2][a][3]"},
    {"a=%00b", 0, 0, "[a][\\x00b]"},
    {"a=%E2%82%AC", 0, 0, "[a][\\xE2\\x82\\xAC]"},
    {"a=%2B", 0, 0, "[a][+]"},
    {"a=+%2B+", 0, 0, "[a][ + ]"},
    {"%C3%A9t%C3%A9=%e6%97%a5", 0, 0, "[\\xC3\\xA9t\\xC3\\xA9][\\xE6\\x97\\xA5]"},
    {"a=%26&b=%3D", 0, 0, "[a][&][b][=]"},
    {"a=\xff\x01", 0, 0, "[a][\\xFF\\x01]"},
    {"a=x\0y&b", 5, 0, "[a][x\\x00y]"},
    {"%", 0, CN_EPARSE, "\"%\" at byte 0"},
    {"a=%4", 0, CN_EPARSE, "\"%4\" at byte 2"},
    {"a=%zz", 0, CN_EPARSE, "\"%zz\" at byte 2"},
    {"%zz=1", 0, CN_EPARSE, "at byte 0"},
    {"k=v%", 0, CN_EPARSE, "at byte 3"},
    {"a=%%41", 0, CN_EPARSE, "at byte 2"},
    {"a=%G1", 0, CN_EPARSE, "\"%G1\""},
    {"a%=1", 0, CN_EPARSE, "at byte 1"},
    {"ok=1&bad=%x\x01", 0, CN_EPARSE, "\"%x?\" at byte 9"},
    {"a=1&b=%2", 0, CN_EPARSE, "at byte 6"},
};

static void run_pairs(int form) {
  for (size_t i = 0; i < CN__ARRAY_LEN(pair_cases); i++) {
    const pair_case *c = &pair_cases[i];
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__pairs p;
    cn__perr err;
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    int rc = form ? cn__form_parse(&a, cn__str(c->in, len), 0, &p, &err)
                  : cn__query_parse(&a, cn__str(c->in, len), 0, &p, &err);
    if (rc != c->rc)
      fprintf(stderr, "case %zu (%s): rc %d, want %d\n", i, c->in, rc, c->rc);
    CHECK_EQ_INT(rc, c->rc);
    if (!rc) {
      CHECK_EQ_STR(show_pairs(&p), c->want);
      CHECK_EQ_STR(err.msg, "");
    } else {
      if (!strstr(err.msg, c->want))
        fprintf(stderr, "case %zu: message \"%s\" lacks \"%s\"\n", i, err.msg,
                c->want);
      CHECK(strstr(err.msg, c->want) != NULL);
      CHECK(strstr(err.msg, form ? "form body" : "query string") != NULL);
      CHECK(msg_ascii(err.msg));
      CHECK_EQ_INT(p.len, 0);
    }
    cn__arena_destroy(&a);
  }
}

TEST(query_table) { run_pairs(0); }
TEST(form_table) { run_pairs(1); }

TEST(query_null_and_absent) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  CHECK_EQ_INT(cn__query_parse(&a, CN_STR_NULL, 0, &p, NULL), 0);
  CHECK_EQ_INT(p.len, 0);
  CHECK(cn__pairs_get(&p, CN_STR("a")).ptr == NULL);
  CHECK_EQ_INT(cn__query_parse(&a, CN_STR("%"), 0, &p, NULL), CN_EPARSE);
  cn__arena_destroy(&a);
}

static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

TEST(query_pair_limit) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  cn__perr err;
  char *s = repeat("a=1&", 1000);
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 0, &p, &err), 0);
  CHECK_EQ_INT(p.len, 1000);
  free(s);
  s = repeat("a=1&", 1001);
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 0, &p, &err), CN_ETOOBIG);
  CHECK(strstr(err.msg, "more than 1000 parameters") != NULL);
  CHECK_EQ_INT(p.len, 0);
  CHECK_EQ_INT(cn__form_parse(&a, cn__cstr(s), 2000, &p, &err), 0);
  CHECK_EQ_INT(p.len, 1001);
  free(s);
  /* Empty pairs do not count towards the limit. */
  CHECK_EQ_INT(cn__query_parse(&a, CN_STR("a&&&&b&&&c&&&"), 3, &p, &err), 0);
  CHECK_EQ_INT(cn__query_parse(&a, CN_STR("a&b&c&d"), 3, &p, &err),
               CN_ETOOBIG);
  CHECK(strstr(err.msg, "more than 3 parameters") != NULL);
  /* The limit is checked before any escape: a flood is refused cheaply. */
  s = repeat("%&", 100000);
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 0, &p, &err), CN_ETOOBIG);
  free(s);
  cn__arena_destroy(&a);
}

TEST(query_hostile_sizes) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  cn__perr err;
  /* 1 MB of escapes: linear, one block. */
  char *s = repeat("%41", 350000);
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 0, &p, &err), 0);
  CHECK_EQ_INT(p.len, 1);
  CHECK_EQ_INT(p.items[0].key.len, 350000);
  free(s);
  /* 200k pairs with a raised limit. */
  s = repeat("k=v&", 200000);
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 300000, &p, &err), 0);
  CHECK_EQ_INT(p.len, 200000);
  free(s);
  /* A bad escape at the very end of 1 MB. */
  s = repeat("a", 1000000);
  s[999999] = '%';
  CHECK_EQ_INT(cn__query_parse(&a, cn__cstr(s), 0, &p, &err), CN_EPARSE);
  CHECK(strstr(err.msg, "at byte 999999") != NULL);
  free(s);
  cn__arena_destroy(&a);
}

TEST(pairs_lookups) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  CHECK_EQ_INT(
      cn__query_parse(&a, CN_STR("tag=x&A=up&e=&tag=y&a=low&tag=z"), 0, &p,
                      NULL),
      0);
  CHECK_EQ_SLICE(cn__pairs_get(&p, CN_STR("tag")), "x");
  CHECK_EQ_SLICE(cn__pairs_get(&p, CN_STR("a")), "low");
  CHECK_EQ_SLICE(cn__pairs_get(&p, CN_STR("A")), "up");
  cn_str e = cn__pairs_get(&p, CN_STR("e"));
  CHECK(e.ptr != NULL && e.len == 0);
  CHECK(cn__pairs_get(&p, CN_STR("missing")).ptr == NULL);
  CHECK(cn__pairs_get(&p, CN_STR("ta")).ptr == NULL);
  const cn_str *v;
  size_t n;
  CHECK_EQ_INT(cn__pairs_all(&p, &a, CN_STR("tag"), &v, &n), 0);
  CHECK_EQ_INT(n, 3);
  if (n == 3) {
    CHECK_EQ_SLICE(v[0], "x");
    CHECK_EQ_SLICE(v[1], "y");
    CHECK_EQ_SLICE(v[2], "z");
  }
  CHECK_EQ_INT(cn__pairs_all(&p, &a, CN_STR("nope"), &v, &n), 0);
  CHECK(n == 0 && v == NULL);
  cn__alloc_fail_after(0);
  cn__arena b;
  cn__arena_init(&b, NULL, 0);
  CHECK_EQ_INT(cn__pairs_all(&p, &b, CN_STR("tag"), &v, &n), CN_ENOMEM);
  cn__alloc_fail_after(-1);
  cn__arena_destroy(&a);
}

TEST(pct_decode_direct) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn_str out;
  size_t bad = 99;
  CHECK_EQ_INT(cn__pct_decode(&a, CN_STR("a+b%2F"), 1, &out, &bad), 0);
  CHECK_EQ_SLICE(out, "a b/");
  CHECK_EQ_INT(cn__pct_decode(&a, CN_STR("a+b%2F"), 0, &out, &bad), 0);
  CHECK_EQ_SLICE(out, "a+b/");
  CHECK_EQ_INT(cn__pct_decode(&a, CN_STR("abc%2"), 0, &out, &bad), CN_EPARSE);
  CHECK_EQ_INT(bad, 3);
  CHECK_EQ_INT(cn__pct_decode(&a, CN_STR(""), 0, &out, NULL), 0);
  CHECK(out.ptr && out.len == 0);
  cn__arena_destroy(&a);
}

TEST(pairs_oom) {
  for (long i = 0; i < 4; i++) {
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__pairs p;
    cn__perr err;
    cn__alloc_fail_after(i);
    int rc = cn__query_parse(&a, CN_STR("a=1&b=2"), 0, &p, &err);
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == CN_ENOMEM);
    if (rc)
      CHECK_EQ_INT(p.len, 0);
    cn__arena_destroy(&a);
  }
  char inl[16];
  cn__arena a;
  cn__arena_init(&a, inl, sizeof inl);
  cn__pairs p;
  cn__alloc_fail_after(0);
  CHECK_EQ_INT(cn__query_parse(&a, CN_STR("a=1&b=2&c=3"), 0, &p, NULL),
               CN_ENOMEM);
  cn__alloc_fail_after(-1);
  cn__arena_destroy(&a);
}

/* ------------------------------------------------------------- cookies */

typedef struct cookie_case {
  const char *h[3]; /* up to three Cookie headers */
  size_t len0;      /* length of h[0] when it holds a NUL */
  const char *want;
} cookie_case;

static const cookie_case cookie_cases[] = {
    {{"a=1"}, 0, "[a][1]"},
    {{"a=1; b=2"}, 0, "[a][1][b][2]"},
    {{"a=1;b=2"}, 0, "[a][1][b][2]"},
    {{"  a = 1 ;  b=2  "}, 0, "[a][1][b][2]"},
    {{"a=\t1\t"}, 0, "[a][1]"},
    {{"a=\"quoted\""}, 0, "[a][quoted]"},
    {{"a=\"\"; b=2"}, 0, "[a][][b][2]"},
    {{"a=\"; b=2"}, 0, "[b][2]"},
    {{"a=\"x; b=2"}, 0, "[b][2]"},
    {{"a=x\"y; b=2"}, 0, "[b][2]"},
    {{"a=\"\"\"; b=2"}, 0, "[b][2]"},
    {{"a=1; a=2"}, 0, "[a][1]"},
    {{"a=1; b=2; a=3; b=4; c=5"}, 0, "[a][1][b][2][c][5]"},
    {{"noeq; b=2"}, 0, "[b][2]"},
    {{"=v; b=2"}, 0, "[b][2]"},
    {{" =v; b=2"}, 0, "[b][2]"},
    {{"a b=1; c=2"}, 0, "[c][2]"},
    {{"a(=1; c=2"}, 0, "[c][2]"},
    {{"a@b=1; c=2"}, 0, "[c][2]"},
    {{"\xc3\xa9=1; c=2"}, 0, "[c][2]"},
    {{"a=x\x01y; c=2"}, 0, "[c][2]"},
    {{"a=x\x7fy; c=2"}, 0, "[c][2]"},
    {{"a=x\ty; c=2"}, 0, "[c][2]"},
    {{"a=x y; c=2"}, 0, "[a][x y][c][2]"},
    {{"a=%41"}, 0, "[a][%41]"},
    {{"a=1,b=2"}, 0, "[a][1,b=2]"},
    {{"a=x\\y"}, 0, "[a][x\\y]"},
    {{"a=\xc3\xa9"}, 0, "[a][\\xC3\\xA9]"},
    {{"a="}, 0, "[a][]"},
    {{"a=b=c"}, 0, "[a][b=c]"},
    {{"A=1; a=2"}, 0, "[A][1][a][2]"},
    {{"a=1;"}, 0, "[a][1]"},
    {{";;;"}, 0, ""},
    {{""}, 0, ""},
    {{"a=x\0y; c=2", NULL}, 10, "[c][2]"},
    {{"a=1", "b=2; a=3", "c=3"}, 0, "[a][1][b][2][c][3]"},
    {{"junk", "a=1"}, 0, "[a][1]"},
    {{"__Host-id=abc; $Version=1"}, 0, "[__Host-id][abc][$Version][1]"},
    {{"session=eyJhIjoxfQ==; theme=dark"}, 0,
     "[session][eyJhIjoxfQ==][theme][dark]"},
};

TEST(cookie_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(cookie_cases); i++) {
    const cookie_case *c = &cookie_cases[i];
    cn_str h[3];
    size_t n = 0;
    for (; n < 3 && c->h[n]; n++)
      h[n] = cn__cstr(c->h[n]);
    if (c->len0)
      h[0].len = c->len0;
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__pairs p;
    cn__perr err;
    CHECK_EQ_INT(cn__cookie_parse(&a, h, n, 0, &p, &err), 0);
    if (strcmp(show_pairs(&p), c->want))
      fprintf(stderr, "cookie case %zu\n", i);
    CHECK_EQ_STR(show_pairs(&p), c->want);
    cn__arena_destroy(&a);
  }
}

TEST(cookie_limits_and_duplicates) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__pairs p;
  cn__perr err;
  cn_str h = CN_STR("a=1; b=2; c=3; a=4; b=5");
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 3, &p, &err), 0);
  CHECK_EQ_STR(show_pairs(&p), "[a][1][b][2][c][3]");
  h = CN_STR("a=1; b=2; c=3; d=4");
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 3, &p, &err), CN_ETOOBIG);
  CHECK(strstr(err.msg, "more than 3 cookies") != NULL);
  CHECK_EQ_INT(p.len, 0);
  /* 20000 distinct names: the default limit refuses, a raised one takes
   * them all in linear time (a hash, not n^2 comparisons). */
  size_t cap = 20000 * 16;
  char *big = malloc(cap);
  size_t o = 0;
  for (int i = 0; i < 20000; i++)
    o += (size_t)snprintf(big + o, cap - o, "n%d=%d; ", i, i);
  h = cn__str(big, o);
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 0, &p, &err), CN_ETOOBIG);
  CHECK(strstr(err.msg, "1000") != NULL);
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 50000, &p, &err), 0);
  CHECK_EQ_INT(p.len, 20000);
  CHECK_EQ_SLICE(cn__pairs_get(&p, CN_STR("n19999")), "19999");
  /* 20000 copies of one name: one cookie, the first value. */
  o = 0;
  for (int i = 0; i < 20000; i++)
    o += (size_t)snprintf(big + o, cap - o, "same=%d;", i);
  h = cn__str(big, o);
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 0, &p, &err), 0);
  CHECK_EQ_STR(show_pairs(&p), "[same][0]");
  /* A header of only separators and junk. */
  memset(big, ';', cap);
  h = cn__str(big, cap);
  CHECK_EQ_INT(cn__cookie_parse(&a, &h, 1, 0, &p, &err), 0);
  CHECK_EQ_INT(p.len, 0);
  free(big);
  cn__arena_destroy(&a);
}

TEST(cookie_decode_helper) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn_str out;
  CHECK_EQ_INT(cn__cookie_decode(&a, CN_STR("%7B%22a%22%3A1%7D+x"), &out), 0);
  CHECK_EQ_SLICE(out, "{\"a\":1}+x");
  CHECK_EQ_INT(cn__cookie_decode(&a, CN_STR("100%"), &out), CN_EPARSE);
  CHECK_EQ_INT(cn__cookie_decode(&a, CN_STR("%zz"), &out), CN_EPARSE);
  cn__arena_destroy(&a);
}

TEST(cookie_oom) {
  for (long i = 0; i < 4; i++) {
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__pairs p;
    cn_str h = CN_STR("a=1; b=2");
    cn__alloc_fail_after(i);
    int rc = cn__cookie_parse(&a, &h, 1, 0, &p, NULL);
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == CN_ENOMEM);
    CHECK(rc || p.len == 2);
    cn__arena_destroy(&a);
  }
}

/* -------------------------------------------------------- Content-Type */

typedef struct ctype_case {
  const char *in;
  int rc;
  const char *type;     /* or a message fragment on failure */
  const char *charset;  /* NULL: absent */
  const char *boundary; /* NULL: absent */
} ctype_case;

static const ctype_case ctype_cases[] = {
    {"application/json", 0, "application/json", NULL, NULL},
    {"Application/JSON; Charset=UTF-8", 0, "application/json", "utf-8", NULL},
    {"multipart/form-data; boundary=abc", 0, "multipart/form-data", NULL,
     "abc"},
    {"multipart/form-data; boundary=\"a b:c\"", 0, "multipart/form-data",
     NULL, "a b:c"},
    {"multipart/form-data;boundary=AbC", 0, "multipart/form-data", NULL,
     "AbC"},
    {"text/plain; charset=\"utf-8\"", 0, "text/plain", "utf-8", NULL},
    {"text/plain; x=\"a\\\"b\"", 0, "text/plain", NULL, NULL},
    {"text/plain;", 0, "text/plain", NULL, NULL},
    {"text/plain ; charset=utf-8", 0, "text/plain", "utf-8", NULL},
    {"text/plain;;charset=utf-8;", 0, "text/plain", "utf-8", NULL},
    {"  text/html  ", 0, "text/html", NULL, NULL},
    {"text/plain; x=\"\"", 0, "text/plain", NULL, NULL},
    {"text/plain; x=\"caf\xc3\xa9\"", 0, "text/plain", NULL, NULL},
    {"application/vnd.api+json", 0, "application/vnd.api+json", NULL, NULL},
    {"text", CN_EPARSE, "expected type/subtype", NULL, NULL},
    {"/plain", CN_EPARSE, "expected type/subtype", NULL, NULL},
    {"text/", CN_EPARSE, "expected type/subtype", NULL, NULL},
    {"", CN_EPARSE, "expected type/subtype", NULL, NULL},
    {"te xt/plain", CN_EPARSE, "expected type/subtype", NULL, NULL},
    {"text/plain; charset", CN_EPARSE, "without '=value'", NULL, NULL},
    {"text/plain; charset=", CN_EPARSE, "empty or invalid value", NULL, NULL},
    {"text/plain; x=\"abc", CN_EPARSE, "unterminated quoted string", NULL,
     NULL},
    {"text/plain; x=\"a\\", CN_EPARSE, "unterminated quoted string", NULL,
     NULL},
    {"text/plain; charset = utf-8", CN_EPARSE, "without '=value'", NULL, NULL},
    {"text/plain garbage", CN_EPARSE, "where ';' was expected", NULL, NULL},
    {"text/plain/x", CN_EPARSE, "where ';' was expected", NULL, NULL},
    {"text/plain; =x", CN_EPARSE, "without a name", NULL, NULL},
    {"multipart/form-data; boundary=a; BOUNDARY=b", CN_EPARSE,
     "\"boundary\" twice", NULL, NULL},
    {"text/plain; x=\"a\x01\"", CN_EPARSE, "control character", NULL, NULL},
    {"text/plain; x=a b", CN_EPARSE, "where ';' was expected", NULL, NULL},
    {"text/plain; a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8;i=9;j=10;k=11;l=12;m=13;"
     "n=14;o=15;p=16;q=17",
     CN_EPARSE, "more than 16 parameters", NULL, NULL},
};

TEST(ctype_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(ctype_cases); i++) {
    const ctype_case *c = &ctype_cases[i];
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    cn__ctype ct;
    cn__perr err;
    int rc = cn__ctype_parse(&a, cn__cstr(c->in), &ct, &err);
    if (rc != c->rc)
      fprintf(stderr, "ctype case %zu (%s): %d %s\n", i, c->in, rc, err.msg);
    CHECK_EQ_INT(rc, c->rc);
    if (!rc) {
      CHECK_EQ_SLICE(ct.type, c->type);
      if (c->charset)
        CHECK_EQ_SLICE(ct.charset, c->charset);
      else
        CHECK(ct.charset.ptr == NULL);
      if (c->boundary)
        CHECK_EQ_SLICE(ct.boundary, c->boundary);
      else
        CHECK(ct.boundary.ptr == NULL);
    } else {
      if (!strstr(err.msg, c->type))
        fprintf(stderr, "ctype case %zu: \"%s\"\n", i, err.msg);
      CHECK(strstr(err.msg, c->type) != NULL);
      CHECK(msg_ascii(err.msg));
    }
    cn__arena_destroy(&a);
  }
}

TEST(ctype_params_kept) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__ctype ct;
  CHECK_EQ_INT(cn__ctype_parse(&a,
                               CN_STR("text/plain; X=\"a\\\"b\\\\c\"; "
                                      "y=Tok; charset=ISO-8859-1"),
                               &ct, NULL),
               0);
  CHECK_EQ_INT(ct.nparams, 3);
  CHECK_EQ_SLICE(ct.params[0].key, "x");
  CHECK_EQ_SLICE(ct.params[0].value, "a\"b\\c");
  CHECK_EQ_SLICE(ct.params[1].value, "Tok");
  CHECK_EQ_SLICE(ct.charset, "iso-8859-1");
  CHECK_EQ_SLICE(ct.params[2].value, "ISO-8859-1");
  cn__arena_destroy(&a);
}

TEST(body_classify) {
  static const struct {
    const char *t;
    cn_body_kind k;
  } rows[] = {
      {"application/json", CN_BODY_JSON},
      {"application/ld+json", CN_BODY_JSON},
      {"application/x-www-form-urlencoded", CN_BODY_FORM},
      {"multipart/form-data", CN_BODY_MULTIPART},
      {"text/plain", CN_BODY_TEXT},
      {"text/html", CN_BODY_RAW},
      {"application/octet-stream", CN_BODY_RAW},
      {"application/vnd.api+json", CN_BODY_RAW},
      {"multipart/mixed", CN_BODY_RAW},
      {"application/jsonx", CN_BODY_RAW},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(rows); i++)
    CHECK_EQ_INT(cn__body_classify(cn__cstr(rows[i].t)), rows[i].k);
}

/* ---------------------------------------------------------------- JSON */

typedef struct json_case {
  const char *in;
  int rc;
  const char *want; /* json_dumps of the value, or a message fragment */
} json_case;

static const json_case json_cases[] = {
    {"", 0, "{}"},
    {"{}", 0, "{}"},
    {"[1,2]", 0, "[1,2]"},
    {"42", 0, "42"},
    {"\"s\"", 0, "\"s\""},
    {"null", 0, "null"},
    {"true", 0, "true"},
    {" {\"a\":1} \n", 0, "{\"a\":1}"},
    {"{\"a\":{\"b\":[1,{\"c\":null}]}}", 0,
     "{\"a\":{\"b\":[1,{\"c\":null}]}}"},
    {"\"caf\xc3\xa9\"", 0, "\"caf\xc3\xa9\""},
    {"   ", CN_EPARSE, "Invalid JSON at line 1, column"},
    {"{", CN_EPARSE, "Invalid JSON at line 1, column 1:"},
    {"{\"a\":1,\"a\":2}", CN_EPARSE, "duplicate object key"},
    {"\"a\\u0000b\"", CN_EPARSE, "Invalid JSON at line 1"},
    {"{\n\"a\": tru}", CN_EPARSE, "Invalid JSON at line 2, column"},
    {"[1,]", CN_EPARSE, "Invalid JSON"},
    {"\xff", CN_EPARSE, "Invalid JSON"},
    {"{}x", CN_EPARSE, "Invalid JSON"},
    {"NaN", CN_EPARSE, "Invalid JSON"},
    {"{\"a\":\"\\ud800\"}", CN_EPARSE, "Invalid JSON"},
    {"1e999", CN_EPARSE, "Invalid JSON"},
    {"{\"a\":\x01}", CN_EPARSE, "Invalid JSON"},
    {"{'a':1}", CN_EPARSE, "Invalid JSON"},
    {"[1]\n\n\n  ]", CN_EPARSE, "Invalid JSON at line 4, column"},
};

TEST(json_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(json_cases); i++) {
    const json_case *c = &json_cases[i];
    json_t *j = (json_t *)1;
    cn__perr err;
    int rc = cn__json_parse(cn__cstr(c->in), &j, &err);
    if (rc != c->rc)
      fprintf(stderr, "json case %zu: %d %s\n", i, rc, err.msg);
    CHECK_EQ_INT(rc, c->rc);
    if (!rc) {
      char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
      CHECK_EQ_STR(d, c->want);
      free(d);
      json_decref(j);
    } else {
      CHECK(j == NULL);
      if (!strstr(err.msg, c->want))
        fprintf(stderr, "json case %zu: \"%s\"\n", i, err.msg);
      CHECK(strstr(err.msg, c->want) != NULL);
      CHECK(msg_ascii(err.msg));
    }
  }
}

TEST(json_depth) {
  /* jansson bounds nesting: 2048 levels parse, one more does not. */
  size_t d = 2049;
  char *s = malloc(2 * d + 1);
  for (size_t i = 0; i < d; i++) {
    s[i] = '[';
    s[2 * d - 1 - i] = ']';
  }
  s[2 * d] = '\0';
  json_t *j;
  cn__perr err;
  CHECK_EQ_INT(cn__json_parse(cn__cstr(s), &j, &err), CN_EPARSE);
  CHECK(strstr(err.msg, "Invalid JSON") != NULL);
  CHECK_EQ_INT(cn__json_parse(cn__str(s + 1, 2 * d - 2), &j, &err), 0);
  json_decref(j);
  /* A million opening brackets: refused, no stack overflow. */
  char *deep = malloc(1000000);
  memset(deep, '[', 1000000);
  CHECK_EQ_INT(cn__json_parse(cn__str(deep, 1000000), &j, &err), CN_EPARSE);
  free(deep);
  free(s);
}

/* -------------------------------------------------------------- dispatch */

TEST(body_dispatch) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__body b;
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR_NULL, CN_STR(""), NULL, &b), 0);
  CHECK_EQ_INT(b.kind, CN_BODY_NONE);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR_NULL, CN_STR("hi"), NULL, &b), 0);
  CHECK_EQ_INT(b.kind, CN_BODY_TEXT);
  CHECK_EQ_SLICE(b.text, "hi");
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("  "), CN_STR("hi"), NULL, &b), 0);
  CHECK_EQ_INT(b.kind, CN_BODY_TEXT);
  CHECK_EQ_INT(
      cn__body_parse(&a, CN_STR("application/json"), CN_STR("{\"a\":[1]}"),
                     NULL, &b),
      0);
  CHECK_EQ_INT(b.kind, CN_BODY_JSON);
  CHECK(json_is_array(json_object_get(b.json, "a")));
  cn__body_release(&b);
  CHECK(b.json == NULL);
  cn__body_release(&b);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("APPLICATION/JSON; charset=utf-8"),
                              CN_STR(""), NULL, &b),
               0);
  CHECK(json_is_object(b.json) && json_object_size(b.json) == 0);
  cn__body_release(&b);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/ld+json"),
                              CN_STR("[true]"), NULL, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_JSON);
  cn__body_release(&b);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/json"),
                              CN_STR("{\"a\":1,}"), NULL, &b),
               CN_EPARSE);
  CHECK(strstr(b.err.msg, "Invalid JSON at line 1, column") != NULL);
  CHECK(b.json == NULL);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/x-www-form-urlencoded"),
                              CN_STR("a=1&b=x+y&a=2"), NULL, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_FORM);
  CHECK_EQ_STR(show_pairs(&b.form), "[a][1][b][x y][a][2]");
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/x-www-form-urlencoded"),
                              CN_STR("a=%"), NULL, &b),
               CN_EPARSE);
  CHECK(strstr(b.err.msg, "form body") != NULL);
  cn__body_opts opts = {.max_pairs = 1};
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/x-www-form-urlencoded"),
                              CN_STR("a=1&b=2"), &opts, &b),
               CN_ETOOBIG);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("text/plain; charset=latin1"),
                              CN_STR("t\xe9xt"), NULL, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_TEXT);
  CHECK_EQ_SLICE(b.ctype.charset, "latin1");
  CHECK_EQ_SLICE(b.text, "t\xe9xt");
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("application/octet-stream"),
                              CN_STR("\x00\x01"), NULL, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_RAW);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("image/png"), CN_STR_NULL, NULL, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_RAW);
  CHECK(b.text.ptr != NULL && b.text.len == 0);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("text/plain; charset"), CN_STR("x"),
                              NULL, &b),
               CN_EPARSE);
  CHECK(strstr(b.err.msg, "Content-Type") != NULL);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("multipart/form-data"), CN_STR("x"),
                              NULL, &b),
               CN_EPARSE);
  CHECK_EQ_STR(b.err.msg, "multipart/form-data without a boundary parameter");
  cn__body_release(&b);
  cn__arena_destroy(&a);
}

/* A multipart body through the dispatch, whole and streamed; the
 * multipart parser itself is tested in test_parsers_multipart.c. */
#define B "XyZ-b0und"
#define CRLF "\r\n"
#define FIELD(name, value)                                                     \
  "--" B CRLF "Content-Disposition: form-data; name=\"" name "\"" CRLF CRLF   \
      value CRLF
#define FILEPART(name, fn, value)                                              \
  "--" B CRLF "Content-Disposition: form-data; name=\"" name                   \
      "\"; filename=\"" fn "\"" CRLF CRLF value CRLF
#define END "--" B "--"

static const char sample[] = FIELD("title", "Hello, world")
    FIELD("empty", "") FILEPART("upload", "a.txt", "line1\r\n--XyZ")
        FIELD("tricky", "\r\n--XyZ-b0un\r") FILEPART("blank", "", "") END;

static char tmpdir[64];

static int dir_entries(void) {
  DIR *d = opendir(tmpdir);
  int n = 0;
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

TEST(multipart_via_body_dispatch) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/cn-parsers-body-XXXXXX");
  CHECK(mkdtemp(tmpdir) != NULL);
  cn__body_opts opts = {0};
  opts.multipart.tmp_dir = tmpdir;
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__body b;
  CHECK_EQ_INT(cn__body_parse(&a,
                              CN_STR("multipart/form-data; boundary=\"" B "\""),
                              cn__str(sample, sizeof sample - 1), &opts, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_MULTIPART);
  CHECK_EQ_INT(b.form.len, 3);
  CHECK_EQ_INT(b.nfiles, 2);
  CHECK_EQ_SLICE(b.files[0].filename, "a.txt");
  CHECK_EQ_INT(dir_entries(), 2);
  cn__body_release(&b);
  CHECK_EQ_INT(dir_entries(), 0);
  cn__body_release(&b);
  /* Streaming through begin / feed / finish, 3-byte chunks. */
  CHECK_EQ_INT(cn__body_begin(&a, CN_STR("Multipart/Form-Data; boundary=" B),
                              &opts, &b),
               0);
  CHECK_EQ_INT(b.kind, CN_BODY_MULTIPART);
  for (size_t off = 0; off < sizeof sample - 1; off += 3)
    CHECK_EQ_INT(
        cn__body_feed(&b, sample + off, CN__MIN(3, sizeof sample - 1 - off)),
        0);
  CHECK_EQ_INT(cn__body_finish(&a, &b, CN_STR_NULL), 0);
  CHECK_EQ_SLICE(cn__pairs_get(&b.form, CN_STR("title")), "Hello, world");
  cn__body_release(&b);
  /* Truncated, and a boundary the body never uses. */
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("multipart/form-data; boundary=" B),
                              cn__str(sample, 200), &opts, &b),
               CN_EPARSE);
  CHECK(strstr(b.err.msg, "multipart body truncated") != NULL);
  CHECK_EQ_INT(dir_entries(), 0);
  CHECK_EQ_INT(cn__body_parse(&a, CN_STR("multipart/form-data; boundary=zz"),
                              cn__str(sample, sizeof sample - 1), &opts, &b),
               CN_EPARSE);
  CHECK_EQ_STR(b.err.msg, "multipart boundary not found");
  /* Streaming error: the message reaches b.err, files are gone. */
  opts.multipart.max_parts = 1;
  static const char two[] = FILEPART("f", "a", "d") FIELD("g", "1") END;
  CHECK_EQ_INT(cn__body_begin(&a, CN_STR("multipart/form-data; boundary=" B),
                              &opts, &b),
               0);
  CHECK_EQ_INT(cn__body_feed(&b, two, sizeof two - 1), CN_ETOOBIG);
  CHECK(strstr(b.err.msg, "more than 1 parts") != NULL);
  CHECK_EQ_INT(dir_entries(), 0);
  cn__body_release(&b);
  cn__arena_destroy(&a);
  CHECK_EQ_INT(dir_entries(), 0);
  CHECK_EQ_INT(rmdir(tmpdir), 0);
}

int main(void) {
  RUN(query_table);
  RUN(form_table);
  RUN(query_null_and_absent);
  RUN(query_pair_limit);
  RUN(query_hostile_sizes);
  RUN(pairs_lookups);
  RUN(pct_decode_direct);
  RUN(pairs_oom);
  RUN(cookie_table);
  RUN(cookie_limits_and_duplicates);
  RUN(cookie_decode_helper);
  RUN(cookie_oom);
  RUN(ctype_table);
  RUN(ctype_params_kept);
  RUN(body_classify);
  RUN(json_table);
  RUN(json_depth);
  RUN(body_dispatch);
  RUN(multipart_via_body_dispatch);
  return check_summary();
}
