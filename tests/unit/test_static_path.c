/* static/: the pure parts. Path decoding (the door to the file system),
 * content types, range and conditional header parsing. The file system side
 * is in test_static.c. */
#include <dirent.h>
#include <stdlib.h>

#include "check.h"
#include "static/static_int.h"

typedef struct path_case {
  const char *raw;
  size_t len; /* 0: strlen(raw); set for raw NUL bytes */
  int rc;
  const char *out; /* expected name when rc == 0 */
} path_case;

static const path_case hostile[] = {
    /* traversal, raw and decoded: well-formed, never served -> 404 */
    {"/../x", 0, CN_ENOENT, NULL},
    {"/%2e%2e/x", 0, CN_ENOENT, NULL},
    {"/%2E%2E/x", 0, CN_ENOENT, NULL},
    {"/.%2e/x", 0, CN_ENOENT, NULL},
    {"/..", 0, CN_ENOENT, NULL},
    {"/a/..", 0, CN_ENOENT, NULL},
    {"/a/../../etc/passwd", 0, CN_ENOENT, NULL},
    {"/./x", 0, CN_ENOENT, NULL},
    {"/.", 0, CN_ENOENT, NULL},
    {"/a/%2e", 0, CN_ENOENT, NULL},
    {"/.env", 0, CN_ENOENT, NULL},
    {"/%2eenv", 0, CN_ENOENT, NULL},
    {"/.ht%61ccess", 0, CN_ENOENT, NULL},
    {"/.git/config", 0, CN_ENOENT, NULL},
    {"/..a", 0, CN_ENOENT, NULL},
    {"/.well-known/../.env", 0, CN_ENOENT, NULL},
    {"/.well-known/.secret", 0, CN_ENOENT, NULL},
    {"/.Well-Known/x", 0, CN_ENOENT, NULL},
    /* encoded separators: 400 */
    {"/%2E%2e%2fx", 0, CN_EPARSE, NULL},
    {"/a%2fb", 0, CN_EPARSE, NULL},
    {"/a%2Fb", 0, CN_EPARSE, NULL},
    {"/..%2f", 0, CN_EPARSE, NULL},
    {"/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 0, CN_EPARSE, NULL},
    {"/a\\b", 0, CN_EPARSE, NULL},
    {"/%5c", 0, CN_EPARSE, NULL},
    {"/%5C..%5Cx", 0, CN_EPARSE, NULL},
    {"/..\\x", 0, CN_EPARSE, NULL},
    {"/.env%5c", 0, CN_EPARSE, NULL}, /* 400 wins over 404 */
    /* NUL and control bytes */
    {"/a%00b", 0, CN_EPARSE, NULL},
    {"/a\0b", 4, CN_EPARSE, NULL},
    {"/\0", 2, CN_EPARSE, NULL},
    {"/a%0ab", 0, CN_EPARSE, NULL},
    {"/a%0D%0Ab", 0, CN_EPARSE, NULL},
    {"/a\tb", 0, CN_EPARSE, NULL},
    {"/a%7f", 0, CN_EPARSE, NULL},
    /* over-long and invalid UTF-8, encoded and raw */
    {"/%c0%ae%c0%ae/x", 0, CN_EPARSE, NULL},
    {"/%c0%af", 0, CN_EPARSE, NULL},
    {"/%c1%9c", 0, CN_EPARSE, NULL},
    {"/%e0%80%ae", 0, CN_EPARSE, NULL},
    {"/%f0%80%80%ae", 0, CN_EPARSE, NULL},
    {"/%ed%a0%80", 0, CN_EPARSE, NULL},
    {"/%f4%90%80%80", 0, CN_EPARSE, NULL},
    {"/%f8%88%80%80%80", 0, CN_EPARSE, NULL},
    {"/%ff", 0, CN_EPARSE, NULL},
    {"/%80", 0, CN_EPARSE, NULL},
    {"/%e2%82", 0, CN_EPARSE, NULL},
    {"/%e2%82x", 0, CN_EPARSE, NULL},
    {"/\xc0\xae\xc0\xae/x", 0, CN_EPARSE, NULL},
    {"/\xff", 0, CN_EPARSE, NULL},
    /* broken escapes */
    {"/%", 0, CN_EPARSE, NULL},
    {"/%4", 0, CN_EPARSE, NULL},
    {"/a%", 0, CN_EPARSE, NULL},
    {"/%zz", 0, CN_EPARSE, NULL},
    {"/%g0", 0, CN_EPARSE, NULL},
    {"/%0g", 0, CN_EPARSE, NULL},
    {"/%%41", 0, CN_EPARSE, NULL},
    /* empty segments, and not a path at all */
    {"//x", 0, CN_EPARSE, NULL},
    {"//", 0, CN_EPARSE, NULL},
    {"/a//b", 0, CN_EPARSE, NULL},
    {"/a/%2f/b", 0, CN_EPARSE, NULL},
    {"x", 0, CN_EPARSE, NULL},
    {"*", 0, CN_EPARSE, NULL},
    {"", 0, CN_EPARSE, NULL},
    {"http://h/x", 0, CN_EPARSE, NULL},
};

static const path_case good[] = {
    {"/", 0, 0, ""},
    {"/index.html", 0, 0, "index.html"},
    {"/a/b.css", 0, 0, "a/b.css"},
    {"/sub/", 0, 0, "sub/"},
    {"/a%20b.txt", 0, 0, "a b.txt"},
    {"/%41%62", 0, 0, "Ab"},
    {"/%25", 0, 0, "%"},
    {"/%2525", 0, 0, "%25"},
    {"/caf%C3%A9", 0, 0, "caf\xc3\xa9"},
    {"/caf\xc3\xa9", 0, 0, "caf\xc3\xa9"},
    {"/%f0%9f%98%80", 0, 0, "\xf0\x9f\x98\x80"},
    {"/%ef%bf%bd", 0, 0, "\xef\xbf\xbd"},
    {"/%f4%8f%bf%bf", 0, 0, "\xf4\x8f\xbf\xbf"},
    {"/.well-known/x", 0, 0, ".well-known/x"},
    {"/.well-known/", 0, 0, ".well-known/"},
    {"/a..b", 0, 0, "a..b"}, /* a dot run inside a name is just a name */
    {"/a.", 0, 0, "a."},
    {"/x;y=1,z", 0, 0, "x;y=1,z"},
    {"/a+b", 0, 0, "a+b"}, /* '+' is a space only in queries */
    {"/%3f%23", 0, 0, "?#"},
};

static void run_cases(const path_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const path_case *c = &cases[i];
    char out[256];
    size_t len = 12345;
    cn_str raw = cn__str(c->raw, c->len ? c->len : strlen(c->raw));
    int rc = cn__static_path_decode(raw, out, sizeof out, &len);
    if (rc != c->rc)
      fprintf(stderr, "  path case %zu \"%s\": rc %d, want %d\n", i, c->raw,
              rc, c->rc);
    CHECK_EQ_INT(rc, c->rc);
    if (c->rc == 0 && rc == 0) {
      CHECK_EQ_STR(out, c->out);
      CHECK_EQ_INT(len, strlen(c->out));
    } else {
      CHECK_EQ_INT(len, 12345); /* untouched on failure */
    }
  }
}

