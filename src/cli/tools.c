/*
 * The toolchain an app is built with: the system's C compiler, this
 * cairn's <cairn.h> and libcairn.a, and the libraries libcairn needs.
 *
 * Where cairn.h and libcairn.a are: a `cairn` run from the build directory
 * of a source tree uses that tree (CN_TREE_INCLUDE, CN_TREE_LIBDIR, set by
 * CMake); an installed one uses <prefix>/include and <prefix>/lib, where
 * <prefix> is the parent of the directory holding the executable, so a
 * prefix can be moved (or staged with DESTDIR) and still work.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef CN_TREE_INCLUDE
#define CN_TREE_INCLUDE ""
#endif
#ifndef CN_TREE_LIBDIR
#define CN_TREE_LIBDIR ""
#endif
#ifndef CN_LINK_LIBS
#define CN_LINK_LIBS "-luv -ljansson -lpcre2-8 -lpthread -ldl"
#endif
#ifndef CN_SAN_CFLAGS
#define CN_SAN_CFLAGS ""
#endif
#ifndef CN_INSTALL_LIBDIR
#define CN_INSTALL_LIBDIR "lib"
#endif
#ifndef CN_INSTALL_INCLUDEDIR
#define CN_INSTALL_INCLUDEDIR "include"
#endif

uint64_t cn__cli_hash(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* ------------------------------------------------------------- argv */

void cn__cli_argv_add(cn__cli_argv *a, const char *word) {
  if (a->failed)
    return;
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 32;
    char **v = cn__realloc(a->v, cap * sizeof(*v));
    if (!v) {
      a->failed = 1;
      return;
    }
    a->v = v;
    a->cap = cap;
  }
  if (!(a->v[a->n] = cn__strdup(word))) {
    a->failed = 1;
    return;
  }
  a->v[++a->n] = NULL;
}

void cn__cli_argv_addf(cn__cli_argv *a, const char *fmt, ...) {
  char buf[CN__CLI_PATH + 64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof buf)
    a->failed = 1;
  else
    cn__cli_argv_add(a, buf);
}

