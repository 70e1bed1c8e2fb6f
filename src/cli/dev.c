/*
 * `cairn dev`: rounds of scan, compile and settle, and the session around
 * them (the listening socket, signals, the first start). dev.h has the
 * shape; the decisions are here:
 *
 *   - A round starts 25 ms after the last file event of a burst (an editor
 *     saving writes, renames and touches in quick succession).
 *   - Compiles run in parallel; a round settles when the last one ends. If
 *     files changed meanwhile, another round follows at once.
 *   - Settling sends `replace` for each route whose shared object changed
 *     and then `reload`, or starts a new server process when what the
 *     process was started with no longer holds (the set of routes, the
 *     middleware, cairn.json, the .env files, the data modules and
 *     migrations).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/dev.h"
#include "env/env.h"
#include "islands/islands.h"

extern char **environ;

static void round_start(cn__dev_cmd *d);
static void settle(cn__dev_cmd *d);
static void finish_if_idle(cn__dev_cmd *d);

uint64_t cn__dev_cmd_now(cn__dev_cmd *d) {
  (void)d;
  return uv_hrtime() / 1000000;
}

/* ----------------------------------------------------------- messages */

/* " ✓ <message>" on stdout, the tick green on a terminal. */
static void ok_line(cn__dev_cmd *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ok_line(cn__dev_cmd *d, const char *fmt, ...) {
  int on = d->c->color_out;
  va_list ap;
  printf(" %s\u2713%s ", cn__cli_c(on, CN__C_GREEN), cn__cli_c(on, CN__C_RESET));
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

/* Compiler output for a browser: without the terminal's colours. */
static void strip_ansi(char *s) {
  char *o = s;
  for (char *p = s; *p;) {
    if (*p == '\033' && p[1] == '[') {
      p += 2;
      while (*p && !(*p >= '@' && *p <= '~'))
        p++;
      if (*p)
        p++;
      continue;
    }
    *o++ = *p++;
  }
  *o = '\0';
}

/* The terminal's word on the errors, once the serving process answers
 * with them: whoever reads "Failed to compile" and reloads sees it too. */
static void announce_errors(cn__dev_cmd *d) {
  d->announce = 0;
  const char *now = d->shown_errors ? d->shown_errors : "";
  int on = d->c->color_err;
  if (*now)
    fprintf(stderr, " %s\u2717 Failed to compile%s\n%s\n",
            cn__cli_c(on, CN__C_RED), cn__cli_c(on, CN__C_RESET), now);
  else
    ok_line(d, "Fixed: the app compiles again");
  fflush(stderr);
}

void cn__dev_cmd_errors_shown(cn__dev_cmd *d, cn__dev_child *ch) {
  if (ch == d->cur && d->announce)
    announce_errors(d);
}

/* Every problem of the app now: the scan's, then each file's. Sent to the
 * server processes, and printed once when it changes. */
static void show_errors(cn__dev_cmd *d) {
  cn__buf b = {0};
  if (d->scan_errors && *d->scan_errors)
    cn__buf_appendf(&b, "%s", d->scan_errors);
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    if (u->seen && u->error)
      cn__buf_appendf(&b, "%s%s", b.len ? "\n" : "", u->error);
  }
  const char *now = b.ptr ? b.ptr : "";
  const char *was = d->shown_errors ? d->shown_errors : "";
  if (!strcmp(now, was)) {
    cn__buf_free(&b);
    return;
  }
  cn__free(d->shown_errors);
  cn__free(d->plain_errors);
  d->shown_errors = b.ptr ? b.ptr : NULL;
  d->plain_errors = d->shown_errors ? cn__strdup(d->shown_errors) : NULL;
  if (d->plain_errors)
    strip_ansi(d->plain_errors);
  if (d->cur)
    cn__dev_child_send_error(d->cur, d->plain_errors);
  if (d->next)
    cn__dev_child_send_error(d->next, d->plain_errors);
  d->announce = 1;
  if (!d->cur || !d->cur->unshown)
    announce_errors(d);
}

/* -------------------------------------------------------------- units */

static cn__dev_unit *unit_find(cn__dev_cmd *d, const char *rel) {
  for (size_t i = 0; i < d->nunits; i++)
    if (!strcmp(d->units[i]->rel, rel))
      return d->units[i];
  return NULL;
}

static cn__dev_unit *unit_for_pattern(cn__dev_cmd *d, const char *pattern) {
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    if (u->seen && (u->middleware ? !strcmp(pattern, "middleware.c")
                                  : !strcmp(u->pattern, pattern)))
      return u;
  }
  return NULL;
}

