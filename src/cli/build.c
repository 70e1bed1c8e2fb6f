/*
 * `cairn build`: a production build in <app>/.cairn/.
 *
 *   1. scan app/, pages/ and middleware.c; the route tree checks the set
 *      (conflicts fail the build, naming the files);
 *   2. compile each route file and the middleware into .cairn/obj/, a few at
 *      a time, skipping what the cache says is up to date; each route is
 *      compiled with its own CN_ROUTE_SYMBOL and its hidden symbols made
 *      local (objcopy --localize-hidden), so files never clash at link time;
 *   3. generate .cairn/main.c, the manifest (every route with its pattern
 *      and source file, the middleware, the data modules and the text of
 *      the migrations, a build id derived from the objects, so an
 *      unchanged app rebuilds to the same bytes), compile it;
 *   4. link .cairn/server with libcairn.a (statically), replacing the old
 *      binary atomically so a running server is not disturbed;
 *   5. ask the server for its data functions (`--functions`: it checks
 *      every definition, so a duplicate name fails the build);
 *   6. print the route table and the time it all took.
 *
 * `cairn routes` is step 1 and the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct unit {
  cn__cli_job job;
  cn__cli_entry *e;          /* NULL: main.c */
  char obj[CN__CLI_PATH];    /* final object */
  char stamp[CN__CLI_PATH];
  char dep[CN__CLI_PATH];
  cn__cli_stamp st;
  int compiled;
  int running; /* submitted and not done */
} unit;

typedef struct build {
  const cn__cli *c;
  cn__cli_tools tools;
  cn__cli_scan scan;
  cn__cli_pagefiles pages;
  uv_loop_t loop;
  cn__cli_jobs jobs;
  uv_timer_t progress;
  unit *units;
  size_t nunits, compiled, failed;
  size_t ptotal, pdone; /* the progress of the running phase */
  cn__buf fns;          /* the server's --functions lines */
  uint64_t t0, phase_t0;
  const char *phase; /* for progress lines */
} build;

/* ---------------------------------------------------------- progress */

/* Anything slower than a second says what it is doing, once a second. */
static void on_progress(uv_timer_t *t) {
  build *b = t->data;
  char ms[16];
  cn__cli_ms(uv_now(&b->loop) - b->phase_t0, ms);
  const char *what = NULL;
  for (size_t i = 0; i < b->nunits && !what; i++)
    if (b->units[i].running)
      what = b->units[i].e->rel;
  if (b->ptotal > 1)
    printf("   %s... %zu of %zu done (%s%s%s)\n", b->phase, b->pdone,
           b->ptotal, ms, what ? "; still compiling " : "", what ? what : "");
  else
    printf("   %s... (%s)\n", b->phase, ms);
  fflush(stdout);
}

static void run_loop(build *b, const char *phase, size_t total) {
  b->phase = phase;
  b->ptotal = total;
  b->pdone = 0;
  b->phase_t0 = uv_now(&b->loop);
  uv_timer_start(&b->progress, on_progress, 1000, 1000);
  uv_run(&b->loop, UV_RUN_DEFAULT);
}

static void on_unit_done(cn__cli_job *job) {
  unit *u = job->data;
  build *b = job->q->loop->data;
  char tmp[CN__CLI_PATH + 8];
  u->running = 0;
  snprintf(tmp, sizeof tmp, "%s.tmp", u->obj);
  remove(tmp);
  b->pdone++;
  if (job->status) {
    b->failed++;
  } else {
    u->compiled = 1;
    b->compiled += u->e != NULL; /* the app's files, not the manifest */
    cn__cli_stamp_write(u->stamp, &u->st, u->dep);
  }
  if (!cn__cli_jobs_busy(&b->jobs))
    uv_timer_stop(&b->progress);
}

/* ----------------------------------------------------------- compiling */

