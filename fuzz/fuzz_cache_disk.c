/*
 * fuzz_cache_disk: arbitrary bytes as the disk store's file for one fixed
 * key (src/cache/disk.c), then get, checked against an oracle written here
 * from the format in disk.c's comment: get returns the data exactly when
 * the file is sound and holds the key, CN_ENOENT when it is sound and holds
 * another key, CN_EPARSE otherwise; the file is kept exactly when get
 * succeeds. The first input byte is a mode: when odd, the harness writes a
 * correct checksum over the last 8 bytes, so mutations reach the length and
 * key checks instead of dying at the checksum.
 * Seeds: fuzz/corpus/cache_disk/.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"

#define KEY "\x01tags"

static char dir[64], path[160];
static cn__cache_store store;

static void cleanup(void) {
  unlink(path);
  store.ops->free(store.self);
  rmdir(dir);
}

/* A store in a fresh dir, and the name its one file gets (found by putting
 * the key once, so the harness does not depend on the hash). */
static void setup(void) {
  snprintf(dir, sizeof dir, "%s/cn-fuzz-disk-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir) || cn__cache_disk(dir, &store) ||
      store.ops->put(store.self, KEY, "x", 1))
    abort();
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.')
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
  if (!d || !path[0])
    abort();
  closedir(d);
  atexit(cleanup);
}

static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* The oracle: 0 (then *off and *dlen locate the data), CN_ENOENT or
 * CN_EPARSE. */
static int oracle(const uint8_t *f, size_t n, size_t *off, size_t *dlen) {
  if (n < 28 || memcmp(f, "CNDC", 4) || le(f + 4, 4) != 1)
    return CN_EPARSE;
  uint64_t klen = le(f + 8, 4);
  if (klen > (1u << 20) || 28 + klen > n)
    return CN_EPARSE;
  uint64_t dl = le(f + 12 + klen, 8);
  if (dl != n - 28 - klen || dl > ((uint64_t)256 << 20) ||
      le(f + n - 8, 8) != fnv(f, n - 8))
    return CN_EPARSE;
  if (klen != strlen(KEY) || memcmp(f + 12, KEY, klen))
    return CN_ENOENT;
  *off = 20 + (size_t)klen, *dlen = (size_t)dl;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!path[0])
    setup();
  if (!size)
    return 0;
  int fix = data[0] & 1;
  size_t n = size - 1;
  uint8_t *f = malloc(n ? n : 1);
  memcpy(f, data + 1, n);
  if (fix && n >= 8) {
    uint64_t h = fnv(f, n - 8);
    for (int i = 0; i < 8; i++)
      f[n - 8 + i] = (uint8_t)(h >> (8 * i));
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || (n && write(fd, f, n) != (ssize_t)n) || close(fd))
    abort();
  size_t off = 0, dlen = 0;
  int want = oracle(f, n, &off, &dlen);
  void *got = (void *)1;
  size_t len = 7;
  int rc = store.ops->get(store.self, KEY, &got, &len);
  struct stat st;
  int kept = stat(path, &st) == 0;
  if (rc != want || kept != (rc == 0))
    abort();
  if (rc == 0 && (len != dlen || !got || memcmp(got, f + off, len)))
    abort();
  if (rc != 0 && (got != NULL || len != 0))
    abort();
  if (rc == 0)
    cn__free(got);
  free(f);
  return 0;
}
