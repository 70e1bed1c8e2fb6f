/* The registry of server-only values and the scan for them (taint.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <openssl/rand.h>

#include "taint/taint.h"
#include "template/template.h"

typedef struct needle {
  char *s;
  size_t len;
  const char *what; /* shared by a value's encodings: owned by the first */
  int owns_what;
  int object; /* the marker key of cn_taint_object */
} needle;

/* Where a pair of bytes stands in a needle: the next entry for the same
 * pair, 0 at the end (entries are 1-based). */
typedef struct spot {
  uint32_t needle, off, next;
} spot;

/*
 * The scan: every needle is at least `shortest` bytes long, so any place
 * one stands covers a pair of bytes starting at a multiple of
 * stride = shortest - 1. Only those pairs are looked up: in a bitmap of
 * every pair of every needle (8 KiB, in L1), then in the list of where
 * that pair stands (head[pair]), each place checked in full. With the
 * 8-byte environment values that is one lookup per 7 bytes of page.
 */
static struct {
  pthread_rwlock_t lock;
  needle *v;
  size_t n, cap;
  size_t shortest;
  uint64_t pairs[65536 / 64];
  uint32_t *head; /* 65,536 list heads, 0 for none */
  spot *spots;
  size_t nspots, capspots;
  char marker[64]; /* "cairn:server-only:<nonce>" */
} T = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static atomic_size_t nneedles; /* read without the lock: 0 skips the scan */

static unsigned pair(const char *p) {
  return (unsigned char)p[0] | (unsigned)(unsigned char)p[1] << 8;
}

/* Under the write lock. s is copied; what is taken when own. */
static int add_locked(const char *s, size_t len, const char *what, int own,
                      int object) {
  for (size_t i = 0; i < T.n; i++)
    if (T.v[i].len == len && !memcmp(T.v[i].s, s, len))
      return 0; /* known: an encoding that changes nothing, or a repeat */
  if (T.n == CN__TAINT_MAX)
    return CN_ETOOBIG;
  if (T.n == T.cap) {
    size_t cap = T.cap ? T.cap * 2 : 16;
    needle *g = cn__realloc(T.v, cap * sizeof *g);
    if (!g)
      return CN_ENOMEM;
    T.v = g;
    T.cap = cap;
  }
  if (!T.head && !(T.head = cn__calloc(65536, sizeof *T.head)))
    return CN_ENOMEM;
  if (T.nspots + len - 1 > T.capspots) {
    size_t cap = CN__MAX(T.capspots * 2, T.nspots + len + 64);
    spot *g = cn__realloc(T.spots, cap * sizeof *g);
    if (!g)
      return CN_ENOMEM;
    T.spots = g;
    T.capspots = cap;
  }
  char *copy = cn__malloc(len);
  if (!copy)
    return CN_ENOMEM;
  memcpy(copy, s, len);
  for (size_t o = 0; o + 1 < len; o++) {
    unsigned k = pair(s + o);
    T.pairs[k >> 6] |= (uint64_t)1 << (k & 63);
    T.spots[T.nspots++] = (spot){(uint32_t)T.n, (uint32_t)o, T.head[k]};
    T.head[k] = (uint32_t)T.nspots;
  }
  if (!T.n || len < T.shortest)
    T.shortest = len;
  T.v[T.n++] = (needle){copy, len, what, own, object};
  atomic_store(&nneedles, T.n);
  return 0;
}

/* s as the inside of a JSON string: jansson's escapes, "/" as "\/" when
 * slash, and then <, >, &, U+2028 and U+2029 as \u escapes when script
 * (the islands' props). Appends to out; CN_EINVAL when s is not UTF-8. */
static int json_inner(cn__buf *out, const char *s, size_t len, int slash,
                      int script) {
  json_t *j = json_stringn(s, len);
  if (!j)
    return CN_EINVAL;
  cn__buf b = {0};
  int rc = cn__json_write(&b, j, slash ? CN__JSON_ESCAPE_SLASH : 0);
  json_decref(j);
  for (size_t i = 1; !rc && i + 1 < b.len; i++) {
    const char *p = b.ptr + i;
    if (script && (*p == '<' || *p == '>' || *p == '&'))
      rc = cn__buf_appendf(out, "\\u%04x", (unsigned)*p);
    else if (script && i + 3 < b.len && !memcmp(p, "\xe2\x80", 2) &&
             (p[2] == '\xa8' || p[2] == '\xa9')) {
      rc = cn__buf_appendf(out, "\\u%s", p[2] == '\xa8' ? "2028" : "2029");
      i += 2;
    } else {
      rc = cn__buf_append(out, p, 1);
    }
  }
  cn__buf_free(&b);
  return rc;
}

