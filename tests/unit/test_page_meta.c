/*
 * Page metadata (src/page/meta.c): levels merged root to leaf as Next.js
 * merges them, written into <head> escaped and in a fixed order, and the
 * head put into the rendered page. Every case is a table row; the last
 * tests make every allocation fail in turn.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "page/meta.h"

/* One level: static fields and a generate_metadata result (JSON text, or
 * NULL for none). */
typedef struct level {
  cn_metadata st;
  const char *gen;
} level;

#define MAXLV 4

/* Merge lv[0..n) and write the head; returns the written text without the
 * charset/viewport defaults (checked to be there) in a static buffer, or
 * "ERR <rc>". */
static const char *merged(const level *lv, size_t n, int noindex) {
  static char text[4096];
  cn__arena arena;
  cn__meta m;
  cn__buf o = {0};
  int rc = 0;
  cn__arena_init(&arena, NULL, 0);
  cn__meta_init(&m);
  for (size_t i = 0; !rc && i < n; i++) {
    json_t *g = lv[i].gen ? json_loads(lv[i].gen, 0, NULL) : NULL;
    if (lv[i].gen && !g) {
      snprintf(text, sizeof text, "BAD JSON %s", lv[i].gen);
      cn__arena_destroy(&arena);
      return text;
    }
    rc = cn__meta_level(&m, &lv[i].st, g, &arena);
    json_decref(g); /* copies are in the arena: the JSON may go */
  }
  if (!rc)
    rc = cn__meta_write(&m, noindex, &o);
  size_t d = strlen(CN__META_DEFAULTS);
  if (rc)
    snprintf(text, sizeof text, "ERR %d", rc);
  else if (o.len < d || memcmp(o.ptr, CN__META_DEFAULTS, d))
    snprintf(text, sizeof text, "NO DEFAULTS %.*s", (int)o.len, o.ptr);
  else
    snprintf(text, sizeof text, "%.*s", (int)(o.len - d), o.ptr + d);
  cn__buf_free(&o);
  cn__arena_destroy(&arena);
  return text;
}

#define T(x) "<title>" x "</title>"
#define DESC(x) "<meta name=\"description\" content=\"" x "\">"
#define OG(p, x) "<meta property=\"og:" p "\" content=\"" x "\">"