static int prepare_unit(build *b, unit *u, cn__cli_entry *e) {
  const char *base = e ? e->base : "main";
  const char *src_main = ".cairn/main.c";
  char tmp[CN__CLI_PATH + 8];
  u->e = e;
  snprintf(u->obj, sizeof u->obj, ".cairn/obj/%s.o", base);
  snprintf(u->stamp, sizeof u->stamp, ".cairn/obj/%s.stamp", base);
  snprintf(u->dep, sizeof u->dep, ".cairn/obj/%s.d", base);
  snprintf(tmp, sizeof tmp, "%s.tmp", u->obj);
  uint64_t flags;
  cn__cli_compile_argv(&b->tools, CN__OUT_OBJECT, e ? e->rel : src_main,
                       e ? tmp : u->obj, u->dep,
                       e && !e->middleware ? e->sym : NULL, &u->job.cmds[0],
                       &flags);
  u->job.ncmds = 1;
  if (e) {
    cn__cli_argv *oc = &u->job.cmds[1];
    cn__cli_argv_add(oc, b->tools.objcopy);
    cn__cli_argv_add(oc, "--localize-hidden");
    cn__cli_argv_add(oc, tmp);
    cn__cli_argv_add(oc, u->obj);
    u->job.ncmds = 2;
  }
  if (u->job.cmds[0].failed || u->job.cmds[1].failed)
    return CN_ENOMEM;
  int fresh = cn__cli_stamp_check(u->stamp, flags, &u->st);
  u->st.flags = flags;
  u->st.gen = 0;
  snprintf(u->st.out, sizeof u->st.out, "%s", u->obj);
  /* main.c is written just before it is compiled, and only when its
   * content changes: no edit can race with its compile. */
  u->st.started_ns = e ? cn__cli_now_ns() : INT64_MAX;
  u->job.done = on_unit_done;
  u->job.data = u;
  return fresh;
}

static void free_unit(unit *u) {
  for (int i = 0; i < 3; i++)
    cn__cli_argv_free(&u->job.cmds[i]);
  cn__buf_free(&u->job.output);
}

/* Print what failed, the compiler's own words. */
static void report_failures(build *b, unit *units, size_t n) {
  const cn__cli *c = b->c;
  fprintf(stderr, "%sFailed to compile.%s\n\n", cn__cli_c(c->color_err,
                                                          CN__C_RED),
          cn__cli_c(c->color_err, CN__C_RESET));
  for (size_t i = 0; i < n; i++) {
    if (!units[i].job.status)
      continue;
    cn__buf *o = &units[i].job.output;
    if (o->len)
      fwrite(o->ptr, 1, o->len, stderr);
    else
      fprintf(stderr, "%s: the compiler failed (exit %d)\n",
              units[i].e ? units[i].e->rel : ".cairn/main.c",
              units[i].job.status);
    fputc('\n', stderr);
  }
}

/* Warnings of files that compiled are worth seeing once. */
static void report_warnings(unit *units, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!units[i].job.status && units[i].job.output.len)
      fwrite(units[i].job.output.ptr, 1, units[i].job.output.len, stderr);
}

/* The files a build compiles: routes the tree kept, the middleware,
 * every page.c and layout.c, and the data modules. */
static int wanted(const cn__cli_entry *e) {
  return e->unit && (e->in_tree || e->middleware || e->pagedef || e->data);
}

static int compile_units(build *b) {
  size_t n = 0;
  for (size_t i = 0; i < b->scan.n; i++)
    n += wanted(&b->scan.v[i]);
  b->units = cn__calloc(n ? n : 1, sizeof(unit));
  if (!b->units)
    return CN_ENOMEM;
  b->nunits = n;
  size_t k = 0;
  for (size_t i = 0; i < b->scan.n; i++) {
    cn__cli_entry *e = &b->scan.v[i];
    if (!wanted(e))
      continue;
    unit *u = &b->units[k++];
    int fresh = prepare_unit(b, u, e);
    if (fresh < 0)
      return fresh;
    if (!fresh) {
      u->running = 1;
      cn__cli_jobs_submit(&b->jobs, &u->job);
    }
  }
  run_loop(b, "Compiling", (size_t)cn__cli_jobs_busy(&b->jobs));
  report_warnings(b->units, b->nunits);
  if (b->failed) {
    report_failures(b, b->units, b->nunits);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------- main.c */

static void c_string(cn__buf *o, const char *s) {
  cn__buf_append(o, "\"", 1);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '?')
      cn__buf_append(o, s, 1);
    else
      cn__buf_appendf(o, "\\%03o", ch);
  }
  cn__buf_append(o, "\"", 1);
}

typedef struct gen_ctx {
  cn__buf *o;
  int decl; /* this pass writes declarations (else table rows) */
  size_t n;
} gen_ctx;

