/* form/: urlencoded, cookies, media types, streamed multipart. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "form/form.h"

static cn__arena A;

TEST(urlencoded) {
  static const struct {
    const char *in;
    int rc;
    const char *key, *first;
    size_t count;
  } t[] = {
      {"a=1&b=2", 0, "a", "1", 1},
      {"a=1&a=2&a=3", 0, "a", "1", 3},
      {"q=hello+world", 0, "q", "hello world", 1},
      {"q=hello%20world", 0, "q", "hello world", 1},
      {"q=%2B%26%3D", 0, "q", "+&=", 1},
      {"k", 0, "k", "", 1},
      {"k=", 0, "k", "", 1},
      {"&&a=1&&", 0, "a", "1", 1},
      {"a%20b=c", 0, "a b", "c", 1},
      {"a=%e2%9c%93", 0, "a", "\xe2\x9c\x93", 1},
      {"a=1=2", 0, "a", "1=2", 1},
      {"a=%", CN_EPARSE, NULL, NULL, 0},
      {"a=%4", CN_EPARSE, NULL, NULL, 0},
      {"a=%zz", CN_EPARSE, NULL, NULL, 0},
      {"%=1", CN_EPARSE, NULL, NULL, 0},
      {"a=%4g", CN_EPARSE, NULL, NULL, 0},
      {"", 0, "a", NULL, 0},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn__pairs p = {0};
    const char *why;
    int rc = cn__urlencoded_parse(cn__cstr(t[i].in), &A, 100, &p, &why);
    CHECK_EQ_INT(rc, t[i].rc);
    if (rc) {
      CHECK(why != NULL);
      continue;
    }
    const cn_str *all;
    CHECK_EQ_INT(cn__pairs_list(&p, cn__cstr(t[i].key), &A, &all),
                 t[i].count);
    cn_str v = cn__pairs_find(&p, cn__cstr(t[i].key));
    if (t[i].first)
      CHECK_EQ_SLICE(v, t[i].first);
    else
      CHECK(v.ptr == NULL);
  }
  cn__pairs p = {0};
  const char *why;
  CHECK_EQ_INT(cn__urlencoded_parse(CN_STR("a=1&b=2&c=3"), &A, 2, &p, &why),
               CN_ETOOBIG);
}

TEST(cookies) {
  cn__pairs p = {0};
  CHECK(cn__cookies_parse(
            CN_STR("a=1; b=\"quoted\"; a=2; bad; =x; c d=1; e=f g; h=ok;"),
            &A, &p) == 0);
  CHECK_EQ_SLICE(cn__pairs_find(&p, CN_STR("a")), "1");
  CHECK_EQ_SLICE(cn__pairs_find(&p, CN_STR("b")), "quoted");
  CHECK_EQ_SLICE(cn__pairs_find(&p, CN_STR("h")), "ok");
  CHECK(cn__pairs_find(&p, CN_STR("e")).ptr == NULL); /* space in value */
  CHECK(cn__pairs_find(&p, CN_STR("c d")).ptr == NULL);
  CHECK(cn__pairs_find(&p, CN_STR("bad")).ptr == NULL);
  CHECK_EQ_INT(p.n, 3);
  cn__pairs q = {0};
  CHECK(cn__cookies_parse(CN_STR(""), &A, &q) == 0 && q.n == 0);
  CHECK(cn__cookies_parse(CN_STR("tok=a%20b"), &A, &q) == 0);
  CHECK_EQ_SLICE(cn__pairs_find(&q, CN_STR("tok")), "a%20b"); /* as sent */
}

