/*
 * The template engine's own contract, beyond the Mustache spec (that is
 * test_template_spec.c): compile errors and their positions, escaping of
 * hostile values, number formatting, truthiness, lookups, the recursion and
 * work guards, allocation failures, span rendering for layouts and live
 * regions, the node API, and concurrent renders of one template.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "template/template.h"

/* --- helpers ------------------------------------------------------------ */

typedef struct named {
  const char *name;
  const char *src;
} named;

typedef struct env {
  size_t n;
  const char *names[8];
  cn__tpl *tpls[8];
} env;

static const cn__tpl *env_lookup(void *ud, cn_str name) {
  env *e = ud;
  for (size_t i = 0; i < e->n; i++)
    if (strlen(e->names[i]) == name.len &&
        memcmp(e->names[i], name.ptr, name.len) == 0)
      return e->tpls[i];
  return NULL;
}

static int env_init(env *e, const named *parts) {
  memset(e, 0, sizeof *e);
  for (; parts && parts->name; parts++) {
    e->names[e->n] = parts->name;
    if (cn__tpl_compile(parts->name, parts->src, strlen(parts->src),
                        &e->tpls[e->n], NULL))
      return -1;
    e->n++;
  }
  return 0;
}

static void env_free(env *e) {
  for (size_t i = 0; i < e->n; i++)
    cn__tpl_free(e->tpls[i]);
}

/* Render src against json with the given partials and limits. Returns the
 * render's code; *out (NUL-terminated, caller frees) holds what was written
 * (NULL when compile failed). */
static int render_full(const char *src, const char *json, const named *parts,
                       size_t max_output, uint64_t max_steps, char **out,
                       cn__tpl_error *err) {
  env e;
  cn__tpl *t = NULL;
  cn__buf buf = {0};
  json_t *data = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
  int rc = CN_EINVAL;
  *out = NULL;
  if ((json && !data) || env_init(&e, parts))
    goto cleanup;
  rc = cn__tpl_compile("test", src, strlen(src), &t, err);
  if (rc)
    goto cleanup;
  cn__tpl_partials pe = {.lookup = env_lookup, .ud = &e,
                         .max_output = max_output, .max_steps = max_steps};
  rc = cn__tpl_render(t, data, &pe, &buf, err);
  if (cn__buf_append(&buf, "", 1) == 0)
    *out = buf.ptr;
  else
    cn__buf_free(&buf);
cleanup:
  env_free(&e);
  cn__tpl_free(t);
  json_decref(data);
  return rc;
}

static char *render(const char *src, const char *json, const named *parts) {
  char *out;
  cn__tpl_error err;
  if (render_full(src, json, parts, 0, 0, &out, &err)) {
    fprintf(stderr, "render of \"%s\" failed: %s\n", src, err.message);
    free(out);
    return strdup("(render failed)");
  }
  return out;
}

typedef struct rcase {
  const char *src, *json, *want;
} rcase;

static void run_cases(const rcase *cases, size_t n, const named *parts) {
  for (size_t i = 0; i < n; i++) {
    char *got = render(cases[i].src, cases[i].json, parts);
    if (!got || strcmp(got, cases[i].want) != 0)
      fprintf(stderr, "  case %zu: %s with %s\n", i, cases[i].src,
              cases[i].json ? cases[i].json : "null");
    CHECK_EQ_STR(got, cases[i].want);
    free(got);
  }
}

/* --- compile errors ----------------------------------------------------- */

