/*
 * cli.h: the `cairn` command, what its files share.
 *
 * One executable, five commands (new, dev, build, start, routes) and one
 * hidden one (the server process of `cairn dev`). The command compiles an
 * app's C files with the system's C compiler against <cairn.h> and links
 * them with libcairn, so it needs to know where those are: in this source
 * tree's build directory when it runs from there, else under the prefix it
 * was installed into (found from /proc/self/exe). tools.c decides.
 *
 * The pieces, each in its own file:
 *   term.c    colours (only on a terminal, NO_COLOR honoured), messages
 *   tools.c   the compiler, include and library paths, compile commands
 *   jobs.c    running compiler processes in parallel on a libuv loop
 *   stamp.c   the build cache: what each output was made from
 *   scan.c    walking app/, pages/ and middleware.c; the route tree check
 *   table.c   the route table `build` and `routes` print
 *   build.c   `cairn build` and `cairn routes`
 *   start.c   `cairn start`
 *   new.c     `cairn new`
 *   dev.c, devsetup.c, devchild.c, devwatch.c   `cairn dev` (compiles,
 *             watches, runs and replaces the server process)
 *   devserve.c  the server process of `cairn dev`
 *
 * Conventions: commands return the process's exit code (0 success, 1
 * failure, 2 bad usage). Paths an app gives are used relative to its
 * directory, which every command makes its working directory first, so
 * compiler messages read "app/api/hello/route.c:5:3: error: ...".
 */
#ifndef CN_CLI_H
#define CN_CLI_H

#include <stdio.h>
#include <uv.h>

#include "common/common.h"
#include "router/router.h"

#define CN__CLI_PATH 4096

/* ------------------------------------------------------------- term.c */

typedef struct cn__cli {
  int color_out, color_err; /* colours on stdout / stderr */
  int tty_out;              /* stdout is a terminal */
} cn__cli;

typedef enum cn__cli_color {
  CN__C_RESET, CN__C_BOLD, CN__C_DIM, CN__C_RED, CN__C_GREEN, CN__C_YELLOW,
  CN__C_CYAN, CN__C_MAGENTA
} cn__cli_color;

/* Decide colours once at start: a stream gets them when it is a terminal
 * and NO_COLOR is unset, or when FORCE_COLOR is set to something other
 * than "0". */
void cn__cli_init(cn__cli *c);

/* The escape sequence for color, or "" when on is 0. Static. */
const char *cn__cli_c(int on, cn__cli_color color);