TEST(decode_hostile) {
  CHECK(CN__ARRAY_LEN(hostile) >= 30);
  run_cases(hostile, CN__ARRAY_LEN(hostile));
}

TEST(decode_good) { run_cases(good, CN__ARRAY_LEN(good)); }

TEST(decode_capacity) {
  char out[8];
  size_t len;
  CHECK_EQ_INT(cn__static_path_decode(CN_STR("/1234567"), out, 8, &len), 0);
  CHECK_EQ_STR(out, "1234567");
  CHECK_EQ_INT(cn__static_path_decode(CN_STR("/12345678"), out, 8, &len),
               CN_ETOOBIG);
  CHECK_EQ_INT(cn__static_path_decode(CN_STR("/1234567/"), out, 8, &len),
               CN_ETOOBIG);
  /* decoding shrinks: 7 escapes fit in 8 bytes */
  CHECK_EQ_INT(cn__static_path_decode(CN_STR("/%41%41%41%41%41%41%41"), out,
                                      8, &len),
               0);
  CHECK_EQ_INT(cn__static_path_decode(CN_STR("/a"), out, 0, &len),
               CN_EPARSE);
  CHECK_EQ_INT(cn__static_path_decode(CN_STR_NULL, out, 8, &len), CN_EPARSE);
}

/* The fuzz harness's invariants, replayed over its seed corpus so a crash
 * input committed there fails the normal test run too. */
static int decoded_ok(const char *s, size_t n) {
  if (n && s[0] == '/')
    return 0;
  if (s[n] != '\0' || memchr(s, '\0', n) || memchr(s, '\\', n))
    return 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '/')
      j++;
    if (j == i && j != n)
      return 0; /* empty segment */
    if (j > i && s[i] == '.' &&
        !(j - i == 11 && memcmp(s + i, ".well-known", 11) == 0))
      return 0;
    i = j + 1;
  }
  return 1;
}