TEST(compile_errors) {
  static const struct {
    const char *src;
    int code;
    unsigned line, col;
    const char *msg;
  } cases[] = {
      {"{{#a}}x", CN_EPARSE, 1, 1, "unclosed {{#a}}"},
      {"a\n{{#a}}\n{{^b}}\n{{/b}}", CN_EPARSE, 2, 1, "unclosed {{#a}}"},
      {"x\n  {{#a}}{{/b}}", CN_EPARSE, 2, 9, "{{/b}} does not close {{#a}}"},
      {"{{<p}}{{$x}}{{/p}}{{/x}}", CN_EPARSE, 1, 13, "does not close {{$x}}"},
      {"{{/a}}", CN_EPARSE, 1, 1, "unexpected {{/a}}"},
      {"{{#a}}{{/a}}{{/a}}", CN_EPARSE, 1, 13, "unexpected"},
      {"ab {{name", CN_EPARSE, 1, 4, "unclosed tag"},
      {"{{{name}}", CN_EPARSE, 1, 1, "unclosed tag"},
      {"{{", CN_EPARSE, 1, 1, "unclosed tag"},
      {"{{=<% %>=}}\n <%a", CN_EPARSE, 2, 2, "no \"%>\""},
      {"{{=<%%>=}}", CN_EPARSE, 1, 1, "bad delimiter"},
      {"{{= <% =}}", CN_EPARSE, 1, 1, "bad delimiter"},
      {"{{=<% %> x=}}", CN_EPARSE, 1, 1, "bad delimiter"},
      {"{{=<= =>=}}", CN_EPARSE, 1, 1, "bad delimiter"},
      {"{{==}}", CN_EPARSE, 1, 1, "bad delimiter"},
      {"{{}}", CN_EPARSE, 1, 1, "empty tag name"},
      {"{{# }}{{/ }}", CN_EPARSE, 1, 1, "empty tag name"},
      {"{{>*}}", CN_EPARSE, 1, 1, "empty tag name"},
      {"{{a b}}", CN_EPARSE, 1, 1, "contains whitespace"},
      {"{{a..b}}", CN_EPARSE, 1, 1, "malformed dotted name"},
      {"{{.a}}", CN_EPARSE, 1, 1, "malformed dotted name"},
      {"{{#a.}}{{/a.}}", CN_EPARSE, 1, 1, "malformed dotted name"},
      {"{{!\n\n}}\n  {{/x}}", CN_EPARSE, 4, 3, "unexpected {{/x}}"},
      {"\xe2\x82\xac {{/x}}", CN_EPARSE, 1, 5, "unexpected"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__tpl *t = (cn__tpl *)&t; /* must be reset to NULL */
    cn__tpl_error err;
    int rc = cn__tpl_compile("page.html", cases[i].src,
                             strlen(cases[i].src), &t, &err);
    if (rc != cases[i].code || !strstr(err.message, cases[i].msg))
      fprintf(stderr, "  case %zu: %s -> %d %u:%u %s\n", i, cases[i].src, rc,
              err.line, err.column, err.message);
    CHECK_EQ_INT(rc, cases[i].code);
    CHECK_EQ_INT(err.code, cases[i].code);
    CHECK(t == NULL);
    CHECK_EQ_INT(err.line, cases[i].line);
    CHECK_EQ_INT(err.column, cases[i].col);
    CHECK(strstr(err.message, cases[i].msg) != NULL);
    CHECK_EQ_STR(err.name, "page.html");
  }
}

TEST(compile_limits) {
  /* 100 nested sections compile, 101 do not. */
  char src[2048];
  for (int depth = 100; depth <= 101; depth++) {
    size_t n = 0;
    for (int i = 0; i < depth; i++)
      n += (size_t)sprintf(src + n, "{{#a}}");
    for (int i = 0; i < depth; i++)
      n += (size_t)sprintf(src + n, "{{/a}}");
    cn__tpl *t = NULL;
    cn__tpl_error err;
    int rc = cn__tpl_compile(NULL, src, n, &t, &err);
    CHECK_EQ_INT(rc, depth == 100 ? 0 : CN_EPARSE);
    if (depth == 101)
      CHECK(strstr(err.message, "nested more than 100") != NULL);
    cn__tpl_free(t);
  }
  /* A long name is truncated, never overflowed. */
  char name[300];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = 0;
  cn__tpl *t = NULL;
  cn__tpl_error err;
  CHECK_EQ_INT(cn__tpl_compile(name, "{{#x}}", 6, &t, &err), CN_EPARSE);
  CHECK_EQ_INT(strlen(err.name), sizeof err.name - 1);
  /* NULL source with no length is the empty template; NUL bytes pass. */
  CHECK_EQ_INT(cn__tpl_compile(NULL, NULL, 0, &t, NULL), 0);
  CHECK_EQ_STR(cn__tpl_name(t), "");
  cn__buf out = {0};
  CHECK_EQ_INT(cn__tpl_render(t, NULL, NULL, &out, NULL), 0);
  CHECK_EQ_INT(out.len, 0);
  cn__tpl_free(t);
  CHECK_EQ_INT(cn__tpl_compile("z", "a\0b{{x}}\0", 9, &t, NULL), 0);
  json_t *d = json_pack("{s:s#}", "x", "<\0>", (size_t)3);
  CHECK_EQ_INT(cn__tpl_render(t, d, NULL, &out, NULL), 0);
  CHECK_EQ_INT(out.len, 13);
  CHECK(out.len == 13 && memcmp(out.ptr, "a\0b&lt;\0&gt;\0", 13) == 0);
  json_decref(d);
  cn__buf_free(&out);
  cn__tpl_free(t);
  CHECK_EQ_INT(cn__tpl_compile("x", NULL, 3, &t, &err), CN_EINVAL);
}

/* --- values --------------------------------------------------------------- */

TEST(escaping) {
  static const rcase cases[] = {
      {"{{v}}", "{\"v\":\"<script>alert('x')</script>\"}",
       "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
      {"<a title=\"{{v}}\">", "{\"v\":\"\\\" onmouseover=\\\"x\"}",
       "<a title=\"&quot; onmouseover=&quot;x\">"},
      {"<a title='{{v}}'>", "{\"v\":\"' autofocus='\"}",
       "<a title='&#39; autofocus=&#39;'>"},
      {"{{v}}", "{\"v\":\"&amp;\"}", "&amp;amp;"},
      {"{{v}}", "{\"v\":\"plain text, no specials\"}",
       "plain text, no specials"},
      {"{{v}}", "{\"v\":\"&&<<>>\"}", "&amp;&amp;&lt;&lt;&gt;&gt;"},
      {"{{v}}", "{\"v\":\"caf\\u00e9 \\u2603 `=\"}", "caf\xc3\xa9 \xe2\x98\x83 `="},
      {"{{{v}}}|{{&v}}", "{\"v\":\"<b>&\"}", "<b>&|<b>&"},
      {"{{v}}", "{\"v\":\"\"}", ""},
      {"{{#l}}{{.}}{{/l}}", "{\"l\":[\"<\",\">\"]}", "&lt;&gt;"},
  };
  run_cases(cases, CN__ARRAY_LEN(cases), NULL);
  /* Long runs of safe bytes around every special. */
  cn__buf out = {0};
  char in[3000];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = i % 100 == 99 ? "&<>\"'"[i / 100 % 5] : 'a';
  CHECK_EQ_INT(cn__tpl_escape(&out, in, sizeof in), 0);
  size_t specials = sizeof in / 100, grow = 0;
  for (size_t i = 0; i < specials; i++)
    grow += (size_t[]){4, 3, 3, 5, 4}[i % 5];
  CHECK_EQ_INT(out.len, sizeof in + grow);
  CHECK(out.len > 104 && memcmp(out.ptr + 99, "&amp;aaa", 8) == 0);
  cn__buf_free(&out);
}

TEST(numbers_and_scalars) {
  static const rcase cases[] = {
      {"{{v}}", "{\"v\":0}", "0"},
      {"{{v}}", "{\"v\":-5}", "-5"},
      {"{{v}}", "{\"v\":9007199254740993}", "9007199254740993"},
      {"{{v}}", "{\"v\":-9223372036854775808}", "-9223372036854775808"},
      {"{{v}}", "{\"v\":1.21}", "1.21"},
      {"{{v}}", "{\"v\":0.1}", "0.1"},
      {"{{v}}", "{\"v\":-2.5}", "-2.5"},
      {"{{v}}", "{\"v\":1.0}", "1"},
      {"{{v}}", "{\"v\":0.30000000000000004}", "0.30000000000000004"},
      {"{{v}}", "{\"v\":1e300}", "1e+300"},
      {"{{v}}", "{\"v\":true}", "true"},
      {"{{v}}", "{\"v\":false}", "false"},
      {"[{{v}}]", "{\"v\":null}", "[]"},
      {"[{{v}}]", "{\"v\":{\"a\":1}}", "[]"},
      {"[{{v}}]", "{\"v\":[1,2]}", "[]"},
      {"[{{v}}]", "{}", "[]"},
      {"[{{.}}]", "42", "[42]"},
      {"[{{v}}]", NULL, "[]"},
  };
  run_cases(cases, CN__ARRAY_LEN(cases), NULL);
}

/* Reals print as the shortest %g text that reads back the same, whatever
 * path the renderer takes: compare with that definition on many values. */
TEST(reals_match_shortest_g) {
  cn__tpl *t;
  CHECK_EQ_INT(cn__tpl_compile("r", "{{v}}", 5, &t, NULL), 0);
  unsigned long long seed = 88172645463325252ULL;
  int bad = 0;
  for (int i = 0; i < 20000 && bad < 5; i++) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    double d;
    switch (i % 5) {
    case 0: d = (double)(long long)(seed % 2000001) / 100 - 10000; break;
    case 1: d = (double)(long long)(seed % 200000001) / 10000 - 10000; break;
    case 2: d = (double)(seed >> 11) / 9007199254740992.0 * 1e6; break;
    case 3: d = (double)(long long)(seed % 1000000000000000ULL) / 1000; break;
    default: memcpy(&d, &seed, sizeof d); break;
    }
    if (d != d || d - d != 0) /* NaN and infinities are not JSON */
      continue;
    char want[40];
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(want, sizeof want, "%.*g", prec, d);
      if (strtod(want, NULL) == d)
        break;
    }
    json_t *data = json_pack("{s:f}", "v", d);
    cn__buf out = {0};
    CHECK_EQ_INT(cn__tpl_render(t, data, NULL, &out, NULL), 0);
    CHECK_EQ_INT(cn__buf_append(&out, "", 1), 0);
    if (strcmp(out.ptr, want) != 0) {
      fprintf(stderr, "  %.17g: got %s want %s\n", d, out.ptr, want);
      bad++;
    }
    cn__buf_free(&out);
    json_decref(data);
  }
  CHECK_EQ_INT(bad, 0);
  cn__tpl_free(t);
}

