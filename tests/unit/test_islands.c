/* Islands (src/islands): props that cannot break out of their <script>,
 * module names and lookup order, content-hashed URLs. */
#include "check.h"
#include "islands/islands.h"

TEST(props_are_inert_json) {
  struct {
    const char *json, *want;
  } t[] = {
      {"{\"a\":\"</script><script>x()</script>\"}",
       "{\"a\":\"\\u003c/script\\u003e\\u003cscript\\u003ex()\\u003c/script\\u003e\"}"},
      {"{\"a\":\"<!-- &amp; -->\"}",
       "{\"a\":\"\\u003c!-- \\u0026amp; --\\u003e\"}"},
      {"{\"a\":\"x\\u2028y\\u2029z\"}", "{\"a\":\"x\\u2028y\\u2029z\"}"},
      {"{\"b\":1,\"a\":[true,null]}", "{\"a\":[true,null],\"b\":1}"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    json_t *v = json_loads(t[i].json, 0, NULL);
    cn__buf b = {0};
    CHECK_EQ_INT(cn__islands_props(v, &b), 0);
    cn__buf_append(&b, "", 1);
    CHECK_EQ_STR(b.ptr, t[i].want);
    /* and it reads back as the same value */
    json_t *back = json_loads(b.ptr, 0, NULL);
    CHECK(json_equal(back, v));
    json_decref(back);
    json_decref(v);
    cn__buf_free(&b);
  }
  cn__buf b = {0};
  CHECK_EQ_INT(cn__islands_props(NULL, &b), 0);
  CHECK_EQ_SLICE(cn__str(b.ptr, b.len), "{}");
  json_t *arr = json_array();
  CHECK_EQ_INT(cn__islands_props(arr, &b), CN_EINVAL);
  json_decref(arr);
  /* a value that contains itself: refused, and named */
  json_t *loop = json_object(), *props = json_pack("{s:i,s:O}", "a", 1,
                                                   "loop", loop);
  json_t *inner = json_object();
  json_object_set_new(loop, "inner", inner); /* jansson refuses a direct one */
  json_object_set(inner, "back", loop);
  CHECK_EQ_INT(cn__islands_props(props, &b), CN_EINVAL);
  CHECK_EQ_STR(cn__islands_bad_prop(props), "loop");
  json_object_del(inner, "back");
  CHECK(cn__islands_bad_prop(props) == NULL);
  json_decref(loop);
  json_decref(props);
  cn__buf_free(&b);
}

TEST(modules_names_and_lookup) {
  cn__islands is = {0};
  CHECK_EQ_INT(cn__islands_add(&is, "components/counter.client.js", "a", 1), 0);
  CHECK_EQ_INT(cn__islands_add(&is, "app/shop/counter.client.js", "b", 1), 0);
  CHECK_EQ_INT(cn__islands_add(&is, "app/chart.client.js", "c", 1), 0);
  CHECK_EQ_INT(cn__islands_add(&is, "lib/x.client.js", "d", 1), CN_EINVAL);
  CHECK_EQ_INT(cn__islands_add(&is, "components/a b.client.js", "d", 1),
               CN_EINVAL);
  CHECK_EQ_INT(cn__islands_add(&is, "components/.client.js", "d", 1),
               CN_EINVAL);
  CHECK_EQ_INT(cn__islands_add(&is, "components/x.js", "d", 1), CN_EINVAL);
  const cn__island_mod *m;
  m = cn__islands_find(&is, "app/shop/cart", CN_STR("counter"));
  CHECK(m && !strcmp(m->path, "app/shop/counter.client.js"));
  m = cn__islands_find(&is, "app/blog", CN_STR("counter"));
  CHECK(m && !strcmp(m->path, "components/counter.client.js"));
  m = cn__islands_find(&is, "app/blog/[slug]", CN_STR("chart"));
  CHECK(m && !strcmp(m->path, "app/chart.client.js"));
  CHECK(cn__islands_find(&is, "app", CN_STR("nosuch")) == NULL);
  /* the URL is the content's: same name, other text, other URL */
  const char *a = cn__islands_find(&is, "app", CN_STR("counter"))->url;
  const char *b = cn__islands_find(&is, "app/shop", CN_STR("counter"))->url;
  CHECK(strcmp(a, b) != 0);
  CHECK(!strncmp(a, "/_cairn/m/", 10) && strlen(a) == 10 + 16 + 11);
  /* the opening, with each strategy; an unknown one is refused */
  cn__buf out = {0};
  int preload = -1;
  CHECK_EQ_INT(cn__islands_open(&is, "app", CN_STR("counter.visible"), NULL,
                                &out, &m, &preload), 0);
  CHECK_EQ_INT(preload, 0);
  CHECK_EQ_INT(cn__islands_open(&is, "app", CN_STR("counter.idle"), NULL,
                                &out, &m, &preload), 0);
  CHECK_EQ_INT(preload, 1);
  CHECK_EQ_INT(cn__islands_open(&is, "app", CN_STR("counter.soon"), NULL,
                                &out, &m, &preload), CN_EINVAL);
  CHECK_EQ_INT(cn__islands_open(&is, "app", CN_STR("nosuch"), NULL, &out,
                                &m, &preload), CN_ENOENT);
  cn__buf_free(&out);
  cn__islands_free(&is);
}

int main(void) {
  RUN(props_are_inert_json);
  RUN(modules_names_and_lookup);
  return check_summary();
}