TEST(corpus_replay) {
  DIR *d = opendir("fuzz/corpus/static_path");
  CHECK(d != NULL);
  if (!d)
    return;
  int files = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char p[512], buf[4096], out[4096];
    snprintf(p, sizeof p, "fuzz/corpus/static_path/%s", de->d_name);
    FILE *f = fopen(p, "rb");
    CHECK(f != NULL);
    if (!f)
      continue;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t len;
    if (cn__static_path_decode(cn__str(buf, n), out, sizeof out, &len) == 0)
      CHECK(decoded_ok(out, len));
    files++;
  }
  closedir(d);
  CHECK(files >= 10);
}

TEST(content_types) {
  static const struct {
    const char *name, *type;
  } cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"a/b/page.htm", "text/html; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"mod.mjs", "text/javascript; charset=utf-8"},
      {"data.json", "application/json; charset=utf-8"},
      {"app.js.map", "application/json; charset=utf-8"},
      {"robots.txt", "text/plain; charset=utf-8"},
      {"feed.xml", "application/xml; charset=utf-8"},
      {"logo.svg", "image/svg+xml; charset=utf-8"},
      {"a.png", "image/png"},
      {"A.PNG", "image/png"},
      {"p.jpg", "image/jpeg"},
      {"p.JPEG", "image/jpeg"},
      {"g.gif", "image/gif"},
      {"w.webp", "image/webp"},
      {"a.avif", "image/avif"},
      {"favicon.ico", "image/x-icon"},
      {"f.woff", "font/woff"},
      {"f.woff2", "font/woff2"},
      {"f.ttf", "font/ttf"},
      {"f.otf", "font/otf"},
      {"m.wasm", "application/wasm"},
      {"d.pdf", "application/pdf"},
      {"v.mp4", "video/mp4"},
      {"v.webm", "video/webm"},
      {"s.mp3", "audio/mpeg"},
      {"s.wav", "audio/wav"},
      {"z.zip", "application/zip"},
      {"z.tar.gz", "application/gzip"},
      {"t.csv", "text/csv; charset=utf-8"},
      {"README.md", "text/markdown; charset=utf-8"},
      {"site.webmanifest", "application/manifest+json; charset=utf-8"},
      {"Makefile", "application/octet-stream"},
      {"x.unknownext", "application/octet-stream"},
      {"x.", "application/octet-stream"},
      {"dir.html/file", "application/octet-stream"}, /* last segment only */
      {"x.htmlx", "application/octet-stream"},
      {"x.averyveryverylongextension", "application/octet-stream"},
      {".well-known/security.txt", "text/plain; charset=utf-8"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++)
    CHECK_EQ_STR(cn__static_content_type(cases[i].name,
                                         strlen(cases[i].name)),
                 cases[i].type);
}

TEST(range_parse) {
  static const struct {
    const char *h;
    uint64_t size;
    int r;
    uint64_t off, len;
  } cases[] = {
      {"bytes=0-99", 1000, 1, 0, 100},
      {"bytes=100-", 1000, 1, 100, 900},
      {"bytes=-100", 1000, 1, 900, 100},
      {"bytes=-5000", 1000, 1, 0, 1000},
      {"bytes=990-5000", 1000, 1, 990, 10},
      {"bytes=999-999", 1000, 1, 999, 1},
      {"bytes=0-0", 1, 1, 0, 1},
      {"BYTES=1-2", 10, 1, 1, 2},
      {" bytes=1-2 ", 10, 1, 1, 2},
      {"bytes= 1-2 ", 10, 1, 1, 2},
      {"bytes=1-2,", 10, 1, 1, 2},
      {"bytes=,1-2", 10, 1, 1, 2},
      {"bytes=0-18446744073709551615", 10, 1, 0, 10},
      {"bytes=0-99999999999999999999999", 10, 1, 0, 10},
      /* unsatisfiable */
      {"bytes=1000-", 1000, -1, 0, 0},
      {"bytes=1000-2000", 1000, -1, 0, 0},
      {"bytes=99999999999999999999999-", 1000, -1, 0, 0},
      {"bytes=-0", 1000, -1, 0, 0},
      {"bytes=0-", 0, -1, 0, 0},
      /* ignored: answer 200 */
      {"bytes=-5", 0, 0, 0, 0}, /* nothing to slice */
      {"bytes=0-1,5-6", 1000, 0, 0, 0},
      {"bytes=0-1, 2000-3000", 1000, 0, 0, 0},
      {"bytes=5-1", 1000, 0, 0, 0},
      {"bytes=", 1000, 0, 0, 0},
      {"bytes=,", 1000, 0, 0, 0},
      {"bytes=-", 1000, 0, 0, 0},
      {"bytes=a-b", 1000, 0, 0, 0},
      {"bytes=1-2-3", 1000, 0, 0, 0},
      {"bytes=1--2", 1000, 0, 0, 0},
      {"bytes=+1-2", 1000, 0, 0, 0},
      {"bytes=1 -2", 1000, 0, 0, 0},
      {"bytes = 1-2", 1000, 0, 0, 0},
      {"items=0-1", 1000, 0, 0, 0},
      {"bytes", 1000, 0, 0, 0},
      {"", 1000, 0, 0, 0},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    uint64_t off = 7, len = 7;
    int r = cn__static_range_parse(cn__cstr(cases[i].h), cases[i].size, &off,
                                   &len);
    if (r != cases[i].r)
      fprintf(stderr, "  range case \"%s\": %d\n", cases[i].h, r);
    CHECK_EQ_INT(r, cases[i].r);
    if (r == 1) {
      CHECK_EQ_INT(off, cases[i].off);
      CHECK_EQ_INT(len, cases[i].len);
    }
  }
  uint64_t off, len;
  CHECK_EQ_INT(cn__static_range_parse(CN_STR_NULL, 10, &off, &len), 0);
}