static void gen_route(cn__cli_entry *e, void *ud) {
  gen_ctx *g = ud;
  if (!e->unit || e->pagedef)
    return;
  g->n++;
  if (g->decl) {
    cn__buf_appendf(g->o, "extern const cn_route_def %s;\n", e->sym);
    return;
  }
  cn__buf_appendf(g->o, "    {");
  c_string(g->o, e->pattern);
  cn__buf_appendf(g->o, ", ");
  c_string(g->o, e->rel);
  cn__buf_appendf(g->o, ", &%s},\n", e->sym);
}

/* A build id that changes exactly when an object does, or the library
 * the server links (a new cairn renders pages differently). */
static uint64_t build_id(const build *b) {
  uint64_t h = CN__CLI_HASH_INIT;
  struct stat lib;
  if (stat(b->tools.libcairn, &lib) == 0) {
    int64_t v[2] = {(int64_t)lib.st_size,
                    (int64_t)lib.st_mtim.tv_sec * 1000000000 +
                        lib.st_mtim.tv_nsec};
    h = cn__cli_hash(v, sizeof v, h);
  }
  for (size_t i = 0; i < b->nunits; i++) {
    struct stat st;
    const unit *u = &b->units[i];
    h = cn__cli_hash(u->obj, strlen(u->obj) + 1, h);
    if (stat(u->obj, &st) == 0) {
      int64_t v[2] = {(int64_t)st.st_size,
                      (int64_t)st.st_mtim.tv_sec * 1000000000 +
                          st.st_mtim.tv_nsec};
      h = cn__cli_hash(v, sizeof v, h);
    }
  }
  return h;
}

static int write_if_changed(const char *path, const cn__buf *text) {
  FILE *f = fopen(path, "r");
  if (f) {
    char *old = cn__malloc(text->len + 1);
    size_t n = old ? fread(old, 1, text->len + 1, f) : 0;
    int same = old && n == text->len && !memcmp(old, text->ptr, n);
    cn__free(old);
    fclose(f);
    if (same)
      return 0;
  }
  char tmp[CN__CLI_PATH + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  f = fopen(tmp, "w");
  if (!f)
    return CN_EIO;
  size_t w = fwrite(text->ptr, 1, text->len, f);
  if (fclose(f) || w != text->len || rename(tmp, path))
    return CN_EIO;
  return 0;
}

/* The Server Actions key of a build (64 hex digits into key): new random
 * bytes whenever the build id changes, so IDs and sealed values differ
 * between builds, and the same when nothing changed, so a no-op build
 * stays up to date. Kept in .cairn/actions-key. */
static int actions_key(uint64_t id, char key[65]) {
  char line[128], want[24];
  snprintf(want, sizeof want, "%016llx", (unsigned long long)id);
  FILE *f = fopen(".cairn/actions-key", "r");
  if (f) {
    int ok = fgets(line, sizeof line, f) && !strncmp(line, want, 16) &&
             line[16] == ' ' && strlen(line) >= 17 + 64;
    fclose(f);
    if (ok) {
      memcpy(key, line + 17, 64);
      key[64] = '\0';
      return 0;
    }
  }
  unsigned char raw[32];
  f = fopen("/dev/urandom", "rb");
  size_t n = f ? fread(raw, 1, sizeof raw, f) : 0;
  if (f)
    fclose(f);
  if (n != sizeof raw)
    return CN_EIO;
  for (int i = 0; i < 32; i++)
    snprintf(key + 2 * i, 3, "%02x", raw[i]);
  cn__buf text = {0};
  int rc = cn__buf_appendf(&text, "%s %s\n", want, key);
  if (!rc)
    rc = write_if_changed(".cairn/actions-key", &text);
  cn__buf_free(&text);
  return rc;
}

/* The manifest's data modules and migrations (the SQL embedded). */
static int gen_data(const build *b, cn__buf *o) {
  size_t ndata = 0, nmig = 0;
  const cn__cli_scan *s = &b->scan;
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].data) /* weak: a module without CN_DATA is the server's
                         error (--functions), named, not the linker's */
      cn__buf_appendf(o, "extern const cn_data_def %s "
                         "__attribute__((weak));\n",
                      s->v[i].sym);
  for (size_t i = 0; i < s->n; i++) {
    if (!s->v[i].migration)
      continue;
    FILE *f = fopen(s->v[i].rel, "rb");
    cn__buf sql = {0};
    char chunk[8192];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
      cn__buf_append(&sql, chunk, n);
    int bad = !f || ferror(f) || (sql.len && memchr(sql.ptr, 0, sql.len));
    if (f)
      fclose(f);
    if (bad) {
      cn__buf_free(&sql);
      fprintf(stderr, "%sFailed to compile.%s\n\n%s: %s\n",
              cn__cli_c(b->c->color_err, CN__C_RED),
              cn__cli_c(b->c->color_err, CN__C_RESET), s->v[i].rel,
              f ? "cannot be read as text (it holds a NUL byte)"
                : strerror(errno));
      return CN_EPARSE;
    }
    cn__buf_append(&sql, "", 1);
    cn__buf_appendf(o, "static const char mig_%zu[] =\n    ", i);
    c_string(o, sql.ptr ? sql.ptr : "");
    cn__buf_appendf(o, ";\n");
    cn__buf_free(&sql);
  }
  cn__buf_appendf(o, "\nstatic const cn_manifest_data data[] = {\n");
  for (size_t i = 0; i < s->n; i++) {
    if (!s->v[i].data)
      continue;
    cn__buf_appendf(o, "    {");
    c_string(o, s->v[i].module);
    cn__buf_appendf(o, ", ");
    c_string(o, s->v[i].rel);
    cn__buf_appendf(o, ", &%s},\n", s->v[i].sym);
    ndata++;
  }
  if (!ndata)
    cn__buf_appendf(o, "    {0, 0, 0},\n");
  cn__buf_appendf(o, "};\n\nstatic const cn_manifest_migration "
                     "migrations[] = {\n");
  for (size_t i = 0; i < s->n; i++) {
    if (!s->v[i].migration)
      continue;
    cn__buf_appendf(o, "    {");
    c_string(o, strrchr(s->v[i].rel, '/') + 1);
    cn__buf_appendf(o, ", mig_%zu},\n", i);
    nmig++;
  }
  if (!nmig)
    cn__buf_appendf(o, "    {0, 0},\n");
  cn__buf_appendf(o, "};\n#define NDATA %zu\n#define NMIGRATIONS %zu\n",
                  ndata, nmig);
  return 0;
}