TEST(truthiness) {
  static const struct {
    const char *v, *want;
  } cases[] = {
      {"\"\"", "N"},   {"\"0\"", "Y"},  {"0", "N"},     {"0.0", "N"},
      {"-1", "Y"},     {"0.5", "Y"},    {"[]", "N"},    {"[0]", "Y"},
      {"[1,2]", "YY"}, {"{}", "Y"},     {"null", "N"},  {"false", "N"},
      {"true", "Y"},   {"\"x\"", "Y"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"v\":%s}", cases[i].v);
    char *got = render("{{#v}}Y{{/v}}{{^v}}N{{/v}}", json, NULL);
    if (strcmp(got, cases[i].want) != 0)
      fprintf(stderr, "  case %s\n", cases[i].v);
    CHECK_EQ_STR(got, cases[i].want);
    free(got);
  }
  char *got = render("{{#v}}Y{{/v}}{{^v}}N{{/v}}", "{}", NULL);
  CHECK_EQ_STR(got, "N");
  free(got);
}

TEST(lookups) {
  static const rcase cases[] = {
      {"{{items.1.name}}", "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
       "b"},
      {"[{{items.2.name}}{{items.x}}{{items.-1}}]",
       "{\"items\":[{\"name\":\"a\"}]}", "[]"},
      {"[{{items.99999999999}}]", "{\"items\":[1]}", "[]"},
      {"{{#a}}{{b}}-{{c}}{{/a}}", "{\"a\":{\"b\":1},\"c\":2}", "1-2"},
      {"{{#a}}{{#b}}{{x}}{{/b}}{{/a}}",
       "{\"x\":0,\"a\":{\"x\":1,\"b\":{\"y\":2}}}", "1"},
      {"[{{a.b}}]", "{\"a\":\"str\"}", "[]"},
      {"{{#l}}{{.}},{{/l}}", "{\"l\":[1,\"two\",3.5,true]}", "1,two,3.5,true,"},
      {"{{#l}}{{n}}{{/l}}", "{\"n\":\"outer\",\"l\":[{},{\"n\":1}]}",
       "outer1"},
      {"{{#a.b}}{{c}}{{/a.b}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep"},
      {"[{{#s}}{{.}}{{/s}}]", "{\"s\":\"abc\"}", "[abc]"},
      /* `true` pushes nothing: "." is still the root object (renders as
       * nothing), and the name still finds the boolean. */
      {"[{{#t}}{{.}}{{/t}}]", "{\"t\":true}", "[]"},
      {"[{{#t}}{{t}}{{/t}}]", "{\"t\":true}", "[true]"},
  };
  run_cases(cases, CN__ARRAY_LEN(cases), NULL);
}

