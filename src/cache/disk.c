/*
 * disk.c: the Data Cache's second level on disk (cn__cache_disk, cache.h).
 *
 * One file per key under the store's dir, named by the SHA-256 of the key
 * in 64 hex digits: a key may be any bytes but NUL ("\x01tags", "../x"),
 * and none of them ever reaches the file system as a name. A file is
 *
 *   magic "CNDC"                               4 bytes
 *   version (1)                                u32, little-endian
 *   key length k (at most 1 MiB)               u32
 *   the key                                    k bytes
 *   data length n (at most 256 MiB)            u64
 *   the data                                   n bytes
 *   checksum: FNV-1a 64 of every byte above    u64
 *
 * and nothing more, so its size is exactly 28 + k + n.
 *
 * Writes. put writes the whole file under a temporary name in the same dir
 * (".tmp-<pid>-<tid>-<n>", n from a process-wide atomic counter, so no two
 * puts ever share one, whatever their threads or keys) and rename()s it over
 * the key's name. rename is atomic: a reader opens the old file or the new
 * one, never half of either, and keeps the inode it opened while a writer
 * replaces the name. That is all the locking there is.
 *
 * No fsync. The promise is that entries survive a restart of the process:
 * once rename has returned, the file is in the kernel's page cache and any
 * later process sees it. A crash of the machine may lose the latest puts or,
 * on some file systems, leave a file short or zeroed; the checksum turns that
 * into a miss, which is all a cache owes. An fsync per put would buy
 * durability across power loss at the price of a disk flush on every write.
 * Temporary files orphaned by a killed process are removed when a store is
 * next opened on the dir (those older than an hour, so a put in flight in
 * another process is left alone).
 *
 * Reads trust nothing in the file: the lengths must agree with the file's
 * size before anything is allocated, and the checksum is checked before the
 * key. A file that fails (truncated, garbage, another version) is removed
 * and get returns CN_EPARSE; a sound file that holds another key (a hash
 * collision, or a file moved by hand) is removed and get returns CN_ENOENT.
 * *data is set only on success: never partial data. A bad file is removed
 * only while its name still points at the inode that was read, so a put that
 * landed meanwhile survives (a window of two system calls remains; losing an
 * entry there costs one miss).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache/cache.h"

#define MAGIC "CNDC"
#define VERSION 1u
#define HEAD 12          /* magic, version, key length */
#define FIXED 28         /* HEAD + data length + checksum */
#define MAX_KEY ((size_t)1 << 20)
#define MAX_VALUE ((size_t)256 << 20)
#define NAME_LEN 64      /* SHA-256 in hex */
#define TMP_PREFIX ".tmp-"
#define TMP_MAX_AGE_S 3600

typedef struct disk {
  char *dir; /* no trailing slash (unless it is "/") */
  size_t dir_len;
} disk;

static atomic_ulong tmp_counter;

/* ----------------------------------------------------------- helpers */

/* The checksum is FNV-1a (cn__fnv64): every byte goes through a bijection
 * of the state, so any one changed byte changes the result; that, not
 * strength against an attacker (who could write a valid checksum), is what
 * the file needs. */
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* The file for key: dir/<sha256 hex>. OUT: *path (cn__malloc'd). 0 or
 * CN_ENOMEM (ours, or OpenSSL's: EVP_Digest fails only without memory). */
static int key_path(const disk *d, const char *key, char **path) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) ||
      mdlen * 2 != NAME_LEN)
    return CN_ENOMEM;
  char *p = cn__malloc(d->dir_len + 1 + NAME_LEN + 1);
  if (!p)
    return CN_ENOMEM;
  memcpy(p, d->dir, d->dir_len);
  p[d->dir_len] = '/';
  static const char hex[] = "0123456789abcdef";
  for (unsigned i = 0; i < mdlen; i++) {
    p[d->dir_len + 1 + 2 * i] = hex[md[i] >> 4];
    p[d->dir_len + 2 + 2 * i] = hex[md[i] & 15];
  }
  p[d->dir_len + 1 + NAME_LEN] = '\0';
  *path = p;
  return 0;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return CN_EIO;
    c += w, n -= (size_t)w;
  }
  return 0;
}

/* Exactly n bytes: CN_EPARSE when the file ends first (it shrank, or lied
 * about its lengths), CN_EIO when reading fails. */
static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return CN_EIO;
    if (r == 0)
      return CN_EPARSE;
    c += r, n -= (size_t)r;
  }
  return 0;
}

/* mkdir -p: the parents with the usual mode, the store itself private (it
 * may hold what one user's requests fetched). 0, CN_ENOMEM, or CN_EIO when
 * dir is not a directory at the end. */
