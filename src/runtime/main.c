/*
 * cn_main: the entry point of a built app. `cairn build` generates a main()
 * that hands its manifest here; `cairn start` runs that binary in the app's
 * directory. Everything that can be wrong with an app (its cairn.json, a
 * route conflict, a matcher that does not compile) is reported here, before
 * the first connection, with the file it came from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "actions/actions.h"
#include "auth/auth.h"
#include "cache/cache.h"
#include "data/data.h"
#include "live/live.h"
#include "env/env.h"
#include "health/health.h"
#include "page/page.h"
#include "server/server.h"
#include "taint/taint.h"

static int usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [-p PORT] [-H HOSTNAME] [--dev]\n"
          "Serves the app in the current directory.\n"
          "  -p, --port PORT          port to listen on (PORT, 3000)\n"
          "  -H, --hostname HOSTNAME  address to listen on (HOSTNAME, "
          "127.0.0.1)\n"
          "  --dev                    development: errors carry details\n"
          "  --prerender DIR          render the static pages into DIR and "
          "exit\n"
          "  --functions              list the data functions and exit\n",
          prog);
  return f == stdout ? 0 : 2;
}

static int parse_port(const char *s, int *out) {
  char *end;
  long p = strtol(s, &end, 10);
  if (!*s || *end || p < 0 || p > 65535)
    return CN_EINVAL;
  *out = (int)p;
  return 0;
}

/* Options that the command line sets, applied after cairn.json and the
 * environment so that `cairn start -p 4000` wins, as `next start -p` does. */
typedef struct cli_opts {
  const char *port, *hostname;
  const char *prerender; /* --prerender DIR: render static pages, exit */
  int functions;         /* --functions: list the data functions, exit */
  int dev;
} cli_opts;

static int parse_args(int argc, char **argv, cli_opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
      return usage(stdout, argv[0]) + 1000; /* help: exit 0 */
    if (!strcmp(a, "--dev")) {
      o->dev = 1;
    } else if (!strcmp(a, "--functions")) {
      o->functions = 1;
    } else if (!strcmp(a, "--prerender") && i + 1 < argc) {
      o->prerender = argv[++i];
    } else if ((!strcmp(a, "-p") || !strcmp(a, "--port")) && i + 1 < argc) {
      o->port = argv[++i];
    } else if (!strncmp(a, "--port=", 7)) {
      o->port = a + 7;
    } else if ((!strcmp(a, "-H") || !strcmp(a, "--hostname")) &&
               i + 1 < argc) {
      o->hostname = argv[++i];
    } else if (!strncmp(a, "--hostname=", 11)) {
      o->hostname = a + 11;
    } else {
      fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
      return usage(stderr, argv[0]);
    }
  }
  return 0;
}

