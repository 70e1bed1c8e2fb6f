/* GET /api/renders: {"isr": n, "tagged": n, "fn": n, ...}: how many times
 * each loader or cached function ran. In memory; or, when COUNTERS_DIR is
 * set (several instances of the app behind a balancer), one file per
 * counter there, so that the instances count together. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../../../lib/counters.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { const char *name; int n; } table[16];

/* The counter's file, locked: add (0 to read) under the lock. */
static int file_add(const char *dir, const char *name, int add) {
  char path[512], buf[32] = {0};
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0 || flock(fd, LOCK_EX)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  int v = (n > 0 ? atoi(buf) : 0) + add;
  if (add) {
    int len = snprintf(buf, sizeof buf, "%d", v);
    if (pwrite(fd, buf, (size_t)len, 0) != len || ftruncate(fd, len))
      v = -1;
  }
  close(fd);
  return v;
}

static int bump_or_get(const char *name, int add) {
  const char *dir = getenv("COUNTERS_DIR");
  if (dir && *dir)
    return file_add(dir, name, add);
  pthread_mutex_lock(&mu);
  int i = 0;
  while (i < 15 && table[i].name && strcmp(table[i].name, name))
    i++;
  if (add)
    table[i].name = name;
  int v = table[i].name ? (table[i].n += add) : 0;
  pthread_mutex_unlock(&mu);
  return v;
}

int counter_bump(const char *name) { return bump_or_get(name, 1); }

int counter_get(const char *name) { return bump_or_get(name, 0); }

static int renders(cn_req *req, cn_res *res) {
  (void)req;
  json_t *j = json_object();
  const char *dir = getenv("COUNTERS_DIR");
  if (dir && *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (e->d_name[0] != '.')
        json_object_set_new(j, e->d_name,
                            json_integer(file_add(dir, e->d_name, 0)));
    if (d)
      closedir(d);
  } else {
    pthread_mutex_lock(&mu);
    for (int i = 0; i < 16 && table[i].name; i++)
      json_object_set_new(j, table[i].name, json_integer(table[i].n));
    pthread_mutex_unlock(&mu);
  }
  int rc = cn_res_json(res, 200, j);
  json_decref(j);
  return rc;
}

CN_ROUTE(.GET = renders, .config = {.nonblocking = 1});
