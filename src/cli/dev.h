/*
 * dev.h: the `cairn dev` command, shared by dev.c (rounds: scan, compile,
 * decide), devchild.c (the server processes) and devwatch.c (inotify
 * through libuv).
 *
 * Shape of a session. The command owns a libuv loop with: the file
 * watchers, a debounce timer, the compiler jobs, the signal handlers and
 * one or two server processes (`cairn __dev-server`, devserve.c). A burst
 * of file events becomes one "round": rescan the app, compile whatever the
 * cache says changed (each route file into its own shared object), then
 * settle: send `replace` for route files that changed, or start a new
 * server process when the set of routes, the middleware, cairn.json, the
 * .env files or anything of the data layer (a data/<module>.c, a
 * migration) changed: the data layer opens its store and migrates once,
 * at the start of a process, so a restart is the simplest correct way. A new process takes over from the old one on the
 * same listening socket: it is started, and the old one told to stop only
 * once the new one listens, so no connection is refused.
 *
 * Errors (compile errors, route conflicts, a bad cairn.json) are printed
 * once when they appear and sent to the server process, which shows them
 * to browsers until the round that clears them; the routes keep the last
 * code that compiled.
 */
#ifndef CN_CLI_DEV_H
#define CN_CLI_DEV_H

#include "cli/cli.h"

typedef struct cn__dev_cmd cn__dev_cmd;
typedef struct cn__dev_child cn__dev_child;

/* One compiled file: a route file or middleware.c. */
typedef struct cn__dev_unit {
  char *rel;        /* "app/api/hello/route.c" */
  char *pattern;    /* NULL for middleware.c; page.c and layout.c go by
                       their path ("app/blog/page.c") */
  int pagedef;      /* page.c or layout.c */
  int data;         /* data/<module>.c (its pattern is its path) */
  char module[72];
  char base[80];    /* output base name */
  int middleware;
  int seen;         /* in the latest scan (and in the route tree) */
  char so[CN__CLI_PATH + 128]; /* the last good shared object (absolute), ""
                            when none */
  char prev_so[CN__CLI_PATH + 128]; /* the one before, still on disk */
  unsigned gen;     /* of the last output name used */
  char *error;      /* compile or load failure, NULL when fine */
  /* compiling */
  cn__cli_job job;
  int compiling;
  char next_so[CN__CLI_PATH + 128];
  cn__cli_stamp st;
  uint64_t started_ms;
  cn__dev_cmd *d;
} cn__dev_unit;

/* What a server process was started with, to know when it must change. */
typedef struct cn__dev_served {
  char **patterns, **sos; /* parallel arrays */
  char **olds;            /* the object a replace in flight takes over from
                             (NULL when none): back in sos if it fails */
  size_t n;
  char mw[CN__CLI_PATH + 128]; /* "" when no middleware */
  uint64_t config_sig, env_sig, tpl_sig;
  uint64_t data_sig; /* the data modules' objects and the migrations */
} cn__dev_served;

struct cn__dev_child {
  uv_process_t proc;
  uv_pipe_t ctl;  /* fd 3 of the child: commands and replies */
  uv_pipe_t out;  /* the child's stdout */
  cn__buf ctlbuf, outbuf; /* partial lines */
  int handles;    /* open handles; freed when it reaches 0 */
  int exited, ready, stopping;
  int serving;    /* sent `serve`: errors sent now are acknowledged */
  int unshown;    /* errors sent, not yet acknowledged */
  int notified;   /* the command was told it exited */
  int64_t status;
  int term_signal;
  uint64_t started_ms;
  cn__dev_served served;
  cn__dev_cmd *d;
};

typedef struct cn__dev_watch {
  uv_fs_event_t ev;
  char *rel; /* the directory, relative to the root */
  int keep;  /* still in the latest scan */
  struct cn__dev_watch *next;
  cn__dev_cmd *d;
} cn__dev_watch;

