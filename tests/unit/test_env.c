/* .env files: dotenv's parse table, dotenv-expand's substitutions, Next.js's
 * precedence across modes, unreadable files, allocation failures. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "env/env.h"

/* ------------------------------------------------------------ parsing */

/* The parse of text as "K=V\n" lines (last value of a key wins, order of
 * first appearance), for comparing with a table. */
typedef struct collected {
  char out[2048];
  size_t n;
} collected;

static int collect(const char *k, size_t kl, const char *v, size_t vl,
                   void *ud) {
  collected *c = ud;
  int w = snprintf(c->out + c->n, sizeof c->out - c->n, "%.*s=%.*s|", (int)kl,
                   k, (int)vl, v);
  c->n += (size_t)w;
  return 0;
}

static const struct {
  const char *in, *want;
} parse_cases[] = {
    {"BASIC=basic", "BASIC=basic|"},
    {"A=1\n\n# comment\nB=2\n", "A=1|B=2|"},
    {"EMPTY=", "EMPTY=|"},
    {"EMPTY=\nNEXT=x", "EMPTY=|NEXT=x|"},
    {"E1=''\nE2=\"\"\nE3=``", "E1=|E2=|E3=|"},
    {"SQ='single quotes'", "SQ=single quotes|"},
    {"SQS='    spaced    '", "SQS=    spaced    |"},
    {"DQS=\"    spaced    \"", "DQS=    spaced    |"},
    {"BT=`back ticks`", "BT=back ticks|"},
    {"DQ_IN_SQ='double \"quotes\" inside'", "DQ_IN_SQ=double \"quotes\" inside|"},
    {"SQ_IN_DQ=\"single 'quotes' inside\"", "SQ_IN_DQ=single 'quotes' inside|"},
    {"EXPAND_NL=\"expand\\nnew\\nlines\"", "EXPAND_NL=expand\nnew\nlines|"},
    {"CR=\"a\\rb\"", "CR=a\rb|"},
    {"NO_NL=dont\\nexpand", "NO_NL=dont\\nexpand|"},
    {"NO_NL_SQ='dont\\nexpand'", "NO_NL_SQ=dont\\nexpand|"},
    {"INLINE=inline comments # work #very", "INLINE=inline comments|"},
    {"HASH=abc#def", "HASH=abc|"},
    {"IC_SQ='outside #single' # work", "IC_SQ=outside #single|"},
    {"IC_DQ=\"outside #double\" # work", "IC_DQ=outside #double|"},
    {"EQ=equals==", "EQ=equals==|"},
    {"JSON={\"foo\": \"bar\"}", "JSON={\"foo\": \"bar\"}|"},
    {"TRIM=    some spaced out string   ", "TRIM=some spaced out string|"},
    {"    SPACED_KEY = parsed", "SPACED_KEY=parsed|"},
    {"export EXPORTED=yes", "EXPORTED=yes|"},
    {"export  TABS\t=\tyes", "TABS=yes|"},
    {"export=1", "export=1|"},
    {"export =2", "export=2|"},
    {"COLON: value", "COLON=value|"},
    {"NOCOLON:value", ""},
    {"dotted.key-name=1", "dotted.key-name=1|"},
    {"MULTI=\"one\ntwo\nthree\"\nAFTER=1", "MULTI=one\ntwo\nthree|AFTER=1|"},
    {"MULTI_SQ='a\nb'", "MULTI_SQ=a\nb|"},
    {"MULTI_BT=`a\n\"b'\nc`", "MULTI_BT=a\n\"b'\nc|"},
    {"CRLF=a\r\nB=b\rC=c", "CRLF=a|B=b|C=c|"},
    {"MULTI_CRLF=\"x\r\ny\"", "MULTI_CRLF=x\ny|"},
    {"ESC_Q='it\\'s'", "ESC_Q=it\\'s|"},
    {"ESC_DQ=\"say \\\"hi\\\"\"", "ESC_DQ=say \\\"hi\\\"|"},
    {"UNCLOSED=\"abc\nNEXT=1", "UNCLOSED=\"abc|NEXT=1|"},
    {"TRAILING=\"a\" b", "TRAILING=\"a\" b|"},
    {"QUOTED_UNQ=\"a\"b\"", "QUOTED_UNQ=a\"b|"},
    {"not an assignment\n=novalue\nX=1", "X=1|"},
    {"#X=1\n  # Y=2", ""},
    {"K=1\nK=2", "K=1|K=2|"},
    {"NUL=a\0B=b", "NUL=a|B=b|"},
    {"", ""},
    {"K=\xc3\xa9t\xc3\xa9", "K=\xc3\xa9t\xc3\xa9|"},
    {"LEAD=   'quoted after blanks'", "LEAD=quoted after blanks|"},
};