void cn__cli_argv_free(cn__cli_argv *a) {
  for (size_t i = 0; i < a->n; i++)
    cn__free(a->v[i]);
  cn__free(a->v);
  memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------ finding */

/* Split s into words at blanks and semicolons (CMake lists), copying them
 * into t->words from *used. Returns how many were stored. */
static int split_words(cn__cli_tools *t, size_t *used, const char *s,
                       char **out, int max) {
  int n = 0;
  while (*s && n < max) {
    while (*s == ' ' || *s == '\t' || *s == ';')
      s++;
    size_t len = strcspn(s, " \t;");
    if (!len)
      break;
    if (*used + len + 1 > sizeof t->words)
      break;
    char *w = t->words + *used;
    memcpy(w, s, len);
    w[len] = '\0';
    *used += len + 1;
    out[n++] = w;
    s += len;
  }
  return n;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir + "/" + a (a used as is when absolute) + "/" + b into out. */
static int join(char *out, const char *dir, const char *a, const char *b) {
  int n = a[0] == '/' ? snprintf(out, CN__CLI_PATH, "%s/%s", a, b)
                      : snprintf(out, CN__CLI_PATH, "%s/%s/%s", dir, a, b);
  return n > 0 && n < CN__CLI_PATH;
}

/* The tree's paths, when this executable is the tree's. */
static int from_tree(cn__cli_tools *t, const char *exe_dir) {
  char a[PATH_MAX], b[PATH_MAX], h[CN__CLI_PATH];
  if (!CN_TREE_LIBDIR[0] || !realpath(exe_dir, a) ||
      !realpath(CN_TREE_LIBDIR, b) || strcmp(a, b))
    return 0;
  snprintf(h, sizeof h, "%s/cairn.h", CN_TREE_INCLUDE);
  snprintf(t->libcairn, sizeof t->libcairn, "%s/libcairn.a", CN_TREE_LIBDIR);
  if (!file_exists(h) || !file_exists(t->libcairn))
    return 0;
  snprintf(t->include_dir, sizeof t->include_dir, "%s", CN_TREE_INCLUDE);
  return 1;
}

static int from_prefix(cn__cli_tools *t, const char *exe_dir) {
  char prefix[CN__CLI_PATH], h[CN__CLI_PATH];
  snprintf(prefix, sizeof prefix, "%s", exe_dir);
  char *slash = strrchr(prefix, '/');
  if (!slash)
    return 0;
  *slash = '\0';
  if (!prefix[0])
    strcpy(prefix, "/");
  if (!join(t->include_dir, prefix, CN_INSTALL_INCLUDEDIR, "") ||
      !join(h, prefix, CN_INSTALL_INCLUDEDIR, "cairn.h") ||
      !join(t->libcairn, prefix, CN_INSTALL_LIBDIR, "libcairn.a"))
    return 0;
  t->include_dir[strlen(t->include_dir) - 1] = '\0'; /* the "/" */
  return file_exists(h) && file_exists(t->libcairn);
}

int cn__cli_tools_find(cn__cli_tools *t, int color, char *err,
                       size_t errlen) {
  memset(t, 0, sizeof(*t));
  size_t used = 0;
  const char *cc = getenv("CC");
  t->ncc = split_words(t, &used, cc && *cc ? cc : "cc", t->cc, 7);
  t->nlibs = split_words(t, &used, CN_LINK_LIBS, t->libs, 15);
  t->nsan = split_words(t, &used, CN_SAN_CFLAGS, t->san, 7);
  snprintf(t->objcopy, sizeof t->objcopy, "objcopy");
  t->color = color;
  char exe[CN__CLI_PATH];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(err, errlen, "cannot find this executable (/proc/self/exe)");
    return CN_ENOENT;
  }
  exe[n] = '\0';
  *strrchr(exe, '/') = '\0';
  if (from_tree(t, exe) || from_prefix(t, exe))
    return 0;
  snprintf(err, errlen,
           "cannot find cairn.h and libcairn.a: looked in %s's build tree "
           "and under %s/..; reinstall cairn (make install)",
           exe, exe);
  return CN_ENOENT;
}

/* ----------------------------------------------------------- commands */

void cn__cli_compile_argv(const cn__cli_tools *t, cn__cli_out_kind kind,
                          const char *src, const char *out,
                          const char *depfile, const char *symbol,
                          cn__cli_argv *a, uint64_t *flags_hash) {
  for (int i = 0; i < t->ncc; i++)
    cn__cli_argv_add(a, t->cc[i]);
  cn__cli_argv_add(a, "-std=gnu17");
  cn__cli_argv_add(a, "-Wall");
  /* Functions a file does not mark static stay inside it: two route files
   * may both have a helper called `load`, in a build as in dev. */
  cn__cli_argv_add(a, "-fvisibility=hidden");
  for (int i = 0; i < t->nsan; i++)
    cn__cli_argv_add(a, t->san[i]);
  cn__cli_argv_addf(a, "-I%s", t->include_dir);
  if (kind == CN__OUT_OBJECT) {
    cn__cli_argv_add(a, "-O2");
    cn__cli_argv_add(a, "-g");
    cn__cli_argv_add(a, "-c");
    if (symbol)
      cn__cli_argv_addf(a, "-DCN_ROUTE_SYMBOL=%s", symbol);
  } else {
    cn__cli_argv_add(a, "-O0");
    cn__cli_argv_add(a, "-g");
    cn__cli_argv_add(a, "-fPIC");
    cn__cli_argv_add(a, "-shared");
  }
  cn__cli_argv_add(a, "-MMD");
  cn__cli_argv_add(a, src);
  uint64_t h = CN__CLI_HASH_INIT;
  for (size_t i = 0; i < a->n; i++)
    h = cn__cli_hash(a->v[i], strlen(a->v[i]) + 1, h);
  *flags_hash = h;
  /* Not in the hash: a terminal and a pipe need not compile twice. */
  cn__cli_argv_add(a, t->color ? "-fdiagnostics-color=always"
                               : "-fdiagnostics-color=never");
  cn__cli_argv_add(a, "-MF");
  cn__cli_argv_add(a, depfile);
  cn__cli_argv_add(a, "-o");
  cn__cli_argv_add(a, out);
}