TEST(etag_lists) {
  static const struct {
    const char *list;
    int match;
  } cases[] = {
      {"\"5-a\"", 1},
      {"W/\"5-a\"", 1},
      {"*", 1},
      {"\"x\", \"5-a\"", 1},
      {"\"x\",W/\"5-a\"", 1},
      {" , ,\"5-a\"", 1},
      {"\"x\"\t,\t\"5-a\"", 1},
      {"\"5-A\"", 0},
      {"\"5-a", 0},
      {"5-a", 0},
      {"\"x\" \"5-a\"", 0}, /* no comma: malformed from there on */
      {"w/\"5-a\"", 0},
      {"\"\"", 0},
      {"", 0},
      {"\"5-a\"x", 1}, /* the match came before the junk */
  };
  cn_str etag = CN_STR("\"5-a\"");
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    int m = cn__static_etag_list_match(cn__cstr(cases[i].list), etag);
    if (m != cases[i].match)
      fprintf(stderr, "  etag case %s\n", cases[i].list);
    CHECK_EQ_INT(m, cases[i].match);
  }
  CHECK_EQ_INT(cn__static_etag_list_match(CN_STR_NULL, etag), 0);
}

TEST(if_range) {
  cn_str etag = CN_STR("\"5-a\"");
  int64_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR("\"5-a\""), etag, t), 1);
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR(" \"5-a\" "), etag, t), 1);
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR("W/\"5-a\""), etag, t), 0);
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR("\"5-b\""), etag, t), 0);
  CHECK_EQ_INT(cn__static_if_range_match(
                   CN_STR("Sun, 06 Nov 1994 08:49:37 GMT"), etag, t),
               1);
  CHECK_EQ_INT(cn__static_if_range_match(
                   CN_STR("Sun, 06 Nov 1994 08:49:38 GMT"), etag, t),
               0);
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR("yesterday"), etag, t), 0);
  CHECK_EQ_INT(cn__static_if_range_match(CN_STR(""), etag, t), 0);
}

TEST(header_block) {
  char buf[CN__STATIC_HDR_MAX];
  cn__static_view v;
  cn__static_format(buf, "text/css; charset=utf-8", 784111777, 2048, &v);
  const char *want304 = "ETag: \"2ebc98a1-800\"\r\n"
                        "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                        "Cache-Control: public, max-age=0\r\n";
  CHECK_EQ_SLICE(cn__str(v.hdr, v.hdr304_len), want304);
  CHECK_EQ_SLICE(cn__str(v.hdr + v.hdr304_len, v.hdr_len - v.hdr304_len),
                 "Content-Type: text/css; charset=utf-8\r\n"
                 "Accept-Ranges: bytes\r\n");
  CHECK_EQ_SLICE(v.etag, "\"2ebc98a1-800\"");
  CHECK_EQ_INT(v.size, 2048);
  /* The longest type in the table still fits. */
  cn__static_format(buf, "application/manifest+json; charset=utf-8",
                    253402300799, UINT64_MAX, &v); /* 9999-12-31 */
  CHECK(v.hdr_len < CN__STATIC_HDR_MAX);
  CHECK(memcmp(v.hdr + v.hdr_len - 22, "Accept-Ranges: bytes\r\n", 22) == 0);
}

int main(void) {
  RUN(decode_hostile);
  RUN(decode_good);
  RUN(decode_capacity);
  RUN(corpus_replay);
  RUN(content_types);
  RUN(range_parse);
  RUN(etag_lists);
  RUN(if_range);
  RUN(header_block);
  return check_summary();
}
