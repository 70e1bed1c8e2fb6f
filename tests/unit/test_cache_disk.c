/* The Data Cache's disk store (src/cache/disk.c): round trips, restarts,
 * every way a file can be wrong, many threads, failing allocations, dirs
 * that cannot be made. Files are written here from the format as disk.c's
 * comment states it (an independent reading), so a change of format fails
 * these tests rather than passing unnoticed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"

#include "cache/cache.h"

#define MAX_KEY ((size_t)1 << 20)
#define MAX_VALUE ((size_t)256 << 20)
#define FIXED 28

/* ------------------------------------------------------------ helpers */

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(p);
}
static void rm_rf(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmpdir(char buf[64]) {
  snprintf(buf, 64, "/tmp/cn-disk-XXXXXX");
  return mkdtemp(buf);
}

/* dir/<sha256(key) in hex> */
static void key_file(const char *dir, const char *key, char *out, size_t cap) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL);
  int off = snprintf(out, cap, "%s/", dir);
  for (unsigned i = 0; i < n; i++)
    off += snprintf(out + off, cap - (size_t)off, "%02x", md[i]);
}

/* Entries in dir other than . and ..; *tmps counts ".tmp-" ones. */
static int count_files(const char *dir, int *tmps) {
  DIR *d = opendir(dir);
  int n = 0;
  if (tmps)
    *tmps = 0;
  if (!d)
    return -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    n++;
    if (tmps && !strncmp(e->d_name, ".tmp-", 5))
      (*tmps)++;
  }
  closedir(d);
  return n;
}

static int exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