struct cn__dev_cmd {
  const cn__cli *c;
  cn__cli_tools tools;
  uv_loop_t loop;
  cn__cli_jobs jobs;
  char root[CN__CLI_PATH];
  /* listening */
  char host[256];
  int port;
  int listen_fd;
  /* the app */
  cn__dev_unit **units;
  size_t nunits, capunits;
  char *scan_errors;      /* names, conflicts, cairn.json, .env */
  char **tpls;            /* the app's templates (app/, components/) */
  size_t ntpls;
  uint64_t tpl_sig;       /* of their paths: a new one restarts */
  char **migs;            /* the migrations (data/migrations), in name order */
  size_t nmigs;
  uint64_t mig_sig;       /* of their paths and contents */
  char *shown_errors;     /* what was last printed */
  char *plain_errors;     /* the same without colours, for browsers */
  int announce;           /* shown_errors waits for the server's "shown" */
  uint64_t config_sig, env_sig;
  char **env;             /* the server process's environment */
  const char *env_files[4];
  size_t nenv_files;
  /* rounds */
  uv_timer_t debounce;
  uv_timer_t progress;    /* a line a second while compiles run long */
  size_t round_total;     /* compiles started by this round */
  uint64_t round_t0;
  int round_running;      /* compiles in flight */
  int dirty;              /* files changed since the round began */
  int reload_wanted;      /* a template, public/ or data/ file changed */
  int first_round_done;
  size_t first_units, first_started, first_compiled; /* the first round */
  uint64_t t0;            /* command start, for "Ready in" */
  unsigned builds;        /* server processes started */
  /* processes */
  cn__dev_child *cur;     /* serving */
  cn__dev_child *next;    /* starting, to take over from cur */
  int restart_pending;    /* another restart once next is ready */
  uv_timer_t respawn;     /* after a crash */
  cn__dev_watch *watches;
  uv_signal_t sigint, sigterm;
  int stopping;
  int exit_code;
};

/* dev.c */
uint64_t cn__dev_cmd_now(cn__dev_cmd *d);
/* Something changed on disk (devwatch.c): start a round soon. reload: the
 * change needs no compile but open pages should reload. */
void cn__dev_cmd_changed(cn__dev_cmd *d, int reload);
/* Server process ch reported that a route could not be loaded: message
 * is "<object>\t<why>". */
void cn__dev_cmd_load_failed(cn__dev_cmd *d, cn__dev_child *ch,
                             const char *pattern, const char *message);
/* Server process ch now answers with the errors last sent to it. */
void cn__dev_cmd_errors_shown(cn__dev_cmd *d, cn__dev_child *ch);
/* What the data layer of a process started now would be made of: the
 * data modules' objects and the migrations (names and texts). */
uint64_t cn__dev_cmd_data_sig(cn__dev_cmd *d);
/* A server process is listening (devchild.c). */
void cn__dev_cmd_child_ready(cn__dev_cmd *d, cn__dev_child *ch,
                             const char *line);
/* A server process exited. */
void cn__dev_cmd_child_exited(cn__dev_cmd *d, cn__dev_child *ch);

/* devsetup.c */
/* The command line: [dir] -p -H --help. Returns -1 to go on, else the exit
 * code (help printed: 0; a usage error printed: 2). */
int cn__dev_cmd_options(cn__dev_cmd *d, int argc, char **argv,
                        const char **dir, const char **port,
                        const char **host);
/* Decide where to listen (cairn.json, PORT and HOSTNAME, then -p and -H,
 * as next dev does) and bind the session's socket into d->listen_fd (not
 * listening yet: the first server process that takes it starts that; with
 * SO_REUSEPORT so a process that opens its own can share the port). Fills
 * d->host and d->port (the real one when 0 was asked). Prints the error;
 * 0 or 1. */
int cn__dev_cmd_listen(cn__dev_cmd *d, const char *port, const char *host);
/* Remove .cairn/dev/ objects that no stamp names. */
void cn__dev_cmd_sweep(void);

/* devchild.c */
/* Start a server process for the current state of d (its routes, the
 * middleware, the pending error). OUT: *out. 0 or a CN_E* code (printed). */
int cn__dev_child_start(cn__dev_cmd *d, cn__dev_child **out);
/* Send a command line (with its newline) or an error block. */
void cn__dev_child_send(cn__dev_child *ch, const char *line);
void cn__dev_child_send_error(cn__dev_child *ch, const char *text);
/* Ask it to drain and exit; kill: SIGKILL at once. */
void cn__dev_child_stop(cn__dev_child *ch, int kill_now);
void cn__dev_served_free(cn__dev_served *s);
/* The index of pattern in s, -1 when it is not served. */
int cn__dev_served_find(const cn__dev_served *s, const char *pattern);

/* devwatch.c */
/* Watch every directory of the latest scan (and stop watching the ones
 * gone). 0 or CN_ENOMEM. */
int cn__dev_watch_sync(cn__dev_cmd *d, const cn__cli_scan *s);
void cn__dev_watch_close_all(cn__dev_cmd *d);

#endif /* CN_CLI_DEV_H */
