/*
 * The Mustache specification, run straight from its JSON files
 * (shared/conformance/mustache-spec): every test of every required module,
 * counted per file. A test compiles its template and partials, renders the
 * data and must produce exactly the expected bytes.
 */
#include <jansson.h>
#include <stdio.h>

#include "check.h"
#include "template/template.h"

#define SPEC_DIR CN_SOURCE_DIR "/../shared/conformance/mustache-spec"
#define MAX_PARTIALS 32

typedef struct partials {
  size_t n;
  const char *names[MAX_PARTIALS];
  cn__tpl *tpls[MAX_PARTIALS];
} partials;

static const cn__tpl *lookup(void *ud, cn_str name) {
  partials *p = ud;
  for (size_t i = 0; i < p->n; i++)
    if (strlen(p->names[i]) == name.len &&
        memcmp(p->names[i], name.ptr, name.len) == 0)
      return p->tpls[i];
  return NULL;
}

static void show(const char *label, const char *s, size_t n) {
  fprintf(stderr, "    %s: \"", label);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\n')
      fputs("\\n", stderr);
    else if (ch == '\r')
      fputs("\\r", stderr);
    else if (ch == '\t')
      fputs("\\t", stderr);
    else if (ch < 32)
      fprintf(stderr, "\\x%02x", ch);
    else
      fputc(ch, stderr);
  }
  fputs("\"\n", stderr);
}

/* One spec test; 1 when it passes. Failures say why on stderr. */
static int run_one(const char *file, json_t *test) {
  const char *name = json_string_value(json_object_get(test, "name"));
  json_t *tmpl = json_object_get(test, "template");
  json_t *expected = json_object_get(test, "expected");
  json_t *data = json_object_get(test, "data");
  json_t *parts = json_object_get(test, "partials");
  partials p = {0};
  cn__tpl *t = NULL;
  cn__buf out = {0};
  cn__tpl_error err;
  int ok = 0;
  if (!name || !json_is_string(tmpl) || !json_is_string(expected)) {
    fprintf(stderr, "%s: malformed test\n", file);
    return 0;
  }
  const char *pname;
  json_t *psrc;
  json_object_foreach(parts, pname, psrc) {
    if (p.n == MAX_PARTIALS || !json_is_string(psrc))
      goto cleanup;
    p.names[p.n] = pname;
    if (cn__tpl_compile(pname, json_string_value(psrc),
                        json_string_length(psrc), &p.tpls[p.n], &err)) {
      fprintf(stderr, "%s: %s: partial %s: %d:%d: %s\n", file, name, pname,
              err.line, err.column, err.message);
      goto cleanup;
    }
    p.n++;
  }
  if (cn__tpl_compile(name, json_string_value(tmpl), json_string_length(tmpl),
                      &t, &err)) {
    fprintf(stderr, "%s: %s: compile: %d:%d: %s\n", file, name, err.line,
            err.column, err.message);
    goto cleanup;
  }
  cn__tpl_partials env = {.lookup = lookup, .ud = &p};
  if (cn__tpl_render(t, data, &env, &out, &err)) {
    fprintf(stderr, "%s: %s: render: %s\n", file, name, err.message);
    goto cleanup;
  }
  ok = out.len == json_string_length(expected) &&
       (out.len == 0 ||
        memcmp(out.ptr, json_string_value(expected), out.len) == 0);
  if (!ok) {
    fprintf(stderr, "%s: %s: wrong output\n", file, name);
    show("template", json_string_value(tmpl), json_string_length(tmpl));
    show("expected", json_string_value(expected),
         json_string_length(expected));
    show("got     ", out.ptr ? out.ptr : "", out.len);
  }
cleanup:
  for (size_t i = 0; i < p.n; i++)
    cn__tpl_free(p.tpls[i]);
  cn__tpl_free(t);
  cn__buf_free(&out);
  return ok;
}

static void spec(const char *file) {
  char path[512];
  json_error_t jerr;
  snprintf(path, sizeof path, "%s/%s", SPEC_DIR, file);
  json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  CHECK(root != NULL);
  if (!root) {
    fprintf(stderr, "%s: %s\n", path, jerr.text);
    return;
  }
  json_t *tests = json_object_get(root, "tests");
  size_t total = json_array_size(tests), passed = 0, i;
  json_t *test;
  json_array_foreach(tests, i, test) passed += (size_t)run_one(file, test);
  printf("%.*s: %zu/%zu\n", (int)(strlen(file) - 5), file, passed, total);
  CHECK(total > 0);
  CHECK_EQ_INT(passed, total);
  json_decref(root);
}

TEST(comments) { spec("comments.json"); }
TEST(delimiters) { spec("delimiters.json"); }
TEST(interpolation) { spec("interpolation.json"); }
TEST(inverted) { spec("inverted.json"); }
TEST(partials_) { spec("partials.json"); }
TEST(sections) { spec("sections.json"); }
TEST(inheritance) { spec("~inheritance.json"); }
TEST(dynamic_names) { spec("~dynamic-names.json"); }

int main(void) {
  RUN(comments);
  RUN(delimiters);
  RUN(interpolation);
  RUN(inverted);
  RUN(partials_);
  RUN(sections);
  RUN(inheritance);
  RUN(dynamic_names);
  return check_summary();
}