static const struct {
  const char *name;
  level lv[MAXLV];
  size_t n;
  const char *want;
} merge_cases[] = {
    {"template applies to the child's title",
     {{{.title = "Site", .title_template = "%s | Site"}, NULL},
      {{.title = "Post"}, NULL}},
     2, T("Post | Site")},
    {"not to the same level's own title (it is the default)",
     {{{.title = "Site", .title_template = "%s | Site"}, NULL}}, 1, T("Site")},
    {"the default holds when the child has no title",
     {{{.title = "Site", .title_template = "%s | Site"}, NULL},
      {{.description = "d"}, NULL}},
     2, T("Site") DESC("d")},
    {"a page's own template does not apply to its own title",
     {{{.title = "P", .title_template = "%s | Self"}, NULL}}, 1, T("P")},
    {"title_absolute ignores the template",
     {{{.title_template = "%s | Site"}, NULL},
      {{.title = "Post", .title_absolute = "Abs"}, NULL}},
     2, T("Abs")},
    {"title_absolute from generate_metadata too",
     {{{.title_template = "%s | Site"}, NULL},
      {{.title = "Post"}, "{\"title_absolute\":\"G\"}"}},
     2, T("G")},
    {"a deeper template replaces a shallower one",
     {{{.title_template = "%s | Root"}, NULL},
      {{.title_template = "%s - Blog"}, NULL},
      {{.title = "P"}, NULL}},
     3, T("P - Blog")},
    {"a middle title goes through the root template, the page's too",
     {{{.title_template = "%s | Root"}, NULL},
      {{.title = "Blog"}, NULL},
      {{.title = "P"}, NULL}},
     3, T("P | Root")},
    {"a middle title with no deeper title stays templated",
     {{{.title_template = "%s | Root"}, NULL},
      {{.title = "Blog"}, NULL},
      {{.description = "x"}, NULL}},
     3, T("Blog | Root") DESC("x")},
    {"a template's text around %s is kept on both sides",
     {{{.title_template = "[ %s ]"}, NULL}, {{.title = "P"}, NULL}}, 2,
     T("[ P ]")},
    {"a title containing %s is not a format",
     {{{.title_template = "%s | S"}, NULL}, {{.title = "100%s %d"}, NULL}}, 2,
     T("100%s %d | S")},
    {"a template without %s leaves the title alone",
     {{{.title_template = "Fixed"}, NULL}, {{.title = "P"}, NULL}}, 2, T("P")},
    {"generate_metadata overrides the same level's static fields",
     {{{.title_template = "%s | Site"}, NULL},
      {{.title = "Static", .description = "sd"},
       "{\"title\":\"Gen\",\"description\":\"gd\"}"}},
     2, T("Gen | Site") DESC("gd")},
    {"generate_metadata sets the template for the levels below",
     {{{.title_template = "%s | A"}, "{\"title_template\":\"%s | B\"}"},
      {{.title = "P"}, NULL}},
     2, T("P | B")},
    {"a deeper description replaces; an unset one keeps the shallower",
     {{{.description = "root", .keywords = "k"}, NULL},
      {{.description = "leaf"}, NULL},
      {{.title = "t"}, NULL}},
     3,
     T("t") DESC("leaf") "<meta name=\"keywords\" content=\"k\">"},
    {"og_* replaced as a group: og_title alone clears og_image",
     {{{.og_title = "RT", .og_image = "/r.png", .og_site_name = "S"}, NULL},
      {{.og_title = "PT"}, NULL}},
     2, OG("title", "PT")},
    {"og_* kept when the deeper level sets none of them",
     {{{.og_title = "RT", .og_image = "/r.png"}, NULL},
      {{.description = "d"}, NULL}},
     2, DESC("d") OG("title", "RT") OG("image", "/r.png")},
    {"og_* group replaced through generate_metadata",
     {{{.og_image = "/r.png", .og_type = "website"}, NULL},
      {{0}, "{\"og_url\":\"https://x/\"}"}},
     2, OG("url", "https://x/")},
    {"non-string JSON values are ignored (and do not clear og_*)",
     {{{.title_template = "%s | S", .og_image = "/r.png"}, NULL},
      {{.title = "P", .description = "sd"},
       "{\"title\":5,\"description\":null,\"og_title\":true,"
       "\"og_url\":[\"a\"],\"keywords\":{\"a\":1},\"canonical\":1.5}"}},
     2, T("P | S") DESC("sd") OG("image", "/r.png")},
    {"unknown JSON keys are ignored",
     {{{.title = "T"}, "{\"Title\":\"x\",\"og\":\"y\",\"f\":\"z\"}"}}, 1,
     T("T")},
    {"an empty generate_metadata object changes nothing",
     {{{.title = "T", .robots = "all"}, "{}"}}, 1,
     T("T") "<meta name=\"robots\" content=\"all\">"},
    {"a generate_metadata that is not an object is ignored",
     {{{.title = "T"}, "[\"title\",\"x\"]"}}, 1, T("T")},
    {"nothing at all: only the defaults", {{{0}, NULL}}, 1, ""},
    {"every field, in the written order",
     {{{.title = "t",
        .description = "d",
        .keywords = "k",
        .robots = "r",
        .canonical = "c",
        .og_title = "1",
        .og_description = "2",
        .og_image = "3",
        .og_url = "4",
        .og_type = "5",
        .og_site_name = "6"},
       NULL}},
     1,
     T("t") DESC("d") "<meta name=\"keywords\" content=\"k\">"
                      "<meta name=\"robots\" content=\"r\">"
                      "<link rel=\"canonical\" href=\"c\">" OG("title", "1")
                          OG("description", "2") OG("image", "3")
                              OG("url", "4") OG("type", "5")
                                  OG("site_name", "6")},
    {"every field from generate_metadata, in the same order",
     {{{0},
       "{\"og_site_name\":\"6\",\"og_type\":\"5\",\"og_url\":\"4\","
       "\"og_image\":\"3\",\"og_description\":\"2\",\"og_title\":\"1\","
       "\"canonical\":\"c\",\"robots\":\"r\",\"keywords\":\"k\","
       "\"description\":\"d\",\"title\":\"t\"}"}},
     1,
     T("t") DESC("d") "<meta name=\"keywords\" content=\"k\">"
                      "<meta name=\"robots\" content=\"r\">"
                      "<link rel=\"canonical\" href=\"c\">" OG("title", "1")
                          OG("description", "2") OG("image", "3")
                              OG("url", "4") OG("type", "5")
                                  OG("site_name", "6")},
};