static int generate_main(build *b) {
  cn__buf o = {0};
  char key[65];
  uint64_t id = build_id(b) ^ b->pages.hash;
  if (actions_key(id, key))
    return CN_EIO;
  gen_ctx g = {&o, 1, 0};
  cn__cli_entry *mw = cn__cli_scan_middleware(&b->scan);
  cn__buf_appendf(&o, "/* Generated by `cairn build`: the app's route table. "
                      "Do not edit. */\n#include <cairn.h>\n\n");
  cn__cli_scan_foreach(&b->scan, gen_route, &g);
  if (mw)
    cn__buf_appendf(&o, "extern const cn_middleware_def cn_middleware;\n");
  cn__cli_pages_gen(&b->pages, &o, 1);
  cn__buf_appendf(&o, "\nstatic const cn_manifest_file files[] = {\n");
  cn__cli_pages_gen(&b->pages, &o, 0);
  if (!b->pages.n)
    cn__buf_appendf(&o, "    {0, 0, 0, 0},\n");
  cn__buf_appendf(&o, "};\n");
  cn__buf_appendf(&o, "\nstatic const cn_manifest_route routes[] = {\n");
  g.decl = 0;
  g.n = 0;
  cn__cli_scan_foreach(&b->scan, gen_route, &g);
  if (!g.n)
    cn__buf_appendf(&o, "    {0, 0, 0},\n");
  cn__buf_appendf(&o, "};\n\n");
  int rc = gen_data(b, &o);
  if (rc) {
    cn__buf_free(&o);
    return rc;
  }
  cn__buf_appendf(&o,
                  "\nstatic const cn_manifest manifest = {\n"
                  "    routes, %zu, %s, \"%016llx\", files, %zu,\n"
                  "    \"%s\", data, NDATA, migrations, NMIGRATIONS};\n\n"
                  "int main(int argc, char **argv) {\n"
                  "  return cn_main(&manifest, argc, argv);\n}\n",
                  g.n, mw ? "&cn_middleware" : "0",
                  (unsigned long long)id, b->pages.n, key);
  rc = o.ptr ? write_if_changed(".cairn/main.c", &o) : CN_ENOMEM;
  cn__buf_free(&o);
  return rc;
}

/* ------------------------------------------------------------ linking */

static void on_link_done(cn__cli_job *job) {
  build *b = job->data;
  uv_timer_stop(&b->progress);
}