static int load_config(cn_config *cfg, const cli_opts *o, const char *prog) {
  char err[512];
  struct stat st;
  cn_config_init(cfg);
  cfg->dev = o->dev;
  if (stat("cairn.json", &st) == 0 &&
      cn_config_load(cfg, "cairn.json", err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", prog, err);
    return 1;
  }
  if (cn_config_env(cfg)) {
    fprintf(stderr, "%s: PORT must be a number from 0 to 65535\n", prog);
    return 1;
  }
  if (o->port && parse_port(o->port, &cfg->port)) {
    fprintf(stderr, "%s: --port must be a number from 0 to 65535\n", prog);
    return 1;
  }
  if (o->hostname)
    cfg->hostname = o->hostname;
  if (o->dev)
    cfg->dev = 1;
  return 0;
}

/* The app's .env files (env.h), before any thread starts; names the files
 * it loaded as `next start` does. NODE_ENV defaults to the mode. */
static int load_env(int dev, const char *prog) {
  cn__env env = {0};
  char err[512];
  int rc = cn__env_load(".", dev, &env, err, sizeof err);
  if (rc) {
    fprintf(stderr, "%s: %s\n", prog, err[0] ? err : cn_strerror(rc));
  } else if (env.nfiles) {
    /* Straight to the descriptor: cn_serve sets stdout's buffering, which
     * must come before the stream's first use. */
    char line[160];
    size_t n = (size_t)snprintf(line, sizeof line, "  - Environments:");
    for (size_t i = 0; i < env.nfiles && n < sizeof line; i++)
      n += (size_t)snprintf(line + n, sizeof line - n, "%s %s",
                            i ? "," : "", env.files[i]);
    dprintf(1, "%s\n", line);
  }
  cn__env_free(&env);
  if (!rc && !getenv("NODE_ENV"))
    setenv("NODE_ENV", dev ? "development" : "production", 1);
  return rc ? 1 : 0;
}

static int add_routes(cn_app *app, const cn_manifest *m, const cn_config *cfg,
                      const char *prog) {
  char err[1024];
  if (m->nfiles) {
    cn__pages *pages;
    int rc = cn__pages_new(m->files, m->nfiles, 0, &pages, err, sizeof err);
    if (!rc) {
      snprintf(pages->build_id, sizeof pages->build_id, "%s",
               m->build_id ? m->build_id : "");
      pages->expire_s = cfg->cache_expire_s;
      cn__pages_body_limit(pages, cfg->actions_body_limit);
      rc = cn__pages_mount(pages, app, err, sizeof err);
    }
    if (rc) {
      fprintf(stderr, "%s: %s\n", prog, err);
      return 1;
    }
  }
  if (cn__cache_mount(app)) {
    fprintf(stderr, "%s: cannot add /_cairn/revalidate\n", prog);
    return 1;
  }
  for (size_t i = 0; i < m->nroutes; i++) {
    const cn_manifest_route *r = &m->routes[i];
    int rc = cn_app_add(app, r->pattern, r->source, r->def, err, sizeof err);
    if (rc) {
      fprintf(stderr, "%s: %s\n", prog, err);
      return 1;
    }
  }
  if (m->middleware &&
      cn_app_middleware(app, m->middleware, err, sizeof err)) {
    fprintf(stderr, "%s: middleware.c: %s\n", prog, err);
    return 1;
  }
  struct stat st;
  if (stat("public", &st) == 0 && S_ISDIR(st.st_mode) &&
      cn_app_public_dir(app, "public")) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  return 0;
}

/* The Data Cache: memory, bounded as cairn.json says, in front of
 * .cairn/cache on disk (it survives restarts; without it, memory only). */
static int setup_cache(const cn_config *cfg, const char *prog) {
  cn__cache *c;
  cn__cache_opts opts = {.memory_bytes = cfg->cache_memory};
  const char *url = cn_env("CACHE_URL");
  char err[512];
  if (url && *url) {
    /* Shared by every instance; asked for, so not having it is fatal. */
    if (cn__cache_redis(url, &opts.second, err, sizeof err)) {
      fprintf(stderr, "%s: %s\n", prog, err);
      return 1;
    }
  } else if (cn__cache_disk(".cairn/cache", &opts.second)) {
    fprintf(stderr, "%s: .cairn/cache cannot be used: the Data Cache stays "
                    "in memory\n", prog);
    opts.second.ops = NULL;
  }
  if (cn__cache_new(&c, &opts)) {
    fprintf(stderr, "%s: the Data Cache cannot start%s\n", prog,
            url && *url ? " (CACHE_URL's subscription)" : ": out of memory");
    return 1;
  }
  cn__cache_set_global(c);
  return 0;
}

/* `cairn build` asks for the data functions (for its table, and to fail
 * on a definition the server would refuse): "path\tkind\tsource" lines,
 * or the error. */
static int list_functions(const cn_manifest *m, const char *prog) {
  cn__fns r;
  char err[1024];
  int rc = cn__fns_build(m->data, m->ndata, &r, err, sizeof err);
  if (rc)
    fprintf(stderr, "%s: %s\n", prog, rc == CN_ENOMEM ? "out of memory" : err);
  for (size_t i = 0; !rc && i < r.n; i++)
    printf("%s\t%s\t%s\n", r.v[i].path, cn__fn_kind_name(r.v[i].def->kind),
           r.v[i].source);
  cn__fns_free(&r);
  return rc ? 1 : 0;
}

/* The data layer, when the app has data/ functions or migrations: the
 * store opened (DATABASE_URL, else .cairn/data.db), migrated, the routes
 * mounted; before the server listens, so a failing migration stops the
 * start. Prerendering gets a scratch database instead (data.h). */
static int setup_data(cn_app *app, const cn_manifest *m, const cn_config *cfg,
                      const cli_opts *o, cn__data **out, cn__live **live,
                      const char *prog) {
  char err[1024];
  *out = NULL;
  *live = NULL;
  if (!m->ndata && !m->nmigrations)
    return 0;
  cn__data_opts d = {.mods = m->data,
                     .nmods = m->ndata,
                     .migrations = m->migrations,
                     .nmigrations = m->nmigrations,
                     .url = cn_env("DATABASE_URL"),
                     .default_path = ".cairn/data.db",
                     .durability_full = cfg->data_durability_full,
                     .inline_query_us = cfg->data_inline_query_us,
                     .shared = cfg->data_exclusive == 0 ||
                               (cfg->data_exclusive < 0 && cfg->dev),
                     .dev = cfg->dev,
                     .scratch_path = o->prerender ? ".cairn/prerender-data.db"
                                                  : NULL};
  int rc = cn__data_open(&d, out, err, sizeof err);
  if (rc) {
    fprintf(stderr, "%s: %s\n", prog, rc == CN_ENOMEM ? "out of memory" : err);
    return 1;
  }
  cn__data_set_global(*out);
  if (cn__data_mount(app) || cn__health_add(cn__data_ready, *out)) {
    fprintf(stderr, "%s: cannot add /_cairn/query\n", prog);
    return 1;
  }
  if (o->prerender)
    return 0; /* nothing stays live in a build */
  /* Live queries: subscriptions over /_cairn/sync, re-run on commits. */
  rc = cn__live_start(*out, live);
  if (!rc)
    rc = cn__live_mount(app, *live);
  if (rc) {
    fprintf(stderr, "%s: cannot start live queries: %s\n", prog,
            cn_strerror(rc));
    return 1;
  }
  return 0;
}

int cn_main(const cn_manifest *m, int argc, char **argv) {
  cli_opts o = {0};
  const char *prog = argc > 0 ? argv[0] : "cairn";
  cn__jansson_alloc_init(); /* before the first JSON value */
  int rc = parse_args(argc, argv, &o);
  if (rc)
    return rc >= 1000 ? 0 : rc;
  if (o.functions)
    return list_functions(m, prog);
  cn_config cfg;
  if (load_config(&cfg, &o, prog))
    return 1;
  /* After PORT and HOSTNAME were read: as in Next.js, .env files cannot
   * move the server, which is listening before any app code runs. */
  if (load_env(o.dev, prog))
    return 1;
  /* Every value the environment now holds that is not public is watched
   * for in what goes to the browser (taint.h). */
  rc = cn__taint_env(environ);
  if (rc) {
    fprintf(stderr, "%s: the environment's server-only values: %s\n", prog,
            cn_strerror(rc));
    return 1;
  }
  /* After .env: an issuer's secret may be one of its variables. */
  char aerr[512];
  if (cn__auth_start((struct cn_auth_config *)cfg.auth, aerr, sizeof aerr)) {
    fprintf(stderr, "%s: %s\n", prog, aerr);
    return 1;
  }
  cn_app *app = cn_app_new();
  if (!app) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  cn__data *data = NULL;
  cn__live *live = NULL;
  rc = add_routes(app, m, &cfg, prog);
  if (!rc && cn__health_mount(app)) {
    fprintf(stderr, "%s: cannot add /_cairn/health\n", prog);
    rc = 1;
  }
  if (!rc)
    rc = setup_data(app, m, &cfg, &o, &data, &live, prog);
  /* Before prerendering too: the forms it writes carry this key's IDs. */
  if (!rc && cn__actions_init(m->actions_key))
    rc = 1;
  if (!rc && o.prerender) {
    char err[1024];
    if (cn__app_finish(app, err, sizeof err)) {
      fprintf(stderr, "%s: %s\n", prog, err);
      rc = 1;
    } else {
      rc = cn__pages_prerender(app, o.prerender, m->build_id);
    }
  } else if (!rc) {
    if (setup_cache(&cfg, prog))
      rc = 1;
    else if (cn__pages_load(app, ".cairn/pages", m->build_id))
      fprintf(stderr, "%s: out of memory loading .cairn/pages\n", prog);
    if (!rc)
      rc = cn_serve(app, &cfg) ? 1 : 0;
  }
  /* The server has drained: what is still running is a handler past its
   * drain time, which the close waits for a little. */
  cn__live_stop(live); /* no query runs after this */
  cn__data_set_global(NULL);
  cn__data_close(data, 5000);
  cn__live_free(live); /* after the store's writer has drained */
  cn_app_free(app);
  return rc;
}