/* "error: <message>" on stderr (the label red on a terminal). */
void cn__cli_error(const cn__cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cn__cli_warn(const cn__cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds for messages, "412ms" or "1.4s", into out[16]. */
void cn__cli_ms(uint64_t ms, char out[16]);

/* Make dir (an app directory argument, "." when NULL) the working
 * directory. OUT: root (CN__CLI_PATH bytes), its absolute path. Prints the
 * error. 0 or 1. */
int cn__cli_enter(const cn__cli *c, const char *dir, char *root);

/* Validate ./cairn.json when there is one, printing the error naming the
 * key. OUT: *cfg (defaults when there is no file). 0 or 1. */
int cn__cli_config(const cn__cli *c, cn_config *cfg);

/* Shared option parsing: "-p N", "--port N", "--port=N", "-H h",
 * "--hostname h", "--hostname=h". Returns how many argv entries were used
 * (0: not one of these; -1: missing value, message printed). */
int cn__cli_listen_opt(const cn__cli *c, int argc, char **argv, int i,
                       const char **port, const char **hostname);

/* ------------------------------------------------------------ tools.c */

typedef struct cn__cli_tools {
  char *cc[8];            /* the compiler: $CC split into words, or "cc" */
  int ncc;
  char *libs[16];         /* what a server links besides libcairn */
  int nlibs;
  char *san[8];           /* the sanitizer flags libcairn was built with */
  int nsan;
  char include_dir[CN__CLI_PATH]; /* where cairn.h is */
  char libcairn[CN__CLI_PATH];    /* libcairn.a */
  char objcopy[64];
  char words[1024];       /* storage for the words above */
  int color;              /* ask the compiler for coloured messages */
} cn__cli_tools;

/* Find the compiler, cairn.h and libcairn.a (this build tree, or the
 * installed prefix next to the executable). Prints nothing; CN_ENOENT with
 * a sentence in err when something is missing. */
int cn__cli_tools_find(cn__cli_tools *t, int color, char *err,
                       size_t errlen);

/* A NULL-terminated argv built word by word; cn__cli_argv_free frees it. */
typedef struct cn__cli_argv {
  char **v;
  size_t n, cap;
  int failed; /* an allocation failed: the argv is incomplete */
} cn__cli_argv;

void cn__cli_argv_add(cn__cli_argv *a, const char *word);
void cn__cli_argv_addf(cn__cli_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cn__cli_argv_free(cn__cli_argv *a);

/* What kind of output a compile makes. */
typedef enum cn__cli_out_kind {
  CN__OUT_OBJECT, /* production: -O2, an object to link into the server */
  CN__OUT_SHARED, /* development: -O0, one shared object per file */
} cn__cli_out_kind;

/* The compile command for src (relative to the app directory) into out,
 * with make-style dependencies written to depfile. symbol is the route's
 * CN_ROUTE_SYMBOL (NULL: the default, for middleware and dev). OUT:
 * *flags_hash: a hash of everything in the command but the output names,
 * for the cache. */
void cn__cli_compile_argv(const cn__cli_tools *t, cn__cli_out_kind kind,
                          const char *src, const char *out,
                          const char *depfile, const char *symbol,
                          cn__cli_argv *a, uint64_t *flags_hash);

/* FNV-1a, 64 bits, continuing from h (start with CN__CLI_HASH_INIT). */
#define CN__CLI_HASH_INIT 0xcbf29ce484222325ull
uint64_t cn__cli_hash(const void *p, size_t n, uint64_t h);

/* ------------------------------------------------------------- jobs.c */

typedef struct cn__cli_job cn__cli_job;
typedef struct cn__cli_jobs cn__cli_jobs;
typedef void cn__cli_job_done_fn(cn__cli_job *job);

/* One job: up to three commands run one after the other, stopping at the
 * first that fails; their stdout and stderr collected together. The caller
 * owns the job and its argvs; done is called on the loop once the last
 * process has exited and its output is read. */
struct cn__cli_job {
  cn__cli_argv cmds[3];
  int ncmds;
  cn__buf output;
  int status; /* 0; the failing command's exit code; 128+signal; 127 when
                 it could not be started */
  cn__cli_job_done_fn *done;
  void *data;
  /* the runner's */
  int step, exited, eof;
  uv_process_t proc;
  uv_pipe_t pipe;
  cn__cli_jobs *q;
  cn__cli_job *next;
};

struct cn__cli_jobs {
  uv_loop_t *loop;
  int max, running;
  cn__cli_job *head, *tail; /* waiting */
};

/* max 0: one per core. */
void cn__cli_jobs_init(cn__cli_jobs *q, uv_loop_t *loop, int max);
void cn__cli_jobs_submit(cn__cli_jobs *q, cn__cli_job *job);
/* Jobs running or waiting. */
int cn__cli_jobs_busy(const cn__cli_jobs *q);

/* ------------------------------------------------------------ stamp.c */

/* The cache record of one output: the flags hash, the output's path, a
 * generation counter (dev names each new shared object after it), and the
 * mtime and size of every file the output was made from. */
typedef struct cn__cli_stamp {
  uint64_t flags;
  unsigned gen;
  char out[CN__CLI_PATH + 128];
  int64_t started_ns; /* wall clock when the compile started (write only) */
} cn__cli_stamp;

/* Read path's stamp. Returns 1 when it exists, its flags equal flags, its
 * output exists and none of its inputs changed; 0 otherwise. OUT: *st gets
 * what the stamp says whenever it could be read (st->out[0] == '\0' when
 * not), so a stale output's generation and path are still known. */
int cn__cli_stamp_check(const char *path, uint64_t flags, cn__cli_stamp *st);

/* Write path's stamp after a successful compile: st's fields, and the
 * inputs listed in the make-style depfile (the source first). An input
 * modified after st->started_ns may have been read half-saved: no stamp is
 * written then (CN_EIO), so the next build compiles again. 0, CN_EIO or
 * CN_ENOMEM. */
int cn__cli_stamp_write(const char *path, const cn__cli_stamp *st,
                        const char *depfile);

/* The wall clock in nanoseconds, for started_ns. */
int64_t cn__cli_now_ns(void);

/* ------------------------------------------------------------- scan.c */

typedef struct cn__cli_entry {
  char *rel;           /* "app/api/hello/route.c", relative to the root */
  cn__route_kind kind; /* NONE for middleware.c */
  char *pattern;       /* "/api/hello"; NULL for middleware.c */
  int middleware;      /* middleware.c at the root */
  int unit;            /* compiled: a route handler, an API route, the
                          middleware, a page.c or layout.c */
  int pagedef;         /* page.c or layout.c (a cn_page_def) */
  int tpl;             /* a template embedded in the build: page.html,
                          layout.html, ... and components/ files */
  int in_tree;         /* an endpoint the router kept */
  int data;            /* data/<module>.c: data functions (compiled) */
  int migration;       /* data/migrations/NNN_name.sql */
  char module[72];     /* data: the module's name, "tasks" */
  char base[80];       /* output base name: "<readable>-<hash>" */
  char sym[40];        /* the route's CN_ROUTE_SYMBOL in a build */
} cn__cli_entry;

typedef struct cn__cli_scan {
  cn__cli_entry *v;
  size_t n, cap;
  char **dirs; /* every directory under the root worth watching
                  (relative, "." for the root itself) */
  size_t ndirs, capdirs;
  cn__buf errors; /* problems, one or more lines each, NUL-terminated */
  size_t nerrors;
  cn__router *router; /* after cn__cli_scan_check */
} cn__cli_scan;

/* Walk the app in the working directory: app/ and pages/ (routes, pages,
 * layouts, ...), middleware.c, data/<module>.c (data functions) and
 * data/migrations/NNN_name.sql. Files whose names cannot be routes, modules or
 * migrations are problems in s->errors, not failures. The caller zeroes s and frees it
 * with cn__cli_scan_free. 0, CN_ENOMEM or CN_EIO. */
int cn__cli_scan_walk(cn__cli_scan *s);

/* Put the endpoints into a router and validate them: conflicts become
 * problems in s->errors, and the routes the router kept get in_tree. 0 or
 * CN_ENOMEM. */
int cn__cli_scan_check(cn__cli_scan *s);

void cn__cli_scan_free(cn__cli_scan *s);

/* The entry for middleware.c, NULL when there is none. */
cn__cli_entry *cn__cli_scan_middleware(const cn__cli_scan *s);

/* Visit the endpoints the router kept in Next.js's order. */
typedef void cn__cli_entry_fn(cn__cli_entry *e, void *ud);
void cn__cli_scan_foreach(const cn__cli_scan *s, cn__cli_entry_fn *fn,
                          void *ud);

/* --------------------------------------------------------- pagegen.c */

/* The templates and page definitions of a scan, for the manifest. */
typedef struct cn__cli_pagefiles {
  cn_manifest_file *files;  /* texts read; definitions are stand-ins */
  cn__buf *texts;
  cn__cli_entry **entries;  /* the scan's entry of each file */
  size_t n;
  uint64_t hash;            /* of every template's path and text */
} cn__cli_pagefiles;

/* Read every template of s and check the set as the server will load it.
 * CN_EPARSE / CN_EINVAL with "file:line:col: message" in err, CN_EIO
 * naming the file, CN_ENOMEM. Free with cn__cli_pages_free, also on
 * failure. */
int cn__cli_pages_read(const cn__cli_scan *s, cn__cli_pagefiles *pf,
                       char *err, size_t errlen);
void cn__cli_pages_free(cn__cli_pagefiles *pf);

/* Write main.c's part: declarations (decl 1: the texts as literals and
 * the definitions' externs) or the rows of the files table (decl 0). */
void cn__cli_pages_gen(const cn__cli_pagefiles *pf, cn__buf *o, int decl);

/* ------------------------------------------------------------ table.c */

/* Print the route table of a checked scan, like `next build`. With objdir
 * (the build's object directory) the last column is each compiled file's
 * code size; without, the file each route comes from. */
void cn__cli_table(const cn__cli *c, FILE *f, const cn__cli_scan *s,
                   const char *objdir);

/* The data layer's part of the table: with fns (the server's --functions
 * lines, "path\tkind\tsource"), a row per function ("λ tasks:list
 * query"); without (`cairn routes`, nothing compiled), the modules. Then
 * the migrations. Nothing when the app has no data/. */
void cn__cli_table_data(const cn__cli *c, FILE *f, const cn__cli_scan *s,
                        const char *fns);

/* Bytes a relocatable or shared ELF file loads (its SHF_ALLOC sections):
 * code and data, not debug information. 0 when it cannot be read. */
uint64_t cn__cli_elf_size(const char *path);

/* "1.2 kB", "340 B" into out[16]. */
void cn__cli_size(uint64_t bytes, char out[16]);

/* ----------------------------------------------------------- commands */

int cn__cli_cmd_build(const cn__cli *c, int argc, char **argv);
int cn__cli_cmd_routes(const cn__cli *c, int argc, char **argv);
int cn__cli_cmd_start(const cn__cli *c, int argc, char **argv);
int cn__cli_cmd_new(const cn__cli *c, int argc, char **argv);
int cn__cli_cmd_dev(const cn__cli *c, int argc, char **argv);
int cn__cli_cmd_dev_serve(const cn__cli *c, int argc, char **argv);

/* Help texts (main.c): the usage of one command on f. */
void cn__cli_usage(FILE *f, const char *command);

#endif /* CN_CLI_H */