/* Link when an object changed or the binary is missing or stale. */
static int link_server(build *b, unit *m, int *linked) {
  cn__cli_job job = {0};
  cn__cli_argv *a = &job.cmds[0];
  const cn__cli_tools *t = &b->tools;
  cn__buf dep = {0};
  int rc = 0;
  *linked = 0;
  for (int i = 0; i < t->ncc; i++)
    cn__cli_argv_add(a, t->cc[i]);
  cn__cli_argv_add(a, "-o");
  cn__cli_argv_add(a, ".cairn/server.tmp");
  cn__buf_appendf(&dep, ".cairn/server: %s", m->obj);
  cn__cli_argv_add(a, m->obj);
  for (size_t i = 0; i < b->nunits; i++) {
    cn__cli_argv_add(a, b->units[i].obj);
    cn__buf_appendf(&dep, " %s", b->units[i].obj);
  }
  cn__cli_argv_add(a, t->libcairn);
  cn__buf_appendf(&dep, " %s\n", t->libcairn);
  for (int i = 0; i < t->nlibs; i++)
    cn__cli_argv_add(a, t->libs[i]);
  for (int i = 0; i < t->nsan; i++)
    cn__cli_argv_add(a, t->san[i]);
  uint64_t flags = CN__CLI_HASH_INIT;
  for (size_t i = 0; i < a->n; i++)
    flags = cn__cli_hash(a->v[i], strlen(a->v[i]) + 1, flags);
  cn__cli_stamp st;
  if (a->failed || !dep.ptr || write_if_changed(".cairn/obj/server.d", &dep)) {
    rc = CN_ENOMEM;
    goto cleanup;
  }
  if (cn__cli_stamp_check(".cairn/obj/server.stamp", flags, &st))
    goto cleanup;
  st.flags = flags;
  st.gen = 0;
  snprintf(st.out, sizeof st.out, ".cairn/server");
  /* The inputs are this build's own objects: nothing edits them. */
  st.started_ns = INT64_MAX;
  job.ncmds = 1;
  job.done = on_link_done;
  job.data = b;
  cn__cli_jobs_submit(&b->jobs, &job);
  run_loop(b, "Linking", 1);
  if (job.status) {
    fprintf(stderr, "%sFailed to link.%s\n\n", cn__cli_c(b->c->color_err,
                                                        CN__C_RED),
            cn__cli_c(b->c->color_err, CN__C_RESET));
    fwrite(job.output.ptr ? job.output.ptr : "", 1, job.output.len, stderr);
    rc = 1;
    goto cleanup;
  }
  if (rename(".cairn/server.tmp", ".cairn/server")) {
    cn__cli_error(b->c, ".cairn/server: %s", strerror(errno));
    rc = 1;
    goto cleanup;
  }
  cn__cli_stamp_write(".cairn/obj/server.stamp", &st, ".cairn/obj/server.d");
  *linked = 1;
cleanup:
  cn__cli_argv_free(a);
  cn__buf_free(&job.output);
  cn__buf_free(&dep);
  return rc;
}

/* ---------------------------------------------------------- prerender */

/* The server renders its own static pages into .cairn/pages (see
 * src/page/prerender.c); a page that fails fails the build. */
static int prerender(build *b) {
  cn__cli_job job = {0};
  cn__cli_argv *a = &job.cmds[0];
  uint64_t t0 = uv_hrtime() / 1000000;
  char ms[16];
  cn__cli_argv_add(a, ".cairn/server");
  cn__cli_argv_add(a, "--prerender");
  cn__cli_argv_add(a, ".cairn/pages");
  if (a->failed) {
    cn__cli_argv_free(a);
    return 2;
  }
  job.ncmds = 1;
  job.done = on_link_done;
  job.data = b;
  cn__cli_jobs_submit(&b->jobs, &job);
  run_loop(b, "Generating static pages", 1);
  int rc = 0;
  if (job.status) {
    fprintf(stderr, "%sFailed to generate static pages.%s\n\n",
            cn__cli_c(b->c->color_err, CN__C_RED),
            cn__cli_c(b->c->color_err, CN__C_RESET));
    fwrite(job.output.ptr ? job.output.ptr : "", 1, job.output.len, stderr);
    rc = 1;
  } else {
    fwrite(job.output.ptr ? job.output.ptr : "", 1, job.output.len, stderr);
    cn__cli_ms(uv_hrtime() / 1000000 - t0, ms);
    printf(" %s\u2713%s Generated static pages in %s\n",
           cn__cli_c(b->c->color_out, CN__C_GREEN),
           cn__cli_c(b->c->color_out, CN__C_RESET), ms);
  }
  cn__cli_argv_free(a);
  cn__buf_free(&job.output);
  return rc;
}