static cn__dev_unit *unit_get(cn__dev_cmd *d, const cn__cli_entry *e) {
  cn__dev_unit *u = unit_find(d, e->rel);
  const char *key = e->pagedef || e->data ? e->rel : e->pattern;
  if (u) {
    if (key && (!u->pattern || strcmp(u->pattern, key))) {
      char *p = cn__strdup(key);
      if (!p)
        return NULL;
      cn__free(u->pattern);
      u->pattern = p;
    }
    return u;
  }
  if (cn__array_grow(&d->units, &d->capunits, d->nunits, sizeof(*d->units)))
    return NULL;
  u = cn__calloc(1, sizeof(*u));
  if (!u || !(u->rel = cn__strdup(e->rel)) ||
      (key && !(u->pattern = cn__strdup(key)))) {
    if (u)
      cn__free(u->rel);
    cn__free(u);
    return NULL;
  }
  snprintf(u->base, sizeof u->base, "%s", e->base);
  u->middleware = e->middleware;
  u->pagedef = e->pagedef;
  u->data = e->data;
  snprintf(u->module, sizeof u->module, "%s", e->module);
  u->d = d;
  d->units[d->nunits++] = u;
  return u;
}

static void unit_set_error(cn__dev_unit *u, const char *text) {
  cn__free(u->error);
  u->error = text ? cn__strdup(text) : NULL;
}

static void on_compiled(cn__cli_job *job) {
  cn__dev_unit *u = job->data;
  cn__dev_cmd *d = u->d;
  char ms[16], stamp[CN__CLI_PATH], dep[CN__CLI_PATH];
  u->compiling = 0;
  d->round_running--;
  cn__cli_ms(cn__dev_cmd_now(d) - u->started_ms, ms);
  if (job->status) {
    cn__buf_append(&job->output, "", 1);
    unit_set_error(u, job->output.len > 1 ? job->output.ptr
                                          : "the compiler failed\n");
  } else {
    snprintf(stamp, sizeof stamp, ".cairn/dev/%s.stamp", u->base);
    snprintf(dep, sizeof dep, ".cairn/dev/%s.d", u->base);
    cn__cli_stamp_write(stamp, &u->st, dep);
    /* The object before the last is no longer anybody's: the server has
     * replaced it or never had it. The last stays until this one is in. */
    if (u->prev_so[0] && strcmp(u->prev_so, u->so))
      remove(u->prev_so);
    snprintf(u->prev_so, sizeof u->prev_so, "%s", u->so);
    snprintf(u->so, sizeof u->so, "%s", u->next_so);
    u->gen = u->st.gen;
    unit_set_error(u, NULL);
    if (job->output.len)
      fwrite(job->output.ptr, 1, job->output.len, stderr);
    if (d->first_round_done)
      ok_line(d, "Compiled %s in %s", u->rel, ms);
    else
      d->first_compiled++;
  }
  cn__buf_free(&job->output);
  cn__cli_argv_free(&job->cmds[0]);
  if (!d->round_running)
    settle(d);
}

/* Compile u when the cache says its object is stale; 1 when a job was
 * started. */
