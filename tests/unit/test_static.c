/* static/: cn__static_lookup against a real folder built by the test: types,
 * validators, conditionals, ranges, HEAD, methods, containment (symlinks out
 * of the root, fifo, dotfiles), revalidation driven by an injected clock,
 * eviction, reference counts and allocation failures. The pure parsers are
 * in test_static_path.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "static/static.h"

#define SMALL 4096 /* max_cached_file in these tests */
#define T0 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT: mtime of most files */
#define T0_DATE "Sun, 06 Nov 1994 08:49:37 GMT"

static char dir[64];      /* the temporary tree */
static char pub[96];      /* dir/public, the root served */
static char big[10000];   /* content of big.bin */

static void put_at(const char *rel, const void *data, size_t n, int64_t mt) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", pub, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, data, n) == (ssize_t)n);
  close(fd);
  struct timespec ts[2] = {{mt, 0}, {mt, 0}};
  CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void put(const char *rel, const char *text) {
  put_at(rel, text, strlen(text), T0);
}

static void sub(const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", pub, rel);
  CHECK(mkdir(p, 0755) == 0);
}

static void link_to(const char *target, const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", pub, rel);
  CHECK(symlink(target, p) == 0);
}

static void fixture(void) {
  snprintf(dir, sizeof dir, "/tmp/cn-static-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(1);
  }
  snprintf(pub, sizeof pub, "%s/public", dir);
  CHECK(mkdir(pub, 0755) == 0);
  char p[512];
  snprintf(p, sizeof p, "%s/secret.txt", dir);
  FILE *f = fopen(p, "w");
  CHECK(f != NULL);
  fputs("TOP SECRET", f);
  fclose(f);
  put("index.html", "<h1>hi</h1>");
  put("style.css", "body{}");
  put("app.js", "x()");
  put("data.json", "{}");
  put_at("logo.png", "\x89PNG\r\n\x1a\n\0\0", 10, T0);
  put("UPPER.PNG", "P");
  put("noext", "n");
  put("empty.txt", "");
  put("digits.txt", "0123456789");
  put("a b.txt", "space");
  put("caf\xc3\xa9.txt", "utf8");
  put("font.woff2", "w");
  sub("sub");
  put("sub/inner.txt", "inner");
  sub(".well-known");
  put(".well-known/security.txt", "contact");
  put(".env", "SECRET=1");
  sub(".git");
  put(".git/config", "git");
  link_to("../secret.txt", "link_out");
  snprintf(p, sizeof p, "%s/secret.txt", dir);
  link_to(p, "link_abs");
  link_to("..", "link_dir_out");
  link_to("index.html", "link_in");
  link_to("sub/inner.txt", "link_in_sub");
  link_to("link_loop", "link_loop");
  link_to("/proc/self/root/etc/hostname", "link_proc");
  snprintf(p, sizeof p, "%s/fifo", pub);
  CHECK(mkfifo(p, 0644) == 0);
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)('a' + i % 26);
  put_at("big.bin", big, sizeof big, T0);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  return remove(p);
}

static void fixture_remove(void) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static cn__static *open_st(size_t cache_bytes, int fallback) {
  cn__static_options o = {.max_cached_file = SMALL,
                          .max_cache_bytes = cache_bytes,
                          .resolve_fallback = fallback};
  cn__static *st = NULL;
  CHECK_EQ_INT(cn__static_new(&st, pub, &o), 0);
  if (!st)
    exit(1);
  return st;
}

/* One request; fields left NULL are absent headers. */
typedef struct q {
  const char *method, *path, *inm, *ims, *range, *if_range;
  uint64_t now;
} q;

static cn_str opt(const char *s) { return s ? cn__cstr(s) : CN_STR_NULL; }

static int ask(cn__static *st, q x, cn__arena *a, cn__static_reply *r) {
  cn__static_req rq = {
      .method = cn__cstr(x.method ? x.method : "GET"),
      .path = cn__cstr(x.path),
      .if_none_match = opt(x.inm),
      .if_modified_since = opt(x.ims),
      .range = opt(x.range),
      .if_range = opt(x.if_range),
      .now_ms = x.now ? x.now : 1000,
  };
  return cn__static_lookup(st, &rq, a, r);
}