TEST(parse_table) {
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    collected c = {.n = 0};
    c.out[0] = '\0';
    /* NUL-containing cases: measure to the table's terminating NUL. */
    const char *in = parse_cases[i].in;
    size_t len = strlen(in);
    if (!strncmp(in, "NUL=", 4))
      len = 9;
    CHECK_EQ_INT(cn__env_parse(in, len, collect, &c), 0);
    if (strcmp(c.out, parse_cases[i].want))
      fprintf(stderr, "case %zu: %s\n", i, in);
    CHECK_EQ_STR(c.out, parse_cases[i].want);
  }
}

static int stop_at_second(const char *k, size_t kl, const char *v, size_t vl,
                          void *ud) {
  int *n = ud;
  (void)k, (void)kl, (void)v, (void)vl;
  return ++*n == 2 ? 42 : 0;
}

TEST(parse_visit_stops) {
  int n = 0;
  CHECK_EQ_INT(cn__env_parse("A=1\nB=2\nC=3", 11, stop_at_second, &n), 42);
  CHECK_EQ_INT(n, 2);
}

/* ---------------------------------------------------------- expansion */

static const char *table_lookup(const char *name, void *ud) {
  (void)ud;
  static const char *const vars[][2] = {
      {"HOST", "example.com"}, {"PORT", "5432"}, {"EMPTY", ""},
      {"SELF", "$SELF"},       {"LOOP_A", "$LOOP_B"}, {"LOOP_B", "$LOOP_A"},
      {"NESTED", "${HOST}:${PORT}"}, {"DOLLAR", "\\$x"},
  };
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (!strcmp(vars[i][0], name))
      return vars[i][1];
  return NULL;
}

static const struct {
  const char *in, *want;
} expand_cases[] = {
    {"plain", "plain"},
    {"$HOST", "example.com"},
    {"${HOST}", "example.com"},
    {"db://$HOST:$PORT/x", "db://example.com:5432/x"},
    {"${HOST}${PORT}", "example.com5432"},
    {"$MISSING", ""},
    {"a${MISSING}b", "ab"},
    {"${MISSING:-fallback}", "fallback"},
    {"${MISSING-fallback}", "fallback"},
    {"${EMPTY:-fallback}", "fallback"},
    {"${HOST:-fallback}", "example.com"},
    {"${HOST:+alt}", "alt"},
    {"${HOST+alt}", "alt"},
    {"${MISSING:+alt}", ""},
    {"${EMPTY:+alt}", ""},
    /* Nested braces are not one reference: the inner one goes first. */
    {"${MISSING:-${HOST}}", "example.com"},
    {"${MISSING:-a-b}", "a-b"},
    {"\\$HOST", "$HOST"},
    {"\\${HOST}", "${HOST}"},
    {"cost: $5", "cost: $5"},
    {"$", "$"},
    {"${}", "${}"},
    {"${HOST", "${HOST"},
    {"$HOST.name", "example.com.name"},
    {"$HOST-x", "example.com-x"},
    {"$NESTED", "example.com:5432"},
    {"$SELF", ""},   /* a value that comes back takes the default */
    {"$LOOP_A", ""}, /* so does a cycle */
    {"${SELF:-d}", ""}, /* $SELF came back: its own (empty) default */
    {"$DOLLAR", "$x"},
};