static int unit_build(cn__dev_cmd *d, cn__dev_unit *u) {
  char stamp[CN__CLI_PATH], dep[CN__CLI_PATH];
  cn__cli_stamp st;
  cn__cli_argv probe = {0};
  uint64_t flags;
  snprintf(stamp, sizeof stamp, ".cairn/dev/%s.stamp", u->base);
  snprintf(dep, sizeof dep, ".cairn/dev/%s.d", u->base);
  /* The flags do not depend on the output's name. */
  cn__cli_compile_argv(&d->tools, CN__OUT_SHARED, u->rel, "-", dep, NULL,
                       &probe, &flags);
  cn__cli_argv_free(&probe);
  if (cn__cli_stamp_check(stamp, flags, &st)) {
    if (!u->so[0] && !u->error) {
      snprintf(u->so, sizeof u->so, "%s", st.out);
      u->gen = st.gen;
    }
    return 0;
  }
  unsigned gen = (st.gen > u->gen ? st.gen : u->gen) + 1;
  /* Absolute: the server process loads it by this name. */
  snprintf(u->next_so, sizeof u->next_so, "%s/.cairn/dev/%s-%u.so", d->root,
           u->base, gen);
  memset(&u->job, 0, sizeof u->job);
  cn__cli_compile_argv(&d->tools, CN__OUT_SHARED, u->rel, u->next_so, dep,
                       NULL, &u->job.cmds[0], &flags);
  u->job.ncmds = 1;
  u->job.done = on_compiled;
  u->job.data = u;
  u->st.flags = flags;
  u->st.gen = gen;
  snprintf(u->st.out, sizeof u->st.out, "%s", u->next_so);
  u->st.started_ns = cn__cli_now_ns();
  u->started_ms = cn__dev_cmd_now(d);
  u->compiling = 1;
  d->round_running++;
  cn__cli_jobs_submit(&d->jobs, &u->job);
  return 1;
}

/* ------------------------------------------------- config and env */

static uint64_t file_sig(const char *path) {
  FILE *f = fopen(path, "rb");
  uint64_t h = CN__CLI_HASH_INIT;
  if (!f)
    return h;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    h = cn__cli_hash(buf, n, h);
  fclose(f);
  return h ^ 1;
}

static void free_env(cn__dev_cmd *d) {
  for (char **e = d->env; e && *e; e++)
    cn__free(*e);
  cn__free(d->env);
  d->env = NULL;
}

/* The server process's environment: ours, what the .env files add,
 * NODE_ENV and the listening socket. Problems go into errs. */
static void load_env(cn__dev_cmd *d, cn__buf *errs) {
  cn__env env = {0};
  char err[512];
  if (cn__env_read(&env, ".", cn__env_mode(1, NULL), NULL, err, sizeof err))
    cn__buf_appendf(errs, "%s\n", err);
  uint64_t sig = CN__CLI_HASH_INIT;
  size_t n = 0;
  while (environ[n])
    n++;
  char **v = cn__calloc(n + env.nvars + 3, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; v && i < n; i++)
    if (strncmp(environ[i], "CAIRN_LISTEN_FD=", 16))
      v[k++] = cn__strdup(environ[i]);
  for (size_t i = 0; v && i < env.nvars; i++) {
    char line[8192];
    snprintf(line, sizeof line, "%s=%s", env.vars[i].key, env.vars[i].value);
    sig = cn__cli_hash(line, strlen(line) + 1, sig);
    v[k++] = cn__strdup(line);
  }
  if (v && !getenv("NODE_ENV") && !cn__env_get(&env, "NODE_ENV"))
    v[k++] = cn__strdup("NODE_ENV=development");
  if (v)
    v[k++] = cn__strdup("CAIRN_LISTEN_FD=4");
  free_env(d);
  d->env = v;
  d->env_sig = sig;
  d->nenv_files = env.nfiles;
  for (size_t i = 0; i < env.nfiles; i++)
    d->env_files[i] = env.files[i];
  cn__env_free(&env);
}

/* cairn.json: its signature changes the server process only when the
 * new one is valid; a bad one is an error shown like a compile error. */
static void load_config(cn__dev_cmd *d, cn__buf *errs) {
  cn_config cfg;
  char err[512];
  struct stat st;
  cn_config_init(&cfg);
  if (stat("cairn.json", &st) == 0 &&
      cn_config_load(&cfg, "cairn.json", err, sizeof err)) {
    cn__buf_appendf(errs, "%s\n", err);
    return;
  }
  /* public/ is opened when the server starts: its coming or going is a
   * change of configuration too. */
  d->config_sig = file_sig("cairn.json") ^
                  (stat("public", &st) == 0 && S_ISDIR(st.st_mode) ? 2 : 0);
}

/* ------------------------------------------------------------- rounds */

static void on_debounce(uv_timer_t *t) { round_start(t->data); }

/* Compiles that take over a second say so, once a second. */
static void on_progress(uv_timer_t *t) {
  cn__dev_cmd *d = t->data;
  const char *what = NULL;
  char ms[16];
  for (size_t i = 0; i < d->nunits && !what; i++)
    if (d->units[i]->compiling)
      what = d->units[i]->rel;
  if (!what)
    return;
  cn__cli_ms(cn__dev_cmd_now(d) - d->round_t0, ms);
  printf("   Compiling... %zu of %zu done (%s; still compiling %s)\n",
         d->round_total - (size_t)d->round_running, d->round_total, ms, what);
  fflush(stdout);
}