TEST(media_types) {
  cn_str t, v;
  CHECK(cn__media_type(CN_STR("Text/HTML; Charset=utf-8"), &A, "charset", &t,
                       &v) == 0);
  CHECK_EQ_SLICE(t, "text/html");
  CHECK_EQ_SLICE(v, "utf-8");
  CHECK(cn__media_type(CN_STR("multipart/form-data; boundary=\"a \\\"b\""),
                       &A, "boundary", &t, &v) == 0);
  CHECK_EQ_SLICE(v, "a \"b");
  CHECK(cn__media_type(CN_STR("application/json"), &A, "charset", &t, &v) ==
        0);
  CHECK(v.ptr == NULL);
  CHECK(cn__media_type(CN_STR("json"), &A, NULL, &t, &v) == CN_EPARSE);
  CHECK(cn__media_type(CN_STR("/x"), &A, NULL, &t, &v) == CN_EPARSE);
  CHECK(cn__media_type(CN_STR("a/b; x=\"open"), &A, "x", &t, &v) ==
        CN_EPARSE);
}

/* ------------------------------------------------------------ multipart */

static const char BODY[] =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
    "Hello\r\nworld\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"tricky\"\r\n\r\n"
    "\r\n--XyNot the end \r\n--Xy\r\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "file bytes\x00\x01\xff\r\n"
    "--XyZ--\r\nepilogue";

static char tmpdir[64];

static int count_tmp_files(void) {
  DIR *d = opendir(tmpdir);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void check_parsed(cn__multipart *mp) {
  CHECK_EQ_INT(mp->fields.n, 2);
  CHECK_EQ_SLICE(cn__pairs_find(&mp->fields, CN_STR("title")),
                 "Hello\r\nworld");
  CHECK_EQ_SLICE(cn__pairs_find(&mp->fields, CN_STR("tricky")),
                 "\r\n--XyNot the end \r\n--Xy\r");
  CHECK_EQ_INT(mp->nfiles, 1);
  if (mp->nfiles != 1)
    return;
  CHECK_EQ_SLICE(mp->files[0].filename, "a.txt");
  CHECK_EQ_SLICE(mp->files[0].content_type, "text/plain");
  CHECK_EQ_INT(mp->files[0].size, 13);
  FILE *f = fopen(mp->files[0].path, "rb");
  char buf[32] = {0};
  size_t got = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f)
    fclose(f);
  CHECK(got == 13 && !memcmp(buf, "file bytes\x00\x01\xff", 13));
}

TEST(multipart_every_split) {
  size_t len = sizeof BODY - 1;
  for (size_t cut = 0; cut <= len; cut++) {
    for (size_t cut2 = cut; cut2 <= len; cut2 += (cut2 < cut + 3 ? 1 : 37)) {
      cn__multipart mp;
      CHECK(cn__multipart_init(&mp, CN_STR("XyZ"), NULL, &A, tmpdir) == 0);
      int rc = cn__multipart_feed(&mp, BODY, cut);
      if (!rc)
        rc = cn__multipart_feed(&mp, BODY + cut, cut2 - cut);
      if (!rc)
        rc = cn__multipart_feed(&mp, BODY + cut2, len - cut2);
      CHECK_EQ_INT(rc, 0);
      CHECK_EQ_INT(cn__multipart_finish(&mp), 0);
      check_parsed(&mp);
      cn__multipart_cleanup(&mp);
      cn__arena_reset(&A);
    }
  }
  CHECK_EQ_INT(count_tmp_files(), 0);
}

TEST(multipart_byte_by_byte) {
  cn__multipart mp;
  CHECK(cn__multipart_init(&mp, CN_STR("XyZ"), NULL, &A, tmpdir) == 0);
  for (size_t i = 0; i < sizeof BODY - 1; i++)
    CHECK(cn__multipart_feed(&mp, BODY + i, 1) == 0);
  CHECK(cn__multipart_finish(&mp) == 0);
  check_parsed(&mp);
  cn__multipart_cleanup(&mp);
  CHECK_EQ_INT(count_tmp_files(), 0);
}

static int run_body(const char *body, size_t len, const char *boundary,
                    const cn__multipart_limits *lim, const char **why) {
  cn__multipart mp;
  int rc = cn__multipart_init(&mp, cn__cstr(boundary), lim, &A, tmpdir);
  if (!rc)
    rc = cn__multipart_feed(&mp, body, len);
  if (!rc)
    rc = cn__multipart_finish(&mp);
  *why = mp.why;
  cn__multipart_cleanup(&mp);
  return rc;
}

