/* Taint (src/taint): values found raw and as cairn's encoders write them,
 * the environment's rules, tainted objects and their copies. */
#include "check.h"
#include "islands/islands.h"
#include "taint/taint.h"
#include "template/template.h"

static int found_in(const char *text, cn__taint_hit *hit) {
  return cn__taint_find(text, strlen(text), hit);
}

TEST(values_found_however_written) {
  cn__taint_reset();
  cn__taint_hit hit = {0};
  CHECK(!found_in("anything at all", &hit)); /* nothing tainted: no scan */
  const char *v = "k3y<&>\"/\xe2\x80\xa8tail";
  CHECK_EQ_INT(cn_taint_value("the key", v), 0);
  CHECK_EQ_INT(cn_taint_value("again", v), 0); /* the first message stays */
  char page[256];
  snprintf(page, sizeof page, "<p>%s</p>", v);
  CHECK(found_in(page, &hit));
  CHECK_EQ_STR(hit.what, "the key");
  /* as a template escapes it */
  cn__buf b = {0};
  cn__buf_appendf(&b, "<p>");
  cn__tpl_escape(&b, v, strlen(v));
  cn__buf_append(&b, "</p>", 5);
  CHECK(found_in(b.ptr, &hit));
  /* as JSON, with and without "/" escaped, and as island props */
  json_t *o = json_pack("{s:s}", "x", v);
  for (int flags = 0; flags < 2; flags++) {
    b.len = 0;
    CHECK_EQ_INT(cn__json_write(&b, o, flags ? CN__JSON_ESCAPE_SLASH : 0), 0);
    CHECK(cn__taint_find(b.ptr, b.len, &hit));
  }
  b.len = 0;
  CHECK_EQ_INT(cn__islands_props(o, &b), 0);
  CHECK(cn__taint_find(b.ptr, b.len, &hit));
  CHECK(cn__taint_json(o, &hit));
  /* the HTML-escaped text inside a JSON string (a live region's HTML) */
  b.len = 0;
  cn__tpl_escape(&b, v, strlen(v));
  json_t *h = json_stringn(b.ptr, b.len);
  CHECK(cn__taint_json(h, &hit));
  json_decref(h);
  json_decref(o);
  cn__buf_free(&b);
  /* a part of it is not it; neither is a near miss at the end */
  CHECK(!found_in("k3y<&>", &hit));
  CHECK(!found_in("k3y<&>\"/\xe2\x80\xa8tai", &hit));
  CHECK_EQ_INT(cn_taint_value("short", "abc"), CN_EINVAL);
  CHECK_EQ_INT(cn_taint_value("none", NULL), CN_EINVAL);
  cn__taint_reset();
  CHECK(!found_in(page, &hit));
}

TEST(environment_rules) {
  cn__taint_reset();
  char *env[] = {"SECRET_TOKEN=tok-1234567890",
                 "CN_PUBLIC_NAME=a public name",
                 "PATH=/usr/local/bin:/usr/bin",
                 "LC_ALL=en_US.UTF-8",
                 "SHORT=1234567",
                 "DATABASE_URL=postgres://u:pw@db/app",
                 "EMPTY=",
                 "NOEQUALS",
                 NULL};
  CHECK_EQ_INT(cn__taint_env(env), 0);
  cn__taint_hit hit = {0};
  CHECK(found_in("x tok-1234567890 y", &hit));
  CHECK_EQ_STR(hit.what, "the environment variable SECRET_TOKEN");
  CHECK(found_in("{\"u\":\"postgres:\\/\\/u:pw@db\\/app\"}", &hit));
  CHECK_EQ_STR(hit.what, "the environment variable DATABASE_URL");
  CHECK(!found_in("a public name", &hit));
  CHECK(!found_in("/usr/local/bin:/usr/bin en_US.UTF-8 1234567", &hit));
  CHECK(cn__taint_env_watched("GITHUB_TOKEN", 12));
  CHECK(!cn__taint_env_watched("CN_PUBLIC_X", 11));
  CHECK(!cn__taint_env_watched("XDG_RUNTIME_DIR", 15));
  CHECK(cn__taint_env_watched("PATHS", 5));
  cn__taint_reset();
}

TEST(objects_and_their_copies) {
  cn__taint_reset();
  json_t *user = json_pack("{s:s}", "name", "Ada");
  CHECK_EQ_INT(cn_taint_object(user, "the user's record"), 0);
  cn__taint_hit hit = {0};
  json_t *props = json_pack("{s:O}", "user", user);
  CHECK(cn__taint_json(props, &hit));
  CHECK_EQ_STR(hit.what, "an object tainted: the user's record");
  json_t *copy = json_deep_copy(user);
  CHECK(cn__taint_json(copy, &hit));
  /* its fields alone are not the object */
  json_t *field = json_pack("{s:O}", "name", json_object_get(user, "name"));
  CHECK(!cn__taint_json(field, &hit));
  json_t *arr = json_array();
  CHECK_EQ_INT(cn_taint_object(arr, "x"), CN_EINVAL);
  json_decref(arr);
  json_decref(field);
  json_decref(copy);
  json_decref(props);
  json_decref(user);
  /* the mark outlives a reset: the object still carries it */
  cn__taint_reset();
  json_t *again = json_pack("{s:s}", "name", "Bob");
  CHECK_EQ_INT(cn_taint_object(again, NULL), 0);
  CHECK(cn__taint_json(again, &hit));
  CHECK_EQ_STR(hit.what, "an object tainted: an object tainted by the app");
  json_decref(again);
  char msg[400];
  cn__taint_describe(&hit, "the rendered page", msg, sizeof msg);
  CHECK_EQ_STR(msg, "a server-only value (an object tainted: an object "
                    "tainted by the app) would reach the browser in the "
                    "rendered page");
  cn__taint_reset();
}

/* The scan looks at one pair of bytes in every (shortest - 1): a needle
 * is found wherever it stands, at the start, at the end, across each
 * alignment, and a copy with one byte changed is not. */
TEST(found_at_every_offset) {
  cn__taint_reset();
  CHECK_EQ_INT(cn_taint_value("short", "wxyz"), 0);
  CHECK_EQ_INT(cn_taint_value("long", "0123456789-ABCDEFGHIJ"), 0);
  const char *vals[] = {"wxyz", "0123456789-ABCDEFGHIJ"};
  cn__taint_hit hit;
  for (size_t v = 0; v < 2; v++) {
    size_t len = strlen(vals[v]);
    for (size_t at = 0; at <= 40; at++) {
      char buf[80];
      memset(buf, '.', sizeof buf);
      memcpy(buf + at, vals[v], len);
      CHECK(cn__taint_find(buf, at + len, &hit)); /* ending the text */
      CHECK(cn__taint_find(buf, sizeof buf, &hit));
      CHECK_EQ_STR(hit.what, v ? "long" : "short");
      buf[at + len - 1] ^= 1;
      CHECK(!cn__taint_find(buf, sizeof buf, &hit));
      CHECK(!cn__taint_find(buf, at + len - 1, &hit)); /* cut short */
    }
  }
  cn__taint_reset();
}

int main(void) {
  RUN(values_found_however_written);
  RUN(environment_rules);
  RUN(objects_and_their_copies);
  RUN(found_at_every_offset);
  cn__taint_reset();
  return check_summary();
}