void cn__dev_cmd_changed(cn__dev_cmd *d, int reload) {
  if (d->stopping)
    return;
  d->reload_wanted |= reload;
  uv_timer_start(&d->debounce, on_debounce, 25, 0);
}

static void free_tpls(cn__dev_cmd *d) {
  for (size_t i = 0; i < d->ntpls; i++)
    cn__free(d->tpls[i]);
  cn__free(d->tpls);
  d->tpls = NULL;
  d->ntpls = 0;
}

/* The templates of this scan: their paths (a new or removed one restarts
 * the server process, which reads each from disk when it renders), the
 * client modules' versions (an edited one restarts it too) and their
 * syntax, checked here so an error is shown like a compile error
 * while the server keeps the last version that compiled. */
static void templates(cn__dev_cmd *d, const cn__cli_scan *s, cn__buf *errs) {
  cn__cli_pagefiles pf;
  char err[1024];
  free_tpls(d);
  d->tpl_sig = CN__CLI_HASH_INIT;
  d->tpls = cn__calloc(s->n + 1, sizeof(char *));
  for (size_t i = 0; d->tpls && i < s->n; i++) {
    if (!s->v[i].tpl || !(d->tpls[d->ntpls] = cn__strdup(s->v[i].rel)))
      continue;
    d->tpl_sig = cn__cli_hash(s->v[i].rel, strlen(s->v[i].rel) + 1,
                              d->tpl_sig);
    /* A client module's text is read once, when the process makes its
     * page set (its URL holds its hash): an edit takes a new process. */
    if (cn__islands_is_module(s->v[i].rel)) {
      uint64_t f = file_sig(s->v[i].rel);
      d->tpl_sig = cn__cli_hash(&f, sizeof f, d->tpl_sig);
    }
    d->ntpls++;
  }
  if (d->ntpls && cn__cli_pages_read(s, &pf, err, sizeof err))
    cn__buf_appendf(errs, "%s\n", err);
  if (d->ntpls)
    cn__cli_pages_free(&pf);
}

static void free_migs(cn__dev_cmd *d) {
  for (size_t i = 0; i < d->nmigs; i++)
    cn__free(d->migs[i]);
  cn__free(d->migs);
  d->migs = NULL;
  d->nmigs = 0;
}

/* The migrations of this scan, in name order, and a signature of their
 * names and texts: a process applies them when it starts. */
static void migrations(cn__dev_cmd *d, const cn__cli_scan *s) {
  free_migs(d);
  d->mig_sig = CN__CLI_HASH_INIT;
  d->migs = cn__calloc(s->n + 1, sizeof(char *));
  for (size_t i = 0; d->migs && i < s->n; i++) {
    if (!s->v[i].migration || !(d->migs[d->nmigs] = cn__strdup(s->v[i].rel)))
      continue;
    uint64_t f = file_sig(s->v[i].rel);
    d->mig_sig = cn__cli_hash(s->v[i].rel, strlen(s->v[i].rel) + 1,
                              d->mig_sig);
    d->mig_sig = cn__cli_hash(&f, sizeof f, d->mig_sig);
    d->nmigs++;
  }
}

uint64_t cn__dev_cmd_data_sig(cn__dev_cmd *d) {
  uint64_t h = d->mig_sig;
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    if (!u->seen || !u->data || !u->so[0])
      continue;
    h = cn__cli_hash(u->rel, strlen(u->rel) + 1, h);
    h = cn__cli_hash(u->so, strlen(u->so) + 1, h);
  }
  return h;
}