TEST(merge_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(merge_cases); i++) {
    const char *got = merged(merge_cases[i].lv, merge_cases[i].n, 0);
    if (strcmp(got, merge_cases[i].want)) {
      fprintf(stderr, "  case \"%s\":\n    got  %s\n    want %s\n",
              merge_cases[i].name, got, merge_cases[i].want);
      CHECK(!"merge case");
    }
  }
}

/* Every value is escaped, through the template engine's escaping, in
 * every tag (a title ending the element, a value ending the attribute). */
TEST(write_escapes_every_value) {
  static const char evil[] = "\"><script>alert('x')</script>&amp;";
  static const char esc[] =
      "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;";
  level lv = {{.title = evil,
               .description = evil,
               .keywords = evil,
               .robots = evil,
               .canonical = evil,
               .og_title = evil,
               .og_description = evil,
               .og_image = evil,
               .og_url = evil,
               .og_type = evil,
               .og_site_name = evil},
              NULL};
  const char *got = merged(&lv, 1, 0);
  CHECK(strstr(got, "<script>") == NULL);
  CHECK(strchr(got, '\'') == NULL);
  /* 11 values, each escaped exactly once. */
  size_t count = 0;
  for (const char *p = got; (p = strstr(p, esc)); p += strlen(esc))
    count++;
  CHECK_EQ_INT(count, 11);
  /* Every '"' left is an attribute quote: 2 per meta/link tag (10 tags). */
  size_t quotes = 0;
  for (const char *p = got; *p; p++)
    quotes += *p == '"';
  CHECK_EQ_INT(quotes, 10 * 4); /* name=/property=/rel= and content=/href= */
  /* The same through generate_metadata and a title template. */
  level two[2] = {{{.title_template = "<%s> & \"'"}, NULL},
                  {{0}, "{\"title\":\"</title><b>\"}"}};
  CHECK_EQ_STR(merged(two, 2, 0),
               T("&lt;&lt;/title&gt;&lt;b&gt;&gt; &amp; &quot;&#39;"));
}

/* A JSON string holding a NUL: copied with its length, written up to the
 * NUL (never past the copy). */
TEST(level_json_nul) {
  cn__arena arena;
  cn__meta m;
  cn__buf o = {0};
  cn__arena_init(&arena, NULL, 0);
  cn__meta_init(&m);
  json_t *g = json_object();
  json_object_set_new(g, "description", json_stringn("a\0<b>", 6));
  CHECK_EQ_INT(cn__meta_level(&m, NULL, g, &arena), 0);
  json_decref(g);
  CHECK_EQ_INT(cn__meta_write(&m, 0, &o), 0);
  CHECK_EQ_INT(cn__buf_append(&o, "", 1), 0); /* for strstr */
  CHECK(o.ptr && strstr(o.ptr, DESC("a")) != NULL);
  CHECK(o.ptr && strstr(o.ptr, "b&gt;") == NULL);
  cn__buf_free(&o);
  cn__arena_destroy(&arena);
}