/* What the server does once a reply is written. */
static void done(cn__static_reply *r) {
  cn__static_release(r->hold);
  if (r->fd >= 0)
    close(r->fd);
  r->hold = NULL;
  r->fd = -1;
}

/* The body a reply stands for, whether in memory or behind an fd. */
static int body_is(const cn__static_reply *r, const void *want, size_t n) {
  if (r->body_len != n)
    return 0;
  if (r->body)
    return memcmp(r->body, want, n) == 0;
  if (r->fd < 0)
    return n == 0;
  char buf[sizeof big];
  ssize_t got = pread(r->fd, buf, n, (off_t)r->offset);
  return got == (ssize_t)n && memcmp(buf, want, n) == 0;
}

static int has(cn_str h, const char *line) {
  size_t n = strlen(line);
  for (size_t i = 0; h.ptr && i + n <= h.len; i++)
    if (memcmp(h.ptr + i, line, n) == 0)
      return 1;
  return 0;
}

static int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *de; d && (de = readdir(d));)
    n += de->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

TEST(new_errors) {
  cn__static *st = (cn__static *)1;
  CHECK_EQ_INT(cn__static_new(&st, NULL, NULL), CN_EINVAL);
  CHECK(st == NULL);
  char p[512];
  snprintf(p, sizeof p, "%s/nope", dir);
  CHECK_EQ_INT(cn__static_new(&st, p, NULL), CN_ENOENT);
  snprintf(p, sizeof p, "%s/secret.txt", dir);
  CHECK_EQ_INT(cn__static_new(&st, p, NULL), CN_EINVAL);
  snprintf(p, sizeof p, "%s/secret.txt/x", dir);
  CHECK_EQ_INT(cn__static_new(&st, p, NULL), CN_EINVAL);
  for (long n = 0; n < 3; n++) { /* every allocation of new can fail */
    cn__alloc_fail_after(n);
    CHECK_EQ_INT(cn__static_new(&st, pub, NULL), CN_ENOMEM);
    CHECK(st == NULL);
  }
  cn__alloc_fail_after(-1);
  CHECK_EQ_INT(cn__static_new(&st, pub, NULL), 0);
  cn__static_free(st);
  cn__static_free(NULL);
}