TEST(multipart_errors) {
  static const struct {
    const char *body;
    const char *boundary;
    int rc;
    const char *why;
  } t[] = {
      {"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx", "b",
       CN_EPARSE, "truncated"},
      {"no boundary at all", "b", CN_EPARSE, "truncated"},
      {"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",
       "", CN_EPARSE, "boundary"},
      {"--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
       "b", CN_EPARSE, "form-data"},
      {"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "b",
       CN_EPARSE, "name"},
      {"--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n"
       "--b--",
       "b", CN_EPARSE, "Folded"},
      {"--b\r\nNo colon here\r\n\r\nx\r\n--b--", "b", CN_EPARSE, "headers"},
      {"--bX", "b", CN_EPARSE, "delimiter"},
      {"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",
       "b b ", CN_EPARSE, "boundary"},
      {"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",
       "b\\", CN_EPARSE, "boundary"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    const char *why = NULL;
    int rc = run_body(t[i].body, strlen(t[i].body), t[i].boundary, NULL,
                      &why);
    if (rc != t[i].rc || !why || !strstr(why, t[i].why))
      fprintf(stderr, "case %zu: rc %d why %s\n", i, rc, why ? why : "-");
    CHECK_EQ_INT(rc, t[i].rc);
    CHECK(why && strstr(why, t[i].why));
  }
  CHECK_EQ_INT(count_tmp_files(), 0);
}

TEST(multipart_limits) {
  char body[4096];
  const char *why;
  /* Too many parts. */
  int off = 0;
  for (int i = 0; i < 5; i++)
    off += snprintf(body + off, sizeof body - (size_t)off,
                    "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n"
                    "\r\nv\r\n",
                    i);
  off += snprintf(body + off, sizeof body - (size_t)off, "--b--");
  cn__multipart_limits lim = {.parts = 4};
  CHECK_EQ_INT(run_body(body, (size_t)off, "b", &lim, &why), CN_ETOOBIG);
  lim.parts = 5;
  CHECK_EQ_INT(run_body(body, (size_t)off, "b", &lim, &why), 0);
  /* A file over its limit: refused, and its temporary file removed. */
  off = snprintf(body, sizeof body,
                 "--b\r\nContent-Disposition: form-data; name=\"f\"; "
                 "filename=\"x\"\r\n\r\n%0200d\r\n--b--",
                 0);
  cn__multipart_limits flim = {.file_bytes = 100};
  CHECK_EQ_INT(run_body(body, (size_t)off, "b", &flim, &why), CN_ETOOBIG);
  CHECK(strstr(why, "file") != NULL);
  CHECK_EQ_INT(count_tmp_files(), 0);
  /* A field over its limit. */
  off = snprintf(body, sizeof body,
                 "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
                 "%0200d\r\n--b--",
                 0);
  cn__multipart_limits vlim = {.field_bytes = 100};
  CHECK_EQ_INT(run_body(body, (size_t)off, "b", &vlim, &why), CN_ETOOBIG);
  /* A header block over its limit. */
  off = snprintf(body, sizeof body,
                 "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n"
                 "X: %0300d\r\n\r\nv\r\n--b--",
                 0);
  cn__multipart_limits hlim = {.header_bytes = 200};
  CHECK_EQ_INT(run_body(body, (size_t)off, "b", &hlim, &why), CN_ETOOBIG);
}

int main(void) {
  cn__arena_init(&A, NULL, 0);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/cn-form-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  RUN(urlencoded);
  RUN(cookies);
  RUN(media_types);
  RUN(multipart_every_split);
  RUN(multipart_byte_by_byte);
  RUN(multipart_errors);
  RUN(multipart_limits);
  cn__arena_destroy(&A);
  rmdir(tmpdir);
  return check_summary();
}
