/*
 * `cairn __dev-server`: the server process of `cairn dev`.
 *
 * It is this same executable, started by the dev command in the app's
 * directory with a control socket on fd 3 and, on fd 4, the listening
 * socket the command keeps for the whole session (CAIRN_LISTEN_FD, see
 * dev.h). Each route file arrives as a shared object of its own; the
 * executable exports libcairn's symbols (-rdynamic), so the objects bind
 * to them. An object is loaded with RTLD_LOCAL (two files may both define
 * a helper of the same name) and never unloaded: a request may still be
 * running its code after it was replaced.
 *
 * The control protocol, one command per line, fields separated by tabs:
 *   from the command, before `serve`:
 *     listen <port>\t<hostname>
 *     build <id>
 *     route <pattern>\t<source>\t<shared object>
 *     middleware <shared object>
 *     data <module>\t<source>\t<shared object>   a data/<module>.c
 *     migration <path>           data/migrations/NNN_name.sql, in order
 *     error <n>\n<n bytes>       the pending build error (or "clear")
 *     serve                      start serving
 *   from the command, while serving:
 *     replace <pattern>\t<shared object>
 *     error <n>\n<n bytes> | clear | reload
 *     stop                       end the event streams, drain, exit
 *   to the command:
 *     shown                            an error or clear sent while serving
 *                                      took effect: the next request sees it
 *     ok <pattern>\t<object>           a replace took effect
 *     fail <pattern>\t<object>\t<why>  a route (or "middleware.c") could
 *                                      not be loaded or added; the code it
 *                                      had before stays
 * End of file on the control socket (the command died) means stop.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "actions/actions.h"
#include "cache/cache.h"
#include "health/health.h"
#include "data/data.h"
#include "dev/dev.h"
#include "page/page.h"
#include "server/server.h"

#define CTL_FD 3

typedef struct serve {
  FILE *in;
  cn_manifest_file *files; /* the pages: templates, then page.c/layout.c */
  size_t nfiles, capfiles;
  cn_app *app;
  cn__dev *dev;
  cn_config cfg;
  char mw_so[CN__CLI_PATH];
  pthread_mutex_t out_mu; /* replies may come from two threads */
  cn_manifest_data *data; /* the data layer: modules and migrations */
  size_t ndata, capdata;
  cn_manifest_migration *migs;
  size_t nmigs, capmigs;
} serve;

static void ctl_write(serve *s, const char *line, size_t n) {
  pthread_mutex_lock(&s->out_mu);
  ssize_t w = write(CTL_FD, line, n);
  (void)w;
  pthread_mutex_unlock(&s->out_mu);
}

static void reply(serve *s, const char *what, const char *pattern,
                  const char *so, const char *message) {
  char line[2048], clean[1024];
  if (message) {
    /* One line, three fields: no line breaks or tabs inside. */
    snprintf(clean, sizeof clean, "%s", message);
    for (char *p = clean; *p; p++)
      if (*p == '\n' || *p == '\t' || *p == '\r')
        *p = ' ';
    message = clean;
  }
  int n = snprintf(line, sizeof line, "%s %s\t%s%s%s\n", what, pattern, so,
                   message ? "\t" : "", message ? message : "");
  if (n < 0)
    return;
  if ((size_t)n >= sizeof line)
    n = (int)sizeof line - 1, line[n - 1] = '\n';
  ctl_write(s, line, (size_t)n);
}

/* Load one shared object and find its symbol; the message in err names
 * what went wrong (dlerror's words: an undefined symbol, a missing file). */
static const void *load(const char *so, const char *symbol, char *err,
                        size_t errlen) {
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(err, errlen, "%s", dlerror());
    return NULL;
  }
  const void *sym = dlsym(h, symbol);
  if (!sym)
    snprintf(err, errlen,
             "the file declares no %s (CN_%s(...) is missing)", symbol,
             !strcmp(symbol, "cn_route") ? "ROUTE, CN_PAGE or CN_DATA"
                                         : "MIDDLEWARE");
  return sym;
}

/* Split "a\tb\tc" in place into at most n fields; returns how many. */
static int fields(char *line, char **f, int n) {
  int k = 0;
  while (k < n) {
    f[k++] = line;
    char *tab = strchr(line, '\t');
    if (!tab)
      break;
    *tab = '\0';
    line = tab + 1;
  }
  return k;
}

/* "error <n>" is followed by n bytes of text. */
static char *read_block(serve *s, const char *count) {
  size_t n = strtoul(count, NULL, 10);
  char *text = cn__malloc(n + 1);
  if (!text || fread(text, 1, n, s->in) != n) {
    cn__free(text);
    return NULL;
  }
  text[n] = '\0';
  return text;
}

static void add_route(serve *s, char *args) {
  char *f[3], err[1024];
  if (fields(args, f, 3) != 3)
    return;
  const cn_route_def *def = load(f[2], "cn_route", err, sizeof err);
  if (def && cn_app_add(s->app, f[0], f[1], def, err, sizeof err))
    def = NULL;
  if (!def)
    reply(s, "fail", f[0], f[2], err);
}