/* --- partials, indentation, inheritance -------------------------------- */

TEST(partials_and_indentation) {
  static const named parts[] = {
      {"a", "x\n  {{>b}}\ny\n"},
      {"b", "B1\nB2\n"},
      {"empty", ""},
      {"data", "<{{{v}}}>\n"},
      {"layout", "<main>\n  {{$body}}\n  default\n  {{/body}}\n</main>\n"},
      {NULL, NULL},
  };
  static const rcase cases[] = {
      {"  {{>a}}\n", "{}", "  x\n    B1\n    B2\n  y\n"},
      {"a\n  {{>empty}}\nb", "{}", "a\nb"},
      {"a\n  {{>missing}}\nb", "{}", "a\nb"},
      {"[{{>missing}}]", "{}", "[]"},
      {"  {{>data}}\n", "{\"v\":\"1\\n2\"}", "  <1\n2>\n"},
      {"[{{>*p}}]", "{\"p\":5}", "[]"},
      {"[{{>*p}}]", "{\"p\":\"b\"}", "[B1\nB2\n]"},
      {"{{<layout}}\n{{$body}}\n    <p>{{t}}</p>\n    <p>2</p>\n{{/body}}\n"
       "{{/layout}}\n",
       "{\"t\":\"<hi>\"}",
       "<main>\n  <p>&lt;hi&gt;</p>\n  <p>2</p>\n</main>\n"},
      {"{{<layout}}{{/layout}}", "{}", "<main>\n  default\n</main>\n"},
  };
  run_cases(cases, CN__ARRAY_LEN(cases), parts);
  /* No partials at all: every partial is empty. */
  char *got = render("[{{>a}}{{<a}}{{/a}}]", "{}", NULL);
  CHECK_EQ_STR(got, "[]");
  free(got);
}