static int make_dirs(const char *dir, size_t n) {
  if (n == 0)
    return CN_EIO;
  char *p = cn__malloc(n + 1);
  if (!p)
    return CN_ENOMEM;
  memcpy(p, dir, n + 1);
  for (size_t i = 1; i < n; i++) {
    if (p[i] != '/')
      continue;
    p[i] = '\0';
    (void)mkdir(p, 0755); /* exists, or the last mkdir says why not */
    p[i] = '/';
  }
  struct stat st;
  int rc = CN_EIO;
  if ((mkdir(p, 0700) == 0 || errno == EEXIST) && stat(p, &st) == 0 &&
      S_ISDIR(st.st_mode))
    rc = 0;
  cn__free(p);
  return rc;
}

/* Remove temporary files older than an hour: a process killed between
 * creating one and renaming it leaves it behind, and nothing else would. */
static void sweep_tmp(const char *dir) {
  DIR *dh = opendir(dir);
  if (!dh)
    return;
  time_t old = time(NULL) - TMP_MAX_AGE_S;
  struct dirent *e;
  while ((e = readdir(dh))) {
    struct stat st;
    if (strncmp(e->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0 ||
        fstatat(dirfd(dh), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (S_ISREG(st.st_mode) && st.st_mtime < old)
      (void)unlinkat(dirfd(dh), e->d_name, 0);
  }
  closedir(dh);
}

static unsigned long thread_id(void) {
#ifdef SYS_gettid
  return (unsigned long)syscall(SYS_gettid);
#else
  return 0; /* the counter alone keeps names unique within the process */
#endif
}

/* --------------------------------------------------------------- get */

/* Read and check the file open on fd (st: its fstat) for key. OUT: *data,
 * *len on success. CN_EPARSE (malformed), CN_ENOENT (another key's file),
 * CN_ENOMEM or CN_EIO. */
static int read_entry(int fd, const struct stat *st, const char *key,
                      void **data, size_t *len) {
  unsigned char head[HEAD], sum[8], extra;
  unsigned char *kbuf = NULL;
  void *buf = NULL;
  int rc = CN_EPARSE;
  if (!S_ISREG(st->st_mode) || st->st_size < FIXED ||
      (uint64_t)st->st_size > FIXED + MAX_KEY + MAX_VALUE)
    goto cleanup;
  size_t size = (size_t)st->st_size;
  if ((rc = read_all(fd, head, HEAD)))
    goto cleanup;
  rc = CN_EPARSE;
  size_t klen = get32(head + 8);
  if (memcmp(head, MAGIC, 4) != 0 || get32(head + 4) != VERSION ||
      klen > MAX_KEY || klen > size - FIXED)
    goto cleanup;
  size_t n = size - FIXED - klen; /* what the size leaves for the data */
  if (n > MAX_VALUE)
    goto cleanup;
  rc = CN_ENOMEM;
  if (!(kbuf = cn__malloc(klen + 8)) || !(buf = cn__malloc(n ? n : 1)))
    goto cleanup;
  if ((rc = read_all(fd, kbuf, klen + 8)))
    goto cleanup;
  rc = CN_EPARSE;
  if (get64(kbuf + klen) != n)
    goto cleanup;
  if ((rc = read_all(fd, buf, n)) || (rc = read_all(fd, sum, 8)))
    goto cleanup;
  /* The file must end here even if it grew since fstat. */
  rc = read_all(fd, &extra, 1);
  if (rc != CN_EPARSE) {
    rc = rc ? rc : CN_EPARSE;
    goto cleanup;
  }
  uint64_t h = cn__fnv64(
      cn__fnv64(cn__fnv64(CN__FNV_OFFSET, head, HEAD), kbuf, klen + 8), buf, n);
  if (h != get64(sum))
    goto cleanup;
  rc = CN_ENOENT;
  if (klen != strlen(key) || memcmp(kbuf, key, klen) != 0)
    goto cleanup;
  *data = buf, *len = n, buf = NULL;
  rc = 0;
cleanup:
  cn__free(kbuf);
  cn__free(buf);
  return rc;
}

/* Remove path if it is still the file that was read (st), not one a put
 * renamed in since. */
static void remove_if_same(const char *path, const struct stat *st) {
  struct stat now;
  if (lstat(path, &now) == 0 && now.st_ino == st->st_ino &&
      now.st_dev == st->st_dev)
    (void)unlink(path);
}

static int disk_get(void *self, const char *key, void **data, size_t *len) {
  disk *d = self;
  char *path = NULL;
  int fd = -1;
  struct stat st;
  *data = NULL, *len = 0;
  int rc = key_path(d, key, &path);
  if (rc)
    goto cleanup;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    rc = errno == ENOENT ? CN_ENOENT : CN_EIO;
    if (errno == ELOOP) /* a symlink: never one of ours */
      rc = CN_EPARSE, (void)unlink(path);
    goto cleanup;
  }
  if (fstat(fd, &st) != 0) {
    rc = CN_EIO;
    goto cleanup;
  }
  rc = read_entry(fd, &st, key, data, len);
  if (rc == CN_EPARSE || rc == CN_ENOENT)
    remove_if_same(path, &st);
cleanup:
  if (fd >= 0)
    close(fd);
  cn__free(path);
  return rc;
}

/* --------------------------------------------------------------- put */

/* Write the file's bytes to fd. 0 or CN_EIO (disk full, ...). */
static int write_entry(int fd, const char *key, size_t klen, const void *data,
                       size_t len) {
  unsigned char head[HEAD], dlen[8], sum[8];
  memcpy(head, MAGIC, 4);
  put32(head + 4, VERSION);
  put32(head + 8, (uint32_t)klen);
  put64(dlen, len);
  uint64_t h = cn__fnv64(CN__FNV_OFFSET, head, HEAD);
  h = cn__fnv64(cn__fnv64(cn__fnv64(h, key, klen), dlen, 8), data, len);
  put64(sum, h);
  int rc = write_all(fd, head, HEAD);
  if (!rc)
    rc = write_all(fd, key, klen);
  if (!rc)
    rc = write_all(fd, dlen, 8);
  if (!rc)
    rc = write_all(fd, data, len);
  if (!rc)
    rc = write_all(fd, sum, 8);
  return rc;
}

static int disk_put(void *self, const char *key, const void *data,
                    size_t len) {
  disk *d = self;
  size_t klen = strlen(key);
  if (len > MAX_VALUE || klen > MAX_KEY)
    return CN_ETOOBIG;
  if (len && !data)
    return CN_EINVAL;
  char *path = NULL, *tmp = NULL;
  int fd = -1, created = 0;
  int rc = key_path(d, key, &path);
  if (rc)
    goto cleanup;
  size_t cap = d->dir_len + 96;
  rc = CN_ENOMEM;
  if (!(tmp = cn__malloc(cap)))
    goto cleanup;
  snprintf(tmp, cap, "%s/" TMP_PREFIX "%ld-%lu-%lu", d->dir, (long)getpid(),
           thread_id(), atomic_fetch_add(&tmp_counter, 1));
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  fd = open(tmp, flags, 0600);
  if (fd < 0 && errno == ENOENT) { /* the dir was removed: make it again */
    rc = make_dirs(d->dir, d->dir_len);
    if (rc)
      goto cleanup;
    fd = open(tmp, flags, 0600);
  }
  rc = CN_EIO;
  if (fd < 0)
    goto cleanup;
  created = 1;
  rc = write_entry(fd, key, klen, data, len);
  if (close(fd) != 0 && !rc) /* NFS reports write errors here */
    rc = CN_EIO;
  fd = -1;
  if (!rc && rename(tmp, path) != 0)
    rc = CN_EIO;
  if (!rc)
    created = 0; /* it is the key's file now */
cleanup:
  if (fd >= 0)
    close(fd);
  if (created)
    (void)unlink(tmp);
  cn__free(tmp);
  cn__free(path);
  return rc;
}

/* ------------------------------------------------------- del, free */

static int disk_del(void *self, const char *key) {
  char *path = NULL;
  int rc = key_path(self, key, &path);
  if (!rc && unlink(path) != 0 && errno != ENOENT)
    rc = CN_EIO;
  cn__free(path);
  return rc;
}

static void disk_free(void *self) {
  disk *d = self;
  if (!d)
    return;
  cn__free(d->dir);
  cn__free(d);
}

static const cn__cache_store_ops disk_ops = {
    .get = disk_get,
    .put = disk_put,
    .del = disk_del,
    .free = disk_free,
};

int cn__cache_disk(const char *dir, cn__cache_store *out) {
  if (!dir || !out)
    return CN_EINVAL;
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  disk *d = cn__calloc(1, sizeof(*d));
  if (!d || !(d->dir = cn__malloc(n + 1))) {
    cn__free(d);
    return CN_ENOMEM;
  }
  memcpy(d->dir, dir, n);
  d->dir[n] = '\0';
  d->dir_len = n;
  int rc = make_dirs(d->dir, d->dir_len);
  if (rc) {
    disk_free(d);
    return rc;
  }
  sweep_tmp(d->dir);
  out->ops = &disk_ops;
  out->self = d;
  return 0;
}