/* "template <path>" and "pagedef <path>\t<object>" before serve: the
 * files of the pages, built into one set at serve. */
static void add_page_file(serve *s, char *args, int def) {
  char *f[2] = {NULL, NULL}, err[1024];
  if (fields(args, f, 2) != 1 + def ||
      cn__array_grow(&s->files, &s->capfiles, s->nfiles, sizeof(*s->files)))
    return;
  cn_manifest_file *mf = &s->files[s->nfiles];
  memset(mf, 0, sizeof(*mf));
  if (def && !(mf->def = load(f[1], "cn_route", err, sizeof err))) {
    reply(s, "fail", f[0], f[1], err);
    return;
  }
  if ((mf->path = cn__strdup(f[0])))
    s->nfiles++;
}

/* "data <module>\t<source>\t<object>": a module of data functions. */
static void add_data(serve *s, char *args) {
  char *f[3], err[1024];
  if (fields(args, f, 3) != 3 ||
      cn__array_grow(&s->data, &s->capdata, s->ndata, sizeof(*s->data)))
    return;
  const cn_data_def *def = load(f[2], "cn_route", err, sizeof err);
  char *module = def ? cn__strdup(f[0]) : NULL, *src = cn__strdup(f[1]);
  if (!def || !module || !src) {
    reply(s, "fail", f[1], f[2], def ? "out of memory" : err);
    cn__free(module);
    cn__free(src);
    return;
  }
  s->data[s->ndata++] = (cn_manifest_data){module, src, def};
}

/* "migration <path>": its text, read now. */
static void add_migration(serve *s, char *path) {
  FILE *f = fopen(path, "rb");
  cn__buf sql = {0};
  char chunk[8192];
  size_t n;
  while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    cn__buf_append(&sql, chunk, n);
  if (f)
    fclose(f);
  const char *slash = strrchr(path, '/');
  char *name = cn__strdup(slash ? slash + 1 : path);
  if (!f || cn__buf_append(&sql, "", 1) || !name ||
      cn__array_grow(&s->migs, &s->capmigs, s->nmigs, sizeof(*s->migs))) {
    fprintf(stderr, "cairn: %s: cannot be read\n", path);
    cn__buf_free(&sql);
    cn__free(name);
    return;
  }
  s->migs[s->nmigs++] = (cn_manifest_migration){name, sql.ptr};
}

/* The data layer as a built server opens it (runtime/main.c). A failing
 * migration ends this process: the command says it did not start. */
static int open_data(serve *s, const cn__cli *c) {
  char err[1024];
  cn__data *d;
  if (!s->ndata && !s->nmigs)
    return 0;
  cn__data_opts o = {.mods = s->data,
                     .nmods = s->ndata,
                     .migrations = s->migs,
                     .nmigrations = s->nmigs,
                     .url = cn_env("DATABASE_URL"),
                     .default_path = ".cairn/data.db",
                     .durability_full = s->cfg.data_durability_full,
                     .inline_query_us = s->cfg.data_inline_query_us,
                     /* dev shares the file unless told: the sqlite3
                      * shell beside `cairn dev` is the common case */
                     .shared = s->cfg.data_exclusive != 1,
                     .dev = 1};
  int rc = cn__data_open(&o, &d, err, sizeof err);
  if (rc) {
    cn__cli_error(c, "%s", rc == CN_ENOMEM ? "out of memory" : err);
    fflush(stderr);
    _exit(1); /* the loaded code and the app stay to the end, as below */
  }
  /* Left open to the end of the process, as the loaded code is. */
  cn__data_set_global(d);
  return cn__data_mount(s->app) || cn__health_add(cn__data_ready, d) ? 1 : 0;
}

static void replace_route(serve *s, char *args) {
  char *f[2], err[1024];
  if (fields(args, f, 2) != 2)
    return;
  if (!strncmp(f[0], "app/", 4)) { /* a page.c or layout.c */
    const cn_page_def *def = load(f[1], "cn_route", err, sizeof err);
    cn__pages *p = s->app->pages;
    if (def && (!p || cn__pages_replace_def(p, f[0], def))) {
      snprintf(err, sizeof err, "%s is not part of the running app", f[0]);
      def = NULL;
    }
    reply(s, def ? "ok" : "fail", f[0], f[1], def ? NULL : err);
    return;
  }
  const cn_route_def *def = load(f[1], "cn_route", err, sizeof err);
  if (def && cn_app_replace(s->app, f[0], def, err, sizeof err))
    def = NULL;
  if (def)
    reply(s, "ok", f[0], f[1], NULL);
  else
    reply(s, "fail", f[0], f[1], err);
}

/* One command; returns 1 for serve, 2 for stop or a broken block, 0 to go
 * on. */