static void round_start(cn__dev_cmd *d) {
  if (d->round_running) {
    d->dirty = 1;
    return;
  }
  d->dirty = 0;
  cn__cli_scan s = {0};
  cn__buf errs = {0};
  int rc = cn__cli_scan_walk(&s);
  if (!rc)
    rc = cn__cli_scan_check(&s);
  if (!rc)
    rc = cn__dev_watch_sync(d, &s);
  if (rc) {
    cn__cli_error(d->c, "cannot read the app: %s", cn_strerror(rc));
    cn__cli_scan_free(&s);
    return;
  }
  if (s.errors.len)
    cn__buf_appendf(&errs, "%s", s.errors.ptr);
  load_config(d, &errs);
  load_env(d, &errs);
  for (size_t i = 0; i < d->nunits; i++)
    d->units[i]->seen = 0;
  templates(d, &s, &errs);
  migrations(d, &s);
  for (size_t i = 0; i < s.n; i++) {
    cn__cli_entry *e = &s.v[i];
    if (!e->unit || !(e->in_tree || e->middleware || e->pagedef || e->data))
      continue;
    cn__dev_unit *u = unit_get(d, e);
    if (u)
      u->seen = 1;
  }
  cn__cli_scan_free(&s);
  cn__free(d->scan_errors);
  d->scan_errors = errs.ptr;
  d->round_total = 0;
  d->round_t0 = cn__dev_cmd_now(d);
  for (size_t i = 0; i < d->nunits; i++) {
    if (!d->units[i]->seen)
      continue;
    d->first_units += !d->first_round_done;
    if (!d->units[i]->compiling)
      d->round_total += (size_t)unit_build(d, d->units[i]);
  }
  if (!d->first_round_done)
    d->first_started = d->round_total;
  if (d->round_running)
    uv_timer_start(&d->progress, on_progress, 1000, 1000);
  else
    settle(d);
}

/* What the process serving (or about to) was started with. */
static cn__dev_child *target(cn__dev_cmd *d) {
  return d->next ? d->next : d->cur;
}

/* Does the process need replacing (not just some routes)? */
static int needs_restart(cn__dev_cmd *d, const cn__dev_child *ch) {
  const cn__dev_served *s = &ch->served;
  size_t n = 0;
  const char *mw = "";
  if (s->config_sig != d->config_sig || s->env_sig != d->env_sig ||
      s->tpl_sig != d->tpl_sig || s->data_sig != cn__dev_cmd_data_sig(d))
    return 1;
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    if (!u->seen || !u->so[0] || u->data)
      continue;
    if (u->middleware) {
      mw = u->so;
      continue;
    }
    if (cn__dev_served_find(s, u->pattern) < 0)
      return 1;
    n++;
  }
  return n != s->n || strcmp(mw, s->mw);
}

/* Send `replace` for every route whose object changed; 1 when any. */
static int send_replaces(cn__dev_cmd *d, cn__dev_child *ch) {
  int any = 0;
  char line[CN__CLI_PATH * 2 + 64];
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    if (!u->seen || !u->so[0] || u->middleware || u->data)
      continue;
    int k = cn__dev_served_find(&ch->served, u->pattern);
    if (k < 0 || !strcmp(ch->served.sos[k], u->so))
      continue;
    char *copy = cn__strdup(u->so);
    if (!copy)
      continue;
    snprintf(line, sizeof line, "replace %s\t%s\n", u->pattern, u->so);
    cn__dev_child_send(ch, line);
    /* Until the process says ok, the object it had is the fallback. */
    if (!ch->served.olds[k])
      ch->served.olds[k] = ch->served.sos[k];
    else
      cn__free(ch->served.sos[k]);
    ch->served.sos[k] = copy;
    any = 1;
  }
  return any;
}

static void start_next(cn__dev_cmd *d) {
  if (d->stopping)
    return;
  if (d->next) {
    d->restart_pending = 1;
    return;
  }
  cn__dev_child *ch;
  if (cn__dev_child_start(d, &ch) == 0) {
    d->next = ch;
  } else if (!d->cur) {
    /* Nothing serves and nothing can: give up. */
    d->exit_code = 1;
    d->stopping = 1;
    finish_if_idle(d);
  }
}