static int write_file(const char *p, const void *data, size_t n) {
  FILE *f = fopen(p, "wb");
  if (!f)
    return -1;
  size_t w = n ? fwrite(data, 1, n, f) : 0;
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* The whole file; *n its size. malloc'd. */
static unsigned char *read_file(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  if (!f)
    return NULL;
  unsigned char *b = malloc(1 << 20);
  *n = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

static size_t le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return (size_t)bytes;
}

/* A file in the documented format, every field given; sum_ok 0 spoils the
 * checksum. Returns the size written into out. */
static size_t build(unsigned char *out, const char *magic, uint32_t version,
                    uint32_t klen_field, const char *key, uint64_t dlen_field,
                    const void *data, size_t dlen, int sum_ok) {
  size_t n = 0, klen = strlen(key);
  memcpy(out, magic, 4), n += 4;
  n += le(out + n, version, 4);
  n += le(out + n, klen_field, 4);
  memcpy(out + n, key, klen), n += klen;
  n += le(out + n, dlen_field, 8);
  if (dlen)
    memcpy(out + n, data, dlen), n += dlen;
  uint64_t h = fnv(0xcbf29ce484222325ULL, out, n);
  n += le(out + n, sum_ok ? h : h ^ 1, 8);
  return n;
}

/* get key; *out a NUL-terminated copy (malloc'd) or NULL. Checks that a
 * failing get leaves nothing in *data. */
static int get(cn__cache_store *s, const char *key, char **out, size_t *len) {
  void *data = (void *)1;
  size_t n = 99;
  int rc = s->ops->get(s->self, key, &data, &n);
  *out = NULL;
  if (rc) {
    CHECK(data == NULL);
    CHECK_EQ_INT(n, 0);
    return rc;
  }
  CHECK(data != NULL);
  *out = malloc(n + 1);
  memcpy(*out, data, n);
  (*out)[n] = '\0';
  if (len)
    *len = n;
  cn__free(data);
  return 0;
}

static int put(cn__cache_store *s, const char *key, const void *v, size_t n) {
  return s->ops->put(s->self, key, v, n);
}

/* ------------------------------------------------------- round trips */

static const char *const keys[] = {
    "a", "", "\x01tags", "../../etc/passwd", "/abs/path", "with space\n",
    "\xff\xfe\x80\x7f", "https://example.com/api?x=1&y=2#frag",
};

TEST(round_trips) {
  char dir[64], path[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  static char big[100000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7 + 3);
  struct {
    const char *v;
    size_t n;
  } vals[] = {{"", 0}, {"x", 1}, {"a\0b\0\xff", 5}, {big, sizeof big}};
  for (size_t k = 0; k < CN__ARRAY_LEN(keys); k++)
    for (size_t v = 0; v < CN__ARRAY_LEN(vals); v++) {
      CHECK_EQ_INT(put(&s, keys[k], vals[v].v, vals[v].n), 0);
      key_file(dir, keys[k], path, sizeof path);
      struct stat st;
      CHECK(stat(path, &st) == 0);
      CHECK_EQ_INT(st.st_size, FIXED + strlen(keys[k]) + vals[v].n);
      char *got;
      size_t n = 0;
      CHECK_EQ_INT(get(&s, keys[k], &got, &n), 0);
      CHECK(got && n == vals[v].n && !memcmp(got, vals[v].v, n));
      free(got);
      CHECK_EQ_INT(s.ops->del(s.self, keys[k]), 0);
      CHECK(!exists(path));
      CHECK_EQ_INT(get(&s, keys[k], &got, NULL), CN_ENOENT);
      CHECK_EQ_INT(s.ops->del(s.self, keys[k]), 0); /* absent is fine */
    }
  /* NULL data is fine when empty, not otherwise. */
  CHECK_EQ_INT(put(&s, "null", NULL, 0), 0);
  char *got;
  CHECK_EQ_INT(get(&s, "null", &got, NULL), 0);
  CHECK_EQ_STR(got, "");
  free(got);
  CHECK_EQ_INT(put(&s, "null", NULL, 3), CN_EINVAL);
  CHECK_EQ_INT(get(&s, "never", &got, NULL), CN_ENOENT);
  s.ops->free(s.self);
  rm_rf(dir);
}

TEST(overwrite_and_keys_apart) {
  char dir[64];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  const char *seq[] = {"first value", "2", "a third, longer value than both",
                       ""};
  char *got;
  for (size_t i = 0; i < CN__ARRAY_LEN(seq); i++) {
    CHECK_EQ_INT(put(&s, "k", seq[i], strlen(seq[i])), 0);
    CHECK_EQ_INT(get(&s, "k", &got, NULL), 0);
    CHECK_EQ_STR(got, seq[i]);
    free(got);
  }
  /* Keys one byte apart do not share a file. */
  CHECK_EQ_INT(put(&s, "k2", "other", 5), 0);
  CHECK_EQ_INT(put(&s, "K", "upper", 5), 0);
  CHECK_EQ_INT(get(&s, "k", &got, NULL), 0);
  CHECK_EQ_STR(got, "");
  free(got);
  CHECK_EQ_INT(get(&s, "K", &got, NULL), 0);
  CHECK_EQ_STR(got, "upper");
  free(got);
  int tmps;
  CHECK_EQ_INT(count_files(dir, &tmps), 3);
  CHECK_EQ_INT(tmps, 0);
  s.ops->free(s.self);
  rm_rf(dir);
}

TEST(limits) {
  char dir[64];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  char small[4] = "abc";
  /* The length is refused before the data is touched. */
  CHECK_EQ_INT(put(&s, "k", small, MAX_VALUE + 1), CN_ETOOBIG);
  CHECK_EQ_INT(put(&s, "k", small, SIZE_MAX), CN_ETOOBIG);
  char *key = malloc(MAX_KEY + 2);
  memset(key, 'k', MAX_KEY + 1);
  key[MAX_KEY + 1] = '\0';
  CHECK_EQ_INT(put(&s, key, "v", 1), CN_ETOOBIG);
  CHECK_EQ_INT(count_files(dir, NULL), 0);
  key[MAX_KEY] = '\0'; /* the longest key there may be */
  CHECK_EQ_INT(put(&s, key, "v", 1), 0);
  char *got;
  CHECK_EQ_INT(get(&s, key, &got, NULL), 0);
  CHECK_EQ_STR(got, "v");
  free(got);
  free(key);
  s.ops->free(s.self);
  rm_rf(dir);
}

TEST(restart_sees_old_values) {
  char dir[64];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  for (size_t k = 0; k < CN__ARRAY_LEN(keys); k++)
    CHECK_EQ_INT(put(&s, keys[k], keys[k], strlen(keys[k])), 0);
  CHECK_EQ_INT(s.ops->del(s.self, keys[0]), 0);
  s.ops->free(s.self);
  /* A trailing slash names the same dir. */
  char dir2[80];
  snprintf(dir2, sizeof dir2, "%s//", dir);
  CHECK_EQ_INT(cn__cache_disk(dir2, &s), 0);
  char *got;
  CHECK_EQ_INT(get(&s, keys[0], &got, NULL), CN_ENOENT);
  for (size_t k = 1; k < CN__ARRAY_LEN(keys); k++) {
    CHECK_EQ_INT(get(&s, keys[k], &got, NULL), 0);
    CHECK_EQ_STR(got, keys[k]);
    free(got);
  }
  s.ops->free(s.self);
  rm_rf(dir);
}

/* The cache over a disk store: a new cache on the same dir still hits. */
TEST(through_the_cache) {
  char dir[64];
  CHECK(tmpdir(dir));
  for (int round = 0; round < 2; round++) {
    cn__cache_opts o = {0};
    CHECK_EQ_INT(cn__cache_disk(dir, &o.second), 0);
    cn__cache *c = NULL;
    CHECK_EQ_INT(cn__cache_new(&c, &o), 0);
    if (!c)
      break;
    if (round == 0) {
      cn__cval v = {.data = "kept", .len = 4};
      CHECK_EQ_INT(cn__cache_put(c, "key", &v), 0);
    } else {
      static char mem[4096];
      cn__arena a;
      cn__arena_init(&a, mem, sizeof mem);
      cn__cval v;
      cn__cstate st;
      CHECK_EQ_INT(cn__cache_get(c, "key", &a, &v, &st), 0);
      CHECK_EQ_INT(st, CN__CACHE_HIT);
      CHECK(v.len == 4 && v.data && !memcmp(v.data, "kept", 4));
      cn__arena_reset(&a);
    }
    cn__cache_free(c);
  }
  rm_rf(dir);
}

/* ------------------------------------------------------- bad files */

/* Write bytes as key's file; get must return want, leave nothing in *data,
 * and (unless want is 0) remove the file. */
static void expect_bad(cn__cache_store *s, const char *dir, const char *key,
                       const void *bytes, size_t n, int want,
                       const char *what) {
  char path[256];
  key_file(dir, key, path, sizeof path);
  CHECK_EQ_INT(write_file(path, bytes, n), 0);
  char *got;
  int rc = get(s, key, &got, NULL);
  if (rc != want)
    fprintf(stderr, "  case: %s (size %zu)\n", what, n);
  CHECK_EQ_INT(rc, want);
  CHECK(exists(path) == (want == 0));
  free(got);
}

TEST(truncated_at_every_length) {
  char dir[64], path[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  CHECK_EQ_INT(put(&s, "\x01tags", "a small value", 13), 0);
  key_file(dir, "\x01tags", path, sizeof path);
  size_t n = 0;
  unsigned char *whole = read_file(path, &n);
  CHECK_EQ_INT(n, FIXED + 5 + 13);
  for (size_t len = 0; len < n; len++)
    expect_bad(&s, dir, "\x01tags", whole, len, CN_EPARSE, "truncated");
  expect_bad(&s, dir, "\x01tags", whole, n, 0, "whole");
  free(whole);
  s.ops->free(s.self);
  rm_rf(dir);
}

TEST(flipped_byte_at_every_position) {
  char dir[64], path[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  CHECK_EQ_INT(put(&s, "key", "value\0x", 7), 0);
  key_file(dir, "key", path, sizeof path);
  size_t n = 0;
  unsigned char *whole = read_file(path, &n);
  const unsigned char masks[] = {0x01, 0x80, 0xff, 0x20};
  for (size_t i = 0; i < n; i++)
    for (size_t m = 0; m < CN__ARRAY_LEN(masks); m++) {
      whole[i] ^= masks[m];
      expect_bad(&s, dir, "key", whole, n, CN_EPARSE, "flipped");
      whole[i] ^= masks[m];
    }
  expect_bad(&s, dir, "key", whole, n, 0, "restored");
  free(whole);
  s.ops->free(s.self);
  rm_rf(dir);
}

TEST(crafted_headers) {
  char dir[64];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  const char *k = "the-key";
  const uint32_t kl = 7;
  const char *d = "data!";
  const uint64_t dl = 5;
  struct {
    const char *what, *magic;
    uint32_t version, klen;
    const char *key;
    uint64_t dlen;
    int sum_ok, trailing, want;
  } cases[] = {
      {"control", "CNDC", 1, kl, "the-key", dl, 1, 0, 0},
      {"magic", "CNDX", 1, kl, "the-key", dl, 1, 0, CN_EPARSE},
      {"magic lower", "cndc", 1, kl, "the-key", dl, 1, 0, CN_EPARSE},
      {"version 0", "CNDC", 0, kl, "the-key", dl, 1, 0, CN_EPARSE},
      {"version 2", "CNDC", 2, kl, "the-key", dl, 1, 0, CN_EPARSE},
      {"version max", "CNDC", 0xffffffffu, kl, "the-key", dl, 1, 0, CN_EPARSE},
      {"klen +1", "CNDC", 1, kl + 1, "the-key", dl, 1, 0, CN_EPARSE},
      {"klen -1", "CNDC", 1, kl - 1, "the-key", dl, 1, 0, CN_EPARSE},
      {"klen 0", "CNDC", 1, 0, "the-key", dl, 1, 0, CN_EPARSE},
      {"klen huge", "CNDC", 1, 0xffffffffu, "the-key", dl, 1, 0, CN_EPARSE},
      {"klen 2^31", "CNDC", 1, 0x80000000u, "the-key", dl, 1, 0, CN_EPARSE},
      {"dlen +1", "CNDC", 1, kl, "the-key", dl + 1, 1, 0, CN_EPARSE},
      {"dlen -1", "CNDC", 1, kl, "the-key", dl - 1, 1, 0, CN_EPARSE},
      {"dlen 0", "CNDC", 1, kl, "the-key", 0, 1, 0, CN_EPARSE},
      {"dlen max", "CNDC", 1, kl, "the-key", UINT64_MAX, 1, 0, CN_EPARSE},
      {"dlen 2^63", "CNDC", 1, kl, "the-key", 1ULL << 63, 1, 0, CN_EPARSE},
      {"dlen limit", "CNDC", 1, kl, "the-key", MAX_VALUE + 1, 1, 0, CN_EPARSE},
      {"dlen size-only", "CNDC", 1, kl, "the-key", dl + 8, 1, 0, CN_EPARSE},
      {"checksum", "CNDC", 1, kl, "the-key", dl, 0, 0, CN_EPARSE},
      {"trailing byte", "CNDC", 1, kl, "the-key", dl, 1, 1, CN_EPARSE},
      /* Sound files holding another key: never its data. */
      {"other key", "CNDC", 1, kl, "the-kez", dl, 1, 0, CN_ENOENT},
      {"longer key", "CNDC", 1, kl + 1, "the-key2", dl, 1, 0, CN_ENOENT},
      {"prefix key", "CNDC", 1, kl - 1, "the-ke", dl, 1, 0, CN_ENOENT},
      {"empty key", "CNDC", 1, 0, "", dl, 1, 0, CN_ENOENT},
  };
  unsigned char buf[256];
  for (size_t i = 0; i < CN__ARRAY_LEN(cases); i++) {
    size_t n = build(buf, cases[i].magic, cases[i].version, cases[i].klen,
                     cases[i].key, cases[i].dlen, d, dl, cases[i].sum_ok);
    if (cases[i].trailing)
      buf[n++] = 0;
    expect_bad(&s, dir, k, buf, n, cases[i].want, cases[i].what);
  }
  expect_bad(&s, dir, k, "", 0, CN_EPARSE, "empty file");
  memset(buf, 0, sizeof buf);
  expect_bad(&s, dir, k, buf, sizeof buf, CN_EPARSE, "zeros");
  memset(buf, 0xff, sizeof buf);
  expect_bad(&s, dir, k, buf, sizeof buf, CN_EPARSE, "0xff");
  s.ops->free(s.self);
  rm_rf(dir);
}

/* Huge files, sparse: refused from their size and header, before anything
 * is allocated (the file's path is get's only allocation until then). */
TEST(huge_lengths_allocate_nothing) {
  char dir[64], path[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  key_file(dir, "k", path, sizeof path);
  const off_t sizes[] = {
      (off_t)(FIXED + 1 + MAX_VALUE + 1),       /* data past the limit */
      (off_t)(FIXED + MAX_KEY + MAX_VALUE + 1), /* past any valid file */
      (off_t)1 << 40,
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(sizes); i++) {
    unsigned char buf[64];
    size_t n = build(buf, "CNDC", 1, 1, "k",
                     (uint64_t)sizes[i] - FIXED - 1, "", 0, 1);
    CHECK_EQ_INT(write_file(path, buf, n - 8), 0);
    CHECK_EQ_INT(truncate(path, sizes[i]), 0);
    cn__alloc_fail_after(1);
    char *got;
    CHECK_EQ_INT(get(&s, "k", &got, NULL), CN_EPARSE);
    cn__alloc_fail_after(-1);
    CHECK(!exists(path));
  }
  s.ops->free(s.self);
  rm_rf(dir);
}

/* A file moved to another key's name (what a hash collision would look
 * like): its own key is checked, so the other key misses. */
TEST(collision_by_rename) {
  char dir[64], p1[256], p2[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  CHECK_EQ_INT(put(&s, "one", "value one", 9), 0);
  CHECK_EQ_INT(put(&s, "two", "value two", 9), 0);
  key_file(dir, "one", p1, sizeof p1);
  key_file(dir, "two", p2, sizeof p2);
  CHECK_EQ_INT(rename(p2, p1), 0);
  char *got;
  CHECK_EQ_INT(get(&s, "one", &got, NULL), CN_ENOENT);
  CHECK(got == NULL);
  CHECK(!exists(p1));
  CHECK_EQ_INT(get(&s, "two", &got, NULL), CN_ENOENT);
  CHECK_EQ_INT(count_files(dir, NULL), 0);
  /* Both work again once written. */
  CHECK_EQ_INT(put(&s, "one", "1", 1), 0);
  CHECK_EQ_INT(get(&s, "one", &got, NULL), 0);
  CHECK_EQ_STR(got, "1");
  free(got);
  s.ops->free(s.self);
  rm_rf(dir);
}

/* Things at a key's name that are not files. */
TEST(not_a_file) {
  char dir[64], path[256], target[256];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  CHECK_EQ_INT(put(&s, "real", "real value", 10), 0);
  key_file(dir, "real", target, sizeof target);
  key_file(dir, "k", path, sizeof path);
  /* A symlink, even to a sound file (of another key): removed, the target
   * kept. */
  CHECK_EQ_INT(symlink(target, path), 0);
  char *got;
  CHECK_EQ_INT(get(&s, "k", &got, NULL), CN_EPARSE);
  CHECK(!exists(path));
  CHECK(exists(target));
  /* A directory: a miss for get, an error for put and del, no temp file
   * left behind. */
  CHECK_EQ_INT(mkdir(path, 0700), 0);
  CHECK_EQ_INT(get(&s, "k", &got, NULL), CN_EPARSE);
  CHECK_EQ_INT(put(&s, "k", "v", 1), CN_EIO);
  CHECK_EQ_INT(s.ops->del(s.self, "k"), CN_EIO);
  int tmps;
  CHECK_EQ_INT(count_files(dir, &tmps), 2);
  CHECK_EQ_INT(tmps, 0);
  s.ops->free(s.self);
  rm_rf(dir);
}

/* ----------------------------------------------------------- threads */

#define NTHREADS 8
#define ITERS 400
#define NSHARED 3

static const char *const shared_keys[NSHARED] = {"shared-a", "\x01tags",
                                                 "shared-c"};

typedef struct targ {
  cn__cache_store *s;
  int id;
  int bad;  /* gets that returned a value nobody put, or a wrong code */
  int hits; /* gets that returned a value */
} targ;

/* A value tells who wrote it for which key, and every byte depends on that,
 * so a mix of two puts cannot pass check_value. */
static size_t make_value(unsigned char *v, int kidx, int writer, int iter) {
  size_t n = 12 + (size_t)((iter * 389 + writer * 97) % 6000);
  v[0] = (unsigned char)kidx, v[1] = (unsigned char)writer;
  le(v + 2, (uint64_t)iter, 4);
  le(v + 6, n, 4);
  v[10] = v[11] = 0x5a;
  for (size_t i = 12; i < n; i++)
    v[i] = (unsigned char)(writer * 31 + iter * 7 + i * 13);
  return n;
}

static int check_value(const unsigned char *v, size_t n, int kidx) {
  if (n < 12 || v[0] != kidx || v[1] >= NTHREADS || v[10] != 0x5a ||
      v[11] != 0x5a)
    return 0;
  uint32_t iter = (uint32_t)v[2] | (uint32_t)v[3] << 8 |
                  (uint32_t)v[4] << 16 | (uint32_t)v[5] << 24;
  size_t len = (size_t)v[6] | (size_t)v[7] << 8 | (size_t)v[8] << 16 |
               (size_t)v[9] << 24;
  if (len != n || iter >= ITERS)
    return 0;
  for (size_t i = 12; i < n; i++)
    if (v[i] != (unsigned char)(v[1] * 31 + iter * 7 + i * 13))
      return 0;
  return 1;
}

static void *worker(void *p) {
  targ *t = p;
  unsigned seed = (unsigned)t->id * 2654435761u;
  unsigned char *v = malloc(6100);
  char own[16];
  snprintf(own, sizeof own, "own-%d", t->id);
  for (int i = 0; i < ITERS; i++) {
    int r = rand_r(&seed);
    int kidx = r % (NSHARED + 1);
    const char *key = kidx < NSHARED ? shared_keys[kidx] : own;
    int op = (r / 7) % 10;
    if (op < 4) {
      size_t n = make_value(v, kidx, t->id, i);
      if (t->s->ops->put(t->s->self, key, v, n) != 0)
        t->bad++;
    } else if (op < 9) {
      void *data = NULL;
      size_t n = 0;
      int rc = t->s->ops->get(t->s->self, key, &data, &n);
      if (rc == 0) {
        t->hits++;
        if (!check_value(data, n, kidx))
          t->bad++;
        cn__free(data);
      } else if (rc != CN_ENOENT) {
        t->bad++; /* a torn file would show here as CN_EPARSE */
      }
    } else if (t->s->ops->del(t->s->self, key) != 0) {
      t->bad++;
    }
  }
  free(v);
  return NULL;
}

TEST(many_threads) {
  char dir[64];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  pthread_t th[NTHREADS];
  targ args[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    args[i] = (targ){&s, i, 0, 0};
    CHECK_EQ_INT(pthread_create(&th[i], NULL, worker, &args[i]), 0);
  }
  int hits = 0;
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ_INT(args[i].bad, 0);
    hits += args[i].hits;
  }
  CHECK(hits > 100); /* the race was exercised, not only misses */
  int tmps;
  CHECK(count_files(dir, &tmps) <= NSHARED + NTHREADS);
  CHECK_EQ_INT(tmps, 0);
  s.ops->free(s.self);
  rm_rf(dir);
}

/* -------------------------------------------------- failing malloc */

/* Every allocation failing in turn: each call reports CN_ENOMEM or works,
 * nothing leaks (ASan), and a bad file is not removed for want of memory. */
TEST(allocation_failures) {
  char dir[64], bad[256];
  CHECK(tmpdir(dir));
  key_file(dir, "bad", bad, sizeof bad);
  unsigned char junk[64];
  size_t junk_n = build(junk, "CNDC", 1, 3, "bad", 4, "data", 4, 0);
  int finished = 0;
  for (long n = 0; n < 200 && !finished; n++) {
    CHECK_EQ_INT(write_file(bad, junk, junk_n), 0);
    int failed = 0;
    cn__cache_store s;
    char *got = NULL;
    cn__alloc_fail_after(n);
    int rc = cn__cache_disk(dir, &s);
    cn__alloc_fail_after(-1);
    if (rc) {
      CHECK_EQ_INT(rc, CN_ENOMEM);
      continue;
    }
    cn__alloc_fail_after(n);
    rc = put(&s, "key", "value", 5);
    CHECK(rc == 0 || rc == CN_ENOMEM);
    failed |= rc != 0;
    int put_ok = rc == 0;
    rc = get(&s, "key", &got, NULL);
    CHECK(rc == 0 || rc == CN_ENOMEM || (!put_ok && rc == CN_ENOENT));
    failed |= rc == CN_ENOMEM;
    if (rc == 0)
      CHECK_EQ_STR(got, "value");
    free(got);
    rc = get(&s, "bad", &got, NULL);
    CHECK(rc == CN_EPARSE || rc == CN_ENOMEM);
    CHECK(exists(bad) == (rc == CN_ENOMEM));
    free(got);
    failed |= rc == CN_ENOMEM;
    rc = s.ops->del(s.self, "key");
    CHECK(rc == 0 || rc == CN_ENOMEM);
    failed |= rc != 0;
    cn__alloc_fail_after(-1);
    /* What is on disk is whole: the value, or nothing. */
    rc = get(&s, "key", &got, NULL);
    CHECK(rc == 0 || rc == CN_ENOENT);
    if (rc == 0)
      CHECK_EQ_STR(got, "value");
    free(got);
    s.ops->del(s.self, "key");
    s.ops->free(s.self);
    finished = !failed;
  }
  CHECK(finished);
  int tmps;
  CHECK_EQ_INT(count_files(dir, &tmps), 0);
  CHECK_EQ_INT(tmps, 0);
  rm_rf(dir);
}

/* ------------------------------------------------------------- dirs */

TEST(dirs) {
  char dir[64], sub[160], file[96];
  CHECK(tmpdir(dir));
  cn__cache_store s;
  /* mkdir -p: several missing levels. */
  snprintf(sub, sizeof sub, "%s/a/b/c", dir);
  CHECK_EQ_INT(cn__cache_disk(sub, &s), 0);
  CHECK_EQ_INT(put(&s, "k", "v", 1), 0);
  /* Removed under a running store: the next put makes it again. */
  rm_rf(sub);
  char *got;
  CHECK_EQ_INT(get(&s, "k", &got, NULL), CN_ENOENT);
  CHECK_EQ_INT(put(&s, "k", "again", 5), 0);
  CHECK_EQ_INT(get(&s, "k", &got, NULL), 0);
  CHECK_EQ_STR(got, "again");
  free(got);
  s.ops->free(s.self);
  /* Cannot be made: a file where a directory must be. */
  snprintf(file, sizeof file, "%s/file", dir);
  CHECK_EQ_INT(write_file(file, "x", 1), 0);
  const char *cannot[] = {file, "", NULL};
  char under[128];
  snprintf(under, sizeof under, "%s/file/sub/dir", dir);
  cannot[2] = under;
  for (size_t i = 0; i < CN__ARRAY_LEN(cannot); i++) {
    s.ops = NULL;
    CHECK_EQ_INT(cn__cache_disk(cannot[i], &s), CN_EIO);
    CHECK(s.ops == NULL);
  }
  CHECK_EQ_INT(cn__cache_disk(NULL, &s), CN_EINVAL);
  rm_rf(dir);
}

/* Temporary files a killed process left: the old ones go when a store
 * opens, a recent one (a put in flight elsewhere) and other files stay. */
TEST(orphaned_temp_files) {
  char dir[64], old[128], fresh[128], other[128];
  CHECK(tmpdir(dir));
  snprintf(old, sizeof old, "%s/.tmp-1-1-1", dir);
  snprintf(fresh, sizeof fresh, "%s/.tmp-2-2-2", dir);
  snprintf(other, sizeof other, "%s/.tmpnot", dir);
  CHECK_EQ_INT(write_file(old, "half", 4), 0);
  CHECK_EQ_INT(write_file(fresh, "half", 4), 0);
  CHECK_EQ_INT(write_file(other, "keep", 4), 0);
  struct timeval tv[2];
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec -= 2 * 3600;
  tv[1] = tv[0];
  CHECK_EQ_INT(utimes(old, tv), 0);
  CHECK_EQ_INT(utimes(other, tv), 0);
  cn__cache_store s;
  CHECK_EQ_INT(cn__cache_disk(dir, &s), 0);
  CHECK(!exists(old));
  CHECK(exists(fresh));
  CHECK(exists(other));
  s.ops->free(s.self);
  rm_rf(dir);
}

int main(void) {
  RUN(round_trips);
  RUN(overwrite_and_keys_apart);
  RUN(limits);
  RUN(restart_sees_old_values);
  RUN(through_the_cache);
  RUN(truncated_at_every_length);
  RUN(flipped_byte_at_every_position);
  RUN(crafted_headers);
  RUN(huge_lengths_allocate_nothing);
  RUN(collision_by_rename);
  RUN(not_a_file);
  RUN(many_threads);
  RUN(allocation_failures);
  RUN(dirs);
  RUN(orphaned_temp_files);
  return check_summary();
}