TEST(types_and_bodies) {
  static const struct {
    const char *path, *type, *body;
  } cases[] = {
      {"/index.html", "text/html; charset=utf-8", "<h1>hi</h1>"},
      {"/style.css", "text/css; charset=utf-8", "body{}"},
      {"/app.js", "text/javascript; charset=utf-8", "x()"},
      {"/data.json", "application/json; charset=utf-8", "{}"},
      {"/UPPER.PNG", "image/png", "P"},
      {"/noext", "application/octet-stream", "n"},
      {"/font.woff2", "font/woff2", "w"},
      {"/a%20b.txt", "text/plain; charset=utf-8", "space"},
      {"/caf%C3%A9.txt", "text/plain; charset=utf-8", "utf8"},
      {"/caf\xc3\xa9.txt", "text/plain; charset=utf-8", "utf8"},
      {"/sub/inner.txt", "text/plain; charset=utf-8", "inner"},
      {"/.well-known/security.txt", "text/plain; charset=utf-8", "contact"},
      {"/link_in", "application/octet-stream", "<h1>hi</h1>"},
      {"/link_in_sub", "application/octet-stream", "inner"},
  };
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  for (int round = 0; round < 2; round++) { /* fill, then hit */
    for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
      cn__static_reply r;
      CHECK_EQ_INT(ask(st, (q){.path = cases[i].path}, &a, &r), 0);
      if (r.status != 200)
        fprintf(stderr, "  %s: %d\n", cases[i].path, r.status);
      CHECK_EQ_INT(r.status, 200);
      char line[128];
      snprintf(line, sizeof line, "Content-Type: %s\r\n", cases[i].type);
      CHECK(has(r.headers, line));
      CHECK(body_is(&r, cases[i].body, strlen(cases[i].body)));
      CHECK(r.hold != NULL && r.fd == -1);
      done(&r);
    }
  }
  cn__static_reply r;
  CHECK_EQ_INT(ask(st, (q){.path = "/logo.png"}, &a, &r), 0);
  CHECK(body_is(&r, "\x89PNG\r\n\x1a\n\0\0", 10));
  done(&r);
  cn__static_stats s;
  cn__static_get_stats(st, &s);
  CHECK_EQ_INT(s.misses, CN__ARRAY_LEN(cases) - 1 + 1); /* one name twice */
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(headers_exact) {
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__static_reply r;
  CHECK_EQ_INT(ask(st, (q){.path = "/index.html"}, &a, &r), 0);
  CHECK_EQ_SLICE(r.headers, "ETag: \"2ebc98a1-b\"\r\n"
                            "Last-Modified: " T0_DATE "\r\n"
                            "Cache-Control: public, max-age=0\r\n"
                            "Content-Type: text/html; charset=utf-8\r\n"
                            "Accept-Ranges: bytes\r\n");
  CHECK(!cn__arena_owns(&a, r.headers.ptr)); /* the entry's own block */
  done(&r);
  /* A large file: the same lines, formatted into the arena. */
  CHECK_EQ_INT(ask(st, (q){.path = "/big.bin"}, &a, &r), 0);
  CHECK_EQ_SLICE(r.headers, "ETag: \"2ebc98a1-2710\"\r\n"
                            "Last-Modified: " T0_DATE "\r\n"
                            "Cache-Control: public, max-age=0\r\n"
                            "Content-Type: application/octet-stream\r\n"
                            "Accept-Ranges: bytes\r\n");
  CHECK(cn__arena_owns(&a, r.headers.ptr));
  CHECK(r.fd >= 0 && r.body == NULL && r.hold == NULL && r.offset == 0);
  CHECK(body_is(&r, big, sizeof big));
  done(&r);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(conditionals) {
  static const struct {
    const char *inm, *ims;
    int status;
  } cases[] = {
      {"\"2ebc98a1-X\"", NULL, 304},
      {"W/\"2ebc98a1-X\"", NULL, 304},
      {"\"nope\", \"2ebc98a1-X\"", NULL, 304},
      {"*", NULL, 304},
      {"\"nope\"", NULL, 200},
      {"\"2ebc98a1-X\"", "Sat, 01 Jan 1980 00:00:00 GMT", 304},
      {"\"nope\"", T0_DATE, 200}, /* If-None-Match wins */
      {NULL, T0_DATE, 304},
      {NULL, "Sun, 06 Nov 1994 08:49:38 GMT", 304},
      {NULL, "Sun, 06 Nov 1994 08:49:36 GMT", 200},
      {NULL, "Sunday, 06-Nov-94 08:49:37 GMT", 200}, /* not IMF: ignored */
      {NULL, "garbage", 200},
      {"", NULL, 200},
  };
  static const struct {
    const char *path, *size_hex;
    size_t size;
  } files[] = {{"/digits.txt", "a", 10}, {"/big.bin", "2710", sizeof big}};
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  for (size_t f = 0; f < CN__ARRAY_LEN(files); f++) {
    for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
      char inm[64];
      const char *x = cases[i].inm, *at = x ? strchr(x, 'X') : NULL;
      if (at)
        snprintf(inm, sizeof inm, "%.*s%s%s", (int)(at - x), x,
                 files[f].size_hex, at + 1);
      for (int headm = 0; headm < 2; headm++) {
        cn__static_reply r;
        q rq = {.method = headm ? "HEAD" : "GET", .path = files[f].path,
                .inm = at ? inm : x, .ims = cases[i].ims};
        CHECK_EQ_INT(ask(st, rq, &a, &r), 0);
        if (r.status != cases[i].status)
          fprintf(stderr, "  %s case %zu: %d\n", files[f].path, i, r.status);
        CHECK_EQ_INT(r.status, cases[i].status);
        char etag[64];
        snprintf(etag, sizeof etag, "ETag: \"2ebc98a1-%s\"\r\n",
                 files[f].size_hex);
        CHECK(has(r.headers, etag));
        CHECK(has(r.headers, "Last-Modified: " T0_DATE "\r\n"));
        if (r.status == 304) {
          CHECK(!has(r.headers, "Content-Type"));
          CHECK(r.body_len == 0 && r.body == NULL && r.fd == -1);
        } else {
          CHECK(r.body_len == files[f].size);
          CHECK(headm ? r.body == NULL && r.fd == -1 : r.body || r.fd >= 0);
        }
        done(&r);
      }
    }
  }
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(ranges) {
  static const struct {
    const char *path, *range, *if_range, *method;
    int status;
    uint64_t off, len;
  } cases[] = {
      {"/digits.txt", "bytes=0-3", NULL, NULL, 206, 0, 4},
      {"/digits.txt", "bytes=7-", NULL, NULL, 206, 7, 3},
      {"/digits.txt", "bytes=-2", NULL, NULL, 206, 8, 2},
      {"/digits.txt", "bytes=-20", NULL, NULL, 206, 0, 10},
      {"/digits.txt", "bytes=5-100", NULL, NULL, 206, 5, 5},
      {"/digits.txt", "bytes=10-", NULL, NULL, 416, 0, 0},
      {"/digits.txt", "bytes=-0", NULL, NULL, 416, 0, 0},
      {"/digits.txt", "bytes=0-1,3-4", NULL, NULL, 200, 0, 10},
      {"/digits.txt", "bytes=4-2", NULL, NULL, 200, 0, 10},
      {"/digits.txt", "lines=1-2", NULL, NULL, 200, 0, 10},
      {"/digits.txt", "bytes=0-3", "\"2ebc98a1-a\"", NULL, 206, 0, 4},
      {"/digits.txt", "bytes=0-3", "\"2ebc98a1-b\"", NULL, 200, 0, 10},
      {"/digits.txt", "bytes=0-3", "W/\"2ebc98a1-a\"", NULL, 200, 0, 10},
      {"/digits.txt", "bytes=0-3", T0_DATE, NULL, 206, 0, 4},
      {"/digits.txt", "bytes=0-3", "Sat, 01 Jan 2000 00:00:00 GMT", NULL, 200,
       0, 10},
      {"/digits.txt", "bytes=99-", "\"other\"", NULL, 200, 0, 10},
      {"/digits.txt", "bytes=0-3", NULL, "HEAD", 200, 0, 10},
      {"/empty.txt", "bytes=0-", NULL, NULL, 416, 0, 0},
      {"/empty.txt", "bytes=-5", NULL, NULL, 200, 0, 0},
      {"/big.bin", "bytes=100-199", NULL, NULL, 206, 100, 100},
      {"/big.bin", "bytes=-10", NULL, NULL, 206, 9990, 10},
      {"/big.bin", "bytes=9999-", NULL, NULL, 206, 9999, 1},
      {"/big.bin", "bytes=10000-", NULL, NULL, 416, 0, 0},
      {"/big.bin", "bytes=1-2,5-6", NULL, NULL, 200, 0, sizeof big},
      {"/big.bin", "bytes=0-0", NULL, "HEAD", 200, 0, sizeof big},
  };
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  int fds = open_fds();
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    cn__static_reply r;
    q rq = {.method = cases[i].method, .path = cases[i].path,
            .range = cases[i].range, .if_range = cases[i].if_range};
    CHECK_EQ_INT(ask(st, rq, &a, &r), 0);
    if (r.status != cases[i].status)
      fprintf(stderr, "  range case %zu: %d\n", i, r.status);
    CHECK_EQ_INT(r.status, cases[i].status);
    int isbig = cases[i].path[1] == 'b';
    const char *content = isbig ? big : "0123456789";
    size_t size = isbig ? sizeof big : strcmp(cases[i].path, "/empty.txt")
                                           ? 10 : 0;
    char line[96];
    if (r.status == 206) {
      snprintf(line, sizeof line, "Content-Range: bytes %llu-%llu/%zu\r\n",
               (unsigned long long)cases[i].off,
               (unsigned long long)(cases[i].off + cases[i].len - 1), size);
      CHECK(has(r.headers, line));
      CHECK(has(r.headers, "Content-Type: "));
      CHECK(cn__arena_owns(&a, r.headers.ptr));
      CHECK(body_is(&r, content + cases[i].off, cases[i].len));
    } else if (r.status == 416) {
      snprintf(line, sizeof line, "Content-Range: bytes */%zu\r\n", size);
      CHECK_EQ_SLICE(r.headers, line);
      CHECK(r.body_len == 0 && !r.body && r.fd == -1 && !r.hold);
    } else {
      CHECK(!has(r.headers, "Content-Range"));
      CHECK_EQ_INT(r.body_len, cases[i].len);
      if (!cases[i].method)
        CHECK(body_is(&r, content, cases[i].len));
    }
    done(&r);
  }
  CHECK_EQ_INT(open_fds(), fds);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(methods_and_dirs) {
  static const struct {
    const char *method, *path;
    int status;
  } cases[] = {
      {"POST", "/index.html", 405},
      {"DELETE", "/big.bin", 405},
      {"OPTIONS", "/digits.txt", 405},
      {"get", "/index.html", 405}, /* methods are case-sensitive */
      {"POST", "/missing", 0},
      {"POST", "/sub", 0},
      {"POST", "/.env", 0},          /* never admits a dotfile exists */
      {"POST", "/link_out", 0},
      {"POST", "/a%2fb", 0},         /* malformed: routing's call */
      {"PUT", "/%2e%2e/secret.txt", 0},
      {"GET", "/", 0},
      {"GET", "/sub", 0},
      {"GET", "/sub/", 0},
      {"HEAD", "/sub", 0},
      {"GET", "/.well-known", 0},
      {"GET", "/.well-known/", 0},
      {"GET", "/index.html/", 0},
      {"GET", "/index.html/x", 0},
      {"GET", "/missing.txt", 0},
      {"GET", "/sub/missing.txt", 0},
      {"GET", "/x%20y", 0},
  };
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  int fds = open_fds();
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
      cn__static_reply r;
      q rq = {.method = cases[i].method, .path = cases[i].path};
      CHECK_EQ_INT(ask(st, rq, &a, &r), 0);
      if (r.status != cases[i].status)
        fprintf(stderr, "  %s %s: %d\n", cases[i].method, cases[i].path,
                r.status);
      CHECK_EQ_INT(r.status, cases[i].status);
      CHECK(r.body_len == 0 && !r.body && r.fd == -1 && !r.hold);
      if (r.status == 405)
        CHECK_EQ_SLICE(r.headers, "Allow: GET, HEAD\r\n");
      else
        CHECK(r.headers.len == 0);
    }
  }
  CHECK_EQ_INT(open_fds(), fds);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(head) {
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  int fds = open_fds();
  cn__static_reply r;
  CHECK_EQ_INT(ask(st, (q){.method = "HEAD", .path = "/style.css"}, &a, &r),
               0);
  CHECK(r.status == 200 && r.body_len == 6 && !r.body && r.fd == -1);
  CHECK(r.hold != NULL); /* the headers live in the entry */
  CHECK(has(r.headers, "Content-Type: text/css; charset=utf-8\r\n"));
  done(&r);
  CHECK_EQ_INT(ask(st, (q){.method = "HEAD", .path = "/big.bin"}, &a, &r), 0);
  CHECK(r.status == 200 && r.body_len == sizeof big && !r.body);
  CHECK(r.fd == -1 && !r.hold);
  done(&r);
  CHECK_EQ_INT(open_fds(), fds);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

/* Nothing outside the root, with openat2 and with the fallback alike. */
TEST(containment) {
  static const struct {
    const char *path;
    int status;
  } cases[] = {
      {"/link_out", 404},
      {"/link_abs", 404},
      {"/link_dir_out/secret.txt", 404},
      {"/link_loop", 404},
      {"/link_proc", 404},
      {"/fifo", 404},
      {"/.env", 404},
      {"/.git/config", 404},
      {"/%2eenv", 404},
      {"/../secret.txt", 404},
      {"/%2e%2e/secret.txt", 404},
      {"/sub/%2e%2e/%2e%2e/secret.txt", 404},
      {"/.well-known/../../secret.txt", 404},
      {"/..%2fsecret.txt", 400},
      {"/sub/..%2f..%2fsecret.txt", 400},
      {"/%2e%2e%5csecret.txt", 400},
      {"/..\\secret.txt", 400},
      {"/%c0%ae%c0%ae/secret.txt", 400},
      {"/secret.txt%00.html", 400},
      {"//secret.txt", 400},
      {"/secret.txt", 0},
      {"/link_in", 200},
  };
  for (int fallback = 0; fallback < 2; fallback++) {
    cn__static *st = open_st(0, fallback);
    cn__arena a;
    cn__arena_init(&a, NULL, 0);
    int fds = open_fds();
    for (int round = 0; round < 2; round++) {
      for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
        for (int headm = 0; headm < 2; headm++) {
          cn__static_reply r;
          q rq = {.method = headm ? "HEAD" : "GET", .path = cases[i].path};
          CHECK_EQ_INT(ask(st, rq, &a, &r), 0);
          if (r.status != cases[i].status)
            fprintf(stderr, "  %s (fallback %d): %d\n", cases[i].path,
                    fallback, r.status);
          CHECK_EQ_INT(r.status, cases[i].status);
          CHECK(!body_is(&r, "TOP SECRET", 10));
          done(&r);
        }
      }
    }
    /* Out of the root and back in: openat2 refuses the walk; the fallback
     * judges where the file is, and it is public/index.html itself. */
    cn__static_reply r;
    q rq = {.path = "/link_dir_out/public/index.html"};
    CHECK_EQ_INT(ask(st, rq, &a, &r), 0);
    CHECK_EQ_INT(r.status, fallback ? 200 : 404);
    CHECK(!fallback || body_is(&r, "<h1>hi</h1>", 11));
    done(&r);
    CHECK_EQ_INT(open_fds(), fds);
    cn__static_free(st);
    cn__arena_destroy(&a);
  }
}