TEST(recursion_guard) {
  static const struct {
    const char *root;
    named parts[2];
    const char *msg;
  } cases[] = {
      {"{{>self}}", {{"self", "x{{>self}}"}, {NULL, NULL}}, "nested more than 100"},
      {"{{<self}}{{/self}}", {{"self", "{{<self}}{{/self}}"}, {NULL, NULL}},
       "nested more than 100"},
      {"{{>*n}}", {{"self", "{{>*n}}"}, {NULL, NULL}}, "nested more than 100"},
      {"{{>p}}",
       {{"p", "{{#t}}{{#t}}{{^f}}{{>p}}{{/f}}{{/t}}{{/t}}"}, {NULL, NULL}},
       "nested too deep"},
      {"{{<p}}{{$a}}{{$a}}x{{/a}}{{/a}}{{/p}}", {{"p", "{{$a}}{{/a}}"}, {NULL, NULL}},
       "nested too deep"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    char *out;
    cn__tpl_error err;
    int rc = render_full(cases[i].root, "{\"n\":\"self\",\"t\":{}}",
                         cases[i].parts, 0, 0, &out, &err);
    if (rc != CN_ETOOBIG || !strstr(err.message, cases[i].msg))
      fprintf(stderr, "  case %zu: %d %s\n", i, rc, err.message);
    CHECK_EQ_INT(rc, CN_ETOOBIG);
    CHECK_EQ_INT(err.code, CN_ETOOBIG);
    CHECK(strstr(err.message, cases[i].msg) != NULL);
    CHECK(err.line >= 1);
    free(out);
  }
  /* Fan-out is bounded by the step budget, output by the output budget. */
  static const named fan[] = {{"a", "{{>a}}{{>a}}"}, {NULL, NULL}};
  char *out;
  cn__tpl_error err;
  CHECK_EQ_INT(render_full("{{>a}}", "{}", fan, 0, 5000, &out, &err),
               CN_ETOOBIG);
  free(out);
  char list[512] = "{\"l\":[0";
  for (int i = 1; i < 100; i++)
    sprintf(list + strlen(list), ",%d", i);
  strcat(list, "]}");
  CHECK_EQ_INT(render_full("{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}", list, NULL,
                           0, 5000, &out, &err),
               CN_ETOOBIG);
  CHECK(strstr(err.message, "steps") != NULL);
  CHECK(out && strlen(out) < 5000);
  free(out);
  CHECK_EQ_INT(render_full("{{#l}}0123456789{{/l}}", "{\"l\":[1,2,3,4,5,6]}",
                           NULL, 50, 0, &out, &err),
               CN_ETOOBIG);
  CHECK(strstr(err.message, "output") != NULL);
  free(out);
  CHECK_EQ_INT(render_full("{{#l}}0123456789{{/l}}", "{\"l\":[1,2,3,4,5]}",
                           NULL, 50, 0, &out, &err),
               0);
  free(out);
}

/* --- allocation failures ----------------------------------------------- */

TEST(out_of_memory) {
  const char *src = "<ul>\n{{#items}}\n  <li>{{name}} {{>p}}</li>\n"
                    "{{/items}}\n</ul>{{! c }}{{=<% %>=}}<%x%>";
  static const named parts[] = {{"p", "[{{n}}]"}, {NULL, NULL}};
  json_t *data = json_loads("{\"x\":\"&\",\"items\":[{\"name\":\"a\",\"n\":1},"
                            "{\"name\":\"<b>\",\"n\":2}]}",
                            0, NULL);
  env e;
  CHECK_EQ_INT(env_init(&e, parts), 0);
  cn__tpl_partials pe = {.lookup = env_lookup, .ud = &e};
  const char *want = "<ul>\n  <li>a [1]</li>\n  <li>&lt;b&gt; [2]</li>\n"
                     "</ul>&amp;";
  cn__tpl *t = NULL;
  int failures = 0, rc;
  for (long k = 0;; k++) {
    cn__tpl_error err;
    cn__alloc_fail_after(k);
    rc = cn__tpl_compile("oom", src, strlen(src), &t, &err);
    cn__alloc_fail_after(-1);
    if (rc == 0)
      break;
    CHECK_EQ_INT(rc, CN_ENOMEM);
    CHECK_EQ_INT(err.code, CN_ENOMEM);
    CHECK(t == NULL);
    failures++;
    if (k > 1000)
      break;
  }
  CHECK(failures >= 1);
  CHECK(t != NULL);
  failures = 0;
  for (long k = 0; t; k++) {
    cn__buf out = {0};
    cn__tpl_error err;
    cn__alloc_fail_after(k);
    rc = cn__tpl_render(t, data, &pe, &out, &err);
    cn__alloc_fail_after(-1);
    if (rc == 0) {
      CHECK(out.len == strlen(want) && memcmp(out.ptr, want, out.len) == 0);
      cn__buf_free(&out);
      break;
    }
    CHECK_EQ_INT(rc, CN_ENOMEM);
    CHECK_EQ_INT(err.code, CN_ENOMEM);
    failures++;
    cn__buf_free(&out);
    if (k > 1000)
      break;
  }
  CHECK(failures >= 1);
  cn__tpl_free(t);
  env_free(&e);
  json_decref(data);
}

/* --- the addressable tree ----------------------------------------------- */

TEST(node_api) {
  cn__tpl *t;
  const char *src = "a{{#s}}b\n  {{x.y}}{{/s}}{{>p}}c";
  CHECK_EQ_INT(cn__tpl_compile("n", src, strlen(src), &t, NULL), 0);
  uint32_t count;
  const cn__tpl_node *n = cn__tpl_nodes(t, &count);
  static const struct {
    int kind;
    uint32_t end, line, col;
    const char *text;
  } want[] = {
      {CN__TPL_TEXT, 1, 0, 0, "a"},     {CN__TPL_SECTION, 4, 1, 2, "s"},
      {CN__TPL_TEXT, 3, 0, 0, "b\n  "}, {CN__TPL_VAR, 4, 2, 3, "x.y"},
      {CN__TPL_PARTIAL, 5, 2, 16, "p"}, {CN__TPL_TEXT, 6, 0, 0, "c"},
  };
  CHECK_EQ_INT(count, CN__ARRAY_LEN(want));
  for (uint32_t i = 0; i < count && i < CN__ARRAY_LEN(want); i++) {
    CHECK_EQ_INT(n[i].kind, want[i].kind);
    CHECK_EQ_INT(n[i].end, want[i].end);
    CHECK_EQ_INT(n[i].line, want[i].line);
    CHECK_EQ_INT(n[i].col, want[i].col);
    CHECK_EQ_SLICE(cn__tpl_node_text(t, &n[i]), want[i].text);
  }
  CHECK_EQ_INT(n[3].nparts, 2);
  uint32_t idx = 99;
  CHECK_EQ_INT(cn__tpl_find(t, 0, CN__TPL_VAR, CN_STR("x.y"), &idx), 0);
  CHECK_EQ_INT(idx, 3);
  CHECK_EQ_INT(cn__tpl_find(t, 4, CN__TPL_VAR, CN_STR("x.y"), &idx),
               CN_ENOENT);
  CHECK_EQ_INT(cn__tpl_find(t, 0, CN__TPL_RAW, CN_STR("x.y"), &idx),
               CN_ENOENT);
  cn__tpl_free(t);
}

TEST(render_spans) {
  const char *src = "<html>{{#user}}<b>{{name}}</b>{{/user}}<body>"
                    "{{{children}}}</body>{{#foot}}<f>{{.}}</f>{{/foot}}"
                    "</html>";
  cn__tpl *t;
  CHECK_EQ_INT(cn__tpl_compile("layout", src, strlen(src), &t, NULL), 0);
  json_t *data = json_loads("{\"user\":{\"name\":\"<me>\"},\"foot\":[1,2],"
                            "\"children\":\"<p>page</p>\"}",
                            0, NULL);
  uint32_t count, k;
  cn__tpl_nodes(t, &count);
  CHECK_EQ_INT(cn__tpl_find(t, 0, CN__TPL_RAW, CN_STR("children"), &k), 0);
  /* Split at {{{children}}}: shell, then the page, then the rest. */
  cn__buf whole = {0}, split = {0};
  const json_t *stack[1] = {data};
  CHECK_EQ_INT(cn__tpl_render(t, data, NULL, &whole, NULL), 0);
  CHECK_EQ_INT(cn__tpl_render_span(t, 0, k, stack, 1, NULL, &split, NULL), 0);
  CHECK_EQ_INT(cn__buf_append(&split, "<p>page</p>", 11), 0);
  CHECK_EQ_INT(
      cn__tpl_render_span(t, k + 1, count, stack, 1, NULL, &split, NULL), 0);
  CHECK(whole.len == split.len && memcmp(whole.ptr, split.ptr, whole.len) == 0);
  CHECK(whole.len > 0 &&
        strstr(whole.ptr, "<b>&lt;me&gt;</b><body><p>page</p></body>") != NULL);
  /* A live region: the footer section alone, with new data. */
  uint32_t f;
  CHECK_EQ_INT(cn__tpl_find(t, 0, CN__TPL_SECTION, CN_STR("foot"), &f), 0);
  json_t *fresh = json_loads("{\"foot\":[\"x\",\"<y>\"]}", 0, NULL);
  const json_t *fs[1] = {fresh};
  cn__buf live = {0};
  CHECK_EQ_INT(cn__tpl_render_span(t, f, cn__tpl_nodes(t, NULL)[f].end, fs, 1,
                                   NULL, &live, NULL),
               0);
  CHECK_EQ_INT(cn__buf_append(&live, "", 1), 0);
  CHECK_EQ_STR(live.ptr, "<f>x</f><f>&lt;y&gt;</f>");
  /* The section's children alone, with the item as the top of the stack. */
  live.len = 0;
  json_t *item = json_string("z");
  const json_t *two[2] = {fresh, item};
  CHECK_EQ_INT(cn__tpl_render_span(t, f + 1, cn__tpl_nodes(t, NULL)[f].end,
                                   two, 2, NULL, &live, NULL),
               0);
  CHECK_EQ_INT(cn__buf_append(&live, "", 1), 0);
  CHECK_EQ_STR(live.ptr, "<f>z</f>");
  /* Spans that are not runs of siblings, and bad arguments. */
  uint32_t u;
  CHECK_EQ_INT(cn__tpl_find(t, 0, CN__TPL_SECTION, CN_STR("user"), &u), 0);
  static const json_t *const none[65];
  struct {
    uint32_t from, to;
    size_t nstack;
  } bad[] = {
      {u + 1, k, 1},       /* from inside a section to outside */
      {u, u + 2, 1},       /* cuts the section */
      {2, 1, 1},           /* reversed */
      {0, count + 1, 1},   /* past the end */
      {0, count, 65},      /* stack too deep */
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(bad); i++) {
    cn__tpl_error err;
    CHECK_EQ_INT(cn__tpl_render_span(t, bad[i].from, bad[i].to,
                                     bad[i].nstack == 1 ? stack : none,
                                     bad[i].nstack, NULL, &live, &err),
                 CN_EINVAL);
    CHECK_EQ_INT(err.code, CN_EINVAL);
  }
  cn__buf empty = {0};
  CHECK_EQ_INT(cn__tpl_render_span(t, k, k, stack, 1, NULL, &empty, NULL), 0);
  CHECK_EQ_INT(empty.len, 0);
  json_decref(item);
  json_decref(fresh);
  json_decref(data);
  cn__buf_free(&whole);
  cn__buf_free(&split);
  cn__buf_free(&live);
  cn__tpl_free(t);
}

/* --- threads ------------------------------------------------------------ */

typedef struct job {
  const cn__tpl *t;
  const json_t *data;
  cn__tpl_partials *env;
  const char *want;
  int bad;
} job;

static void *worker(void *arg) {
  job *j = arg;
  cn__buf out = {0};
  for (int i = 0; i < 500; i++) {
    out.len = 0;
    if (cn__tpl_render(j->t, j->data, j->env, &out, NULL) != 0 ||
        out.len != strlen(j->want) || memcmp(out.ptr, j->want, out.len) != 0)
      j->bad++;
  }
  cn__buf_free(&out);
  return NULL;
}

TEST(concurrent_renders) {
  static const named parts[] = {
      {"item", "  <li class=\"{{cls}}\">{{name}}</li>\n"}, {NULL, NULL}};
  env e;
  CHECK_EQ_INT(env_init(&e, parts), 0);
  cn__tpl_partials pe = {.lookup = env_lookup, .ud = &e};
  const char *src = "<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n";
  cn__tpl *t;
  CHECK_EQ_INT(cn__tpl_compile("list", src, strlen(src), &t, NULL), 0);
  json_t *data = json_loads("{\"cls\":\"c\",\"items\":[{\"name\":\"a\"},"
                            "{\"name\":\"<b>\",\"cls\":\"x\\\"y\"}]}",
                            0, NULL);
  const char *want = "<ul>\n    <li class=\"c\">a</li>\n"
                     "    <li class=\"x&quot;y\">&lt;b&gt;</li>\n</ul>\n";
  job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (job){t, data, &pe, want, 0};
    CHECK_EQ_INT(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ_INT(jobs[i].bad, 0);
  }
  json_decref(data);
  cn__tpl_free(t);
  env_free(&e);
}

int main(void) {
  RUN(compile_errors);
  RUN(compile_limits);
  RUN(escaping);
  RUN(numbers_and_scalars);
  RUN(reals_match_shortest_g);
  RUN(truthiness);
  RUN(lookups);
  RUN(partials_and_indentation);
  RUN(recursion_guard);
  RUN(out_of_memory);
  RUN(node_api);
  RUN(render_spans);
  RUN(concurrent_renders);
  return check_summary();
}