TEST(write_noindex) {
  static const struct {
    const char *robots;
    int noindex;
    const char *want;
  } cases[] = {
      {NULL, 0, ""},
      {NULL, 1, "<meta name=\"robots\" content=\"noindex\">"},
      {"index, follow", 1, "<meta name=\"robots\" content=\"noindex\">"},
      {"index, follow", 0, "<meta name=\"robots\" content=\"index, follow\">"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    level lv = {{.robots = cases[i].robots}, NULL};
    CHECK_EQ_STR(merged(&lv, 1, cases[i].noindex), cases[i].want);
  }
  /* noindex sits where robots sits: after keywords, before canonical. */
  level lv = {{.keywords = "k", .canonical = "c"}, NULL};
  CHECK_EQ_STR(merged(&lv, 1, 1), "<meta name=\"keywords\" content=\"k\">"
                                   "<meta name=\"robots\" content=\"noindex\">"
                                   "<link rel=\"canonical\" href=\"c\">");
}

/* ------------------------------------------------------------ insert */

static const struct {
  const char *name;
  const char *pre;   /* bytes before from (must survive untouched) */
  const char *page;  /* out[from, to) */
  const char *post;  /* bytes after to */
  const char *want;  /* the whole buffer after inserting "H" */
} insert_cases[] = {
    {"before </head>", "", "<html><head><x></head><body>", "",
     "<html><head><x>H</head><body>"},
    {"</head> found case-insensitively", "", "<HTML><HEAD></HeAd>b", "",
     "<HTML><HEAD>H</HeAd>b"},
    {"the first </head> of several", "", "<head></head>x</head>", "",
     "<head>H</head>x</head>"},
    {"no </head>: after <html ...>, wrapped", "",
     "<!doctype html><html lang=\"en\"><body>x</body></html>", "",
     "<!doctype html><html lang=\"en\"><head>H</head><body>x</body></html>"},
    {"<HTML> matched case-insensitively", "", "<HTML><body>", "",
     "<HTML><head>H</head><body>"},
    {"neither: at from, wrapped", "", "<body>x</body>", "",
     "<head>H</head><body>x</body>"},
    {"an empty range: at from", "", "", "", "<head>H</head>"},
    {"before from is never searched", "</head><html>", "<p>", "",
     "</head><html><head>H</head><p>"},
    {"at or after to is never searched", "", "<p>", "<html></head>",
     "<head>H</head><p><html></head>"},
    {"a </head> cut by to is not found", "", "<html></hea", "d>",
     "<html><head>H</head></hea" "d>"},
    {"<html without > before to: at from", "", "<html lang", ">x",
     "<head>H</head><html lang>x"},
    {"after from: the prefix stays", "XYZ", "<html>", "tail",
     "XYZ<html><head>H</head>tail"},
};

TEST(insert_table) {
  for (size_t i = 0; i < CN__ARRAY_LEN(insert_cases); i++) {
    cn__buf out = {0}, head = {0};
    size_t from = strlen(insert_cases[i].pre);
    size_t to = from + strlen(insert_cases[i].page);
    CHECK_EQ_INT(cn__buf_appendf(&out, "%s%s%s", insert_cases[i].pre,
                                 insert_cases[i].page, insert_cases[i].post),
                 0);
    CHECK_EQ_INT(cn__buf_append(&head, "H", 1), 0);
    CHECK_EQ_INT(cn__meta_insert(&out, from, to, &head), 0);
    if (out.len != strlen(insert_cases[i].want) ||
        memcmp(out.ptr, insert_cases[i].want, out.len)) {
      fprintf(stderr, "  case \"%s\": got %.*s\n", insert_cases[i].name,
              (int)out.len, out.ptr);
      CHECK(!"insert case");
    }
    cn__buf_free(&out);
    cn__buf_free(&head);
  }
}

TEST(insert_empty_and_unallocated) {
  /* out never allocated (ptr NULL), an empty head. */
  cn__buf out = {0}, head = {0};
  CHECK_EQ_INT(cn__meta_insert(&out, 0, 0, &head), 0);
  CHECK_EQ_SLICE(out, "<head></head>");
  /* An empty head before </head> adds nothing. */
  out.len = 0;
  CHECK_EQ_INT(cn__buf_append(&out, "<head></head>", 13), 0);
  CHECK_EQ_INT(cn__meta_insert(&out, 0, out.len, &head), 0);
  CHECK_EQ_SLICE(out, "<head></head>");
  cn__buf_free(&out);
}

TEST(insert_huge_head) {
  /* A head far larger than the page: everything around it is moved
   * intact, and the bytes of the head are all there in order. */
  size_t big = (size_t)3 << 20;
  cn__buf out = {0}, head = {0};
  CHECK_EQ_INT(cn__buf_reserve(&head, big), 0);
  for (size_t i = 0; i < big; i++)
    head.ptr[i] = (char)('a' + i % 26);
  head.len = big;
  const char *page = "<html><head><meta x></head><body>tail</body></html>";
  CHECK_EQ_INT(cn__buf_appendf(&out, "PRE%s", page), 0);
  CHECK_EQ_INT(cn__meta_insert(&out, 3, out.len, &head), 0);
  CHECK_EQ_INT(out.len, 3 + strlen(page) + big);
  CHECK(!memcmp(out.ptr, "PRE<html><head><meta x>", 23));
  CHECK(!memcmp(out.ptr + 23, head.ptr, big));
  CHECK(!memcmp(out.ptr + 23 + big, "</head><body>tail</body></html>", 31));
  cn__buf_free(&out);
  cn__buf_free(&head);
}

/* A huge value through write, and many levels through merge. */
TEST(write_huge_values) {
  size_t big = (size_t)1 << 20;
  char *v = malloc(big + 1);
  CHECK(v != NULL);
  if (!v)
    return;
  for (size_t i = 0; i < big; i++)
    v[i] = i % 7 ? 'x' : '&';
  v[big] = '\0';
  cn__arena arena;
  cn__meta m;
  cn__buf o = {0};
  cn__arena_init(&arena, NULL, 0);
  cn__meta_init(&m);
  cn_metadata st = {.title = v, .title_template = "%s|"};
  json_t *g = json_pack("{s:s}", "og_image", v);
  for (int i = 0; i < 10; i++)
    CHECK_EQ_INT(cn__meta_level(&m, &st, g, &arena), 0);
  CHECK_EQ_INT(cn__meta_write(&m, 0, &o), 0);
  size_t amps = (big + 6) / 7;
  /* title = v + "|" (from the 2nd level on); og:image = v. */
  size_t want = strlen(CN__META_DEFAULTS) + strlen("<title></title>") +
                (big + 4 * amps) + 1 +
                strlen("<meta property=\"og:image\" content=\"\">") +
                (big + 4 * amps);
  CHECK_EQ_INT(o.len, want);
  json_decref(g);
  cn__buf_free(&o);
  cn__arena_destroy(&arena);
  free(v);
}

/* ----------------------------------------------------- out of memory */

TEST(oom_level_and_write) {
  /* Each allocation failing in turn: CN_ENOMEM back, never a crash; the
   * arena and buffer free everything (LeakSanitizer checks). */
  level lv[3] = {{{.title_template = "%s | Site", .og_image = "i"}, NULL},
                 {{.title = "L"}, "{\"description\":\"gen desc\"}"},
                 {{.title = "P"}, "{\"og_title\":\"o\",\"keywords\":\"k\"}"}};
  json_t *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = lv[i].gen ? json_loads(lv[i].gen, 0, NULL) : NULL;
  int ok = 0, failures = 0;
  for (long n = 0; n < 1000 && !ok; n++) {
    cn__arena arena;
    cn__meta m;
    cn__buf o = {0};
    int rc = 0;
    cn__arena_init(&arena, NULL, 0);
    cn__meta_init(&m);
    cn__alloc_fail_after(n);
    for (int i = 0; !rc && i < 3; i++)
      rc = cn__meta_level(&m, &lv[i].st, g[i], &arena);
    if (!rc)
      rc = cn__meta_write(&m, 0, &o);
    cn__alloc_fail_after(-1);
    if (rc) {
      CHECK_EQ_INT(rc, CN_ENOMEM);
      failures++;
    } else {
      ok = 1;
      CHECK_EQ_INT(cn__buf_append(&o, "", 1), 0); /* for strstr */
      CHECK(strstr(o.ptr, T("P | Site")) != NULL);
      CHECK(strstr(o.ptr, DESC("gen desc")) != NULL);
      CHECK(strstr(o.ptr, "og:image") == NULL);
    }
    cn__buf_free(&o);
    cn__arena_destroy(&arena);
  }
  CHECK(ok);
  CHECK(failures > 0); /* the loop did exercise a failure */
  for (int i = 0; i < 3; i++)
    json_decref(g[i]);
}

TEST(oom_insert_leaves_out_intact) {
  cn__buf out = {0}, head = {0};
  CHECK_EQ_INT(cn__buf_append(&out, "<html><body>", 12), 0);
  /* A head larger than out's spare room forces a reallocation. */
  size_t big = out.cap + 100;
  CHECK_EQ_INT(cn__buf_reserve(&head, big), 0);
  memset(head.ptr, 'h', big);
  head.len = big;
  cn__alloc_fail_after(0);
  int rc = cn__meta_insert(&out, 0, out.len, &head);
  cn__alloc_fail_after(-1);
  CHECK_EQ_INT(rc, CN_ENOMEM);
  CHECK_EQ_SLICE(out, "<html><body>");
  CHECK_EQ_INT(cn__meta_insert(&out, 0, out.len, &head), 0);
  CHECK_EQ_INT(out.len, 12 + 13 + big);
  cn__buf_free(&out);
  cn__buf_free(&head);
}

int main(void) {
  RUN(merge_table);
  RUN(write_escapes_every_value);
  RUN(level_json_nul);
  RUN(write_noindex);
  RUN(insert_table);
  RUN(insert_empty_and_unallocated);
  RUN(insert_huge_head);
  RUN(write_huge_values);
  RUN(oom_level_and_write);
  RUN(oom_insert_leaves_out_intact);
  return check_summary();
}