/* A cache hit makes no system call; the disk is looked at again only once
 * revalidate_ms has passed, and then a change is seen. */
TEST(revalidation) {
  put("live.txt", "one");
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__static_reply r;
  cn__static_stats s0, s1;
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 1000}, &a, &r), 0);
  CHECK(body_is(&r, "one", 3));
  done(&r);
  cn__static_get_stats(st, &s0);
  for (uint64_t t = 1000; t < 2000; t++) {
    CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = t}, &a, &r), 0);
    done(&r);
    CHECK_EQ_INT(ask(st, (q){.path = "/nothing", .now = t}, &a, &r), 0);
  }
  cn__static_get_stats(st, &s1);
  CHECK_EQ_INT(s1.syscalls, s0.syscalls + 1); /* "/nothing", once */
  CHECK_EQ_INT(s1.hits, s0.hits + 1999);
  /* Same size, new content and mtime: still the old bytes until 2000. */
  put_at("live.txt", "two", 3, T0 + 60);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 1999}, &a, &r), 0);
  CHECK(body_is(&r, "one", 3));
  done(&r);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 2000}, &a, &r), 0);
  CHECK(body_is(&r, "two", 3));
  CHECK(has(r.headers, "ETag: \"2ebc98dd-3\"\r\n"));
  done(&r);
  /* An unchanged file costs one stat per period. */
  cn__static_get_stats(st, &s0);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 3000}, &a, &r), 0);
  done(&r);
  cn__static_get_stats(st, &s1);
  CHECK_EQ_INT(s1.syscalls, s0.syscalls + 1);
  CHECK_EQ_INT(s1.misses, s0.misses);
  /* Grown past max_cached_file: served from disk from then on. */
  put_at("live.txt", big, sizeof big, T0 + 61);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 4000}, &a, &r), 0);
  CHECK(r.fd >= 0 && body_is(&r, big, sizeof big));
  done(&r);
  cn__static_get_stats(st, &s1);
  CHECK_EQ_INT(s1.files, s0.files - 1);
  /* Deleted: gone after the next check, and back when it reappears. */
  put("live.txt", "three");
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 4001}, &a, &r), 0);
  CHECK(body_is(&r, "three", 5));
  done(&r);
  char p[512];
  snprintf(p, sizeof p, "%s/live.txt", pub);
  CHECK(unlink(p) == 0);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 4500}, &a, &r), 0);
  CHECK_EQ_INT(r.status, 200); /* not yet looked at */
  done(&r);
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 5001}, &a, &r), 0);
  CHECK_EQ_INT(r.status, 0);
  put("live.txt", "four");
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 5500}, &a, &r), 0);
  CHECK_EQ_INT(r.status, 0); /* the negative answer holds its period too */
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 6001}, &a, &r), 0);
  CHECK(r.status == 200 && body_is(&r, "four", 4));
  done(&r);
  /* A clock that goes backwards never forces a reload. */
  CHECK_EQ_INT(ask(st, (q){.path = "/live.txt", .now = 10}, &a, &r), 0);
  CHECK(body_is(&r, "four", 4));
  done(&r);
  CHECK(unlink(p) == 0);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