TEST(expand_table) {
  for (size_t i = 0; i < sizeof expand_cases / sizeof expand_cases[0]; i++) {
    char *out = NULL;
    const char *in = expand_cases[i].in;
    CHECK_EQ_INT(cn__env_expand(in, strlen(in), table_lookup, NULL, &out), 0);
    if (!out || strcmp(out, expand_cases[i].want))
      fprintf(stderr, "case %zu: %s\n", i, in);
    CHECK_EQ_STR(out, expand_cases[i].want);
    cn__free(out);
  }
}

/* ------------------------------------------------------------- loading */

static char dir[64];

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static void make_dir(void) {
  strcpy(dir, "/tmp/cn-env-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  /* Each file names itself in W_<file>, and every file sets every key of
   * precedence so the winner is visible. */
  write_file(".env", "ALL=env\nBASE=env\nW_ENV=1\nREF=${ALL}\n");
  write_file(".env.local", "ALL=local\nW_LOCAL=1\n");
  write_file(".env.development", "ALL=development\nDEV=1\n");
  write_file(".env.production", "ALL=production\nPROD=1\n");
  write_file(".env.test", "ALL=test\nTESTF=1\n");
  write_file(".env.development.local", "ALL=development.local\n");
  write_file(".env.production.local", "ALL=production.local\n");
  write_file(".env.test.local", "ALL=test.local\n");
}

static void remove_dir(void) {
  static const char *const names[] = {
      ".env", ".env.local", ".env.development", ".env.production",
      ".env.test", ".env.development.local", ".env.production.local",
      ".env.test.local"};
  char path[256];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static const struct {
  const char *mode;
  const char *process; /* one "K=V" in the process environment, or NULL */
  const char *key, *want; /* want NULL: the files do not set key */
} precedence[] = {
    {"development", NULL, "ALL", "development.local"},
    {"production", NULL, "ALL", "production.local"},
    {"test", NULL, "ALL", "test.local"},
    {"development", "ALL=process", "ALL", NULL},
    {"production", "ALL=process", "ALL", NULL},
    {"test", "ALL=process", "ALL", NULL},
    {"development", NULL, "W_LOCAL", "1"},
    {"production", NULL, "W_LOCAL", "1"},
    {"test", NULL, "W_LOCAL", NULL}, /* .env.local is not read in tests */
    {"development", NULL, "DEV", "1"},
    {"development", NULL, "PROD", NULL},
    {"production", NULL, "PROD", "1"},
    {"production", NULL, "DEV", NULL},
    {"test", NULL, "TESTF", "1"},
    {"test", NULL, "DEV", NULL},
    {"development", NULL, "BASE", "env"},
    {"production", NULL, "W_ENV", "1"},
    /* A reference sees the winning value of higher-precedence files. */
    {"development", NULL, "REF", "development.local"},
    {"production", NULL, "REF", "production.local"},
    {"development", "ALL=process", "REF", "process"},
};

TEST(precedence_table) {
  make_dir();
  for (size_t i = 0; i < sizeof precedence / sizeof precedence[0]; i++) {
    char buf[64];
    char *env[2] = {NULL, NULL};
    if (precedence[i].process) {
      snprintf(buf, sizeof buf, "%s", precedence[i].process);
      env[0] = buf;
    }
    cn__env e = {0};
    CHECK_EQ_INT(cn__env_read(&e, dir, precedence[i].mode, env, NULL, 0), 0);
    const char *got = cn__env_get(&e, precedence[i].key);
    if (precedence[i].want)
      CHECK_EQ_STR(got, precedence[i].want);
    else
      CHECK(got == NULL);
    if ((got == NULL) != (precedence[i].want == NULL) ||
        (got && strcmp(got, precedence[i].want)))
      fprintf(stderr, "case %zu\n", i);
    cn__env_free(&e);
  }
  /* The files, highest first; the test mode has no .env.local. */
  cn__env e = {0};
  char *none[] = {NULL};
  CHECK_EQ_INT(cn__env_read(&e, dir, "test", none, NULL, 0), 0);
  CHECK_EQ_INT(e.nfiles, 3);
  CHECK_EQ_STR(e.files[0], ".env.test.local");
  CHECK_EQ_STR(e.files[1], ".env.test");
  CHECK_EQ_STR(e.files[2], ".env");
  cn__env_free(&e);
  remove_dir();
}

TEST(mode_from_environment) {
  char *plain[] = {"PATH=/bin", NULL};
  char *node_test[] = {"NODE_ENV=test", NULL};
  char *cairn_test[] = {"CAIRN_ENV=test", NULL};
  char *node_prod[] = {"NODE_ENV=production", NULL};
  CHECK_EQ_STR(cn__env_mode(1, plain), "development");
  CHECK_EQ_STR(cn__env_mode(0, plain), "production");
  CHECK_EQ_STR(cn__env_mode(1, node_test), "test");
  CHECK_EQ_STR(cn__env_mode(0, cairn_test), "test");
  /* NODE_ENV=production does not turn `cairn dev` into production. */
  CHECK_EQ_STR(cn__env_mode(1, node_prod), "development");
}

TEST(missing_and_unreadable) {
  cn__env e = {0};
  char *none[] = {NULL};
  char err[256];
  CHECK_EQ_INT(cn__env_read(&e, "/nonexistent-dir-cn", "production", none,
                            err, sizeof err),
               0);
  CHECK_EQ_INT(e.nvars, 0);
  CHECK_EQ_INT(e.nfiles, 0);
  cn__env_free(&e);
  /* A directory named .env cannot be read as a file. */
  strcpy(dir, "/tmp/cn-env-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/.env", dir);
  CHECK_EQ_INT(mkdir(path, 0700), 0);
  int rc = cn__env_read(&e, dir, "production", none, err, sizeof err);
  CHECK_EQ_INT(rc, CN_EIO);
  CHECK(strstr(err, "/.env: cannot read") != NULL);
  cn__env_free(&e);
  rmdir(path);
  rmdir(dir);
}

TEST(apply_never_replaces) {
  cn__env e = {0};
  setenv("CN_TEST_KEEP", "process", 1);
  unsetenv("CN_TEST_NEW");
  char k1[] = "CN_TEST_KEEP", v1[] = "file", k2[] = "CN_TEST_NEW", v2[] = "x";
  cn__env_var vars[2] = {{k1, v1}, {k2, v2}};
  e.vars = vars;
  e.nvars = 2;
  CHECK_EQ_INT(cn__env_apply(&e), 0);
  CHECK_EQ_STR(cn_env("CN_TEST_KEEP"), "process");
  CHECK_EQ_STR(cn_env("CN_TEST_NEW"), "x");
  CHECK(cn_env("CN_TEST_NEVER_SET_ANYWHERE") == NULL);
  CHECK(cn_env(NULL) == NULL);
  unsetenv("CN_TEST_KEEP");
  unsetenv("CN_TEST_NEW");
}

/* Every allocation failing in turn: CN_ENOMEM or success, never a crash or
 * a leak (the ASan build checks the leaks). */
TEST(allocation_failures) {
  make_dir();
  char *none[] = {NULL};
  int saw_nomem = 0, ok = 0;
  for (long n = 0; n < 400 && !ok; n++) {
    cn__env e = {0};
    cn__alloc_fail_after(n);
    int rc = cn__env_read(&e, dir, "development", none, NULL, 0);
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == CN_ENOMEM);
    saw_nomem |= rc == CN_ENOMEM;
    if (rc == 0) {
      ok = 1;
      CHECK_EQ_STR(cn__env_get(&e, "ALL"), "development.local");
    }
    cn__env_free(&e);
  }
  CHECK(saw_nomem);
  CHECK(ok);
  for (long n = 0; n < 40; n++) {
    char *out = NULL;
    cn__alloc_fail_after(n);
    int rc = cn__env_expand("a$HOST${PORT}", 13, table_lookup, NULL, &out);
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == CN_ENOMEM);
    CHECK((rc == 0) == (out != NULL));
    cn__free(out);
  }
  remove_dir();
}

int main(void) {
  RUN(parse_table);
  RUN(parse_visit_stops);
  RUN(expand_table);
  RUN(precedence_table);
  RUN(mode_from_environment);
  RUN(missing_and_unreadable);
  RUN(apply_never_replaces);
  RUN(allocation_failures);
  return check_summary();
}
