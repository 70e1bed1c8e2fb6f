/*
 * The build cache. Beside each output sits a stamp: the hash of the flags
 * it was compiled with and the mtime (to the nanosecond) and size of every
 * file it was made from, taken from the compiler's own dependency list
 * (-MMD), so an edited header recompiles exactly the files including it.
 * An output is reused when its stamp still describes the world.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define STAMP_MAGIC "cairn-stamp 1"

/* File times come from a coarse clock that may lag the one read here by a
 * few milliseconds: an input that changed this close to the start of its
 * compile counts as changed during it. */
#define RACY_NS 20000000

int64_t cn__cli_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One "in <sec> <nsec> <size> <path>" line: does the file still match? */
static int input_fresh(const char *line) {
  long long sec, nsec, size;
  int off = 0;
  if (sscanf(line, "in %lld %lld %lld %n", &sec, &nsec, &size, &off) != 3 ||
      !off)
    return 0;
  struct stat st;
  return stat(line + off, &st) == 0 && st.st_mtim.tv_sec == sec &&
         st.st_mtim.tv_nsec == nsec && st.st_size == size;
}

int cn__cli_stamp_check(const char *path, uint64_t flags, cn__cli_stamp *st) {
  memset(st, 0, sizeof(*st));
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[CN__CLI_PATH + 128];
  int fresh = 0, ok_flags = 0, ninputs = 0;
  if (!fgets(line, sizeof line, f) || strncmp(line, STAMP_MAGIC, 13))
    goto cleanup;
  fresh = 1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    unsigned long long h;
    if (sscanf(line, "flags %llx", &h) == 1) {
      st->flags = h;
      ok_flags = h == flags;
    } else if (!strncmp(line, "gen ", 4)) {
      st->gen = (unsigned)strtoul(line + 4, NULL, 10);
    } else if (!strncmp(line, "out ", 4)) {
      snprintf(st->out, sizeof st->out, "%s", line + 4);
    } else if (!strncmp(line, "in ", 3)) {
      ninputs++;
      /* Go on reading after a change: the rest of the stamp (out, gen)
       * is still wanted. */
      if (fresh && !input_fresh(line))
        fresh = 0;
    }
  }
  struct stat sst;
  if (!ok_flags || !ninputs || !st->out[0] || stat(st->out, &sst))
    fresh = 0;
cleanup:
  fclose(f);
  return fresh;
}

/* The next file name of a make rule ("a.o: a.c b.h \\\n c.h"), unescaping
 * "\ " and "$$". Returns the position after it, or NULL at the end. */
static const char *dep_word(const char *p, char *out, size_t cap) {
  while (*p == ' ' || *p == '\t' || *p == '\n' ||
         (*p == '\\' && p[1] == '\n'))
    p += *p == '\\' ? 2 : 1;
  if (!*p)
    return NULL;
  size_t n = 0;
  while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
    char ch = *p;
    if (ch == '\\' && p[1] == '\n')
      break;
    if (ch == '\\' && (p[1] == ' ' || p[1] == '#' || p[1] == '\\'))
      ch = *++p;
    else if (ch == '$' && p[1] == '$')
      p++;
    if (n + 1 < cap)
      out[n++] = ch;
    p++;
  }
  out[n] = '\0';
  return p;
}

static int read_all(const char *path, cn__buf *b) {
  FILE *f = fopen(path, "r");
  if (!f)
    return CN_EIO;
  char chunk[4096];
  size_t n;
  int rc = 0;
  while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    rc = cn__buf_append(b, chunk, n);
  fclose(f);
  if (!rc)
    rc = cn__buf_append(b, "", 1);
  return rc;
}

int cn__cli_stamp_write(const char *path, const cn__cli_stamp *st,
                        const char *depfile) {
  cn__buf deps = {0};
  char tmp[CN__CLI_PATH + 8], word[CN__CLI_PATH];
  FILE *f = NULL;
  int rc = read_all(depfile, &deps);
  if (rc)
    goto cleanup;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (!(f = fopen(tmp, "w"))) {
    rc = CN_EIO;
    goto cleanup;
  }
  fprintf(f, "%s\nflags %016llx\ngen %u\nout %s\n", STAMP_MAGIC,
          (unsigned long long)st->flags, st->gen, st->out);
  /* Skip the rule's target, up to the first ": ". */
  const char *p = strstr(deps.ptr, ": ");
  p = p ? p + 2 : deps.ptr + deps.len - 1;
  while ((p = dep_word(p, word, sizeof word))) {
    struct stat s;
    if (stat(word, &s) ||
        (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec >=
            st->started_ns - RACY_NS) {
      rc = CN_EIO; /* gone, or changed while being compiled: stale */
      break;
    }
    fprintf(f, "in %lld %lld %lld %s\n", (long long)s.st_mtim.tv_sec,
            (long long)s.st_mtim.tv_nsec, (long long)s.st_size, word);
  }
  if (fclose(f) && !rc)
    rc = CN_EIO;
  f = NULL;
  if (!rc && rename(tmp, path))
    rc = CN_EIO;
  if (rc)
    remove(tmp);
cleanup:
  cn__buf_free(&deps);
  return rc;
}