TEST(eviction) {
  char name[32], body[1000];
  memset(body, 'e', sizeof body);
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "ev%d.txt", i);
    put_at(name, body, sizeof body, T0);
  }
  /* Room for three entries of ~1.3 KiB, not four. */
  cn__static *st = open_st(4200, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__static_reply r;
  static const char *order[] = {"/ev0.txt", "/ev1.txt", "/ev2.txt",
                                "/ev0.txt", "/ev3.txt"};
  for (size_t i = 0; i < CN__ARRAY_LEN(order); i++) {
    CHECK_EQ_INT(ask(st, (q){.path = order[i]}, &a, &r), 0);
    done(&r);
  }
  cn__static_stats s0, s1;
  cn__static_get_stats(st, &s0);
  CHECK_EQ_INT(s0.files, 3);
  CHECK(s0.file_bytes <= 4200);
  /* ev1 was least recently used; ev0 was touched after ev1. */
  CHECK_EQ_INT(ask(st, (q){.path = "/ev0.txt"}, &a, &r), 0);
  done(&r);
  cn__static_get_stats(st, &s1);
  CHECK_EQ_INT(s1.misses, s0.misses);
  CHECK_EQ_INT(ask(st, (q){.path = "/ev1.txt"}, &a, &r), 0);
  CHECK(body_is(&r, body, sizeof body));
  done(&r);
  cn__static_get_stats(st, &s0);
  CHECK_EQ_INT(s0.misses, s1.misses + 1);
  cn__static_free(st);
  /* Unknown paths have their own, bounded list and never push files out. */
  cn__static_options o = {.max_cached_file = SMALL, .max_negative = 4};
  CHECK_EQ_INT(cn__static_new(&st, pub, &o), 0);
  CHECK_EQ_INT(ask(st, (q){.path = "/ev0.txt"}, &a, &r), 0);
  done(&r);
  for (int i = 0; i < 50; i++) {
    snprintf(name, sizeof name, "/api/users/%d", i);
    CHECK_EQ_INT(ask(st, (q){.path = name}, &a, &r), 0);
    CHECK_EQ_INT(r.status, 0);
  }
  cn__static_get_stats(st, &s0);
  CHECK_EQ_INT(s0.negative, 4);
  CHECK_EQ_INT(s0.files, 1);
  cn__static_free(st);
  cn__arena_destroy(&a);
}