/* value and the ways cairn's encoders may write it. what is taken. */
static int add_value(const char *s, size_t len, char *what) {
  cn__buf html = {0}, enc = {0};
  pthread_rwlock_wrlock(&T.lock);
  size_t before = T.n;
  int rc = add_locked(s, len, what, 1, 0);
  if (T.n == before) {
    cn__free(what); /* tainted already (the first message stays), or failed */
  } else {
    rc = cn__tpl_escape(&html, s, len);
    const cn__buf *forms[2] = {&(cn__buf){.ptr = (char *)s, .len = len}, &html};
    if (!rc)
      rc = add_locked(html.ptr, html.len, what, 0, 0);
    for (int f = 0; !rc && f < 2; f++)
      for (int slash = 0; !rc && slash < 2; slash++)
        for (int script = 0; !rc && script < 2; script++) {
          enc.len = 0;
          int e = json_inner(&enc, forms[f]->ptr, forms[f]->len, slash, script);
          if (e == CN_EINVAL)
            break; /* not UTF-8: no JSON writes it */
          rc = e ? e : add_locked(enc.ptr, enc.len, what, 0, 0);
        }
  }
  pthread_rwlock_unlock(&T.lock);
  cn__buf_free(&html);
  cn__buf_free(&enc);
  return rc;
}

CN_EXTERN int cn_taint_value(const char *message, const char *value) {
  if (!value || strlen(value) < CN__TAINT_MIN)
    return CN_EINVAL;
  char *what = cn__strdup(message && *message ? message
                                              : "a value tainted by the app");
  return what ? add_value(value, strlen(value), what) : CN_ENOMEM;
}

static pthread_once_t marker_once = PTHREAD_ONCE_INIT;
static int marker_rc;

static void make_marker(void) {
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1) {
    marker_rc = CN_ESYS;
    return;
  }
  char *p = T.marker + sprintf(T.marker, "cairn:server-only:");
  for (size_t i = 0; i < sizeof r; i++)
    p += sprintf(p, "%02x", r[i]);
  pthread_rwlock_wrlock(&T.lock);
  marker_rc = add_locked(T.marker, strlen(T.marker), NULL, 0, 1);
  pthread_rwlock_unlock(&T.lock);
}

CN_EXTERN int cn_taint_object(json_t *obj, const char *message) {
  if (!json_is_object(obj))
    return CN_EINVAL; /* an array has no place for the mark that a loop
                         over its items would not see */
  pthread_once(&marker_once, make_marker);
  if (marker_rc)
    return marker_rc;
  json_t *m = json_string(message && *message ? message
                                              : "an object tainted by the app");
  if (!m)
    return CN_EINVAL; /* a message that is not UTF-8 */
  return json_object_set_new(obj, T.marker, m) ? CN_ENOMEM : 0;
}

/* ------------------------------------------------------- environment */