static void settle(cn__dev_cmd *d) {
  uv_timer_stop(&d->progress);
  if (d->stopping) {
    finish_if_idle(d);
    return;
  }
  if (!d->first_round_done) {
    char ms[16], what[64];
    cn__cli_ms(cn__dev_cmd_now(d) - d->t0, ms);
    snprintf(what, sizeof what, "%zu file%s", d->first_compiled,
             d->first_compiled == 1 ? "" : "s");
    printf(" %s\u2713%s Compiled %s in %s (%zu unchanged)\n",
           cn__cli_c(d->c->color_out, CN__C_GREEN),
           cn__cli_c(d->c->color_out, CN__C_RESET), what, ms,
           d->first_units - d->first_started);
    fflush(stdout);
  }
  show_errors(d);
  cn__dev_child *t = target(d);
  if (!t) {
    start_next(d);
  } else if (needs_restart(d, t)) {
    start_next(d);
  } else {
    int replaced = 0;
    if (d->cur)
      replaced |= send_replaces(d, d->cur);
    if (d->next)
      replaced |= send_replaces(d, d->next);
    if ((replaced || d->reload_wanted) && d->cur)
      cn__dev_child_send(d->cur, "reload\n");
    d->reload_wanted = 0;
  }
  d->first_round_done = 1;
  if (d->dirty)
    round_start(d);
}

/* ---------------------------------------------------- server processes */

void cn__dev_cmd_load_failed(cn__dev_cmd *d, cn__dev_child *ch,
                             const char *pattern, const char *message) {
  char so[CN__CLI_PATH + 128], text[2048];
  const char *tab = strchr(message, '\t');
  cn__dev_unit *u = unit_for_pattern(d, pattern);
  if (!tab || !u)
    return;
  snprintf(so, sizeof so, "%.*s", (int)(tab - message), message);
  snprintf(text, sizeof text, "%s: cannot load it: %s\n", u->rel, tab + 1);
  unit_set_error(u, text);
  /* What the process serves: a replace that failed leaves the old code
   * in; a route (or middleware) that failed at start is not there. */
  cn__dev_served *sv = &ch->served;
  int k = u->middleware ? -1 : cn__dev_served_find(sv, pattern);
  int replaced = k >= 0 && sv->olds[k] && !strcmp(sv->sos[k], so);
  if (replaced) {
    cn__free(sv->sos[k]);
    sv->sos[k] = sv->olds[k];
    sv->olds[k] = NULL;
  } else if (k >= 0 && !strcmp(sv->sos[k], so)) {
    cn__free(sv->patterns[k]);
    cn__free(sv->sos[k]);
    cn__free(sv->olds[k]);
    sv->patterns[k] = sv->patterns[sv->n - 1];
    sv->sos[k] = sv->sos[sv->n - 1];
    sv->olds[k] = sv->olds[sv->n - 1];
    sv->n--;
    k = -1;
  } else if (u->middleware && !strcmp(sv->mw, so)) {
    sv->mw[0] = '\0';
  }
  /* The unit's object is what the serving process has, so the next round
   * neither restarts for it nor sends it again. */
  if (ch == target(d) && !strcmp(u->so, so))
    snprintf(u->so, sizeof u->so, "%s", k >= 0 ? sv->sos[k] : "");
  show_errors(d);
}

void cn__dev_cmd_child_ready(cn__dev_cmd *d, cn__dev_child *ch,
                             const char *line) {
  char ms[16];
  if (ch != d->next || d->stopping)
    return;
  cn__dev_child *old = d->cur;
  d->cur = ch;
  d->next = NULL;
  if (d->announce && !ch->unshown) /* it started with them */
    announce_errors(d);
  if (old) {
    cn__dev_child_stop(old, 0);
    cn__cli_ms(cn__dev_cmd_now(d) - ch->started_ms, ms);
    ok_line(d, "Restarted the server in %s", ms);
  } else {
    printf("%s\n", line);
    cn__cli_ms(cn__dev_cmd_now(d) - d->t0, ms);
    ok_line(d, "Ready in %s", ms);
  }
  if (d->restart_pending) {
    d->restart_pending = 0;
    settle(d);
  }
}

static void on_respawn(uv_timer_t *t) {
  cn__dev_cmd *d = t->data;
  if (!d->cur && !d->next)
    start_next(d);
}

void cn__dev_cmd_child_exited(cn__dev_cmd *d, cn__dev_child *ch) {
  char why[64];
  if (ch->term_signal)
    snprintf(why, sizeof why, "signal %d", ch->term_signal);
  else
    snprintf(why, sizeof why, "exit code %lld", (long long)ch->status);
  if (ch == d->next) {
    d->next = NULL;
    if (!d->stopping)
      cn__cli_error(d->c, "the development server did not start (%s)", why);
    if (!d->cur && !d->stopping) {
      /* Nothing ever served: nothing to fall back on. */
      d->exit_code = 1;
      d->stopping = 1;
    }
  } else if (ch == d->cur) {
    d->cur = NULL;
    if (d->announce) /* no answer will come from it */
      announce_errors(d);
    if (!d->stopping && !ch->stopping) {
      cn__cli_error(d->c, "the development server stopped (%s); starting "
                          "it again",
                    why);
      uv_timer_start(&d->respawn, on_respawn, 300, 0);
    }
  }
  if (d->stopping)
    finish_if_idle(d);
}