/* Bytes a reply points at stay valid while it holds them, whatever the
 * cache does meanwhile: replaced, evicted, or the instance freed. */
TEST(refcounts) {
  put("rc.txt", "old!");
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__static_reply old, cur, head304;
  CHECK_EQ_INT(ask(st, (q){.path = "/rc.txt", .now = 1000}, &a, &old), 0);
  CHECK_EQ_INT(ask(st,
                   (q){.method = "HEAD", .path = "/rc.txt", .now = 1000,
                       .inm = "*"},
                   &a, &head304),
               0);
  CHECK_EQ_INT(head304.status, 304);
  CHECK(old.hold == head304.hold);
  put_at("rc.txt", "new!", 4, T0 + 1);
  CHECK_EQ_INT(ask(st, (q){.path = "/rc.txt", .now = 5000}, &a, &cur), 0);
  CHECK(cur.hold != old.hold);
  CHECK(body_is(&cur, "new!", 4));
  CHECK(body_is(&old, "old!", 4)); /* the replaced entry is still alive */
  CHECK(has(head304.headers, "ETag: \"2ebc98a1-4\"\r\n"));
  done(&old);
  CHECK(has(head304.headers, "Last-Modified: " T0_DATE "\r\n"));
  done(&head304);
  cn__static_free(st); /* cur still holds its entry */
  CHECK(body_is(&cur, "new!", 4));
  CHECK(has(cur.headers, "ETag: \"2ebc98a2-4\"\r\n"));
  done(&cur);
  cn__arena_destroy(&a);
}