int cn__taint_env_watched(const char *name, size_t len) {
  static const char *const prefixes[] = {"CN_PUBLIC_", "LC_", "XDG_", "npm_",
                                         "DBUS_", "SSH_", "SUDO_"};
  static const char *const names[] = {
      "PATH", "HOME", "PWD", "OLDPWD", "SHELL", "USER", "LOGNAME", "USERNAME",
      "TERM", "COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "LANG",
      "LANGUAGE", "TZ", "HOSTNAME", "HOST", "HOSTTYPE", "OSTYPE", "MACHTYPE",
      "PORT", "TMPDIR", "TMP", "TEMP", "SHLVL", "_", "MAIL", "MAILPATH",
      "DISPLAY", "WAYLAND_DISPLAY", "EDITOR", "VISUAL", "PAGER", "LESS",
      "LESSOPEN", "LESSCLOSE", "LS_COLORS", "MANPATH", "INFOPATH", "PS1",
      "PS2", "PS4", "PROMPT_COMMAND", "HISTFILE", "GPG_TTY", "INVOCATION_ID",
      "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "MOTD_SHOWN", "DEBIAN_FRONTEND",
      "NODE_ENV", "CAIRN_ENV", "INIT_CWD", "NO_COLOR", "FORCE_COLOR",
      "NODE_OPTIONS", "NODE_PATH", "NODE_TEST_CONTEXT", "CC", "CXX", "CFLAGS",
      "LDFLAGS", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "LD_PRELOAD",
      "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "CAIRN_LISTEN_FD"};
  for (size_t i = 0; i < CN__ARRAY_LEN(prefixes); i++)
    if (len >= strlen(prefixes[i]) &&
        !memcmp(name, prefixes[i], strlen(prefixes[i])))
      return 0;
  for (size_t i = 0; i < CN__ARRAY_LEN(names); i++)
    if (strlen(names[i]) == len && !memcmp(name, names[i], len))
      return 0;
  return 1;
}

int cn__taint_env(char **envp) {
  for (size_t i = 0; envp && envp[i]; i++) {
    const char *eq = strchr(envp[i], '=');
    if (!eq || !cn__taint_env_watched(envp[i], (size_t)(eq - envp[i])) ||
        strlen(eq + 1) < CN__TAINT_ENV_MIN)
      continue;
    char *what = cn__malloc((size_t)(eq - envp[i]) + 32);
    if (!what)
      return CN_ENOMEM;
    sprintf(what, "the environment variable %.*s", (int)(eq - envp[i]),
            envp[i]);
    int rc = add_value(eq + 1, strlen(eq + 1), what);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---------------------------------------------------------- scanning */

/* The message of a tainted object: the string after the marker key as
 * written ("<key>":"<message>"), when it is there to read. */
static void object_what(const char *at, const char *end, cn__taint_hit *hit) {
  const char *p = at;
  while (p < end && (*p == '"' || *p == ':' || *p == ' ' || *p == '\\'))
    p++;
  const char *q = p;
  while (q < end && *q != '"' && *q != '\\' && q - p < 150)
    q++;
  snprintf(hit->what, sizeof hit->what, "an object tainted: %.*s",
           (int)(q - p), p);
}

int cn__taint_find(const char *p, size_t n, cn__taint_hit *hit) {
  if (!atomic_load_explicit(&nneedles, memory_order_acquire) || n < 2)
    return 0;
  const needle *nd = NULL;
  size_t at = 0;
  pthread_rwlock_rdlock(&T.lock);
  size_t stride = T.shortest > 2 ? T.shortest - 1 : 1;
  for (size_t i = 0; i + 1 < n && !nd; i += stride) {
    unsigned k = pair(p + i);
    if (!(T.pairs[k >> 6] >> (k & 63) & 1))
      continue;
    for (uint32_t e = T.head[k]; e && !nd; e = T.spots[e - 1].next) {
      const spot *sp = &T.spots[e - 1];
      const needle *c = &T.v[sp->needle];
      if (sp->off <= i && c->len <= n - (i - sp->off) &&
          !memcmp(c->s, p + i - sp->off, c->len))
        nd = c, at = i - sp->off;
    }
  }
  if (nd && nd->object)
    object_what(p + at + nd->len, p + n, hit);
  else if (nd)
    snprintf(hit->what, sizeof hit->what, "%s", nd->what);
  pthread_rwlock_unlock(&T.lock);
  return nd != NULL;
}

int cn__taint_json(const json_t *v, cn__taint_hit *hit) {
  if (!v || !atomic_load_explicit(&nneedles, memory_order_acquire))
    return 0;
  cn__buf b = {0};
  /* Out of memory: the caller's own write of v will fail the same way. */
  int found = !cn__json_write(&b, v, 0) && cn__taint_find(b.ptr, b.len, hit);
  cn__buf_free(&b);
  return found;
}

void cn__taint_describe(const cn__taint_hit *hit, const char *where,
                        char *buf, size_t cap) {
  snprintf(buf, cap, "a server-only value (%s) would reach the browser in %s",
           hit->what, where);
}

void cn__taint_reset(void) {
  pthread_rwlock_wrlock(&T.lock);
  for (size_t i = 0; i < T.n; i++) {
    if (T.v[i].owns_what)
      cn__free((char *)T.v[i].what);
    cn__free(T.v[i].s);
  }
  cn__free(T.v);
  cn__free(T.spots);
  cn__free(T.head);
  T.v = NULL;
  T.spots = NULL;
  T.head = NULL;
  T.n = T.cap = T.nspots = T.capspots = T.shortest = 0;
  memset(T.pairs, 0, sizeof T.pairs);
  atomic_store(&nneedles, 0);
  /* The marker's nonce stays: objects tainted before still carry it. */
  if (T.marker[0])
    add_locked(T.marker, strlen(T.marker), NULL, 0, 1);
  pthread_rwlock_unlock(&T.lock);
}