/* ------------------------------------------------------ data functions */

/* The server checks its data functions and lists them; a definition it
 * would refuse at start (a duplicate name, a bad schema) fails the build
 * here, with the file named. */
static int data_functions(build *b) {
  cn__cli_job job = {0};
  cn__cli_argv *a = &job.cmds[0];
  cn__cli_argv_add(a, ".cairn/server");
  cn__cli_argv_add(a, "--functions");
  if (a->failed) {
    cn__cli_argv_free(a);
    return 2;
  }
  job.ncmds = 1;
  job.done = on_link_done;
  job.data = b;
  cn__cli_jobs_submit(&b->jobs, &job);
  run_loop(b, "Checking data functions", 1);
  int rc = 0;
  if (job.status) {
    fprintf(stderr, "%sFailed to compile.%s\n\n",
            cn__cli_c(b->c->color_err, CN__C_RED),
            cn__cli_c(b->c->color_err, CN__C_RESET));
    fwrite(job.output.ptr ? job.output.ptr : "", 1, job.output.len, stderr);
    rc = 1;
  } else {
    b->fns = job.output;
    job.output = (cn__buf){0};
    cn__buf_append(&b->fns, "", 1);
  }
  cn__cli_argv_free(a);
  cn__buf_free(&job.output);
  return rc;
}

static int has_data(const cn__cli_scan *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].data || s->v[i].migration)
      return 1;
  return 0;
}

/* ------------------------------------------------------------ commands */

/* The app directory argument and --help; anything else is a usage error.
 * Returns -1 to go on, else the exit code. */
static int parse_dir_args(const cn__cli *c, const char *cmd, int argc,
                          char **argv, const char **dir) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      cn__cli_usage(stdout, cmd);
      return 0;
    }
    if (argv[i][0] == '-' || *dir) {
      cn__cli_error(c, "%s: unexpected argument '%s'", cmd, argv[i]);
      cn__cli_usage(stderr, cmd);
      return 2;
    }
    *dir = argv[i];
  }
  return -1;
}

/* Scan and check; print the problems. 0, 1 (problems) or 2 (error). */
static int scan_app(const cn__cli *c, cn__cli_scan *s) {
  int rc = cn__cli_scan_walk(s);
  if (!rc)
    rc = cn__cli_scan_check(s);
  if (rc) {
    cn__cli_error(c, "cannot read the app: %s", cn_strerror(rc));
    return 2;
  }
  if (s->nerrors) {
    fprintf(stderr, "%sFailed to compile.%s\n\n%s\n",
            cn__cli_c(c->color_err, CN__C_RED),
            cn__cli_c(c->color_err, CN__C_RESET), s->errors.ptr);
    return 1;
  }
  return 0;
}

int cn__cli_cmd_routes(const cn__cli *c, int argc, char **argv) {
  const char *dir = NULL;
  char root[CN__CLI_PATH];
  int rc = parse_dir_args(c, "routes", argc, argv, &dir);
  if (rc >= 0)
    return rc;
  if (cn__cli_enter(c, dir, root))
    return 1;
  cn__cli_scan s = {0};
  rc = scan_app(c, &s);
  if (!rc) {
    cn__cli_table(c, stdout, &s, NULL);
    cn__cli_table_data(c, stdout, &s, NULL);
  }
  cn__cli_scan_free(&s);
  return rc ? 1 : 0;
}

static int make_dirs(const cn__cli *c) {
  if ((mkdir(".cairn", 0777) && errno != EEXIST) ||
      (mkdir(".cairn/obj", 0777) && errno != EEXIST)) {
    cn__cli_error(c, ".cairn: %s", strerror(errno));
    return 1;
  }
  return 0;
}