/* Every allocation a lookup makes can fail: the answer is CN_ENOMEM or a
 * correct reply, never a crash, a leak or a half-filled reply. */
TEST(out_of_memory) {
  static const struct {
    const char *path, *range;
    int status;
  } cases[] = {
      {"/index.html", NULL, 200},
      {"/digits.txt", "bytes=1-2", 206},
      {"/digits.txt", "bytes=50-", 416},
      {"/big.bin", NULL, 200},
      {"/big.bin", "bytes=0-9", 206},
      {"/missing", NULL, 0},
  };
  int fds = open_fds();
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    int failed = 0, passed = 0;
    for (long n = 0; n < 8; n++) {
      cn__static *st = open_st(0, 0);
      cn__arena a;
      cn__arena_init(&a, NULL, 0);
      cn__static_reply r;
      cn__alloc_fail_after(n);
      int rc = ask(st, (q){.path = cases[i].path, .range = cases[i].range},
                   &a, &r);
      cn__alloc_fail_after(-1);
      CHECK(rc == 0 || rc == CN_ENOMEM);
      if (rc == CN_ENOMEM) {
        failed++;
        CHECK(r.status == 0 && r.fd == -1 && !r.hold && !r.body);
      } else {
        passed++;
        CHECK_EQ_INT(r.status, cases[i].status);
      }
      done(&r);
      cn__static_free(st);
      cn__arena_destroy(&a);
    }
    CHECK(passed > 0);
    CHECK(failed > 0 || cases[i].status == 0 || cases[i].status == 200);
  }
  /* No memory for the entry, but an arena with room (the server's requests
   * carry inline memory): the small file is served from disk instead. */
  char inl[2048];
  cn__static *st = open_st(0, 0);
  cn__arena a;
  cn__arena_init(&a, inl, sizeof inl);
  cn__static_reply r;
  cn__alloc_fail_after(0);
  int rc = ask(st, (q){.path = "/digits.txt", .range = "bytes=-3"}, &a, &r);
  cn__alloc_fail_after(-1);
  CHECK_EQ_INT(rc, 0);
  CHECK(r.status == 206 && r.fd >= 0 && !r.hold);
  CHECK(body_is(&r, "789", 3));
  done(&r);
  cn__static_stats s;
  cn__static_get_stats(st, &s);
  CHECK_EQ_INT(s.files, 0);
  cn__static_free(st);
  cn__arena_destroy(&a);
  CHECK_EQ_INT(open_fds(), fds);
}

int main(void) {
  fixture();
  RUN(new_errors);
  RUN(types_and_bodies);
  RUN(headers_exact);
  RUN(conditionals);
  RUN(ranges);
  RUN(methods_and_dirs);
  RUN(head);
  RUN(containment);
  RUN(revalidation);
  RUN(eviction);
  RUN(refcounts);
  RUN(out_of_memory);
  fixture_remove();
  return check_summary();
}