/* ------------------------------------------------------------ session */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Once the server processes are gone, close everything: the loop ends. */
static void finish_if_idle(cn__dev_cmd *d) {
  if (d->cur || d->next || d->round_running)
    return;
  cn__dev_watch_close_all(d);
  close_if_open((uv_handle_t *)&d->debounce);
  close_if_open((uv_handle_t *)&d->progress);
  close_if_open((uv_handle_t *)&d->respawn);
  close_if_open((uv_handle_t *)&d->sigint);
  close_if_open((uv_handle_t *)&d->sigterm);
}

static void on_signal(uv_signal_t *h, int signum) {
  cn__dev_cmd *d = h->data;
  (void)signum;
  int again = d->stopping;
  d->stopping = 1;
  uv_timer_stop(&d->debounce);
  uv_timer_stop(&d->respawn);
  uv_timer_stop(&d->progress);
  if (d->cur)
    cn__dev_child_stop(d->cur, again);
  if (d->next)
    cn__dev_child_stop(d->next, again);
  finish_if_idle(d);
}

static void free_session(cn__dev_cmd *d) {
  for (size_t i = 0; i < d->nunits; i++) {
    cn__dev_unit *u = d->units[i];
    cn__free(u->rel);
    cn__free(u->pattern);
    cn__free(u->error);
    cn__free(u);
  }
  cn__free(d->units);
  cn__free(d->scan_errors);
  cn__free(d->shown_errors);
  cn__free(d->plain_errors);
  free_env(d);
  free_tpls(d);
  free_migs(d);
  if (d->listen_fd >= 0)
    close(d->listen_fd);
}

int cn__cli_cmd_dev(const cn__cli *c, int argc, char **argv) {
  const char *dir = NULL, *port = NULL, *host = NULL;
  char err[512];
  cn__dev_cmd d = {.c = c, .listen_fd = -1};
  int rc = cn__dev_cmd_options(&d, argc, argv, &dir, &port, &host);
  if (rc >= 0)
    return rc;
  d.t0 = cn__dev_cmd_now(&d);
  if (cn__cli_enter(c, dir, d.root) || cn__dev_cmd_listen(&d, port, host))
    return 1;
  if (cn__cli_tools_find(&d.tools, c->color_err, err, sizeof err)) {
    cn__cli_error(c, "%s", err);
    free_session(&d);
    return 1;
  }
  if ((mkdir(".cairn", 0777) && errno != EEXIST) ||
      (mkdir(".cairn/dev", 0777) && errno != EEXIST)) {
    cn__cli_error(c, ".cairn/dev: %s", strerror(errno));
    free_session(&d);
    return 1;
  }
  cn__dev_cmd_sweep();
  uv_loop_init(&d.loop);
  cn__cli_jobs_init(&d.jobs, &d.loop, 0);
  uv_timer_init(&d.loop, &d.debounce);
  uv_timer_init(&d.loop, &d.respawn);
  uv_timer_init(&d.loop, &d.progress);
  d.debounce.data = d.respawn.data = d.progress.data = &d;
  uv_signal_init(&d.loop, &d.sigint);
  uv_signal_init(&d.loop, &d.sigterm);
  d.sigint.data = d.sigterm.data = &d;
  uv_signal_start(&d.sigint, on_signal, SIGINT);
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  printf("  %s\u25b2 cairn %s%s (development)\n", cn__cli_c(c->color_out,
                                                          CN__C_BOLD),
         CN_VERSION_STRING, cn__cli_c(c->color_out, CN__C_RESET));
  round_start(&d);
  if (d.nenv_files) {
    printf("  - Environments: ");
    for (size_t i = 0; i < d.nenv_files; i++)
      printf("%s%s", i ? ", " : "", d.env_files[i]);
    printf("\n");
  }
  fflush(stdout);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  uv_loop_close(&d.loop);
  free_session(&d);
  return d.exit_code;
}