static int command(serve *s, char *line, const cn_middleware_def **mw,
                   int serving) {
  line[strcspn(line, "\n")] = '\0';
  char *arg = strchr(line, ' ');
  arg = arg ? arg + 1 : line + strlen(line);
  if (!strncmp(line, "route ", 6) && !serving) {
    add_route(s, arg);
  } else if (!strncmp(line, "template ", 9) && !serving) {
    add_page_file(s, arg, 0);
  } else if (!strncmp(line, "pagedef ", 8) && !serving) {
    add_page_file(s, arg, 1);
  } else if (!strncmp(line, "replace ", 8) && serving) {
    replace_route(s, arg);
  } else if (!strncmp(line, "data ", 5) && !serving) {
    add_data(s, arg);
  } else if (!strncmp(line, "migration ", 10) && !serving) {
    add_migration(s, arg);
  } else if (!strncmp(line, "middleware ", 11) && !serving) {
    char err[1024];
    snprintf(s->mw_so, sizeof s->mw_so, "%s", arg);
    *mw = load(arg, "cn_middleware", err, sizeof err);
    if (!*mw)
      reply(s, "fail", "middleware.c", arg, err);
  } else if (!strncmp(line, "error ", 6)) {
    char *text = read_block(s, arg);
    if (!text)
      return 2;
    cn__dev_set_error(s->dev, text);
    cn__free(text);
    if (serving)
      ctl_write(s, "shown\n", 6);
  } else if (!strcmp(line, "clear")) {
    cn__dev_set_error(s->dev, NULL);
    if (serving)
      ctl_write(s, "shown\n", 6);
  } else if (!strcmp(line, "reload")) {
    cn__dev_reload(s->dev);
  } else if (!strncmp(line, "listen ", 7) && !serving) {
    char *f[2];
    if (fields(arg, f, 2) == 2) {
      s->cfg.port = atoi(f[0]);
      s->cfg.hostname = cn__strdup(f[1]);
    }
  } else if (!strcmp(line, "serve")) {
    return 1;
  } else if (!strcmp(line, "stop")) {
    return 2;
  }
  return 0;
}

/* The control thread while serving: commands until stop or end of file,
 * then the server is told to drain. */
static void *control(void *arg) {
  serve *s = arg;
  char line[CN__CLI_PATH * 2];
  const cn_middleware_def *mw = NULL;
  while (fgets(line, sizeof line, s->in) && !command(s, line, &mw, 1))
    ;
  cn__dev_shutdown(s->dev);
  kill(getpid(), SIGTERM);
  return NULL;
}

int cn__cli_cmd_dev_serve(const cn__cli *c, int argc, char **argv) {
  serve s = {0};
  char line[CN__CLI_PATH * 2], err[1024];
  const cn_middleware_def *mw = NULL;
  (void)argc, (void)argv;
  /* Never outlive the command (it may be killed without a chance to tell
   * us); the end of the control socket says the same, later. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  pthread_mutex_init(&s.out_mu, NULL);
  cn_config_init(&s.cfg);
  struct stat st;
  if (stat("cairn.json", &st) == 0 &&
      cn_config_load(&s.cfg, "cairn.json", err, sizeof err)) {
    cn__cli_error(c, "%s", err);
    return 1;
  }
  s.cfg.dev = 1;
  if (!(s.in = fdopen(CTL_FD, "r")) || !(s.app = cn_app_new()) ||
      cn__dev_new(&s.dev, "dev")) {
    cn__cli_error(c, "the development server cannot start");
    return 1;
  }
  while (fgets(line, sizeof line, s.in)) {
    if (!strncmp(line, "build ", 6)) {
      line[strcspn(line, "\n")] = '\0';
      cn__dev_free(s.dev);
      s.dev = NULL;
      if (cn__dev_new(&s.dev, line + 6))
        return 1;
      continue;
    }
    int rc = command(&s, line, &mw, 0);
    if (rc == 2)
      _exit(0); /* stopped before it served */
    if (rc)
      break;
  }
  if (feof(s.in))
    _exit(0); /* the command went away before `serve` */
  if (stat("public", &st) == 0 && S_ISDIR(st.st_mode) &&
      cn_app_public_dir(s.app, "public"))
    return 1;
  if (s.nfiles) {
    cn__pages *pages;
    int rc = cn__pages_new(s.files, s.nfiles, 1, &pages, err, sizeof err);
    if (!rc) {
      snprintf(pages->build_id, sizeof pages->build_id, "dev");
      cn__pages_body_limit(pages, s.cfg.actions_body_limit);
      rc = cn__pages_mount(pages, s.app, err, sizeof err);
    }
    if (rc) {
      cn__cli_error(c, "%s", err);
      return 1;
    }
  }
  /* As a built server: the revalidation webhook, this session's actions
   * key (CAIRN_ACTIONS_KEY when set). */
  if (cn__cache_mount(s.app) || cn__health_mount(s.app) ||
      cn__actions_init(NULL) || open_data(&s, c))
    return 1;
  if (cn__dev_install(s.dev, s.app, mw, err, sizeof err)) {
    reply(&s, "fail", "middleware.c", s.mw_so, err);
    if (cn__dev_install(s.dev, s.app, NULL, err, sizeof err))
      return 1;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, control, &s))
    return 1;
  pthread_detach(t);
  int rc = cn_serve(s.app, &s.cfg);
  /* Loaded code may still be referenced by a detached thread: leave the
   * app and the objects to the end of the process. */
  fflush(stdout);
  _exit(rc ? 1 : 0);
}