static int run_build(build *b) {
  const cn__cli *c = b->c;
  unit m = {0};
  char ms[16], err[512], size[16];
  int rc = scan_app(c, &b->scan);
  if (rc)
    return 1;
  if ((rc = cn__cli_pages_read(&b->scan, &b->pages, err, sizeof err))) {
    fprintf(stderr, "%sFailed to compile.%s\n\n%s\n",
            cn__cli_c(c->color_err, CN__C_RED),
            cn__cli_c(c->color_err, CN__C_RESET), err);
    return rc == CN_ENOMEM ? 2 : 1;
  }
  if (make_dirs(c) || (rc = compile_units(b)))
    return rc < 0 ? 2 : 1;
  size_t cached = b->nunits - b->compiled;
  /* The manifest, once every object is final (its id hashes them). */
  if ((rc = generate_main(b))) {
    if (rc != CN_EPARSE) /* else said already, naming the file */
      cn__cli_error(c, ".cairn/main.c: cannot write it");
    return 1;
  }
  if (prepare_unit(b, &m, NULL) == 0) {
    cn__cli_jobs_submit(&b->jobs, &m.job);
    run_loop(b, "Compiling the manifest", 1);
  }
  if (m.job.status) {
    report_failures(b, &m, 1);
    free_unit(&m);
    return 1;
  }
  free_unit(&m);
  cn__cli_ms(uv_hrtime() / 1000000 - b->t0, ms);
  printf(" %s\u2713%s Compiled %zu file%s in %s", cn__cli_c(c->color_out,
                                                        CN__C_GREEN),
         cn__cli_c(c->color_out, CN__C_RESET), b->compiled,
         b->compiled == 1 ? "" : "s", ms);
  if (cached)
    printf(" (%zu unchanged)", cached);
  printf("\n");
  int linked;
  uint64_t t_link = uv_hrtime() / 1000000;
  if ((rc = link_server(b, &m, &linked)))
    return rc < 0 ? 2 : 1;
  cn__cli_ms(uv_hrtime() / 1000000 - t_link, ms);
  cn__cli_size(cn__cli_elf_size(".cairn/server"), size);
  printf(" %s\u2713%s %s .cairn/server (%s of code and data)%s%s\n",
         cn__cli_c(c->color_out, CN__C_GREEN),
         cn__cli_c(c->color_out, CN__C_RESET),
         linked ? "Linked" : "Up to date:", size, linked ? " in " : "",
         linked ? ms : "");
  if (has_data(&b->scan) && (rc = data_functions(b)))
    return rc;
  if (b->pages.n && (rc = prerender(b)))
    return rc;
  printf("\n");
  cn__cli_table(c, stdout, &b->scan, ".cairn/obj");
  cn__cli_table_data(c, stdout, &b->scan, b->fns.ptr);
  return 0;
}

int cn__cli_cmd_build(const cn__cli *c, int argc, char **argv) {
  const char *dir = NULL;
  char root[CN__CLI_PATH], err[512], ms[16];
  int rc = parse_dir_args(c, "build", argc, argv, &dir);
  if (rc >= 0)
    return rc;
  build b = {.c = c};
  cn_config cfg;
  if (cn__cli_enter(c, dir, root) || cn__cli_config(c, &cfg))
    return 1;
  if (cn__cli_tools_find(&b.tools, c->color_err, err, sizeof err)) {
    cn__cli_error(c, "%s", err);
    return 1;
  }
  uv_loop_init(&b.loop);
  b.loop.data = &b;
  b.t0 = uv_hrtime() / 1000000;
  uv_timer_init(&b.loop, &b.progress);
  b.progress.data = &b;
  uv_unref((uv_handle_t *)&b.progress);
  cn__cli_jobs_init(&b.jobs, &b.loop, 0);
  printf("  %s\u25b2 cairn %s%s\n\n   Creating a production build ...\n",
         cn__cli_c(c->color_out, CN__C_BOLD), CN_VERSION_STRING,
         cn__cli_c(c->color_out, CN__C_RESET));
  fflush(stdout);
  rc = run_build(&b);
  uv_close((uv_handle_t *)&b.progress, NULL);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  for (size_t i = 0; i < b.nunits; i++)
    free_unit(&b.units[i]);
  cn__free(b.units);
  cn__cli_scan_free(&b.scan);
  cn__cli_pages_free(&b.pages);
  cn__buf_free(&b.fns);
  if (!rc) {
    cn__cli_ms(uv_hrtime() / 1000000 - b.t0, ms);
    printf(" %s\u2713%s Build finished in %s\n",
           cn__cli_c(c->color_out, CN__C_GREEN),
           cn__cli_c(c->color_out, CN__C_RESET), ms);
  }
  return rc;
}
